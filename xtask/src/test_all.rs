//! `cargo xtask test-all`: everything CI checks, in order, stopping at the
//! first failure: rustfmt, clippy, `check-layers`, `tidy`, `deny`, then
//! `cargo test --workspace --all-features` (instrumented, with the coverage
//! gate of `crate::coverage`, when LLVM's tools are there: always in CI),
//! which runs the suites on SQLite
//! and against the Postgres and Redis named by `AUTH_TEST_DATABASE_URL` and
//! `AUTH_TEST_REDIS_URL` (the local services by default). Under `CI=true` a
//! service that does not answer is an error, and the tests are told
//! (`AUTH_TEST_REQUIRE_SERVICES=1`) not to skip.
//!
//! Depends on: `std`, `crate::{layers, tidy, deny, util}`.
//!
//! Must not depend on: any workspace crate.

use std::time::{Duration, Instant};

use crate::util::{self, Result};
use crate::{coverage, deny, layers, tidy};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// One external service the tests use.
struct Service {
    name: &'static str,
    env: &'static str,
    default_url: &'static str,
    default_port: u16,
}

const SERVICES: &[Service] = &[
    Service {
        name: "Postgres",
        env: "AUTH_TEST_DATABASE_URL",
        default_url: DEFAULT_DATABASE_URL,
        default_port: 5432,
    },
    Service {
        name: "Redis",
        env: "AUTH_TEST_REDIS_URL",
        default_url: DEFAULT_REDIS_URL,
        default_port: 6379,
    },
];

/// A named step of the run.
type Step = (&'static str, fn() -> Result);

/// Runs every step.
pub(crate) fn run() -> Result {
    let started = Instant::now();
    let steps: [Step; 6] = [
        ("fmt", || {
            util::run(&mut util::cargo(["fmt", "--all", "--", "--check"]))
        }),
        ("clippy", || {
            util::run(&mut util::cargo([
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ]))
        }),
        ("check-layers", layers::run),
        ("tidy", tidy::run),
        ("deny", deny::run),
        ("test", test),
    ];
    for (index, (name, step)) in steps.iter().enumerate() {
        println!("==> test-all [{}/{}] {name}", index + 1, steps.len());
        let step_started = Instant::now();
        step().map_err(|e| format!("test-all: step `{name}` failed: {e}"))?;
        println!(
            "<== {name} passed in {:.1} s",
            step_started.elapsed().as_secs_f64()
        );
    }
    println!(
        "test-all: all steps passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The whole suite, once: instrumented with the coverage gate applied when LLVM's tools are
/// there (always in CI), plainly otherwise.
fn test() -> Result {
    let ci = util::is_ci();
    let mut environment = Vec::new();
    for service in SERVICES {
        let url = match std::env::var(service.env) {
            Ok(url) if !url.is_empty() => url,
            _ => service.default_url.to_string(),
        };
        check_service(service, &url, ci)?;
        environment.push((service.env.to_owned(), url));
    }
    if ci {
        environment.push(("AUTH_TEST_REQUIRE_SERVICES".to_owned(), "1".to_owned()));
    }
    if ci || coverage::tools_present() {
        coverage::test(&mut environment)?;
        return coverage::gate();
    }
    eprintln!(
        "test-all: WARNING: LLVM's coverage tools are missing (Debian's llvm-22); running the tests without the coverage gate"
    );
    let mut command = util::cargo(["test", "--workspace", "--all-features"]);
    command.envs(environment);
    util::run(&mut command)
}

fn check_service(service: &Service, url: &str, ci: bool) -> Result {
    let Some(host_port) = util::url_host_port(url, service.default_port) else {
        return Err(format!("{}={url:?} names no host", service.env));
    };
    if util::tcp_answers(&host_port, PROBE_TIMEOUT) {
        println!("test-all: {} answers at {host_port}", service.name);
        return Ok(());
    }
    if ci {
        return Err(format!(
            "{} does not answer at {host_port} ({}); CI=true requires it: start it (.ci/run does) or point {} elsewhere",
            service.name, service.env, service.env
        ));
    }
    eprintln!(
        "test-all: WARNING: {} does not answer at {host_port}; the tests that need it will skip themselves",
        service.name
    );
    Ok(())
}
