//! The rate-limit store.

use time::{Duration, OffsetDateTime};

use crate::PortError;

/// A limit: at most `max` requests in any `window` (a sliding window, not aligned buckets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitRule {
    /// The window.
    pub window: Duration,
    /// Requests allowed per window.
    pub max: u32,
}

/// The answer to one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitDecision {
    /// Counted and allowed.
    Allowed,
    /// Refused; nothing was counted. Retry after this long.
    Limited {
        /// Time until the next request would be allowed.
        retry_after: Duration,
    },
}

/// Counts requests per key. Implementations MUST be atomic per key (no two concurrent checks
/// may both take the last slot) and MUST NOT count refused requests.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait::async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one request for `key` at `now` under `rule`.
    ///
    /// # Errors
    /// `PortError::Unavailable` when the backing store cannot be reached in time.
    async fn check(
        &self,
        key: &str,
        rule: RateLimitRule,
        now: OffsetDateTime,
    ) -> Result<RateLimitDecision, PortError>;

    /// What `check` would answer for `key` at `now` under `rule`, counting nothing: for limits
    /// that count only some outcomes (failed sign-ins), asked before the outcome is known.
    ///
    /// # Errors
    /// `PortError::Unavailable` when the backing store cannot be reached in time.
    async fn peek(
        &self,
        key: &str,
        rule: RateLimitRule,
        now: OffsetDateTime,
    ) -> Result<RateLimitDecision, PortError>;
}
