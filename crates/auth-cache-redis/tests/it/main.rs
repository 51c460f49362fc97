//! auth-cache-redis against a real Redis (a unique prefix per test).
//! Must not depend on: mocks; these tests use a real Redis.
#![allow(clippy::expect_used, clippy::print_stderr, reason = "test binary")]

use std::time::Duration;

use auth_cache_redis::{CacheConfig, LayeredSessionCache};
use auth_domain::{Email, Session, SessionId, SessionToken, User, UserId};
use auth_ports::SessionCache;
use auth_testkit::TcpProxy;
use auth_testkit::services::{redis_url, services_required, unique_prefix};
use time::OffsetDateTime;

#[expect(
    clippy::disallowed_methods,
    reason = "fixtures expire relative to real time, as Redis TTLs do"
)]
fn lookup(tag: &str, user: &str) -> (Session, User) {
    let now = OffsetDateTime::now_utc();
    let now = now
        .replace_millisecond(now.millisecond())
        .expect("ms precision, as stored");
    let user = User {
        id: UserId::new(user),
        name: "Cached".to_owned(),
        email: Email::from_trusted(format!("{user}@example.com")),
        email_verified: false,
        two_factor_enabled: false,
        image: None,
        created_at: now,
        updated_at: now,
        fields: Default::default(),
    };
    let session = Session {
        id: SessionId::new(format!("session-{tag}")),
        token: SessionToken::new(format!("token-{tag}")),
        user_id: user.id.clone(),
        expires_at: now + time::Duration::days(7),
        created_at: now,
        updated_at: now,
        ip_address: Some(String::new()),
        user_agent: None,
        fields: Default::default(),
    };
    (session, user)
}

const SECRET: &[u8] = b"cache-test-secret-0123456789abcdefghij";

fn config(url: Option<String>, prefix: &str) -> CacheConfig {
    CacheConfig {
        redis_url: url,
        prefix: prefix.to_owned(),
        secret: SECRET.to_vec(),
        ..CacheConfig::default()
    }
}

fn redis_address() -> std::net::SocketAddr {
    redis_url()
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .parse()
        .expect("host:port")
}

async fn redis_cache(prefix: &str) -> Option<LayeredSessionCache> {
    if let Err(error) = tokio::net::TcpStream::connect(redis_address()).await {
        assert!(
            !services_required(),
            "Redis at {} is required: {error}",
            redis_url()
        );
        eprintln!("skipped: Redis does not answer ({error})");
        return None;
    }
    Some(LayeredSessionCache::start(&config(Some(redis_url()), prefix)).expect("cache"))
}

/// A plain connection to the test Redis, to look at and tamper with what the cache wrote.
async fn raw_redis() -> deadpool_redis::redis::aio::MultiplexedConnection {
    deadpool_redis::redis::Client::open(redis_url())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("connection")
}

/// The Redis key of a session's entry.
fn entry_key(prefix: &str, token: &SessionToken) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(token.expose().as_bytes());
    format!(
        "{prefix}:sess:{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    )
}

/// Lets a new cache's invalidation listener subscribe: a fill whose lookup came before the
/// subscription is dropped (messages could have been missed until then).
async fn subscribed() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Looks the session up (a miss) and caches it with that lookup's ticket, as a read-through does.
async fn fill(cache: &LayeredSessionCache, session: &Session, user: &User) {
    let ticket = cache.get(&session.token).await.expect("get").ticket;
    cache.put(session, user, ticket).await.expect("put");
}

async fn found(cache: &LayeredSessionCache, token: &SessionToken) -> Option<(Session, User)> {
    cache.get(token).await.expect("get").found
}

/// Polls until `check` holds or two seconds pass.
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    for _ in 0..40 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn the_memory_layer_alone_stores_and_invalidates_by_token_and_by_user() {
    let cache = LayeredSessionCache::start(&config(None, "mem")).expect("cache");
    let (a, user) = lookup("a", "u1");
    let (b, _) = lookup("b", "u1");
    fill(&cache, &a, &user).await;
    fill(&cache, &b, &user).await;
    assert_eq!(
        found(&cache, &a.token).await,
        Some((a.clone(), user.clone()))
    );
    cache.invalidate(&a.token).await.expect("invalidate");
    assert_eq!(found(&cache, &a.token).await, None);
    cache
        .invalidate_user(&user.id)
        .await
        .expect("invalidate user");
    assert_eq!(found(&cache, &b.token).await, None);
}

