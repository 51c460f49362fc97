//! The API-key use cases on the in-memory key table: creation rules, ownership, updates,
//! listing, verification with its counters, the in-memory cache of keys that count nothing and
//! its invalidation, and a key's session.

use auth_domain::{ApiKey, AuthEvent, Permissions, UserId};
use auth_ports::{ApiKeyHasher, ApiKeyRepo, Clock};
use auth_testkit::{CounterWrites, MemoryApiKeyRepo};

use super::*;

/// A readable stand-in digest (the real one is `auth_crypto::Sha256KeyHasher`).
struct Reversed;

impl ApiKeyHasher for Reversed {
    fn digest(&self, key: &str) -> String {
        key.chars().rev().collect()
    }
}

struct Keys {
    auth: Auth,
    keys: ApiKeys,
    repo: Arc<MemoryApiKeyRepo>,
    clock: Arc<ManualClock>,
    user: UserId,
}

async fn keys_with(customise: impl FnOnce(&mut ApiKeyConfig)) -> Keys {
    keys_counted_by(None, customise).await
}

async fn keys_counted_by(
    counters: Option<Arc<dyn auth_ports::KeyCounters>>,
    customise: impl FnOnce(&mut ApiKeyConfig),
) -> Keys {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 0:00 UTC)));
    let repo = Arc::new(MemoryApiKeyRepo::new());
    let mut config = ApiKeyConfig::default();
    customise(&mut config);
    let mut keys = ApiKeys::new(repo.clone(), Arc::new(Reversed), config);
    if let Some(counters) = counters {
        keys = keys.with_counters(counters);
    }
    let auth = Auth::with_plugins(
        deps(&store, &clock),
        AuthConfig::default(),
        vec![Arc::new(keys.clone())],
    );
    let signed = auth
        .sign_up_email(sign_up("keys@example.com", "password-123"))
        .await
        .expect("sign-up");
    Keys {
        auth,
        keys,
        repo,
        clock,
        user: signed.user.id,
    }
}

async fn keys() -> Keys {
    keys_with(|_| {}).await
}

fn request(k: &Keys, caller: Caller) -> CreateApiKey {
    CreateApiKey::for_user(k.user.clone(), caller)
}

fn permissions(pairs: &[(&str, &[&str])]) -> Permissions {
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
}

/// Sets one field of a create request.
type Setter = fn(&mut CreateApiKey);

async fn create(k: &Keys, request: CreateApiKey) -> (String, ApiKey) {
    let created = k.keys.create(&k.auth, request).await.expect("created");
    (created.key.expose().clone(), created.api_key)
}

fn code(result: Result<impl std::fmt::Debug, AuthError>) -> Option<&'static str> {
    result.expect_err("refused").code()
}

#[tokio::test]
async fn a_new_key_is_prefix_and_letters_stored_by_digest_with_better_auths_defaults() {
    let k = keys().await;
    let mut named = request(&k, Caller::Client);
    named.prefix = Some("ba_".to_owned());
    named.name = Some("ci".to_owned());
    let (key, stored) = create(&k, named).await;
    let random = key.strip_prefix("ba_").expect("prefix first");
    assert_eq!(random.len(), 64);
    assert!(random.bytes().all(|b| b.is_ascii_alphabetic()), "{key}");
    assert_eq!(stored.start.as_deref(), Some(&key[..6]));
    assert_eq!(stored.prefix.as_deref(), Some("ba_"));
    assert_eq!(stored.reference_id, k.user.as_str());
    assert_eq!(stored.rate_limit_max, Some(10));
    assert_eq!(stored.rate_limit_time_window, Some(Duration::days(1)));
    assert!(stored.enabled && stored.rate_limit_enabled);
    assert_eq!(stored.remaining, None);
    assert_eq!(stored.expires_at, None);
    let digest: String = key.chars().rev().collect();
    assert_eq!(
        k.repo.find_by_digest(&digest).await.expect("read"),
        Some(stored),
        "stored under its digest, never in the clear"
    );
}

#[tokio::test]
async fn clients_cannot_set_server_only_fields_and_the_server_can() {
    let k = keys().await;
    let setters: [Setter; 7] = [
        |r| r.permissions = Some(Permissions::default()),
        |r| r.remaining = Some(5),
        |r| r.refill_amount = Some(5),
        |r| r.refill_interval = Some(1000),
        |r| r.rate_limit_max = Some(5),
        |r| r.rate_limit_time_window = Some(5),
        |r| r.rate_limit_enabled = Some(false),
    ];
    for set in setters {
        let mut client = request(&k, Caller::Client);
        set(&mut client);
        assert_eq!(
            code(k.keys.create(&k.auth, client).await),
            Some("SERVER_ONLY_PROPERTY")
        );
    }
    let mut server = request(&k, Caller::Server);
    server.remaining = Some(3);
    server.refill_amount = Some(3);
    server.refill_interval = Some(60_000);
    server.rate_limit_enabled = Some(false);
    server.permissions = Some(permissions(&[("files", &["read"])]));
    let (_, stored) = create(&k, server).await;
    assert_eq!(stored.remaining, Some(3));
    assert_eq!(stored.refill_interval, Some(Duration::minutes(1)));
    assert!(!stored.rate_limit_enabled);
    assert!(stored.permissions.is_some());
}

