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
    shards: Vec<Mutex<Shard>>,
}

#[derive(Debug)]
struct Shard {
    logs: HashMap<String, Log>,
    /// Prune when the shard holds more keys than this; doubled after a prune that freed
    /// little, so a shard full of live keys is not scanned on every check.
    prune_above: usize,
}

/// One key's request times, with the window of the rule that counts them: a key is dropped
/// only once its own window has passed (a 15-minute sign-in log outlives a 10-second one).
#[derive(Debug, Default)]
struct Log {
    window_ms: i64,
    times: VecDeque<i64>,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        logs: HashMap::new(),
                        prune_above: PRUNE_ABOVE,
                    })
                })
                .collect(),
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
        let mut shard = shard
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if shard.logs.len() > shard.prune_above {
            shard.logs.retain(|_, log| {
                log.times
                    .back()
                    .is_some_and(|newest| *newest > now_ms - log.window_ms)
            });
            shard.prune_above = PRUNE_ABOVE.max(shard.logs.len() * 2);
        }
        let log = shard.logs.entry(key.to_owned()).or_default();
        log.window_ms = log.window_ms.max(window_ms);
        match window::check(&mut log.times, now_ms, window_ms, rule.max) {
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

#[cfg(test)]
mod tests;
