//! Which plugins are built (cargo features) and which are switched on (`AUTH_PLUGINS`).

use std::sync::Arc;

use anyhow::bail;
use auth_core::AuthPlugin;
use auth_http_poem::HttpPlugin;
use auth_http_poem::bearer::{BearerConfig, BearerPlugin};

/// A plugin's two halves, under one id: its rules in the use cases (a sign-in step, events,
/// rate-limit rules), if it has any, and its HTTP side (resolvers, cookies, routes).
#[derive(Clone)]
pub struct Plugin {
    /// The use-case side.
    pub core: Option<Arc<dyn AuthPlugin>>,
    /// The HTTP side.
    pub http: Arc<dyn HttpPlugin>,
}

impl Plugin {
    /// A plugin that lives in the HTTP layer only.
    #[must_use]
    pub fn http(http: Arc<dyn HttpPlugin>) -> Self {
        Self { core: None, http }
    }

    /// A plugin with both halves (they must share the id).
    #[must_use]
    pub fn new(core: Arc<dyn AuthPlugin>, http: Arc<dyn HttpPlugin>) -> Self {
        debug_assert_eq!(core.id(), http.id(), "a plugin's halves share its id");
        Self {
            core: Some(core),
            http,
        }
    }

    /// The plugin's id as written in `AUTH_PLUGINS`.
    #[must_use]
    pub fn id(&self) -> &'static str {
        self.http.id()
    }
}

/// Every plugin compiled into this binary that needs nothing built at startup. A plugin with
/// heavy dependencies sits behind a cargo feature of this crate and is added here under
/// `#[cfg(feature = "...")]`.
#[must_use]
pub fn available_plugins() -> Vec<Plugin> {
    vec![Plugin::http(Arc::new(BearerPlugin::new(
        BearerConfig::default(),
    )))]
}

/// The plugins to run: all built ones when `ids` is `None`, else exactly the named ones.
/// `extra` are the plugins built at startup from runtime parts (the JWT plugin needs the store)
/// or given by the embedding program.
pub(crate) fn enabled(ids: Option<&[String]>, extra: Vec<Plugin>) -> anyhow::Result<Vec<Plugin>> {
    let mut available = available_plugins();
    available.extend(extra);
    let Some(ids) = ids else {
        return Ok(available);
    };
    let mut chosen = Vec::new();
    for id in ids {
        let Some(plugin) = available.iter().find(|plugin| plugin.id() == id) else {
            let known: Vec<&str> = available.iter().map(Plugin::id).collect();
            bail!("AUTH_PLUGINS names unknown plugin {id:?}; built plugins: {known:?}");
        };
        chosen.push(plugin.clone());
    }
    Ok(chosen)
}
