//! Email verification over real HTTP: the link read from the captured mail and followed,
//! `requireEmailVerification`, auto sign-in, refusals as redirects or 401, verify-password.

use serde_json::{Value, json};

use crate::helpers::{
    ORIGIN, TestApp, base_config, both_backends, expect_error, mailed_link, no_redirects,
    set_cookies, start_app_customised,
};
use auth_store_seaorm::test_db::TestDatabase;

/// The verification link of the newest mail to `email`, pointed at `app`.
fn verify_link(app: &TestApp, email: &str) -> String {
    let link = mailed_link(app, email);
    assert!(
        link.starts_with(&format!("{ORIGIN}/api/auth/verify-email?token=")),
        "{link}"
    );
    link.replace(ORIGIN, &app.address)
}

async fn app_with(customise: impl FnOnce(&mut auth_app::AppConfig)) -> TestApp {
    let database = TestDatabase::sqlite();
    let mut config = base_config(&database.url);
    customise(&mut config);
    start_app_customised(config, Some(database), |_| {}).await
}

both_backends!(
    a_signed_in_user_verifies_their_email_from_the_mailed_link,
    async |app: &TestApp| {
        app.sign_up("check@example.com", "password-123").await;
        let sent = app
            .post(
                "/send-verification-email",
                &json!({"email": "check@example.com", "callbackURL": "/verified"}),
            )
            .await;
        assert_eq!(sent.status(), 200);
        assert_eq!(
            sent.json::<Value>().await.expect("json"),
            json!({"status": true})
        );
        let link = verify_link(app, "check@example.com");
        assert!(link.ends_with("&callbackURL=%2Fverified"), "{link}");
        let followed = no_redirects().get(&link).send().await.expect("request");
        assert_eq!(followed.status(), 302);
        assert_eq!(followed.headers()["location"], "/verified");
        let session = app.session().await;
        assert_eq!(session["user"]["emailVerified"], true);
        expect_error(
            app.post(
                "/send-verification-email",
                &json!({"email": "check@example.com"}),
            )
            .await,
            400,
            Some("EMAIL_ALREADY_VERIFIED"),
        )
        .await;
        expect_error(
            app.post(
                "/send-verification-email",
                &json!({"email": "other@example.com"}),
            )
            .await,
            400,
            Some("EMAIL_MISMATCH"),
        )
        .await;
        // Without a callback, JSON.
        let plain = link.split("&callbackURL").next().expect("link").to_owned();
        let answer: Value = reqwest::get(&plain)
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        assert_eq!(answer, json!({"status": true, "user": null}));
    }
);

#[tokio::test]
async fn with_verification_required_sign_in_waits_for_the_link_which_signs_in() {
    let app = app_with(|config| {
        config.require_email_verification = true;
        config.auto_sign_in_after_verification = true;
    })
    .await;
    let up = app.sign_up("first@example.com", "password-123").await;
    assert_eq!(up.status(), 200);
    assert!(set_cookies(&up).is_empty(), "no session cookie");
    let body: Value = up.json().await.expect("json");
    assert_eq!(body["token"], Value::Null);
    // Taken email: the same shape, another id, nothing revealed.
    let again: Value = app
        .sign_up("first@example.com", "password-456")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["token"], Value::Null);
    assert_ne!(again["user"]["id"], body["user"]["id"]);
    expect_error(
        app.sign_in("first@example.com", "password-123").await,
        403,
        Some("EMAIL_NOT_VERIFIED"),
    )
    .await;
    let link = verify_link(&app, "first@example.com");
    let followed = no_redirects().get(&link).send().await.expect("request");
    assert_eq!(followed.status(), 302);
    assert!(
        followed.headers().get("set-auth-token").is_some(),
        "the bearer plugin sees the session the link issued"
    );
    assert!(
        set_cookies(&followed)
            .iter()
            .any(|line| line.starts_with("better-auth.session_token=")
                && !line.contains("Max-Age=0")),
        "signed in by the link"
    );
    assert_eq!(
        app.sign_in("first@example.com", "password-123")
            .await
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn a_bad_link_redirects_with_its_code_or_answers_401() {
    let app = app_with(|_| {}).await;
    let redirect = no_redirects()
        .get(app.url("/verify-email?token=forged&callbackURL=%2Fdone"))
        .send()
        .await
        .expect("request");
    assert_eq!(redirect.status(), 302);
    assert_eq!(redirect.headers()["location"], "/done?error=INVALID_TOKEN");
    expect_error(
        reqwest::get(app.url("/verify-email?token=forged"))
            .await
            .expect("get"),
        401,
        Some("INVALID_TOKEN"),
    )
    .await;
    let evil = no_redirects()
        .get(app.url("/verify-email?token=forged&callbackURL=https%3A%2F%2Fevil.example"))
        .send()
        .await
        .expect("request");
    assert_eq!(evil.status(), 403, "an untrusted callback is refused first");
    app.stop().await;
}

#[tokio::test]
async fn without_a_session_every_address_gets_the_same_answer_and_only_an_unverified_one_a_mail() {
    let app = app_with(|config| config.send_verification_on_sign_up = true).await;
    app.sign_up("on-sign-up@example.com", "password-123").await;
    assert!(
        app.mail.last_to("on-sign-up@example.com").is_some(),
        "sendOnSignUp"
    );
    let stranger = reqwest::Client::new();
    for email in ["on-sign-up@example.com", "nobody@example.com"] {
        let answer = stranger
            .post(app.url("/send-verification-email"))
            .json(&json!({"email": email}))
            .send()
            .await
            .expect("request");
        assert_eq!(answer.status(), 200, "{email}");
        assert_eq!(
            answer.json::<Value>().await.expect("json"),
            json!({"status": true})
        );
    }
    assert!(app.mail.last_to("nobody@example.com").is_none());
    app.stop().await;
}

#[tokio::test]
async fn verify_password_checks_the_signed_in_users_password() {
    let app = app_with(|_| {}).await;
    app.sign_up("pw@example.com", "password-123").await;
    let ok = app
        .post("/verify-password", &json!({"password": "password-123"}))
        .await;
    assert_eq!(ok.status(), 200);
    expect_error(
        app.post("/verify-password", &json!({"password": "wrong-password"}))
            .await,
        400,
        Some("INVALID_PASSWORD"),
    )
    .await;
    let anonymous = reqwest::Client::new()
        .post(app.url("/verify-password"))
        .json(&json!({"password": "password-123"}))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);
    app.stop().await;
}
