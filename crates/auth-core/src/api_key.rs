//! The API-key use cases (`@better-auth/api-key` 1.7): create, read, update, delete and list a
//! user's keys, verify a presented key (its counters updated atomically by the store), and the
//! session a key stands for. Rules and error codes: the wire contract's section 7.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use auth_domain::{
    ApiKey, Fields, KeyRefusal, Model, Permissions, Session, SessionId, SessionToken, UserId,
    start_of,
};
use auth_ports::{ApiKeyHasher, ApiKeyRepo, Counted, KeyCounters, KeyUse, LETTERS, Reserved};
use time::{Duration, OffsetDateTime};

use crate::plugin::{AuthPlugin, PluginError, PluginErrorKind, PluginFuture};
use crate::{Auth, AuthContext, AuthError, ClientInfo};

mod cache;
mod lease;
mod organization;

use cache::KeyCache;
use lease::Leases;
pub use organization::OrganizationKeys;

/// Who owns a configuration's keys (Better-Auth's `references`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeyOwner {
    /// The user who made the key (`"user"`).
    #[default]
    User,
    /// An organization: its members manage the keys as their roles allow
    /// (`"organization"`, [`OrganizationKeys`]).
    Organization,
}

/// The per-key rate limit new keys get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRateLimit {
    /// Counting is on (a key can still turn it off for itself).
    pub enabled: bool,
    /// The window.
    pub time_window: Duration,
    /// Most uses per window.
    pub max_requests: i64,
}

/// Settings of the API-key plugin; defaults are Better-Auth's (section 7.1) plus the bounds a
/// production server needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyConfig {
    /// The configuration's id (`default`).
    pub config_id: String,
    /// Who owns its keys.
    pub references: KeyOwner,
    /// Length of the random part of a key (64).
    pub key_length: usize,
    /// Prefix of new keys when the request names none.
    pub default_prefix: Option<String>,
    /// Shortest and longest prefix (1, 32).
    pub prefix_length: (usize, usize),
    /// Shortest and longest name (1, 32).
    pub name_length: (usize, usize),
    /// A key must have a name.
    pub require_name: bool,
    /// Keys may carry metadata.
    pub enable_metadata: bool,
    /// Largest metadata, as JSON text (ours; Better-Auth has no bound).
    pub max_metadata_bytes: usize,
    /// The rate limit of new keys.
    pub rate_limit: KeyRateLimit,
    /// Expiry of keys created without one (`None`: never).
    pub default_expires_in: Option<Duration>,
    /// Requests may not choose an expiry (`disableCustomExpiresTime`).
    pub disable_custom_expiry: bool,
    /// Shortest and longest chosen expiry (1 day, 365 days).
    pub expires_in: (Duration, Duration),
    /// How many leading characters are kept as `start` (`None`: not kept).
    pub start_length: Option<usize>,
    /// A key in the header stands for a session of its owner (`enableSessionForAPIKeys`).
    pub session_for_keys: bool,
    /// Permissions of keys created without any.
    pub default_permissions: Option<Permissions>,
    /// Most keys one owner may have (ours; Better-Auth has no bound).
    pub max_keys_per_owner: usize,
    /// How long a verified key whose uses count nothing is served from memory (0: never).
    /// Every instance drops a key at once when it changes; this bounds staleness when that
    /// message is lost.
    pub cache_ttl: Duration,
    /// Most keys kept in memory.
    pub cache_capacity: usize,
    /// A key served from memory has its `lastRequest` written at most this often
    /// (Better-Auth's `deferUpdates`).
    pub touch_interval: Duration,
}

impl Default for ApiKeyConfig {
    fn default() -> Self {
        Self {
            config_id: DEFAULT_CONFIG_ID.to_owned(),
            references: KeyOwner::User,
            key_length: 64,
            default_prefix: None,
            prefix_length: (1, 32),
            name_length: (1, 32),
            require_name: false,
            enable_metadata: false,
            max_metadata_bytes: 4096,
            rate_limit: KeyRateLimit {
                enabled: true,
                time_window: Duration::days(1),
                max_requests: 10,
            },
            default_expires_in: None,
            disable_custom_expiry: false,
            expires_in: (Duration::days(1), Duration::days(365)),
            start_length: Some(6),
            session_for_keys: false,
            default_permissions: None,
            max_keys_per_owner: 1000,
            cache_ttl: Duration::seconds(1),
            cache_capacity: 10_000,
            touch_interval: Duration::seconds(10),
        }
    }
}

/// The configuration id Better-Auth gives keys by default.
pub const DEFAULT_CONFIG_ID: &str = "default";

/// Largest count or millisecond interval a key may hold: what an `integer` column holds.
pub const MAX_KEY_NUMBER: i64 = i32::MAX as i64;

/// How often expired keys are swept (Better-Auth: at most every 10 s, on the key routes).
const SWEEP_INTERVAL: Duration = Duration::seconds(10);

/// Who asks: a client over HTTP (the server-only fields are refused), or the embedding program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// An HTTP request.
    Client,
    /// Rust code of the server.
    Server,
}

/// `POST /api-key/create`.
#[derive(Debug, Clone)]
pub struct CreateApiKey {
    /// The owner.
    pub user_id: UserId,
    /// Who asks.
    pub caller: Caller,
    /// The configuration (`default` when absent).
    pub config_id: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Lifetime in seconds (`None`: the default expiry, if any).
    pub expires_in: Option<i64>,
    /// Prefix (`^[a-zA-Z0-9_-]+$`, checked by the caller's parser).
    pub prefix: Option<String>,
    /// Metadata as JSON text of an object.
    pub metadata: Option<String>,
    /// Server only.
    pub permissions: Option<Permissions>,
    /// Server only.
    pub remaining: Option<i64>,
    /// Server only.
    pub refill_amount: Option<i64>,
    /// Server only, milliseconds.
    pub refill_interval: Option<i64>,
    /// Server only, milliseconds.
    pub rate_limit_time_window: Option<i64>,
    /// Server only.
    pub rate_limit_max: Option<i64>,
    /// Server only.
    pub rate_limit_enabled: Option<bool>,
}

impl CreateApiKey {
    /// A request of `user_id` with nothing else set.
    #[must_use]
    pub fn for_user(user_id: UserId, caller: Caller) -> Self {
        Self {
            user_id,
            caller,
            config_id: None,
            name: None,
            expires_in: None,
            prefix: None,
            metadata: None,
            permissions: None,
            remaining: None,
            refill_amount: None,
            refill_interval: None,
            rate_limit_time_window: None,
            rate_limit_max: None,
            rate_limit_enabled: None,
        }
    }
}

