//! L1 (moka, in process) over L2 (Redis), with pub/sub invalidation across instances.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_domain::{Session, SessionToken, User, UserId};
use auth_ports::{CacheLookup, FillTicket, PortError, SessionCache};
use base64::Engine as _;
use deadpool_redis::redis::{self, Script};
use deadpool_redis::{Pool, Runtime, Timeouts};
use futures_util::StreamExt as _;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::wire::{CachedLookup, SealKey, Unsealed};

/// Cache settings. `Debug` says whether a Redis URL is set, not what it is (it may hold a
/// password), and never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most entries kept in process.
    pub l1_capacity: u64,
    /// How long an entry lives in process: the bound on serving a revoked session when an
    /// invalidation message is lost.
    pub l1_ttl: Duration,
    /// How long an entry lives in Redis.
    pub l2_ttl: Duration,
    /// `redis://host:port` (or `rediss://`, with user and password as Redis ACLs want them);
    /// `None` keeps the cache in process only (one instance).
    pub redis_url: Option<String>,
    /// Key and channel prefix.
    pub prefix: String,
    /// Longest wait on Redis per operation.
    pub timeout: Duration,
    /// The server secret, from which the key sealing Redis entries is derived (entries sealed
    /// under another secret are misses).
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for CacheConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheConfig")
            .field("l1_capacity", &self.l1_capacity)
            .field("l1_ttl", &self.l1_ttl)
            .field("l2_ttl", &self.l2_ttl)
            .field("redis", &self.redis_url.is_some())
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            l1_capacity: 100_000,
            l1_ttl: Duration::from_secs(10),
            l2_ttl: Duration::from_secs(60),
            redis_url: None,
            prefix: "auth".to_owned(),
            timeout: Duration::from_millis(250),
            secret: Vec::new(),
        }
    }
}

type Entry = Arc<L1Entry>;

/// A lookup kept in process.
struct L1Entry {
    lookup: (Session, User),
    filled: Instant,
    /// A lookup has been told to read the store again ([`LayeredSessionCache::get`]).
    refreshing: std::sync::atomic::AtomicBool,
}

impl L1Entry {
    fn new(session: &Session, user: &User) -> Entry {
        Arc::new(Self {
            lookup: (session.clone(), user.clone()),
            filled: Instant::now(),
            refreshing: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Whether the entry is old enough to be read again, and this caller is the one to.
    fn claim_refresh(&self, after: Duration) -> bool {
        self.filled.elapsed() >= after
            && !self.refreshing.load(Ordering::Relaxed)
            && !self.refreshing.swap(true, Ordering::Relaxed)
    }
}

/// The two-layer cache. Cheap to clone.
#[derive(Clone)]
pub struct LayeredSessionCache {
    inner: Arc<Inner>,
}

struct Inner {
    l1: moka::sync::Cache<String, Entry>,
    /// Three quarters of the in-process TTL: a hot entry this old is read again from the store
    /// by one lookup, while the others go on with it.
    refresh_after: Duration,
    /// Bumped by every invalidation this process makes or hears of (and by every L1 clear): a
    /// fill whose lookup saw an older value never lands in L1.
    generation: Arc<AtomicU64>,
    redis: Option<RedisLayer>,
    /// `auth_cache_requests_total` by layer (`l1`, `l2`) and result (`miss`, `hit`), kept from
    /// the start: the macro would build the series' key and look it up on every lookup.
    lookups: [[metrics::Counter; 2]; 2],
}

struct RedisLayer {
    pool: Pool,
    prefix: String,
    timeout: Duration,
    l2_ttl: Duration,
    seal: SealKey,
    skip_until: Mutex<Option<Instant>>,
    put: Script,
    invalidate_token: Script,
    invalidate_user: Script,
    /// Invalidations that could not reach Redis, retried until it answers.
    pending: Mutex<VecDeque<Invalidation>>,
}

/// An invalidation to carry to Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Invalidation {
    /// One session, by its key.
    Token(String),
    /// Every session of a user.
    User(String),
}

/// After a Redis failure, the cache works from L1 (and callers from the store) for this long
/// before Redis is tried again.
const RETRY_REDIS_AFTER: Duration = Duration::from_millis(500);
/// How long a tombstone keeps fills from older lookups out of Redis; a lookup older than this
/// cannot fill at all.
const TOMBSTONE_TTL: Duration = Duration::from_secs(120);
/// Most invalidations kept for retrying while Redis is down (the oldest go first; their
/// entries then expire with the L2 lifetime).
const MAX_PENDING: usize = 10_000;

/// Redis's clock in milliseconds (13 digits: exact in Lua's numbers and in `tostring`).
const NOW_MS: &str = "local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
";

const PUT: &str = r"
local ticket = tonumber(ARGV[1])
if now - ticket > tonumber(ARGV[4]) then return 0 end
local token_tomb = redis.call('GET', KEYS[2])
if token_tomb and tonumber(token_tomb) >= ticket then return 0 end
local user_tomb = redis.call('GET', KEYS[3])
if user_tomb and tonumber(user_tomb) >= ticket then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[4], ARGV[6])
redis.call('EXPIRE', KEYS[4], ARGV[5])
return 1
";

const INVALIDATE_TOKEN: &str = r"
redis.call('SET', KEYS[2], tostring(now), 'PX', ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
";

const INVALIDATE_USER: &str = r"
redis.call('SET', KEYS[2], tostring(now), 'PX', ARGV[3])
local members = redis.call('SMEMBERS', KEYS[1])
for _, hash in ipairs(members) do
  redis.call('DEL', ARGV[1] .. ':sess:' .. hash)
end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1] .. ':invalidate', 'u:' .. ARGV[2])
return #members
";

