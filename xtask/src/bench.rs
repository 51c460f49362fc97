//! `cargo xtask bench`: builds `auth-app` in release, starts it on a free
//! loopback port with a fresh SQLite database, signs up one user, then
//! drives each [`Scenario`] with the std load generator in `crate::load`
//! and prints throughput, latency percentiles, errors and a markdown table
//! for `docs/performance.md`, then the latency of the faster rows at a fixed
//! load (an open loop at half of `ok`'s throughput, measured again at the
//! start of each round) in a second table. It reports numbers and asserts none.
//!
//! Flags: `--connections N` (64), `--duration SECS` (10), `--warmup SECS` (2),
//! `--rounds N` (3 rounds of the fixed-load rows), `--ws-connections N` (10000 WebSockets, `0`
//! to skip them; see `bench/websocket.rs`).
//!
//! Depends on: `std`, `crate::load`, `crate::util`; the `kill` program.
//!
//! Must not depend on: any workspace crate (it drives the built binary over
//! HTTP only).

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::load::{self, Connection, Pace, Scenario, Stats};
use crate::util::{self, Result};
use handled::{Handled, Histogram};

const READY_TIMEOUT: Duration = Duration::from_secs(20);
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
const SIGN_UP_BODY: &str =
    r#"{"name":"Bench","email":"bench@example.com","password":"bench-password-123"}"#;
const SIGN_IN_BODY: &str = r#"{"email":"bench@example.com","password":"bench-password-123"}"#;

/// Command-line options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) connections: usize,
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
    /// How many times the fixed-load rows are measured, each round over every row in turn.
    pub(crate) rounds: usize,
    pub(crate) ws_connections: usize,
}

/// The server under test; stopped on drop if still running.
#[derive(Debug)]
struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    /// `AUTH_DATABASE_URL` of the server (empty for a service without one).
    database: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            connections: 64,
            duration: Duration::from_secs(10),
            warmup: Duration::from_secs(2),
            rounds: 3,
            ws_connections: 10_000,
        }
    }
}

impl Options {
    /// Parses `--connections N`, `--duration SECS`, `--warmup SECS`, `--rounds N`,
    /// `--ws-connections N` (also written `--flag=value`).
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag, Some(value.to_string())),
                None => (arg.as_str(), None),
            };
            let value = match inline {
                Some(value) => value,
                None => args
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("bench: {flag} needs a value"))?,
            };
            let number: u64 = value
                .parse()
                .map_err(|_| format!("bench: {flag} takes a whole number, not {value:?}"))?;
            match flag {
                "--connections" if number > 0 => {
                    options.connections = usize::try_from(number).map_err(|e| e.to_string())?;
                }
                "--duration" if number > 0 => options.duration = Duration::from_secs(number),
                "--warmup" => options.warmup = Duration::from_secs(number),
                "--rounds" if number > 0 => {
                    options.rounds = usize::try_from(number).map_err(|e| e.to_string())?;
                }
                "--ws-connections" => {
                    options.ws_connections = usize::try_from(number).map_err(|e| e.to_string())?;
                }
                "--connections" | "--duration" | "--rounds" => {
                    return Err(format!("bench: {flag} must be > 0"));
                }
                _ => {
                    return Err(format!(
                        "bench: unknown flag {flag} (see `cargo xtask help`)"
                    ));
                }
            }
        }
        Ok(options)
    }
}

