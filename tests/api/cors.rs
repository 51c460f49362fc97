//! CORS for browser apps on trusted origins: preflights, the headers of actual answers
//! (refusals included), untrusted origins, the off switch, and cookie attributes for apps on
//! another site.

use serde_json::json;

use crate::helpers::{Backend, TestApp, spawn_app_with};

const APP_ORIGIN: &str = "http://127.0.0.1:5173";

async fn cors_app() -> Option<TestApp> {
    spawn_app_with(Backend::Sqlite, |config| {
        config.trusted_origins = vec![APP_ORIGIN.to_owned()];
        config.rate_limit_enabled = true;
        config.cors_allowed_headers = vec!["x-tenant".to_owned()];
    })
    .await
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, app.url("/sign-in/email"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("request")
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test]
async fn a_trusted_origin_gets_its_preflight_answered_with_credentials_and_never_a_wildcard() {
    let Some(app) = cors_app().await else {
        return;
    };
    // Many preflights: not counted as credential attempts (the sign-in limit is 5).
    for _ in 0..20 {
        let response = preflight(&app, APP_ORIGIN).await;
        assert_eq!(response.status(), 204);
        assert_eq!(
            header(&response, "access-control-allow-origin").as_deref(),
            Some(APP_ORIGIN)
        );
        assert_eq!(
            header(&response, "access-control-allow-credentials").as_deref(),
            Some("true")
        );
        assert_eq!(
            header(&response, "access-control-max-age").as_deref(),
            Some("600")
        );
        assert_eq!(header(&response, "vary").as_deref(), Some("Origin"));
        let methods = header(&response, "access-control-allow-methods").expect("methods");
        assert!(methods.contains("POST"), "{methods}");
        let allowed = header(&response, "access-control-allow-headers").expect("headers");
        for name in ["content-type", "authorization", "x-api-key", "x-tenant"] {
            assert!(allowed.contains(name), "{name} in {allowed}");
        }
    }
    let untrusted = preflight(&app, "https://evil.example").await;
    assert_eq!(untrusted.status(), 204);
    assert_eq!(header(&untrusted, "access-control-allow-origin"), None);
    assert_eq!(header(&untrusted, "access-control-allow-credentials"), None);
    // The sign-in limit is intact after the preflights.
    let signed = reqwest::Client::new()
        .post(app.url("/sign-in/email"))
        .header("origin", APP_ORIGIN)
        .json(&json!({"email": "nobody@example.com", "password": "password-123"}))
        .send()
        .await
        .expect("request");
    assert_eq!(signed.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn answers_to_a_trusted_origin_carry_cors_headers_and_expose_the_token_headers() {
    let Some(app) = cors_app().await else {
        return;
    };
    let client = reqwest::Client::new();
    let signed_up = client
        .post(app.url("/sign-up/email"))
        .header("origin", APP_ORIGIN)
        .json(&json!({"name": "Cors", "email": "cors@example.com", "password": "password-123"}))
        .send()
        .await
        .expect("request");
    assert_eq!(signed_up.status(), 200);
    assert_eq!(
        header(&signed_up, "access-control-allow-origin").as_deref(),
        Some(APP_ORIGIN)
    );
    assert_eq!(
        header(&signed_up, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    let exposed = header(&signed_up, "access-control-expose-headers").expect("exposed");
    assert!(
        exposed.contains("set-auth-token") && exposed.contains("set-auth-jwt"),
        "{exposed}"
    );
    // A refusal is readable too.
    let refused = client
        .post(app.url("/sign-in/email"))
        .header("origin", APP_ORIGIN)
        .json(&json!({"email": "cors@example.com", "password": "wrong-password"}))
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 401);
    assert_eq!(
        header(&refused, "access-control-allow-origin").as_deref(),
        Some(APP_ORIGIN)
    );
    // An untrusted origin gets none, and its cookie-carrying POST is refused by the CSRF rule.
    let foreign = client
        .post(app.url("/sign-out"))
        .header("origin", "https://evil.example")
        .header("cookie", "better-auth.session_token=x.y")
        .send()
        .await
        .expect("request");
    assert_eq!(foreign.status(), 403);
    assert_eq!(header(&foreign, "access-control-allow-origin"), None);
    app.stop().await;
}

#[tokio::test]
async fn with_cors_off_no_preflight_is_answered_and_no_header_added() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| {
        config.trusted_origins = vec![APP_ORIGIN.to_owned()];
        config.cors_enabled = false;
    })
    .await
    else {
        return;
    };
    let response = preflight(&app, APP_ORIGIN).await;
    assert_eq!(response.status(), 404);
    let ok = reqwest::Client::new()
        .get(app.url("/ok"))
        .header("origin", APP_ORIGIN)
        .send()
        .await
        .expect("request");
    assert_eq!(header(&ok, "access-control-allow-origin"), None);
    app.stop().await;
}

#[tokio::test]
async fn cookies_for_an_app_on_another_site_are_samesite_none_secure_with_the_domain() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| {
        config.base_url = Some("https://auth.example.com".to_owned());
        config.trusted_origins = vec!["https://app.example.net".to_owned()];
        config.cookie_same_site = "none".to_owned();
        config.cookie_domain = Some("example.com".to_owned());
    })
    .await
    else {
        return;
    };
    let response = reqwest::Client::new()
        .post(app.url("/sign-up/email"))
        .header("origin", "https://app.example.net")
        .json(&json!({"name": "Far", "email": "far@example.com", "password": "password-123"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let cookie = crate::helpers::set_cookies(&response)
        .into_iter()
        .find(|line| line.starts_with("__Secure-better-auth.session_token="))
        .expect("session cookie");
    for attribute in [
        "; Domain=example.com",
        "; Secure",
        "; SameSite=None",
        "; HttpOnly",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    app.stop().await;
}

#[test]
fn samesite_none_without_https_is_refused_at_startup() {
    let mut config = auth_app::AppConfig {
        cookie_same_site: "none".to_owned(),
        ..auth_app::AppConfig::default()
    };
    let refused = config.validate().expect_err("refused");
    assert!(refused.to_string().contains("https"), "{refused}");
    config.base_url = Some("https://auth.example.com".to_owned());
    assert!(config.validate().is_ok());
    config.cookie_same_site = "sometimes".to_owned();
    assert!(config.validate().is_err());
}
