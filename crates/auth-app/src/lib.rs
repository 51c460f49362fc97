//! auth-app: the composition root: reads configuration, picks the adapters (cargo features
//! `sqlite`, `postgres`), wires the use cases and the HTTP layer, runs the server.
//! Depends on: every workspace crate.
//! Must not depend on: nothing is banned here.
//! Invariant: the only crate with `#[cfg(feature)]` adapter selection and the only one that
//! reads the environment.

mod api_key;
pub mod config;
mod jwt;
mod ops;
mod organization;
mod plugins;
mod secret;
pub mod telemetry;
mod two_factor;
mod websocket;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use auth_cache_redis::{CacheConfig, LayeredSessionCache};
use auth_core::{Auth, AuthConfig, AuthDeps, RateLimitConfig};
use auth_crypto::{Argon2Hasher, HasherConfig, OsRandom, SystemClock};
use auth_domain::{PasswordPolicy, SessionPolicy};
use auth_http_poem::server::ServerConfig;
use auth_http_poem::{HttpConfig, HttpState};
use auth_ports::{Clock, RateLimitRule, RateLimiter};
use auth_ratelimit::{
    FallbackLimiter, MemoryRateLimiter, RedisConfig, RedisRateLimiter, redis_pool,
};
use auth_store_seaorm::{SeaOrmStore, StoreConfig};

pub use config::AppConfig;
pub use jwt::{describe_key, list_keys, rotate_keys};
pub use plugins::{Plugin, available_plugins};
pub use websocket::settings as websocket_settings;

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("auth-app needs at least one store feature: `sqlite` or `postgres`");

/// Replacements for production parts, for tests (a manual clock).
#[derive(Default, Clone)]
pub struct Overrides {
    /// The clock; the system clock when `None`.
    pub clock: Option<Arc<dyn Clock>>,
    /// Password hashing cost; OWASP argon2id parameters when `None`.
    pub hasher: Option<HasherConfig>,
    /// More plugins (an embedding program's own, or a test's), available to `AUTH_PLUGINS`
    /// beside the built-in ones and on when it is unset.
    pub plugins: Vec<Plugin>,
    /// Where mail goes, instead of SMTP or the outbox (a test's `MemoryMailer`).
    pub mailer: Option<Arc<dyn auth_ports::Mailer>>,
    /// An embedding program's own routes, served at the root beside `/api/auth` (outside its
    /// guards): `(path, endpoint)`, with poem's path syntax. Their handlers can use
    /// `auth_http_poem::SessionUser` and `auth_http_poem::api_key::ApiKeyPrincipal`.
    pub routes: Vec<(String, AppEndpoint)>,
    /// The hub an embedding program's own WebSocket endpoints (`auth_ws::websocket`) register
    /// with, so that ending a session closes their sockets too (`AUTH_WEBSOCKET`); the
    /// server's own when `None`.
    pub websocket_hub: Option<Arc<auth_ws::Hub>>,
}

/// An endpoint an embedding program serves beside the auth API.
pub type AppEndpoint = Arc<poem::endpoint::BoxEndpoint<'static>>;

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    listener: tokio::net::TcpListener,
    endpoint: poem::endpoint::BoxEndpoint<'static>,
    /// `/metrics` on a listener of its own (`metrics_bind`).
    metrics: Option<(
        tokio::net::TcpListener,
        poem::endpoint::BoxEndpoint<'static>,
    )>,
    server: ServerConfig,
    store: SeaOrmStore,
    /// The API-key use cases and the task that writes their shared counters back.
    api_keys: (auth_core::ApiKeys, Option<api_key::WriteBack>),
    /// The open WebSockets (`AUTH_WEBSOCKET`), closed at shutdown.
    sockets: Option<Arc<auth_ws::Hub>>,
}

fn check_backend(url: &str) -> anyhow::Result<()> {
    let is_postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if is_postgres && !cfg!(feature = "postgres") {
        bail!(
            "AUTH_DATABASE_URL is a Postgres URL, but auth-app was built without the `postgres` feature"
        );
    }
    if url.starts_with("sqlite:") && !cfg!(feature = "sqlite") {
        bail!(
            "AUTH_DATABASE_URL is an SQLite URL, but auth-app was built without the `sqlite` feature"
        );
    }
    Ok(())
}

