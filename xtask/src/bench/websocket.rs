//! The WebSocket part of `cargo xtask bench`: a server with `AUTH_WEBSOCKET=true`, `users`
//! users signed up with bearer tokens, and `connections` sockets on `/ws` spread over them.
//! Measures the time to open them all, the server's memory per open socket (its resident set
//! before and after), and the time from a sign-out request to the close frame of each of the
//! signed-out user's sockets: first with no other socket open (the baseline), then with all
//! the others open (the load), and, when Redis answers, with the sign-out on a second server
//! sharing the database and Redis (the event crossing instances). It raises this process's open-file limit to the hard limit, and
//! the server inherits it.
//!
//! Depends on: `std`, `serde_json`, `tokio`, `tokio-tungstenite`, `crate::load`, `crate::util`.
//!
//! Must not depend on: any workspace crate (the server runs as a process).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use super::{Server, ms};
use crate::load::{Connection, Scenario};
use crate::util::Result;

/// How many users share the sockets (each opens `connections / USERS`).
const USERS: usize = 50;
/// How many users are signed out under load (their sockets' closes are the measure).
const SIGNED_OUT_UNDER_LOAD: usize = 5;
/// How many times the baseline signs one user out with one socket open.
const BASELINE_ROUNDS: usize = 20;
/// Upgrades in flight at once while opening.
const OPENING_AT_ONCE: usize = 256;
/// How long a signed-out user's sockets may take to close before the bench gives up.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(20);

/// What the WebSocket bench measured.
pub(super) struct Report {
    connections: usize,
    failed: usize,
    opening: Duration,
    bytes_per_socket: f64,
    baseline_us: Vec<u64>,
    loaded_us: Vec<u64>,
    /// Sign-out on another instance sharing Redis (when Redis answers).
    across_us: Option<Vec<u64>>,
}

/// One signed-in user: a bearer token.
struct User {
    token: String,
}

/// The close times of the sockets, by index, and whom each belongs to.
#[derive(Default)]
struct Closes {
    at: Mutex<Vec<Option<Instant>>>,
}

impl Closes {
    fn record(&self, index: usize) {
        let mut at = self
            .at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(slot) = at.get_mut(index) {
            *slot = Some(Instant::now());
        }
    }

    fn of(&self, indexes: &[usize]) -> Vec<Option<Instant>> {
        let at = self
            .at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        indexes
            .iter()
            .map(|index| at.get(*index).copied().flatten())
            .collect()
    }
}

/// Runs the WebSocket bench with `connections` sockets.
pub(super) fn run(binary: &Path, temp: &Path, connections: usize) -> Result<Report> {
    raise_file_limit(connections)?;
    let max_connections = (connections + 1_000).to_string();
    let mut server = Server::start(
        binary,
        temp,
        "websocket",
        &[
            ("AUTH_WEBSOCKET", "true"),
            ("AUTH_WEBSOCKET_MAX_PER_USER", "10000"),
            ("AUTH_HTTP_MAX_CONNECTIONS", &max_connections),
        ],
    )?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("bench: no runtime: {e}"))?;
    let outcome = runtime.block_on(measure(&server, connections));
    server.stop();
    let mut report = outcome?;
    if let Some(redis) = super::api_keys::redis_answering() {
        report.across_us = Some(across_instances(binary, temp, &redis, &runtime)?);
    }
    Ok(report)
}

/// Two servers sharing a database and Redis: a socket on the first, its sign-out on the
/// second ([`one_socket_rounds`]).
fn across_instances(
    binary: &Path,
    temp: &Path,
    redis: &str,
    runtime: &tokio::runtime::Runtime,
) -> Result<Vec<u64>> {
    let secret = crate::util::random_hex(32)?;
    let prefix = format!("bench-{}", crate::util::random_hex(8)?);
    let shared = [
        ("AUTH_WEBSOCKET", "true"),
        ("AUTH_SECRET", secret.as_str()),
        ("AUTH_REDIS_URL", redis),
        ("AUTH_REDIS_PREFIX", prefix.as_str()),
    ];
    let mut first = Server::start(binary, temp, "websocket-first", &shared)?;
    let database = first.database.clone();
    let mut env = shared.to_vec();
    env.push(("AUTH_DATABASE_URL", database.as_str()));
    let mut second = Server::start(binary, temp, "websocket-second", &env)?;
    println!("bench: websocket: sign-out on one instance, close on another");
    let outcome = runtime.block_on(one_socket_rounds(first.addr, second.addr, 0));
    first.stop();
    second.stop();
    outcome
}