/// `cargo xtask load <host:port> <path> [--header "name: value"]... [--rate REQ_PER_SEC]
/// [--connections N] [--duration SECS] [--warmup SECS]`: the bench's load generator alone
/// against a running server, with the CPU time it spent itself per request, to set beside an
/// outside generator's (`wrk -t1 -c64`) on the same server. `--rate` runs the open loop at that
/// many requests per second instead of saturating.
pub(crate) fn load_one(args: &[String]) -> Result {
    if cfg!(debug_assertions) {
        let mut command = util::cargo(["run", "--release", "--quiet", "-p", "xtask", "--", "load"]);
        return util::run(command.args(args));
    }
    let [addr, path, rest @ ..] = args else {
        return Err("load: give <host:port> <path>".to_owned());
    };
    let addr: SocketAddr = addr
        .parse()
        .map_err(|_| format!("load: {addr:?} is not host:port"))?;
    let mut scenario = Scenario::get("load", path);
    let mut numeric = Vec::new();
    let mut pace = Pace::Saturate;
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        if arg == "--rate" {
            let value = rest.next().ok_or("load: --rate needs a value")?;
            let rate = value
                .parse::<f64>()
                .ok()
                .filter(|rate| *rate > 0.0 && rate.is_finite())
                .ok_or_else(|| format!("load: --rate {value:?} is not a positive number"))?;
            pace = Pace::Rate(rate);
        } else if arg == "--header" {
            let header = rest.next().ok_or("load: --header needs a value")?;
            let (name, value) = header
                .split_once(':')
                .ok_or_else(|| format!("load: {header:?} is not \"name: value\""))?;
            scenario = scenario.header(name.trim(), value.trim());
        } else {
            numeric.push(arg.clone());
        }
    }
    let options = Options::parse(&numeric)?;
    load::run_paced(addr, &scenario, options.connections, options.warmup, pace);
    let cpu_before = util::own_cpu_time();
    let stats = load::run_paced(addr, &scenario, options.connections, options.duration, pace);
    let cpu = util::own_cpu_time().saturating_sub(cpu_before);
    print_stats(&stats);
    if let Some(per_request) = cpu.as_micros().checked_div(u128::from(stats.ok)) {
        println!(
            "  generator CPU: {:.1} s, {per_request} µs per request",
            cpu.as_secs_f64()
        );
    }
    Ok(())
}

/// Runs the benchmark.
pub(crate) fn run(args: &[String]) -> Result {
    let options = Options::parse(args)?;
    if cfg!(debug_assertions) {
        // The load generator shares the machine with the server: run it optimised.
        let mut command =
            util::cargo(["run", "--release", "--quiet", "-p", "xtask", "--", "bench"]);
        return util::run(command.args(args));
    }
    util::run(&mut util::cargo([
        "build",
        "--release",
        "-p",
        "auth-app",
        "-p",
        "auth-example-service",
    ]))?;
    api_keys::build()?;
    jwt::verify_in_process()?;
    let binary = target_dir().join("release").join("auth-app");
    let temp = std::env::temp_dir().join(format!("auth-bench-{}", std::process::id()));
    if temp.exists() {
        std::fs::remove_dir_all(&temp)
            .map_err(|e| format!("bench: cannot clear {}: {e}", temp.display()))?;
    }
    std::fs::create_dir_all(&temp)
        .map_err(|e| format!("bench: cannot create {}: {e}", temp.display()))?;

    let mut server = Server::start(&binary, &temp, "hot", &[])?;
    // The same binary with the in-process cache switched off: every session check reads the
    // database (the cold path).
    let mut cold = Server::start(&binary, &temp, "cold", &[("AUTH_CACHE_L1_TTL_MS", "0")])?;
    let example_binary = target_dir().join("release").join("auth-example-service");
    let mut example = jwt::start_example(&example_binary, &temp, server.addr)?;
    let mut keys = api_keys::start(&api_keys::example_binary(&target_dir()), &temp)?;
    let outcome = measure(&server, &cold, &example, &keys, &binary, &options);
    example.stop();
    keys.stop();
    server.stop();
    cold.stop();
    let outcome = outcome.and_then(|()| {
        if options.ws_connections == 0 {
            return Ok(());
        }
        println!("bench: websocket: {} sockets", options.ws_connections);
        let report = websocket::run(&binary, &temp, options.ws_connections)?;
        report.print();
        println!();
        println!("{}", report.markdown());
        Ok(())
    });
    match &outcome {
        Ok(()) => {
            // Keep the folder (and the server log) only when something failed.
            let _ = std::fs::remove_dir_all(&temp);
        }
        Err(_) => eprintln!("bench: server log kept at {}", server.log.display()),
    }
    outcome
}

/// One measured scenario.
struct Row<'a> {
    scenario: &'a Scenario,
    stats: Stats,
}