/// Connects to the database and applies migrations.
///
/// # Errors
/// When the database cannot be reached or a migration fails.
pub async fn migrate(config: &AppConfig) -> anyhow::Result<()> {
    let store = connect(config).await?;
    store.migrate().await.context("applying migrations")?;
    // Every built plugin's columns, enabled or not, as with their tables.
    let store = store.with_fields(&field_specs(&core_plugins(&available_plugins())));
    store
        .add_field_columns()
        .await
        .context("adding the plugins' columns")?;
    store.close().await;
    Ok(())
}

/// The fields the plugins add to the user and the session.
fn field_specs(plugins: &[Arc<dyn auth_core::AuthPlugin>]) -> Vec<auth_domain::FieldSpec> {
    plugins.iter().flat_map(|plugin| plugin.fields()).collect()
}

async fn connect(config: &AppConfig) -> anyhow::Result<SeaOrmStore> {
    check_backend(&config.database_url)?;
    let sqlite_path = config.sqlite_path();
    let parent = sqlite_path.as_deref().and_then(std::path::Path::parent);
    if let Some(parent) = parent.filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut store_config = StoreConfig::for_url(&config.database_url);
    if let Some(max) = config.database_max_connections {
        store_config.max_connections = max;
    }
    store_config.statement_timeout = Duration::from_millis(config.database_statement_timeout_ms);
    SeaOrmStore::connect(&store_config)
        .await
        .context("connecting to the database")
}

/// The HTTP state for a configuration (shared by `serve` and `openapi`).
fn http_state(
    config: &AppConfig,
    auth: Auth,
    secret: String,
    plugins: &[Plugin],
) -> Arc<HttpState> {
    let trusted_proxies = config
        .trusted_proxies
        .iter()
        .filter_map(|proxy| auth_http_poem::client_ip::TrustedProxy::parse(proxy))
        .collect();
    let http = HttpConfig {
        trusted_proxies,
        base_url: config.base_url(),
        trusted_origins: config.trusted_origins.clone(),
        body_limit: config.body_limit,
        cors: auth_http_poem::cors::CorsConfig {
            enabled: config.cors_enabled,
            extra_headers: config.cors_allowed_headers.clone(),
            max_age: config.cors_max_age,
        },
        cookie_same_site: auth_http_poem::cookies::SameSite::parse(&config.cookie_same_site)
            .unwrap_or_default(),
        cookie_domain: config.cookie_domain.clone(),
        ..HttpConfig::default()
    };
    let plugins = plugins.iter().map(|plugin| plugin.http.clone()).collect();
    Arc::new(HttpState::new(auth, http, secret.into(), plugins))
}

fn redis_config(config: &AppConfig, url: &str) -> RedisConfig {
    RedisConfig {
        url: url.to_owned(),
        prefix: config.redis_prefix.clone(),
        timeout: Duration::from_millis(config.redis_timeout_ms),
    }
}

fn cache_config(config: &AppConfig, secret: &str) -> CacheConfig {
    CacheConfig {
        l1_ttl: Duration::from_millis(config.cache_l1_ttl_ms),
        l2_ttl: Duration::from_secs(config.cache_l2_ttl),
        redis_url: config.redis_url.clone(),
        prefix: config.redis_prefix.clone(),
        timeout: Duration::from_millis(config.redis_timeout_ms),
        secret: secret.as_bytes().to_vec(),
        ..CacheConfig::default()
    }
}

/// Redis (shared, with a memory fallback) when a pool is given, else memory.
fn rate_limiter(config: &AppConfig, redis: Option<&deadpool_redis::Pool>) -> Arc<dyn RateLimiter> {
    match (&config.redis_url, redis) {
        (Some(url), Some(pool)) => Arc::new(FallbackLimiter::new(
            RedisRateLimiter::new(pool.clone(), &redis_config(config, url)),
            MemoryRateLimiter::with_max_keys(config.rate_limit_max_keys),
        )),
        _ => Arc::new(MemoryRateLimiter::with_max_keys(config.rate_limit_max_keys)),
    }
}