#[tokio::test]
async fn creation_rules_answer_better_auths_codes() {
    let k = keys_with(|config| config.max_keys_per_owner = 1).await;
    let cases: [(Setter, &str); 10] = [
        (|r| r.name = Some(String::new()), "INVALID_NAME_LENGTH"),
        (|r| r.name = Some("n".repeat(33)), "INVALID_NAME_LENGTH"),
        (|r| r.prefix = Some("p".repeat(33)), "INVALID_PREFIX_LENGTH"),
        (|r| r.expires_in = Some(86_399), "EXPIRES_IN_IS_TOO_SMALL"),
        (
            |r| r.expires_in = Some(365 * 86_400 + 1),
            "EXPIRES_IN_IS_TOO_LARGE",
        ),
        (|r| r.metadata = Some("{}".to_owned()), "METADATA_DISABLED"),
        (
            |r| r.refill_amount = Some(1),
            "REFILL_AMOUNT_AND_INTERVAL_REQUIRED",
        ),
        (
            |r| r.refill_interval = Some(1),
            "REFILL_INTERVAL_AND_AMOUNT_REQUIRED",
        ),
        (|r| r.remaining = Some(-1), "VALIDATION_ERROR"),
        (
            |r| r.config_id = Some("other".to_owned()),
            "NO_DEFAULT_API_KEY_CONFIGURATION_FOUND",
        ),
    ];
    for (set, expected) in cases {
        let mut server = request(&k, Caller::Server);
        set(&mut server);
        assert_eq!(
            code(k.keys.create(&k.auth, server).await),
            Some(expected),
            "{expected}"
        );
    }
    create(&k, request(&k, Caller::Client)).await;
    assert_eq!(
        code(k.keys.create(&k.auth, request(&k, Caller::Client)).await),
        Some("TOO_MANY_API_KEYS")
    );

    let strict = keys_with(|config| {
        config.require_name = true;
        config.disable_custom_expiry = true;
        config.enable_metadata = true;
        config.max_metadata_bytes = 8;
    })
    .await;
    assert_eq!(
        code(
            strict
                .keys
                .create(&strict.auth, request(&strict, Caller::Client))
                .await
        ),
        Some("NAME_REQUIRED")
    );
    let mut dated = request(&strict, Caller::Client);
    dated.name = Some("k".to_owned());
    dated.expires_in = Some(86_400 * 2);
    assert_eq!(
        code(strict.keys.create(&strict.auth, dated).await),
        Some("KEY_DISABLED_EXPIRATION")
    );
    let mut big = request(&strict, Caller::Client);
    big.name = Some("k".to_owned());
    big.metadata = Some(r#"{"a":"123456"}"#.to_owned());
    assert_eq!(
        code(strict.keys.create(&strict.auth, big).await),
        Some("METADATA_TOO_LARGE")
    );
}

#[tokio::test]
async fn the_default_expiry_applies_and_a_chosen_one_is_from_now() {
    let k = keys_with(|config| config.default_expires_in = Some(Duration::days(30))).await;
    let (_, defaulted) = create(&k, request(&k, Caller::Client)).await;
    let now = k.clock.now();
    assert_eq!(defaulted.expires_at, Some(now + Duration::days(30)));
    let mut chosen = request(&k, Caller::Client);
    chosen.expires_in = Some(2 * 86_400);
    let (_, stored) = create(&k, chosen).await;
    assert_eq!(stored.expires_at, Some(now + Duration::days(2)));
}

#[tokio::test]
async fn another_owners_key_is_not_found_for_get_update_and_delete() {
    let k = keys().await;
    let (_, stored) = create(&k, request(&k, Caller::Client)).await;
    let stranger = UserId::new("someone-else");
    assert_eq!(
        code(k.keys.get(&k.auth, &stranger, &stored.id, None).await),
        Some("KEY_NOT_FOUND")
    );
    let mut rename = UpdateApiKey::of(stranger.clone(), Caller::Client, stored.id.clone());
    rename.name = Some("stolen".to_owned());
    assert_eq!(
        code(k.keys.update(&k.auth, rename).await),
        Some("KEY_NOT_FOUND")
    );
    assert_eq!(
        code(k.keys.delete(&k.auth, &stranger, &stored.id, None).await),
        Some("KEY_NOT_FOUND")
    );
    assert_eq!(
        code(k.keys.get(&k.auth, &k.user, "no-such-key", None).await),
        Some("KEY_NOT_FOUND")
    );
    assert_eq!(
        code(
            k.keys
                .get(&k.auth, &k.user, &stored.id, Some("other"))
                .await
        ),
        Some("NO_DEFAULT_API_KEY_CONFIGURATION_FOUND")
    );
    assert!(k.keys.get(&k.auth, &k.user, &stored.id, None).await.is_ok());
}

#[tokio::test]
async fn updates_change_only_what_is_given_and_refuse_bad_values() {
    let k = keys_with(|config| config.enable_metadata = true).await;
    let (_, stored) = create(&k, request(&k, Caller::Client)).await;
    let update = |caller| UpdateApiKey::of(k.user.clone(), caller, stored.id.clone());
    assert_eq!(
        code(k.keys.update(&k.auth, update(Caller::Client)).await),
        Some("NO_VALUES_TO_UPDATE")
    );
    let mut remaining = update(Caller::Client);
    remaining.remaining = Some(4);
    assert_eq!(
        code(k.keys.update(&k.auth, remaining).await),
        Some("SERVER_ONLY_PROPERTY")
    );
    let mut zero = update(Caller::Server);
    zero.remaining = Some(0);
    assert_eq!(
        code(k.keys.update(&k.auth, zero).await),
        Some("INVALID_REMAINING")
    );
    let mut half_refill = update(Caller::Server);
    half_refill.refill_interval = Some(1000);
    assert_eq!(
        code(k.keys.update(&k.auth, half_refill).await),
        Some("REFILL_INTERVAL_AND_AMOUNT_REQUIRED")
    );
    k.clock.advance(Duration::minutes(1));
    let mut everything = update(Caller::Server);
    everything.name = Some("renamed".to_owned());
    everything.enabled = Some(false);
    everything.expires_in = Some(Some(3 * 86_400));
    everything.metadata = Some(r#"{"plan":"pro"}"#.to_owned());
    everything.remaining = Some(9);
    everything.refill_amount = Some(9);
    everything.refill_interval = Some(3_600_000);
    everything.rate_limit_enabled = Some(false);
    everything.rate_limit_time_window = Some(1000);
    everything.rate_limit_max = Some(2);
    everything.permissions = Some(Some(permissions(&[("files", &["read"])])));
    let updated = k.keys.update(&k.auth, everything).await.expect("updated");
    let now = k.clock.now();
    assert_eq!(updated.name.as_deref(), Some("renamed"));
    assert!(!updated.enabled && !updated.rate_limit_enabled);
    assert_eq!(updated.expires_at, Some(now + Duration::days(3)));
    assert_eq!(updated.metadata.as_deref(), Some(r#"{"plan":"pro"}"#));
    assert_eq!(
        (
            updated.remaining,
            updated.refill_amount,
            updated.rate_limit_max
        ),
        (Some(9), Some(9), Some(2))
    );
    assert_eq!(updated.refill_interval, Some(Duration::hours(1)));
    assert_eq!(updated.rate_limit_time_window, Some(Duration::seconds(1)));
    assert_eq!(updated.updated_at, now);
    assert_eq!(
        k.keys
            .get(&k.auth, &k.user, &stored.id, None)
            .await
            .expect("read"),
        updated
    );
    let mut clear = update(Caller::Server);
    clear.expires_in = Some(None);
    clear.permissions = Some(None);
    let cleared = k.keys.update(&k.auth, clear).await.expect("updated");
    assert_eq!((cleared.expires_at, cleared.permissions), (None, None));
}

#[tokio::test]
async fn lists_are_the_owners_sorted_and_paged() {
    let k = keys().await;
    for name in ["b", "c", "a"] {
        let mut named = request(&k, Caller::Client);
        named.name = Some(name.to_owned());
        create(&k, named).await;
        k.clock.advance(Duration::seconds(1));
    }
    let list = |sort_by, descending, offset, limit| ListApiKeys {
        user_id: k.user.clone(),
        config_id: None,
        limit,
        offset,
        sort_by,
        descending,
    };
    let names = |page: KeyPage| -> (Vec<String>, usize) {
        (
            page.keys
                .into_iter()
                .map(|key| key.name.unwrap_or_default())
                .collect(),
            page.total,
        )
    };
    let by_name = k
        .keys
        .list(&k.auth, list(KeySort::Name, false, None, None))
        .await
        .expect("list");
    assert_eq!(
        names(by_name),
        (vec!["a".into(), "b".into(), "c".into()], 3)
    );
    let newest_two = k
        .keys
        .list(&k.auth, list(KeySort::CreatedAt, true, Some(0), Some(2)))
        .await
        .expect("list");
    assert_eq!(names(newest_two), (vec!["a".into(), "c".into()], 3));
    let skipped = k
        .keys
        .list(&k.auth, list(KeySort::UpdatedAt, false, Some(2), None))
        .await
        .expect("list");
    assert_eq!(names(skipped), (vec!["a".into()], 3));
    let mut other_config = list(KeySort::ExpiresAt, false, None, None);
    other_config.config_id = Some("other".to_owned());
    let none = k.keys.list(&k.auth, other_config).await.expect("list");
    assert_eq!(names(none), (vec![], 0));
    assert_eq!(KeySort::parse("lastRequest"), Some(KeySort::LastRequest));
    assert_eq!(KeySort::parse("key"), None);
}

#[tokio::test]
async fn a_quota_runs_out_then_the_spent_key_is_deleted() {
    let k = keys().await;
    let mut quota = request(&k, Caller::Server);
    quota.remaining = Some(2);
    quota.rate_limit_enabled = Some(false);
    let (key, stored) = create(&k, quota).await;
    for left in [1, 0] {
        let used = k.keys.verify(&k.auth, &key, None).await.expect("allowed");
        assert_eq!(used.remaining, Some(left));
    }
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, None).await),
        Some("USAGE_EXCEEDED")
    );
    assert_eq!(
        k.repo.find(&stored.id).await.expect("read"),
        None,
        "a key that can never be refilled is deleted"
    );
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, None).await),
        Some("INVALID_API_KEY")
    );
}

