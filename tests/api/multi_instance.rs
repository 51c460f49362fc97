//! Two instances sharing Postgres and Redis: one rate limit, one view of revoked sessions; and
//! Redis going away mid-run.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{ORIGIN, TestApp, base_config, redis_url, start_app};
use auth_store_seaorm::test_db::TestDatabase;
use auth_testkit::TcpProxy;
use auth_testkit::services::unique_prefix;

/// Two apps on one fresh Postgres database and one Redis prefix; `None` when a service is absent.
async fn pair(
    customise: impl Fn(&mut auth_app::AppConfig),
) -> Option<(TestApp, TestApp, TestDatabase)> {
    let redis = redis_url().await?;
    let database = TestDatabase::postgres().await?;
    let prefix = unique_prefix();
    let config = |prefix: &str| {
        let mut config = base_config(&database.url);
        config.redis_url = Some(redis.clone());
        config.redis_prefix = prefix.to_owned();
        customise(&mut config);
        config
    };
    let first = start_app(config(&prefix), None).await;
    let second = start_app(config(&prefix), None).await;
    Some((first, second, database))
}

async fn stop(first: TestApp, second: TestApp, database: TestDatabase) {
    first.stop().await;
    second.stop().await;
    database.cleanup().await;
}

async fn get_session_with(app: &TestApp, cookie: &str) -> Value {
    reqwest::Client::new()
        .get(app.url("/get-session"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn the_sign_in_limit_is_shared_by_two_instances() {
    let Some((first, second, database)) = pair(|config| config.rate_limit_enabled = true).await
    else {
        return;
    };
    for n in 0..5 {
        let app = if n % 2 == 0 { &first } else { &second };
        let response = app
            .sign_in(&format!("shared{n}@example.com"), "wrong-password")
            .await;
        assert_eq!(response.status(), 401, "attempt {n}");
    }
    assert_eq!(
        first
            .sign_in("shared@example.com", "wrong-password")
            .await
            .status(),
        429
    );
    assert_eq!(
        second
            .sign_in("shared@example.com", "wrong-password")
            .await
            .status(),
        429
    );
    stop(first, second, database).await;
}

#[tokio::test]
async fn a_session_revoked_on_one_instance_is_refused_by_the_other_within_the_bound() {
    let Some((first, second, database)) = pair(|_| {}).await else {
        return;
    };
    let response = first.sign_up("revoke@example.com", "password-123").await;
    let line = crate::helpers::set_cookies(&response)
        .into_iter()
        .next()
        .expect("cookie");
    let cookie = line.split(';').next().expect("pair").to_owned();
    // The second instance serves the session and caches it.
    assert_eq!(
        get_session_with(&second, &cookie).await["user"]["email"],
        "revoke@example.com"
    );
    assert_eq!(
        get_session_with(&second, &cookie).await["user"]["email"],
        "revoke@example.com"
    );

    let revoked_at = Instant::now();
    let signed_out = reqwest::Client::new()
        .post(first.url("/sign-out"))
        .header("cookie", &cookie)
        .header("origin", ORIGIN)
        .json(&json!({}))
        .send()
        .await
        .expect("sign-out");
    assert_eq!(signed_out.status(), 200);
    let mut refused = false;
    while revoked_at.elapsed() < Duration::from_secs(2) {
        if get_session_with(&second, &cookie).await == Value::Null {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        refused,
        "the other instance still served the revoked session after 2 s"
    );
    stop(first, second, database).await;
}

#[tokio::test]
async fn sessions_keep_working_while_redis_is_down_and_redis_is_used_again_when_back() {
    let Some(redis) = redis_url().await else {
        return;
    };
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let target = redis
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .parse()
        .expect("host:port");
    let proxy = TcpProxy::start(target).await.expect("proxy");
    let mut config = base_config(&database.url);
    config.redis_url = Some(format!("redis://127.0.0.1:{}", proxy.port()));
    config.redis_prefix = unique_prefix();
    config.rate_limit_enabled = true;
    config.cache_l1_ttl_ms = 200;
    let app = start_app(config, Some(database)).await;
    let errors = |component: &str| format!("auth_redis_errors_total{{component=\"{component}\"}}");
    let mut before = Vec::new();
    for component in [
        "cache",
        "ratelimit",
        "events",
        "api_key_counters",
        "websocket",
    ] {
        before.push(app.metric(&errors(component)).await);
    }
    let fallbacks = app.metric("auth_ratelimit_fallback_total").await;
    assert_eq!(
        app.sign_up("redis-down@example.com", "password-123")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.session().await["user"]["email"],
        "redis-down@example.com"
    );

    proxy.down();
    tokio::time::sleep(Duration::from_millis(300)).await; // past the L1 TTL: reads reach the store
    assert_eq!(
        app.session().await["user"]["email"],
        "redis-down@example.com",
        "served from the database"
    );
    assert_eq!(
        app.sign_in("redis-down@example.com", "password-123")
            .await
            .status(),
        200,
        "limits fall back to memory"
    );
    // Degraded, not unready: an orchestrator keeps routing to this instance.
    let ready = app
        .client
        .get(format!("{}/health/ready", app.address))
        .send()
        .await
        .expect("r");
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(
        ready,
        serde_json::json!({"status": "degraded", "checks": {"database": "ok", "redis": "unavailable"}})
    );

    proxy.up();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        app.session().await["user"]["email"],
        "redis-down@example.com"
    );
    // Every series existed before the outage (at zero or more); the cache and the limiter
    // counted theirs.
    for (component, before) in ["cache", "ratelimit"].into_iter().zip(before) {
        let after = app.metric(&errors(component)).await;
        assert!(after > before, "{component}: {before} -> {after}");
    }
    let fell_back = app.metric("auth_ratelimit_fallback_total").await;
    assert!(fell_back > fallbacks, "{fallbacks} -> {fell_back}");
    app.stop().await;
}
