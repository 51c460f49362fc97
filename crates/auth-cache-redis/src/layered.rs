//! L1 (moka, in process) over L2 (Redis), with pub/sub invalidation across instances.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_domain::{Session, SessionToken, User, UserId};
use auth_ports::{PortError, SessionCache};
use base64::Engine as _;
use deadpool_redis::redis::{self, AsyncCommands, Script};
use deadpool_redis::{Pool, Runtime, Timeouts};
use futures_util::StreamExt as _;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::wire::CachedLookup;

/// Cache settings. `Debug` says whether a Redis URL is set, not what it is (it may hold a
/// password).
#[derive(Clone, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most entries kept in process.
    pub l1_capacity: u64,
    /// How long an entry lives in process: the bound on serving a revoked session when an
    /// invalidation message is lost.
    pub l1_ttl: Duration,
    /// How long an entry lives in Redis.
    pub l2_ttl: Duration,
    /// `redis://host:port`; `None` keeps the cache in process only (one instance).
    pub redis_url: Option<String>,
    /// Key and channel prefix.
    pub prefix: String,
    /// Longest wait on Redis per operation.
    pub timeout: Duration,
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
            .finish()
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
        }
    }
}

type Entry = Arc<(Session, User)>;

/// The two-layer cache. Cheap to clone.
#[derive(Clone)]
pub struct LayeredSessionCache {
    inner: Arc<Inner>,
}

struct Inner {
    l1: moka::sync::Cache<String, Entry>,
    redis: Option<RedisLayer>,
}

struct RedisLayer {
    pool: Pool,
    prefix: String,
    timeout: Duration,
    l2_ttl: Duration,
    skip_until: Mutex<Option<Instant>>,
    invalidate_user: Script,
}

/// After a Redis failure, the cache works from L1 (and callers from the store) for this long
/// before Redis is tried again.
const RETRY_REDIS_AFTER: Duration = Duration::from_millis(500);

const INVALIDATE_USER: &str = r"
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
    metrics::counter!("auth_redis_errors_total", "component" => "cache").increment(1);
    PortError::Unavailable(error.to_string().into())
}

fn hit(layer: &'static str, found: bool) {
    let result = if found { "hit" } else { "miss" };
    metrics::counter!("auth_cache_requests_total", "layer" => layer, "result" => result)
        .increment(1);
}

impl LayeredSessionCache {
    /// Builds the cache and, with Redis, starts the invalidation listener (it reconnects by
    /// itself and clears L1 after every reconnect, since messages may have been missed).
    ///
    /// # Errors
    /// `PortError::Internal` for a malformed Redis URL.
    pub fn start(config: &CacheConfig) -> Result<Self, PortError> {
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
        let redis = match &config.redis_url {
            None => None,
            Some(url) => {
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
                ));
                Some(RedisLayer {
                    pool,
                    prefix: config.prefix.clone(),
                    timeout: config.timeout,
                    l2_ttl: config.l2_ttl,
                    skip_until: Mutex::new(None),
                    invalidate_user: Script::new(INVALIDATE_USER),
                })
            }
        };
        Ok(Self {
            inner: Arc::new(Inner { l1, redis }),
        })
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
        let result = match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(unavailable("redis did not answer in time")),
        };
        if let Err(error) = &result {
            self.failed(error);
        }
        result
    }

    async fn connection(&self) -> Result<deadpool_redis::Connection, PortError> {
        self.pool.get().await.map_err(unavailable)
    }
}

async fn listen(client: redis::Client, channel: String, l1: moka::sync::Cache<String, Entry>) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub.subscribe(&channel).await.is_ok() {
                    // Messages may have been missed while disconnected.
                    l1.invalidate_all();
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        evict(&l1, &payload);
                    }
                }
                tracing::warn!("session cache: invalidation channel lost; reconnecting");
            }
            Err(error) => tracing::debug!(error = %error, "session cache: cannot subscribe yet"),
        }
        l1.invalidate_all();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn evict(l1: &moka::sync::Cache<String, Entry>, payload: &str) {
    if let Some(hash) = payload.strip_prefix("t:") {
        l1.invalidate(hash);
    } else if let Some(user_id) = payload.strip_prefix("u:") {
        let user_id = user_id.to_owned();
        let _ = l1.invalidate_entries_if(move |_, entry| entry.1.id.as_str() == user_id);
    }
}

