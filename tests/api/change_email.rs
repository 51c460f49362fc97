//! Change of address over real HTTP: each case of the contract, the links read from the
//! captured mails and followed.

use serde_json::{Value, json};

use crate::helpers::{
    ORIGIN, TestApp, base_config, expect_error, mailed_link, start_app_customised,
};
use auth_store_seaorm::test_db::TestDatabase;

async fn app(enabled: bool) -> TestApp {
    app_on(TestDatabase::sqlite(), enabled).await
}

async fn app_on(database: TestDatabase, enabled: bool) -> TestApp {
    let mut config = base_config(&database.url);
    config.change_email_enabled = enabled;
    start_app_customised(config, Some(database), |_| {}).await
}

/// The newest link in a mail to `email`, pointed at `app`.
fn link_to(app: &TestApp, email: &str) -> String {
    mailed_link(app, email).replace(ORIGIN, &app.address)
}

/// A link followed without a callback (its JSON answer).
async fn follow(app: &TestApp, link: &str) -> reqwest::Response {
    let plain = link.split("&callbackURL").next().expect("link");
    app.client.get(plain).send().await.expect("request")
}

#[tokio::test]
async fn switched_off_same_address_and_taken_address_are_answered_as_the_contract_says() {
    let off = app(false).await;
    off.sign_up("off@example.com", "password-123").await;
    expect_error(
        off.post("/change-email", &json!({"newEmail": "new@example.com"}))
            .await,
        400,
        Some("CHANGE_EMAIL_DISABLED"),
    )
    .await;
    off.stop().await;

    let on = app(true).await;
    on.sign_up("taken@example.com", "password-123").await;
    on.sign_up("same@example.com", "password-123").await;
    let same = on
        .post("/change-email", &json!({"newEmail": "Same@Example.com"}))
        .await;
    assert_eq!(same.status(), 400);
    assert_eq!(
        same.json::<Value>().await.expect("json"),
        json!({"message": "Email is the same"})
    );
    let taken = on
        .post("/change-email", &json!({"newEmail": "taken@example.com"}))
        .await;
    assert_eq!(taken.status(), 200);
    assert_eq!(
        taken.json::<Value>().await.expect("json"),
        json!({"status": true})
    );
    let mails_to_taken = on
        .mail
        .messages()
        .iter()
        .filter(|mail| mail.to.as_str() == "taken@example.com")
        .count();
    assert_eq!(mails_to_taken, 0, "the other user hears nothing");
    on.stop().await;
}

#[tokio::test]
async fn an_unverified_user_changes_address_from_a_link_sent_to_the_new_one() {
    let app = app(true).await;
    app.sign_up("before@example.com", "password-123").await;
    let asked = app
        .post("/change-email", &json!({"newEmail": "after@example.com"}))
        .await;
    assert_eq!(asked.status(), 200);
    let link = link_to(&app, "after@example.com");
    let answer: Value = follow(&app, &link).await.json().await.expect("json");
    assert_eq!(answer["status"], true);
    assert_eq!(answer["user"]["email"], "after@example.com");
    assert_eq!(app.session().await["user"]["email"], "after@example.com");
    assert_eq!(
        app.sign_in("after@example.com", "password-123")
            .await
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn a_verified_user_confirms_from_the_old_address_then_verifies_the_new_one() {
    for database in [Some(TestDatabase::sqlite()), TestDatabase::postgres().await] {
        let Some(database) = database else { continue };
        verified_user_changes_address(app_on(database, true).await).await;
    }
}

async fn verified_user_changes_address(app: TestApp) {
    app.sign_up("old@example.com", "password-123").await;
    app.post(
        "/send-verification-email",
        &json!({"email": "old@example.com"}),
    )
    .await;
    let verify = link_to(&app, "old@example.com");
    assert_eq!(follow(&app, &verify).await.status(), 200);
    assert_eq!(app.session().await["user"]["emailVerified"], true);

    app.post("/change-email", &json!({"newEmail": "new@example.com"}))
        .await;
    let confirm_mail = app
        .mail
        .last_to("old@example.com")
        .expect("to the old address");
    assert!(
        confirm_mail.text.contains("new@example.com"),
        "it names the new address"
    );
    let confirm = link_to(&app, "old@example.com");
    let confirmed: Value = follow(&app, &confirm).await.json().await.expect("json");
    assert_eq!(confirmed, json!({"status": true}), "no user yet");
    assert_eq!(app.session().await["user"]["email"], "old@example.com");

    let change = link_to(&app, "new@example.com");
    // Someone else, signed in, cannot use it.
    let other = crate::helpers::client(true);
    other
        .post(app.url("/sign-up/email"))
        .header("origin", ORIGIN)
        .json(&json!({"name": "O", "email": "other@example.com", "password": "password-123"}))
        .send()
        .await
        .expect("sign-up");
    let plain = change.split("&callbackURL").next().expect("link");
    expect_error(
        other.get(plain).send().await.expect("request"),
        401,
        Some("INVALID_USER"),
    )
    .await;
    let changed: Value = follow(&app, &change).await.json().await.expect("json");
    assert_eq!(changed["user"]["email"], "new@example.com");
    assert_eq!(changed["user"]["emailVerified"], true);
    assert_eq!(app.session().await["user"]["email"], "new@example.com");
    // The old link no longer matches the account's address.
    expect_error(follow(&app, &confirm).await, 401, Some("INVALID_TOKEN")).await;
    app.stop().await;
}

#[tokio::test]
async fn an_unverified_address_changes_at_once_when_so_configured() {
    let database = TestDatabase::sqlite();
    let mut config = base_config(&database.url);
    config.change_email_enabled = true;
    config.update_email_without_verification = true;
    let app = start_app_customised(config, Some(database), |_| {}).await;
    app.sign_up("quick@example.com", "password-123").await;
    let asked = app
        .post("/change-email", &json!({"newEmail": "quicker@example.com"}))
        .await;
    assert_eq!(asked.status(), 200);
    assert_eq!(app.session().await["user"]["email"], "quicker@example.com");
    let link = link_to(&app, "quicker@example.com");
    assert!(
        link.contains("/verify-email?token="),
        "a verification link to the new address"
    );
    let verified: Value = follow(&app, &link).await.json().await.expect("json");
    assert_eq!(verified, json!({"status": true, "user": null}));
    assert_eq!(app.session().await["user"]["emailVerified"], true);
    app.stop().await;
}
