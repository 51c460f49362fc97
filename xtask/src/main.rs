//! The workspace's automation, run as `cargo xtask <task>` (an alias in
//! `.cargo/config.toml`). Each task lives in its own module; this file only
//! dispatches on the first argument. Tasks: `test-all`, `check-layers`,
//! `tidy`, `deny`, `coverage`, `openapi`, `bench`, `load`.
//!
//! Depends on: `std` and `serde_json`; the load generator (`load.rs`, `bench/`)
//! also on `tokio` (one current-thread runtime), `httparse`,
//! `tokio-tungstenite` and `futures-util`. It still builds in seconds.
//!
//! Must not depend on: any workspace crate, xshell or other process crates.

// xtask is a command-line tool: it talks to the terminal.
#![allow(clippy::print_stdout, clippy::print_stderr)]
// clippy.toml's disallowed methods guard the server (time through the Clock
// port, no blocking on runtime threads); xtask has neither a clock port nor
// a runtime, and its polling loops sleep on plain threads.
#![allow(clippy::disallowed_methods)]

mod bench;
mod coverage;
mod deny;
mod layers;
mod load;
mod openapi;
mod test_all;
mod tidy;
mod util;

use std::process::ExitCode;

const HELP: &str = "\
usage: cargo xtask <task>

tasks:
  test-all       fmt check, clippy, check-layers, tidy, deny, cargo test (SQLite, Postgres, Redis)
  check-layers   enforce the crate dependency table (xtask/src/layers.rs)
  tidy           doc headers on lib.rs/main.rs; no leftover debugging macros
  deny           cargo-deny with the offline advisory database
  coverage       the test suite under cargo-llvm-cov; per-crate table, lcov and HTML; the 90%/85% gate
  openapi        regenerate docs/openapi.json
  bench          load-test a release build [--connections N] [--duration SECS] [--warmup SECS]
                 [--rounds N] [--ws-connections N]
  load           the bench's load generator alone: <host:port> <path> [--header \"name: value\"]...
                 [--rate REQ_PER_SEC] [--connections N] [--duration SECS] [--warmup SECS],
                 with its own CPU per request (saturating, or an open loop at --rate)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match (task, rest) {
        ("bench", rest) => bench::run(rest),
        ("load", rest) => bench::load_one(rest),
        ("help" | "-h" | "--help", _) => {
            println!("{HELP}");
            Ok(())
        }
        (_, [extra, ..]) => Err(format!("`{task}` takes no arguments (got {extra:?})")),
        ("test-all", []) => test_all::run(),
        ("check-layers", []) => layers::run(),
        ("tidy", []) => tidy::run(),
        ("deny", []) => deny::run(),
        ("coverage", []) => coverage::run(),
        ("openapi", []) => openapi::run(),
        (other, []) => Err(format!("unknown task `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
