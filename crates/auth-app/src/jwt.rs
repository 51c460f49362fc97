//! The JWT plugin's composition: settings, the token use cases on the store and the Ed25519
//! signer, and the `keys rotate` / `keys list` commands.

use std::sync::Arc;

use anyhow::{Context, bail};
use auth_core::{KeyInfo, TokenConfig, TokenDeps, TokenFormat, TokenIssuer};
use auth_crypto::{Ed25519TokenSigner, OsRandom, PrivateKeyStorage, SystemClock};
use auth_domain::{Jwk, JwkId, KeyRotationPolicy, Secret};
use auth_http_poem::HttpPlugin;
use auth_http_poem::jwt::{JwtPlugin, JwtPluginConfig};
use auth_ports::{Clock, JwksRepo, PortError};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::AppConfig;
use crate::auth_testkit_free::NoStore;

/// `AUTH_TOKEN_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenFormatSetting {
    /// EdDSA JWTs (Better-Auth's format).
    #[default]
    Jwt,
    /// PASETO v4.public tokens.
    Paseto,
}

/// The grace period keys stay published after they expire (Better-Auth's default).
const GRACE_PERIOD: Duration = Duration::days(30);

pub(crate) fn validate(config: &AppConfig) -> anyhow::Result<()> {
    if config.jwt_expires_in <= 0 || config.jwt_expires_in > GRACE_PERIOD.whole_seconds() {
        bail!("AUTH_JWT_EXPIRES_IN must be between 1 and 2592000 seconds (the key grace period)");
    }
    if config.jwt_rotation_interval < 0 {
        bail!("AUTH_JWT_ROTATION_INTERVAL must not be negative (0 means never)");
    }
    if config.jwt_rotation_interval > 0 && config.jwt_rotation_interval < config.jwt_expires_in {
        bail!("AUTH_JWT_ROTATION_INTERVAL must be 0 or at least AUTH_JWT_EXPIRES_IN");
    }
    Ok(())
}

/// When signing keys expire and how long they stay published.
pub(crate) fn rotation_policy(config: &AppConfig) -> KeyRotationPolicy {
    let rotation_interval =
        (config.jwt_rotation_interval > 0).then(|| Duration::seconds(config.jwt_rotation_interval));
    KeyRotationPolicy {
        rotation_interval,
        grace_period: GRACE_PERIOD,
    }
}

fn token_config(config: &AppConfig) -> TokenConfig {
    let base_url = config.base_url();
    let origin = auth_http_poem::origin::origin_of(&base_url).unwrap_or(base_url);
    TokenConfig {
        issuer: config.jwt_issuer.clone().unwrap_or_else(|| origin.clone()),
        audience: config.jwt_audience.clone().unwrap_or(origin),
        expires_in: Duration::seconds(config.jwt_expires_in),
        rotation: rotation_policy(config),
        format: match config.token_format {
            TokenFormatSetting::Jwt => TokenFormat::Jwt,
            TokenFormatSetting::Paseto => TokenFormat::Paseto,
        },
        ..TokenConfig::for_origin("")
    }
}

/// The token use cases on a key store.
pub(crate) fn token_issuer(
    config: &AppConfig,
    jwks: Arc<dyn JwksRepo>,
    secret: &str,
    clock: Arc<dyn Clock>,
) -> TokenIssuer {
    let secret = Secret::new(secret.to_owned());
    let deps = TokenDeps {
        jwks,
        signer: Arc::new(Ed25519TokenSigner::new(
            &secret,
            PrivateKeyStorage::Encrypted,
        )),
        clock,
        random: Arc::new(OsRandom),
    };
    TokenIssuer::new(deps, token_config(config))
}

/// The JWT plugin.
pub(crate) fn plugin(tokens: TokenIssuer) -> Arc<dyn HttpPlugin> {
    Arc::new(JwtPlugin::new(tokens, JwtPluginConfig::default()))
}

/// The JWT plugin for `auth-app openapi`, on a store that refuses everything.
pub(crate) fn offline_plugin(config: &AppConfig) -> Arc<dyn HttpPlugin> {
    plugin(token_issuer(
        config,
        Arc::new(NoStore),
        &"x".repeat(32),
        Arc::new(SystemClock),
    ))
}

async fn offline_tokens(
    config: &AppConfig,
) -> anyhow::Result<(TokenIssuer, auth_store_seaorm::SeaOrmStore)> {
    config.validate()?;
    let secret = crate::secret::resolve(config)?;
    let store = crate::connect(config).await?;
    store.migrate().await.context("applying migrations")?;
    let tokens = token_issuer(
        config,
        Arc::new(store.clone()),
        &secret,
        Arc::new(SystemClock),
    );
    Ok((tokens, store))
}

/// `auth-app keys rotate`: a new signing key now; the keys it replaces stay published for the
/// grace period.
///
/// # Errors
/// Bad configuration or an unreachable database.
pub async fn rotate_keys(config: &AppConfig) -> anyhow::Result<Vec<KeyInfo>> {
    let (tokens, store) = offline_tokens(config).await?;
    let rotated = tokens.rotate_keys().await.context("rotating the keys")?;
    store.close().await;
    Ok(rotated)
}

/// `auth-app keys list`: every key with its algorithm, age and status (never private material).
///
/// # Errors
/// Bad configuration or an unreachable database.
pub async fn list_keys(config: &AppConfig) -> anyhow::Result<Vec<KeyInfo>> {
    let (tokens, store) = offline_tokens(config).await?;
    let keys = tokens.list_keys().await.context("listing the keys")?;
    store.close().await;
    Ok(keys)
}

/// One line of `keys list`: id, algorithm, age in days, status, expiry.
#[must_use]
pub fn describe_key(key: &KeyInfo) -> String {
    let expires = key
        .expires_at
        .map_or_else(|| "never".to_owned(), auth_domain::date::to_json);
    format!(
        "{}  {:<9}  {:>5}d  {:<9}  expires {}",
        key.id,
        key.alg,
        key.age.whole_days(),
        key.status.label(),
        expires
    )
}

#[async_trait::async_trait]
impl JwksRepo for NoStore {
    async fn create(&self, _: &Jwk) -> Result<(), PortError> {
        Err(PortError::Unavailable("no database in this mode".into()))
    }
    async fn list_all(&self) -> Result<Vec<Jwk>, PortError> {
        Err(PortError::Unavailable("no database in this mode".into()))
    }
    async fn update_expiry(&self, _: &JwkId, _: OffsetDateTime) -> Result<(), PortError> {
        Err(PortError::Unavailable("no database in this mode".into()))
    }
}
