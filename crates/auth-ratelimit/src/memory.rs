//! The sliding-window log in process memory.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use auth_ports::{PortError, RateLimitDecision, RateLimitRule, RateLimiter};
use time::{Duration, OffsetDateTime};

use crate::window;

const SHARDS: usize = 16;

/// Keys kept by default, over all shards: at most about 100 request times each (the general
/// rule's maximum), so roughly 50 MB in the worst case.
pub const DEFAULT_MAX_KEYS: usize = 50_000;

/// Rate limits for one instance: sharded maps of key → request times, with a fixed total
/// capacity. A full shard first drops the logs whose window has passed; while it is still full
/// a new key is counted in one overflow log per rule, shared by every key that found no room.
/// So a flood of new keys costs no memory beyond the cap and never evicts (resets) a live log.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    shards: Vec<Mutex<Shard>>,
}

#[derive(Debug)]
struct Shard {
    logs: HashMap<String, Log>,
    /// Most keys this shard holds (overflow logs aside).
    capacity: usize,
    /// Before this time (ms) no stored log can have expired: a full shard is not rescanned.
    next_expiry_ms: i64,
}

/// One key's request times, with the window of the rule that counts them: a key is dropped
/// only once its own window has passed (a 15-minute sign-in log outlives a 10-second one).
#[derive(Debug, Default)]
struct Log {
    window_ms: i64,
    times: VecDeque<i64>,
}

impl Log {
    /// When the newest request leaves the window (the log is then empty and can go).
    fn expires_at_ms(&self) -> i64 {
        self.times
            .back()
            .map_or(i64::MIN, |newest| newest.saturating_add(self.window_ms))
    }
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::with_max_keys(DEFAULT_MAX_KEYS)
    }
}

impl MemoryRateLimiter {
    /// An empty limiter with the default capacity.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty limiter that keeps at most about `max_keys` keys in all.
    #[must_use]
    pub fn with_max_keys(max_keys: usize) -> Self {
        let capacity = (max_keys / SHARDS).max(1);
        Self {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        logs: HashMap::new(),
                        capacity,
                        next_expiry_ms: i64::MAX,
                    })
                })
                .collect(),
        }
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
        let mut shard = self.shard(key);
        let has_room = shard.logs.contains_key(key) || shard.has_room(now_ms);
        let key = slot(key, has_room, window_ms, rule.max);
        let log = shard.logs.entry(key.into_owned()).or_default();
        log.window_ms = log.window_ms.max(window_ms);
        let decision = decision(window::check(&mut log.times, now_ms, window_ms, rule.max));
        let expires_at = log.expires_at_ms();
        shard.next_expiry_ms = shard.next_expiry_ms.min(expires_at);
        decision
    }

    /// The synchronous peek: a key that is not stored has counted nothing.
    pub(crate) fn peek_now(
        &self,
        key: &str,
        rule: RateLimitRule,
        now: OffsetDateTime,
    ) -> RateLimitDecision {
        let now_ms = millis(now);
        let window_ms = i64::try_from(rule.window.whole_milliseconds()).unwrap_or(i64::MAX);
        let mut shard = self.shard(key);
        // A key that found no room was counted in the overflow log.
        let has_room = shard.logs.contains_key(key) || shard.logs.len() < shard.capacity;
        let key = slot(key, has_room, window_ms, rule.max);
        let Some(log) = shard.logs.get_mut(key.as_ref()) else {
            return RateLimitDecision::Allowed;
        };
        decision(window::peek(&mut log.times, now_ms, window_ms, rule.max))
    }

    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, Shard> {
        self.shards[shard_of(key)]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many keys are held, overflow logs included (for tests and metrics).
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                shard
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .logs
                    .len()
            })
            .sum()
    }

    /// Whether no key is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Shard {
    /// Whether a new key fits: when full, the logs whose window has passed are dropped first
    /// (at most once per expiry, so a shard full of live logs is not rescanned on every check).
    fn has_room(&mut self, now_ms: i64) -> bool {
        if self.logs.len() < self.capacity {
            return true;
        }
        if now_ms < self.next_expiry_ms {
            return false;
        }
        self.logs.retain(|_, log| log.expires_at_ms() > now_ms);
        self.next_expiry_ms = self
            .logs
            .values()
            .map(Log::expires_at_ms)
            .min()
            .unwrap_or(i64::MAX);
        self.logs.len() < self.capacity
    }
}

/// The answer to a window test.
fn decision(tested: Result<(), i64>) -> RateLimitDecision {
    match tested {
        Ok(()) => RateLimitDecision::Allowed,
        Err(retry_after_ms) => RateLimitDecision::Limited {
            retry_after: Duration::milliseconds(retry_after_ms),
        },
    }
}

/// Where `key` is counted: its own log when it has (or finds) room, else the log shared by the
/// keys of its rule that found a full shard.
fn slot(key: &str, has_room: bool, window_ms: i64, max: u32) -> std::borrow::Cow<'_, str> {
    if has_room {
        return std::borrow::Cow::Borrowed(key);
    }
    std::borrow::Cow::Owned(format!("\0overflow|{window_ms}|{max}"))
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

    async fn peek(
        &self,
        key: &str,
        rule: RateLimitRule,
        now: OffsetDateTime,
    ) -> Result<RateLimitDecision, PortError> {
        Ok(self.peek_now(key, rule, now))
    }
}

#[cfg(test)]
mod tests;
