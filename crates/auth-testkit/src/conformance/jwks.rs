//! The `JwksRepo` conformance suite. Run it on an empty key table:
//!
//! ```text
//! auth_testkit::conformance::run_jwks_suite(&*Arc::new(MyStore::connect(..).await?)).await;
//! ```

use auth_domain::{Jwk, JwkId, StoredPrivateKey};
use auth_ports::{JwksRepo, PortError};
use time::{Duration, OffsetDateTime, macros::datetime};

const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00.123 UTC);

/// Runs every case against an empty key table.
pub async fn run_jwks_suite(repo: &dyn JwksRepo) {
    keys_round_trip_oldest_first(repo).await;
    duplicate_key_id_is_a_conflict_and_writes_nothing(repo).await;
    expiry_update_and_missing_key(repo).await;
}

fn key(id: &str, created_minutes: i64, expires_at: Option<OffsetDateTime>) -> Jwk {
    Jwk {
        id: JwkId::new(id),
        public_key: format!(r#"{{"crv":"Ed25519","x":"x-{id}","kty":"OKP"}}"#),
        private_key: StoredPrivateKey::new(format!(r#""sealed-{id}""#)),
        created_at: T0 + Duration::minutes(created_minutes),
        expires_at,
        alg: Some("EdDSA".to_owned()),
        crv: Some("Ed25519".to_owned()),
    }
}

async fn list(repo: &dyn JwksRepo) -> Vec<Jwk> {
    let listed = repo.list_all().await;
    assert!(listed.is_ok(), "jwks: list_all failed: {listed:?}");
    listed.unwrap_or_default()
}

async fn keys_round_trip_oldest_first(repo: &dyn JwksRepo) {
    let newer = key("jwk-newer", 5, Some(T0 + Duration::days(90)));
    let mut older = key("jwk-older", 0, None);
    older.alg = None;
    older.crv = None;
    for key in [&newer, &older] {
        let created = repo.create(key).await;
        assert!(created.is_ok(), "jwks: create {}: {created:?}", key.id);
    }
    assert_eq!(
        list(repo).await,
        vec![older, newer],
        "jwks: every column round-trips (milliseconds, nulls), oldest first"
    );
}

async fn duplicate_key_id_is_a_conflict_and_writes_nothing(repo: &dyn JwksRepo) {
    let before = list(repo).await;
    let mut duplicate = key("jwk-older", 10, None);
    duplicate.public_key = "{}".to_owned();
    let result = repo.create(&duplicate).await;
    assert!(
        matches!(result, Err(PortError::Conflict)),
        "jwks: duplicate id: {result:?}"
    );
    assert_eq!(list(repo).await, before, "jwks: a conflict writes nothing");
}

async fn expiry_update_and_missing_key(repo: &dyn JwksRepo) {
    let expires_at = T0 + Duration::hours(1);
    let updated = repo
        .update_expiry(&JwkId::new("jwk-older"), expires_at)
        .await;
    assert!(updated.is_ok(), "jwks: update_expiry: {updated:?}");
    let keys = list(repo).await;
    let older = keys.iter().find(|key| key.id.as_str() == "jwk-older");
    assert_eq!(
        older.and_then(|key| key.expires_at),
        Some(expires_at),
        "jwks: expiry moved"
    );
    let missing = repo
        .update_expiry(&JwkId::new("jwk-missing"), expires_at)
        .await;
    assert!(
        matches!(missing, Err(PortError::NotFound)),
        "jwks: missing key: {missing:?}"
    );
}