impl std::fmt::Debug for LayeredSessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayeredSessionCache")
            .field("redis", &self.inner.redis.is_some())
            .finish_non_exhaustive()
    }
}

fn key_of(token: &SessionToken) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(token.expose().as_bytes()))
}

fn unavailable(error: impl std::fmt::Display) -> PortError {
    crate::redis_error("cache", error)
}

use crate::millis;

/// The layers of the cache, as `auth_cache_requests_total` names them: [`L1`], [`L2`].
const LAYERS: [&str; 2] = ["l1", "l2"];
const L1: usize = 0;
const L2: usize = 1;

impl Inner {
    /// Counts one lookup of `layer` ([`L1`] or [`L2`]).
    fn looked_up(&self, layer: usize, found: bool) {
        self.lookups[layer][usize::from(found)].increment(1);
    }
}

impl LayeredSessionCache {
    /// Builds the cache and, with Redis, starts the invalidation listener (it reconnects by
    /// itself and clears L1 after every reconnect, since messages may have been missed) and the
    /// task that retries invalidations Redis missed.
    ///
    /// # Errors
    /// `PortError::Internal` for a malformed Redis URL, or a Redis URL without a secret.
    pub fn start(config: &CacheConfig) -> Result<Self, PortError> {
        // Every series of the layers there are, from the first scrape, at zero.
        let lookups = LAYERS.map(|layer| {
            ["miss", "hit"].map(|result| {
                if layer == "l2" && config.redis_url.is_none() {
                    return metrics::Counter::noop();
                }
                let counter =
                    metrics::counter!("auth_cache_requests_total", "layer" => layer, "result" => result);
                counter.increment(0);
                counter
            })
        });
        // A zero TTL switches the in-process layer off.
        let capacity = if config.l1_ttl.is_zero() {
            0
        } else {
            config.l1_capacity
        };
        let l1 = moka::sync::Cache::builder()
            .max_capacity(capacity)
            .time_to_live(config.l1_ttl.max(Duration::from_millis(1)))
            .support_invalidation_closures()
            .build();
        let generation = Arc::new(AtomicU64::new(0));
        let redis = match &config.redis_url {
            None => None,
            Some(url) => {
                let seal = SealKey::derive(&config.secret)
                    .filter(|_| !config.secret.is_empty())
                    .ok_or_else(|| PortError::internal("the session cache needs the secret"))?;
                let mut pool_config = deadpool_redis::Config::from_url(url.clone());
                let mut settings = deadpool_redis::PoolConfig::new(32);
                settings.timeouts = Timeouts {
                    wait: Some(config.timeout),
                    create: Some(config.timeout),
                    recycle: Some(config.timeout),
                };
                pool_config.pool = Some(settings);
                let pool = pool_config
                    .create_pool(Some(Runtime::Tokio1))
                    .map_err(|error| PortError::internal(error.to_string()))?;
                let client = redis::Client::open(url.as_str())
                    .map_err(|error| PortError::internal(error.to_string()))?;
                tokio::spawn(listen(
                    client,
                    format!("{}:invalidate", config.prefix),
                    l1.clone(),
                    generation.clone(),
                ));
                Some(RedisLayer {
                    pool,
                    prefix: config.prefix.clone(),
                    timeout: config.timeout,
                    l2_ttl: config.l2_ttl,
                    seal,
                    skip_until: Mutex::new(None),
                    put: Script::new(&format!("{NOW_MS}{PUT}")),
                    invalidate_token: Script::new(&format!("{NOW_MS}{INVALIDATE_TOKEN}")),
                    invalidate_user: Script::new(&format!("{NOW_MS}{INVALIDATE_USER}")),
                    pending: Mutex::new(VecDeque::new()),
                })
            }
        };
        let inner = Arc::new(Inner {
            l1,
            refresh_after: config.l1_ttl * 3 / 4,
            generation,
            redis,
            lookups,
        });
        if inner.redis.is_some() {
            tokio::spawn(retry_pending(Arc::downgrade(&inner)));
        }
        Ok(Self { inner })
    }