#[tokio::test]
async fn one_lookup_reads_a_hot_entry_again_ahead_of_its_expiry_while_the_others_keep_it() {
    let cache = LayeredSessionCache::start(&CacheConfig {
        l1_ttl: Duration::from_millis(2_000),
        ..config(None, "refresh")
    })
    .expect("cache");
    let (session, user) = lookup("refresh", "u-refresh");
    fill(&cache, &session, &user).await;
    assert!(found(&cache, &session.token).await.is_some(), "fresh");
    // Three quarters of the TTL.
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let first = cache.get(&session.token).await.expect("get");
    assert_eq!(
        first.found, None,
        "the first lookup past them reads the store"
    );
    for _ in 0..3 {
        assert!(
            found(&cache, &session.token).await.is_some(),
            "the others keep the entry"
        );
    }
    // What the store answered replaces the entry, for a TTL of its own.
    let mut renamed = user.clone();
    renamed.name = "Renamed".to_owned();
    cache
        .put(&session, &renamed, first.ticket)
        .await
        .expect("put");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let again = found(&cache, &session.token).await;
    assert_eq!(
        again.map(|(_, user)| user.name),
        Some("Renamed".to_owned()),
        "past the first fill's TTL, the refreshed entry"
    );
}

#[tokio::test]
async fn with_redis_the_lookup_that_refreshes_a_hot_entry_reads_redis_before_the_store() {
    let prefix = unique_prefix();
    if redis_cache(&prefix).await.is_none() {
        return;
    }
    let cache = LayeredSessionCache::start(&CacheConfig {
        l1_ttl: Duration::from_millis(2_000),
        ..config(Some(redis_url()), &prefix)
    })
    .expect("cache");
    subscribed().await;
    let (session, user) = lookup("refresh-l2", "u-refresh-l2");
    fill(&cache, &session, &user).await;
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let refreshed = cache.get(&session.token).await.expect("get");
    assert!(refreshed.shared, "answered by Redis");
    assert_eq!(refreshed.found, Some((session.clone(), user.clone())));
    // Redis's answer is the entry in process again, for a TTL of its own.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let again = cache.get(&session.token).await.expect("get");
    assert!(!again.shared && again.found.is_some(), "from the process");
}

#[tokio::test]
async fn a_second_instance_reads_through_redis_and_sees_invalidations_at_once() {
    let prefix = unique_prefix();
    let Some(first) = redis_cache(&prefix).await else {
        return;
    };
    let second = redis_cache(&prefix).await.expect("second");
    tokio::time::sleep(Duration::from_millis(200)).await; // listeners subscribed
    let (session, user) = lookup("shared", "u2");
    fill(&first, &session, &user).await;
    assert_eq!(
        found(&second, &session.token).await,
        Some((session.clone(), user.clone())),
        "from L2"
    );
    // Now in the second instance's L1 too; an invalidation on the first must reach it.
    first.invalidate(&session.token).await.expect("invalidate");
    assert!(eventually(async || found(&second, &session.token).await.is_none()).await);

    let (other, user) = lookup("by-user", "u3");
    fill(&first, &other, &user).await;
    assert!(found(&second, &other.token).await.is_some());
    first
        .invalidate_user(&user.id)
        .await
        .expect("invalidate user");
    assert!(eventually(async || found(&second, &other.token).await.is_none()).await);
}

#[tokio::test]
async fn every_lookup_is_counted_by_layer_and_result_on_the_series_taken_at_the_start() {
    let prefix = unique_prefix();
    if redis_cache(&prefix).await.is_none() {
        return;
    }
    let recorder = auth_testkit::metrics::CountingRecorder::default();
    let (first, second) = metrics::with_local_recorder(&recorder, || {
        let start = || LayeredSessionCache::start(&config(Some(redis_url()), &prefix));
        (start().expect("cache"), start().expect("cache"))
    });
    assert_eq!(recorder.registered(), 8, "each cache's four series");
    subscribed().await;
    let (session, user) = lookup("counted", "u9");
    // The first misses in both layers, then is filled; the second finds it in Redis, then in
    // its own memory.
    fill(&first, &session, &user).await;
    assert!(found(&second, &session.token).await.is_some());
    assert!(found(&second, &session.token).await.is_some());
    let total = |layer: &str, result: &str| {
        recorder.total(&format!(
            "auth_cache_requests_total{{layer={layer},result={result}}}"
        ))
    };
    assert_eq!(
        [
            total("l1", "miss"),
            total("l1", "hit"),
            total("l2", "miss"),
            total("l2", "hit")
        ],
        [2, 1, 1, 1]
    );
    assert_eq!(recorder.registered(), 8, "counted on the kept series");
    let memory_only = metrics::with_local_recorder(&recorder, || {
        LayeredSessionCache::start(&config(None, &prefix)).expect("cache")
    });
    assert_eq!(recorder.registered(), 10, "no Redis, no `l2` series");
    assert!(found(&memory_only, &session.token).await.is_none());
    assert_eq!(total("l1", "miss"), 3);
}

