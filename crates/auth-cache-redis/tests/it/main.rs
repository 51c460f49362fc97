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
    };
    (session, user)
}

fn config(url: Option<String>, prefix: &str) -> CacheConfig {
    CacheConfig {
        redis_url: url,
        prefix: prefix.to_owned(),
        ..CacheConfig::default()
    }
}

async fn redis_cache(prefix: &str) -> Option<LayeredSessionCache> {
    let cache = LayeredSessionCache::start(&config(Some(redis_url()), prefix)).expect("cache");
    let probe = SessionToken::new("probe".to_owned());
    match cache.get(&probe).await {
        Ok(_) => Some(cache),
        Err(error) => {
            assert!(
                !services_required(),
                "Redis at {} is required: {error}",
                redis_url()
            );
            eprintln!("skipped: Redis does not answer ({error})");
            None
        }
    }
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
    cache.put(&a, &user).await.expect("put");
    cache.put(&b, &user).await.expect("put");
    assert_eq!(
        cache.get(&a.token).await.expect("get"),
        Some((a.clone(), user.clone()))
    );
    cache.invalidate(&a.token).await.expect("invalidate");
    assert_eq!(cache.get(&a.token).await.expect("get"), None);
    cache
        .invalidate_user(&user.id)
        .await
        .expect("invalidate user");
    assert_eq!(cache.get(&b.token).await.expect("get"), None);
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
    first.put(&session, &user).await.expect("put");
    assert_eq!(
        second.get(&session.token).await.expect("get"),
        Some((session.clone(), user.clone())),
        "from L2"
    );
    // Now in the second instance's L1 too; an invalidation on the first must reach it.
    first.invalidate(&session.token).await.expect("invalidate");
    assert!(eventually(async || second.get(&session.token).await.expect("get").is_none()).await);

    let (other, user) = lookup("by-user", "u3");
    first.put(&other, &user).await.expect("put");
    assert!(second.get(&other.token).await.expect("get").is_some());
    first
        .invalidate_user(&user.id)
        .await
        .expect("invalidate user");
    assert!(eventually(async || second.get(&other.token).await.expect("get").is_none()).await);
}

#[tokio::test]
async fn redis_down_reports_unavailable_then_works_again_when_it_is_back() {
    let prefix = unique_prefix();
    if redis_cache(&prefix).await.is_none() {
        return;
    }
    let target: std::net::SocketAddr = redis_url()
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .parse()
        .expect("host:port");
    let proxy = TcpProxy::start(target).await.expect("proxy");
    let cache = LayeredSessionCache::start(&config(
        Some(format!("redis://127.0.0.1:{}", proxy.port())),
        &prefix,
    ))
    .expect("cache");
    let (session, user) = lookup("outage", "u4");
    proxy.down();
    assert!(
        cache.put(&session, &user).await.is_err(),
        "the Redis write fails"
    );
    assert!(
        cache
            .get(&session.token)
            .await
            .expect("L1 still answers")
            .is_some()
    );
    let unknown = SessionToken::new("never-cached".to_owned());
    let started = std::time::Instant::now();
    let _ = cache.get(&unknown).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded by the timeout"
    );

    proxy.up();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (later, user) = lookup("after", "u5");
    assert!(
        eventually(async || cache.put(&later, &user).await.is_ok()).await,
        "Redis is used again"
    );
    let reader = redis_cache(&prefix).await.expect("reader");
    assert!(
        reader.get(&later.token).await.expect("get").is_some(),
        "written to Redis"
    );
}
