//! An application's own WebSocket endpoint beside the auth API: `/echo` answers each text
//! message with the sender's name, and is closed, with a close code that says why, when the
//! sender's session ends (docs/websocket.md). The configuration is the server's (`AUTH_*`,
//! docs/config.md), with `AUTH_WEBSOCKET=true`.
//!
//! ```text
//! AUTH_WEBSOCKET=true cargo run -p auth-app --example echo_socket
//! # a browser: POST /api/auth/ws-ticket, then new WebSocket(`ws://127.0.0.1:3000/echo?ticket=...`)
//! ```
#![allow(clippy::print_stdout, reason = "an example")]

use std::sync::Arc;

use auth_app::{AppConfig, Application, Overrides, telemetry, websocket_settings};
use auth_ws::{Authenticated, Hub, Incoming, Outgoing, websocket};
use poem::EndpointExt;
use poem::web::websocket::Message;

/// The allocator the server binary uses (see its `main.rs`); an application picks its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Echoes each text message, signed with the sender's name.
async fn echo(who: Authenticated, mut incoming: Incoming, outgoing: Outgoing) {
    while let Some(message) = incoming.next().await {
        if let Message::Text(text) = message {
            let answer = format!("{}: {text}", who.context.user.name);
            if !outgoing.send(Message::Text(answer)).await {
                return;
            }
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = AppConfig::load()?;
    anyhow::ensure!(config.websocket, "set AUTH_WEBSOCKET=true");
    let _telemetry = telemetry::init(&config)?;
    // One hub for the server's sockets and ours: ending a session closes both.
    let hub = Arc::new(Hub::new());
    let route = websocket(hub.clone(), websocket_settings(&config), echo).boxed();
    let overrides = Overrides {
        routes: vec![("/echo".to_owned(), Arc::new(route))],
        websocket_hub: Some(hub),
        ..Overrides::default()
    };
    let app = Application::build(config, overrides).await?;
    println!("listening on port {}", app.port());
    app.run_until(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