#[tokio::test]
async fn the_rate_limit_answers_how_long_to_wait() {
    let k = keys().await;
    let mut limited = request(&k, Caller::Server);
    limited.rate_limit_max = Some(2);
    limited.rate_limit_time_window = Some(60_000);
    let (key, _) = create(&k, limited).await;
    k.keys.verify(&k.auth, &key, None).await.expect("first");
    k.keys.verify(&k.auth, &key, None).await.expect("second");
    k.clock.advance(Duration::seconds(15));
    let error = k.keys.verify(&k.auth, &key, None).await.expect_err("third");
    assert_eq!(error.code(), Some("RATE_LIMITED"));
    let AuthError::Plugin(plugin) = error else {
        panic!("a plugin error");
    };
    assert_eq!(plugin.details, vec![("tryAgainIn", 45_000)]);
    k.clock.advance(Duration::seconds(46));
    assert!(
        k.keys.verify(&k.auth, &key, None).await.is_ok(),
        "a new window"
    );
}

#[tokio::test]
async fn permissions_are_checked_before_a_use_is_counted() {
    let k = keys().await;
    let mut reader = request(&k, Caller::Server);
    reader.permissions = Some(permissions(&[("files", &["read"])]));
    let (key, stored) = create(&k, reader).await;
    let write = permissions(&[("files", &["read", "write"])]);
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, Some(&write)).await),
        Some("KEY_NOT_FOUND")
    );
    let untouched = k.repo.find(&stored.id).await.expect("read").expect("key");
    assert_eq!(untouched.request_count, 0);
    let read = permissions(&[("files", &["read"])]);
    assert!(k.keys.verify(&k.auth, &key, Some(&read)).await.is_ok());
}

