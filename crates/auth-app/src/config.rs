//! Configuration: defaults in code, then an optional TOML file (`AUTH_CONFIG`), then `AUTH_*`
//! environment variables. Every key is documented in docs/config.md.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use auth_domain::secret::redact_url;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

/// The whole configuration of the server.
#[derive(Clone, Serialize, Deserialize)]
pub struct AppConfig {
    /// `AUTH_SECRET`: signs cookies; at least 32 bytes. Generated and stored beside an SQLite
    /// database when absent.
    pub secret: Option<String>,
    /// `AUTH_DATABASE_URL`: `sqlite://path?mode=rwc` or `postgres://...`.
    pub database_url: String,
    /// `AUTH_BIND`: `host:port` to listen on.
    pub bind: String,
    /// `AUTH_BASE_URL`: the public URL; defaults to `http://<bind>`.
    pub base_url: Option<String>,
    /// `AUTH_TRUSTED_ORIGINS`: comma-separated extra trusted origins.
    #[serde(deserialize_with = "comma_list")]
    pub trusted_origins: Vec<String>,
    /// `AUTH_PLUGINS`: comma-separated plugin ids; absent means every plugin that is built.
    #[serde(
        deserialize_with = "optional_comma_list",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub plugins: Option<Vec<String>>,
    /// `AUTH_LOG_FORMAT`: `pretty` or `json`.
    pub log_format: LogFormat,
    /// `AUTH_LOG`: a tracing filter (`info`, `auth=debug,warn`); `RUST_LOG` is read when unset.
    pub log: Option<String>,
    /// `AUTH_OTEL_ENDPOINT`: the OpenTelemetry collector's OTLP/HTTP address
    /// (`http://127.0.0.1:4318`) the spans are exported to; needs the `otel` feature.
    #[serde(default)]
    pub otel_endpoint: Option<String>,
    /// `AUTH_CORS_ENABLED`: answer preflights and add CORS headers for trusted origins.
    pub cors_enabled: bool,
    /// `AUTH_CORS_ALLOWED_HEADERS`: request headers allowed besides the built-in ones.
    #[serde(deserialize_with = "comma_list")]
    pub cors_allowed_headers: Vec<String>,
    /// `AUTH_CORS_MAX_AGE`: seconds browsers may cache a preflight answer.
    pub cors_max_age: u32,
    /// `AUTH_COOKIE_SAME_SITE`: `lax`, `strict` or `none` (`none` needs an https base URL).
    pub cookie_same_site: String,
    /// `AUTH_COOKIE_DOMAIN`: `Domain` of the cookies, to share them with subdomains.
    #[serde(default)]
    pub cookie_domain: Option<String>,
    /// `AUTH_BODY_LIMIT`: largest request body in bytes.
    pub body_limit: usize,
    /// `AUTH_HTTP_HEADER_TIMEOUT_MS`: longest time to receive a request head, from its first
    /// byte.
    pub http_header_timeout_ms: u64,
    /// `AUTH_HTTP_BODY_TIMEOUT_MS`: longest time to receive a request body, from the end of
    /// its head.
    pub http_body_timeout_ms: u64,
    /// `AUTH_HTTP_IDLE_TIMEOUT_MS`: longest silence on a keep-alive connection between
    /// requests.
    pub http_idle_timeout_ms: u64,
    /// `AUTH_HTTP_MAX_CONNECTIONS`: most connections open at once.
    pub http_max_connections: usize,
    /// `AUTH_PASSWORD_MIN_LENGTH`.
    pub password_min_length: usize,
    /// `AUTH_PASSWORD_MAX_LENGTH`.
    pub password_max_length: usize,
    /// `AUTH_SESSION_EXPIRES_IN`: seconds.
    pub session_expires_in: i64,
    /// `AUTH_SESSION_UPDATE_AGE`: seconds.
    pub session_update_age: i64,
    /// `AUTH_SESSION_FRESH_AGE`: seconds (0 disables the freshness check).
    pub session_fresh_age: i64,
    /// `AUTH_SESSION_ABSOLUTE_LIFETIME`: seconds a session may live from its creation however
    /// often it slides; 0 (the default) for no bound.
    pub session_absolute_lifetime: i64,
    /// `AUTH_HASH_CONCURRENCY`: password hashes computed at once (default: half the CPU cores).
    pub hash_concurrency: usize,
    /// `AUTH_HASH_QUEUE_TIMEOUT_MS`: longest wait for a hashing slot before the request is
    /// refused with `503` and `Retry-After`.
    pub hash_queue_timeout_ms: u64,
    /// `AUTH_DATABASE_MAX_CONNECTIONS`: pool size (default: 4 on SQLite, 16 on Postgres).
    pub database_max_connections: Option<u32>,
    /// `AUTH_DATABASE_STATEMENT_TIMEOUT_MS`: longest a statement may run (Postgres) or wait
    /// for a lock (SQLite) before the request gets `503`.
    pub database_statement_timeout_ms: u64,
    /// `AUTH_AUTO_MIGRATE`: apply migrations when the server starts.
    pub auto_migrate: bool,
    /// `AUTH_JWT_ISSUER`: `iss` of the tokens the JWT plugin signs; the base URL's origin when
    /// unset.
    #[serde(default)]
    pub jwt_issuer: Option<String>,
    /// `AUTH_JWT_AUDIENCE`: `aud` of those tokens; the base URL's origin when unset.
    #[serde(default)]
    pub jwt_audience: Option<String>,
    /// `AUTH_JWT_EXPIRES_IN`: token lifetime in seconds (900).
    #[serde(default = "default_jwt_expires_in")]
    pub jwt_expires_in: i64,
    /// `AUTH_JWT_ROTATION_INTERVAL`: seconds a signing key signs before a new one replaces it
    /// (90 days); 0 makes keys that never expire.
    #[serde(default = "default_jwt_rotation_interval")]
    pub jwt_rotation_interval: i64,
    /// `AUTH_TOKEN_FORMAT`: what `GET /api/auth/token` hands out: `jwt` (Better-Auth's
    /// format) or `paseto` (v4.public).
    #[serde(default)]
    pub token_format: TokenFormatSetting,
    /// `AUTH_REDIS_URL`: `redis://[user:password@]host:port`, or `rediss://` for TLS (with
    /// the `redis-tls` feature); shares rate limits and the session cache between instances.
    /// Without it both stay in process.
    pub redis_url: Option<String>,
    /// `AUTH_REDIS_PREFIX`: prefix of every Redis key and channel.
    pub redis_prefix: String,
    /// `AUTH_REDIS_TIMEOUT_MS`: longest wait on Redis per operation.
    pub redis_timeout_ms: u64,
    /// `AUTH_RATE_LIMIT_ENABLED`: `false` only for test rigs.
    pub rate_limit_enabled: bool,
    /// `AUTH_RATE_LIMIT_WINDOW`: seconds, the general rule's window.
    pub rate_limit_window: i64,
    /// `AUTH_RATE_LIMIT_MAX`: requests per window per client and route.
    pub rate_limit_max: u32,
    /// `AUTH_RATE_LIMIT_CREDENTIAL_WINDOW`: seconds, for sign-in, sign-up, change-password (per
    /// client, and for sign-in per account too).
    pub rate_limit_credential_window: i64,
    /// `AUTH_RATE_LIMIT_CREDENTIAL_MAX`.
    pub rate_limit_credential_max: u32,
    /// `AUTH_RATE_LIMIT_ACCOUNT_CEILING`: failed sign-ins per account from all clients
    /// together per credential window, past which the account refuses every client.
    pub rate_limit_account_ceiling: u32,
    /// `AUTH_RATE_LIMIT_MAX_KEYS`: most keys the in-memory limiter keeps (also the fallback
    /// while Redis is down); past it new keys share one overflow log per rule.
    pub rate_limit_max_keys: usize,
    /// `AUTH_RATE_LIMIT_IPV6_SUBNET`: IPv6 clients are counted per network of this many bits
    /// (64: one host commonly owns a whole /64).
    pub rate_limit_ipv6_subnet: u8,
    /// `AUTH_TRUSTED_PROXIES`: comma-separated addresses or CIDR blocks whose `X-Forwarded-For`
    /// is believed.
    #[serde(deserialize_with = "comma_list")]
    pub trusted_proxies: Vec<String>,
    /// `AUTH_CACHE_L1_TTL_MS`: in-process session cache lifetime (the revocation bound when
    /// Redis messages are lost).
    pub cache_l1_ttl_ms: u64,
    /// `AUTH_CACHE_L2_TTL`: seconds a session stays cached in Redis.
    pub cache_l2_ttl: u64,
    /// `AUTH_METRICS_ENABLED`: serve `/metrics`.
    pub metrics_enabled: bool,
    /// `AUTH_METRICS_TOKEN`: when set, `/metrics` needs `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// `AUTH_METRICS_BIND`: `host:port` of a separate listener for `/metrics` (then not served
    /// on the main one).
    #[serde(default)]
    pub metrics_bind: Option<String>,
    /// `AUTH_AUDIT_RETENTION_DAYS`: audit events older than this are deleted (hourly).
    pub audit_retention_days: i64,
    /// `AUTH_APP_NAME`: the name mails give the app.
    pub app_name: String,
    /// `AUTH_SMTP_URL`: `smtp://[user:pass@]host[:port][?tls=required]` or `smtps://...`; mail
    /// goes to the development outbox (the log) when unset.
    #[serde(default)]
    pub smtp_url: Option<String>,
    /// `AUTH_MAIL_FROM`: the sender of every mail.
    pub mail_from: String,
    /// `AUTH_SMTP_TIMEOUT_MS`: longest wait on the SMTP server per command.
    pub smtp_timeout_ms: u64,
    /// `AUTH_SMTP_QUEUE`: mails waiting for the SMTP server at most.
    pub smtp_queue: usize,
    /// `AUTH_MAIL_TEMPLATES`: a folder whose `<name>.subject`, `<name>.txt` and `<name>.html`
    /// files replace the built-in templates.
    #[serde(default)]
    pub mail_templates: Option<PathBuf>,
    /// `AUTH_MAIL_OUTBOX_FILE`: the development outbox also keeps its last messages in this
    /// file (JSON lines).
    #[serde(default)]
    pub mail_outbox_file: Option<PathBuf>,
    /// `AUTH_REVOKE_SESSIONS_ON_PASSWORD_RESET`: a password reset ends every session of the
    /// user.
    pub revoke_sessions_on_password_reset: bool,
    /// `AUTH_REQUIRE_EMAIL_VERIFICATION`: sign-in needs a verified email; sign-up issues no
    /// session.
    pub require_email_verification: bool,
    /// `AUTH_SEND_VERIFICATION_ON_SIGN_UP`: sign-up mails a verification link.
    pub send_verification_on_sign_up: bool,
    /// `AUTH_AUTO_SIGN_IN_AFTER_VERIFICATION`: following a verification link signs the user in.
    pub auto_sign_in_after_verification: bool,
    /// `AUTH_CHANGE_EMAIL_ENABLED`: users may change their email (`POST /change-email`).
    pub change_email_enabled: bool,
    /// `AUTH_UPDATE_EMAIL_WITHOUT_VERIFICATION`: an unverified user's email changes at once.
    pub update_email_without_verification: bool,
    /// `AUTH_DELETE_USER_ENABLED`: users may delete their account (`POST /delete-user`).
    pub delete_user_enabled: bool,
    /// `AUTH_DELETE_USER_BY_EMAIL`: a deletion is confirmed by an emailed link.
    pub delete_user_by_email: bool,
    /// `AUTH_API_KEY_HEADERS`: the headers an API key is read from, first present wins.
    #[serde(deserialize_with = "comma_list")]
    pub api_key_headers: Vec<String>,
    /// `AUTH_API_KEY_LENGTH`: length of the random part of new keys.
    pub api_key_length: usize,
    /// `AUTH_API_KEY_DEFAULT_PREFIX`: prefix of new keys whose request names none.
    #[serde(default)]
    pub api_key_default_prefix: Option<String>,
    /// `AUTH_API_KEY_REQUIRE_NAME`: a key must be given a name.
    pub api_key_require_name: bool,
    /// `AUTH_API_KEY_METADATA`: keys may carry metadata.
    pub api_key_metadata: bool,
    /// `AUTH_API_KEY_RATE_LIMIT_ENABLED`: the per-key rate limit is counted.
    pub api_key_rate_limit_enabled: bool,
    /// `AUTH_API_KEY_RATE_LIMIT_WINDOW_MS`: the per-key window of new keys.
    pub api_key_rate_limit_window_ms: i64,
    /// `AUTH_API_KEY_RATE_LIMIT_MAX`: most uses per window of new keys.
    pub api_key_rate_limit_max: i64,
    /// `AUTH_API_KEY_DEFAULT_EXPIRES_IN`: lifetime in seconds of keys created without one (0:
    /// never expire).
    pub api_key_default_expires_in: i64,
    /// `AUTH_API_KEY_SESSIONS`: a key in the header stands for a session of its owner
    /// (Better-Auth's `enableSessionForAPIKeys`).
    pub api_key_sessions: bool,
    /// `AUTH_API_KEY_MAX_PER_USER`: most keys one user may have.
    pub api_key_max_per_user: usize,
    /// `AUTH_API_KEY_CACHE_TTL_MS`: how long a key whose uses count nothing is served from
    /// memory (0: never).
    pub api_key_cache_ttl_ms: u64,
    /// `AUTH_API_KEY_ORGANIZATION_CONFIG_ID`: the id of a second key configuration whose keys
    /// organizations own (Better-Auth's `references: "organization"`); unset: none.
    #[serde(default)]
    pub api_key_organization_config_id: Option<String>,
    /// `AUTH_MULTI_SESSION`: one browser may be signed in as several users (Better-Auth's
    /// `multiSession()`).
    pub multi_session: bool,
    /// `AUTH_MULTI_SESSION_MAXIMUM`: most sessions one browser keeps.
    pub multi_session_maximum: usize,
    /// `AUTH_WEBSOCKET`: the ticket route and the built-in `/ws` endpoint, whose sockets close
    /// when their session ends.
    pub websocket: bool,
    /// `AUTH_WEBSOCKET_MAX_PER_USER`: most sockets one user keeps open (on all instances, when
    /// Redis is configured).
    pub websocket_max_per_user: usize,
    /// `AUTH_WEBSOCKET_CLOSE_OLDEST`: at the per-user limit, close the user's oldest socket
    /// (4008) instead of refusing the new one.
    pub websocket_close_oldest: bool,
    /// `AUTH_WEBSOCKET_PING_INTERVAL_MS`: how often sockets are pinged.
    pub websocket_ping_interval_ms: u64,
    /// `AUTH_WEBSOCKET_PONG_TIMEOUT_MS`: how long a pong may be late before the peer counts as
    /// dead.
    pub websocket_pong_timeout_ms: u64,
    /// `AUTH_WEBSOCKET_IDLE_TIMEOUT_MS`: how long a client may send nothing before its socket
    /// is closed.
    pub websocket_idle_timeout_ms: u64,
    /// `AUTH_TWO_FACTOR_ISSUER`: the issuer authenticator apps show for TOTP (default: the
    /// app's name).
    #[serde(default)]
    pub two_factor_issuer: Option<String>,
    /// `AUTH_ORGANIZATION_ALLOW_CREATE`: users may create organizations.
    pub organization_allow_create: bool,
    /// `AUTH_ORGANIZATION_LIMIT`: most organizations a user may belong to and still create one
    /// (unset: no limit).
    #[serde(default)]
    pub organization_limit: Option<u64>,
    /// `AUTH_ORGANIZATION_MEMBERSHIP_LIMIT`: most members of one organization.
    pub organization_membership_limit: u64,
    /// `AUTH_ORGANIZATION_DISABLE_DELETION`: organizations cannot be deleted over HTTP.
    pub organization_disable_deletion: bool,
    /// `AUTH_ORGANIZATION_INVITATION_EXPIRES_IN`: seconds an invitation can be accepted.
    pub organization_invitation_expires_in: u64,
    /// `AUTH_ORGANIZATION_INVITATION_LIMIT`: most pending invitations of one organization.
    pub organization_invitation_limit: u64,
    /// `AUTH_ORGANIZATION_INVITATION_URL`: the link mailed to invitees, `{id}` standing for the
    /// invitation's id (default: `<base URL>/accept-invitation/{id}`).
    #[serde(default)]
    pub organization_invitation_url: Option<String>,
    /// `AUTH_ORGANIZATION_ROLES`: roles beside (or replacing) Better-Auth's, as JSON
    /// `{"role": {"resource": ["action", ...]}}`.
    #[serde(default)]
    pub organization_roles: Option<String>,
    /// `AUTH_ORGANIZATION_CREATOR_ROLE`: the role of an organization's creator, which only its
    /// holders may give.
    pub organization_creator_role: String,
    /// `AUTH_ORGANIZATION_DYNAMIC_ROLES`: organizations define roles of their own (Better-Auth's
    /// `dynamicAccessControl`).
    pub organization_dynamic_roles: bool,
    /// `AUTH_ORGANIZATION_REQUIRE_EMAIL_VERIFICATION_ON_INVITATION`: only a verified email
    /// reads, accepts or declines an invitation.
    pub organization_require_email_verification_on_invitation: bool,
    /// `AUTH_ORGANIZATION_TEAMS`: organizations have teams (Better-Auth's `teams.enabled`).
    pub organization_teams: bool,
    /// `AUTH_ORGANIZATION_MAXIMUM_TEAMS`: most teams of one organization (unset: no limit).
    #[serde(default)]
    pub organization_maximum_teams: Option<u64>,
    /// `AUTH_ORGANIZATION_MAXIMUM_MEMBERS_PER_TEAM`: most members of one team (unset: no
    /// limit).
    #[serde(default)]
    pub organization_maximum_members_per_team: Option<u64>,
    /// `AUTH_ORGANIZATION_ALLOW_REMOVING_ALL_TEAMS`: an organization's last team may be removed.
    pub organization_allow_removing_all_teams: bool,
    /// `AUTH_ORGANIZATION_DEFAULT_TEAM`: a new organization gets a team of its name with its
    /// creator in it.
    pub organization_default_team: bool,
}

