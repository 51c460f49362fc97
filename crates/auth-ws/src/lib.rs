//! auth-ws: authenticated WebSockets. The upgrade is authenticated with whatever the HTTP
//! guards accept (the session cookie behind an `Origin` check, a bearer token, an API key), or
//! with a one-time ticket from `POST /api/auth/ws-ticket`; the application gets the connection
//! with its user and session, and the socket is closed when the session ends (sign-out,
//! revocation, password change, user deletion, a revoked API key, expiry), from the domain
//! events the plugin seam delivers.
//! Depends on: auth-domain, auth-ports (the `ConnectionSlots` port), auth-core, auth-http-poem,
//! poem (websocket).
//! Must not depend on: sea-orm, redis, argon2.
#![warn(missing_docs)]

mod hub;
mod metrics;
mod plugin;
mod socket;

pub use hub::{CloseReason, Hub};
pub use metrics::register as register_metrics;
pub use plugin::WsPlugin;
pub use socket::{Authenticated, Incoming, Outgoing, WsConfig, WsEndpoint, websocket};