fn measure(
    server: &Server,
    cold: &Server,
    example: &Server,
    keys: &api_keys::KeyServers,
    auth_app: &Path,
    options: &Options,
) -> Result {
    let addr = server.addr;
    let cookie = sign_up(addr)?;
    let bearer_jwt = format!("Bearer {}", jwt::fetch_token(addr, &cookie)?);
    let cold_cookie = sign_up(cold.addr)?;
    let ok = Scenario::get("ok", "/api/auth/ok");
    let hot = Scenario::get("get-session, hot (cache)", "/api/auth/get-session")
        .header("Cookie", &cookie);
    let cold_session = Scenario::get("get-session, cold (database)", "/api/auth/get-session")
        .header("Cookie", &cold_cookie);
    let jwks = Scenario::get("jwks (pre-serialised document)", "/api/auth/jwks");
    let guarded = Scenario::get(
        "guarded route with a JWT (example service, `GET /me`)",
        "/me",
    )
    .header("Authorization", &bearer_jwt);
    let key_scenarios = api_keys::scenarios(auth_app, keys)?;
    let storm = Scenario::get(
        "get-session while 64 connections sign in",
        "/api/auth/get-session",
    )
    .header("Cookie", &cookie);
    // The first row is the baseline of the ratios.
    let mut rows = Vec::new();
    for (addr, scenario) in [
        (addr, &ok),
        (addr, &hot),
        (cold.addr, &cold_session),
        (addr, &jwks),
        (example.addr, &guarded),
    ] {
        rows.push(measure_one(addr, scenario, Pace::Saturate, options));
    }
    for (addr, scenario) in &key_scenarios {
        rows.push(measure_one(*addr, scenario, Pace::Saturate, options));
    }
    rows.push(during_sign_in_storm(addr, &storm, options));
    // Latency at a fixed load: half of `ok`'s throughput, the share the API-key rows must
    // sustain. Only the rows that reach it at saturation (the cold path and the JWT example
    // service do not, and would only measure their queue). The machine's CPU comes and goes in
    // episodes of a few hundred milliseconds, which decide a p95 at this load: each row is
    // measured in several rounds, every row once per round, and reported by its median round,
    // with every round's p95 beside it. The machine's speed drifts over a run too, so each
    // round measures `ok` at saturation again and runs at half of what it found: a rate taken
    // once at the start is more than a machine that slowed down since can carry.
    let fixed_load: Vec<_> = [(addr, &ok), (addr, &hot), (addr, &jwks)]
        .into_iter()
        .chain(
            key_scenarios
                .iter()
                .map(|(addr, scenario)| (*addr, scenario)),
        )
        .collect();
    let mut rounds: Vec<Vec<Row<'_>>> = fixed_load.iter().map(|_| Vec::new()).collect();
    let mut handled: Vec<Vec<Option<Handled>>> = fixed_load.iter().map(|_| Vec::new()).collect();
    let mut rates = Vec::with_capacity(options.rounds);
    for round in 1..=options.rounds {
        println!("bench: fixed load, round {round} of {}", options.rounds);
        let base = measure_one(addr, &ok, Pace::Saturate, options);
        let rate = base.stats.requests_per_sec() * FIXED_LOAD_SHARE;
        rates.push(rate);
        for (((addr, scenario), measured), handled) in
            fixed_load.iter().zip(&mut rounds).zip(&mut handled)
        {
            let (row, by_server) = measure_paced(*addr, scenario, rate, options);
            measured.push(row);
            handled.push(by_server);
        }
    }
    let paced: Vec<Paced<'_>> = rounds
        .into_iter()
        .zip(handled)
        .filter_map(|(rounds, handled)| Some(Paced::of(rounds)?.handled(handled)))
        .collect();
    println!();
    println!("{}", markdown(&rows, options));
    println!();
    println!("{}", paced_markdown(&paced, &rates, options));
    Ok(())
}

/// The fixed load of the open-loop rows, as a share of `ok`'s throughput at saturation at the
/// start of the round.
const FIXED_LOAD_SHARE: f64 = 0.5;