#[tokio::test]
async fn redis_down_serves_from_memory_then_redis_is_used_again_when_it_is_back() {
    let prefix = unique_prefix();
    if redis_cache(&prefix).await.is_none() {
        return;
    }
    let proxy = TcpProxy::start(redis_address()).await.expect("proxy");
    let cache = LayeredSessionCache::start(&config(
        Some(format!("redis://127.0.0.1:{}", proxy.port())),
        &prefix,
    ))
    .expect("cache");
    let (session, user) = lookup("outage", "u4");
    proxy.down();
    let started = std::time::Instant::now();
    fill(&cache, &session, &user).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded by the timeout"
    );
    assert!(
        found(&cache, &session.token).await.is_some(),
        "L1 still answers"
    );

    proxy.up();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (later, user) = lookup("after", "u5");
    let reader = redis_cache(&prefix).await.expect("reader");
    assert!(
        eventually(async || {
            fill(&cache, &later, &user).await;
            found(&reader, &later.token).await.is_some()
        })
        .await,
        "Redis is used again"
    );
}

#[tokio::test]
async fn a_fill_that_read_a_session_before_its_revocation_is_never_cached() {
    let prefix = unique_prefix();
    let Some(filler) = redis_cache(&prefix).await else {
        return;
    };
    let other = redis_cache(&prefix).await.expect("other");
    let (session, user) = lookup("race", "u6");
    // The filler misses and reads the store (the session is valid then)...
    let ticket = filler.get(&session.token).await.expect("get").ticket;
    // ...the session is revoked meanwhile, on another instance...
    other.invalidate(&session.token).await.expect("invalidate");
    // ...and only then does the fill arrive: it must not bring the session back.
    filler.put(&session, &user, ticket).await.expect("put");
    assert_eq!(found(&filler, &session.token).await, None, "not in L1");
    let fresh = redis_cache(&prefix).await.expect("fresh");
    assert_eq!(found(&fresh, &session.token).await, None, "not in Redis");

    // The same for a user-wide invalidation (change-password, update-user).
    let (second, user) = lookup("race-user", "u7");
    let ticket = filler.get(&second.token).await.expect("get").ticket;
    other.invalidate_user(&user.id).await.expect("invalidate");
    filler.put(&second, &user, ticket).await.expect("put");
    assert_eq!(found(&fresh, &second.token).await, None, "not in Redis");
    // A lookup made after the invalidation (in a later millisecond of Redis's clock: a lookup in
    // the same millisecond counts as older) fills as usual.
    tokio::time::sleep(Duration::from_millis(5)).await;
    fill(&filler, &second, &user).await;
    assert!(found(&fresh, &second.token).await.is_some());
}

#[tokio::test]
async fn in_process_a_fill_older_than_an_invalidation_is_dropped() {
    let cache = LayeredSessionCache::start(&config(None, "mem-race")).expect("cache");
    let (session, user) = lookup("local-race", "u8");
    let ticket = cache.get(&session.token).await.expect("get").ticket;
    cache.invalidate(&session.token).await.expect("invalidate");
    cache.put(&session, &user, ticket).await.expect("put");
    assert_eq!(found(&cache, &session.token).await, None);
}