#[tokio::test]
async fn a_key_that_counts_nothing_is_served_from_memory_for_its_ttl_and_dropped_when_changed() {
    let k = keys_with(|config| config.rate_limit.enabled = false).await;
    let (key, stored) = create(&k, request(&k, Caller::Client)).await;
    k.keys.verify(&k.auth, &key, None).await.expect("first use");
    // Gone from the table behind the cache's back (another writer): still served until the TTL.
    assert!(k.repo.delete(&stored.id).await.expect("deleted"));
    k.clock.advance(Duration::milliseconds(500));
    assert!(
        k.keys.verify(&k.auth, &key, None).await.is_ok(),
        "served from memory within the TTL"
    );
    k.clock.advance(Duration::milliseconds(600));
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, None).await),
        Some("INVALID_API_KEY"),
        "read again after the TTL"
    );

    // Through the use cases, a change reaches the cache at once.
    let (key, stored) = create(&k, request(&k, Caller::Client)).await;
    k.keys.verify(&k.auth, &key, None).await.expect("cached");
    let mut disable = UpdateApiKey::of(k.user.clone(), Caller::Client, stored.id.clone());
    disable.enabled = Some(false);
    k.keys.update(&k.auth, disable).await.expect("disabled");
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, None).await),
        Some("KEY_DISABLED")
    );
    // An event from another instance does the same.
    let (key, stored) = create(&k, request(&k, Caller::Client)).await;
    k.keys.verify(&k.auth, &key, None).await.expect("cached");
    k.repo.delete(&stored.id).await.expect("deleted elsewhere");
    k.auth
        .hear(AuthEvent::ApiKeyChanged {
            owner: k.user.as_str().to_owned(),
            key_id: stored.id.clone(),
            revoked: true,
        })
        .await;
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, None).await),
        Some("INVALID_API_KEY")
    );
}

#[tokio::test]
async fn one_use_reads_a_hot_key_and_its_owner_again_ahead_of_the_entrys_expiry() {
    let k = keys_with(|config| config.rate_limit.enabled = false).await;
    let (key, stored) = create(&k, request(&k, Caller::Client)).await;
    let client = ClientInfo::default();
    let context = k
        .keys
        .session_for(&k.auth, &key, &client)
        .await
        .expect("first use");
    k.keys
        .session_for(&k.auth, &key, &client)
        .await
        .expect("owner cached");
    // Renamed: the owner cached with the key is as old as the key's entry at most.
    let rename = crate::user::UpdateUser {
        name: Some("Renamed".to_owned()),
        image: None,
    };
    k.auth.update_user(&context, rename).await.expect("renamed");
    // Three quarters of the TTL: this use reads the row and the owner again, and caches them.
    k.clock.advance(Duration::milliseconds(800));
    let reloaded = k
        .keys
        .session_for(&k.auth, &key, &client)
        .await
        .expect("reloaded");
    assert_eq!(reloaded.user.name, "Renamed");
    // Gone behind the cache's back: the reloaded entry serves its own TTL, past the first's.
    assert!(k.repo.delete(&stored.id).await.expect("deleted"));
    k.clock.advance(Duration::milliseconds(700));
    assert!(
        k.keys.verify(&k.auth, &key, None).await.is_ok(),
        "served by the entry reloaded at 0.8 s, at 1.5 s"
    );
    // Its own reload finds the key gone, refuses and forgets it.
    k.clock.advance(Duration::milliseconds(100));
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, None).await),
        Some("INVALID_API_KEY")
    );
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, None).await),
        Some("INVALID_API_KEY"),
        "forgotten"
    );
}

