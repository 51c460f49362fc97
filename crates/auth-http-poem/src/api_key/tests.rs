//! The API-key plugin's HTTP pieces: the wire shape of stored metadata, and the guard
//! (`ApiKeyPrincipal`, `RequireApiKey`) on application routes, driven with poem's test client.

use std::sync::Arc;

use auth_core::{
    ApiKeyConfig, ApiKeys, Auth, AuthConfig, AuthDeps, Caller, ClientInfo, CreateApiKey,
    SignUpEmail,
};
use auth_domain::{Password, Permissions, Secret, UserId};
use auth_ports::ApiKeyHasher;
use auth_ratelimit::MemoryRateLimiter;
use auth_testkit::{FastHasher, ManualClock, MemoryApiKeyRepo, MemoryStore, SeededRandom};
use poem::test::TestClient;
use poem::web::Json;
use poem::{EndpointExt, Route, get, handler};
use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::{HttpConfig, app};

const SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";

/// A stand-in digest (the real one is `auth_crypto::Sha256KeyHasher`, tested there).
struct ReversedHasher;

impl ApiKeyHasher for ReversedHasher {
    fn digest(&self, key: &str) -> String {
        key.chars().rev().collect()
    }
}

#[handler]
fn whoami(principal: ApiKeyPrincipal) -> Json<serde_json::Value> {
    Json(json!({"owner": principal.owner_id(), "key": principal.key.id}))
}

#[handler]
fn files(request: &Request) -> Json<serde_json::Value> {
    let principal = request
        .extensions()
        .get::<ApiKeyPrincipal>()
        .expect("placed by RequireApiKey");
    let write = Permissions(
        [("files".to_owned(), vec!["write".to_owned()])]
            .into_iter()
            .collect(),
    );
    Json(json!({"canWrite": principal.allows(&write), "requests": principal.key.request_count}))
}

struct Fixture {
    state: Arc<HttpState>,
    keys: ApiKeys,
    user_id: UserId,
    context: auth_core::AuthContext,
}

async fn fixture() -> Fixture {
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
        events: Arc::new(auth_ports::LocalEvents),
        mail: None,
    };
    let keys = ApiKeys::new(
        Arc::new(MemoryApiKeyRepo::new()),
        Arc::new(ReversedHasher),
        ApiKeyConfig::default(),
    );
    let config = AuthConfig {
        email: auth_core::EmailRules {
            delete_user_enabled: true,
            ..auth_core::EmailRules::default()
        },
        ..AuthConfig::default()
    };
    let auth = Auth::with_plugins(deps, config, vec![Arc::new(keys.clone())]);
    let signed = auth
        .sign_up_email(SignUpEmail {
            name: "Bot Owner".to_owned(),
            email: "owner@example.com".to_owned(),
            password: Password::new("password-123".to_owned()),
            image: None,
            remember_me: true,
            callback_url: None,
            client: ClientInfo::default(),
        })
        .await
        .expect("sign-up");
    let plugin: Arc<dyn HttpPlugin> = Arc::new(ApiKeyPlugin::new(
        keys.clone(),
        vec!["x-api-key".to_owned(), "x-other-key".to_owned()],
    ));
    let state = Arc::new(HttpState::new(
        auth,
        HttpConfig::default(),
        Secret::new(SECRET.to_owned()),
        vec![plugin],
    ));
    let context = auth_core::AuthContext {
        session: signed.session.expect("signed in at sign-up"),
        user: signed.user,
    };
    Fixture {
        state,
        keys,
        user_id: context.user.id.clone(),
        context,
    }
}

async fn server_key(f: &Fixture, permissions: Option<&[(&str, &[&str])]>) -> (String, String) {
    let mut request = CreateApiKey::for_user(f.user_id.clone(), Caller::Server);
    request.permissions = permissions.map(|pairs| {
        Permissions(
            pairs
                .iter()
                .map(|(resource, actions)| {
                    (
                        (*resource).to_owned(),
                        actions.iter().map(|a| (*a).to_owned()).collect(),
                    )
                })
                .collect(),
        )
    });
    let created = f
        .keys
        .create(f.state.auth(), request)
        .await
        .expect("created");
    (created.key.expose().clone(), created.api_key.id)
}