#[tokio::test]
async fn an_entry_planted_or_moved_in_redis_is_not_trusted() {
    use deadpool_redis::redis::AsyncCommands as _;
    let prefix = unique_prefix();
    let Some(writer) = redis_cache(&prefix).await else {
        return;
    };
    let mut redis = raw_redis().await;
    let (victim, user) = lookup("victim", "victim-user");
    subscribed().await;
    fill(&writer, &victim, &user).await;
    let sealed: String = redis
        .get(entry_key(&prefix, &victim.token))
        .await
        .expect("the entry was written");
    // The attacker knows a token T of their own choosing and plants the victim's entry under
    // T's key (moved), or an entry they wrote themselves (unsealed JSON).
    let chosen = SessionToken::new("attacker-chosen-token".to_owned());
    let reader = redis_cache(&prefix).await.expect("reader");
    let _: () = redis
        .set(entry_key(&prefix, &chosen), &sealed)
        .await
        .expect("plant");
    assert_eq!(found(&reader, &chosen).await, None, "a moved entry");
    let json = sealed.splitn(3, '.').nth(2).expect("json part").to_owned();
    let _: () = redis
        .set(entry_key(&prefix, &chosen), json)
        .await
        .expect("plant");
    assert_eq!(found(&reader, &chosen).await, None, "an unsealed entry");
    // Another deployment's secret does not seal for this one.
    let foreign = LayeredSessionCache::start(&CacheConfig {
        secret: b"another-deployment-secret-0123456789".to_vec(),
        ..config(Some(redis_url()), &prefix)
    })
    .expect("cache");
    assert_eq!(found(&foreign, &victim.token).await, None);
    assert!(
        found(&reader, &victim.token).await.is_some(),
        "the real one"
    );
}

#[tokio::test]
async fn an_entry_written_back_after_its_lifetime_is_not_served() {
    use deadpool_redis::redis::AsyncCommands as _;
    let prefix = unique_prefix();
    if redis_cache(&prefix).await.is_none() {
        return;
    }
    let short = CacheConfig {
        l2_ttl: Duration::from_secs(1),
        ..config(Some(redis_url()), &prefix)
    };
    let writer = LayeredSessionCache::start(&short).expect("cache");
    let (session, user) = lookup("replay", "u9");
    subscribed().await;
    fill(&writer, &session, &user).await;
    let mut redis = raw_redis().await;
    let key = entry_key(&prefix, &session.token);
    let sealed: String = redis.get(&key).await.expect("written");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    // Replayed without a TTL by someone who can write to Redis.
    let _: () = redis.set(&key, sealed).await.expect("replay");
    let reader = LayeredSessionCache::start(&short).expect("cache");
    assert_eq!(found(&reader, &session.token).await, None);
}

#[tokio::test]
async fn an_invalidation_that_cannot_reach_redis_is_retried_until_it_does() {
    let prefix = unique_prefix();
    let Some(reader) = redis_cache(&prefix).await else {
        return;
    };
    let proxy = TcpProxy::start(redis_address()).await.expect("proxy");
    let cache = LayeredSessionCache::start(&config(
        Some(format!("redis://127.0.0.1:{}", proxy.port())),
        &prefix,
    ))
    .expect("cache");
    let (session, user) = lookup("retry", "u10");
    subscribed().await;
    fill(&cache, &session, &user).await;
    assert!(found(&reader, &session.token).await.is_some());
    proxy.down();
    assert!(cache.invalidate(&session.token).await.is_err());
    assert_eq!(cache.pending_invalidations(), 1);
    assert_eq!(
        found(&cache, &session.token).await,
        None,
        "gone locally at once"
    );
    proxy.up();
    assert!(
        eventually(async || cache.pending_invalidations() == 0).await,
        "retried once Redis answers"
    );
    let fresh = redis_cache(&prefix).await.expect("fresh");
    assert_eq!(found(&fresh, &session.token).await, None, "gone from Redis");
}

#[tokio::test]
async fn redis_key_counters_pass_the_key_counters_suite() {
    let Some(pool) = redis_pool().await else {
        return;
    };
    let counters =
        auth_cache_redis::RedisKeyCounters::new(pool, &unique_prefix(), Duration::from_secs(2));
    auth_testkit::conformance::run_key_counters_suite(&counters).await;
}

async fn redis_pool() -> Option<deadpool_redis::Pool> {
    let url = redis_url();
    let pool = deadpool_redis::Config::from_url(url.as_str())
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .expect("pool");
    if pool.get().await.is_err() {
        assert!(!services_required(), "Redis is required");
        eprintln!("skipped: Redis does not answer at {url}");
        return None;
    }
    Some(pool)
}