/// A new key: the only time its plaintext exists outside the client.
pub struct CreatedApiKey {
    /// The full key (prefix included).
    pub key: auth_domain::Secret<String>,
    /// The stored key.
    pub api_key: ApiKey,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("key", &"[redacted]")
            .field("api_key", &self.api_key)
            .finish()
    }
}

/// `POST /api-key/update`: `None` leaves a field as it is.
#[derive(Debug, Clone)]
pub struct UpdateApiKey {
    /// The owner asking.
    pub user_id: UserId,
    /// Who asks.
    pub caller: Caller,
    /// The key.
    pub key_id: String,
    /// The configuration to look in.
    pub config_id: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// New lifetime in seconds from now; `Some(None)` makes it never expire.
    pub expires_in: Option<Option<i64>>,
    /// New metadata (JSON text of an object); ignored when metadata is off, as Better-Auth.
    pub metadata: Option<String>,
    /// Server only.
    pub remaining: Option<i64>,
    /// Server only (with `refill_interval`).
    pub refill_amount: Option<i64>,
    /// Server only, milliseconds (with `refill_amount`).
    pub refill_interval: Option<i64>,
    /// Server only.
    pub rate_limit_enabled: Option<bool>,
    /// Server only, milliseconds.
    pub rate_limit_time_window: Option<i64>,
    /// Server only.
    pub rate_limit_max: Option<i64>,
    /// Server only; `Some(None)` removes them.
    pub permissions: Option<Option<Permissions>>,
}

impl UpdateApiKey {
    /// A request of `user_id` on `key_id` that changes nothing yet.
    #[must_use]
    pub fn of(user_id: UserId, caller: Caller, key_id: String) -> Self {
        Self {
            user_id,
            caller,
            key_id,
            config_id: None,
            name: None,
            enabled: None,
            expires_in: None,
            metadata: None,
            remaining: None,
            refill_amount: None,
            refill_interval: None,
            rate_limit_enabled: None,
            rate_limit_time_window: None,
            rate_limit_max: None,
            permissions: None,
        }
    }
}

/// What `GET /api-key/list` sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySort {
    /// `createdAt` (the default).
    CreatedAt,
    /// `updatedAt`.
    UpdatedAt,
    /// `name`.
    Name,
    /// `expiresAt`.
    ExpiresAt,
    /// `lastRequest`.
    LastRequest,
}

impl KeySort {
    /// The sort named by a `sortBy` value.
    #[must_use]
    pub fn parse(field: &str) -> Option<Self> {
        Some(match field {
            "createdAt" => Self::CreatedAt,
            "updatedAt" => Self::UpdatedAt,
            "name" => Self::Name,
            "expiresAt" => Self::ExpiresAt,
            "lastRequest" => Self::LastRequest,
            _ => return None,
        })
    }
}

/// `GET /api-key/list`.
#[derive(Debug, Clone)]
pub struct ListApiKeys {
    /// The owner.
    pub user_id: UserId,
    /// Only this configuration's keys.
    pub config_id: Option<String>,
    /// At most this many.
    pub limit: Option<usize>,
    /// Skipping this many.
    pub offset: Option<usize>,
    /// Order.
    pub sort_by: KeySort,
    /// Newest (or largest) first.
    pub descending: bool,
}

/// A page of keys and how many there are in all.
#[derive(Debug, Clone)]
pub struct KeyPage {
    /// The page.
    pub keys: Vec<ApiKey>,
    /// Every key of the owner (in the configuration asked for).
    pub total: usize,
}

/// Whether `code` is the code of a presented key that is none: unknown, or not the configured
/// length (both refusals carry `INVALID_API_KEY`, with different statuses).
pub(crate) fn is_invalid_key_code(code: &str) -> bool {
    code == codes::INVALID_API_KEY.code
}

/// The error codes of section 7.4 and 7.5.
mod codes {
    use super::{PluginError, PluginErrorKind};

    const fn error(
        kind: PluginErrorKind,
        code: &'static str,
        message: &'static str,
    ) -> PluginError {
        PluginError::new(kind, code, message)
    }

    pub(super) const UNAUTHORIZED_SESSION: PluginError = error(
        PluginErrorKind::Unauthorized,
        "UNAUTHORIZED_SESSION",
        "Unauthorized or invalid session",
    );
    pub(super) const SERVER_ONLY_PROPERTY: PluginError = error(
        PluginErrorKind::BadRequest,
        "SERVER_ONLY_PROPERTY",
        "The property you're trying to set can only be set from the server auth instance only.",
    );
    pub(super) const METADATA_DISABLED: PluginError = error(
        PluginErrorKind::BadRequest,
        "METADATA_DISABLED",
        "Metadata is disabled.",
    );
    pub(super) const METADATA_TOO_LARGE: PluginError = error(
        PluginErrorKind::BadRequest,
        "METADATA_TOO_LARGE",
        "Metadata is larger than the configured maximum.",
    );
    pub(super) const REFILL_AMOUNT_AND_INTERVAL_REQUIRED: PluginError = error(
        PluginErrorKind::BadRequest,
        "REFILL_AMOUNT_AND_INTERVAL_REQUIRED",
        "refillAmount is required when refillInterval is provided",
    );
    pub(super) const REFILL_INTERVAL_AND_AMOUNT_REQUIRED: PluginError = error(
        PluginErrorKind::BadRequest,
        "REFILL_INTERVAL_AND_AMOUNT_REQUIRED",
        "refillInterval is required when refillAmount is provided",
    );
    pub(super) const KEY_DISABLED_EXPIRATION: PluginError = error(
        PluginErrorKind::BadRequest,
        "KEY_DISABLED_EXPIRATION",
        "Custom key expiration values are disabled.",
    );
    pub(super) const EXPIRES_IN_IS_TOO_SMALL: PluginError = error(
        PluginErrorKind::BadRequest,
        "EXPIRES_IN_IS_TOO_SMALL",
        "The expiresIn is smaller than the predefined minimum value.",
    );
    pub(super) const EXPIRES_IN_IS_TOO_LARGE: PluginError = error(
        PluginErrorKind::BadRequest,
        "EXPIRES_IN_IS_TOO_LARGE",
        "The expiresIn is larger than the predefined maximum value.",
    );
    pub(super) const INVALID_PREFIX_LENGTH: PluginError = error(
        PluginErrorKind::BadRequest,
        "INVALID_PREFIX_LENGTH",
        "The prefix length is either too large or too small.",
    );
    pub(super) const INVALID_NAME_LENGTH: PluginError = error(
        PluginErrorKind::BadRequest,
        "INVALID_NAME_LENGTH",
        "The name length is either too large or too small.",
    );
    pub(super) const NAME_REQUIRED: PluginError = error(
        PluginErrorKind::BadRequest,
        "NAME_REQUIRED",
        "API Key name is required.",
    );
    pub(super) const INVALID_REMAINING: PluginError = error(
        PluginErrorKind::BadRequest,
        "INVALID_REMAINING",
        "The remaining count is either too large or too small.",
    );
    pub(super) const INVALID_NUMBER: PluginError = error(
        PluginErrorKind::BadRequest,
        "VALIDATION_ERROR",
        "A count or interval is negative or too large.",
    );
    pub(super) const NO_VALUES_TO_UPDATE: PluginError = error(
        PluginErrorKind::BadRequest,
        "NO_VALUES_TO_UPDATE",
        "No values to update.",
    );
    pub(super) const KEY_NOT_FOUND: PluginError = error(
        PluginErrorKind::NotFound,
        "KEY_NOT_FOUND",
        "API Key not found",
    );
    pub(super) const TOO_MANY_KEYS: PluginError = error(
        PluginErrorKind::BadRequest,
        "TOO_MANY_API_KEYS",
        "The owner has as many API keys as allowed.",
    );
    pub(super) const NO_CONFIGURATION: PluginError = error(
        PluginErrorKind::BadRequest,
        "NO_DEFAULT_API_KEY_CONFIGURATION_FOUND",
        "No default api-key configuration found.",
    );
    pub(super) const INVALID_API_KEY: PluginError = error(
        PluginErrorKind::Unauthorized,
        "INVALID_API_KEY",
        "Invalid API key.",
    );
    pub(super) const INVALID_API_KEY_LENGTH: PluginError = error(
        PluginErrorKind::Forbidden,
        "INVALID_API_KEY",
        "Invalid API key.",
    );
    pub(super) const INVALID_REFERENCE_ID: PluginError = error(
        PluginErrorKind::Unauthorized,
        "INVALID_REFERENCE_ID_FROM_API_KEY",
        "The reference id from the API key is invalid.",
    );
}

