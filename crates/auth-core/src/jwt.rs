//! The JWT plugin's use cases (Better-Auth's `jwt()`): tokens for the signed-in user, the
//! published keys, and key rotation. They live in their own façade, `TokenIssuer`, because the
//! plugin is optional and has ports of its own (see docs/adr/0004-token-issuer.md).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use auth_domain::{Jwk, JwkId, KeyRotationPolicy, KeyUse, TokenClaims};
use auth_ports::{ALPHANUMERIC, Clock, JwksRepo, PortError, Random, TokenSigner};
use time::{Duration, OffsetDateTime};

use crate::{AuthContext, AuthError};

/// The format of the tokens `GET /token` and `get-session` hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenFormat {
    /// EdDSA JWTs, verified against `GET /jwks` (Better-Auth's format).
    #[default]
    Jwt,
    /// PASETO `v4.public` tokens, verified against `GET /paseto-keys`.
    Paseto,
}

/// Rules of the token use cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenConfig {
    /// `iss` of new tokens (Better-Auth: the base URL's origin).
    pub issuer: String,
    /// `aud` of new tokens (Better-Auth: the base URL's origin).
    pub audience: String,
    /// Lifetime of a token: 15 minutes.
    pub expires_in: Duration,
    /// When keys expire and how long they stay published.
    pub rotation: KeyRotationPolicy,
    /// What `get_token` signs.
    pub format: TokenFormat,
    /// How long the signing keys read from the store are reused before they are read again
    /// (30 seconds). A rotation done by another process is picked up within this time.
    pub key_cache_ttl: Duration,
}

impl TokenConfig {
    /// Better-Auth's defaults for a base URL origin (`http://localhost:3000`).
    #[must_use]
    pub fn for_origin(origin: &str) -> Self {
        Self {
            issuer: origin.to_owned(),
            audience: origin.to_owned(),
            expires_in: Duration::minutes(15),
            rotation: KeyRotationPolicy::default(),
            format: TokenFormat::Jwt,
            key_cache_ttl: Duration::seconds(30),
        }
    }
}

/// The ports the token use cases call.
#[derive(Clone)]
pub struct TokenDeps {
    /// The `jwks` store.
    pub jwks: Arc<dyn JwksRepo>,
    /// Key generation and signing.
    pub signer: Arc<dyn TokenSigner>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness for key ids.
    pub random: Arc<dyn Random>,
}

/// A token just signed.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The compact token.
    pub token: String,
    /// Its format.
    pub format: TokenFormat,
    /// The key that signed it (`kid`).
    pub key_id: JwkId,
    /// Its `exp`.
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("format", &self.format)
            .field("key_id", &self.key_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A public key as the JWKS publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedJwk {
    /// `kid`.
    pub id: JwkId,
    /// JSON text of the stored public JWK (members other than `kid` and `alg`).
    pub public_key: String,
    /// `alg` (`EdDSA` for rows without one).
    pub alg: String,
    /// `crv`, when the row has one.
    pub crv: Option<String>,
}

/// A PASETO `v4.public` key as `GET /paseto-keys` publishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPaserk {
    /// The row id.
    pub id: JwkId,
    /// `k4.public.…`.
    pub paserk: String,
    /// `k4.pid.…`, the `kid` in the footer of the tokens it signs.
    pub pid: String,
    /// When it stops signing.
    pub expires_at: Option<OffsetDateTime>,
}

/// Where a key is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// The key that signs new tokens of its kind.
    Signing,
    /// Live, but a newer key signs.
    Standby,
    /// Expired; still published so that its tokens verify.
    Retired,
    /// Past the grace period; no longer published.
    Withdrawn,
}

impl KeyStatus {
    /// A lower-case label.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Signing => "signing",
            Self::Standby => "standby",
            Self::Retired => "retired",
            Self::Withdrawn => "withdrawn",
        }
    }
}

/// What `keys list` shows of a key: never private material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// `kid`.
    pub id: JwkId,
    /// `alg` (`EdDSA` for rows without one).
    pub alg: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Expiry, if any.
    pub expires_at: Option<OffsetDateTime>,
    /// Time since creation.
    pub age: Duration,
    /// Where the key is in its life.
    pub status: KeyStatus,
}

/// The token use cases. Cheap to clone.
#[derive(Clone)]
pub struct TokenIssuer {
    inner: Arc<Inner>,
}