    fn redis(&self) -> Option<&RedisLayer> {
        let redis = self.inner.redis.as_ref()?;
        let skip = *redis
            .skip_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        skip.is_none_or(|until| Instant::now() >= until)
            .then_some(redis)
    }

    /// Invalidations still waiting for Redis (for tests and metrics).
    #[must_use]
    pub fn pending_invalidations(&self) -> usize {
        self.inner.redis.as_ref().map_or(0, |redis| {
            redis
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .len()
        })
    }

    fn bump(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Carries an invalidation to Redis; one that fails is queued and retried.
    async fn send(&self, invalidation: Invalidation) -> Result<(), PortError> {
        let Some(redis) = self.inner.redis.as_ref() else {
            return Ok(());
        };
        let result = redis.send(&invalidation).await;
        if result.is_err() {
            redis.queue(invalidation);
        }
        result
    }
}

impl RedisLayer {
    fn failed(&self, error: &PortError) {
        tracing::warn!(error = %error, "session cache: redis unavailable, serving from memory and the database");
        let mut skip = self
            .skip_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *skip = Some(Instant::now() + RETRY_REDIS_AFTER);
    }

    async fn run<T, F>(&self, work: F) -> Result<T, PortError>
    where
        F: std::future::Future<Output = Result<T, PortError>>,
    {
        let result = crate::within(self.timeout, "cache", work).await;
        if let Err(error) = &result {
            self.failed(error);
        }
        result
    }

    async fn connection(&self) -> Result<deadpool_redis::Connection, PortError> {
        self.pool.get().await.map_err(unavailable)
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:{kind}:{id}", self.prefix)
    }

    async fn send(&self, invalidation: &Invalidation) -> Result<(), PortError> {
        let tombstone_ms = millis(TOMBSTONE_TTL);
        self.run(async {
            let mut connection = self.connection().await?;
            match invalidation {
                Invalidation::Token(hash) => self
                    .invalidate_token
                    .key(self.key("sess", hash))
                    .key(self.key("tomb:t", hash))
                    .arg(tombstone_ms)
                    .arg(format!("{}:invalidate", self.prefix))
                    .arg(format!("t:{hash}"))
                    .invoke_async::<i64>(&mut connection)
                    .await
                    .map(|_| ())
                    .map_err(unavailable),
                Invalidation::User(id) => self
                    .invalidate_user
                    .key(self.key("user", id))
                    .key(self.key("tomb:u", id))
                    .arg(&self.prefix)
                    .arg(id)
                    .arg(tombstone_ms)
                    .invoke_async::<i64>(&mut connection)
                    .await
                    .map(|_| ())
                    .map_err(unavailable),
            }
        })
        .await
    }