fn refuse(error: PluginError) -> AuthError {
    AuthError::Plugin(error)
}

/// `401 UNAUTHORIZED_SESSION`: a key route called without a session, or naming another user.
#[must_use]
pub fn unauthorized_session() -> AuthError {
    refuse(codes::UNAUTHORIZED_SESSION)
}

/// A refused use of a key, with Better-Auth's status and code.
#[must_use]
pub fn refusal_error(refusal: KeyRefusal) -> AuthError {
    let (kind, message, details) = match refusal {
        KeyRefusal::Disabled => (PluginErrorKind::Unauthorized, "API Key is disabled", vec![]),
        KeyRefusal::Expired => (PluginErrorKind::Unauthorized, "API Key has expired", vec![]),
        KeyRefusal::MissingPermission => {
            (PluginErrorKind::Unauthorized, "API Key not found", vec![])
        }
        KeyRefusal::UsageExceeded { .. } => (
            PluginErrorKind::TooManyRequests,
            "API Key has reached its usage limit",
            vec![],
        ),
        KeyRefusal::RateLimited { try_again_in } => (
            PluginErrorKind::TooManyRequests,
            "Rate limit exceeded.",
            vec![(
                "tryAgainIn",
                i64::try_from(try_again_in.whole_milliseconds()).unwrap_or(i64::MAX),
            )],
        ),
    };
    refuse(PluginError {
        kind,
        code: refusal.code(),
        message: message.into(),
        details,
    })
}

/// A count or millisecond interval a caller gave, within what the table holds.
fn bounded(value: Option<i64>, min: i64) -> Result<Option<i64>, AuthError> {
    match value {
        Some(value) if !(min..=MAX_KEY_NUMBER).contains(&value) => {
            Err(refuse(codes::INVALID_NUMBER))
        }
        other => Ok(other),
    }
}

fn millis(value: Option<i64>) -> Option<Duration> {
    value.map(Duration::milliseconds)
}

/// What a key presented as a session stands for ([`ApiKeys::key_session`]).
#[derive(Debug, Clone)]
pub struct KeySession {
    /// The owner and the session the key stands for.
    pub context: AuthContext,
    /// The key after this use.
    pub key: ApiKey,
}

/// The API-key use cases over the key store; each runs on the façade it is given (users,
/// clock, randomness). The same value is the plugin's use-case side ([`AuthPlugin`]).
#[derive(Clone)]
pub struct ApiKeys {
    keys: Arc<dyn ApiKeyRepo>,
    hasher: Arc<dyn ApiKeyHasher>,
    config: Arc<ApiKeyConfig>,
    last_sweep: Arc<AtomicI64>,
    cache: Arc<KeyCache>,
    counters: Option<Arc<dyn KeyCounters>>,
    leases: Arc<Leases>,
}

/// A key after one use, with its owner when known.
struct Used {
    key: UsedKey,
    owner: Option<auth_domain::User>,
}

/// The key a use left: the cached entry itself when the use changed nothing in it, or the entry
/// with the counters this use left, so that a hot key's session is answered without copying the
/// whole key on every request.
enum UsedKey {
    Cached(Arc<cache::Cached>),
    /// A cached key and the counters this use left it with, applied when the key is taken.
    Counted(Arc<cache::Cached>, auth_domain::ApiKeyUse),
    Owned(Box<ApiKey>),
}

impl UsedKey {
    /// The key without this use's counters: its id, owner, settings and expiry, which a use
    /// does not change.
    fn settings(&self) -> &ApiKey {
        match self {
            Self::Cached(cached) | Self::Counted(cached, _) => &cached.key,
            Self::Owned(key) => key,
        }
    }

    /// The key as this use left it.
    fn into_owned(self) -> ApiKey {
        match self {
            Self::Cached(cached) => cached.key.clone(),
            Self::Counted(cached, used) => cached.key.clone().with_use(&used),
            Self::Owned(key) => *key,
        }
    }
}

