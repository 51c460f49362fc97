//! CSRF: cookie-carrying state changes from untrusted origins are refused, and so are cross-site
//! form logins.

use serde_json::{Value, json};

use crate::helpers::{Backend, ORIGIN, TestApp, both_backends, expect_error, spawn_app_with};

async fn update_name(app: &TestApp, origin: Option<&str>, name: &str) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(app.url("/update-user"))
        .json(&json!({"name": name}));
    request = request.header("cookie", session_cookie(app).await);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.expect("request")
}

async fn session_cookie(app: &TestApp) -> String {
    let body = json!({"email": "csrf@example.com", "password": "password-123"});
    let response = crate::helpers::client(false)
        .post(app.url("/sign-in/email"))
        .json(&body)
        .send()
        .await
        .expect("r");
    let line = crate::helpers::set_cookies(&response)
        .into_iter()
        .next()
        .expect("a cookie");
    line.split(';').next().expect("name=value").to_owned()
}

both_backends!(
    cookie_authenticated_changes_need_a_trusted_origin,
    async |app: &TestApp| {
        app.sign_up("csrf@example.com", "password-123").await;
        let evil = update_name(app, Some("https://evil.example"), "Evil").await;
        expect_error(evil, 403, Some("INVALID_ORIGIN")).await;
        let missing = update_name(app, None, "Missing").await;
        expect_error(missing, 403, Some("MISSING_OR_NULL_ORIGIN")).await;
        let null = update_name(app, Some("null"), "Null").await;
        expect_error(null, 403, Some("MISSING_OR_NULL_ORIGIN")).await;
        assert_eq!(
            app.session().await["user"]["name"],
            "Test User",
            "nothing was changed"
        );
        assert_eq!(
            update_name(app, Some(ORIGIN), "Trusted").await.status(),
            200
        );
        assert_eq!(app.session().await["user"]["name"], "Trusted");
    }
);

both_backends!(
    cross_site_form_logins_are_refused_but_server_to_server_calls_pass,
    async |app: &TestApp| {
        app.sign_up("form@example.com", "password-123").await;
        let body = json!({"email": "form@example.com", "password": "password-123"});
        let plain = reqwest::Client::new();
        let navigate = plain
            .post(app.url("/sign-in/email"))
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-mode", "navigate")
            .json(&body)
            .send()
            .await
            .expect("r");
        expect_error(navigate, 403, Some("CROSS_SITE_NAVIGATION_LOGIN_BLOCKED")).await;
        let foreign = plain
            .post(app.url("/sign-in/email"))
            .header("origin", "https://evil.example")
            .json(&body)
            .send()
            .await
            .expect("r");
        expect_error(foreign, 403, Some("INVALID_ORIGIN")).await;
        let server_to_server = plain
            .post(app.url("/sign-in/email"))
            .json(&body)
            .send()
            .await
            .expect("r");
        assert_eq!(server_to_server.status(), 200);
    }
);

#[tokio::test]
async fn configured_trusted_origins_are_accepted() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| {
        config.trusted_origins = vec!["https://app.example.com".to_owned()];
    })
    .await
    else {
        return;
    };
    app.sign_up("trusted@example.com", "password-123").await;
    let body = json!({"email": "trusted@example.com", "password": "password-123"});
    let response = reqwest::Client::new()
        .post(app.url("/sign-in/email"))
        .header("origin", "https://app.example.com")
        .json(&body)
        .send()
        .await
        .expect("r");
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.expect("json");
    assert_eq!(user["user"]["email"], "trusted@example.com");
    app.stop().await;
}
