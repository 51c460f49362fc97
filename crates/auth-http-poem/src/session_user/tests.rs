//! `SessionUser` on a route mounted beside the auth API, driven with poem's test client.

use std::sync::Arc;

use auth_core::{Auth, AuthConfig, AuthDeps, ClientInfo, SignUpEmail};
use auth_domain::{Password, Secret};
use auth_ratelimit::MemoryRateLimiter;
use auth_testkit::{FastHasher, ManualClock, MemoryStore, SeededRandom};
use poem::test::TestClient;
use poem::web::Json;
use poem::{Route, get, handler, post};
use time::macros::datetime;

use super::*;
use crate::bearer::{BearerConfig, BearerPlugin};
use crate::cookies::encode_uri_component;
use crate::{HttpConfig, HttpPlugin, app};

const SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";

#[handler]
fn me(SessionUser(context): SessionUser) -> Json<String> {
    Json(context.user.email.as_str().to_owned())
}

async fn fixture(plugins: Vec<Arc<dyn HttpPlugin>>) -> (Arc<HttpState>, String) {
    let store = Arc::new(MemoryStore::new());
    let deps = AuthDeps {
        users: store.clone(),
        accounts: store.clone(),
        sessions: store.clone(),
        verifications: store.clone(),
        hasher: Arc::new(FastHasher),
        clock: Arc::new(ManualClock::new(datetime!(2026-01-01 0:00 UTC))),
        random: Arc::new(SeededRandom::default()),
        cache: Arc::new(auth_ports::NoCache),
        rate_limiter: Arc::new(MemoryRateLimiter::new()),
        audit: store,
        events: std::sync::Arc::new(auth_ports::LocalEvents),
        mail: None,
    };
    let auth = Auth::new(deps, AuthConfig::default());
    let signed = auth
        .sign_up_email(SignUpEmail {
            name: "Eve".to_owned(),
            email: "eve@example.com".to_owned(),
            password: Password::new("password-123".to_owned()),
            image: None,
            remember_me: true,
            callback_url: None,
            client: ClientInfo::default(),
        })
        .await
        .expect("sign-up");
    let session = signed.session.expect("signed in at sign-up");
    let state = Arc::new(HttpState::new(
        auth,
        HttpConfig::default(),
        Secret::new(SECRET.to_owned()),
        plugins,
    ));
    (state, session.token.expose().to_owned())
}

#[tokio::test]
async fn session_user_reads_the_cookie_or_a_bearer_token_and_refuses_without_one() {
    let (state, token) = fixture(vec![Arc::new(BearerPlugin::new(BearerConfig::default()))]).await;
    let client = TestClient::new(app(&state, Route::new().at("/me", get(me))));

    let anonymous = client.get("/me").send().await;
    anonymous.assert_status(poem::http::StatusCode::UNAUTHORIZED);
    anonymous
        .assert_json(serde_json::json!({"message": "Unauthorized", "code": "UNAUTHORIZED"}))
        .await;

    let cookie = format!(
        "{}={}",
        state.cookies().name(crate::cookies::SESSION_TOKEN),
        encode_uri_component(&state.cookies().sign(&token))
    );
    let by_cookie = client.get("/me").header("cookie", cookie).send().await;
    by_cookie.assert_status_is_ok();
    by_cookie.assert_json("eve@example.com").await;

    let by_bearer = client
        .get("/me")
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await;
    by_bearer.assert_status_is_ok();

    let forged = client
        .get("/me")
        .header("authorization", "Bearer not-a-session-token")
        .send()
        .await;
    forged.assert_status(poem::http::StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn requiring_a_signature_refuses_a_raw_bearer_token_and_takes_a_signed_one() {
    let required = BearerConfig {
        require_signature: true,
    };
    let (state, token) = fixture(vec![Arc::new(BearerPlugin::new(required))]).await;
    let client = TestClient::new(app(&state, Route::new().at("/me", get(me))));
    let raw = client
        .get("/me")
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await;
    raw.assert_status(poem::http::StatusCode::UNAUTHORIZED);
    let signed = client
        .get("/me")
        .header(
            "authorization",
            format!("Bearer {}", state.cookies().sign(&token)),
        )
        .send()
        .await;
    signed.assert_status_is_ok();
}

#[tokio::test]
async fn without_the_bearer_plugin_the_authorization_header_is_ignored() {
    let (state, token) = fixture(Vec::new()).await;
    let client = TestClient::new(app(&state, Route::new().at("/me", get(me))));
    let response = client
        .get("/me")
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await;
    response.assert_status(poem::http::StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unsafe_request_with_a_session_cookie_must_come_from_a_trusted_origin() {
    let (state, token) = fixture(vec![Arc::new(BearerPlugin::new(BearerConfig::default()))]).await;
    let client = TestClient::new(app(&state, Route::new().at("/transfer", post(me))));
    let cookie = format!(
        "{}={}",
        state.cookies().name(crate::cookies::SESSION_TOKEN),
        encode_uri_component(&state.cookies().sign(&token))
    );
    let forged = client
        .post("/transfer")
        .header("cookie", cookie.clone())
        .header("origin", "https://evil.example")
        .send()
        .await;
    forged.assert_status(poem::http::StatusCode::FORBIDDEN);
    forged
        .assert_json(serde_json::json!({"message": "Invalid origin", "code": "INVALID_ORIGIN"}))
        .await;
    let no_origin = client
        .post("/transfer")
        .header("cookie", cookie.clone())
        .send()
        .await;
    no_origin.assert_status(poem::http::StatusCode::FORBIDDEN);
    let trusted = client
        .post("/transfer")
        .header("cookie", cookie)
        .header("origin", "http://localhost:3000")
        .send()
        .await;
    trusted.assert_status_is_ok();
    // A bearer token is not sent by browsers on their own: no origin needed.
    let by_bearer = client
        .post("/transfer")
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await;
    by_bearer.assert_status_is_ok();
}
