//! The JWT part of `cargo xtask bench`: a token from the running auth server, the example
//! service (which verifies it through the remote JWKS) started beside it, and the in-process
//! verification benchmark of auth-guard.
//!
//! Depends on: `std`, `serde_json`, `crate::load`, `crate::util`.
//!
//! Must not depend on: any workspace crate (the example service runs as a process).

use std::fs::File;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Server, free_port};
use crate::load::{Connection, Scenario};
use crate::util::{self, Result};

/// A JWT for the signed-up user: `GET /api/auth/token` with the session cookie.
pub(super) fn fetch_token(auth: SocketAddr, cookie: &str) -> Result<String> {
    let request = Scenario::get("token", "/api/auth/token")
        .header("Cookie", cookie)
        .encode(auth);
    let response = Connection::connect(auth)
        .and_then(|mut conn| conn.send(&request))
        .map_err(|e| format!("bench: GET /api/auth/token failed: {e}"))?;
    let body: Value = serde_json::from_slice(&response.body)
        .map_err(|e| format!("bench: /api/auth/token answered {}: {e}", response.status))?;
    body["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("bench: /api/auth/token gave no token: {body}"))
}

/// Starts the example service trusting the auth server at `auth` (whose base URL is
/// `http://<auth>`), and waits until `/healthz` answers.
pub(super) fn start_example(binary: &Path, temp: &Path, auth: SocketAddr) -> Result<Server> {
    let addr = free_port()?;
    let log = temp.join("example.log");
    let out =
        File::create(&log).map_err(|e| format!("bench: cannot create {}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| format!("bench: {e}"))?;
    println!("bench: starting {} on {addr}", binary.display());
    let child = Command::new(binary)
        .env("EXAMPLE_BIND", addr.to_string())
        .env("EXAMPLE_AUTH_URL", format!("http://{auth}"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("bench: cannot start {}: {e}", binary.display()))?;
    let server = Server {
        child,
        addr,
        log,
        database: String::new(),
    };
    let probe = Scenario::get("healthz", "/healthz").encode(addr);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let answered = Connection::connect(addr)
            .and_then(|mut conn| conn.send(&probe))
            .is_ok_and(|response| response.status == 200);
        if answered {
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("bench: the example service did not answer /healthz within 20 s".to_string())
}

/// Runs auth-guard's in-process verification benchmark (release build) and prints its line.
pub(super) fn verify_in_process() -> Result {
    let output = util::read_stdout(&mut util::cargo([
        "run",
        "--release",
        "--quiet",
        "-p",
        "auth-guard",
        "--example",
        "verify_bench",
    ]))?;
    println!("{}", output.trim());
    Ok(())
}