/// A fixed-load row measured in rounds: its median round by p95, and every round's p95 in
/// microseconds, in the order measured, with what the server measured of each round.
struct Paced<'a> {
    median: Row<'a>,
    p95_us: Vec<u64>,
    handled: Vec<Option<Handled>>,
}

impl<'a> Paced<'a> {
    /// `None` for no rounds.
    fn of(mut rounds: Vec<Row<'a>>) -> Option<Self> {
        let p95_us = rounds
            .iter()
            .map(|row| row.stats.percentile_us(95.0))
            .collect();
        // A round where nothing completed has no latency to speak of: it sorts last.
        rounds.sort_by_key(|row| (row.stats.ok == 0, row.stats.percentile_us(95.0)));
        // The lower median of an even count: the figure one of the rounds measured.
        let median = rounds.len().checked_sub(1)? / 2;
        Some(Self {
            median: rounds.swap_remove(median),
            p95_us,
            handled: Vec::new(),
        })
    }

    /// The same row with what the server measured of each round, in the order measured.
    fn handled(mut self, handled: Vec<Option<Handled>>) -> Self {
        self.handled = handled;
        self
    }
}

/// Measures `scenario` at a fixed `rate` (after a warm-up at that rate), with the server's own
/// timing of the measured requests ([`handled`]).
fn measure_paced<'a>(
    addr: SocketAddr,
    scenario: &'a Scenario,
    rate: f64,
    options: &Options,
) -> (Row<'a>, Option<Handled>) {
    let pace = Pace::Rate(rate);
    announce(scenario, pace, options);
    if !options.warmup.is_zero() {
        load::run_paced(addr, scenario, options.connections, options.warmup, pace);
    }
    let before = Histogram::read(addr);
    let stats = load::run_paced(addr, scenario, options.connections, options.duration, pace);
    let handled = Histogram::read(addr).since(&before);
    print_stats(&stats);
    if let Some(handled) = &handled {
        println!(
            "  the server's own time ({}): 95 % within {} ms, {:.2} % within 1 ms",
            handled.route,
            handled.p95_text(),
            handled.share_within(1.0) * 100.0
        );
    }
    (Row { scenario, stats }, handled)
}

/// Measures `scenario` at `pace`, after a warm-up at the same pace.
fn measure_one<'a>(
    addr: SocketAddr,
    scenario: &'a Scenario,
    pace: Pace,
    options: &Options,
) -> Row<'a> {
    announce(scenario, pace, options);
    if !options.warmup.is_zero() {
        load::run_paced(addr, scenario, options.connections, options.warmup, pace);
    }
    let stats = load::run_paced(addr, scenario, options.connections, options.duration, pace);
    print_stats(&stats);
    Row { scenario, stats }
}

/// Says which row is measured next, and how.
fn announce(scenario: &Scenario, pace: Pace, options: &Options) {
    let at = match pace {
        Pace::Saturate => String::new(),
        Pace::Rate(rate) => format!(" at {rate:.0} req/s"),
    };
    println!(
        "bench: {} {} {}{at} ({} connections, {} s warm-up, {} s measured)",
        scenario.name,
        scenario.method,
        scenario.path,
        options.connections,
        options.warmup.as_secs(),
        options.duration.as_secs()
    );
}

fn print_stats(stats: &Stats) {
    println!(
        "  {:>10.0} req/s  p50 {}  p95 {}  p99 {}  errors {}  ({} ok)",
        stats.requests_per_sec(),
        ms(stats.percentile_us(50.0)),
        ms(stats.percentile_us(95.0)),
        ms(stats.percentile_us(99.0)),
        stats.errors,
        stats.ok
    );
}