/// Domain events across instances: over Redis when it is configured, else this process only.
fn event_bus(
    config: &AppConfig,
    redis: Option<&deadpool_redis::Pool>,
    secret: &str,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Arc<dyn auth_ports::EventBus>> {
    match (&config.redis_url, redis) {
        (Some(url), Some(pool)) => Ok(Arc::new(auth_cache_redis::RedisEventBus::new(
            pool.clone(),
            url,
            &config.redis_prefix,
            secret.as_bytes(),
            Duration::from_millis(config.redis_timeout_ms),
            clock,
        )?)),
        _ => Ok(Arc::new(auth_ports::LocalEvents)),
    }
}

fn server_config(config: &AppConfig) -> ServerConfig {
    ServerConfig {
        header_read_timeout: Duration::from_millis(config.http_header_timeout_ms),
        body_read_timeout: Duration::from_millis(config.http_body_timeout_ms),
        idle_timeout: Duration::from_millis(config.http_idle_timeout_ms),
        max_connections: config.http_max_connections,
        ..ServerConfig::default()
    }
}

fn auth_config(config: &AppConfig) -> AuthConfig {
    AuthConfig {
        password: PasswordPolicy {
            min_length: config.password_min_length,
            max_length: config.password_max_length,
        },
        session: SessionPolicy {
            expires_in: time::Duration::seconds(config.session_expires_in),
            update_age: time::Duration::seconds(config.session_update_age),
            fresh_age: time::Duration::seconds(config.session_fresh_age),
            absolute_lifetime: (config.session_absolute_lifetime > 0)
                .then(|| time::Duration::seconds(config.session_absolute_lifetime)),
            ..SessionPolicy::default()
        },
        rate_limit: RateLimitConfig {
            enabled: config.rate_limit_enabled,
            general: RateLimitRule {
                window: time::Duration::seconds(config.rate_limit_window),
                max: config.rate_limit_max,
            },
            credential: RateLimitRule {
                window: time::Duration::seconds(config.rate_limit_credential_window),
                max: config.rate_limit_credential_max,
            },
            account: RateLimitRule {
                window: time::Duration::seconds(config.rate_limit_credential_window),
                max: config.rate_limit_credential_max,
            },
            account_ceiling: RateLimitRule {
                window: time::Duration::seconds(config.rate_limit_credential_window),
                max: config.rate_limit_account_ceiling,
            },
            ipv6_subnet: config.rate_limit_ipv6_subnet,
        },
        email: auth_core::EmailRules {
            revoke_sessions_on_password_reset: config.revoke_sessions_on_password_reset,
            require_email_verification: config.require_email_verification,
            send_verification_on_sign_up: config.send_verification_on_sign_up,
            auto_sign_in_after_verification: config.auto_sign_in_after_verification,
            change_email_enabled: config.change_email_enabled,
            update_email_without_verification: config.update_email_without_verification,
            delete_user_enabled: config.delete_user_enabled,
            delete_user_verification: config.delete_user_by_email,
            ..auth_core::EmailRules::default()
        },
    }
}

/// Where mail goes (SMTP when configured, else the development outbox, or the override) and
/// what it says (the built-in templates, each replaceable from `AUTH_MAIL_TEMPLATES`).
fn mail_setup(
    config: &AppConfig,
    mailer: Option<Arc<dyn auth_ports::Mailer>>,
    secret: &str,
) -> anyhow::Result<auth_core::MailSetup> {
    let mailer: Arc<dyn auth_ports::Mailer> = match (mailer, &config.smtp_url) {
        (Some(mailer), _) => mailer,
        (None, Some(url)) => Arc::new(auth_mail::SmtpMailer::start(&auth_mail::SmtpConfig {
            url: url.clone(),
            from: config.mail_from.clone(),
            timeout: Duration::from_millis(config.smtp_timeout_ms),
            queue: config.smtp_queue,
        })?),
        (None, None) => {
            tracing::warn!(
                "no AUTH_SMTP_URL: mail goes to the development outbox, which logs every message (links and tokens included)"
            );
            Arc::new(auth_mail::OutboxMailer::new(auth_mail::OutboxConfig {
                file: config.mail_outbox_file.clone(),
                ..auth_mail::OutboxConfig::default()
            }))
        }
    };
    let mut templates = auth_core::MailTemplates::default();
    if let Some(dir) = &config.mail_templates {
        for name in auth_core::MailTemplates::NAMES {
            let Some(template) = templates.by_name_mut(name) else {
                continue;
            };
            for (extension, part) in [
                ("subject", &mut template.subject),
                ("txt", &mut template.text),
                ("html", &mut template.html),
            ] {
                let path = dir.join(format!("{name}.{extension}"));
                match std::fs::read_to_string(&path) {
                    Ok(text) => *part = text.trim_end_matches('\n').to_owned(),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => {
                        return Err(anyhow::anyhow!("reading {}: {error}", path.display()));
                    }
                }
            }
        }
    }
    Ok(auth_core::MailSetup {
        mailer,
        tokens: Arc::new(auth_crypto::Hs256EmailTokens::new(
            &auth_domain::Secret::new(secret.to_owned()),
        )),
        templates,
        app_name: config.app_name.clone(),
        api_url: format!(
            "{}{}",
            config.base_url().trim_end_matches('/'),
            auth_http_poem::BASE_PATH
        ),
    })
}

/// The ports for a command that runs outside the server (`openapi`, `api-keys create`): the
/// store given, no cache, no mail, events in this process only.
fn command_deps<S>(store: Arc<S>) -> anyhow::Result<AuthDeps>
where
    S: auth_ports::UserRepo
        + auth_ports::AccountRepo
        + auth_ports::SessionRepo
        + auth_ports::VerificationRepo
        + auth_ports::AuditLog
        + 'static,
{
    Ok(AuthDeps {
        users: store.clone(),
        accounts: store.clone(),
        sessions: store.clone(),
        verifications: store.clone(),
        hasher: Arc::new(Argon2Hasher::new(HasherConfig::default())?),
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandom),
        cache: Arc::new(auth_ports::NoCache),
        rate_limiter: Arc::new(MemoryRateLimiter::new()),
        audit: store,
        events: Arc::new(auth_ports::LocalEvents),
        mail: None,
    })
}