#[tokio::test]
async fn a_reload_the_store_cannot_answer_leaves_the_entry_serving_until_it_expires() {
    let k = keys_with(|config| config.rate_limit.enabled = false).await;
    let (key, _) = create(&k, request(&k, Caller::Client)).await;
    k.keys.verify(&k.auth, &key, None).await.expect("first use");
    let reads = k.repo.digest_reads();
    k.repo.fail_reads(true);
    k.clock.advance(Duration::milliseconds(800));
    k.keys
        .verify(&k.auth, &key, None)
        .await
        .expect("the failed reload's use is served by the entry");
    assert_eq!(k.repo.digest_reads(), reads + 1, "a reload was tried");
    k.clock.advance(Duration::milliseconds(100));
    k.keys
        .verify(&k.auth, &key, None)
        .await
        .expect("still the entry");
    assert_eq!(
        k.repo.digest_reads(),
        reads + 1,
        "no second reload of the same entry while the store fails"
    );
    // Expired: the next use reads the store, and reports that it is down.
    k.clock.advance(Duration::milliseconds(100));
    assert!(matches!(
        k.keys.verify(&k.auth, &key, None).await,
        Err(AuthError::Unavailable(_))
    ));
    k.repo.fail_reads(false);
    k.keys.verify(&k.auth, &key, None).await.expect("back");
}

#[tokio::test]
async fn a_cached_key_writes_its_last_use_at_most_once_per_interval() {
    let k = keys_with(|config| config.rate_limit.enabled = false).await;
    let (key, stored) = create(&k, request(&k, Caller::Client)).await;
    let first = k.clock.now();
    k.keys.verify(&k.auth, &key, None).await.expect("use");
    k.clock.advance(Duration::milliseconds(900));
    k.keys
        .verify(&k.auth, &key, None)
        .await
        .expect("use from memory");
    let last = |k: &Keys| {
        let repo = k.repo.clone();
        let id = stored.id.clone();
        async move {
            repo.find(&id)
                .await
                .expect("read")
                .expect("key")
                .last_request
        }
    };
    assert_eq!(last(&k).await, Some(first), "not written again so soon");
    let ttl_long = keys_with(|config| {
        config.rate_limit.enabled = false;
        config.cache_ttl = Duration::minutes(5);
    })
    .await;
    let (key, stored_long) = create(&ttl_long, request(&ttl_long, Caller::Client)).await;
    ttl_long
        .keys
        .verify(&ttl_long.auth, &key, None)
        .await
        .expect("use");
    ttl_long.clock.advance(Duration::seconds(11));
    ttl_long
        .keys
        .verify(&ttl_long.auth, &key, None)
        .await
        .expect("use from memory");
    let written = ttl_long
        .repo
        .find(&stored_long.id)
        .await
        .expect("read")
        .expect("key")
        .last_request;
    assert_eq!(
        written,
        Some(ttl_long.clock.now()),
        "written after the interval"
    );
}

#[tokio::test]
async fn a_counted_key_is_never_served_from_memory() {
    let k = keys().await;
    let (key, stored) = create(&k, request(&k, Caller::Client)).await;
    k.keys.verify(&k.auth, &key, None).await.expect("use");
    k.repo.delete(&stored.id).await.expect("deleted elsewhere");
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, None).await),
        Some("INVALID_API_KEY"),
        "every use of a counted key reads the store"
    );
}

#[tokio::test]
async fn an_expired_key_is_refused_and_deleted() {
    let k = keys().await;
    let mut dated = request(&k, Caller::Client);
    dated.expires_in = Some(86_400);
    let (key, stored) = create(&k, dated).await;
    k.clock.advance(Duration::days(1) + Duration::seconds(1));
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, None).await),
        Some("KEY_EXPIRED")
    );
    assert_eq!(k.repo.find(&stored.id).await.expect("read"), None);
}

#[tokio::test]
async fn expired_keys_are_swept_on_the_key_routes_at_most_every_ten_seconds() {
    let k = keys().await;
    let mut dated = request(&k, Caller::Client);
    dated.expires_in = Some(86_400);
    let (_, stored) = create(&k, dated).await;
    k.clock.advance(Duration::days(2));
    let list = ListApiKeys {
        user_id: k.user.clone(),
        config_id: None,
        limit: None,
        offset: None,
        sort_by: KeySort::CreatedAt,
        descending: false,
    };
    k.keys.list(&k.auth, list.clone()).await.expect("list");
    assert_eq!(k.repo.find(&stored.id).await.expect("read"), None);
}