pub use crate::jwt::TokenFormatSetting;

const fn default_jwt_expires_in() -> i64 {
    15 * 60
}

const fn default_jwt_rotation_interval() -> i64 {
    90 * 24 * 3600
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable.
    Pretty,
    /// One JSON object per line.
    Json,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            secret: None,
            database_url: "sqlite://auth.db?mode=rwc".to_owned(),
            bind: "127.0.0.1:3000".to_owned(),
            base_url: None,
            trusted_origins: Vec::new(),
            plugins: None,
            log_format: LogFormat::Pretty,
            log: None,
            otel_endpoint: None,
            cors_enabled: true,
            cors_allowed_headers: Vec::new(),
            cors_max_age: 600,
            cookie_same_site: "lax".to_owned(),
            cookie_domain: None,
            body_limit: 1024 * 1024,
            http_header_timeout_ms: 20_000,
            http_body_timeout_ms: 30_000,
            http_idle_timeout_ms: 60_000,
            http_max_connections: 10_000,
            password_min_length: 8,
            password_max_length: 128,
            session_expires_in: 7 * 24 * 3600,
            session_update_age: 24 * 3600,
            session_fresh_age: 24 * 3600,
            session_absolute_lifetime: 0,
            // Half the cores (at least one): a sign-in storm must leave CPU for session checks.
            hash_concurrency: std::thread::available_parallelism()
                .map_or(1, |n| (n.get() / 2).max(1)),
            hash_queue_timeout_ms: 5_000,
            database_max_connections: None,
            database_statement_timeout_ms: 10_000,
            auto_migrate: true,
            jwt_issuer: None,
            jwt_audience: None,
            jwt_expires_in: default_jwt_expires_in(),
            jwt_rotation_interval: default_jwt_rotation_interval(),
            token_format: TokenFormatSetting::Jwt,
            redis_url: None,
            redis_prefix: "auth".to_owned(),
            redis_timeout_ms: 250,
            rate_limit_enabled: true,
            rate_limit_window: 10,
            rate_limit_max: 100,
            rate_limit_credential_window: 15 * 60,
            rate_limit_credential_max: 5,
            rate_limit_ipv6_subnet: 64,
            rate_limit_account_ceiling: 50,
            rate_limit_max_keys: auth_ratelimit::DEFAULT_MAX_KEYS,
            trusted_proxies: Vec::new(),
            cache_l1_ttl_ms: 10_000,
            cache_l2_ttl: 60,
            metrics_enabled: true,
            metrics_token: None,
            metrics_bind: None,
            audit_retention_days: 90,
            app_name: "Auth".to_owned(),
            smtp_url: None,
            mail_from: "Auth <noreply@localhost>".to_owned(),
            smtp_timeout_ms: 10_000,
            smtp_queue: 1000,
            mail_templates: None,
            mail_outbox_file: None,
            revoke_sessions_on_password_reset: true,
            require_email_verification: false,
            send_verification_on_sign_up: false,
            auto_sign_in_after_verification: false,
            change_email_enabled: false,
            update_email_without_verification: false,
            delete_user_enabled: false,
            delete_user_by_email: false,
            api_key_headers: vec!["x-api-key".to_owned()],
            api_key_length: 64,
            api_key_default_prefix: None,
            api_key_require_name: false,
            api_key_metadata: false,
            api_key_rate_limit_enabled: true,
            api_key_rate_limit_window_ms: 86_400_000,
            api_key_rate_limit_max: 10,
            api_key_default_expires_in: 0,
            api_key_sessions: false,
            api_key_max_per_user: 1000,
            api_key_organization_config_id: None,
            two_factor_issuer: None,
            websocket: false,
            websocket_max_per_user: 10,
            websocket_close_oldest: false,
            websocket_ping_interval_ms: 25_000,
            websocket_pong_timeout_ms: 10_000,
            websocket_idle_timeout_ms: 300_000,
            multi_session: false,
            multi_session_maximum: 5,
            api_key_cache_ttl_ms: 1000,
            organization_allow_create: true,
            organization_limit: None,
            organization_membership_limit: 100,
            organization_disable_deletion: false,
            organization_invitation_expires_in: 172_800,
            organization_invitation_limit: 100,
            organization_invitation_url: None,
            organization_roles: None,
            organization_creator_role: "owner".to_owned(),
            organization_dynamic_roles: false,
            organization_require_email_verification_on_invitation: false,
            organization_teams: false,
            organization_maximum_teams: None,
            organization_maximum_members_per_team: None,
            organization_allow_removing_all_teams: false,
            organization_default_team: true,
        }
    }
}

