//! Redis first, memory while Redis is down, and back to Redis by itself.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use auth_ports::{PortError, RateLimitDecision, RateLimitRule, RateLimiter};
use time::OffsetDateTime;

use crate::memory::MemoryRateLimiter;

/// After a Redis failure, checks go to memory for this long before Redis is tried again, so a
/// dead Redis costs one timeout per interval, not one per request. Measured on the monotonic
/// clock: it is about the health of a connection, not about the rules' time.
const RETRY_PRIMARY_AFTER: Duration = Duration::from_millis(500);

/// A primary limiter (Redis) with an in-memory fallback.
pub struct FallbackLimiter<P> {
    primary: P,
    fallback: MemoryRateLimiter,
    skip_primary_until: Mutex<Option<Instant>>,
}

impl<P> FallbackLimiter<P> {
    /// Wraps `primary`.
    pub fn new(primary: P) -> Self {
        Self {
            primary,
            fallback: MemoryRateLimiter::new(),
            skip_primary_until: Mutex::new(None),
        }
    }
}

#[async_trait::async_trait]
impl<P: RateLimiter> RateLimiter for FallbackLimiter<P> {
    async fn check(
        &self,
        key: &str,
        rule: RateLimitRule,
        now: OffsetDateTime,
    ) -> Result<RateLimitDecision, PortError> {
        let skip_until = *self
            .skip_primary_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if skip_until.is_none_or(|until| Instant::now() >= until) {
            match self.primary.check(key, rule, now).await {
                Ok(decision) => return Ok(decision),
                Err(error) => {
                    tracing::warn!(error = %error, "rate limiting falls back to memory: redis unavailable");
                    metrics::counter!("auth_ratelimit_fallback_total").increment(1);
                    metrics::counter!("auth_redis_errors_total", "component" => "ratelimit")
                        .increment(1);
                    let mut skip = self
                        .skip_primary_until
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    *skip = Some(Instant::now() + RETRY_PRIMARY_AFTER);
                }
            }
        }
        Ok(self.fallback.check_now(key, rule, now))
    }
}
