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
    /// Wraps `primary`, with `fallback` for the times it is down.
    pub fn new(primary: P, fallback: MemoryRateLimiter) -> Self {
        Self {
            primary,
            fallback,
            skip_primary_until: Mutex::new(None),
        }
    }
}

/// Which question a check asks.
#[derive(Clone, Copy)]
enum Ask {
    Check,
    Peek,
}

impl<P: RateLimiter> FallbackLimiter<P> {
    async fn ask(
        &self,
        ask: Ask,
        key: &str,
        rule: RateLimitRule,
        now: OffsetDateTime,
    ) -> Result<RateLimitDecision, PortError> {
        let skip_until = *self
            .skip_primary_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if skip_until.is_none_or(|until| Instant::now() >= until) {
            let answer = match ask {
                Ask::Check => self.primary.check(key, rule, now).await,
                Ask::Peek => self.primary.peek(key, rule, now).await,
            };
            match answer {
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
        Ok(match ask {
            Ask::Check => self.fallback.check_now(key, rule, now),
            Ask::Peek => self.fallback.peek_now(key, rule, now),
        })
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
        self.ask(Ask::Check, key, rule, now).await
    }

    async fn peek(
        &self,
        key: &str,
        rule: RateLimitRule,
        now: OffsetDateTime,
    ) -> Result<RateLimitDecision, PortError> {
        self.ask(Ask::Peek, key, rule, now).await
    }
}