async fn measure(server: &Server, connections: usize) -> Result<Report> {
    let addr = server.addr;
    println!("bench: websocket: signing up {USERS} users");
    let users = (0..USERS)
        .map(|n| sign_up(addr, n))
        .collect::<Result<Vec<_>>>()?;

    // The baseline: one socket, nothing else open.
    let baseline_us = one_socket_rounds(addr, addr, USERS).await?;

    let rss_before = resident_bytes(server)?;
    let closes = Arc::new(Closes::default());
    *closes.at.lock().map_err(|_| "bench: lock")? = vec![None; connections];
    println!("bench: websocket: opening {connections} sockets ({OPENING_AT_ONCE} at a time)");
    let started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(OPENING_AT_ONCE));
    let mut opening = Vec::with_capacity(connections);
    for index in 0..connections {
        let token = users[index % USERS].token.clone();
        let (gate, closes) = (gate.clone(), closes.clone());
        opening.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.ok()?;
            open(addr, &token, index, &closes).await.ok()
        }));
    }
    let mut failed = 0;
    for task in opening {
        if !matches!(task.await, Ok(Some(()))) {
            failed += 1;
        }
    }
    let opening = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = resident_bytes(server)?;
    let open = connections - failed;
    let bytes_per_socket = if open == 0 {
        0.0
    } else {
        rss_after.saturating_sub(rss_before) as f64 / open as f64
    };

    let mut loaded_us = Vec::new();
    for (index, user) in users.iter().enumerate().take(SIGNED_OUT_UNDER_LOAD) {
        let sockets: Vec<usize> = (index..connections).step_by(USERS).collect();
        loaded_us.extend(sign_out_and_wait(addr, user, &sockets, &closes).await?);
    }
    Ok(Report {
        connections,
        failed,
        opening,
        bytes_per_socket,
        baseline_us,
        loaded_us,
        across_us: None,
    })
}

/// [`BASELINE_ROUNDS`] times, after one round to warm up: a new user (numbered from `first_user`)
/// opens one socket on `sockets`, and is signed out on `sign_outs`; the time from the sign-out
/// to the close frame.
async fn one_socket_rounds(
    sockets: SocketAddr,
    sign_outs: SocketAddr,
    first_user: usize,
) -> Result<Vec<u64>> {
    let mut latencies = Vec::new();
    for round in 0..=BASELINE_ROUNDS {
        let user = sign_up(sockets, first_user + round)?;
        let closes = Arc::new(Closes::default());
        closes.at.lock().map_err(|_| "bench: lock")?.push(None);
        open(sockets, &user.token, 0, &closes)
            .await
            .map_err(|e| format!("bench: a socket did not open: {e}"))?;
        let latency = sign_out_and_wait(sign_outs, &user, &[0], &closes).await?;
        if round > 0 {
            latencies.extend(latency);
        }
    }
    Ok(latencies)
}