fn ttl_ms(session: &Session, ceiling: Duration, now: OffsetDateTime) -> u64 {
    let remaining = u64::try_from((session.expires_at - now).whole_milliseconds()).unwrap_or(0);
    let ceiling = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    remaining.min(ceiling)
}

#[async_trait::async_trait]
impl SessionCache for LayeredSessionCache {
    async fn get(&self, token: &SessionToken) -> Result<Option<(Session, User)>, PortError> {
        let key = key_of(token);
        if let Some(entry) = self.inner.l1.get(&key) {
            hit("l1", true);
            return Ok(Some((*entry).clone()));
        }
        hit("l1", false);
        let Some(redis) = self.redis() else {
            return Ok(None);
        };
        let cached: Option<String> = redis
            .run(async {
                let mut connection = redis.connection().await?;
                connection
                    .get(format!("{}:sess:{key}", redis.prefix))
                    .await
                    .map_err(unavailable)
            })
            .await?;
        let lookup = cached
            .and_then(|json| serde_json::from_str::<CachedLookup>(&json).ok())
            .and_then(|cached| cached.into_domain(token));
        hit("l2", lookup.is_some());
        if let Some(lookup) = &lookup {
            self.inner.l1.insert(key, Arc::new(lookup.clone()));
        }
        Ok(lookup)
    }

    async fn put(&self, session: &Session, user: &User) -> Result<(), PortError> {
        let key = key_of(&session.token);
        self.inner
            .l1
            .insert(key.clone(), Arc::new((session.clone(), user.clone())));
        let Some(redis) = self.redis() else {
            return Ok(());
        };
        #[expect(
            clippy::disallowed_methods,
            reason = "a TTL in Redis is wall-clock time"
        )]
        let ttl = ttl_ms(session, redis.l2_ttl, OffsetDateTime::now_utc());
        if ttl == 0 {
            return Ok(());
        }
        let json = serde_json::to_string(&CachedLookup::new(session, user))
            .map_err(|e| PortError::internal(e.to_string()))?;
        let user_key = format!("{}:user:{}", redis.prefix, session.user_id);
        redis
            .run(async {
                let mut connection = redis.connection().await?;
                redis::pipe()
                    .set_ex(
                        format!("{}:sess:{key}", redis.prefix),
                        json,
                        ttl.div_ceil(1000),
                    )
                    .ignore()
                    .sadd(&user_key, &key)
                    .ignore()
                    .expire(
                        &user_key,
                        i64::try_from(redis.l2_ttl.as_secs())
                            .unwrap_or(i64::MAX)
                            .max(1),
                    )
                    .ignore()
                    .query_async::<()>(&mut connection)
                    .await
                    .map_err(unavailable)
            })
            .await
    }

    async fn invalidate(&self, token: &SessionToken) -> Result<(), PortError> {
        let key = key_of(token);
        self.inner.l1.invalidate(&key);
        let Some(redis) = self.inner.redis.as_ref() else {
            return Ok(());
        };
        redis
            .run(async {
                let mut connection = redis.connection().await?;
                redis::pipe()
                    .del(format!("{}:sess:{key}", redis.prefix))
                    .ignore()
                    .publish(format!("{}:invalidate", redis.prefix), format!("t:{key}"))
                    .ignore()
                    .query_async::<()>(&mut connection)
                    .await
                    .map_err(unavailable)
            })
            .await
    }

    async fn invalidate_user(&self, user_id: &UserId) -> Result<(), PortError> {
        let id = user_id.to_string();
        let _ = self.inner.l1.invalidate_entries_if({
            let id = id.clone();
            move |_, entry| entry.1.id.as_str() == id
        });
        let Some(redis) = self.inner.redis.as_ref() else {
            return Ok(());
        };
        redis
            .run(async {
                let mut connection = redis.connection().await?;
                redis
                    .invalidate_user
                    .key(format!("{}:user:{id}", redis.prefix))
                    .arg(&redis.prefix)
                    .arg(&id)
                    .invoke_async::<i64>(&mut connection)
                    .await
                    .map(|_| ())
                    .map_err(unavailable)
            })
            .await
    }
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
