//! The outside services adapter tests use, and the rule for skipping when one is missing.

/// Whether a missing service fails a test instead of skipping it: under CI (any `CI` value but
/// empty, `0` or `false`, the rule `cargo xtask test-all` applies) or with
/// `AUTH_TEST_REQUIRE_SERVICES=1`.
#[must_use]
pub fn services_required() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
        || std::env::var("AUTH_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// The Redis tests use: `AUTH_TEST_REDIS_URL`, else the local default.
#[must_use]
pub fn redis_url() -> String {
    std::env::var("AUTH_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix of its own for each test, so tests sharing one Redis never see each other.
#[must_use]
pub fn unique_prefix() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("test-{}-{nanos}-{n}", std::process::id())
}
