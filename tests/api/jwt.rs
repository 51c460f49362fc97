//! The JWT plugin over HTTP: `GET /token`, `GET /jwks`, `set-auth-jwt` on `get-session`,
//! rotation driven by the clock and by `keys rotate`, PASETO as the configured format.

use auth_app::config::TokenFormatSetting;
use auth_app::{AppConfig, Application, Overrides};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use time::Duration;

use crate::helpers::{
    Backend, ORIGIN, SECRET, TestApp, both_backends, expect_error, spawn_app_with,
};

/// Signs up a user; the client keeps the session cookie.
async fn signed_up(app: &TestApp, email: &str) -> Value {
    let response = app.sign_up(email, "password-123").await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

async fn token(app: &TestApp) -> String {
    let response = app.get("/token").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["token"].as_str().expect("token").to_owned()
}

pub(crate) async fn jwks(app: &TestApp) -> Value {
    let response = app.get("/jwks").await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

/// Verifies a token the way a relying party does: the key named by `kid` from the JWKS,
/// EdDSA only, issuer and audience checked.
pub(crate) fn verify(token: &str, jwks: &Value) -> Value {
    let kid = jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid");
    let key = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|key| key["kid"] == kid.as_str())
        .unwrap_or_else(|| panic!("kid {kid} is published"));
    let decoding = DecodingKey::from_ed_components(key["x"].as_str().expect("x")).expect("key");
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[ORIGIN]);
    validation.set_audience(&[ORIGIN]);
    validation.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
    jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .expect("verifies")
        .claims
}

both_backends!(
    token_returns_an_eddsa_jwt_of_the_user_that_verifies_against_the_jwks,
    async |app: &TestApp| {
        let signed = signed_up(app, "jwt@example.com").await;
        let token = token(app).await;
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.typ, None, "no typ, as Better-Auth");
        let jwks = jwks(app).await;
        let keys = jwks["keys"].as_array().expect("keys");
        assert_eq!(keys.len(), 1);
        let key = &keys[0];
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["kid"].as_str(), header.kid.as_deref());
        assert_eq!(key["kid"].as_str().map(str::len), Some(32));
        assert!(key.get("d").is_none(), "no private member in the JWKS");
        let claims = verify(&token, &jwks);
        let user = &signed["user"];
        assert_eq!(claims["sub"], user["id"]);
        assert_eq!(claims["id"], user["id"]);
        assert_eq!(claims["email"], "jwt@example.com");
        assert_eq!(claims["name"], user["name"]);
        assert_eq!(claims["emailVerified"], false);
        assert_eq!(claims["createdAt"], user["createdAt"]);
        assert_eq!(claims["iss"], ORIGIN);
        assert_eq!(claims["aud"], ORIGIN);
        let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
        assert_eq!(lifetime, 900, "15 minutes");
        assert!(claims.get("nbf").is_none() && claims.get("jti").is_none());
    }
);

both_backends!(
    token_without_a_session_is_401_and_jwks_needs_none,
    async |app: &TestApp| {
        expect_error(app.get("/token").await, 401, Some("UNAUTHORIZED")).await;
        let anonymous = reqwest::Client::new()
            .get(app.url("/jwks"))
            .send()
            .await
            .expect("request");
        assert_eq!(anonymous.status(), 200);
        assert!(
            anonymous.headers().get("cache-control").is_none(),
            "no Cache-Control on /jwks, as Better-Auth"
        );
        assert_eq!(
            anonymous
                .headers()
                .get("content-type")
                .map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
        let post = app
            .client
            .post(app.url("/token"))
            .send()
            .await
            .expect("request");
        assert_eq!(post.status(), 404, "GET only");
    }
);

both_backends!(
    get_session_sets_set_auth_jwt_and_exposes_it_only_with_a_session,
    async |app: &TestApp| {
        let anonymous = app.get("/get-session").await;
        assert!(anonymous.headers().get("set-auth-jwt").is_none());
        signed_up(app, "header@example.com").await;
        let response = app.get("/get-session").await;
        assert_eq!(response.status(), 200);
        let jwt = response
            .headers()
            .get("set-auth-jwt")
            .and_then(|v| v.to_str().ok())
            .expect("set-auth-jwt")
            .to_owned();
        let exposed = response
            .headers()
            .get("access-control-expose-headers")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            exposed.split(',').any(|name| name.trim() == "set-auth-jwt"),
            "{exposed}"
        );
        let claims = verify(&jwt, &jwks(app).await);
        assert_eq!(claims["email"], "header@example.com");
    }
);