/// Makes an API key on the server's side (`auth-app api-keys create`), where the counters and
/// permissions that clients cannot set are allowed. Returns the full key and the stored key.
///
/// # Errors
/// Bad configuration, an unreachable database, an unknown user, or a refused key.
pub async fn create_api_key(
    config: &AppConfig,
    email: &str,
    request: impl FnOnce(auth_domain::UserId) -> auth_core::CreateApiKey,
) -> anyhow::Result<(String, auth_domain::ApiKey)> {
    config.validate()?;
    let store = connect(config).await?;
    store.migrate().await.context("applying migrations")?;
    let email = auth_domain::Email::parse(email).map_err(|error| anyhow::anyhow!("{error}"))?;
    let user = auth_ports::UserRepo::find_by_email(&store, &email)
        .await
        .context("reading the user")?
        .with_context(|| format!("no user has the email {}", email.as_str()))?;
    let shared = Arc::new(store.clone());
    let (keys, _) = api_key::plugin(config, shared.clone(), None, None);
    let auth = Auth::new(command_deps(shared)?, auth_config(config));
    let created = keys
        .create(&auth, request(user.id))
        .await
        .map_err(|error| anyhow::anyhow!("the key was refused: {error} ({:?})", error.code()))?;
    store.close().await;
    Ok((created.key.expose().clone(), created.api_key))
}

/// The OpenAPI document, without touching a database.
///
/// # Errors
/// An invalid plugin list.
pub fn openapi(config: &AppConfig) -> anyhow::Result<String> {
    let deps = command_deps(Arc::new(auth_testkit_free::NoStore))?;
    let plugins = plugins::enabled(
        config.plugins.as_deref(),
        vec![
            Plugin::http(jwt::offline_plugin(config)),
            api_key::offline_plugin(config).1,
            organization::offline_plugin(config)?,
            two_factor::plugin(config, Arc::new(auth_testkit_free::NoStore), "offline"),
        ]
        .into_iter()
        .chain(multi_session_plugin(config))
        .chain(websocket::plugin(config, None, None).map(|(_, plugin)| plugin))
        .collect(),
    )?;
    let auth = Auth::with_plugins(deps, auth_config(config), core_plugins(&plugins));
    let state = http_state(config, auth, "x".repeat(32), &plugins);
    Ok(auth_http_poem::openapi_json(&state))
}

/// The multi-session plugin, when `AUTH_MULTI_SESSION` is on.
fn multi_session_plugin(config: &AppConfig) -> Option<Plugin> {
    config.multi_session.then(|| {
        Plugin::http(Arc::new(
            auth_http_poem::multi_session::MultiSessionPlugin::new(config.multi_session_maximum),
        ))
    })
}

/// The use-case halves of the plugins, in order.
fn core_plugins(plugins: &[Plugin]) -> Vec<Arc<dyn auth_core::AuthPlugin>> {
    plugins
        .iter()
        .filter_map(|plugin| plugin.core.clone())
        .collect()
}

