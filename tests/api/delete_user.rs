//! Account deletion over real HTTP: switched off (404, empty body), by password, by a fresh
//! session, by a mailed link followed while signed in; refusals and their codes.

use serde_json::{Value, json};

use crate::helpers::{
    ORIGIN, TestApp, base_config, expect_error, mailed_link, no_redirects, set_cookies,
    start_app_customised,
};
use auth_store_seaorm::test_db::TestDatabase;

async fn app_with(customise: impl FnOnce(&mut auth_app::AppConfig)) -> TestApp {
    app_on(TestDatabase::sqlite(), customise).await
}

async fn app_on(
    database: TestDatabase,
    customise: impl FnOnce(&mut auth_app::AppConfig),
) -> TestApp {
    let mut config = base_config(&database.url);
    customise(&mut config);
    start_app_customised(config, Some(database), |_| {}).await
}

async fn gone(app: &TestApp, email: &str, password: &str) {
    assert_eq!(
        app.sign_in(email, password).await.status(),
        401,
        "the user is gone"
    );
}

#[tokio::test]
async fn deletion_switched_off_is_a_404_with_an_empty_body() {
    let app = app_with(|_| {}).await;
    app.sign_up("keep@example.com", "password-123").await;
    let response = app
        .post("/delete-user", &json!({"password": "password-123"}))
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"].to_str().expect("type"),
        "application/json"
    );
    assert_eq!(response.text().await.expect("text"), "");
    assert_eq!(
        app.sign_in("keep@example.com", "password-123")
            .await
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn the_password_or_a_fresh_session_deletes_the_account_and_its_sessions() {
    for database in [Some(TestDatabase::sqlite()), TestDatabase::postgres().await] {
        let Some(database) = database else { continue };
        let app = app_on(database, |config| config.delete_user_enabled = true).await;
        app.sign_up("bye@example.com", "password-123").await;
        expect_error(
            app.post("/delete-user", &json!({"password": "wrong-password"}))
                .await,
            400,
            Some("INVALID_PASSWORD"),
        )
        .await;
        let deleted = app
            .post("/delete-user", &json!({"password": "password-123"}))
            .await;
        assert_eq!(deleted.status(), 200);
        assert!(
            set_cookies(&deleted)
                .iter()
                .any(|line| line.starts_with("better-auth.session_token=;")),
            "the session cookie is expired"
        );
        assert_eq!(
            deleted.json::<Value>().await.expect("json"),
            json!({"success": true, "message": "User deleted"})
        );
        gone(&app, "bye@example.com", "password-123").await;
        assert_eq!(app.session().await, Value::Null);

        // Without a password, a fresh session is enough; a day-old one is not.
        app.sign_up("fresh@example.com", "password-123").await;
        app.clock.advance(time::Duration::days(1));
        expect_error(
            app.post("/delete-user", &json!({})).await,
            400,
            Some("SESSION_EXPIRED"),
        )
        .await;
        app.sign_in("fresh@example.com", "password-123").await;
        assert_eq!(app.post("/delete-user", &json!({})).await.status(), 200);
        gone(&app, "fresh@example.com", "password-123").await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_mailed_link_deletes_only_its_signed_in_owner() {
    let app = app_with(|config| {
        config.delete_user_enabled = true;
        config.delete_user_by_email = true;
    })
    .await;
    app.sign_up("link@example.com", "password-123").await;
    let asked = app
        .post("/delete-user", &json!({"callbackURL": "/goodbye"}))
        .await;
    assert_eq!(
        asked.json::<Value>().await.expect("json"),
        json!({"success": true, "message": "Verification email sent"})
    );
    assert_eq!(
        app.sign_in("link@example.com", "password-123")
            .await
            .status(),
        200
    );
    let link = mailed_link(&app, "link@example.com");
    assert!(
        link.starts_with(&format!("{ORIGIN}/api/auth/delete-user/callback?token=")),
        "{link}"
    );
    assert!(link.ends_with("&callbackURL=%2Fgoodbye"), "{link}");
    let link = link.replace(ORIGIN, &app.address);
    // Without a session, the link deletes nothing.
    let stranger = no_redirects();
    expect_error(
        stranger.get(&link).send().await.expect("request"),
        404,
        Some("FAILED_TO_GET_USER_INFO"),
    )
    .await;
    // Another user's session cannot use it.
    let other = crate::helpers::client(true);
    other
        .post(app.url("/sign-up/email"))
        .header("origin", ORIGIN)
        .json(&json!({"name": "O", "email": "other@example.com", "password": "password-123"}))
        .send()
        .await
        .expect("sign-up");
    expect_error(
        other.get(&link).send().await.expect("request"),
        404,
        Some("INVALID_TOKEN"),
    )
    .await;
    // Its owner, signed in, follows it: deleted, then to the callback.
    let owner = no_redirects();
    let token = app.session().await["session"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let followed = owner
        .get(&link)
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("request");
    assert_eq!(followed.status(), 302);
    assert_eq!(followed.headers()["location"], "/goodbye");
    gone(&app, "link@example.com", "password-123").await;
    app.stop().await;
}
