//! `RedisKeyCounters`: the use counters of API keys in Redis, shared by every instance. One use
//! is one Lua call that applies Better-Auth's quota and rate-limit rules (`ApiKey::count`,
//! steps 5 to 7) to a hash `<prefix>:ak:<key id>`, started from the stored row's counters when
//! absent, and marks the key changed (`<prefix>:akchanged`) for the write-back to the database.
//! A revoked key's hash is kept as a tombstone (`gone`) for longer than any instance keeps a
//! copy of the key, so that no stale copy can start its counters again.

use std::time::Duration;

use auth_domain::{ApiKey, ApiKeyUse, KeyRefusal};
use auth_ports::{Counted, KeyCounters, PortError, Reserved};
use deadpool_redis::Pool;
use deadpool_redis::redis::Script;
use time::OffsetDateTime;

/// A hash idle this long is dropped (its counters were written back long before).
const IDLE_TTL_MS: i64 = 10 * 60 * 1000;

/// How long a revoked key's tombstone stays: longer than any copy of a key is kept in memory
/// (at most 60 s) plus the time an event takes to arrive.
const TOMBSTONE_TTL_MS: i64 = 5 * 60 * 1000;

/// The start of `COUNT` and `RESERVE`: a revoked key is gone, absent counters start from the
/// stored row's (ARGV 3 to 6), `held` and `now` are read.
const PRELUDE: &str = r"
local k = KEYS[1]
local function num(v) if v == false or v == nil or v == '' then return nil end return tonumber(v) end
local function str(v) if v == nil then return '' end return string.format('%d', v) end
if redis.call('HGET', k, 'gone') == '1' then return {'gone'} end
if redis.call('EXISTS', k) == 0 then
  redis.call('HSET', k, 'r', ARGV[3], 'f', ARGV[4], 'c', ARGV[5], 'q', ARGV[6])
  redis.call('PEXPIRE', k, tonumber(ARGV[13]))
end
local held = redis.call('HMGET', k, 'r', 'f', 'c', 'q')
local now = tonumber(ARGV[1])
";

/// KEYS: the counters hash, the changed set. ARGV: now, limits on, the stored remaining,
/// lastRefillAt, requestCount, lastRequest (empty for null), createdAt, refillAmount,
/// refillInterval, rateLimitEnabled, window, max, idle TTL, key id. Times and intervals in
/// milliseconds. Answers `{"ok", remaining, lastRefillAt, requestCount}`, `{"usage", spent}` or
/// `{"rate", tryAgainIn}` or `{"gone"}`; a refused use writes nothing.
const COUNT: &str = r"
local r, f, c, q = num(held[1]), num(held[2]), num(held[3]) or 0, num(held[4])
local amount, interval = num(ARGV[8]), num(ARGV[9])
local nr, nf = r, f
if r ~= nil then
  if r <= 0 and amount == nil then return {'usage', '1'} end
  local refilled = false
  if amount ~= nil and interval ~= nil then
    local since = now - (f or tonumber(ARGV[7]))
    if since > interval then
      nr = amount - 1
      nf = now
      refilled = true
    end
  end
  if not refilled then
    if r > 0 then nr = r - 1 else return {'usage', '0'} end
  end
end
local nc = c
local window, max = num(ARGV[11]), num(ARGV[12])
if window ~= nil and max ~= nil and ARGV[2] == '1' and ARGV[10] == '1' then
  if q == nil then
    nc = 1
  else
    local elapsed = now - q
    if elapsed > window then
      nc = 1
    elseif c >= max then
      return {'rate', str(window - elapsed)}
    else
      nc = c + 1
    end
  end
end
redis.call('HSET', k, 'r', str(nr), 'f', str(nf), 'c', str(nc), 'q', str(now))
redis.call('PEXPIRE', k, tonumber(ARGV[13]))
redis.call('SADD', KEYS[2], ARGV[14])
return {'ok', str(nr), str(nf), str(nc)}
";

/// KEYS and ARGV as for `COUNT`, with `ARGV[2]` the number of uses wanted. Grants up to that
/// many from the quota (with its refill) at once: `{"ok", remaining, lastRefillAt,
/// requestCount, granted}`, or `{"usage", spent}`, or `{"gone"}`.
const RESERVE: &str = r"
local wanted = math.max(tonumber(ARGV[2]), 1)
local r, f, c = num(held[1]), num(held[2]), num(held[3]) or 0
local amount, interval = num(ARGV[8]), num(ARGV[9])
local nr, nf, granted = nil, f, wanted
if r ~= nil then
  if r <= 0 and amount == nil then return {'usage', '1'} end
  local available = r
  if amount ~= nil and interval ~= nil then
    if now - (f or tonumber(ARGV[7])) > interval then
      available = amount
      nf = now
    end
  end
  if available <= 0 then return {'usage', '0'} end
  granted = math.min(wanted, available)
  nr = available - granted
