//! The API-key plugin's composition: its settings from the configuration, and the plugin on a
//! key store.

use std::sync::Arc;

use anyhow::bail;
use auth_core::{
    ApiKeyConfig, ApiKeys, Auth, AuthPlugin, DEFAULT_CONFIG_ID, KeyOwner, KeyRateLimit,
    OrganizationKeys, Organizations, PluginFuture,
};
use auth_crypto::Sha256KeyHasher;
use auth_domain::{ApiKey, Permissions};
use auth_http_poem::api_key::ApiKeyPlugin;
use auth_ports::{ApiKeyRepo, KeyUse, PortError};
use time::{Duration, OffsetDateTime};

use crate::AppConfig;
use crate::auth_testkit_free::{NoStore, none};
use crate::plugins::Plugin;

use auth_core::MAX_KEY_NUMBER as MAX_NUMBER;

pub(crate) fn validate(config: &AppConfig) -> anyhow::Result<()> {
    if !(16..=256).contains(&config.api_key_length) {
        bail!("AUTH_API_KEY_LENGTH must be between 16 and 256");
    }
    if !(1..=MAX_NUMBER).contains(&config.api_key_rate_limit_window_ms) {
        bail!("AUTH_API_KEY_RATE_LIMIT_WINDOW_MS must be between 1 and {MAX_NUMBER}");
    }
    if !(0..=MAX_NUMBER).contains(&config.api_key_rate_limit_max) {
        bail!("AUTH_API_KEY_RATE_LIMIT_MAX must be between 0 and {MAX_NUMBER}");
    }
    if config.api_key_cache_ttl_ms > 60_000 {
        bail!(
            "AUTH_API_KEY_CACHE_TTL_MS must be at most 60000 (a revoked key is served that long at worst)"
        );
    }
    if config.api_key_default_expires_in < 0 {
        bail!("AUTH_API_KEY_DEFAULT_EXPIRES_IN must not be negative (0 means never)");
    }
    if config.api_key_headers.is_empty()
        || config.api_key_headers.iter().any(|name| {
            poem::http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).is_err()
        })
    {
        bail!("AUTH_API_KEY_HEADERS must list one or more valid header names");
    }
    if config
        .api_key_default_prefix
        .as_ref()
        .is_some_and(|prefix| {
            prefix.is_empty()
                || prefix.len() > 32
                || !prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
    {
        bail!("AUTH_API_KEY_DEFAULT_PREFIX must be 1 to 32 of [a-zA-Z0-9_-]");
    }
    if let Some(id) = &config.api_key_organization_config_id
        && (id.is_empty()
            || id.len() > 64
            || id == DEFAULT_CONFIG_ID
            || id.chars().any(char::is_control))
    {
        bail!(
            "AUTH_API_KEY_ORGANIZATION_CONFIG_ID must be 1 to 64 characters and not {DEFAULT_CONFIG_ID:?}"
        );
    }
    Ok(())
}

fn settings(config: &AppConfig) -> ApiKeyConfig {
    ApiKeyConfig {
        key_length: config.api_key_length,
        default_prefix: config.api_key_default_prefix.clone(),
        require_name: config.api_key_require_name,
        enable_metadata: config.api_key_metadata,
        rate_limit: KeyRateLimit {
            enabled: config.api_key_rate_limit_enabled,
            time_window: Duration::milliseconds(config.api_key_rate_limit_window_ms),
            max_requests: config.api_key_rate_limit_max,
        },
        default_expires_in: (config.api_key_default_expires_in > 0)
            .then(|| Duration::seconds(config.api_key_default_expires_in)),
        session_for_keys: config.api_key_sessions,
        max_keys_per_owner: config.api_key_max_per_user,
        cache_ttl: Duration::milliseconds(
            i64::try_from(config.api_key_cache_ttl_ms).unwrap_or(i64::MAX),
        ),
        ..ApiKeyConfig::default()
    }
}

/// The key use cases of one configuration on a key store, their uses counted in Redis when a
/// pool is given.
fn key_cases(
    config: &AppConfig,
    settings: ApiKeyConfig,
    store: Arc<dyn ApiKeyRepo>,
    redis: Option<&deadpool_redis::Pool>,
) -> ApiKeys {
    let mut keys = ApiKeys::new(store, Arc::new(Sha256KeyHasher), settings);
    if let Some(pool) = redis {
        keys = keys.with_counters(Arc::new(auth_cache_redis::RedisKeyCounters::new(
            pool.clone(),
            &config.redis_prefix,
            std::time::Duration::from_millis(config.redis_timeout_ms),
        )));
    }
    keys
}

/// The use-case half of the plugin: the users' keys, and the organizations' when configured.
struct KeyPlugins {
    users: ApiKeys,
    organizations: Option<ApiKeys>,
}

impl AuthPlugin for KeyPlugins {
    fn id(&self) -> &'static str {
        self.users.id()
    }

    fn on_event<'a>(
        &'a self,
        auth: &'a Auth,
        event: &'a auth_domain::AuthEvent,
    ) -> PluginFuture<'a, ()> {
        Box::pin(async move {
            self.users.on_event(auth, event).await;
            if let Some(organizations) = &self.organizations {
                organizations.on_event(auth, event).await;
            }
        })
    }
}

