//! The sliding-window log in Redis (a sorted set per key): one Lua script, one round trip,
//! atomic per key.

use std::time::Duration as StdDuration;

use auth_ports::{PortError, RateLimitDecision, RateLimitRule, RateLimiter};
use deadpool_redis::redis::Script;
use deadpool_redis::{Config, Pool, Runtime, Timeouts};
use time::{Duration, OffsetDateTime};

use crate::memory::millis;

/// How to reach Redis. `Debug` leaves the URL out: it may hold a password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://host:port`.
    pub url: String,
    /// Key prefix (`<prefix>:rl:<key>`), so several deployments can share one Redis.
    pub prefix: String,
    /// Longest wait for a connection or an answer.
    pub timeout: StdDuration,
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A connection pool whose waits are bounded by `config.timeout`.
///
/// # Errors
/// `PortError::Internal` for a malformed URL (connections are made lazily).
pub fn redis_pool(config: &RedisConfig) -> Result<Pool, PortError> {
    let mut pool_config = Config::from_url(config.url.clone());
    let mut settings = deadpool_redis::PoolConfig::new(16);
    settings.timeouts = Timeouts {
        wait: Some(config.timeout),
        create: Some(config.timeout),
        recycle: Some(config.timeout),
    };
    pool_config.pool = Some(settings);
    pool_config
        .create_pool(Some(Runtime::Tokio1))
        .map_err(|error| PortError::internal(error.to_string()))
}

/// Drops the times that left the window and answers the wait when the log is full; the
/// scripts below go on from there.
const TEST: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= max then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
";

/// [`TEST`], then the request is counted.
const COUNT: &str = r"
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 0
";

/// Distinguishes members added in the same millisecond.
static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Rate limits shared by every instance through Redis.
#[derive(Clone)]
pub struct RedisRateLimiter {
    pool: Pool,
    prefix: String,
    timeout: StdDuration,
    script: Script,
    peek_script: Script,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRateLimiter")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// A limiter on this pool.
    #[must_use]
    pub fn new(pool: Pool, config: &RedisConfig) -> Self {
        Self {
            pool,
            prefix: config.prefix.clone(),
            timeout: config.timeout,
            script: Script::new(&format!("{TEST}{COUNT}")),
            peek_script: Script::new(&format!("{TEST}return 0")),
        }
    }

    async fn run(
        &self,
        script: &Script,
        key: &str,
        rule: RateLimitRule,
        now: OffsetDateTime,
    ) -> Result<i64, PortError> {
        let mut connection = self
            .pool
            .get()
            .await
            .map_err(|error| PortError::Unavailable(Box::new(error)))?;
        let window_ms = i64::try_from(rule.window.whole_milliseconds()).unwrap_or(i64::MAX);
        let sequence = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let member = format!("{}-{}-{sequence}", millis(now), std::process::id());
        let retry_after: i64 = script
            .key(format!("{}:rl:{key}", self.prefix))
            .arg(millis(now))
            .arg(window_ms)
            .arg(rule.max)
            .arg(member)
            .invoke_async(&mut connection)
            .await
            .map_err(|error| PortError::Unavailable(Box::new(error)))?;
        Ok(retry_after)
    }
}

#[async_trait::async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check(
        &self,
        key: &str,
        rule: RateLimitRule,
        now: OffsetDateTime,
    ) -> Result<RateLimitDecision, PortError> {
        self.decide(&self.script, key, rule, now).await
    }

    async fn peek(
        &self,
        key: &str,
        rule: RateLimitRule,
        now: OffsetDateTime,
    ) -> Result<RateLimitDecision, PortError> {
        self.decide(&self.peek_script, key, rule, now).await
    }
}

impl RedisRateLimiter {
    /// Runs one script within the timeout and reads its answer (0, or the wait in ms).
    async fn decide(
        &self,
        script: &Script,
        key: &str,
        rule: RateLimitRule,
        now: OffsetDateTime,
    ) -> Result<RateLimitDecision, PortError> {
        let result = tokio::time::timeout(self.timeout, self.run(script, key, rule, now)).await;
        match result {
            Err(_) => Err(PortError::Unavailable(
                "redis did not answer in time".into(),
            )),
            Ok(Err(error)) => Err(error),
            Ok(Ok(0)) => Ok(RateLimitDecision::Allowed),
            Ok(Ok(retry_after_ms)) => Ok(RateLimitDecision::Limited {
                retry_after: Duration::milliseconds(retry_after_ms),
            }),
        }
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_output_leaves_the_url_and_its_password_out() {
        let config = RedisConfig {
            url: "redis://:hunter2@cache:6379".to_owned(),
            prefix: "auth".to_owned(),
            timeout: StdDuration::from_millis(250),
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("auth"), "{printed}");
    }
}
