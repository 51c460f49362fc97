//! auth-ratelimit against real Redis (a unique key prefix per test) and in memory.
//! Must not depend on: mocks; these tests use a real Redis.
#![allow(clippy::expect_used, clippy::print_stderr, reason = "test binary")]

use std::sync::Arc;
use std::time::Duration as StdDuration;

use auth_ports::{RateLimitDecision, RateLimitRule, RateLimiter};
use auth_ratelimit::{
    FallbackLimiter, MemoryRateLimiter, RedisConfig, RedisRateLimiter, redis_pool,
};
use auth_testkit::TcpProxy;
use auth_testkit::services::{redis_url, services_required, unique_prefix};
use time::{Duration, OffsetDateTime, macros::datetime};

const T0: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);
const RULE: RateLimitRule = RateLimitRule {
    window: Duration::minutes(15),
    max: 5,
};

fn config(url: String, prefix: &str) -> RedisConfig {
    RedisConfig {
        url,
        prefix: prefix.to_owned(),
        timeout: StdDuration::from_millis(300),
    }
}

/// A limiter on the test Redis, or `None` (skip) when it does not answer outside CI.
async fn redis_limiter(prefix: &str) -> Option<RedisRateLimiter> {
    let config = config(redis_url(), prefix);
    let limiter = RedisRateLimiter::new(redis_pool(&config).expect("pool"), &config);
    match limiter.check("probe", RULE, T0).await {
        Ok(_) => Some(limiter),
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

async fn burst_then_limit(limiter: &dyn RateLimiter, key: &str) {
    // Peeking counts nothing, however often.
    for _ in 0..10 {
        assert_eq!(
            limiter.peek(key, RULE, T0).await.expect("peek"),
            RateLimitDecision::Allowed
        );
    }
    for n in 0..5 {
        assert_eq!(
            limiter.check(key, RULE, T0).await.expect("check"),
            RateLimitDecision::Allowed,
            "request {n}"
        );
    }
    let refused = limiter
        .check(key, RULE, T0 + Duration::minutes(1))
        .await
        .expect("check");
    assert_eq!(
        refused,
        RateLimitDecision::Limited {
            retry_after: Duration::minutes(14)
        }
    );
    assert_eq!(
        limiter
            .peek(key, RULE, T0 + Duration::minutes(1))
            .await
            .expect("peek"),
        refused,
        "a peek sees the same refusal"
    );
    let edge = limiter
        .check(
            key,
            RULE,
            T0 + Duration::minutes(15) - Duration::milliseconds(1),
        )
        .await;
    assert_eq!(
        edge.expect("check"),
        RateLimitDecision::Limited {
            retry_after: Duration::milliseconds(1)
        }
    );
    // Refusals were not counted: once the burst leaves the window, five more are allowed.
    for n in 0..5 {
        let next = limiter
            .check(key, RULE, T0 + Duration::minutes(15))
            .await
            .expect("check");
        assert_eq!(
            next,
            RateLimitDecision::Allowed,
            "after the window, request {n}"
        );
    }
    let again = limiter
        .check(key, RULE, T0 + Duration::minutes(15))
        .await
        .expect("check");
    assert!(matches!(again, RateLimitDecision::Limited { .. }));
}

#[tokio::test]
async fn memory_limits_exactly_at_the_window_edge() {
    burst_then_limit(&MemoryRateLimiter::new(), "client-a").await;
}

#[tokio::test]
async fn redis_limits_exactly_at_the_window_edge() {
    let Some(limiter) = redis_limiter(&unique_prefix()).await else {
        return;
    };
    burst_then_limit(&limiter, "client-a").await;
}

#[tokio::test]
async fn two_redis_limiters_with_one_prefix_share_the_count() {
    let prefix = unique_prefix();
    let Some(first) = redis_limiter(&prefix).await else {
        return;
    };
    let second = redis_limiter(&prefix).await.expect("second");
    for _ in 0..3 {
        assert_eq!(
            first.check("shared", RULE, T0).await.expect("check"),
            RateLimitDecision::Allowed
        );
    }
    for _ in 0..2 {
        assert_eq!(
            second.check("shared", RULE, T0).await.expect("check"),
            RateLimitDecision::Allowed
        );
    }
    assert!(matches!(
        first.check("shared", RULE, T0).await.expect("check"),
        RateLimitDecision::Limited { .. }
    ));
}

async fn concurrent_checks_allow_exactly_max(limiter: Arc<dyn RateLimiter>) {
    let rule = RateLimitRule {
        window: Duration::minutes(1),
        max: 10,
    };
    let tasks: Vec<_> = (0..60)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.check("racing", rule, T0).await.expect("check") })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        if task.await.expect("join") == RateLimitDecision::Allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_never_exceed_the_limit_in_memory_or_redis() {
    concurrent_checks_allow_exactly_max(Arc::new(MemoryRateLimiter::new())).await;
    if let Some(redis) = redis_limiter(&unique_prefix()).await {
        concurrent_checks_allow_exactly_max(Arc::new(redis)).await;
    }
}

#[tokio::test]
async fn a_dead_redis_reports_unavailable_within_the_timeout() {
    let config = config("redis://127.0.0.1:1".to_owned(), "dead");
    let limiter = RedisRateLimiter::new(redis_pool(&config).expect("pool"), &config);
    let started = std::time::Instant::now();
    assert!(limiter.check("k", RULE, T0).await.is_err());
    assert!(started.elapsed() < StdDuration::from_secs(3));
}

#[tokio::test]
async fn the_fallback_limits_in_memory_while_redis_is_down_and_returns_to_redis() {
    let prefix = unique_prefix();
    let Some(direct) = redis_limiter(&prefix).await else {
        return;
    };
    let target = redis_url()
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let target: std::net::SocketAddr = target.parse().expect("redis host:port");
    let proxy = TcpProxy::start(target).await.expect("proxy");
    let proxied = config(format!("redis://127.0.0.1:{}", proxy.port()), &prefix);
    let limiter = FallbackLimiter::new(
        RedisRateLimiter::new(redis_pool(&proxied).expect("pool"), &proxied),
        MemoryRateLimiter::new(),
    );

    assert_eq!(
        limiter.check("fb", RULE, T0).await.expect("check"),
        RateLimitDecision::Allowed
    );
    proxy.down();
    // Redis is gone: still limited, now in memory (five fresh slots there).
    for _ in 0..5 {
        assert_eq!(
            limiter.check("fb", RULE, T0).await.expect("check"),
            RateLimitDecision::Allowed
        );
    }
    assert!(matches!(
        limiter.check("fb", RULE, T0).await.expect("check"),
        RateLimitDecision::Limited { .. }
    ));

    proxy.up();
    tokio::time::sleep(StdDuration::from_millis(600)).await;
    // Back on Redis: the count there continues from the one request made before the outage.
    for _ in 0..4 {
        assert_eq!(
            limiter.check("fb", RULE, T0).await.expect("check"),
            RateLimitDecision::Allowed
        );
    }
    assert!(matches!(
        direct.check("fb", RULE, T0).await.expect("check"),
        RateLimitDecision::Limited { .. }
    ));
}