impl std::fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig")
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("base_url", &self.base_url)
            .field("trusted_origins", &self.trusted_origins)
            .field("plugins", &self.plugins)
            .field("log_format", &self.log_format)
            .field("cors_enabled", &self.cors_enabled)
            .field("cors_allowed_headers", &self.cors_allowed_headers)
            .field("cors_max_age", &self.cors_max_age)
            .field("cookie_same_site", &self.cookie_same_site)
            .field("cookie_domain", &self.cookie_domain)
            .field("body_limit", &self.body_limit)
            .field("http_header_timeout_ms", &self.http_header_timeout_ms)
            .field("http_body_timeout_ms", &self.http_body_timeout_ms)
            .field("http_idle_timeout_ms", &self.http_idle_timeout_ms)
            .field("http_max_connections", &self.http_max_connections)
            .field("password_min_length", &self.password_min_length)
            .field("password_max_length", &self.password_max_length)
            .field("session_expires_in", &self.session_expires_in)
            .field("session_update_age", &self.session_update_age)
            .field("session_fresh_age", &self.session_fresh_age)
            .field("session_absolute_lifetime", &self.session_absolute_lifetime)
            .field("hash_concurrency", &self.hash_concurrency)
            .field("hash_queue_timeout_ms", &self.hash_queue_timeout_ms)
            .field("database_max_connections", &self.database_max_connections)
            .field(
                "database_statement_timeout_ms",
                &self.database_statement_timeout_ms,
            )
            .field("auto_migrate", &self.auto_migrate)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("jwt_expires_in", &self.jwt_expires_in)
            .field("jwt_rotation_interval", &self.jwt_rotation_interval)
            .field("token_format", &self.token_format)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("redis_prefix", &self.redis_prefix)
            .field("rate_limit_enabled", &self.rate_limit_enabled)
            .field("rate_limit", &(self.rate_limit_max, self.rate_limit_window))
            .field(
                "rate_limit_credential",
                &(
                    self.rate_limit_credential_max,
                    self.rate_limit_credential_window,
                ),
            )
            .field("rate_limit_ipv6_subnet", &self.rate_limit_ipv6_subnet)
            .field("rate_limit_max_keys", &self.rate_limit_max_keys)
            .field(
                "rate_limit_account_ceiling",
                &self.rate_limit_account_ceiling,
            )
            .field("trusted_proxies", &self.trusted_proxies)
            .field("cache_l1_ttl_ms", &self.cache_l1_ttl_ms)
            .field("cache_l2_ttl", &self.cache_l2_ttl)
            .field("metrics_enabled", &self.metrics_enabled)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "[redacted]"),
            )
            .field("metrics_bind", &self.metrics_bind)
            .field("audit_retention_days", &self.audit_retention_days)
            .field("app_name", &self.app_name)
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("smtp_timeout_ms", &self.smtp_timeout_ms)
            .field("smtp_queue", &self.smtp_queue)
            .field("mail_templates", &self.mail_templates)
            .field("mail_outbox_file", &self.mail_outbox_file)
            .field(
                "revoke_sessions_on_password_reset",
                &self.revoke_sessions_on_password_reset,
            )
            .field(
                "require_email_verification",
                &self.require_email_verification,
            )
            .field(
                "send_verification_on_sign_up",
                &self.send_verification_on_sign_up,
            )
            .field(
                "auto_sign_in_after_verification",
                &self.auto_sign_in_after_verification,
            )
            .field("change_email_enabled", &self.change_email_enabled)
            .field(
                "update_email_without_verification",
                &self.update_email_without_verification,
            )
            .field("delete_user_enabled", &self.delete_user_enabled)
            .field("delete_user_by_email", &self.delete_user_by_email)
            .field("api_key_headers", &self.api_key_headers)
            .field("api_key_length", &self.api_key_length)
            .field("api_key_default_prefix", &self.api_key_default_prefix)
            .field("api_key_require_name", &self.api_key_require_name)
            .field("api_key_metadata", &self.api_key_metadata)
            .field(
                "api_key_rate_limit_enabled",
                &self.api_key_rate_limit_enabled,
            )
            .field(
                "api_key_rate_limit_window_ms",
                &self.api_key_rate_limit_window_ms,
            )
            .field("api_key_rate_limit_max", &self.api_key_rate_limit_max)
            .field(
                "api_key_default_expires_in",
                &self.api_key_default_expires_in,
            )
            .field("api_key_sessions", &self.api_key_sessions)
            .field("api_key_max_per_user", &self.api_key_max_per_user)
            .field(
                "api_key_organization_config_id",
                &self.api_key_organization_config_id,
            )
            .field("api_key_cache_ttl_ms", &self.api_key_cache_ttl_ms)
            .field("two_factor_issuer", &self.two_factor_issuer)
            .field("websocket", &self.websocket)
            .field("websocket_max_per_user", &self.websocket_max_per_user)
            .field("websocket_close_oldest", &self.websocket_close_oldest)
            .field(
                "websocket_ping_interval_ms",
                &self.websocket_ping_interval_ms,
            )
            .field("websocket_pong_timeout_ms", &self.websocket_pong_timeout_ms)
            .field("websocket_idle_timeout_ms", &self.websocket_idle_timeout_ms)
            .field("multi_session", &self.multi_session)
            .field("multi_session_maximum", &self.multi_session_maximum)
            .field("organization_allow_create", &self.organization_allow_create)
            .field("organization_limit", &self.organization_limit)
            .field(
                "organization_membership_limit",
                &self.organization_membership_limit,
            )
            .field(
                "organization_disable_deletion",
                &self.organization_disable_deletion,
            )
            .field(
                "organization_invitation_expires_in",
                &self.organization_invitation_expires_in,
            )
            .field(
                "organization_invitation_limit",
                &self.organization_invitation_limit,
            )
            .field(
                "organization_invitation_url",
                &self.organization_invitation_url,
            )
            .field("organization_roles", &self.organization_roles)
            .field("organization_creator_role", &self.organization_creator_role)
            .field(
                "organization_dynamic_roles",
                &self.organization_dynamic_roles,
            )
            .field(
                "organization_require_email_verification_on_invitation",
                &self.organization_require_email_verification_on_invitation,
            )
            .field("organization_teams", &self.organization_teams)
            .field(
                "organization_maximum_teams",
                &self.organization_maximum_teams,
            )
            .field(
                "organization_maximum_members_per_team",
                &self.organization_maximum_members_per_team,
            )
            .field(
                "organization_allow_removing_all_teams",
                &self.organization_allow_removing_all_teams,
            )
            .field("organization_default_team", &self.organization_default_team)
            .field("redis_timeout_ms", &self.redis_timeout_ms)
            .field("log", &self.log)
            .field(
                "otel_endpoint",
                &self.otel_endpoint.as_deref().map(redact_url),
            )
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawList {
    One(String),
    Many(Vec<String>),
}

