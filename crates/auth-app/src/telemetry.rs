//! The one place where the tracing subscriber is installed.

use tracing_subscriber::EnvFilter;

use crate::config::{AppConfig, LogFormat};

/// Installs the global subscriber: `AUTH_LOG`, else `RUST_LOG`, else `info`; pretty or JSON.
/// A second call (tests) is a no-op.
pub fn init(config: &AppConfig) {
    let filter = config
        .log
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".to_owned());
    let filter = EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