struct Inner {
    deps: TokenDeps,
    config: TokenConfig,
    cache: Mutex<Option<CachedKeys>>,
    /// The published JWT keys, as last loaded.
    jwks: Mutex<Option<JwksSnapshot>>,
    /// Bumped whenever this instance changes the keys, so that a load that overlapped the
    /// change is not trusted.
    jwks_generation: AtomicU64,
    /// Held while the key table is reloaded (and a missing key created), so that concurrent
    /// callers wait for one reload instead of each creating a key of its own.
    reloading: futures_util::lock::Mutex<()>,
    /// The key table as last read to check a presented token, and until when it is used.
    verifying: Mutex<Option<(Arc<[Jwk]>, OffsetDateTime)>>,
}

/// How far in the future a token's `iat` may be (clocks of instances differ a little).
const ISSUED_AT_LEEWAY: Duration = Duration::seconds(60);

/// How long the published keys are served without reading the key table: at most one read a
/// second however many `GET /jwks` there are, and a key made elsewhere is published here within
/// a second.
pub const JWKS_FRESHNESS: Duration = Duration::seconds(1);

/// The published JWT keys and how long they hold.
struct JwksSnapshot {
    keys: Arc<[PublishedJwk]>,
    fresh_until: OffsetDateTime,
}

/// The signing keys (at most one per use) found when the key table was last loaded. A key
/// that was the newest live one then stays the newest live one for as long as it is live.
struct CachedKeys {
    signing: Vec<Arc<Jwk>>,
    loaded_at: OffsetDateTime,
}