#[tokio::test]
async fn a_keys_session_is_its_owners_with_the_keys_id_and_expiry() {
    let k = keys_with(|config| config.rate_limit.enabled = false).await;
    let (key, stored) = create(&k, request(&k, Caller::Client)).await;
    let client = ClientInfo {
        ip_address: "203.0.113.9".to_owned(),
        ..ClientInfo::default()
    };
    let context = k
        .keys
        .session_for(&k.auth, &key, &client)
        .await
        .expect("session");
    assert_eq!(context.user.id, k.user);
    assert_eq!(context.session.id.as_str(), stored.id);
    assert_eq!(context.session.token.expose(), &key);
    assert_eq!(context.session.ip_address.as_deref(), Some("203.0.113.9"));
    assert_eq!(context.session.user_agent, None);
    // Better-Auth's milliseconds: 604 800 ms past now.
    assert_eq!(
        context.session.expires_at,
        k.clock.now() + Duration::milliseconds(604_800)
    );
    let again = k
        .keys
        .session_for(&k.auth, &key, &client)
        .await
        .expect("cached");
    assert_eq!(again.user, context.user, "the owner is cached with the key");
    assert_eq!(
        code(k.keys.session_for(&k.auth, &key[..63], &client).await),
        Some("INVALID_API_KEY")
    );
    let AuthError::Plugin(short) = k
        .keys
        .session_for(&k.auth, "short", &client)
        .await
        .expect_err("short")
    else {
        panic!("a plugin error");
    };
    assert_eq!(short.kind, PluginErrorKind::Forbidden);
    // A key whose owner is gone.
    let mut orphan = CreateApiKey::for_user(UserId::new("gone"), Caller::Server);
    orphan.rate_limit_enabled = Some(false);
    let (orphan_key, _) = create(&k, orphan).await;
    assert_eq!(
        code(k.keys.session_for(&k.auth, &orphan_key, &client).await),
        Some("INVALID_REFERENCE_ID_FROM_API_KEY")
    );
}

#[tokio::test]
async fn a_deleted_users_keys_go_with_them() {
    let k = keys_with(|config| config.rate_limit.enabled = false).await;
    let (key, stored) = create(&k, request(&k, Caller::Client)).await;
    k.keys.verify(&k.auth, &key, None).await.expect("cached");
    k.auth
        .hear(AuthEvent::UserDeleted {
            user_id: k.user.clone(),
        })
        .await;
    assert_eq!(k.repo.find(&stored.id).await.expect("read"), None);
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, None).await),
        Some("INVALID_API_KEY")
    );
}

fn shared_counters() -> Arc<auth_testkit::MemoryKeyCounters> {
    Arc::new(auth_testkit::MemoryKeyCounters::new())
}

#[tokio::test]
async fn with_shared_counters_a_counted_key_writes_the_database_only_on_write_back() {
    let counters = shared_counters();
    let k = keys_counted_by(Some(counters.clone()), |_| {}).await;
    let mut quota = request(&k, Caller::Server);
    quota.remaining = Some(100);
    let (key, stored) = create(&k, quota).await;
    for _ in 0..3 {
        k.keys.verify(&k.auth, &key, None).await.expect("allowed");
    }
    let row = k.repo.find(&stored.id).await.expect("read").expect("key");
    assert_eq!(
        (row.remaining, row.request_count),
        (Some(100), 0),
        "no write per use"
    );
    assert_eq!(k.keys.write_back().await.expect("written"), 1);
    let row = k.repo.find(&stored.id).await.expect("read").expect("key");
    assert_eq!((row.remaining, row.request_count), (Some(97), 3));
    assert_eq!(k.keys.write_back().await.expect("nothing new"), 0);
}

#[tokio::test]
async fn a_write_back_that_fails_gives_its_keys_back_and_the_next_one_writes_them() {
    let counters = shared_counters();
    let k = keys_counted_by(Some(counters.clone()), |_| {}).await;
    let mut stored = Vec::new();
    for _ in 0..2 {
        let mut quota = request(&k, Caller::Server);
        quota.remaining = Some(100);
        let (key, row) = create(&k, quota).await;
        k.keys.verify(&k.auth, &key, None).await.expect("allowed");
        stored.push((key, row.id));
    }
    k.repo.counter_writes(CounterWrites::Unavailable);
    assert!(
        matches!(k.keys.write_back().await, Err(AuthError::Unavailable(_))),
        "the database is down"
    );
    // A use meanwhile: the next write-back writes the counters as they are then.
    k.keys
        .verify(&k.auth, &stored[0].0, None)
        .await
        .expect("allowed");
    k.repo.counter_writes(CounterWrites::Work);
    assert_eq!(k.keys.write_back().await.expect("written"), 2, "both keys");
    let remaining: Vec<Option<i64>> =
        futures_util::future::join_all(stored.iter().map(|(_, id)| k.repo.find(id)))
            .await
            .into_iter()
            .map(|row| row.expect("read").expect("key").remaining)
            .collect();
    assert_eq!(remaining, [Some(98), Some(99)]);

    // Counters the database will never take are not given back: later write-backs go on.
    for (key, _) in &stored {
        k.keys.verify(&k.auth, key, None).await.expect("allowed");
    }
    k.repo.counter_writes(CounterWrites::Broken);
    assert_eq!(k.keys.write_back().await.expect("skipped"), 0);
    k.repo.counter_writes(CounterWrites::Work);
    assert_eq!(k.keys.write_back().await.expect("nothing left"), 0);
}

