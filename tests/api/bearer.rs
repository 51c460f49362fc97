//! The bearer plugin, and plugin selection by `AUTH_PLUGINS`.

use auth_app::{AppConfig, Application, Overrides};
use serde_json::{Value, json};

use crate::helpers::{Backend, ORIGIN, SECRET, TestApp, both_backends, spawn_app_with};

async fn bearer_get_session(app: &TestApp, authorization: &str) -> Value {
    reqwest::Client::new()
        .get(app.url("/get-session"))
        .header("authorization", authorization)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

both_backends!(
    sign_up_exposes_the_signed_token_in_set_auth_token,
    async |app: &TestApp| {
        let response = app.sign_up("bearer@example.com", "password-123").await;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let signed = header("set-auth-token").expect("set-auth-token");
        // The test client sends the trusted `Origin`, so CORS exposes `set-auth-jwt` as well.
        let exposed = header("access-control-expose-headers").expect("exposed");
        assert!(
            exposed.split(", ").any(|name| name == "set-auth-token"),
            "{exposed}"
        );
        let body: Value = response.json().await.expect("json");
        let token = body["token"].as_str().expect("token");
        let (value, signature) = signed.split_once('.').expect("token.signature");
        assert_eq!(value, token);
        assert_eq!(signature.len(), 44, "decoded, not URI-encoded: {signed}");
    }
);

both_backends!(
    a_bearer_header_authenticates_in_its_signed_raw_and_encoded_forms,
    async |app: &TestApp| {
        let counted = |what: &str| {
            format!("auth_token_verifications_total{{format=\"bearer\",outcome=\"{what}\"}}")
        };
        let issued = "auth_tokens_issued_total{format=\"bearer\"}";
        let before = [
            app.metric(&counted("valid")).await,
            app.metric(&counted("invalid")).await,
            app.metric(issued).await,
        ];
        let response = app.sign_up("forms@example.com", "password-123").await;
        let signed = response
            .headers()
            .get("set-auth-token")
            .and_then(|v| v.to_str().ok())
            .expect("h")
            .to_owned();
        let raw = signed.split_once('.').expect("dot").0.to_owned();
        let encoded = signed
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        for authorization in [
            format!("Bearer {signed}"),
            format!("bearer {raw}"),
            format!("BEARER {encoded}"),
        ] {
            let session = bearer_get_session(app, &authorization).await;
            assert_eq!(
                session["user"]["email"], "forms@example.com",
                "{authorization}"
            );
        }
        let tampered = format!("Bearer {raw}.{}", "A".repeat(43) + "=");
        assert_eq!(bearer_get_session(app, &tampered).await, Value::Null);
        assert_eq!(bearer_get_session(app, "Basic abc").await, Value::Null);
        assert_eq!(bearer_get_session(app, "Bearer ").await, Value::Null);
        // Two signatures checked (the signed and the encoded form; a raw token is signed by
        // the server, not checked), one refused, one token issued.
        let after = [
            app.metric(&counted("valid")).await,
            app.metric(&counted("invalid")).await,
            app.metric(issued).await,
        ];
        for ((what, least), (before, after)) in [("valid", 2.0), ("invalid", 1.0), ("issued", 1.0)]
            .into_iter()
            .zip(before.into_iter().zip(after))
        {
            assert!(after - before >= least, "{what}: {before} -> {after}");
        }
    }
);

both_backends!(
    bearer_clients_change_state_without_cookies_or_origin,
    async |app: &TestApp| {
        let response = app.sign_up("api@example.com", "password-123").await;
        let signed = response
            .headers()
            .get("set-auth-token")
            .and_then(|v| v.to_str().ok())
            .expect("h")
            .to_owned();
        let update = reqwest::Client::new()
            .post(app.url("/update-user"))
            .header("authorization", format!("Bearer {signed}"))
            .json(&json!({"name": "From API"}))
            .send()
            .await
            .expect("request");
        assert_eq!(update.status(), 200);
        assert_eq!(app.session().await["user"]["name"], "From API");
    }
);

#[tokio::test]
async fn plugins_can_be_switched_off_and_unknown_ones_are_refused() {
    let Some(app) =
        spawn_app_with(Backend::Sqlite, |config| config.plugins = Some(Vec::new())).await
    else {
        return;
    };
    let response = app.sign_up("off@example.com", "password-123").await;
    assert!(
        response.headers().get("set-auth-token").is_none(),
        "bearer is off"
    );
    let body: Value = response.json().await.expect("json");
    let token = body["token"].as_str().expect("token");
    assert_eq!(
        bearer_get_session(&app, &format!("Bearer {token}")).await,
        Value::Null
    );
    app.stop().await;

    let config = AppConfig {
        secret: Some(SECRET.to_owned()),
        database_url: auth_store_seaorm::test_db::TestDatabase::sqlite().url,
        bind: "127.0.0.1:0".to_owned(),
        base_url: Some(ORIGIN.to_owned()),
        plugins: Some(vec!["bearer".to_owned(), "no-such-plugin".to_owned()]),
        ..AppConfig::default()
    };
    let error = Application::build(config, Overrides::default())
        .await
        .err()
        .expect("refused");
    assert!(format!("{error:#}").contains("no-such-plugin"), "{error:#}");
}

both_backends!(
    a_session_made_without_remember_me_does_not_slide_over_bearer,
    async |app: &TestApp| {
        app.sign_up("forgetful@example.com", "password-123").await;
        let response = app
            .post(
                "/sign-in/email",
                &json!({"email": "forgetful@example.com", "password": "password-123", "rememberMe": false}),
            )
            .await;
        let signed = response
            .headers()
            .get("set-auth-token")
            .and_then(|v| v.to_str().ok())
            .expect("set-auth-token")
            .to_owned();
        let bearer = format!("Bearer {signed}");
        let first = bearer_get_session(app, &bearer).await;
        let expires_at = first["session"]["expiresAt"].clone();
        // Half a day later a remembered session would slide to seven days; this one may not,
        // although no `dont_remember` cookie comes with a bearer token.
        app.clock.advance(time::Duration::hours(12));
        let later = bearer_get_session(app, &bearer).await;
        assert_eq!(later["session"]["expiresAt"], expires_at, "{later}");
        app.clock.advance(time::Duration::hours(13));
        assert_eq!(bearer_get_session(app, &bearer).await, Value::Null);
    }
);
