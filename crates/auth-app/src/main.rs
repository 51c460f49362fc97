//! auth-app: the server binary: `serve` (default), `migrate`, `openapi`, `keys rotate|list`.
//! Depends on: the auth-app library.
//! Must not depend on: nothing is banned here.
#![allow(
    clippy::print_stdout,
    reason = "the openapi subcommand prints the document"
)]

use anyhow::Context;
use auth_app::{AppConfig, Application, Overrides, telemetry};
use clap::{Parser, Subcommand};

/// Better-Auth compatible authentication server.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Manage the JWT/PASETO signing keys (the `jwks` table).
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Make a new signing key now; the keys it replaces stay published until every token they
    /// signed has expired.
    Rotate,
    /// Show every key: id, algorithm, age, status and expiry (never private material).
    List,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = AppConfig::load()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            println!("{}", auth_app::openapi(&config)?);
            Ok(())
        }
        Command::Keys { action } => {
            let keys = match action {
                KeysAction::Rotate => auth_app::rotate_keys(&config).await?,
                KeysAction::List => auth_app::list_keys(&config).await?,
            };
            for key in &keys {
                println!("{}", auth_app::describe_key(key));
            }
            Ok(())
        }
        Command::Migrate => {
            telemetry::init(&config);
            auth_app::migrate(&config).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            telemetry::init(&config);
            tracing::info!(config = ?config, "starting");
            let app = Application::build(config, Overrides::default())
                .await
                .context("starting the server")?;
            app.run_until(shutdown_signal()).await
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