impl Used {
    /// A cached key, with the counters this use left when it counts.
    fn from_cache(cached: &Arc<cache::Cached>, used: Option<auth_domain::ApiKeyUse>) -> Self {
        let key = match used {
            Some(used) => UsedKey::Counted(cached.clone(), used),
            None => UsedKey::Cached(cached.clone()),
        };
        Self {
            key,
            owner: cached.owner.clone(),
        }
    }
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ApiKeys {
    /// Whether `error` refuses a presented key as none of this configuration's (unknown, or
    /// not its length): all one configuration's keys can say of another's key.
    #[must_use]
    pub fn refused_as_unknown(error: &AuthError) -> bool {
        error.code().is_some_and(is_invalid_key_code)
    }

    /// The use cases with these parts and settings.
    #[must_use]
    pub fn new(
        keys: Arc<dyn ApiKeyRepo>,
        hasher: Arc<dyn ApiKeyHasher>,
        config: ApiKeyConfig,
    ) -> Self {
        Self {
            keys,
            hasher,
            cache: Arc::new(KeyCache::new(config.cache_ttl, config.cache_capacity)),
            config: Arc::new(config),
            last_sweep: Arc::new(AtomicI64::new(i64::MIN)),
            counters: None,
            leases: Arc::default(),
        }
    }

    /// The same use cases counting the uses of keys that count with `counters`, shared by
    /// every instance, instead of a database transaction per use; [`ApiKeys::write_back`]
    /// brings the database up to date.
    #[must_use]
    pub fn with_counters(mut self, counters: Arc<dyn KeyCounters>) -> Self {
        self.counters = Some(counters);
        self
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &ApiKeyConfig {
        &self.config
    }

    /// The configuration a request names: only this one exists.
    fn check_config(&self, config_id: Option<&str>) -> Result<(), AuthError> {
        match config_id {
            Some(id) if id != self.config.config_id => Err(refuse(codes::NO_CONFIGURATION)),
            _ => Ok(()),
        }
    }

    /// Deletes expired keys, at most every [`SWEEP_INTERVAL`]; a failure is only logged.
    async fn sweep(&self, now: OffsetDateTime) {
        let now_s = now.unix_timestamp();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now_s.saturating_sub(last) < SWEEP_INTERVAL.whole_seconds()
            || self
                .last_sweep
                .compare_exchange(last, now_s, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        match self.keys.delete_expired(now).await {
            Ok(0) => {}
            Ok(count) => tracing::debug!(count, "expired api keys deleted"),
            Err(error) => tracing::warn!(error = %error, "expired api keys not swept"),
        }
    }

    fn check_name(&self, name: Option<&str>) -> Result<(), AuthError> {
        if let Some(name) = name {
            auth_domain::text::check_text("name", name)?;
        }
        let (min, max) = self.config.name_length;
        match name {
            Some(name) if !(min..=max).contains(&name.chars().count()) => {
                Err(refuse(codes::INVALID_NAME_LENGTH))
            }
            Some(_) => Ok(()),
            None if self.config.require_name => Err(refuse(codes::NAME_REQUIRED)),
            None => Ok(()),
        }
    }

    fn check_metadata(&self, metadata: &str) -> Result<(), AuthError> {
        if metadata.len() > self.config.max_metadata_bytes {
            return Err(refuse(codes::METADATA_TOO_LARGE));
        }
        Ok(())
    }

    /// The expiry a chosen lifetime gives, within the configured bounds.
    fn expiry(&self, now: OffsetDateTime, seconds: i64) -> Result<OffsetDateTime, AuthError> {
        if self.config.disable_custom_expiry {
            return Err(refuse(codes::KEY_DISABLED_EXPIRATION));
        }
        let (min, max) = self.config.expires_in;
        // Compared in seconds: Better-Auth compares `expiresIn / 86400` to whole days.
        if seconds < min.whole_seconds() {
            return Err(refuse(codes::EXPIRES_IN_IS_TOO_SMALL));
        }
        if seconds > max.whole_seconds() {
            return Err(refuse(codes::EXPIRES_IN_IS_TOO_LARGE));
        }
        Ok(now + Duration::seconds(seconds))
    }

    fn refill_pair(amount: Option<i64>, interval: Option<i64>) -> Result<(), AuthError> {
        match (amount, interval) {
            (Some(_), None) => Err(refuse(codes::REFILL_AMOUNT_AND_INTERVAL_REQUIRED)),
            (None, Some(_)) => Err(refuse(codes::REFILL_INTERVAL_AND_AMOUNT_REQUIRED)),
            _ => Ok(()),
        }
    }

    /// Creates a key for the user; its plaintext is returned once.
    ///
    /// # Errors
    /// The codes of section 7.4, `Unavailable` when the store is down.
    pub async fn create(
        &self,
        auth: &Auth,
        request: CreateApiKey,
    ) -> Result<CreatedApiKey, AuthError> {
        self.check_config(request.config_id.as_deref())?;
        let server_only = request.refill_amount.is_some()
            || request.refill_interval.is_some()
            || request.rate_limit_max.is_some()
            || request.rate_limit_time_window.is_some()
            || request.rate_limit_enabled.is_some()
            || request.permissions.is_some()
            || request.remaining.is_some();
        if request.caller == Caller::Client && server_only {
            return Err(refuse(codes::SERVER_ONLY_PROPERTY));
        }
        if let Some(metadata) = &request.metadata {
            if !self.config.enable_metadata {
                return Err(refuse(codes::METADATA_DISABLED));
            }
            self.check_metadata(metadata)?;
        }
        Self::refill_pair(request.refill_amount, request.refill_interval)?;
        let remaining = bounded(request.remaining, 0)?;
        let refill_amount = bounded(request.refill_amount, 1)?;
        let refill_interval = bounded(request.refill_interval, 1)?;
        let window = bounded(request.rate_limit_time_window, 0)?;
        let max = bounded(request.rate_limit_max, 0)?;
        let now = auth.now();
        let expires_at = match request.expires_in {
            Some(seconds) => Some(self.expiry(now, seconds)?),
            None => self
                .config
                .default_expires_in
                .map(|lifetime| now + lifetime),
        };
        let prefix = request
            .prefix
            .clone()
            .or_else(|| self.config.default_prefix.clone());
        if let Some(prefix) = &request.prefix {
            let (min, max) = self.config.prefix_length;
            if !(min..=max).contains(&prefix.len()) {
                return Err(refuse(codes::INVALID_PREFIX_LENGTH));
            }
        }
        self.check_name(request.name.as_deref())?;
        self.sweep(now).await;
        if self.keys.list(request.user_id.as_str(), None).await?.len()
            >= self.config.max_keys_per_owner
        {
            return Err(refuse(codes::TOO_MANY_KEYS));
        }
        let random = auth.deps().random.string(LETTERS, self.config.key_length);
        let full = format!("{}{random}", prefix.as_deref().unwrap_or_default());
        let api_key = ApiKey {
            id: auth.new_id(),
            config_id: self.config.config_id.clone(),
            name: request.name,
            start: self
                .config
                .start_length
                .map(|length| start_of(&full, length)),
            prefix,
            reference_id: request.user_id.as_str().to_owned(),
            enabled: true,
            rate_limit_enabled: request
                .rate_limit_enabled
                .unwrap_or(self.config.rate_limit.enabled),
            rate_limit_time_window: millis(window).or(Some(self.config.rate_limit.time_window)),
            rate_limit_max: max.or(Some(self.config.rate_limit.max_requests)),
            request_count: 0,
            remaining,
            refill_amount,
            refill_interval: millis(refill_interval),
            last_refill_at: None,
            last_request: None,
            expires_at,
            created_at: now,
            updated_at: now,
            permissions: request
                .permissions
                .or_else(|| self.config.default_permissions.clone()),
            metadata: request.metadata,
        };
        self.keys
            .create(&api_key, &self.hasher.digest(&full))
            .await?;
        tracing::debug!(key_id = %api_key.id, "api key created");
        Ok(CreatedApiKey {
            key: auth_domain::Secret::new(full),
            api_key,
        })
    }

    /// The user's key with this id; another owner's key is not found.
    async fn owned(
        &self,
        user_id: &UserId,
        key_id: &str,
        config_id: Option<&str>,
    ) -> Result<ApiKey, AuthError> {
        self.check_config(config_id)?;
        // No stored id holds a control character (and Postgres cannot compare a NUL).
        if key_id.chars().any(char::is_control) {
            return Err(refuse(codes::KEY_NOT_FOUND));
        }
        match self.keys.find(key_id).await? {
            Some(key)
                if key.reference_id == user_id.as_str()
                    && key.config_id == self.config.config_id =>
            {
                Ok(key)
            }
            _ => Err(refuse(codes::KEY_NOT_FOUND)),
        }
    }

    /// A key of this configuration, whoever owns it.
    async fn of_config(&self, key_id: &str) -> Result<ApiKey, AuthError> {
        if key_id.chars().any(char::is_control) {
            return Err(refuse(codes::KEY_NOT_FOUND));
        }
        match self.keys.find(key_id).await? {
            Some(key) if key.config_id == self.config.config_id => Ok(key),
            _ => Err(refuse(codes::KEY_NOT_FOUND)),
        }
    }

    /// `GET /api-key/get`: one of the user's keys.
    ///
    /// # Errors
    /// `404 KEY_NOT_FOUND` for an unknown key or another owner's.
    pub async fn get(
        &self,
        auth: &Auth,
        user_id: &UserId,
        key_id: &str,
        config_id: Option<&str>,
    ) -> Result<ApiKey, AuthError> {
        let key = self.owned(user_id, key_id, config_id).await?;
        self.sweep(auth.now()).await;
        Ok(key)
    }

    /// `POST /api-key/update`.
    ///
    /// # Errors
    /// The codes of section 7.4, `404 KEY_NOT_FOUND`, `400 NO_VALUES_TO_UPDATE`.
    pub async fn update(&self, auth: &Auth, request: UpdateApiKey) -> Result<ApiKey, AuthError> {
        let server_only = request.refill_amount.is_some()
            || request.refill_interval.is_some()
            || request.rate_limit_max.is_some()
            || request.rate_limit_time_window.is_some()
            || request.rate_limit_enabled.is_some()
            || request.remaining.is_some()
            || request.permissions.is_some();
        if request.caller == Caller::Client && server_only {
            return Err(refuse(codes::SERVER_ONLY_PROPERTY));
        }
        // Counts held by the shared counters reach the row before it is read; after the update,
        // they start afresh from it, with the new settings.
        self.write_back().await?;
        let mut key = self
            .owned(
                &request.user_id,
                &request.key_id,
                request.config_id.as_deref(),
            )
            .await?;
        let now = auth.now();
        let mut changed = false;
        if let Some(name) = request.name {
            self.check_name(Some(&name))?;
            key.name = Some(name);
            changed = true;
        }
        if let Some(enabled) = request.enabled {
            key.enabled = enabled;
            changed = true;
        }
        if let Some(expires_in) = request.expires_in {
            key.expires_at = match expires_in {
                Some(seconds) => Some(self.expiry(now, seconds)?),
                None if self.config.disable_custom_expiry => {
                    return Err(refuse(codes::KEY_DISABLED_EXPIRATION));
                }
                None => None,
            };
            changed = true;
        }
        if let Some(metadata) = request.metadata
            && self.config.enable_metadata
        {
            self.check_metadata(&metadata)?;
            key.metadata = Some(metadata);
            changed = true;
        }
        if let Some(remaining) = request.remaining {
            if !(1..=MAX_KEY_NUMBER).contains(&remaining) {
                return Err(refuse(codes::INVALID_REMAINING));
            }
            key.remaining = Some(remaining);
            changed = true;
        }
        if request.refill_amount.is_some() || request.refill_interval.is_some() {
            Self::refill_pair(request.refill_amount, request.refill_interval)?;
            key.refill_amount = bounded(request.refill_amount, 1)?;
            key.refill_interval = millis(bounded(request.refill_interval, 1)?);
            changed = true;
        }
        if let Some(enabled) = request.rate_limit_enabled {
            key.rate_limit_enabled = enabled;
            changed = true;
        }
        if let Some(window) = bounded(request.rate_limit_time_window, 0)? {
            key.rate_limit_time_window = Some(Duration::milliseconds(window));
            changed = true;
        }
        if let Some(max) = bounded(request.rate_limit_max, 0)? {
            key.rate_limit_max = Some(max);
            changed = true;
        }
        if let Some(permissions) = request.permissions {
            key.permissions = permissions;
            changed = true;
        }
        if !changed {
            return Err(refuse(codes::NO_VALUES_TO_UPDATE));
        }
        key.updated_at = now;
        self.keys.update(&key).await.map_err(|error| match error {
            auth_ports::PortError::NotFound => refuse(codes::KEY_NOT_FOUND),
            other => other.into(),
        })?;
        // Every copy of the key is dropped whatever happens next.
        self.changed(auth, &key, !key.enabled).await;
        // The quota is written only when the server sets it, so an update never gives back
        // the uses made while it ran.
        if let Some(remaining) = request.remaining {
            if !self.keys.set_remaining(&key.id, Some(remaining)).await? {
                return Err(refuse(codes::KEY_NOT_FOUND));
            }
            if let Some(counters) = &self.counters {
                counters.reset(&key).await?;
            }
        }
        self.sweep(now).await;
        Ok(key)
    }

    /// `POST /api-key/delete`.
    ///
    /// # Errors
    /// `404 KEY_NOT_FOUND` for an unknown key or another owner's.
    pub async fn delete(
        &self,
        auth: &Auth,
        user_id: &UserId,
        key_id: &str,
        config_id: Option<&str>,
    ) -> Result<(), AuthError> {
        let key = self.owned(user_id, key_id, config_id).await?;
        if !self.keys.delete(&key.id).await? {
            return Err(refuse(codes::KEY_NOT_FOUND));
        }
        self.revoke_counters(&key.id).await;
        self.changed(auth, &key, true).await;
        tracing::debug!(key_id = %key.id, "api key deleted");
        self.sweep(auth.now()).await;
        Ok(())
    }

    /// `GET /api-key/list`: a page of the user's keys and their number.
    ///
    /// # Errors
    /// `Unavailable` when the store is down.
    pub async fn list(&self, auth: &Auth, request: ListApiKeys) -> Result<KeyPage, AuthError> {
        if let Some(config_id) = &request.config_id
            && *config_id != self.config.config_id
        {
            return Ok(KeyPage {
                keys: Vec::new(),
                total: 0,
            });
        }
        let mut keys = self
            .keys
            .list(request.user_id.as_str(), Some(&self.config.config_id))
            .await?;
        match request.sort_by {
            KeySort::CreatedAt => keys.sort_by_key(|key| key.created_at),
            KeySort::UpdatedAt => keys.sort_by_key(|key| key.updated_at),
            KeySort::Name => keys.sort_by(|a, b| a.name.cmp(&b.name)),
            KeySort::ExpiresAt => keys.sort_by_key(|key| key.expires_at),
            KeySort::LastRequest => keys.sort_by_key(|key| key.last_request),
        }
        if request.descending {
            keys.reverse();
        }
        let total = keys.len();
        let keys = keys
            .into_iter()
            .skip(request.offset.unwrap_or(0))
            .take(request.limit.unwrap_or(usize::MAX))
            .collect();
        self.sweep(auth.now()).await;
        Ok(KeyPage { keys, total })
    }

    /// Verifies a presented key (Better-Auth's server-side `verifyApiKey`): one use of it,
    /// counted atomically, asking for `required` permissions when given. An expired key and a
    /// key whose quota can never refill are deleted.
    ///
    /// # Errors
    /// `401 INVALID_API_KEY` for an unknown key, then the codes of section 7.5.
    pub async fn verify(
        &self,
        auth: &Auth,
        key: &str,
        required: Option<&Permissions>,
    ) -> Result<ApiKey, AuthError> {
        Ok(self
            .use_presented(auth, key, required)
            .await?
            .key
            .into_owned())
    }

    /// Whether a key's uses change a counter that must be exact (a quota, a counted rate
    /// limit); such a key is never served from memory.
    fn counted(&self, key: &ApiKey) -> bool {
        key.counts(self.config.rate_limit.enabled)
    }

    /// One use of a presented key. A key that counts nothing is served from memory; a key that
    /// counts is counted by the shared counters when there are any (its settings from memory),
    /// else by the store's atomic use.
    async fn use_presented(
        &self,
        auth: &Auth,
        key: &str,
        required: Option<&Permissions>,
    ) -> Result<Used, AuthError> {
        let used = self.use_presented_uncounted(auth, key, required).await;
        crate::metrics::key_verified(&used);
        used
    }

    async fn use_presented_uncounted(
        &self,
        auth: &Auth,
        key: &str,
        required: Option<&Permissions>,
    ) -> Result<Used, AuthError> {
        let digest = self.hasher.digest(key);
        let now = auth.now();
        let limits = self.config.rate_limit.enabled;
        // What is not a hot key's plain use (a reload, a refusal, shared counters, a miss) is
        // boxed: inline, those futures would make this one kilobytes larger, and it is moved
        // whole on every request. (The store's `touch` is a boxed future already.)
        if let Some(mut cached) = self.cache.get(&digest, now) {
            if self.cache.claim_reload(&cached, now) {
                match Box::pin(self.reload(auth, &digest, &cached, now)).await {
                    Ok(Some(reloaded)) => cached = reloaded,
                    Ok(None) => return Err(refuse(codes::INVALID_API_KEY)),
                    // The entry holds until it expires; the use after that reads the store.
                    Err(error) => tracing::warn!(error = %error, "an api key was not reloaded"),
                }
            }
            if !self.counted(&cached.key) {
                if let Err(refusal) = cached.key.use_at(now, required, limits) {
                    return Err(Box::pin(self.refused(auth, &cached.key, refusal)).await);
                }
                if cached.claim_touch(now, self.config.touch_interval)
                    && let Err(error) = self.keys.touch(&cached.key.id, now).await
                {
                    tracing::warn!(error = %error, "an api key's last use was not written");
                }
                return Ok(Used::from_cache(&cached, None));
            }
            if self.counters.is_some() || self.leasable(&cached.key) {
                let used = Box::pin(self.count_shared(auth, &cached.key, now, required)).await?;
                return Ok(Used::from_cache(&cached, Some(used)));
            }
        }
        Box::pin(self.use_stored(auth, &digest, now, required)).await
    }

    /// A cached key's row read again ahead of the entry's expiry (with its owner, when the entry
    /// holds one), and cached in its stead; `None` when the key is gone.
    async fn reload(
        &self,
        auth: &Auth,
        digest: &str,
        cached: &cache::Cached,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<cache::Cached>>, AuthError> {
        let generation = self.cache.generation();
        let stored = match self.keys.find_by_digest(digest).await? {
            Some(stored) if stored.config_id == self.config.config_id => stored,
            _ => {
                self.cache.forget(|key| key.id == cached.key.id);
                return Ok(None);
            }
        };
        let owner = match cached.owner {
            Some(_) => auth.user(&UserId::new(stored.reference_id.clone())).await?,
            None => None,
        };
        let reloaded = cached.reloaded(stored, owner, now);
        self.cache.put(digest, &reloaded, generation);
        Ok(Some(reloaded))
    }

    /// A use of a key the cache does not hold (or holds but counts in the row): read from the
    /// store.
    async fn use_stored(
        &self,
        auth: &Auth,
        digest: &str,
        now: OffsetDateTime,
        required: Option<&Permissions>,
    ) -> Result<Used, AuthError> {
        let limits = self.config.rate_limit.enabled;
        let generation = self.cache.generation();
        // A miss reads the row; only a key that counts without shared counters needs the
        // store's atomic use (a write transaction).
        let Some(stored) = self.keys.find_by_digest(digest).await? else {
            return Err(refuse(codes::INVALID_API_KEY));
        };
        if stored.config_id != self.config.config_id {
            return Err(refuse(codes::INVALID_API_KEY));
        }
        if !self.counted(&stored) {
            if let Err(refusal) = stored.use_at(now, required, limits) {
                return Err(self.refused(auth, &stored, refusal).await);
            }
            // Many requests may miss at once (when the entry expires): the row's last use is
            // written only when it is older than the interval.
            let stale = stored
                .last_request
                .is_none_or(|last| now - last >= self.config.touch_interval);
            if stale {
                self.keys.touch(&stored.id, now).await?;
            }
            let cached = cache::Cached::new(stored, None, now);
            self.cache.put(digest, &cached, generation);
            return Ok(Used::from_cache(&cached, None));
        }
        if self.counters.is_some() || self.leasable(&stored) {
            let used = self.count_shared(auth, &stored, now, required).await?;
            let cached = cache::Cached::new(stored, None, now);
            self.cache.put(digest, &cached, generation);
            return Ok(Used::from_cache(&cached, Some(used)));
        }
        match self.keys.use_key(digest, now, required, limits).await? {
            KeyUse::Allowed(key) if key.config_id == self.config.config_id => Ok(Used {
                key: UsedKey::Owned(Box::new(key)),
                owner: None,
            }),
            KeyUse::Allowed(_) | KeyUse::Missing => Err(refuse(codes::INVALID_API_KEY)),
            KeyUse::Refused(key, refusal) => Err(self.refused(auth, &key, refusal).await),
        }
    }

    /// Whether a key's uses are spent from leases: a quota without a counted rate limit.
    fn leasable(&self, key: &ApiKey) -> bool {
        key.remaining.is_some() && !key.counts_rate(self.config.rate_limit.enabled)
    }

    /// One use of a key that counts, by the shared counters (or, for a leasable key without
    /// them, by reservations from the row): its settings first (enabled, expiry, permissions),
    /// then its counters. A large quota without a counted rate limit is spent from leases:
    /// blocks of uses reserved at once and used here without asking again.
    async fn count_shared(
        &self,
        auth: &Auth,
        key: &ApiKey,
        now: OffsetDateTime,
        required: Option<&Permissions>,
    ) -> Result<auth_domain::ApiKeyUse, AuthError> {
        if let Err(refusal) = key.admit(now, required) {
            return Err(self.refused(auth, key, refusal).await);
        }
        let reserved = if self.leasable(key) {
            let mut waits = 0;
            let (size, claim) = loop {
                if let Some(used) = self.take_leased(key, now).await {
                    return Ok(used);
                }
                let size = self.leases.size_for(&key.id, key.remaining);
                // One block reservation per key at a time. The others wait for it rather than
                // count their use alone: so many writes to one row (or calls to the shared
                // counters) at once would only delay the block. After a few blocks that others
                // spent first, a use is counted alone.
                let claim = if size > 1 {
                    self.leases.claim(&key.id)
                } else {
                    None
                };
                if claim.is_some() || size <= 1 || waits == lease::WAITS {
                    break (size, claim);
                }
                waits += 1;
                if !self.leases.reserved(&key.id).await {
                    // It brought nothing (refused, or the store failed): no more waiting.
                    waits = lease::WAITS;
                }
            };
            let wanted = if claim.is_some() { size } else { 1 };
            let reserved = match &self.counters {
                Some(_) if claim.is_none() => Ok(None),
                Some(counters) => counters.reserve(key, now, wanted).await.map(Some),
                None => self.keys.reserve(&key.id, now, wanted).await.map(Some),
            };
            if let Some(claim) = claim {
                let granted = match &reserved {
                    Ok(Some(Reserved::Granted { counters, uses })) => {
                        Some(lease::Grant::of(key, counters, uses - 1))
                    }
                    _ => None,
                };
                claim.end(granted, now);
            }
            reserved?
        } else {
            None
        };
        let counted = match (reserved, &self.counters) {
            (Some(Reserved::Granted { counters, .. }), _) => Counted::Allowed(counters),
            (Some(Reserved::Refused(refusal)), _) => Counted::Refused(refusal),
            (Some(Reserved::Gone), _) => Counted::Gone,
            (None, Some(counters)) => {
                counters
                    .count(key, now, self.config.rate_limit.enabled)
                    .await?
            }
            (None, None) => {
                return Err(AuthError::Internal(
                    "a key that counts without shared counters is used through the store".into(),
                ));
            }
        };
        match counted {
            Counted::Allowed(used) => Ok(used),
            Counted::Refused(refusal) => Err(self.refused(auth, key, refusal).await),
            Counted::Gone => {
                self.cache.forget(|cached| cached.id == key.id);
                Err(refuse(codes::INVALID_API_KEY))
            }
        }
    }

    /// One use from this process's lease of a key, reserving its next block ahead when the
    /// lease runs low; `None` when the lease holds no use.
    async fn take_leased(
        &self,
        key: &ApiKey,
        now: OffsetDateTime,
    ) -> Option<auth_domain::ApiKeyUse> {
        let (used, low) = self.leases.take(key, now, self.config.cache_ttl)?;
        if low {
            self.reserve_ahead(key, now).await;
        }
        Some(used)
    }

    /// Reserves a key's next block before its lease runs out (one request per block pays for
    /// it, holding the key's claim); a failure only leaves the next requests to reserve.
    async fn reserve_ahead(&self, key: &ApiKey, now: OffsetDateTime) {
        let size = self.leases.size_for(&key.id, key.remaining);
        if size <= 1 {
            return;
        }
        let Some(claim) = self.leases.claim(&key.id) else {
            return;
        };
        let reserved = match &self.counters {
            Some(counters) => counters.reserve(key, now, size).await,
            None => self.keys.reserve(&key.id, now, size).await,
        };
        let granted = match reserved {
            Ok(Reserved::Granted { counters, uses }) => {
                Some(lease::Grant::of(key, &counters, uses))
            }
            Ok(Reserved::Refused(_) | Reserved::Gone) => None,
            Err(error) => {
                tracing::warn!(error = %error, "an api key's next block was not reserved");
                None
            }
        };
        claim.end(granted, now);
    }

    /// Writes the counters the shared counters changed to the database (Better-Auth's
    /// `deferUpdates`); run every second or so by the server. Returns how many keys were
    /// written.
    ///
    /// # Errors
    /// `Unavailable` when Redis or the database is down (what was taken and not written is
    /// given back to the shared counters, and a later run writes it).
    pub async fn write_back(&self) -> Result<usize, AuthError> {
        const BATCH: usize = 500;
        let Some(counters) = &self.counters else {
            return Ok(0);
        };
        let mut written = 0;
        loop {
            let taken = counters.take_changed(BATCH).await?;
            for (index, (id, used)) in taken.iter().enumerate() {
                match self.keys.write_counters(id, used).await {
                    Ok(()) => written += 1,
                    Err(error @ auth_ports::PortError::Unavailable(_)) => {
                        // Give back what was taken and not written: the next write-back takes
                        // those keys again, with their counters as they are then.
                        let left: Vec<String> =
                            taken[index..].iter().map(|(id, _)| id.clone()).collect();
                        if let Err(lost) = counters.mark_changed(&left).await {
                            tracing::warn!(error = %lost, keys = left.len(), "api key counters not given back: written at their next use");
                        }
                        return Err(error.into());
                    }
                    // A key whose counters cannot be written (not a passing outage): giving it
                    // back would stop every later write-back at it.
                    Err(error) => {
                        tracing::error!(error = %error, "api key counters not written back");
                    }
                }
            }
            if taken.len() < BATCH {
                return Ok(written);
            }
        }
    }

    /// The shared counters of a key that is gone are marked so: no copy of it can count again.
    async fn revoke_counters(&self, key_id: &str) {
        if let Some(counters) = &self.counters
            && let Err(error) = counters.revoke(key_id).await
        {
            tracing::warn!(error = %error, "an api key's shared counters were not revoked");
        }
    }

    /// The error of a refused use; a key that can never work again (expired, or spent without
    /// refill) is deleted, and every instance told.
    async fn refused(&self, auth: &Auth, key: &ApiKey, refusal: KeyRefusal) -> AuthError {
        if refusal == KeyRefusal::Expired {
            // A copy from memory may predate an extension of the key: the row decides.
            let now = auth.now();
            if let Ok(Some(stored)) = self.keys.find(&key.id).await
                && stored.expires_at.is_none_or(|at| at >= now)
            {
                self.cache.forget(|cached| cached.id == key.id);
                return refusal_error(refusal);
            }
        }
        if matches!(
            refusal,
            KeyRefusal::Expired | KeyRefusal::UsageExceeded { spent: true }
        ) {
            if let Err(error) = self.keys.delete(&key.id).await {
                tracing::warn!(error = %error, "a spent api key was not deleted");
            }
            self.revoke_counters(&key.id).await;
            self.changed(auth, key, true).await;
        }
        refusal_error(refusal)
    }

    /// Tells every subscriber (this instance's cache included) that a key changed.
    async fn changed(&self, auth: &Auth, key: &ApiKey, revoked: bool) {
        auth.emit(
            auth_domain::AuthEvent::ApiKeyChanged {
                owner: key.reference_id.clone(),
                key_id: key.id.clone(),
                revoked,
            },
            &ClientInfo::default(),
        )
        .await;
    }

    /// The session a key in a request header stands for (`enableSessionForAPIKeys`): nothing is
    /// stored; the session's id is the key's, its token the key itself.
    ///
    /// # Errors
    /// `403 INVALID_API_KEY` for a key shorter than keys are made, then as [`ApiKeys::verify`],
    /// and `401 INVALID_REFERENCE_ID_FROM_API_KEY` when the owner is gone.
    pub async fn session_for(
        &self,
        auth: &Auth,
        key: &str,
        client: &ClientInfo,
    ) -> Result<AuthContext, AuthError> {
        Ok(self.key_context(auth, key, client).await?.0)
    }

    /// As [`ApiKeys::session_for`], with the key after this use (its permissions): what a
    /// connection a key opens stands for.
    ///
    /// # Errors
    /// As [`ApiKeys::session_for`].
    pub async fn key_session(
        &self,
        auth: &Auth,
        key: &str,
        client: &ClientInfo,
    ) -> Result<KeySession, AuthError> {
        let (context, key) = self.key_context(auth, key, client).await?;
        Ok(KeySession {
            context,
            key: key.into_owned(),
        })
    }

    /// The session a key stands for, with the key as this use left it.
    async fn key_context(
        &self,
        auth: &Auth,
        key: &str,
        client: &ClientInfo,
    ) -> Result<(AuthContext, UsedKey), AuthError> {
        if key.len() < self.config.key_length {
            // A presented key too short to be one is counted as the invalid key it is.
            let refused = Err(refuse(codes::INVALID_API_KEY_LENGTH));
            crate::metrics::key_verified::<(AuthContext, UsedKey)>(&refused);
            return refused;
        }
        let Used {
            key: api_key,
            owner,
        } = self.use_presented(auth, key, None).await?;
        if self.config.references == KeyOwner::Organization {
            // An organization is no user a session could stand for.
            return Err(refuse(codes::INVALID_REFERENCE_ID));
        }
        let user = match owner {
            Some(user) => user,
            None => {
                let user_id = UserId::new(api_key.settings().reference_id.clone());
                let generation = self.cache.generation();
                let Some(user) = auth.user(&user_id).await? else {
                    return Err(refuse(codes::INVALID_REFERENCE_ID));
                };
                let digest = self.hasher.digest(key);
                if let Some(cached) = self.cache.get(&digest, auth.now()) {
                    self.cache
                        .put(&digest, &cached.with_owner(user.clone()), generation);
                }
                user
            }
        };
        let user_id = user.id.clone();
        let now = auth.now();
        // Better-Auth adds `session.expiresIn` (seconds) as milliseconds here; kept, since its
        // clients see the same value.
        let expires_at = api_key.settings().expires_at.unwrap_or_else(|| {
            now + Duration::milliseconds(auth.config().session.expires_in.whole_seconds())
        });
        let non_empty = |value: &str| (!value.is_empty()).then(|| value.to_owned());
        let session = Session {
            id: SessionId::new(api_key.settings().id.clone()),
            token: SessionToken::new(key.to_owned()),
            user_id,
            expires_at,
            created_at: now,
            updated_at: now,
            ip_address: non_empty(&client.ip_address),
            user_agent: non_empty(&client.user_agent),
            fields: Fields::declared(auth.field_specs(), Model::Session),
        };
        Ok((AuthContext { session, user }, api_key))
    }
}

/// A deleted user's keys go with them (an organization's, for organization keys).
impl AuthPlugin for ApiKeys {
    fn id(&self) -> &'static str {
        "api-key"
    }

    fn on_event<'a>(
        &'a self,
        _auth: &'a Auth,
        event: &'a auth_domain::AuthEvent,
    ) -> PluginFuture<'a, ()> {
        Box::pin(async move {
            if let auth_domain::AuthEvent::ApiKeyChanged { key_id, .. } = event {
                self.cache.forget(|key| key.id == *key_id);
                self.leases.drop_key(key_id);
            }
            let owner = match (event, self.config.references) {
                (auth_domain::AuthEvent::UserDeleted { user_id }, KeyOwner::User) => {
                    user_id.as_str()
                }
                (
                    auth_domain::AuthEvent::OrganizationDeleted { organization_id },
                    KeyOwner::Organization,
                ) => organization_id.as_str(),
                _ => return,
            };
            self.cache.forget(|key| key.reference_id == owner);
            match self.keys.delete_by_reference(owner).await {
                Ok(count) => tracing::debug!(count, "a deleted owner's api keys deleted"),
                Err(error) => {
                    tracing::warn!(error = %error, "a deleted owner's api keys were not deleted");
                }
            }
        })
    }
}
