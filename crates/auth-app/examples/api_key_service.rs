//! An application served beside the auth API, one route of which an API key guards:
//! `GET /v1/reports` needs a key with the `reports: read` permission and answers who owns it.
//! The configuration is the server's (`AUTH_*`, docs/config.md).
//!
//! ```text
//! cargo run -p auth-app --example api_key_service
//! auth-app api-keys create --email ada@example.com --permission reports:read
//! curl -H "x-api-key: <key>" http://127.0.0.1:3000/v1/reports
//! ```
#![allow(clippy::print_stdout, reason = "an example")]

use std::sync::Arc;

use auth_app::{AppConfig, Application, Overrides, telemetry};
use auth_http_poem::api_key::{ApiKeyPrincipal, RequireApiKey};
use poem::web::Json;
use poem::{EndpointExt, get, handler};
use serde_json::{Value, json};

/// The allocator the server binary uses (see its `main.rs`); an application picks its own.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The key that passed `RequireApiKey`: its owner and what it may do.
#[handler]
fn reports(principal: ApiKeyPrincipal) -> Json<Value> {
    Json(json!({
        "owner": principal.owner_id(),
        "key": principal.key.id,
        "remaining": principal.key.remaining,
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = AppConfig::load()?;
    let _telemetry = telemetry::init(&config)?;
    let guarded = get(reports)
        .with(RequireApiKey::with(&[("reports", &["read"])]))
        .boxed();
    let overrides = Overrides {
        routes: vec![("/v1/reports".to_owned(), Arc::new(guarded))],
        ..Overrides::default()
    };
    let app = Application::build(config, overrides).await?;
    println!("listening on port {}", app.port());
    app.run_until(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
