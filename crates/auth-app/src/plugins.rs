//! Which plugins are built (cargo features) and which are switched on (`AUTH_PLUGINS`).

use std::sync::Arc;

use anyhow::bail;
use auth_http_poem::HttpPlugin;
use auth_http_poem::bearer::{BearerConfig, BearerPlugin};

/// Every plugin compiled into this binary. A plugin with heavy dependencies sits behind a cargo
/// feature of this crate and is added here under `#[cfg(feature = "...")]`.
#[must_use]
pub fn available_plugins() -> Vec<Arc<dyn HttpPlugin>> {
    vec![Arc::new(BearerPlugin::new(BearerConfig::default()))]
}

/// The plugins to run: all built ones when `ids` is `None`, else exactly the named ones.
/// `extra` are the plugins built at startup from runtime parts (the JWT plugin needs the store).
pub(crate) fn enabled(
    ids: Option<&[String]>,
    extra: Vec<Arc<dyn HttpPlugin>>,
) -> anyhow::Result<Vec<Arc<dyn HttpPlugin>>> {
    let mut available = available_plugins();
    available.extend(extra);
    let Some(ids) = ids else {
        return Ok(available);
    };
    let mut chosen = Vec::new();
    for id in ids {
        let Some(plugin) = available.iter().find(|plugin| plugin.id() == id) else {
            let known: Vec<&str> = available.iter().map(|plugin| plugin.id()).collect();
            bail!("AUTH_PLUGINS names unknown plugin {id:?}; built plugins: {known:?}");
        };
        chosen.push(plugin.clone());
    }
    Ok(chosen)
}