/// The API-key plugin on a key store, its uses counted in Redis when a pool is given, with
/// organization-owned keys when configured and `orgs` are given: the users' key use cases and
/// the plugin.
pub(crate) fn plugin(
    config: &AppConfig,
    store: Arc<dyn ApiKeyRepo>,
    redis: Option<&deadpool_redis::Pool>,
    orgs: Option<&Organizations>,
) -> (ApiKeys, Plugin) {
    let keys = key_cases(config, settings(config), store.clone(), redis);
    let headers = config
        .api_key_headers
        .iter()
        .map(|name| name.to_ascii_lowercase())
        .collect();
    let mut http = ApiKeyPlugin::new(keys.clone(), headers);
    let organization_keys = match (&config.api_key_organization_config_id, orgs) {
        (Some(config_id), Some(orgs)) => {
            let settings = ApiKeyConfig {
                config_id: config_id.clone(),
                references: KeyOwner::Organization,
                session_for_keys: false,
                ..settings(config)
            };
            let organization = key_cases(config, settings, store, redis);
            http = http
                .with_organization_keys(OrganizationKeys::new(organization.clone(), orgs.clone()));
            Some(organization)
        }
        _ => None,
    };
    let core = KeyPlugins {
        users: keys.clone(),
        organizations: organization_keys,
    };
    (keys, Plugin::new(Arc::new(core), Arc::new(http)))
}

/// The plugin for `auth-app openapi`, on a store that refuses everything.
pub(crate) fn offline_plugin(config: &AppConfig) -> (ApiKeys, Plugin) {
    plugin(config, Arc::new(NoStore), None, None)
}

/// How often the counts kept in Redis are written to the database.
const WRITE_BACK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Writes the shared counters back to the database, logging a failure.
pub(crate) async fn write_back(keys: &ApiKeys) {
    match keys.write_back().await {
        Ok(0) => {}
        Ok(count) => tracing::debug!(count, "api key counters written back"),
        Err(error) => tracing::warn!(error = %error, "api key counters not written back"),
    }
}

/// The task that writes the shared counters back every second, when there are any.
pub(crate) struct WriteBack {
    task: tokio::task::JoinHandle<()>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl WriteBack {
    /// Stops the task between two write-backs (never in the middle of one, which would lose
    /// the keys it took), then writes back what changed since.
    pub(crate) async fn finish(self, keys: &ApiKeys) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        write_back(keys).await;
    }
}

pub(crate) fn spawn_write_back(keys: &ApiKeys, enabled: bool) -> Option<WriteBack> {
    if !enabled {
        return None;
    }
    let keys = keys.clone();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        let mut interval = tokio::time::interval(WRITE_BACK_EVERY);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => write_back(&keys).await,
                _ = stopped.changed() => return,
            }
        }
    });
    Some(WriteBack { task, stop })
}