both_backends!(
    a_bearer_session_token_gets_a_jwt_too,
    async |app: &TestApp| {
        let response = app.sign_up("bearer-jwt@example.com", "password-123").await;
        let signed = response
            .headers()
            .get("set-auth-token")
            .and_then(|v| v.to_str().ok())
            .expect("set-auth-token")
            .to_owned();
        let response = reqwest::Client::new()
            .get(app.url("/token"))
            .header("authorization", format!("Bearer {signed}"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        let claims = verify(body["token"].as_str().expect("token"), &jwks(app).await);
        assert_eq!(claims["email"], "bearer-jwt@example.com");
    }
);

both_backends!(
    after_the_rotation_interval_a_new_key_signs_and_old_tokens_still_verify,
    async |app: &TestApp| {
        signed_up(app, "rotate@example.com").await;
        let before = token(app).await;
        let old_kid = jsonwebtoken::decode_header(&before).expect("h").kid;
        app.clock.advance(Duration::days(91));
        // The session expired meanwhile: sign in again.
        let signed_in = app.sign_in("rotate@example.com", "password-123").await;
        assert_eq!(signed_in.status(), 200);
        let after = token(app).await;
        let new_kid = jsonwebtoken::decode_header(&after).expect("h").kid;
        assert_ne!(old_kid, new_kid, "a new key signs after 90 days");
        let jwks = jwks(app).await;
        assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(2));
        // The token signed before the rotation still verifies (its exp is checked against the
        // real clock, which has not moved).
        verify(&before, &jwks);
        verify(&after, &jwks);
        app.clock.advance(Duration::days(31));
        let later = self::jwks(app).await;
        let kids: Vec<&str> = later["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter_map(|key| key["kid"].as_str())
            .collect();
        assert_eq!(kids, [new_kid.as_deref().expect("kid")], "the old key left");
    }
);

fn config_for(database_url: &str) -> AppConfig {
    AppConfig {
        secret: Some(SECRET.to_owned()),
        database_url: database_url.to_owned(),
        bind: "127.0.0.1:0".to_owned(),
        base_url: Some(ORIGIN.to_owned()),
        ..AppConfig::default()
    }
}

#[tokio::test]
async fn keys_rotate_switches_the_signing_key_and_keys_list_shows_no_private_material() {
    let database = auth_store_seaorm::test_db::TestDatabase::sqlite();
    let config = config_for(&database.url);
    let first = auth_app::rotate_keys(&config).await.expect("rotate");
    assert_eq!(first.len(), 1);
    let second = auth_app::rotate_keys(&config).await.expect("rotate");
    let listed = auth_app::list_keys(&config).await.expect("list");
    let lines: Vec<String> = listed.iter().map(auth_app::describe_key).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with(first[0].id.as_str()) && lines[0].contains("retired"));
    assert!(lines[1].starts_with(second[0].id.as_str()) && lines[1].contains("signing"));
    assert!(lines.iter().all(|line| line.contains("EdDSA")));
    assert!(
        lines
            .iter()
            .all(|line| !line.contains('{') && !line.contains('"'))
    );

    // A running server signs with the rotated key and still publishes the retired one.
    let app = Application::build(config, Overrides::default())
        .await
        .expect("app");
    let port = app.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = crate::helpers::client(true);
    let base = format!("http://127.0.0.1:{port}/api/auth");
    let response = client
        .post(format!("{base}/sign-up/email"))
        .json(
            &serde_json::json!({"name": "K", "email": "k@example.com", "password": "password-123"}),
        )
        .send()
        .await
        .expect("sign-up");
    assert_eq!(response.status(), 200);
    let body: Value = client
        .get(format!("{base}/token"))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = body["token"].as_str().expect("token");
    let kid = jsonwebtoken::decode_header(token).expect("h").kid;
    assert_eq!(kid.as_deref(), Some(second[0].id.as_str()));
    let jwks: Value = client
        .get(format!("{base}/jwks"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(2));
    let _ = stop.send(());
    let _ = server.await;
    database.cleanup().await;
}

#[tokio::test]
async fn paseto_format_hands_out_v4_public_tokens_verified_by_the_published_paserk() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| {
        config.token_format = TokenFormatSetting::Paseto;
    })
    .await
    else {
        return;
    };
    signed_up(&app, "paseto@example.com").await;
    let token = token(&app).await;
    assert!(token.starts_with("v4.public."), "{token}");
    let keys: Value = app.get("/paseto-keys").await.json().await.expect("json");
    let key = &keys["keys"][0];
    let paserk = key["paserk"].as_str().expect("paserk");
    assert!(paserk.starts_with("k4.public."));
    let public = pasetors::keys::AsymmetricPublicKey::<pasetors::version4::V4>::try_from(paserk)
        .expect("paserk");
    let untrusted =
        pasetors::token::UntrustedToken::<pasetors::Public, pasetors::version4::V4>::try_from(
            &token,
        )
        .expect("token");
    let trusted =
        pasetors::version4::PublicToken::verify(&public, &untrusted, None, None).expect("verifies");
    let claims: Value = serde_json::from_str(trusted.payload()).expect("json");
    assert_eq!(claims["email"], "paseto@example.com");
    assert_eq!(claims["iss"], ORIGIN);
    let footer: Value = serde_json::from_slice(trusted.footer()).expect("footer");
    assert_eq!(footer["kid"], key["kid"]);
    let jwks = jwks(&app).await;
    assert!(
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .all(|k| k["alg"] == "EdDSA"),
        "PASETO keys stay out of the JWKS"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_jwt_plugin_can_be_switched_off() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| {
        config.plugins = Some(vec!["bearer".to_owned()]);
    })
    .await
    else {
        return;
    };
    signed_up(&app, "off@example.com").await;
    assert_eq!(app.get("/token").await.status(), 404);
    assert_eq!(app.get("/jwks").await.status(), 404);
    let session = app.get("/get-session").await;
    assert!(session.headers().get("set-auth-jwt").is_none());
    app.stop().await;
}