    fn queue(&self, invalidation: Invalidation) {
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pending.contains(&invalidation) {
            return;
        }
        if pending.len() >= MAX_PENDING {
            tracing::warn!(
                "session cache: too many invalidations waiting for redis; the oldest is dropped (its entry expires with the L2 lifetime)"
            );
            pending.pop_front();
        }
        pending.push_back(invalidation);
    }
}

/// Retries the invalidations Redis missed, in order, every `RETRY_REDIS_AFTER`, until the cache
/// is dropped.
async fn retry_pending(inner: std::sync::Weak<Inner>) {
    loop {
        tokio::time::sleep(RETRY_REDIS_AFTER).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let Some(redis) = inner.redis.as_ref() else {
            return;
        };
        loop {
            let next = redis
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .front()
                .cloned();
            let Some(invalidation) = next else {
                break;
            };
            if redis.send(&invalidation).await.is_err() {
                break;
            }
            let mut pending = redis
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if pending.front() == Some(&invalidation) {
                pending.pop_front();
            }
        }
    }
}

async fn listen(
    client: redis::Client,
    channel: String,
    l1: moka::sync::Cache<String, Entry>,
    generation: Arc<AtomicU64>,
) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub.subscribe(&channel).await.is_ok() {
                    // Messages may have been missed while disconnected.
                    generation.fetch_add(1, Ordering::SeqCst);
                    l1.invalidate_all();
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        generation.fetch_add(1, Ordering::SeqCst);
                        evict(&l1, &payload);
                    }
                }
                tracing::warn!("session cache: invalidation channel lost; reconnecting");
            }
            Err(error) => tracing::debug!(error = %error, "session cache: cannot subscribe yet"),
        }
        generation.fetch_add(1, Ordering::SeqCst);
        l1.invalidate_all();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn evict(l1: &moka::sync::Cache<String, Entry>, payload: &str) {
    if let Some(hash) = payload.strip_prefix("t:") {
        l1.invalidate(hash);
    } else if let Some(user_id) = payload.strip_prefix("u:") {
        let user_id = user_id.to_owned();
        let _ = l1.invalidate_entries_if(move |_, entry| entry.lookup.1.id.as_str() == user_id);
    }
}

fn ttl_ms(session: &Session, ceiling: Duration, now: OffsetDateTime) -> u64 {
    let remaining = u64::try_from((session.expires_at - now).whole_milliseconds()).unwrap_or(0);
    remaining.min(millis(ceiling))
}

impl LayeredSessionCache {
    /// The L2 half of [`SessionCache::get`], after an L1 miss.
    async fn l2_get(
        &self,
        redis: &RedisLayer,
        token: &SessionToken,
        key: String,
        local: u64,
    ) -> Result<CacheLookup, PortError> {
        let redis_key = redis.key("sess", &key);
        let answer: Result<(Option<String>, Vec<String>), PortError> = redis
            .run(async {
                let mut connection = redis.connection().await?;
                redis::pipe()
                    .get(&redis_key)
                    .cmd("TIME")
                    .query_async(&mut connection)
                    .await
                    .map_err(unavailable)
            })
            .await;
        // Redis down: a miss whose fill goes to L1 only.
        let Ok((value, time)) = answer else {
            return Ok(miss(local));
        };
        let now_ms = redis_time_ms(&time);
        let lookup = value.and_then(|value| match redis.seal.open(&redis_key, &value) {
            Ok(cached) => {
                let age = now_ms.zip(Some(cached.filled_at_ms)).map(|(now, at)| now - at);
                let fresh = age.is_some_and(|age| age <= i64::try_from(millis(redis.l2_ttl)).unwrap_or(i64::MAX));
                fresh.then_some(cached)?.into_domain(token)
            }
            Err(Unsealed::Forged) => {
                metrics::counter!("auth_cache_forged_entries_total").increment(1);
                tracing::warn!(target: "auth::audit", event = "forged_cache_entry", "session cache: an entry in redis does not carry our seal; ignored");
                None
            }
            Err(Unsealed::Unreadable) => None,
        });
        self.inner.looked_up(L2, lookup.is_some());
        if let Some(lookup) = &lookup {
            self.inner
                .l1
                .insert(key.clone(), L1Entry::new(&lookup.0, &lookup.1));
            if self.inner.generation.load(Ordering::SeqCst) != local {
                self.inner.l1.invalidate(&key);
            }
        }
        Ok(CacheLookup {
            shared: lookup.is_some(),
            found: lookup,
            ticket: FillTicket::new(local, now_ms),
        })
    }

    /// The L2 half of [`SessionCache::put`]: the fill, when Redis is there.
    async fn l2_put(
        &self,
        redis: &RedisLayer,
        session: &Session,
        user: &User,
        key: String,
        filled_at_ms: i64,
    ) -> Result<(), PortError> {
        #[expect(
            clippy::disallowed_methods,
            reason = "a TTL in Redis is wall-clock time"
        )]
        let ttl = ttl_ms(session, redis.l2_ttl, OffsetDateTime::now_utc());
        if ttl == 0 {
            return Ok(());
        }
        let redis_key = redis.key("sess", &key);
        let sealed = redis
            .seal
            .seal(&redis_key, &CachedLookup::new(session, user, filled_at_ms))
            .ok_or_else(|| PortError::internal("a session lookup could not be serialised"))?;
        let user_id = session.user_id.as_str();
        redis
            .run(async {
                let mut connection = redis.connection().await?;
                redis
                    .put
                    .key(&redis_key)
                    .key(redis.key("tomb:t", &key))
                    .key(redis.key("tomb:u", user_id))
                    .key(redis.key("user", user_id))
                    .arg(filled_at_ms)
                    .arg(sealed)
                    .arg(ttl)
                    .arg(millis(TOMBSTONE_TTL))
                    .arg(redis.l2_ttl.as_secs().max(1))
                    .arg(&key)
                    .invoke_async::<i64>(&mut connection)
                    .await
                    .map(|_| ())
                    .map_err(unavailable)
            })
            .await
    }
}

