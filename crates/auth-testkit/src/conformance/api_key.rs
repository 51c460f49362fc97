//! The `ApiKeyRepo` conformance suite. Run it on an empty `apikey` table:
//!
//! ```text
//! auth_testkit::conformance::run_api_key_suite(&*Arc::new(MyStore::connect(..).await?)).await;
//! ```

use std::collections::BTreeMap;

use auth_domain::{ApiKey, KeyRefusal, Permissions};
use auth_ports::{ApiKeyRepo, KeyUse, PortError, Reserved};
use time::{Duration, OffsetDateTime, macros::datetime};

const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00.123 UTC);

/// Runs every case against an empty key table.
pub async fn run_api_key_suite(repo: &dyn ApiKeyRepo) {
    keys_round_trip_by_id_and_digest(repo).await;
    duplicate_id_is_a_conflict(repo).await;
    list_is_per_owner_and_configuration_oldest_first(repo).await;
    update_writes_settings_and_keeps_counters(repo).await;
    a_use_writes_its_counters_and_a_refusal_writes_nothing(repo).await;
    concurrent_uses_never_exceed_the_quota(repo).await;
    concurrent_reservations_share_the_quota_exactly(repo).await;
    deletes(repo).await;
}

/// A key of `owner` with every column set.
fn full_key(id: &str, owner: &str, created_minutes: i64) -> ApiKey {
    let permissions = Permissions(BTreeMap::from([
        (
            "files".to_owned(),
            vec!["read".to_owned(), "write".to_owned()],
        ),
        ("users".to_owned(), vec!["list".to_owned()]),
    ]));
    ApiKey {
        id: id.to_owned(),
        config_id: "default".to_owned(),
        name: Some(format!("name-{id}")),
        start: Some("ba_ZSd".to_owned()),
        prefix: Some("ba_".to_owned()),
        reference_id: owner.to_owned(),
        enabled: true,
        rate_limit_enabled: true,
        rate_limit_time_window: Some(Duration::days(1)),
        rate_limit_max: Some(10),
        request_count: 3,
        remaining: Some(7),
        refill_amount: Some(100),
        refill_interval: Some(Duration::hours(1)),
        last_refill_at: Some(T0 + Duration::seconds(5)),
        last_request: Some(T0 + Duration::seconds(6)),
        expires_at: Some(T0 + Duration::days(30)),
        created_at: T0 + Duration::minutes(created_minutes),
        updated_at: T0 + Duration::minutes(created_minutes),
        permissions: Some(permissions),
        metadata: Some(r#"{"plan":"pro"}"#.to_owned()),
    }
}

/// A key with nothing optional set.
fn bare_key(id: &str, owner: &str, created_minutes: i64) -> ApiKey {
    crate::fixtures::bare_api_key(id, owner, T0 + Duration::minutes(created_minutes))
}

async fn create(repo: &dyn ApiKeyRepo, key: &ApiKey, digest: &str) {
    let created = repo.create(key, digest).await;
    assert!(created.is_ok(), "api_key: create {}: {created:?}", key.id);
}

async fn find(repo: &dyn ApiKeyRepo, id: &str) -> Option<ApiKey> {
    let found = repo.find(id).await;
    assert!(found.is_ok(), "api_key: find {id}: {found:?}");
    found.ok().flatten()
}

async fn keys_round_trip_by_id_and_digest(repo: &dyn ApiKeyRepo) {
    let full = full_key("key-full", "owner-rt", 0);
    let bare = bare_key("key-bare", "owner-rt", 1);
    create(repo, &full, "digest-full").await;
    create(repo, &bare, "digest-bare").await;
    assert_eq!(
        find(repo, "key-full").await,
        Some(full.clone()),
        "api_key: every column round-trips (milliseconds, permissions, metadata text)"
    );
    assert_eq!(
        find(repo, "key-bare").await,
        Some(bare),
        "api_key: nulls round-trip"
    );
    let by_digest = repo.find_by_digest("digest-full").await;
    assert!(
        matches!(&by_digest, Ok(Some(key)) if *key == full),
        "api_key: found by its digest: {by_digest:?}"
    );
    let unknown = repo.find_by_digest("digest-FULL").await;
    assert!(
        matches!(unknown, Ok(None)),
        "api_key: digests compare exactly: {unknown:?}"
    );
    assert!(
        matches!(repo.find("key-none").await, Ok(None)),
        "api_key: an unknown id is none"
    );
}

async fn duplicate_id_is_a_conflict(repo: &dyn ApiKeyRepo) {
    let duplicate = bare_key("key-full", "owner-other", 5);
    let result = repo.create(&duplicate, "digest-other").await;
    assert!(
        matches!(result, Err(PortError::Conflict)),
        "api_key: a duplicate id is a conflict: {result:?}"
    );
    assert!(
        matches!(repo.find_by_digest("digest-other").await, Ok(None)),
        "api_key: nothing written on conflict"
    );
}

async fn list_is_per_owner_and_configuration_oldest_first(repo: &dyn ApiKeyRepo) {
    let mut other_config = bare_key("key-l3", "owner-list", 0);
    other_config.config_id = "admin".to_owned();
    for key in [
        bare_key("key-l2", "owner-list", 2),
        bare_key("key-l1", "owner-list", 1),
        other_config,
        bare_key("key-x", "owner-else", 0),
    ] {
        create(repo, &key, &format!("digest-{}", key.id)).await;
    }
    let ids = |keys: Result<Vec<ApiKey>, PortError>| -> Vec<String> {
        keys.unwrap_or_default()
            .into_iter()
            .map(|key| key.id)
            .collect()
    };
    assert_eq!(
        ids(repo.list("owner-list", None).await),
        ["key-l3", "key-l1", "key-l2"],
        "api_key: an owner's keys, oldest first"
    );
    assert_eq!(
        ids(repo.list("owner-list", Some("default")).await),
        ["key-l1", "key-l2"],
        "api_key: one configuration's keys"
    );
    assert!(
        ids(repo.list("owner-none", None).await).is_empty(),
        "api_key: an owner without keys has none"
    );
}

async fn update_writes_settings_and_keeps_counters(repo: &dyn ApiKeyRepo) {
    let mut changed = full_key("key-full", "owner-rt", 0);
    changed.name = None;
    changed.enabled = false;
    changed.expires_at = None;
    changed.permissions = None;
    changed.metadata = None;
    changed.remaining = Some(1);
    changed.rate_limit_max = Some(99);
    changed.updated_at = T0 + Duration::hours(2);
    // Counters a use keeps are not the update's to write.
    changed.request_count = 0;
    changed.last_request = None;
    changed.last_refill_at = None;
    let updated = repo.update(&changed).await;
    assert!(updated.is_ok(), "api_key: update: {updated:?}");
    let expected = ApiKey {
        remaining: Some(7),
        request_count: 3,
        last_request: Some(T0 + Duration::seconds(6)),
        last_refill_at: Some(T0 + Duration::seconds(5)),
        ..changed
    };
    assert_eq!(
        find(repo, "key-full").await,
        Some(expected),
        "api_key: update writes the settings and leaves the counters, the quota included"
    );
    let set = repo.set_remaining("key-full", Some(1)).await;
    assert!(matches!(set, Ok(true)), "api_key: set_remaining: {set:?}");
    assert_eq!(
        find(repo, "key-full").await.and_then(|key| key.remaining),
        Some(1),
        "api_key: the server sets the quota"
    );
    assert!(
        matches!(repo.set_remaining("key-none", Some(1)).await, Ok(false)),
        "api_key: setting a missing key's quota finds nothing"
    );
    let missing = repo.update(&bare_key("key-none", "owner-rt", 0)).await;
    assert!(
        matches!(missing, Err(PortError::NotFound)),
        "api_key: updating a missing key is not found: {missing:?}"
    );
}

async fn a_use_writes_its_counters_and_a_refusal_writes_nothing(repo: &dyn ApiKeyRepo) {
    let mut key = bare_key("key-use", "owner-use", 0);
    key.remaining = Some(2);
    key.rate_limit_enabled = true;
    key.rate_limit_time_window = Some(Duration::minutes(1));
    key.rate_limit_max = Some(5);
    create(repo, &key, "digest-use").await;
    let now = T0 + Duration::hours(1);
    let used = repo.use_key("digest-use", now, None, true).await;
    let expected = ApiKey {
        remaining: Some(1),
        request_count: 1,
        last_request: Some(now),
        updated_at: now,
        ..key.clone()
    };
    assert!(
        matches!(&used, Ok(KeyUse::Allowed(after)) if *after == expected),
        "api_key: an allowed use returns the key after it: {used:?}"
    );
    assert_eq!(
        find(repo, "key-use").await,
        Some(expected.clone()),
        "api_key: an allowed use is stored"
    );
    let mut required = Permissions::default();
    required
        .0
        .insert("files".to_owned(), vec!["read".to_owned()]);
    let refused = repo.use_key("digest-use", now, Some(&required), true).await;
    assert!(
        matches!(
            refused,
            Ok(KeyUse::Refused(_, KeyRefusal::MissingPermission))
        ),
        "api_key: a refusal names its rule: {refused:?}"
    );
    assert_eq!(
        find(repo, "key-use").await,
        Some(expected),
        "api_key: a refused use writes nothing"
    );
    let later = now + Duration::minutes(5);
    let touched = repo.touch("key-use", later).await;
    assert!(touched.is_ok(), "api_key: touch: {touched:?}");
    let after_touch = find(repo, "key-use").await;
    assert_eq!(
        after_touch
            .as_ref()
            .map(|key| (key.last_request, key.updated_at, key.remaining)),
        Some((Some(later), later, Some(1))),
        "api_key: touch sets lastRequest and updatedAt only"
    );
    assert!(
        repo.touch("key-none", later).await.is_ok(),
        "api_key: touching a missing key is no error"
    );
    let counted = auth_domain::ApiKeyUse {
        remaining: Some(42),
        last_refill_at: Some(later),
        request_count: 7,
        last_request: later + Duration::seconds(1),
    };
    assert!(repo.write_counters("key-use", &counted).await.is_ok());
    let written = find(repo, "key-use").await;
    assert_eq!(
        written.as_ref().map(|key| (
            key.remaining,
            key.last_refill_at,
            key.request_count,
            key.last_request,
            key.updated_at
        )),
        Some((
            Some(42),
            Some(later),
            7,
            Some(later + Duration::seconds(1)),
            later + Duration::seconds(1)
        )),
        "api_key: counters counted elsewhere are written"
    );
    assert!(
        repo.write_counters("key-none", &counted).await.is_ok(),
        "api_key: writing a missing key's counters is no error"
    );
    let missing = repo.use_key("digest-none", now, None, true).await;
    assert!(
        matches!(missing, Ok(KeyUse::Missing)),
        "api_key: an unknown digest is missing: {missing:?}"
    );
}

async fn concurrent_uses_never_exceed_the_quota(repo: &dyn ApiKeyRepo) {
    let mut key = bare_key("key-quota", "owner-quota", 0);
    key.remaining = Some(20);
    create(repo, &key, "digest-quota").await;
    let now = T0 + Duration::hours(1);
    let uses = (0..60).map(|_| repo.use_key("digest-quota", now, None, true));
    let results = futures_util::future::join_all(uses).await;
    let allowed = results
        .iter()
        .filter(|result| matches!(result, Ok(KeyUse::Allowed(_))))
        .count();
    let exceeded = results
        .iter()
        .filter(|result| {
            matches!(
                result,
                Ok(KeyUse::Refused(
                    _,
                    KeyRefusal::UsageExceeded { spent: true }
                ))
            )
        })
        .count();
    assert_eq!(
        (allowed, exceeded),
        (20, 40),
        "api_key: 60 concurrent uses of a quota of 20: {:?}",
        results.iter().find(|result| result.is_err())
    );
    assert_eq!(
        find(repo, "key-quota").await.and_then(|key| key.remaining),
        Some(0),
        "api_key: the quota ends at zero"
    );
}

async fn concurrent_reservations_share_the_quota_exactly(repo: &dyn ApiKeyRepo) {
    let mut key = bare_key("key-lease", "owner-lease", 0);
    key.remaining = Some(100);
    create(repo, &key, "digest-lease").await;
    let now = T0 + Duration::hours(1);
    let reservations = (0..30).map(|_| repo.reserve("key-lease", now, 7));
    let results = futures_util::future::join_all(reservations).await;
    let granted: i64 = results
        .iter()
        .map(|result| match result {
            Ok(Reserved::Granted { uses, .. }) => *uses,
            _ => 0,
        })
        .sum();
    let refused = results
        .iter()
        .filter(|result| {
            matches!(
                result,
                Ok(Reserved::Refused(KeyRefusal::UsageExceeded { spent: true }))
            )
        })
        .count();
    assert_eq!(
        (granted, refused),
        (100, 15),
        "api_key: 30 concurrent reservations of 7 share a quota of 100: {:?}",
        results.iter().find(|result| result.is_err())
    );
    let stored = find(repo, "key-lease").await;
    assert_eq!(
        stored.map(|key| (key.remaining, key.last_request)),
        Some((Some(0), Some(now))),
        "api_key: the reservations are stored"
    );
    assert!(
        matches!(repo.reserve("key-none", now, 3).await, Ok(Reserved::Gone)),
        "api_key: an unknown key reserves nothing"
    );
}

async fn deletes(repo: &dyn ApiKeyRepo) {
    assert!(
        matches!(repo.delete("key-bare").await, Ok(true)),
        "api_key: delete an existing key"
    );
    assert!(
        matches!(repo.delete("key-bare").await, Ok(false)),
        "api_key: deleting twice finds nothing"
    );
    assert!(
        matches!(repo.find_by_digest("digest-bare").await, Ok(None)),
        "api_key: a deleted key is gone"
    );
    let removed = repo.delete_by_reference("owner-list").await;
    assert!(
        matches!(removed, Ok(3)),
        "api_key: every key of an owner: {removed:?}"
    );
    assert!(
        matches!(repo.find("key-x").await, Ok(Some(_))),
        "api_key: another owner's keys stay"
    );
    let mut soon = bare_key("key-soon", "owner-exp", 0);
    soon.expires_at = Some(T0 + Duration::days(1));
    let mut later = bare_key("key-later", "owner-exp", 0);
    later.expires_at = Some(T0 + Duration::days(3));
    create(repo, &soon, "digest-soon").await;
    create(repo, &later, "digest-later").await;
    let expired = repo.delete_expired(T0 + Duration::days(2)).await;
    assert!(
        matches!(expired, Ok(1)),
        "api_key: only keys expired by then: {expired:?}"
    );
    assert!(
        matches!(repo.find("key-soon").await, Ok(None)),
        "api_key: the expired key is gone"
    );
    assert!(
        matches!(repo.find("key-later").await, Ok(Some(_))),
        "api_key: keys that never expire or expire later stay"
    );
}