/// Opens socket `index` with `token` and leaves a task reading it, which records when the
/// server closes it.
async fn open(
    addr: SocketAddr,
    token: &str,
    index: usize,
    closes: &Arc<Closes>,
) -> std::result::Result<(), String> {
    let mut request = format!("ws://{addr}/ws")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    let bearer = format!("Bearer {token}").parse().map_err(|_| "header")?;
    request.headers_mut().insert("authorization", bearer);
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let (mut socket, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .map_err(|e| e.to_string())?;
    let closes = closes.clone();
    tokio::spawn(async move {
        // Reading answers the server's pings; the close frame (or the end) is the measure.
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        closes.record(index);
    });
    Ok(())
}

/// Signs `user` out and waits for the sockets `indexes` to close: each one's time from the
/// sign-out request, in microseconds.
async fn sign_out_and_wait(
    addr: SocketAddr,
    user: &User,
    indexes: &[usize],
    closes: &Closes,
) -> Result<Vec<u64>> {
    let mut sign_out = Scenario::get("sign-out", "/api/auth/sign-out")
        .header("Authorization", &format!("Bearer {}", user.token))
        .header("Content-Type", "application/json");
    sign_out.method = "POST".to_owned();
    sign_out.body = Some("{}".to_owned());
    let request = sign_out.encode(addr);
    let sent = Instant::now();
    let response = tokio::task::spawn_blocking(move || {
        Connection::connect(addr).and_then(|mut connection| connection.send(&request))
    })
    .await
    .map_err(|e| format!("bench: {e}"))?
    .map_err(|e| format!("bench: sign-out failed: {e}"))?;
    if response.status != 200 {
        return Err(format!(
            "bench: sign-out answered {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        ));
    }
    loop {
        let at = closes.of(indexes);
        if at.iter().all(Option::is_some) {
            return Ok(at
                .into_iter()
                .flatten()
                .map(|closed| {
                    u64::try_from(closed.saturating_duration_since(sent).as_micros())
                        .unwrap_or(u64::MAX)
                })
                .collect());
        }
        if sent.elapsed() > CLOSE_TIMEOUT {
            let open = at.iter().filter(|closed| closed.is_none()).count();
            return Err(format!(
                "bench: {open} sockets were still open {} s after their sign-out",
                CLOSE_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Signs up user `n`: its bearer token.
fn sign_up(addr: SocketAddr, n: usize) -> Result<User> {
    let body = format!(
        r#"{{"name":"Socket {n}","email":"socket-{n}@example.com","password":"bench-password-123"}}"#
    );
    let mut scenario = Scenario::get("sign-up", "/api/auth/sign-up/email")
        .header("Content-Type", "application/json");
    scenario.method = "POST".to_owned();
    scenario.body = Some(body);
    let response = Connection::connect(addr)
        .and_then(|mut connection| connection.send(&scenario.encode(addr)))
        .map_err(|e| format!("bench: sign-up failed: {e}"))?;
    let answer: serde_json::Value = serde_json::from_slice(&response.body)
        .map_err(|e| format!("bench: sign-up answered {}: {e}", response.status))?;
    let token = answer["token"]
        .as_str()
        .ok_or_else(|| format!("bench: sign-up gave no token: {answer}"))?;
    Ok(User {
        token: token.to_owned(),
    })
}

/// The server's resident set, from `/proc/<pid>/status`.
fn resident_bytes(server: &Server) -> Result<u64> {
    let path = format!("/proc/{}/status", server.child.id());
    let status =
        std::fs::read_to_string(&path).map_err(|e| format!("bench: cannot read {path}: {e}"))?;
    status
        .lines()
        .find_map(|line| {
            let kib = line.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?;
            kib.trim().parse::<u64>().ok()
        })
        .map(|kib| kib * 1024)
        .ok_or_else(|| format!("bench: no VmRSS in {path}"))
}

/// This process's open-file limits (soft, hard), from `/proc/self/limits`.
fn file_limits() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let value = |field: &str| match field {
        "unlimited" => Some(u64::MAX),
        number => number.parse().ok(),
    };
    Some((value(fields.get(3)?)?, value(fields.get(4)?)?))
}

/// Raises this process's soft open-file limit to its hard limit (the server, started next,
/// inherits it), and checks that it holds `connections` sockets on each side.
fn raise_file_limit(connections: usize) -> Result {
    let needed = u64::try_from(connections)
        .unwrap_or(u64::MAX)
        .saturating_add(500);
    if let Some((soft, hard)) = file_limits()
        && soft < needed
    {
        let hard = if hard == u64::MAX {
            "unlimited".to_owned()
        } else {
            hard.to_string()
        };
        let _ = std::process::Command::new("prlimit")
            .args([
                "--pid",
                &std::process::id().to_string(),
                &format!("--nofile={hard}:{hard}"),
            ])
            .status();
    }
    let soft = file_limits().map_or(0, |(soft, _)| soft);
    if soft < needed {
        return Err(format!(
            "bench: {connections} WebSockets need {needed} open files per process; the limit is {soft} (lower --ws-connections)"
        ));
    }
    Ok(())
}

impl Report {
    /// Prints the report.
    pub(super) fn print(&self) {
        println!(
            "  {} sockets ({} failed) opened in {:.2} s ({:.0}/s); {:.1} KiB per socket",
            self.connections,
            self.failed,
            self.opening.as_secs_f64(),
            self.connections as f64 / self.opening.as_secs_f64().max(f64::EPSILON),
            self.bytes_per_socket / 1024.0
        );
        let mut rows = vec![
            ("alone", &self.baseline_us),
            ("under load", &self.loaded_us),
        ];
        if let Some(across) = &self.across_us {
            rows.push(("across instances", across));
        }
        for (name, latencies) in rows {
            println!(
                "  sign-out to close, {name}: p50 {} p95 {} p99 {} max {} ms ({} closes)",
                ms(percentile(latencies, 50.0)),
                ms(percentile(latencies, 95.0)),
                ms(percentile(latencies, 99.0)),
                ms(percentile(latencies, 100.0)),
                latencies.len()
            );
        }
    }

    /// The report as markdown, the latencies under load against the baseline.
    pub(super) fn markdown(&self) -> String {
        let row = |name: &str, latencies: &[u64]| {
            format!(
                "| {name} | {} | {} | {} | {} | {} | {:.2} |\n",
                latencies.len(),
                ms(percentile(latencies, 50.0)),
                ms(percentile(latencies, 95.0)),
                ms(percentile(latencies, 99.0)),
                ms(percentile(latencies, 100.0)),
                ratio(
                    percentile(latencies, 99.0),
                    percentile(&self.baseline_us, 99.0)
                )
            )
        };
        let mut out = format!(
            "{} WebSockets on one instance ({} users, {} failed): opened in {:.2} s ({:.0} per second, {OPENING_AT_ONCE} upgrades in flight), {:.1} KiB of server memory per socket.\n\n",
            self.connections,
            USERS,
            self.failed,
            self.opening.as_secs_f64(),
            self.connections as f64 / self.opening.as_secs_f64().max(f64::EPSILON),
            self.bytes_per_socket / 1024.0
        );
        out.push_str(
            "| Sign-out to close frame | Closes | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | p99 vs alone |\n\
             |---|---:|---:|---:|---:|---:|---:|\n",
        );
        out.push_str(&row("alone (one socket open)", &self.baseline_us));
        out.push_str(&row(
            &format!(
                "under load ({} sockets open, a user's {} at once)",
                self.connections,
                self.connections / USERS
            ),
            &self.loaded_us,
        ));
        if let Some(across) = &self.across_us {
            out.push_str(&row(
                "across instances (one socket open; sign-out on a second instance sharing the database and Redis)",
                across,
            ));
        }
        out
    }
}

fn ratio(value: u64, base: u64) -> f64 {
    if base == 0 {
        return 0.0;
    }
    value as f64 / base as f64
}

fn percentile(latencies: &[u64], p: f64) -> u64 {
    if latencies.is_empty() {
        return 0;
    }
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Report, percentile};

    #[test]
    fn percentiles_pick_the_nearest_rank_and_empty_is_zero() {
        let latencies = [5, 1, 4, 2, 3];
        assert_eq!(percentile(&latencies, 50.0), 3);
        assert_eq!(percentile(&latencies, 100.0), 5);
        assert_eq!(percentile(&latencies, 0.0), 1);
        assert_eq!(percentile(&[], 99.0), 0);
    }

    #[test]
    fn the_markdown_puts_the_loaded_p99_against_the_baseline() {
        let report = Report {
            connections: 100,
            failed: 0,
            opening: Duration::from_secs(2),
            bytes_per_socket: 2048.0,
            baseline_us: vec![1_000; 10],
            loaded_us: vec![3_000; 10],
            across_us: Some(vec![2_000; 10]),
        };
        let text = report.markdown();
        assert!(text.contains("opened in 2.00 s (50 per second"), "{text}");
        assert!(text.contains("2.0 KiB"), "{text}");
        assert!(
            text.contains("| 10 | 3.00 | 3.00 | 3.00 | 3.00 | 3.00 |"),
            "{text}"
        );
    }
}