impl TokenIssuer {
    /// Builds the façade.
    #[must_use]
    pub fn new(deps: TokenDeps, config: TokenConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                deps,
                config,
                cache: Mutex::new(None),
                jwks: Mutex::new(None),
                jwks_generation: AtomicU64::new(0),
                reloading: futures_util::lock::Mutex::new(()),
                verifying: Mutex::new(None),
            }),
        }
    }

    /// The rules in force.
    #[must_use]
    pub fn config(&self) -> &TokenConfig {
        &self.inner.config
    }

    /// Signs a token for the session's user (`GET /token`, the `set-auth-jwt` header): the user
    /// object plus `iat`, `sub`, `exp`, `iss`, `aud`. Creates a key first when none is live.
    ///
    /// # Errors
    /// `Unavailable` when the key store is down; `Internal` when the stored key cannot be used
    /// (e.g. it was sealed with another secret).
    #[tracing::instrument(skip_all, fields(user_id = %context.user.id))]
    pub async fn get_token(&self, context: &AuthContext) -> Result<IssuedToken, AuthError> {
        let config = self.config();
        let key_use = match config.format {
            TokenFormat::Jwt => KeyUse::Jwt,
            TokenFormat::Paseto => KeyUse::PasetoPublic,
        };
        let key = self.signing_key(key_use).await?;
        let now = self.now();
        let issued_at = now.replace_millisecond(0).unwrap_or(now);
        let claims = TokenClaims {
            user: context.user.clone(),
            subject: context.user.id.as_str().to_owned(),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            issued_at,
            expires_at: issued_at + config.expires_in,
        };
        let token = self.inner.deps.signer.sign(&key, &claims)?;
        crate::metrics::token_issued(match config.format {
            TokenFormat::Jwt => "jwt",
            TokenFormat::Paseto => "paseto",
        });
        Ok(IssuedToken {
            token,
            format: config.format,
            key_id: key.id.clone(),
            expires_at: claims.expires_at,
        })
    }

    /// The context a token this server signed stands for, as a credential a client presents
    /// (a WebSocket upgrade): a JWT or a `v4.public` PASETO whose signature one of the
    /// published keys of its kind verifies, with this configuration's issuer and audience,
    /// issued no later than now and not expired, for a user that still exists. Its session is
    /// made up: `token:<user id>`, ending when the token expires, bound to no stored session
    /// (signing out does not end a token; a password change, revoking every session or deleting
    /// the user does). `None` otherwise. Reads the key table.
    ///
    /// # Errors
    /// `Unavailable` when the key or user store is down.
    pub async fn context_for(
        &self,
        auth: &crate::Auth,
        token: &str,
    ) -> Result<Option<AuthContext>, AuthError> {
        let now = self.now();
        let (key_use, format) = if token.starts_with("v4.public.") {
            (KeyUse::PasetoPublic, "paseto")
        } else {
            (KeyUse::Jwt, "jwt")
        };
        let keys = self.keys_to_verify(now).await?;
        let published: Vec<Jwk> = self
            .config()
            .rotation
            .published(&keys, key_use, now)
            .into_iter()
            .cloned()
            .collect();
        let Some(verified) = self.inner.deps.signer.verify(&published, token) else {
            crate::metrics::token_checked(format, "invalid");
            return Ok(None);
        };
        let config = self.config();
        let ours = verified.issuer == config.issuer
            && verified.audiences.contains(&config.audience)
            && verified
                .issued_at
                .is_none_or(|at| at <= now + ISSUED_AT_LEEWAY);
        if !ours {
            crate::metrics::token_checked(format, "invalid");
            return Ok(None);
        }
        if verified.expires_at <= now {
            crate::metrics::token_checked(format, "expired");
            return Ok(None);
        }
        let user_id = auth_domain::UserId::new(verified.subject);
        let Some(user) = auth.user(&user_id).await? else {
            crate::metrics::token_checked(format, "unknown_user");
            return Ok(None);
        };
        crate::metrics::token_checked(format, "valid");
        let session = auth_domain::Session {
            id: auth_domain::SessionId::new(format!("token:{user_id}")),
            token: auth_domain::SessionToken::new(String::new()),
            user_id,
            expires_at: verified.expires_at,
            created_at: verified.issued_at.unwrap_or(now),
            updated_at: now,
            ip_address: None,
            user_agent: None,
            fields: auth_domain::Fields::declared(auth.field_specs(), auth_domain::Model::Session),
        };
        Ok(Some(AuthContext { session, user }))
    }

    /// The key table, read at most once per [`JWKS_FRESHNESS`] however many tokens are
    /// presented (forged ones included).
    async fn keys_to_verify(&self, now: OffsetDateTime) -> Result<Arc<[Jwk]>, AuthError> {
        let fresh = |cached: &Option<(Arc<[Jwk]>, OffsetDateTime)>| match cached {
            Some((keys, until)) if now < *until => Some(keys.clone()),
            _ => None,
        };
        if let Some(keys) = fresh(&self.lock_verifying()) {
            return Ok(keys);
        }
        let keys: Arc<[Jwk]> = self.inner.deps.jwks.list_all().await?.into();
        *self.lock_verifying() = Some((keys.clone(), now + JWKS_FRESHNESS));
        Ok(keys)
    }

    fn lock_verifying(&self) -> MutexGuard<'_, Option<(Arc<[Jwk]>, OffsetDateTime)>> {
        self.inner
            .verifying
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The public JWT keys (`GET /jwks`): every key until its grace period after expiry has
    /// passed. Creates the first key when no live one exists, so that the key that signs next
    /// is already published.
    ///
    /// # Errors
    /// `Unavailable` when the key store is down.
    pub async fn get_jwks(&self) -> Result<Vec<PublishedJwk>, AuthError> {
        Ok(self.load_jwks(self.now()).await?.0)
    }

    /// The published JWT keys as a shared snapshot: the same `Arc` for as long as they stay
    /// the same, so that callers can keep what they built from it (the serialised JWKS
    /// document). The key table is read again when this instance creates, rotates or reloads
    /// its keys, when a key's expiry or grace period passes, and otherwise once a
    /// [`JWKS_FRESHNESS`] has passed, so that a key made by another instance (or by Better-Auth
    /// on a shared database) is published here within that time.
    ///
    /// # Errors
    /// `Unavailable` when the key store is down.
    pub async fn published_jwks(&self) -> Result<Arc<[PublishedJwk]>, AuthError> {
        let now = self.now();
        let generation = self.inner.jwks_generation.load(Ordering::Acquire);
        let previous = {
            let cached = self.jwks_snapshot();
            match cached.as_ref() {
                Some(snapshot) if now < snapshot.fresh_until => return Ok(snapshot.keys.clone()),
                Some(snapshot) => Some(snapshot.keys.clone()),
                None => None,
            }
        };
        let (keys, next_change) = self.load_jwks(now).await?;
        let keys: Arc<[PublishedJwk]> = match previous {
            Some(previous) if *previous == *keys => previous,
            _ => keys.into(),
        };
        let ttl_end = now + JWKS_FRESHNESS;
        let mut cached = self.jwks_snapshot();
        // A key created here meanwhile may be missing from this load: keep it only to compare
        // with, and read the table again next time.
        let fresh_until = if self.inner.jwks_generation.load(Ordering::Acquire) == generation {
            next_change.map_or(ttl_end, |next| next.min(ttl_end))
        } else {
            now
        };
        *cached = Some(JwksSnapshot {
            keys: keys.clone(),
            fresh_until,
        });
        Ok(keys)
    }

    /// The published JWT keys at `now` (creating the first one when none is live), and the
    /// next instant at which time alone changes them (a key's expiry or the end of its grace).
    async fn load_jwks(
        &self,
        now: OffsetDateTime,
    ) -> Result<(Vec<PublishedJwk>, Option<OffsetDateTime>), AuthError> {
        let mut keys = self.inner.deps.jwks.list_all().await?;
        let policy = self.config().rotation;
        if policy.signing_key(&keys, KeyUse::Jwt, now).is_none() {
            self.add_signing_key(&mut keys, KeyUse::Jwt).await?;
        }
        let next_change = keys
            .iter()
            .filter_map(|key| key.expires_at)
            .flat_map(|expires_at| [expires_at, expires_at + policy.grace_period])
            .filter(|instant| *instant > now)
            .min();
        let published = policy
            .published(&keys, KeyUse::Jwt, now)
            .into_iter()
            .map(|key| PublishedJwk {
                id: key.id.clone(),
                public_key: key.public_key.clone(),
                alg: key.jose_alg().to_owned(),
                crv: key.crv.clone(),
            })
            .collect();
        Ok((published, next_change))
    }

    /// The public PASETO keys (`GET /paseto-keys`). The first key is created on demand only
    /// when PASETO is the configured format; otherwise the list may be empty.
    ///
    /// # Errors
    /// `Unavailable` when the key store is down; `Internal` for a corrupt stored key.
    pub async fn get_paseto_keys(&self) -> Result<Vec<PublishedPaserk>, AuthError> {
        let now = self.now();
        let mut keys = self.inner.deps.jwks.list_all().await?;
        let policy = self.config().rotation;
        let wanted = self.config().format == TokenFormat::Paseto;
        if wanted
            && policy
                .signing_key(&keys, KeyUse::PasetoPublic, now)
                .is_none()
        {
            self.add_signing_key(&mut keys, KeyUse::PasetoPublic)
                .await?;
        }
        policy
            .published(&keys, KeyUse::PasetoPublic, now)
            .into_iter()
            .map(|key| {
                let paserk = self.inner.deps.signer.paserk(key)?;
                Ok(PublishedPaserk {
                    id: key.id.clone(),
                    paserk: paserk.public,
                    pid: paserk.id,
                    expires_at: key.expires_at,
                })
            })
            .collect()
    }

    /// Forces a rotation (`auth-app keys rotate`): a new key for each kind in use (JWT always,
    /// PASETO when configured or already present) becomes the signing key, and the keys it
    /// replaces expire now. They stay published for the grace period, so every token they
    /// signed keeps verifying until it expires.
    ///
    /// # Errors
    /// `Unavailable` when the key store is down.
    #[tracing::instrument(skip_all)]
    pub async fn rotate_keys(&self) -> Result<Vec<KeyInfo>, AuthError> {
        let now = self.now();
        let keys = self.inner.deps.jwks.list_all().await?;
        let has_paseto = keys
            .iter()
            .any(|key| key.key_use() == Some(KeyUse::PasetoPublic));
        let mut uses = vec![KeyUse::Jwt];
        if has_paseto || self.config().format == TokenFormat::Paseto {
            uses.push(KeyUse::PasetoPublic);
        }
        let mut created = Vec::new();
        for key_use in uses {
            for old in keys
                .iter()
                .filter(|key| key.key_use() == Some(key_use) && key.is_live(now))
            {
                match self.inner.deps.jwks.update_expiry(&old.id, now).await {
                    Ok(()) | Err(PortError::NotFound) => {}
                    Err(other) => return Err(other.into()),
                }
            }
            let key = self.create_key(key_use).await?;
            tracing::info!(target: "auth::audit", event = "signing_key_rotated", key_id = %key.id, alg = key.jose_alg(), "signing key rotated");
            created.push(self.info(&key, KeyStatus::Signing, now));
        }
        self.invalidate_cache();
        Ok(created)
    }

    /// Every stored key with its age and status, oldest first (`auth-app keys list`).
    ///
    /// # Errors
    /// `Unavailable` when the key store is down.
    pub async fn list_keys(&self) -> Result<Vec<KeyInfo>, AuthError> {
        let now = self.now();
        let keys = self.inner.deps.jwks.list_all().await?;
        let policy = self.config().rotation;
        let signing: Vec<JwkId> = [KeyUse::Jwt, KeyUse::PasetoPublic]
            .into_iter()
            .filter_map(|key_use| policy.signing_key(&keys, key_use, now))
            .map(|key| key.id.clone())
            .collect();
        Ok(keys
            .iter()
            .map(|key| {
                let status = if signing.contains(&key.id) {
                    KeyStatus::Signing
                } else if key.is_live(now) {
                    KeyStatus::Standby
                } else if key.is_published(now, policy.grace_period) {
                    KeyStatus::Retired
                } else {
                    KeyStatus::Withdrawn
                };
                self.info(key, status, now)
            })
            .collect())
    }

    fn info(&self, key: &Jwk, status: KeyStatus, now: OffsetDateTime) -> KeyInfo {
        KeyInfo {
            id: key.id.clone(),
            alg: key.jose_alg().to_owned(),
            created_at: key.created_at,
            expires_at: key.expires_at,
            age: now - key.created_at,
            status,
        }
    }

    /// Now, truncated to milliseconds (what Better-Auth stores).
    fn now(&self) -> OffsetDateTime {
        let now = self.inner.deps.clock.now();
        now.replace_millisecond(now.millisecond()).unwrap_or(now)
    }

    fn cache(&self) -> MutexGuard<'_, Option<CachedKeys>> {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn jwks_snapshot(&self) -> MutexGuard<'_, Option<JwksSnapshot>> {
        self.inner
            .jwks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn invalidate_cache(&self) {
        *self.cache() = None;
        self.invalidate_jwks();
    }

    /// Marks the published keys stale (the snapshot stays, to be compared with the next load).
    fn invalidate_jwks(&self) {
        let mut cached = self.jwks_snapshot();
        self.inner.jwks_generation.fetch_add(1, Ordering::AcqRel);
        if let Some(snapshot) = cached.as_mut() {
            snapshot.fresh_until = OffsetDateTime::UNIX_EPOCH;
        }
    }

    /// The key that signs for `key_use`: from the cache while it is fresh and holds a live
    /// key, else from the store, else a new key.
    async fn signing_key(&self, key_use: KeyUse) -> Result<Arc<Jwk>, AuthError> {
        if let Some(key) = self.cached_signing_key(key_use) {
            return Ok(key);
        }
        let _reloading = self.inner.reloading.lock().await;
        // Another caller may have reloaded (or created the key) while this one waited.
        if let Some(key) = self.cached_signing_key(key_use) {
            return Ok(key);
        }
        let now = self.now();
        let policy = self.config().rotation;
        let keys = self.inner.deps.jwks.list_all().await?;
        let signing: Vec<Arc<Jwk>> = [KeyUse::Jwt, KeyUse::PasetoPublic]
            .into_iter()
            .filter_map(|each| policy.signing_key(&keys, each, now))
            .map(|key| Arc::new(key.clone()))
            .collect();
        let found = signing
            .iter()
            .find(|key| key.key_use() == Some(key_use))
            .cloned();
        // The keys may have changed elsewhere: publish what this instance will sign with.
        self.invalidate_jwks();
        *self.cache() = Some(CachedKeys {
            signing,
            loaded_at: now,
        });
        match found {
            Some(key) => Ok(key),
            None => self.create_key(key_use).await,
        }
    }

    /// Adds the signing key for `key_use` to `keys` when it is not there: the one another
    /// caller has just created, or a new one.
    async fn add_signing_key(&self, keys: &mut Vec<Jwk>, key_use: KeyUse) -> Result<(), AuthError> {
        let key = self.signing_key(key_use).await?;
        if !keys.iter().any(|known| known.id == key.id) {
            keys.push(Jwk::clone(&key));
        }
        Ok(())
    }

    /// The signing key for `key_use` from the cache, while the cache is fresh and holds one.
    fn cached_signing_key(&self, key_use: KeyUse) -> Option<Arc<Jwk>> {
        let now = self.now();
        let cache = self.cache();
        let cached = cache.as_ref()?;
        if cached.loaded_at + self.config().key_cache_ttl <= now {
            return None;
        }
        cached
            .signing
            .iter()
            .find(|key| key.key_use() == Some(key_use) && key.is_live(now))
            .cloned()
    }

    /// Generates and stores a new key, and adds it to the cache.
    async fn create_key(&self, key_use: KeyUse) -> Result<Arc<Jwk>, AuthError> {
        let generated = self.inner.deps.signer.generate_key(key_use)?;
        let now = self.now();
        let key = Jwk {
            id: JwkId::new(self.inner.deps.random.string(ALPHANUMERIC, 32)),
            public_key: generated.public_key,
            private_key: generated.private_key,
            created_at: now,
            expires_at: self.config().rotation.expiry_for_new(now),
            alg: Some(generated.alg),
            crv: Some(generated.crv),
        };
        self.inner.deps.jwks.create(&key).await?;
        tracing::info!(target: "auth::audit", event = "signing_key_created", key_id = %key.id, alg = key.jose_alg(), "signing key created");
        let key = Arc::new(key);
        self.invalidate_jwks();
        if let Some(cached) = self.cache().as_mut() {
            // The new key is the newest: it signs for its use from now on.
            cached
                .signing
                .retain(|known| known.key_use() != Some(key_use));
            cached.signing.push(key.clone());
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests;