end
redis.call('HSET', k, 'r', str(nr), 'f', str(nf), 'c', str(c), 'q', str(now))
redis.call('PEXPIRE', k, tonumber(ARGV[13]))
redis.call('SADD', KEYS[2], ARGV[14])
return {'ok', str(nr), str(nf), str(c), str(granted)}
";

/// KEYS: the counters hash. ARGV: remaining. Sets the quota of held counters, unless the key
/// is gone; counters not held start from the row at their next use.
const RESET: &str = r"
if redis.call('HGET', KEYS[1], 'gone') == '1' then return 0 end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'r', ARGV[1])
return 1
";

/// KEYS: the counters hash, the changed set. ARGV: tombstone TTL, key id.
const REVOKE: &str = r"
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'gone', '1')
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
redis.call('SREM', KEYS[2], ARGV[2])
return 1
";

/// KEYS: the changed set. ARGV: the hash prefix, how many. Pops changed key ids and answers
/// `id, remaining, lastRefillAt, requestCount, lastRequest` for each that still has counters.
const TAKE: &str = r"
local ids = redis.call('SPOP', KEYS[1], tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  local held = redis.call('HMGET', ARGV[1] .. id, 'r', 'f', 'c', 'q')
  if held[4] then
    table.insert(out, id)
    for i = 1, 4 do table.insert(out, held[i] or '') end
  end
end
return out
";

/// API-key use counters in Redis.
pub struct RedisKeyCounters {
    pool: Pool,
    prefix: String,
    timeout: Duration,
    count: Script,
    reserve: Script,
    reset: Script,
    revoke: Script,
    take: Script,
}

impl std::fmt::Debug for RedisKeyCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKeyCounters")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn unavailable(error: impl std::fmt::Display) -> PortError {
    crate::redis_error("api_key_counters", error)
}

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn optional(value: Option<i64>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

fn interval(duration: Option<time::Duration>) -> String {
    optional(duration.map(|d| i64::try_from(d.whole_milliseconds()).unwrap_or(i64::MAX)))
}

fn at(value: Option<OffsetDateTime>) -> String {
    optional(value.map(millis))
}

fn parse_number(text: &str) -> Result<Option<i64>, PortError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| PortError::Internal(format!("a counter is not a number: {text:?}").into()))
}

fn parse_time(text: &str) -> Result<Option<OffsetDateTime>, PortError> {
    parse_number(text)?
        .map(|ms| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .map_err(|error| PortError::Internal(error.to_string().into()))
        })
        .transpose()
}

impl RedisKeyCounters {
    /// Counters on `pool` under `<prefix>:ak:`, every call bounded by `timeout`.
    #[must_use]
    pub fn new(pool: Pool, prefix: &str, timeout: Duration) -> Self {
        Self {
            pool,
            prefix: prefix.to_owned(),
            timeout,
            count: Script::new(&format!("{PRELUDE}{COUNT}")),
            reserve: Script::new(&format!("{PRELUDE}{RESERVE}")),
            reset: Script::new(RESET),
            revoke: Script::new(REVOKE),
            take: Script::new(TAKE),
        }
    }

    /// Runs `script` (`COUNT` or `RESERVE`) for `key` at `now`, `second` being `ARGV[2]`.
    async fn invoke(
        &self,
        script: &Script,
        key: &ApiKey,
        now: OffsetDateTime,
        second: &str,
    ) -> Result<Vec<String>, PortError> {
        self.run(async {
            let mut connection = self.pool.get().await.map_err(unavailable)?;
            script
                .key(format!("{}{}", self.hash_prefix(), key.id))
                .key(self.changed_set())
                .arg(millis(now))
                .arg(second)
                .arg(optional(key.remaining))
                .arg(at(key.last_refill_at))
                .arg(key.request_count)
                .arg(at(key.last_request))
                .arg(millis(key.created_at))
                .arg(optional(key.refill_amount))
                .arg(interval(key.refill_interval))
                .arg(if key.rate_limit_enabled { "1" } else { "0" })
                .arg(interval(key.rate_limit_time_window))
                .arg(optional(key.rate_limit_max))
                .arg(IDLE_TTL_MS)
                .arg(&key.id)
                .invoke_async(&mut connection)
                .await
                .map_err(unavailable)
        })
        .await
    }

    fn hash_prefix(&self) -> String {
        format!("{}:ak:", self.prefix)
    }

    fn changed_set(&self) -> String {
        format!("{}:akchanged", self.prefix)
    }

    async fn run<T>(
        &self,
        work: impl Future<Output = Result<T, PortError>>,
    ) -> Result<T, PortError> {
        crate::within(self.timeout, "api_key_counters", work).await
    }
}