mod auth_testkit_free;

/// Warns once, at startup, when the database holds users with two-factor authentication on:
/// this server has no two-factor step, so their password sign-ins are refused (fail closed).
async fn warn_two_factor_users(auth: &Auth) {
    match auth.count_two_factor_users().await {
        Ok(0) => {}
        Ok(count) => tracing::warn!(
            users = count,
            "{count} user(s) have two-factor authentication on, and this server has no two-factor plugin: their password sign-ins are refused with 403 TWO_FACTOR_NOT_AVAILABLE (docs/troubleshooting.md)"
        ),
        Err(error) => {
            tracing::warn!(%error, "could not count the users with two-factor authentication on")
        }
    }
}

impl Application {
    /// Connects, migrates (when `auto_migrate`), wires everything and binds the listener.
    ///
    /// # Errors
    /// Bad configuration, an unreachable database, or a port that cannot be bound.
    pub async fn build(config: AppConfig, overrides: Overrides) -> anyhow::Result<Self> {
        config.validate()?;
        if config.metrics_enabled {
            // First, so that the series every part creates at zero are recorded.
            ops::install_recorder();
        }
        let secret = secret::resolve(&config)?;
        let store = connect(&config).await?;
        if config.auto_migrate {
            store.migrate().await.context("applying migrations")?;
        }
        let hasher_config = overrides.hasher.unwrap_or(HasherConfig {
            max_concurrent: config.hash_concurrency,
            queue_timeout: Duration::from_millis(config.hash_queue_timeout_ms),
            ..HasherConfig::default()
        });
        let clock: Arc<dyn Clock> = overrides
            .clock
            .clone()
            .unwrap_or_else(|| Arc::new(SystemClock));
        let tokens = jwt::token_issuer(&config, Arc::new(store.clone()), &secret, clock.clone());
        // One pool for the rate limiter, the readiness check, the pool metrics and the API-key
        // counters.
        let redis = match &config.redis_url {
            Some(url) => Some(redis_pool(&redis_config(&config, url))?),
            None => None,
        };
        let (orgs, organization_plugin) = organization::plugin(&config, Arc::new(store.clone()))?;
        let (api_keys, api_key_plugin) = api_key::plugin(
            &config,
            Arc::new(store.clone()),
            redis.as_ref(),
            Some(&orgs),
        );
        let mut extra = vec![
            Plugin::http(jwt::plugin(tokens.clone())),
            api_key_plugin,
            organization_plugin,
            two_factor::plugin(&config, Arc::new(store.clone()), &secret),
        ];
        extra.extend(multi_session_plugin(&config));
        if overrides.websocket_hub.is_some() && !config.websocket {
            bail!(
                "a WebSocket hub was given, but AUTH_WEBSOCKET is off: its sockets would never close"
            );
        }
        let websocket = websocket::plugin(&config, overrides.websocket_hub, redis.as_ref());
        extra.extend(websocket.as_ref().map(|(_, plugin)| plugin.clone()));
        extra.extend(overrides.plugins);
        let plugins = plugins::enabled(config.plugins.as_deref(), extra)?;
        if config.websocket && !plugins.iter().any(|plugin| plugin.id() == "websocket") {
            // Without the plugin no event would reach the sockets: none would ever close.
            bail!("AUTH_WEBSOCKET=true needs the `websocket` plugin: add it to AUTH_PLUGINS");
        }
        if let Some((hub, _)) = &websocket
            && plugins.iter().any(|plugin| plugin.id() == "jwt")
        {
            // The tokens the JWT plugin signs authenticate WebSocket upgrades too.
            hub.accept_tokens(tokens);
        }
        let plugin_ids: Vec<&str> = plugins.iter().map(|plugin| plugin.id()).collect();
        ops::record_build_info(&plugin_ids.join(","));
        let core_plugins = core_plugins(&plugins);
        let store = store.with_fields(&field_specs(&core_plugins));
        if config.auto_migrate {
            store
                .add_field_columns()
                .await
                .context("adding the plugins' columns")?;
        }
        let shared = Arc::new(store.clone());
        let events = event_bus(&config, redis.as_ref(), &secret, clock.clone())?;
        let deps = AuthDeps {
            users: shared.clone(),
            accounts: shared.clone(),
            sessions: shared.clone(),
            verifications: shared.clone(),
            hasher: Arc::new(Argon2Hasher::new(hasher_config)?),
            clock,
            random: Arc::new(OsRandom),
            cache: Arc::new(LayeredSessionCache::start(&cache_config(&config, &secret))?),
            rate_limiter: rate_limiter(&config, redis.as_ref()),
            audit: shared,
            events: events.clone(),
            mail: Some(Arc::new(mail_setup(
                &config,
                overrides.mailer.clone(),
                &secret,
            )?)),
        };
        let auth = Auth::with_plugins(deps, auth_config(&config), core_plugins);
        let weak = auth.downgrade();
        events.listen(Arc::new(move |event| {
            let auth = weak.upgrade();
            Box::pin(async move {
                if let Some(auth) = auth {
                    auth.hear(event).await;
                }
            })
        }));
        if !plugins
            .iter()
            .any(|plugin| plugin.id() == auth_core::TWO_FACTOR)
        {
            warn_two_factor_users(&auth).await;
        }
        // Uses are counted in Redis, and written back, only when Redis is configured.
        let counted_in_redis = redis.is_some() && plugins.iter().any(|p| p.id() == "api-key");
        let write_back = api_key::spawn_write_back(&api_keys, counted_in_redis);
        ops::spawn_housekeeping(auth.clone(), config.audit_retention_days);
        let state = http_state(&config, auth, secret, &plugins);
        let ops = ops::routes(&config, store.clone(), redis);
        let mut routes = overrides.routes;
        if let Some((hub, _)) = &websocket {
            routes.push(("/ws".to_owned(), websocket::endpoint(&config, hub.clone())));
        }
        let main = routes
            .into_iter()
            .fold(ops.main, |routes, (path, endpoint)| {
                routes.at(path, endpoint)
            });
        let endpoint = telemetry::traced(
            poem::EndpointExt::boxed(auth_http_poem::app(&state, main)),
            &config,
        );
        let metrics = match (ops.metrics, &config.metrics_bind) {
            (Some(route), Some(bind)) => {
                let listener = tokio::net::TcpListener::bind(bind.as_str())
                    .await
                    .with_context(|| format!("binding the metrics listener {bind}"))?;
                Some((listener, poem::EndpointExt::boxed(route)))
            }
            _ => None,
        };
        let listener = tokio::net::TcpListener::bind(config.bind.as_str())
            .await
            .with_context(|| format!("binding {}", config.bind))?;
        let port = listener
            .local_addr()
            .map(|addr| addr.port())
            .unwrap_or_default();
        tracing::info!(bind = %config.bind, port, plugins = ?state.plugins().iter().map(|p| p.id()).collect::<Vec<_>>(), "auth server ready");
        Ok(Self {
            port,
            listener,
            endpoint,
            metrics,
            server: server_config(&config),
            store,
            api_keys: (api_keys, write_back),
            sockets: websocket.map(|(hub, _)| hub),
        })
    }

