//! The WebSocket plugin's composition (`AUTH_WEBSOCKET`): the ticket route, the hub that closes
//! sockets on the domain events, and the built-in `/ws` endpoint, which tells a browser who it
//! is and is closed, with a close code saying why, when its session ends.

use std::sync::Arc;
use std::time::Duration;

use auth_ws::{Authenticated, Hub, Incoming, Outgoing, WsConfig, WsPlugin};
use poem::web::websocket::Message;

use crate::AppConfig;
use crate::plugins::Plugin;

/// The hub (the embedding program's, else a new one) and the plugin, when `AUTH_WEBSOCKET` is
/// on; with Redis, the hub counts each user's sockets across the instances.
pub(crate) fn plugin(
    config: &AppConfig,
    hub: Option<Arc<Hub>>,
    redis: Option<&deadpool_redis::Pool>,
) -> Option<(Arc<Hub>, Plugin)> {
    config.websocket.then(|| {
        let hub: Arc<Hub> = hub.unwrap_or_default();
        if let Some(pool) = redis {
            hub.count_across(Arc::new(auth_cache_redis::RedisConnectionSlots::new(
                pool.clone(),
                &config.redis_prefix,
                Duration::from_millis(config.redis_timeout_ms),
            )));
        }
        let plugin = WsPlugin::new(hub.clone());
        (hub, Plugin::new(Arc::new(plugin.clone()), Arc::new(plugin)))
    })
}

/// The sockets' settings (`AUTH_WEBSOCKET_*`), for the built-in `/ws` and an embedding
/// program's own endpoints.
#[must_use]
pub fn settings(config: &AppConfig) -> WsConfig {
    WsConfig {
        ping_interval: Duration::from_millis(config.websocket_ping_interval_ms),
        pong_timeout: Duration::from_millis(config.websocket_pong_timeout_ms),
        idle_timeout: Duration::from_millis(config.websocket_idle_timeout_ms),
        max_per_user: config.websocket_max_per_user,
        close_oldest: config.websocket_close_oldest,
        ..WsConfig::default()
    }
}

/// `/ws`: says who the socket is for, then waits; the server closes it when the session ends.
async fn session_socket(who: Authenticated, mut incoming: Incoming, outgoing: Outgoing) {
    let hello = serde_json::json!({
        "type": "session",
        "userId": who.context.user.id.as_str(),
        "sessionId": who.context.session.id.as_str(),
        "apiKeyId": who.api_key.as_ref().map(|principal| principal.key.id.as_str()),
    });
    if !outgoing.send(Message::Text(hello.to_string())).await {
        return;
    }
    while incoming.next().await.is_some() {}
}

/// The built-in `/ws` endpoint on `hub`.
pub(crate) fn endpoint(config: &AppConfig, hub: Arc<Hub>) -> crate::AppEndpoint {
    auth_ws::register_metrics();
    Arc::new(poem::EndpointExt::boxed(auth_ws::websocket(
        hub,
        settings(config),
        session_socket,
    )))
}