#[async_trait::async_trait]
impl KeyCounters for RedisKeyCounters {
    async fn count(
        &self,
        key: &ApiKey,
        now: OffsetDateTime,
        limits_enabled: bool,
    ) -> Result<Counted, PortError> {
        let answer = self
            .invoke(
                &self.count,
                key,
                now,
                if limits_enabled { "1" } else { "0" },
            )
            .await?;
        let field = |index: usize| answer.get(index).map_or("", String::as_str);
        match field(0) {
            "ok" => Ok(Counted::Allowed(ApiKeyUse {
                remaining: parse_number(field(1))?,
                last_refill_at: parse_time(field(2))?,
                request_count: parse_number(field(3))?.unwrap_or(0),
                last_request: now,
            })),
            "usage" => Ok(Counted::Refused(KeyRefusal::UsageExceeded {
                spent: field(1) == "1",
            })),
            "rate" => Ok(Counted::Refused(KeyRefusal::RateLimited {
                try_again_in: time::Duration::milliseconds(parse_number(field(1))?.unwrap_or(0)),
            })),
            "gone" => Ok(Counted::Gone),
            other => Err(PortError::Internal(
                format!("unexpected answer from the counter script: {other:?}").into(),
            )),
        }
    }

    async fn reserve(
        &self,
        key: &ApiKey,
        now: OffsetDateTime,
        wanted: i64,
    ) -> Result<Reserved, PortError> {
        let answer = self
            .invoke(&self.reserve, key, now, &wanted.to_string())
            .await?;
        let field = |index: usize| answer.get(index).map_or("", String::as_str);
        match field(0) {
            "ok" => Ok(Reserved::Granted {
                counters: ApiKeyUse {
                    remaining: parse_number(field(1))?,
                    last_refill_at: parse_time(field(2))?,
                    request_count: parse_number(field(3))?.unwrap_or(0),
                    last_request: now,
                },
                uses: parse_number(field(4))?.unwrap_or(1),
            }),
            "usage" => Ok(Reserved::Refused(KeyRefusal::UsageExceeded {
                spent: field(1) == "1",
            })),
            "gone" => Ok(Reserved::Gone),
            other => Err(PortError::Internal(
                format!("unexpected answer from the reserve script: {other:?}").into(),
            )),
        }
    }

    async fn reset(&self, key: &ApiKey) -> Result<(), PortError> {
        self.run(async {
            let mut connection = self.pool.get().await.map_err(unavailable)?;
            self.reset
                .key(format!("{}{}", self.hash_prefix(), key.id))
                .arg(optional(key.remaining))
                .invoke_async::<i64>(&mut connection)
                .await
                .map(|_| ())
                .map_err(unavailable)
        })
        .await
    }

    async fn revoke(&self, key_id: &str) -> Result<(), PortError> {
        self.run(async {
            let mut connection = self.pool.get().await.map_err(unavailable)?;
            self.revoke
                .key(format!("{}{key_id}", self.hash_prefix()))
                .key(self.changed_set())
                .arg(TOMBSTONE_TTL_MS)
                .arg(key_id)
                .invoke_async::<i64>(&mut connection)
                .await
                .map(|_| ())
                .map_err(unavailable)
        })
        .await
    }

    async fn take_changed(&self, max: usize) -> Result<Vec<(String, ApiKeyUse)>, PortError> {
        let flat: Vec<String> = self
            .run(async {
                let mut connection = self.pool.get().await.map_err(unavailable)?;
                self.take
                    .key(self.changed_set())
                    .arg(self.hash_prefix())
                    .arg(max)
                    .invoke_async(&mut connection)
                    .await
                    .map_err(unavailable)
            })
            .await?;
        flat.chunks(5)
            .filter(|chunk| chunk.len() == 5)
            .map(|chunk| {
                let last_request = parse_time(&chunk[4])?.ok_or_else(|| {
                    PortError::Internal("changed counters without a last use".into())
                })?;
                Ok((
                    chunk[0].clone(),
                    ApiKeyUse {
                        remaining: parse_number(&chunk[1])?,
                        last_refill_at: parse_time(&chunk[2])?,
                        request_count: parse_number(&chunk[3])?.unwrap_or(0),
                        last_request,
                    },
                ))
            })
            .collect()
    }

    async fn mark_changed(&self, key_ids: &[String]) -> Result<(), PortError> {
        if key_ids.is_empty() {
            return Ok(());
        }
        self.run(async {
            let mut connection = self.pool.get().await.map_err(unavailable)?;
            deadpool_redis::redis::cmd("SADD")
                .arg(self.changed_set())
                .arg(key_ids)
                .query_async::<i64>(&mut connection)
                .await
                .map(|_| ())
                .map_err(unavailable)
        })
        .await
    }
}
