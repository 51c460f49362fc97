//! What every handler shares: the use cases, the cookie codec, trusted origins, plugins.

use std::sync::Arc;

use auth_core::{Auth, AuthContext};
use auth_domain::Secret;

use crate::client_ip::TrustedProxy;
use crate::cookies::{CookieCodec, CookieConfig};
use crate::origin::TrustedOrigins;
use crate::plugin::HttpPlugin;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The public base URL (`http://localhost:3000`); its origin is trusted, and an `https`
    /// scheme turns on secure cookies.
    pub base_url: String,
    /// More trusted origins (patterns, see `TrustedOrigins`).
    pub trusted_origins: Vec<String>,
    /// Largest accepted request body, in bytes (Better-Auth has none; we refuse with 413).
    pub body_limit: usize,
    /// Cookie name prefix (`better-auth`).
    pub cookie_prefix: String,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or CIDR blocks); empty means the
    /// socket peer is the client.
    pub trusted_proxies: Vec<TrustedProxy>,
    /// CORS for browser apps on trusted origins.
    pub cors: crate::cors::CorsConfig,
    /// `SameSite` of the cookies (`Lax` by default; `None` for apps on another site).
    pub cookie_same_site: crate::cookies::SameSite,
    /// `Domain` of the cookies (for example `example.com`, shared by its subdomains); none by
    /// default (the host only).
    pub cookie_domain: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            base_url: "http://localhost:3000".to_owned(),
            trusted_origins: Vec::new(),
            body_limit: 1024 * 1024,
            cookie_prefix: "better-auth".to_owned(),
            trusted_proxies: Vec::new(),
            cors: crate::cors::CorsConfig::default(),
            cookie_same_site: crate::cookies::SameSite::Lax,
            cookie_domain: None,
        }
    }
}

/// Every plugin's `session_headers`, plus the `Access-Control-Expose-Headers` line naming them.
pub(crate) async fn session_headers(
    state: &HttpState,
    context: &AuthContext,
) -> Vec<(poem::http::HeaderName, String)> {
    let mut headers = Vec::new();
    let mut exposed: Vec<&'static str> = Vec::new();
    for plugin in state.plugins() {
        for (name, value) in plugin.session_headers(state, context).await {
            let Ok(header) = poem::http::HeaderName::try_from(name) else {
                tracing::warn!(
                    plugin = plugin.id(),
                    name,
                    "session header with an invalid name dropped"
                );
                continue;
            };
            headers.push((header, value));
            exposed.push(name);
        }
    }
    if !exposed.is_empty() {
        headers.push((
            poem::http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
            exposed.join(", "),
        ));
    }
    headers
}

/// Shared state of the HTTP layer.
pub struct HttpState {
    auth: Auth,
    config: HttpConfig,
    cookies: CookieCodec,
    origins: TrustedOrigins,
    plugins: Vec<Arc<dyn HttpPlugin>>,
}

impl HttpState {
    /// Builds the state. `secret` signs cookies (HMAC-SHA256 keyed by its UTF-8 bytes).
    #[must_use]
    pub fn new(
        auth: Auth,
        config: HttpConfig,
        secret: Secret<String>,
        plugins: Vec<Arc<dyn HttpPlugin>>,
    ) -> Self {
        let cookie_config = CookieConfig {
            prefix: config.cookie_prefix.clone(),
            secure: config.base_url.starts_with("https://"),
            same_site: config.cookie_same_site,
            domain: config.cookie_domain.clone(),
        };
        let origins = TrustedOrigins::new(&config.base_url, &config.trusted_origins);
        Self {
            auth,
            cookies: CookieCodec::new(cookie_config, secret),
            origins,
            config,
            plugins,
        }
    }

    /// The use cases.
    #[must_use]
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The cookie codec.
    #[must_use]
    pub fn cookies(&self) -> &CookieCodec {
        &self.cookies
    }

    /// Trusted origins.
    #[must_use]
    pub fn origins(&self) -> &TrustedOrigins {
        &self.origins
    }

    /// Enabled plugins, in order.
    #[must_use]
    pub fn plugins(&self) -> &[Arc<dyn HttpPlugin>] {
        &self.plugins
    }

    /// The first enabled plugin of type `T` (how a plugin's extractors reach their plugin).
    #[must_use]
    pub fn plugin<T: 'static>(&self) -> Option<&T> {
        self.plugins()
            .iter()
            .find_map(|plugin| plugin.as_any()?.downcast_ref::<T>())
    }
}