/// Measures `scenario` while 64 connections sign in as fast as they can (argon2id on every
/// request): session checks must not queue behind password hashing.
fn during_sign_in_storm<'a>(
    addr: SocketAddr,
    scenario: &'a Scenario,
    options: &Options,
) -> Row<'a> {
    let mut sign_in = Scenario::get("sign-in storm", "/api/auth/sign-in/email")
        .header("Content-Type", "application/json");
    sign_in.method = "POST".to_string();
    sign_in.body = Some(SIGN_IN_BODY.to_string());
    let storm_duration = options.warmup + options.duration + Duration::from_secs(1);
    println!(
        "bench: {} {} {} ({} connections) while 64 connections sign in",
        scenario.name, scenario.method, scenario.path, options.connections
    );
    std::thread::scope(|scope| {
        let storm = scope.spawn(|| load::run(addr, &sign_in, 64, storm_duration));
        std::thread::sleep(options.warmup);
        let stats = load::run(addr, scenario, options.connections, options.duration);
        if let Ok(storm) = storm.join() {
            println!(
                "  storm: {:.0} sign-ins/s, {} errors",
                storm.requests_per_sec(),
                storm.errors
            );
        }
        print_stats(&stats);
        Row { scenario, stats }
    })
}

/// Signs up the bench user and returns a `Cookie` header value built from
/// the `name=value` parts of the `Set-Cookie` headers.
fn sign_up(addr: SocketAddr) -> Result<String> {
    let mut scenario = Scenario::get("sign-up", "/api/auth/sign-up/email")
        .header("Content-Type", "application/json");
    scenario.method = "POST".to_string();
    scenario.body = Some(SIGN_UP_BODY.to_string());
    let response = Connection::connect(addr)
        .and_then(|mut conn| conn.send(&scenario.encode(addr)))
        .map_err(|e| format!("bench: sign-up request failed: {e}"))?;
    if response.status != 200 {
        return Err(format!(
            "bench: sign-up answered {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        ));
    }
    let cookie = cookie_header(response.header_values("set-cookie"));
    if cookie.is_empty() {
        return Err(
            "bench: sign-up set no cookie; get-session would measure an anonymous call".to_string(),
        );
    }
    Ok(cookie)
}

/// `a=1; b=2` from `Set-Cookie` values such as `a=1; Path=/; HttpOnly`.
pub(crate) fn cookie_header<'a>(set_cookies: impl Iterator<Item = &'a str>) -> String {
    set_cookies
        .filter_map(|value| value.split(';').next())
        .map(str::trim)
        .filter(|pair| pair.contains('='))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The results as a markdown table, with throughput and p99 against the first (`ok`) row.
fn markdown(rows: &[Row<'_>], options: &Options) -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut out = table(rows, Pace::Saturate);
    out.push_str(&format!(
        "\n_`cargo xtask bench`: release build, SQLite, {} keep-alive connections, {} s per scenario after {} s warm-up, {cpus} CPUs, load generator (one thread) on the same machine._",
        options.connections,
        options.duration.as_secs(),
        options.warmup.as_secs()
    ));
    out
}

/// The open-loop rows as a markdown table (each row's median round), with p95 and p99 against
/// the first (`ok`) row, then every round's p95; `rates` are the rounds' loads, in order.
fn paced_markdown(rows: &[Paced<'_>], rates: &[f64], options: &Options) -> String {
    let medians: Vec<Row<'_>> = rows
        .iter()
        .map(|row| Row {
            scenario: row.median.scenario,
            stats: row.median.stats.clone(),
        })
        .collect();
    let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
    let mut out = table(&medians, Pace::Rate(mean));
    out.push_str(
        "\n| Scenario at a fixed load | p95 of each round (ms) | the server's own time: 95 % within (ms) |\n|---|---|---|\n",
    );
    for row in rows {
        let rounds: Vec<String> = row.p95_us.iter().map(|&us| ms(us)).collect();
        let handled: Vec<String> = row
            .handled
            .iter()
            .map(|handled| {
                handled
                    .as_ref()
                    .map_or_else(|| "?".to_owned(), Handled::p95_text)
            })
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            row.median.scenario.name,
            rounds.join(", "),
            handled.join(", ")
        ));
    }
    let loads: Vec<String> = rates.iter().map(|rate| format!("{rate:.0}")).collect();
    out.push_str(&format!(
        "\n_Open loop at {:.0} % of `ok`'s throughput at saturation, measured again at the start of each round: {} requests/s, round by round, over {} keep-alive connections, {} s per scenario after {} s warm-up; latency counted from when each request was due. Every row once per round; the first table gives each row's median round by p95. The server's own time is its `auth_http_request_duration_seconds` histogram over the same requests (from when its application has a request to when the answer is built), as the smallest bucket bound holding 95 % of them._",
        FIXED_LOAD_SHARE * 100.0,
        loads.join(", "),
        options.connections,
        options.duration.as_secs(),
        options.warmup.as_secs(),
    ));
    out
}

/// The rows of one pace as a markdown table. The last two columns set each row against the
/// first (`ok`): throughput and p99 at saturation; p95 and p99 at a fixed load, where every row
/// has the same throughput.
fn table(rows: &[Row<'_>], pace: Pace) -> String {
    let (first, compared) = match pace {
        Pace::Saturate => ("Scenario", "Throughput"),
        Pace::Rate(_) => ("Scenario at a fixed load", "p95"),
    };
    let mut out = format!(
        "| {first} | Requests/s | p50 (ms) | p95 (ms) | p99 (ms) | Errors | {compared} vs `ok` | p99 vs `ok` |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let Some(base) = rows.first().map(|row| &row.stats) else {
        return out;
    };
    for row in rows {
        let stats = &row.stats;
        let against_base = match pace {
            Pace::Saturate => ratio(stats.requests_per_sec(), base.requests_per_sec()),
            Pace::Rate(_) => ratio(
                stats.percentile_us(95.0) as f64,
                base.percentile_us(95.0) as f64,
            ),
        };
        out.push_str(&format!(
            "| {} | {:.0} | {} | {} | {} | {} | {against_base:.2} | {:.2} |\n",
            row.scenario.name,
            stats.requests_per_sec(),
            ms(stats.percentile_us(50.0)),
            ms(stats.percentile_us(95.0)),
            ms(stats.percentile_us(99.0)),
            stats.errors,
            ratio(
                stats.percentile_us(99.0) as f64,
                base.percentile_us(99.0) as f64
            )
        ));
    }
    out
}

impl Server {
    fn start(binary: &Path, temp: &Path, name: &str, extra_env: &[(&str, &str)]) -> Result<Self> {
        let addr = free_port()?;
        let log = temp.join(format!("{name}.log"));
        let out = File::create(&log)
            .map_err(|e| format!("bench: cannot create {}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("bench: {e}"))?;
        let database = format!("sqlite://{}/{name}.db?mode=rwc", temp.display());
        println!("bench: starting {} serve on {addr}", binary.display());
        let child = Command::new(binary)
            .arg("serve")
            .env("AUTH_BIND", addr.to_string())
            .env("AUTH_DATABASE_URL", &database)
            .env("AUTH_SECRET", util::random_hex(32)?)
            .env("AUTH_RATE_LIMIT_ENABLED", "false")
            .env("AUTH_LOG", "warn")
            .envs(extra_env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("bench: cannot start {}: {e}", binary.display()))?;
        let mut server = Self {
            child,
            addr,
            log,
            database,
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result {
        let probe = Scenario::get("ok", "/api/auth/ok").encode(self.addr);
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "bench: the server exited ({status}) before answering; log:\n{}",
                    self.log_tail()
                ));
            }
            let answered = Connection::connect(self.addr)
                .and_then(|mut conn| conn.send(&probe))
                .is_ok_and(|response| response.status == 200);
            if answered {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(format!(
                    "bench: GET /api/auth/ok did not answer 200 within {} s; log:\n{}",
                    READY_TIMEOUT.as_secs(),
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then SIGKILL after [`STOP_TIMEOUT`].
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let asked = Instant::now();
        while asked.elapsed() < STOP_TIMEOUT {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "bench: the server ignored SIGTERM for {} s; killing it",
            STOP_TIMEOUT.as_secs()
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|e| format!("bench: no free port: {e}"))
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => util::workspace_root().join(dir),
        _ => util::workspace_root().join("target"),
    }
}

fn ms(micros: u64) -> String {
    format!("{:.2}", micros as f64 / 1000.0)
}

fn ratio(value: f64, base: f64) -> f64 {
    if base == 0.0 {
        return 0.0;
    }
    value / base
}

mod api_keys;
mod handled;
mod jwt;
mod websocket;

#[cfg(test)]
mod tests;