#[tokio::test]
async fn with_shared_counters_concurrent_uses_never_exceed_the_quota() {
    let k = keys_counted_by(Some(shared_counters()), |_| {}).await;
    let mut quota = request(&k, Caller::Server);
    quota.remaining = Some(20);
    quota.rate_limit_enabled = Some(false);
    let (key, stored) = create(&k, quota).await;
    let uses = (0..60).map(|_| k.keys.verify(&k.auth, &key, None));
    let results = futures_util::future::join_all(uses).await;
    let allowed = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(allowed, 20);
    assert_eq!(
        k.repo.find(&stored.id).await.expect("read"),
        None,
        "the spent key is deleted"
    );
}

#[tokio::test]
async fn an_update_writes_the_counts_back_first_and_counting_resumes_from_the_row() {
    let counters = shared_counters();
    let k = keys_counted_by(Some(counters.clone()), |_| {}).await;
    let mut limited = request(&k, Caller::Server);
    limited.rate_limit_max = Some(3);
    let (key, stored) = create(&k, limited).await;
    k.keys.verify(&k.auth, &key, None).await.expect("first");
    k.keys.verify(&k.auth, &key, None).await.expect("second");
    let mut rename = UpdateApiKey::of(k.user.clone(), Caller::Client, stored.id.clone());
    rename.name = Some("renamed".to_owned());
    let renamed = k.keys.update(&k.auth, rename).await.expect("renamed");
    assert_eq!(renamed.request_count, 2, "the uses reached the row first");
    k.keys.verify(&k.auth, &key, None).await.expect("third");
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, None).await),
        Some("RATE_LIMITED"),
        "counting went on from the row: no use was lost"
    );
    let mut disable = UpdateApiKey::of(k.user.clone(), Caller::Client, stored.id.clone());
    disable.enabled = Some(false);
    k.keys.update(&k.auth, disable).await.expect("disabled");
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, None).await),
        Some("KEY_DISABLED"),
        "the cached settings were dropped"
    );
}

#[tokio::test]
async fn with_shared_counters_keys_that_count_nothing_and_refusals_behave_as_without() {
    let k = keys_counted_by(Some(shared_counters()), |_| {}).await;
    let mut free = request(&k, Caller::Server);
    free.rate_limit_enabled = Some(false);
    free.permissions = Some(permissions(&[("files", &["read"])]));
    let (key, stored) = create(&k, free).await;
    let write = permissions(&[("files", &["write"])]);
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, Some(&write)).await),
        Some("KEY_NOT_FOUND")
    );
    k.keys.verify(&k.auth, &key, None).await.expect("allowed");
    let row = k.repo.find(&stored.id).await.expect("read").expect("key");
    assert_eq!(
        row.last_request,
        Some(k.clock.now()),
        "its last use is written"
    );
    assert_eq!(
        code(k.keys.verify(&k.auth, "unknown", None).await),
        Some("INVALID_API_KEY")
    );
    let mut dated = request(&k, Caller::Client);
    dated.expires_in = Some(86_400);
    let (dated_key, _) = create(&k, dated).await;
    k.keys
        .verify(&k.auth, &dated_key, None)
        .await
        .expect("counted, cached");
    k.clock.advance(Duration::days(2));
    assert_eq!(
        code(k.keys.verify(&k.auth, &dated_key, None).await),
        Some("KEY_EXPIRED")
    );
    let context = k
        .keys
        .session_for(&k.auth, &key, &ClientInfo::default())
        .await
        .expect("session");
    assert_eq!(context.user.id, k.user);
}

#[tokio::test]
async fn a_large_quota_is_spent_from_leases_and_still_exactly() {
    let counters = shared_counters();
    let k = keys_counted_by(Some(counters.clone()), |_| {}).await;
    let mut large = request(&k, Caller::Server);
    large.remaining = Some(10_050);
    large.rate_limit_enabled = Some(false);
    let (key, stored) = create(&k, large).await;
    k.keys.verify(&k.auth, &key, None).await.expect("first use");
    k.keys.write_back().await.expect("written");
    let row = k.repo.find(&stored.id).await.expect("read").expect("key");
    assert_eq!(
        row.remaining,
        Some(10_050 - 16),
        "one reservation of a first block (16 uses)"
    );
    let mut allowed = 1;
    for _ in 0..10_100 {
        if k.keys.verify(&k.auth, &key, None).await.is_ok() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10_050, "every leased use is spent, and no more");
}

