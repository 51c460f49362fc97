//! The sliding-window log in process memory.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use auth_ports::{PortError, RateLimitDecision, RateLimitRule, RateLimiter};
use time::{Duration, OffsetDateTime};

use crate::window;

const SHARDS: usize = 16;
const PRUNE_ABOVE: usize = 10_000;

/// Rate limits for one instance: sharded maps of key → request times, pruned as they grow.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    shards: Vec<Mutex<HashMap<String, VecDeque<i64>>>>,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }
}

impl MemoryRateLimiter {
    /// An empty limiter.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The synchronous check (also used by the Redis fallback).
    pub(crate) fn check_now(
        &self,
        key: &str,
        rule: RateLimitRule,
        now: OffsetDateTime,
    ) -> RateLimitDecision {
        let now_ms = millis(now);
        let window_ms = i64::try_from(rule.window.whole_milliseconds()).unwrap_or(i64::MAX);
        let shard = &self.shards[shard_of(key)];
        let mut map = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, log| {
                log.back()
                    .is_some_and(|newest| *newest > now_ms - window_ms)
            });
        }
        let log = map.entry(key.to_owned()).or_default();
        match window::check(log, now_ms, window_ms, rule.max) {
            Ok(()) => RateLimitDecision::Allowed,
            Err(retry_after_ms) => RateLimitDecision::Limited {
                retry_after: Duration::milliseconds(retry_after_ms),
            },
        }
    }
}

pub(crate) fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn shard_of(key: &str) -> usize {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    usize::try_from(hash % SHARDS as u64).unwrap_or(0)
}

#[async_trait::async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn check(
        &self,
        key: &str,
        rule: RateLimitRule,
        now: OffsetDateTime,
    ) -> Result<RateLimitDecision, PortError> {
        Ok(self.check_now(key, rule, now))
    }
}
