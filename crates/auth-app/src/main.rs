//! auth-app: the server binary: `serve` (default), `migrate`, `openapi`, `keys rotate|list`,
//! `api-keys create`.
//! Depends on: the auth-app library.
//! Must not depend on: nothing is banned here.
#![allow(
    clippy::print_stdout,
    reason = "the openapi subcommand prints the document"
)]

/// mimalloc: the server allocates on every request (headers, JSON, cookies), and glibc's
/// allocator took about a fifth of a cached session check's CPU; with mimalloc the server
/// spends 5 to 15 % less CPU per request (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Manage API keys on the server's side.
    ApiKeys {
        #[command(subcommand)]
        action: ApiKeysAction,
    },
}

#[derive(Subcommand)]
enum ApiKeysAction {
    /// Make an API key for a user, with the settings only the server may set (a quota, a
    /// refill, the rate limit, permissions). Prints it as JSON: the full key is in `key`,
    /// shown this once.
    Create(CreateKey),
}

#[derive(clap::Args)]
struct CreateKey {
    /// The owner's email.
    #[arg(long)]
    email: String,
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Prefix of the key.
    #[arg(long)]
    prefix: Option<String>,
    /// Uses allowed in all (a quota); unlimited when absent.
    #[arg(long)]
    remaining: Option<i64>,
    /// Uses given back at each refill (with `--refill-interval-ms`).
    #[arg(long)]
    refill_amount: Option<i64>,
    /// Milliseconds between refills (with `--refill-amount`).
    #[arg(long)]
    refill_interval_ms: Option<i64>,
    /// Most uses per window; the configured default when absent.
    #[arg(long)]
    rate_limit_max: Option<i64>,
    /// The window in milliseconds; the configured default when absent.
    #[arg(long)]
    rate_limit_window_ms: Option<i64>,
    /// Count no rate limit for this key.
    #[arg(long)]
    no_rate_limit: bool,
    /// Lifetime in seconds (at least one day); never expires when absent.
    #[arg(long)]
    expires_in: Option<i64>,
    /// A permission, `resource:action,action` (repeatable).
    #[arg(long = "permission")]
    permissions: Vec<String>,
}

impl CreateKey {
    fn permissions(&self) -> anyhow::Result<Option<auth_domain::Permissions>> {
        if self.permissions.is_empty() {
            return Ok(None);
        }
        let mut granted = std::collections::BTreeMap::new();
        for permission in &self.permissions {
            let Some((resource, actions)) = permission.split_once(':') else {
                anyhow::bail!("--permission {permission:?}: expected resource:action,action");
            };
            let actions: Vec<String> = actions.split(',').map(str::to_owned).collect();
            granted.insert(resource.to_owned(), actions);
        }
        Ok(Some(auth_domain::Permissions(granted)))
    }
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
        Command::ApiKeys {
            action: ApiKeysAction::Create(args),
        } => {
            let permissions = args.permissions()?;
            let (key, stored) =
                auth_app::create_api_key(&config, &args.email, |user_id| auth_core::CreateApiKey {
                    name: args.name,
                    prefix: args.prefix,
                    remaining: args.remaining,
                    refill_amount: args.refill_amount,
                    refill_interval: args.refill_interval_ms,
                    rate_limit_max: args.rate_limit_max,
                    rate_limit_time_window: args.rate_limit_window_ms,
                    rate_limit_enabled: args.no_rate_limit.then_some(false),
                    expires_in: args.expires_in,
                    permissions,
                    ..auth_core::CreateApiKey::for_user(user_id, auth_core::Caller::Server)
                })
                .await?;
            let mut dto = auth_http_poem::api_key::ApiKeyDto::from(&stored);
            dto.key = Some(key);
            println!("{}", serde_json::to_string_pretty(&dto)?);
            Ok(())
        }
        Command::Migrate => {
            let telemetry = telemetry::init(&config)?;
            auth_app::migrate(&config).await?;
            tracing::info!("migrations applied");
            tokio::task::spawn_blocking(move || telemetry.shutdown()).await?;
            Ok(())
        }
        Command::Serve => {
            let telemetry = telemetry::init(&config)?;
            tracing::info!(config = ?config, "starting");
            let app = Application::build(config, Overrides::default())
                .await
                .context("starting the server")?;
            let served = app.run_until(shutdown_signal()).await;
            tokio::task::spawn_blocking(move || telemetry.shutdown()).await?;
            served
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
