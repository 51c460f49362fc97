//! auth-ratelimit: the rate-limit stores: a sliding-window log in memory (one instance) and in
//! Redis (shared by every instance, one atomic Lua call per check), and a fallback that keeps limiting in memory
//! while Redis is down.
//! Depends on: auth-ports, deadpool-redis, tokio (timeouts).
//! Must not depend on: sea-orm, poem, auth-core.
//! Invariant: a refused request is never counted; a check never waits on Redis longer than its
//! timeout.

mod fallback;
mod memory;
mod redis;
mod window;

pub use fallback::FallbackLimiter;
pub use memory::{DEFAULT_MAX_KEYS, MemoryRateLimiter};
pub use redis::{RedisConfig, RedisRateLimiter, redis_pool};

/// Creates the series of the Redis limiter's fallback at zero (`auth_ratelimit_fallback_total`,
/// `auth_redis_errors_total{component="ratelimit"}`), so that a deployment with Redis shows
/// them from the first scrape. Call it once the metrics recorder is installed.
pub fn register_metrics() {
    metrics::counter!("auth_ratelimit_fallback_total").increment(0);
    metrics::counter!("auth_redis_errors_total", "component" => "ratelimit").increment(0);
}