impl RawList {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(text) => text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            Self::Many(items) => items,
        }
    }
}

fn comma_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(RawList::deserialize(deserializer)?.into_vec())
}

fn optional_comma_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<RawList>::deserialize(deserializer)?.map(RawList::into_vec))
}

impl AppConfig {
    /// Reads defaults, the TOML file named by `AUTH_CONFIG` (if any), then `AUTH_*` variables.
    ///
    /// # Errors
    /// A value of the wrong type, or an unreadable file.
    pub fn load() -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Self::default()));
        if let Ok(path) = std::env::var("AUTH_CONFIG") {
            if !Path::new(&path).exists() {
                bail!("AUTH_CONFIG names {path}, which does not exist");
            }
            figment = figment.merge(Toml::file(path));
        }
        let env = Env::prefixed("AUTH_")
            .ignore(&["CONFIG"])
            .map(|key| key.as_str().to_ascii_lowercase().into());
        let config: Self = figment
            .merge(env)
            .extract()
            .context("invalid configuration")?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that have rules beyond their type.
    ///
    /// # Errors
    /// A message naming the key and the rule.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.secret.as_ref().is_some_and(|secret| secret.len() < 32) {
            bail!("AUTH_SECRET must be at least 32 bytes long");
        }
        if !(1..=10_000).contains(&self.websocket_max_per_user) {
            bail!("AUTH_WEBSOCKET_MAX_PER_USER must be between 1 and 10000");
        }
        if !(100..=3_600_000).contains(&self.websocket_ping_interval_ms) {
            bail!("AUTH_WEBSOCKET_PING_INTERVAL_MS must be between 100 and 3600000");
        }
        if !(100..=3_600_000).contains(&self.websocket_pong_timeout_ms) {
            bail!("AUTH_WEBSOCKET_PONG_TIMEOUT_MS must be between 100 and 3600000");
        }
        if !(100..=86_400_000).contains(&self.websocket_idle_timeout_ms) {
            bail!("AUTH_WEBSOCKET_IDLE_TIMEOUT_MS must be between 100 and 86400000");
        }
        if !(1..=100).contains(&self.multi_session_maximum) {
            bail!("AUTH_MULTI_SESSION_MAXIMUM must be between 1 and 100");
        }
        if !(self.database_url.starts_with("sqlite:")
            || self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            bail!("AUTH_DATABASE_URL must start with sqlite: or postgres://");
        }
        if self
            .smtp_url
            .as_ref()
            .is_some_and(|url| !(url.starts_with("smtp://") || url.starts_with("smtps://")))
        {
            bail!("AUTH_SMTP_URL must start with smtp:// or smtps://");
        }
        if let Some(endpoint) = &self.otel_endpoint {
            if !cfg!(feature = "otel") {
                bail!("AUTH_OTEL_ENDPOINT needs a server built with the `otel` feature");
            }
            if !endpoint.starts_with("http://") {
                bail!(
                    "AUTH_OTEL_ENDPOINT must be an http:// address: run the collector (or its \
                     agent) beside the server"
                );
            }
        }
        crate::api_key::validate(self)?;
        crate::organization::validate(self)?;
        if self.password_min_length == 0 || self.password_min_length > self.password_max_length {
            bail!("AUTH_PASSWORD_MIN_LENGTH must be between 1 and AUTH_PASSWORD_MAX_LENGTH");
        }
        if self.session_expires_in <= 0
            || self.session_update_age < 0
            || self.session_fresh_age < 0
            || self.session_absolute_lifetime < 0
        {
            bail!(
                "session durations must not be negative, and AUTH_SESSION_EXPIRES_IN must be positive"
            );
        }
        if self.http_header_timeout_ms == 0
            || self.http_body_timeout_ms == 0
            || self.http_idle_timeout_ms == 0
            || self.http_max_connections == 0
        {
            bail!("AUTH_HTTP_* timeouts and AUTH_HTTP_MAX_CONNECTIONS must be positive");
        }
        match auth_http_poem::cookies::SameSite::parse(&self.cookie_same_site) {
            None => bail!("AUTH_COOKIE_SAME_SITE must be lax, strict or none"),
            Some(auth_http_poem::cookies::SameSite::None)
                if !self.base_url().starts_with("https://") =>
            {
                bail!(
                    "AUTH_COOKIE_SAME_SITE=none needs an https AUTH_BASE_URL: browsers refuse SameSite=None cookies without Secure"
                )
            }
            Some(_) => {}
        }
        if let Some(bad) = self.cors_allowed_headers.iter().find(|name| {
            name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        }) {
            bail!("AUTH_CORS_ALLOWED_HEADERS: {bad:?} is not a header name");
        }
        if self.cookie_domain.as_ref().is_some_and(|domain| {
            domain.is_empty()
                || !domain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        }) {
            bail!("AUTH_COOKIE_DOMAIN must be a domain name");
        }
        if self.hash_concurrency == 0 {
            bail!("AUTH_HASH_CONCURRENCY must be at least 1");
        }
        if self.database_statement_timeout_ms == 0 {
            bail!("AUTH_DATABASE_STATEMENT_TIMEOUT_MS must be positive");
        }
        if self.hash_queue_timeout_ms == 0 {
            bail!("AUTH_HASH_QUEUE_TIMEOUT_MS must be positive");
        }
        crate::jwt::validate(self)?;
        if let Some(bad) = self
            .trusted_proxies
            .iter()
            .find(|p| auth_http_poem::client_ip::TrustedProxy::parse(p).is_none())
        {
            bail!("AUTH_TRUSTED_PROXIES: {bad:?} is not an IP address or CIDR block");
        }
        if self.rate_limit_window <= 0
            || self.rate_limit_credential_window <= 0
            || self.rate_limit_max == 0
            || self.rate_limit_credential_max == 0
            || self.rate_limit_max_keys == 0
            || self.rate_limit_account_ceiling == 0
        {
            bail!("rate-limit windows and maxima must be positive");
        }
        if self.rate_limit_ipv6_subnet > 128 {
            bail!("AUTH_RATE_LIMIT_IPV6_SUBNET must be between 0 and 128");
        }
        if let Some(url) = &self.redis_url {
            if url.starts_with("rediss://") && !cfg!(feature = "redis-tls") {
                bail!(
                    "AUTH_REDIS_URL is a rediss:// (TLS) URL, but auth-app was built without the `redis-tls` feature"
                );
            }
            if !url.starts_with("redis://") && !url.starts_with("rediss://") {
                bail!("AUTH_REDIS_URL must start with redis:// or rediss://");
            }
        }
        if self
            .base_url
            .as_ref()
            .is_some_and(|base| auth_http_poem::origin::origin_of(base).is_none())
        {
            bail!("AUTH_BASE_URL must be an absolute http(s) URL");
        }
        Ok(())
    }

    /// The public base URL.
    #[must_use]
    pub fn base_url(&self) -> String {
        self.base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
    }

    /// The SQLite database file, when the URL names one.
    #[must_use]
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or_default();
        if path.is_empty() || path == ":memory:" {
            return None;
        }
        Some(PathBuf::from(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_limits_out_of_range_are_refused() {
        let changes: [fn(&mut AppConfig); 7] = [
            |config| config.websocket_max_per_user = 0,
            |config| config.websocket_max_per_user = 10_001,
            |config| config.websocket_ping_interval_ms = 99,
            |config| config.websocket_pong_timeout_ms = 3_600_001,
            |config| config.websocket_idle_timeout_ms = 99,
            |config| config.websocket_idle_timeout_ms = 86_400_001,
            |config| config.websocket_ping_interval_ms = 3_600_001,
        ];
        for change in changes {
            let mut config = AppConfig::default();
            assert!(config.validate().is_ok());
            change(&mut config);
            let error = config.validate().expect_err("out of range").to_string();
            assert!(error.starts_with("AUTH_WEBSOCKET_"), "{error}");
        }
    }

    #[test]
    fn comma_separated_lists_and_secrets_are_validated() {
        let mut config = AppConfig {
            secret: Some("short".to_owned()),
            ..AppConfig::default()
        };
        assert!(config.validate().is_err(), "a short secret is refused");
        config.secret = Some("x".repeat(32));
        assert!(config.validate().is_ok());
        config.database_url = "mysql://x".to_owned();
        assert!(
            config.validate().is_err(),
            "unsupported databases are refused"
        );
        config.database_url = AppConfig::default().database_url;
        config.smtp_url = Some("smtps://u:p@mail.example.com:465".to_owned());
        assert!(config.validate().is_ok());
        config.smtp_url = Some("http://mail.example.com".to_owned());
        assert!(config.validate().is_err(), "only smtp:// and smtps://");
        config.smtp_url = Some("smtp://u:hunter2@mail.example.com".to_owned());
        assert!(
            !format!("{config:?}").contains("hunter2"),
            "the SMTP password is redacted"
        );
    }

    #[test]
    fn an_otel_endpoint_needs_the_feature_and_plain_http() {
        let mut config = AppConfig {
            otel_endpoint: Some("http://u:hunter2@collector:4318".to_owned()),
            ..AppConfig::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"), "redacted");
        let built = config.validate();
        if cfg!(feature = "otel") {
            assert!(built.is_ok(), "{built:?}");
            config.otel_endpoint = Some("https://collector:4318".to_owned());
            let error = config.validate().expect_err("https").to_string();
            assert!(error.contains("http://"), "{error}");
        } else {
            let error = built.expect_err("no feature").to_string();
            assert!(error.contains("`otel` feature"), "{error}");
        }
    }

    #[test]
    fn debug_output_redacts_the_secret_and_database_password() {
        let config = AppConfig {
            secret: Some("super-secret-value-super-secret-value".to_owned()),
            database_url: "postgres://app:hunter2@db:5432/auth".to_owned(),
            ..AppConfig::default()
        };
        let printed = format!("{config:?}");
        assert!(!printed.contains("super-secret"));
        assert!(!printed.contains("hunter2"));
        assert!(
            printed.contains("postgres://app:***@db:5432/auth"),
            "{printed}"
        );
    }

    #[test]
    fn a_password_holding_at_signs_is_redacted_whole() {
        assert_eq!(
            redact_url("postgres://app:p@ss@w0rd@db:5432/auth?sslmode=disable"),
            "postgres://app:***@db:5432/auth?sslmode=disable"
        );
        assert_eq!(
            redact_url("redis://:s3cr@t@cache:6379/0"),
            "redis://:***@cache:6379/0"
        );
        // An `@` after the authority is not a credential separator.
        assert_eq!(
            redact_url("postgres://db:5432/auth?user=a@b"),
            "postgres://db:5432/auth?user=a@b"
        );
        assert_eq!(redact_url("sqlite://auth.db"), "sqlite://auth.db");
    }

    #[test]
    fn the_sqlite_path_is_read_from_the_url() {
        let config = AppConfig {
            database_url: "sqlite://data/auth.db?mode=rwc".to_owned(),
            ..AppConfig::default()
        };
        assert_eq!(config.sqlite_path(), Some(PathBuf::from("data/auth.db")));
    }
}