#[tokio::test]
async fn the_principal_is_the_verified_key_from_any_configured_header() {
    let f = fixture().await;
    let (key, id) = server_key(&f, None).await;
    let client = TestClient::new(app(&f.state, Route::new().at("/whoami", get(whoami))));
    let missing = client.get("/whoami").send().await;
    missing.assert_status(StatusCode::UNAUTHORIZED);
    missing
        .assert_json(json!({"message": "Invalid API key.", "code": "INVALID_API_KEY"}))
        .await;
    let forged = client
        .get("/whoami")
        .header("x-api-key", format!("{key}x"))
        .send()
        .await;
    forged.assert_status(StatusCode::UNAUTHORIZED);
    for header in ["x-api-key", "x-other-key"] {
        let response = client.get("/whoami").header(header, &key).send().await;
        response.assert_status_is_ok();
        response
            .assert_json(json!({"owner": f.user_id.as_str(), "key": id}))
            .await;
    }
}

#[tokio::test]
async fn require_api_key_checks_permissions_before_counting_a_use() {
    let f = fixture().await;
    let (reader, _) = server_key(&f, Some(&[("files", &["read"])])).await;
    let (writer, _) = server_key(&f, Some(&[("files", &["read", "write"])])).await;
    let (bare, bare_id) = server_key(&f, None).await;
    let route = Route::new().at(
        "/files",
        get(files).with(RequireApiKey::with(&[("files", &["read"])])),
    );
    let client = TestClient::new(app(&f.state, route));
    let response = client
        .get("/files")
        .header("x-api-key", &reader)
        .send()
        .await;
    response.assert_status_is_ok();
    response
        .assert_json(json!({"canWrite": false, "requests": 1}))
        .await;
    let response = client
        .get("/files")
        .header("x-api-key", &writer)
        .send()
        .await;
    response
        .assert_json(json!({"canWrite": true, "requests": 1}))
        .await;
    let refused = client.get("/files").header("x-api-key", &bare).send().await;
    refused.assert_status(StatusCode::UNAUTHORIZED);
    refused
        .assert_json(json!({"message": "API Key not found", "code": "KEY_NOT_FOUND"}))
        .await;
    let untouched = f
        .keys
        .get(f.state.auth(), &f.user_id, &bare_id, None)
        .await
        .expect("key");
    assert_eq!(untouched.request_count, 0, "a refused use is not counted");
    let anything = Route::new().at("/any", get(files).with(RequireApiKey::any()));
    let client = TestClient::new(app(&f.state, anything));
    client
        .get("/any")
        .header("x-api-key", &bare)
        .send()
        .await
        .assert_status_is_ok();
}

#[tokio::test]
async fn a_deleted_users_keys_are_deleted_with_them() {
    let f = fixture().await;
    let (key, _) = server_key(&f, None).await;
    let owner = ApiKeyPrincipal {
        key: f
            .keys
            .verify(f.state.auth(), &key, None)
            .await
            .expect("valid"),
        owned_by: auth_core::KeyOwner::User,
    };
    assert_eq!(owner.owner_id(), f.user_id.as_str());
    assert_eq!(owner.organization_id(), None);
    f.state
        .auth()
        .delete_user(
            &f.context,
            auth_core::DeleteUser {
                password: Some(Password::new("password-123".to_owned())),
                token: None,
                callback_url: None,
                client: ClientInfo::default(),
            },
        )
        .await
        .expect("deleted");
    let error = f
        .keys
        .verify(f.state.auth(), &key, None)
        .await
        .expect_err("gone");
    assert_eq!(error.code(), Some("INVALID_API_KEY"));
}

#[test]
fn stored_metadata_reads_as_json_once_or_twice_encoded_and_null_is_none() {
    assert_eq!(metadata_value(Some(r#"{"a":1}"#)), Some(json!({"a":1})));
    assert_eq!(
        metadata_value(Some(r#""{\"a\":1}""#)),
        Some(json!({"a":1})),
        "legacy double encoding"
    );
    assert_eq!(metadata_value(Some("null")), None);
    assert_eq!(metadata_value(Some("not json")), None);
    assert_eq!(metadata_value(None), None);
}

#[test]
fn only_objects_arrays_and_null_are_metadata() {
    assert_eq!(
        metadata_text(json!({"a":1})).ok().as_deref(),
        Some(r#"{"a":1}"#)
    );
    assert!(metadata_text(json!([1])).is_ok());
    assert!(metadata_text(json!("text")).is_err());
    assert!(metadata_text(json!(3)).is_err());
}

#[test]
fn javascript_falsy_values_are_no_metadata() {
    for value in [json!(null), json!(false), json!(0), json!("")] {
        assert!(falsy(&value), "{value}");
    }
    for value in [json!({}), json!([]), json!("x"), json!(1), json!(true)] {
        assert!(!falsy(&value), "{value}");
    }
}
