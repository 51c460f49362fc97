//! The plugin: `POST /api/auth/ws-ticket`, and the domain events that close sockets.

use std::sync::Arc;

use auth_core::{Auth, AuthPlugin, PluginFuture};
use auth_domain::AuthEvent;
use auth_http_poem::payload::Reply;
use auth_http_poem::{ApiError, HttpPlugin, HttpState, PluginApi, SessionUser};
use poem_openapi::{Object, OpenApi, Tags};
use serde::Serialize;

use crate::hub::Hub;

/// The WebSocket plugin: its ticket route, and its hub of open sockets, which hears every
/// domain event (this instance's and, with Redis, the others').
#[derive(Debug, Clone)]
pub struct WsPlugin {
    hub: Arc<Hub>,
}

impl WsPlugin {
    /// The plugin over the hub the application's WebSocket endpoints register with.
    #[must_use]
    pub fn new(hub: Arc<Hub>) -> Self {
        Self { hub }
    }
}

impl AuthPlugin for WsPlugin {
    fn id(&self) -> &'static str {
        "websocket"
    }

    /// Tickets are cheap to ask for and each is a stored row for thirty seconds: thirty a
    /// minute per client.
    fn rate_limits(&self) -> Vec<auth_core::RouteLimit> {
        vec![auth_core::RouteLimit::Rule(
            "/ws-ticket",
            auth_ports::RateLimitRule {
                window: time::Duration::minutes(1),
                max: 30,
            },
        )]
    }

    fn on_event<'a>(&'a self, _auth: &'a Auth, event: &'a AuthEvent) -> PluginFuture<'a, ()> {
        self.hub.hear(event);
        Box::pin(std::future::ready(()))
    }
}

impl HttpPlugin for WsPlugin {
    fn id(&self) -> &'static str {
        "websocket"
    }

    fn api(&self, state: &Arc<HttpState>) -> Option<PluginApi> {
        Some(PluginApi::new(TicketApi {
            state: state.clone(),
        }))
    }
}

/// The plugin's OpenAPI tag.
#[derive(Tags)]
enum WsTags {
    /// WebSocket upgrades: one-time tickets for browsers.
    WebSocket,
}

/// A ticket. No `Debug`: it is a credential, for thirty seconds.
#[derive(Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "WsTicket", rename_all = "camelCase")]
struct TicketDto {
    /// Single use, in the upgrade's `ticket` query parameter or as the `ticket.<ticket>`
    /// subprotocol.
    ticket: String,
    /// ISO-8601 expiry (thirty seconds).
    expires_at: String,
}

struct TicketApi {
    state: Arc<HttpState>,
}

#[OpenApi(tag = "WsTags::WebSocket")]
impl TicketApi {
    /// A one-time ticket for a WebSocket upgrade, for the signed-in session: a browser puts it
    /// in the URL instead of a long-lived credential.
    #[oai(path = "/ws-ticket", method = "post")]
    async fn ws_ticket(&self, user: SessionUser) -> Result<Reply<TicketDto>, ApiError> {
        let ticket = self.state.auth().issue_ws_ticket(&user.0).await?;
        Ok(Reply::new(TicketDto {
            ticket: ticket.ticket.expose().clone(),
            expires_at: auth_domain::date::to_json(ticket.expires_at),
        })
        .header(poem::http::header::CACHE_CONTROL, "no-store"))
    }
}