/// A miss, whose fill goes to L1 (and to Redis only when the lookup asked it).
fn miss(local: u64) -> CacheLookup {
    CacheLookup {
        found: None,
        ticket: FillTicket::new(local, None),
        shared: false,
    }
}

#[async_trait::async_trait]
impl SessionCache for LayeredSessionCache {
    async fn get(&self, token: &SessionToken) -> Result<CacheLookup, PortError> {
        let key = key_of(token);
        // Read before looking, so that any invalidation after this point voids the ticket.
        let local = self.inner.generation.load(Ordering::SeqCst);
        // A hot entry does not expire under its lookups: one of them, once three quarters of
        // the TTL have passed, looks past it as a miss does (Redis, then the store, whose fill
        // replaces the entry), while the others go on with the entry. Without it, every lookup
        // in flight when the entry expires would read the store.
        if let Some(entry) = self.inner.l1.get(&key)
            && !entry.claim_refresh(self.inner.refresh_after)
        {
            self.inner.looked_up(L1, true);
            return Ok(CacheLookup {
                found: Some(entry.lookup.clone()),
                ticket: FillTicket::new(local, None),
                shared: false,
            });
        }
        self.inner.looked_up(L1, false);
        let Some(redis) = self.redis() else {
            return Ok(miss(local));
        };
        // Boxed, and built only when Redis is there to ask: the Redis round trip is a large
        // future (about 21 KB), and inline it would make every call of `get`, L1 hits
        // included, allocate and copy all of it (a fifth of a cached session check's
        // instructions).
        Box::pin(self.l2_get(redis, token, key, local)).await
    }

    async fn put(
        &self,
        session: &Session,
        user: &User,
        ticket: FillTicket,
    ) -> Result<(), PortError> {
        let key = key_of(&session.token);
        // L1: an invalidation this process made or heard of after the lookup voids the fill
        // (what the lookup read may be revoked already). Inserted first and checked after, so
        // that an invalidation racing the insert still removes it.
        if self.inner.generation.load(Ordering::SeqCst) == ticket.local() {
            self.inner
                .l1
                .insert(key.clone(), L1Entry::new(session, user));
            if self.inner.generation.load(Ordering::SeqCst) != ticket.local() {
                self.inner.l1.invalidate(&key);
            }
        }
        // L2: Redis decides, atomically, against the tombstones the invalidations left.
        let (Some(redis), Some(filled_at_ms)) = (self.redis(), ticket.shared()) else {
            return Ok(());
        };
        // Boxed, as in `get`: inline, the Redis round trip would make every `put` allocate
        // and copy its 21 KB, without Redis too.
        Box::pin(self.l2_put(redis, session, user, key, filled_at_ms)).await
    }

    async fn invalidate(&self, token: &SessionToken) -> Result<(), PortError> {
        let key = key_of(token);
        self.bump();
        self.inner.l1.invalidate(&key);
        self.send(Invalidation::Token(key)).await
    }

    async fn invalidate_user(&self, user_id: &UserId) -> Result<(), PortError> {
        let id = user_id.to_string();
        self.bump();
        let _ = self.inner.l1.invalidate_entries_if({
            let id = id.clone();
            move |_, entry| entry.lookup.1.id.as_str() == id
        });
        self.send(Invalidation::User(id)).await
    }
}

/// Redis's `TIME` answer (seconds, microseconds) in milliseconds.
fn redis_time_ms(time: &[String]) -> Option<i64> {
    let seconds: i64 = time.first()?.parse().ok()?;
    let micros: i64 = time.get(1)?.parse().ok()?;
    Some(seconds * 1000 + micros / 1000)
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_output_says_redis_is_set_without_the_url() {
        let config = CacheConfig {
            redis_url: Some("redis://:hunter2@cache:6379".to_owned()),
            ..CacheConfig::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("redis: true"), "{printed}");
    }
}