#[tokio::test]
async fn without_shared_counters_a_large_quota_is_leased_from_the_row() {
    let k = keys().await;
    let mut large = request(&k, Caller::Server);
    large.remaining = Some(10_050);
    large.rate_limit_enabled = Some(false);
    let (key, stored) = create(&k, large).await;
    k.keys.verify(&k.auth, &key, None).await.expect("first use");
    let row = k.repo.find(&stored.id).await.expect("read").expect("key");
    assert_eq!(
        row.remaining,
        Some(10_050 - 16),
        "one reservation of a first block (16 uses) from the row"
    );
    let mut allowed = 1;
    for _ in 0..10_100 {
        if k.keys.verify(&k.auth, &key, None).await.is_ok() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10_050);
    assert_eq!(
        k.repo.find(&stored.id).await.expect("read"),
        None,
        "the spent key is deleted"
    );
}

/// A key with a quota of a million uses and no rate limit (spent from leases), used once.
async fn leased_key() -> (Keys, String, ApiKey) {
    let k = keys().await;
    let mut large = request(&k, Caller::Server);
    large.remaining = Some(1_000_000);
    large.rate_limit_enabled = Some(false);
    let (key, stored) = create(&k, large).await;
    k.keys.verify(&k.auth, &key, None).await.expect("first use");
    (k, key, stored)
}

#[tokio::test]
async fn uses_that_find_the_lease_empty_wait_for_the_block_in_flight_instead_of_each_writing_one() {
    let (k, key, stored) = leased_key().await;
    assert_eq!(k.repo.reservations(), 1, "a first block of 16");
    // 300 uses at once: each reservation yields, as a database's round trip does, so many
    // uses find the lease empty while a block is on its way.
    let uses = (0..300).map(|_| k.keys.verify(&k.auth, &key, None));
    let results = futures_util::future::join_all(uses).await;
    assert!(results.iter().all(Result::is_ok));
    let reservations = k.repo.reservations();
    assert!(
        reservations < 10,
        "blocks of growing size, not one write per use: {reservations} reservations"
    );
    let row = k.repo.find(&stored.id).await.expect("read").expect("key");
    let reserved = 1_000_000 - row.remaining.expect("a quota");
    assert!(
        reserved >= 301,
        "every use was reserved from the row: {reserved}"
    );
}

#[tokio::test]
async fn when_the_block_in_flight_fails_the_uses_waiting_for_it_stop_waiting_and_nothing_is_overspent()
 {
    let (k, key, _) = leased_key().await;
    assert_eq!(k.repo.block_reservations(), 1, "a first block of 16");
    k.repo.fail_reservations(true);
    let uses = (0..300).map(|_| k.keys.verify(&k.auth, &key, None));
    let results = futures_util::future::join_all(uses).await;
    let allowed = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(allowed, 15, "what was left of the first block, and no more");
    assert!(
        results
            .iter()
            .filter_map(|result| result.as_ref().err())
            .all(|error| matches!(error, AuthError::Unavailable(_)))
    );
    // The block reserved ahead fails; its waiters stop waiting, one of them tries a block
    // again, and the others count alone (and fail): not a queue of failing blocks.
    let blocks = k.repo.block_reservations();
    assert!(blocks <= 3, "{blocks} block reservations");
}

#[tokio::test]
async fn control_characters_in_a_name_or_a_key_id_are_refused_before_the_store() {
    let k = keys().await;
    let mut named = request(&k, Caller::Client);
    named.name = Some("a\u{0}b".to_owned());
    assert_eq!(
        code(k.keys.create(&k.auth, named).await),
        Some("VALIDATION_ERROR")
    );
    assert_eq!(
        code(k.keys.get(&k.auth, &k.user, "\u{0}", None).await),
        Some("KEY_NOT_FOUND")
    );
}

#[tokio::test]
async fn an_expired_copy_in_memory_does_not_delete_a_key_extended_meanwhile() {
    let k = keys_with(|config| {
        config.rate_limit.enabled = false;
        config.cache_ttl = Duration::minutes(1);
    })
    .await;
    let mut dated = request(&k, Caller::Client);
    dated.expires_in = Some(86_400);
    let (key, stored) = create(&k, dated).await;
    k.clock.advance(Duration::days(1) - Duration::seconds(10));
    k.keys.verify(&k.auth, &key, None).await.expect("cached");
    // Extended by another instance whose message never arrived.
    let mut extended = k.repo.find(&stored.id).await.expect("read").expect("key");
    extended.expires_at = Some(k.clock.now() + Duration::days(30));
    k.repo.update(&extended).await.expect("extended");
    k.clock.advance(Duration::seconds(20));
    assert_eq!(
        code(k.keys.verify(&k.auth, &key, None).await),
        Some("KEY_EXPIRED"),
        "the stale copy refuses this once"
    );
    assert!(
        k.repo.find(&stored.id).await.expect("read").is_some(),
        "but the row decides: the key stays"
    );
    assert!(
        k.keys.verify(&k.auth, &key, None).await.is_ok(),
        "and the next use reads it"
    );
}