#[async_trait::async_trait]
impl ApiKeyRepo for NoStore {
    async fn create(&self, _: &ApiKey, _: &str) -> Result<(), PortError> {
        Err(none())
    }
    async fn find(&self, _: &str) -> Result<Option<ApiKey>, PortError> {
        Err(none())
    }
    async fn find_by_digest(&self, _: &str) -> Result<Option<ApiKey>, PortError> {
        Err(none())
    }
    async fn list(&self, _: &str, _: Option<&str>) -> Result<Vec<ApiKey>, PortError> {
        Err(none())
    }
    async fn update(&self, _: &ApiKey) -> Result<(), PortError> {
        Err(none())
    }
    async fn use_key(
        &self,
        _: &str,
        _: OffsetDateTime,
        _: Option<&Permissions>,
        _: bool,
    ) -> Result<KeyUse, PortError> {
        Err(none())
    }
    async fn set_remaining(&self, _: &str, _: Option<i64>) -> Result<bool, PortError> {
        Err(none())
    }
    async fn reserve(
        &self,
        _: &str,
        _: OffsetDateTime,
        _: i64,
    ) -> Result<auth_ports::Reserved, PortError> {
        Err(none())
    }
    async fn write_counters(&self, _: &str, _: &auth_domain::ApiKeyUse) -> Result<(), PortError> {
        Err(none())
    }
    async fn touch(&self, _: &str, _: OffsetDateTime) -> Result<(), PortError> {
        Err(none())
    }
    async fn delete(&self, _: &str) -> Result<bool, PortError> {
        Err(none())
    }
    async fn delete_by_reference(&self, _: &str) -> Result<u64, PortError> {
        Err(none())
    }
    async fn delete_expired(&self, _: OffsetDateTime) -> Result<u64, PortError> {
        Err(none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_settings_are_validated_and_carried_to_the_use_cases() {
        let valid = AppConfig::default();
        assert!(validate(&valid).is_ok());
        type Breaks = fn(&mut AppConfig);
        let refusals: [(Breaks, &str); 8] = [
            (|c| c.api_key_length = 8, "AUTH_API_KEY_LENGTH"),
            (
                |c| c.api_key_rate_limit_window_ms = 0,
                "AUTH_API_KEY_RATE_LIMIT_WINDOW_MS",
            ),
            (
                |c| c.api_key_rate_limit_max = -1,
                "AUTH_API_KEY_RATE_LIMIT_MAX",
            ),
            (
                |c| c.api_key_cache_ttl_ms = 60_001,
                "AUTH_API_KEY_CACHE_TTL_MS",
            ),
            (
                |c| c.api_key_default_expires_in = -1,
                "AUTH_API_KEY_DEFAULT_EXPIRES_IN",
            ),
            (|c| c.api_key_headers = Vec::new(), "AUTH_API_KEY_HEADERS"),
            (
                |c| c.api_key_headers = vec!["bad header".to_owned()],
                "AUTH_API_KEY_HEADERS",
            ),
            (
                |c| c.api_key_default_prefix = Some("no spaces".to_owned()),
                "AUTH_API_KEY_DEFAULT_PREFIX",
            ),
        ];
        for (break_it, name) in refusals {
            let mut config = AppConfig::default();
            break_it(&mut config);
            let error = validate(&config).expect_err(name).to_string();
            assert!(error.contains(name), "{error}");
        }
        let config = AppConfig {
            api_key_default_prefix: Some("ak_".to_owned()),
            api_key_default_expires_in: 86_400,
            api_key_rate_limit_max: 100,
            api_key_cache_ttl_ms: 0,
            ..AppConfig::default()
        };
        assert!(validate(&config).is_ok());
        let carried = settings(&config);
        assert_eq!(carried.default_prefix.as_deref(), Some("ak_"));
        assert_eq!(carried.default_expires_in, Some(Duration::days(1)));
        assert_eq!(carried.rate_limit.max_requests, 100);
        assert_eq!(carried.cache_ttl, Duration::ZERO);
        assert_eq!(settings(&AppConfig::default()).default_expires_in, None);
    }
}
