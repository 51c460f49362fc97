//! `RedisConnectionSlots`: WebSocket connection slots per user, shared by the instances. A
//! user's slots are a sorted set `<prefix>:ws:<user>` (by opening time, for the oldest) and a
//! hash `<prefix>:wsl:<user>` (each slot's deadline); one Lua call drops the lapsed slots,
//! counts the rest and takes (or evicts for) a new one, so that parallel upgrades on any
//! number of instances never hold more than the limit.

use std::time::Duration;

use auth_ports::{ConnectionSlots, PortError, SlotGrant};
use deadpool_redis::Pool;
use deadpool_redis::redis::Script;

/// The start of `ACQUIRE` and `REFRESH`: `now` by Redis's clock, and the user's lapsed slots
/// dropped.
const PURGE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = redis.call('HGETALL', KEYS[2])
for i = 1, #held, 2 do
  if tonumber(held[i + 1]) < now then
    redis.call('HDEL', KEYS[2], held[i])
    redis.call('ZREM', KEYS[1], held[i])
  end
end
";

/// KEYS: the set by opening time, the deadlines. ARGV: slot, max, evict (`1`), ttl in ms.
/// Answers `{"full"}` or `{"ok", evicted or ""}`. Times are Redis's own clock.
const ACQUIRE: &str = r"
local evicted = ''
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  if ARGV[3] ~= '1' then return {'full'} end
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0)
  evicted = oldest[1] or ''
  redis.call('ZREM', KEYS[1], evicted)
  redis.call('HDEL', KEYS[2], evicted)
end
local ttl = tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], now + ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {'ok', evicted}
";

/// KEYS as for `ACQUIRE`. ARGV: slot, ttl in ms, max. Answers 1 when the slot is held: kept,
/// or taken again when it is gone and the user holds fewer than `max` live slots; 0 when it is
/// gone and the user is full (another slot took its place).
const REFRESH: &str = r"
local ttl = tonumber(ARGV[2])
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
  redis.call('ZADD', KEYS[1], now, ARGV[1])
end
redis.call('HSET', KEYS[2], ARGV[1], now + ttl)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
";

/// KEYS as for `ACQUIRE`. ARGV: slot.
const RELEASE: &str = r"
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
";

/// Connection slots in Redis.
pub struct RedisConnectionSlots {
    pool: Pool,
    prefix: String,
    timeout: Duration,
    acquire: Script,
    refresh: Script,
    release: Script,
}

impl std::fmt::Debug for RedisConnectionSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnectionSlots")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn unavailable(error: impl std::fmt::Display) -> PortError {
    crate::redis_error("websocket", error)
}

/// A slot's lifetime in whole milliseconds, at least one (Redis refuses a zero expiry).
fn ttl_millis(ttl: Duration) -> u64 {
    crate::millis(ttl).max(1)
}

impl RedisConnectionSlots {
    /// Slots on `pool` under `<prefix>:ws:`, every call bounded by `timeout`.
    #[must_use]
    pub fn new(pool: Pool, prefix: &str, timeout: Duration) -> Self {
        Self {
            pool,
            prefix: prefix.to_owned(),
            timeout,
            acquire: Script::new(&format!("{PURGE}{ACQUIRE}")),
            refresh: Script::new(&format!("{PURGE}{REFRESH}")),
            release: Script::new(RELEASE),
        }
    }

    /// Runs `script` on the user's two keys with `args`.
    async fn run<T: deadpool_redis::redis::FromRedisValue>(
        &self,
        script: &Script,
        user: &str,
        args: &[String],
    ) -> Result<T, PortError> {
        let work = async {
            let mut connection = self.pool.get().await.map_err(unavailable)?;
            let mut invocation = script.key(format!("{}:ws:{user}", self.prefix));
            invocation.key(format!("{}:wsl:{user}", self.prefix));
            for arg in args {
                invocation.arg(arg);
            }
            invocation
                .invoke_async(&mut connection)
                .await
                .map_err(unavailable)
        };
        crate::within(self.timeout, "websocket", work).await
    }
}

#[async_trait::async_trait]
impl ConnectionSlots for RedisConnectionSlots {
    async fn acquire(
        &self,
        user: &str,
        slot: &str,
        max: usize,
        evict_oldest: bool,
        ttl: Duration,
    ) -> Result<SlotGrant, PortError> {
        let args = [
            slot.to_owned(),
            max.to_string(),
            if evict_oldest { "1" } else { "0" }.to_owned(),
            ttl_millis(ttl).to_string(),
        ];
        let answer: Vec<String> = self.run(&self.acquire, user, &args).await?;
        match answer.first().map(String::as_str) {
            Some("full") => Ok(SlotGrant::Full),
            Some("ok") => Ok(SlotGrant::Taken {
                evicted: answer.get(1).filter(|slot| !slot.is_empty()).cloned(),
            }),
            other => Err(PortError::Internal(
                format!("unexpected answer from the slot script: {other:?}").into(),
            )),
        }
    }

    async fn refresh(
        &self,
        user: &str,
        slot: &str,
        max: usize,
        ttl: Duration,
    ) -> Result<bool, PortError> {
        let args = [
            slot.to_owned(),
            ttl_millis(ttl).to_string(),
            max.to_string(),
        ];
        let held: i64 = self.run(&self.refresh, user, &args).await?;
        Ok(held == 1)
    }

    async fn release(&self, user: &str, slot: &str) -> Result<(), PortError> {
        let _: i64 = self.run(&self.release, user, &[slot.to_owned()]).await?;
        Ok(())
    }
}
