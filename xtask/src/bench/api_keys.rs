//! The API-key part of `cargo xtask bench`: the example service of `auth-app` (the auth server
//! plus `GET /v1/reports`, which a key with `reports: read` may call) with keys as sessions,
//! two keys made on the server's side with `auth-app api-keys create` (one whose uses count
//! nothing, one with a large quota), and the scenarios that use them. With a Redis answering at
//! `AUTH_TEST_REDIS_URL` (or the local default), the quota key is also measured on a second
//! server that counts uses in Redis.
//!
//! Depends on: `std`, `serde_json`, `crate::load`, `crate::util`.
//!
//! Must not depend on: any workspace crate (the servers run as processes).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{Server, sign_up};
use crate::load::Scenario;
use crate::util::{self, Result};

/// The key servers: one counting in the database, one in Redis when Redis answers.
pub(super) struct KeyServers {
    pub(super) database: Server,
    pub(super) redis: Option<Server>,
}

impl KeyServers {
    pub(super) fn stop(&mut self) {
        self.database.stop();
        if let Some(redis) = &mut self.redis {
            redis.stop();
        }
    }
}

/// The example binary, built by [`build`].
pub(super) fn example_binary(target: &Path) -> PathBuf {
    target
        .join("release")
        .join("examples")
        .join("api_key_service")
}

/// Builds the example service in release mode.
pub(super) fn build() -> Result {
    util::run(&mut util::cargo([
        "build",
        "--release",
        "-p",
        "auth-app",
        "--example",
        "api_key_service",
    ]))
}

/// The test Redis (`AUTH_TEST_REDIS_URL`, or the local default), when it answers.
pub(super) fn redis_answering() -> Option<String> {
    let url = std::env::var("AUTH_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let answers = util::url_host_port(&url, 6379)
        .is_some_and(|host| util::tcp_answers(&host, std::time::Duration::from_secs(1)));
    if !answers {
        println!("bench: no Redis at {url}; the rows that need it are skipped");
    }
    answers.then_some(url)
}

/// Starts the key servers.
pub(super) fn start(binary: &Path, temp: &Path) -> Result<KeyServers> {
    let sessions = ("AUTH_API_KEY_SESSIONS", "true");
    let database = Server::start(binary, temp, "keys", &[sessions])?;
    let redis = if let Some(url) = redis_answering() {
        let prefix = format!("bench-{}", util::random_hex(8)?);
        Some(Server::start(
            binary,
            temp,
            "keys-redis",
            &[
                sessions,
                ("AUTH_REDIS_URL", url.as_str()),
                ("AUTH_REDIS_PREFIX", prefix.as_str()),
            ],
        )?)
    } else {
        None
    };
    Ok(KeyServers { database, redis })
}

/// A key for the bench user, made with `auth-app api-keys create` on `server`'s database.
fn create_key(auth_app: &Path, server: &Server, extra: &[&str]) -> Result<String> {
    let printed = util::read_stdout(
        Command::new(auth_app)
            .args([
                "api-keys",
                "create",
                "--email",
                "bench@example.com",
                "--permission",
                "reports:read",
            ])
            .args(extra)
            .env("AUTH_DATABASE_URL", &server.database)
            .env("AUTH_LOG", "warn"),
    )?;
    let key: Value = serde_json::from_str(&printed)
        .map_err(|e| format!("bench: api-keys create printed no JSON ({e}): {printed}"))?;
    key["key"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("bench: api-keys create printed no key: {printed}"))
}

/// The scenarios, each with the server it runs against.
pub(super) fn scenarios(
    auth_app: &Path,
    servers: &KeyServers,
) -> Result<Vec<(SocketAddr, Scenario)>> {
    let mut scenarios = Vec::new();
    sign_up(servers.database.addr)?;
    let free = create_key(auth_app, &servers.database, &["--no-rate-limit"])?;
    let quota_args = ["--no-rate-limit", "--remaining", "1000000000"];
    let quota = create_key(auth_app, &servers.database, &quota_args)?;
    let database = servers.database.addr;
    let pairs = [
        ("key counting nothing", &free, database),
        (
            "key with a large quota, counted in the database",
            &quota,
            database,
        ),
    ];
    for (label, key, addr) in pairs {
        scenarios.push((
            addr,
            Scenario::get(
                &format!("get-session by x-api-key, {label}"),
                "/api/auth/get-session",
            )
            .header("x-api-key", key),
        ));
        scenarios.push((
            addr,
            Scenario::get(&format!("key-guarded route, {label}"), "/v1/reports")
                .header("x-api-key", key),
        ));
    }
    if let Some(redis) = &servers.redis {
        sign_up(redis.addr)?;
        let quota = create_key(auth_app, redis, &quota_args)?;
        let label = "key with a large quota, counted in Redis";
        scenarios.push((
            redis.addr,
            Scenario::get(
                &format!("get-session by x-api-key, {label}"),
                "/api/auth/get-session",
            )
            .header("x-api-key", &quota),
        ));
        scenarios.push((
            redis.addr,
            Scenario::get(&format!("key-guarded route, {label}"), "/v1/reports")
                .header("x-api-key", &quota),
        ));
    }
    Ok(scenarios)
}
