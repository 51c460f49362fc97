//! The remote-JWKS guard end to end: the auth server and the example service (which trusts the
//! server's tokens through `auth_guard::JwtVerifier::remote`) both run; a user signs in on the
//! one and calls the other with the JWT. Forged tokens are refused by the service.

use auth_example_service::{ExampleConfig, app};
use auth_guard::RemoteKeysConfig;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem::listener::{Acceptor, Listener};
use serde_json::{Value, json};

use crate::helpers::{ORIGIN, TestApp, both_backends, expect_error};

/// The example service on an ephemeral port, trusting `auth`. Returns its base URL.
pub(crate) async fn spawn_example(auth: &TestApp) -> String {
    let config = ExampleConfig {
        auth_url: auth.address.clone(),
        issuer: ORIGIN.to_owned(),
        keys: RemoteKeysConfig {
            min_refetch_interval: std::time::Duration::from_millis(100),
            ..RemoteKeysConfig::default()
        },
    };
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind");
    let port = acceptor.local_addr()[0]
        .as_socket_addr()
        .expect("tcp")
        .port();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app(&config)));
    format!("http://127.0.0.1:{port}")
}

async fn call(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.send().await.expect("request")
}

async fn jwt_for(app: &TestApp, email: &str) -> String {
    let response = app.sign_up(email, "password-123").await;
    assert_eq!(response.status(), 200);
    let body: Value = app.get("/token").await.json().await.expect("json");
    body["token"].as_str().expect("token").to_owned()
}

both_backends!(
    the_example_service_trusts_the_servers_jwt_and_refuses_everything_else,
    async |app: &TestApp| {
        let service = spawn_example(app).await;
        let token = jwt_for(app, "svc@example.com").await;

        assert_eq!(call(&format!("{service}/public"), None).await.status(), 200);
        let me = call(&format!("{service}/me"), Some(&token)).await;
        assert_eq!(me.status(), 200);
        let body: Value = me.json().await.expect("json");
        assert_eq!(body["email"], "svc@example.com");

        // Authenticated but not enough: the email is not verified.
        expect_error(
            call(&format!("{service}/verified"), Some(&token)).await,
            403,
            Some("FORBIDDEN"),
        )
        .await;

        let missing = call(&format!("{service}/me"), None).await;
        assert_eq!(
            missing
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok()),
            Some("Bearer")
        );
        expect_error(missing, 401, Some("MISSING_TOKEN")).await;

        let (header, rest) = token.split_once('.').expect("jwt");
        let (payload, signature) = rest.split_once('.').expect("jwt");
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json");
        let encode = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
        let mut header_json: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("b64")).expect("json");
        let with_claims = |changes: Value| {
            let mut changed = claims.clone();
            for (name, value) in changes.as_object().expect("object") {
                changed[name] = value.clone();
            }
            format!("{header}.{}.{signature}", encode(&changed))
        };
        header_json["alg"] = json!("none");
        let none = format!("{}.{payload}.", encode(&header_json));
        header_json["alg"] = json!("HS256");
        let hs256 = format!("{}.{payload}.{signature}", encode(&header_json));
        header_json["alg"] = json!("EdDSA");
        header_json["kid"] = json!("not-a-published-kid");
        let wrong_kid = format!("{}.{payload}.{signature}", encode(&header_json));
        let forged = [
            none,
            hs256,
            wrong_kid,
            with_claims(json!({"sub": "someone-else"})),
            with_claims(json!({"aud": "https://other.example"})),
            with_claims(json!({"exp": 1_000})),
            token[..token.len() - 5].to_owned(),
            format!("{header}.{payload}"),
            "not-a-token".to_owned(),
        ];
        for forged in forged {
            let response = call(&format!("{service}/me"), Some(&forged)).await;
            expect_error(response, 401, Some("INVALID_TOKEN")).await;
        }
    }
);

both_backends!(
    after_a_rotation_the_service_accepts_old_and_new_tokens_without_a_restart,
    async |app: &TestApp| {
        let service = spawn_example(app).await;
        let before = jwt_for(app, "rotation@example.com").await;
        assert_eq!(
            call(&format!("{service}/me"), Some(&before)).await.status(),
            200
        );
        // 91 days on, the key has expired: the next signing makes a new one. The service has
        // the old key set cached; the unknown kid makes it refetch once.
        app.clock.advance(time::Duration::days(91));
        let signed_in = app.sign_in("rotation@example.com", "password-123").await;
        assert_eq!(signed_in.status(), 200);
        let body: Value = app.get("/token").await.json().await.expect("json");
        let after = body["token"].as_str().expect("token").to_owned();
        assert_ne!(
            jsonwebtoken::decode_header(&before).expect("h").kid,
            jsonwebtoken::decode_header(&after).expect("h").kid
        );
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        assert_eq!(
            call(&format!("{service}/me"), Some(&after)).await.status(),
            200
        );
        // The token signed before the rotation verifies until it expires.
        assert_eq!(
            call(&format!("{service}/me"), Some(&before)).await.status(),
            200
        );
    }
);
