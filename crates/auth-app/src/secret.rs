//! The server secret: from configuration, or generated once and kept beside the SQLite file.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, bail};
use auth_crypto::OsRandom;
use auth_ports::{ALPHANUMERIC, Random};

use crate::AppConfig;

const SECRET_FILE: &str = "auth-secret";

/// `AUTH_SECRET`, else the stored generated secret, else a new one written beside the database.
pub(crate) fn resolve(config: &AppConfig) -> anyhow::Result<String> {
    if let Some(secret) = &config.secret {
        return Ok(secret.clone());
    }
    let Some(database) = config.sqlite_path() else {
        bail!("AUTH_SECRET is required when the database is not an SQLite file");
    };
    let path = database
        .parent()
        .map_or_else(|| PathBuf::from(SECRET_FILE), |dir| dir.join(SECRET_FILE));
    if let Ok(stored) = std::fs::read_to_string(&path) {
        let stored = stored.trim().to_owned();
        if stored.len() >= 32 {
            tracing::warn!(path = %path.display(), "AUTH_SECRET is not set: using the generated secret stored beside the database");
            return Ok(stored);
        }
    }
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let secret = OsRandom.string(ALPHANUMERIC, 64);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(secret.as_bytes())?;
    tracing::warn!(
        path = %path.display(),
        "!!! AUTH_SECRET is not set: generated a new secret and stored it beside the database. \
         Set AUTH_SECRET in production; losing this file signs every user out !!!"
    );
    Ok(secret)
}