    /// The bound port (useful with port 0).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener, when `metrics_bind` is set.
    #[must_use]
    pub fn metrics_port(&self) -> Option<u16> {
        let (listener, _) = self.metrics.as_ref()?;
        listener.local_addr().ok().map(|addr| addr.port())
    }

    /// Serves until `shutdown` completes, then drains for up to 10 seconds.
    ///
    /// # Errors
    /// An I/O error of the listener.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(());
        let metrics = self.metrics.map(|(listener, endpoint)| {
            let mut stopped = stopped.clone();
            let stopped = async move {
                let _ = stopped.changed().await;
            };
            tokio::spawn(auth_http_poem::server::serve(
                listener,
                endpoint,
                self.server,
                stopped,
            ))
        });
        // At shutdown every WebSocket is closed first (1001), so none holds the drain up.
        let sockets = self.sockets;
        let shutdown = async move {
            shutdown.await;
            if let Some(hub) = sockets {
                hub.close_all();
            }
        };
        let served =
            auth_http_poem::server::serve(self.listener, self.endpoint, self.server, shutdown)
                .await;
        drop(stop);
        if let Some(metrics) = metrics {
            let _ = metrics.await;
        }
        let (api_keys, write_back) = self.api_keys;
        if let Some(write_back) = write_back {
            write_back.finish(&api_keys).await;
        }
        self.store.close().await;
        served?;
        Ok(())
    }
}