#[tokio::test]
async fn connection_slots_hold_the_limit_under_parallel_upgrades_evict_the_oldest_and_lapse() {
    use auth_ports::{ConnectionSlots, SlotGrant};

    let Some(pool) = redis_pool().await else {
        return;
    };
    let slots = std::sync::Arc::new(auth_cache_redis::RedisConnectionSlots::new(
        pool,
        &unique_prefix(),
        Duration::from_secs(2),
    ));
    let ttl = Duration::from_secs(30);
    let attempts = (0..20).map(|n| {
        let slots = slots.clone();
        tokio::spawn(async move {
            slots
                .acquire("ada", &format!("s{n}"), 5, false, ttl)
                .await
                .expect("acquire")
        })
    });
    let mut taken = 0;
    for attempt in attempts {
        if let SlotGrant::Taken { evicted } = attempt.await.expect("task") {
            assert_eq!(evicted, None);
            taken += 1;
        }
    }
    assert_eq!(taken, 5, "never more than the limit");
    assert_eq!(
        slots
            .acquire("bob", "b1", 5, false, ttl)
            .await
            .expect("bob"),
        SlotGrant::Taken { evicted: None },
        "another user has slots of their own"
    );

    // Releasing makes room; at the limit, evicting takes the oldest's place.
    slots.release("bob", "b1").await.expect("release");
    slots.acquire("bob", "b1", 1, false, ttl).await.expect("b1");
    assert_eq!(
        slots.acquire("bob", "b2", 1, false, ttl).await.expect("b2"),
        SlotGrant::Full
    );
    assert_eq!(
        slots.acquire("bob", "b2", 1, true, ttl).await.expect("b2"),
        SlotGrant::Taken {
            evicted: Some("b1".to_owned())
        }
    );
    assert!(
        !slots.refresh("bob", "b1", 1, ttl).await.expect("refresh"),
        "the evicted slot's place is taken"
    );
    assert!(slots.refresh("bob", "b2", 1, ttl).await.expect("refresh"));

    // A slot that is not refreshed lapses (its instance died).
    let short = Duration::from_millis(150);
    slots
        .acquire("cy", "c1", 1, false, short)
        .await
        .expect("c1");
    assert_eq!(
        slots
            .acquire("cy", "c2", 1, false, short)
            .await
            .expect("c2"),
        SlotGrant::Full
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        slots.acquire("cy", "c2", 1, false, ttl).await.expect("c2"),
        SlotGrant::Taken { evicted: None }
    );
    assert!(!slots.refresh("cy", "c1", 1, ttl).await.expect("refresh"));

    // A slot that lapsed (its store was unreachable) is taken again while there is room.
    slots
        .acquire("dee", "d1", 2, false, short)
        .await
        .expect("d1");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(slots.refresh("dee", "d1", 2, ttl).await.expect("refresh"));
    slots.acquire("dee", "d2", 2, false, ttl).await.expect("d2");
    assert_eq!(
        slots.acquire("dee", "d3", 2, false, ttl).await.expect("d3"),
        SlotGrant::Full,
        "the slot taken again counts"
    );
    assert!(
        slots
            .refresh("eve", "never-taken", 1, ttl)
            .await
            .expect("refresh"),
        "a socket opened while the store was down takes its slot"
    );
}

#[tokio::test]
async fn connection_slots_report_redis_down_as_unavailable() {
    use auth_ports::{ConnectionSlots, PortError};

    if redis_pool().await.is_none() {
        return;
    }
    let proxy = TcpProxy::start(redis_address()).await.expect("proxy");
    let pool = deadpool_redis::Config::from_url(format!("redis://127.0.0.1:{}", proxy.port()))
        .create_pool(Some(deadpool_redis::Runtime::Tokio1))
        .expect("pool");
    let slots = auth_cache_redis::RedisConnectionSlots::new(
        pool,
        &unique_prefix(),
        Duration::from_millis(300),
    );
    proxy.down();
    let ttl = Duration::from_secs(5);
    assert!(matches!(
        slots.acquire("ada", "s1", 1, false, ttl).await,
        Err(PortError::Unavailable(_))
    ));
    assert!(slots.refresh("ada", "s1", 1, ttl).await.is_err());
    assert!(slots.release("ada", "s1").await.is_err());
}

#[tokio::test]
async fn a_lookup_says_whether_it_was_found_in_redis_or_in_process() {
    let prefix = unique_prefix();
    let (Some(filler), Some(reader)) = (redis_cache(&prefix).await, redis_cache(&prefix).await)
    else {
        return;
    };
    let (session, user) = lookup("layers", "u-layers");
    fill(&filler, &session, &user).await;
    let first = reader.get(&session.token).await.expect("get");
    assert!(first.found.is_some() && first.shared, "found in Redis");
    let again = reader.get(&session.token).await.expect("get");
    assert!(again.found.is_some() && !again.shared, "then in process");
    let missing = reader
        .get(&SessionToken::new("no-such-token".to_owned()))
        .await
        .expect("get");
    assert!(missing.found.is_none() && !missing.shared);
}
