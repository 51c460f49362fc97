//! `cargo xtask coverage`: the whole test suite once, instrumented by cargo-llvm-cov, then a
//! per-crate table, an lcov file and an HTML report under `target/coverage/`, and the gate:
//! at least 90% of the product's lines covered in total, and at least 85% in every crate that
//! implements an authentication method. `test-all` runs its tests this way in CI.
//!
//! Coverage is a floor, not a target: tests prove behaviour, and lines they happen to touch
//! without asserting anything are no reason to lower the bar.
//!
//! Depends on: `std`, `serde_json`, `crate::util`; the `cargo-llvm-cov` program (installed when
//! missing) and LLVM's `llvm-cov` and `llvm-profdata` of rustc's LLVM version (Debian's
//! `llvm-22`).
//!
//! Must not depend on: any workspace crate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, Result};

/// Least share of the product's lines the tests must cover.
const TOTAL_FLOOR: f64 = 90.0;
/// Least share of lines in each crate that implements an authentication method.
const CRATE_FLOOR: f64 = 85.0;
/// The crates held to [`CRATE_FLOOR`] (those that exist are checked).
const AUTH_CRATES: [&str; 8] = [
    "auth-core",
    "auth-crypto",
    "auth-http-poem",
    "auth-guard",
    "auth-store-seaorm",
    "auth-ratelimit",
    "auth-cache-redis",
    "auth-ws",
];
/// Files that are not product code: the automation, the example service, test support and
/// tests themselves (integration tests, `tests.rs` unit-test modules, throwaway databases).
const IGNORED: &str = r"(^|/)(xtask|crates/auth-example-service|crates/auth-testkit|tests)/|/tests\.rs$|/tests/|/test_db\.rs$";
/// The LLVM tools that match rustc 1.95's LLVM 22.
const LLVM_BIN: &str = "/usr/lib/llvm-22/bin";

/// Runs `cargo xtask coverage`.
pub(crate) fn run() -> Result {
    if !tools_present() {
        return Err(format!(
            "coverage: LLVM's llvm-cov and llvm-profdata were not found in {LLVM_BIN} (install Debian's llvm-22) and LLVM_COV/LLVM_PROFDATA are not set"
        ));
    }
    test(&mut Vec::new())?;
    gate()
}

/// Whether LLVM's tools are there (or named by `LLVM_COV` and `LLVM_PROFDATA`).
pub(crate) fn tools_present() -> bool {
    let (cov, profdata) = llvm_tools();
    cov.is_file() && profdata.is_file()
}

fn llvm_tools() -> (PathBuf, PathBuf) {
    let named = |variable: &str, default: &str| {
        std::env::var_os(variable).map_or_else(|| Path::new(LLVM_BIN).join(default), PathBuf::from)
    };
    (
        named("LLVM_COV", "llvm-cov"),
        named("LLVM_PROFDATA", "llvm-profdata"),
    )
}

/// A `cargo llvm-cov` command with the LLVM tools set.
fn llvm_cov<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let (cov, profdata) = llvm_tools();
    let mut command = util::cargo(["llvm-cov"]);
    command
        .args(args)
        .env("LLVM_COV", cov)
        .env("LLVM_PROFDATA", profdata);
    command
}

/// Runs the whole test suite instrumented, with `environment` set for the tests (the services
/// `test-all` found), leaving the profiles for [`gate`].
pub(crate) fn test(environment: &mut Vec<(String, String)>) -> Result {
    util::ensure_cargo_tool("llvm-cov", "cargo-llvm-cov")?;
    util::run(&mut llvm_cov(["clean", "--workspace"]))?;
    let mut command = llvm_cov(["--workspace", "--all-features", "--no-report"]);
    for (name, value) in environment.drain(..) {
        command.env(name, value);
    }
    util::run(&mut command)
}

/// Writes the reports and applies the floors to the profiles [`test()`] left.
pub(crate) fn gate() -> Result {
    let out = util::workspace_root().join("target").join("coverage");
    std::fs::create_dir_all(&out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let out_text = out.display().to_string();
    let ignore = ["--ignore-filename-regex", IGNORED];
    util::run(
        llvm_cov(["report", "--lcov", "--output-path"])
            .arg(format!("{out_text}/lcov.info"))
            .args(ignore),
    )?;
    util::run(
        llvm_cov(["report", "--html", "--output-dir"])
            .arg(&out_text)
            .args(ignore),
    )?;
    let summary = util::read_stdout(llvm_cov(["report", "--json", "--summary-only"]).args(ignore))?;
    let crates = per_crate(&summary)?;
    println!("{}", table(&crates));
    println!("coverage: lcov at {out_text}/lcov.info, HTML at {out_text}/html/index.html");
    check(&crates)
}

/// Counts of one kind (lines, regions or functions).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Count {
    covered: u64,
    total: u64,
}

impl Count {
    fn add(&mut self, other: Count) {
        self.covered += other.covered;
        self.total += other.total;
    }

    fn percent(self) -> f64 {
        if self.total == 0 {
            return 100.0;
        }
        // Counts stay far below 2^52: exact in an f64.
        #[allow(clippy::cast_precision_loss)]
        let share = self.covered as f64 / self.total as f64;
        share * 100.0
    }
}

/// A crate's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Coverage {
    lines: Count,
    regions: Count,
    functions: Count,
}

impl Coverage {
    fn add(&mut self, other: &Coverage) {
        self.lines.add(other.lines);
        self.regions.add(other.regions);
        self.functions.add(other.functions);
    }
}

/// The crate a source file belongs to, by its path.
fn crate_of(filename: &str) -> String {
    let path = filename.replace('\\', "/");
    if let Some((_, rest)) = path.rsplit_once("/crates/") {
        return rest.split('/').next().unwrap_or(rest).to_owned();
    }
    if path.contains("/migrations/") {
        return "auth-migrations".to_owned();
    }
    "other".to_owned()
}

fn count(value: &serde_json::Value) -> Count {
    let number = |name: &str| {
        value
            .get(name)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    Count {
        covered: number("covered"),
        total: number("count"),
    }
}

/// Sums `llvm-cov export -summary-only` JSON per crate.
fn per_crate(json: &str) -> Result<BTreeMap<String, Coverage>> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("coverage: unreadable summary: {e}"))?;
    let files = value
        .pointer("/data/0/files")
        .and_then(serde_json::Value::as_array)
        .ok_or("coverage: the summary lists no files")?;
    let mut crates: BTreeMap<String, Coverage> = BTreeMap::new();
    for file in files {
        let Some(name) = file.get("filename").and_then(serde_json::Value::as_str) else {
            continue;
        };
        let Some(summary) = file.get("summary") else {
            continue;
        };
        let coverage = Coverage {
            lines: count(&summary["lines"]),
            regions: count(&summary["regions"]),
            functions: count(&summary["functions"]),
        };
        crates.entry(crate_of(name)).or_default().add(&coverage);
    }
    Ok(crates)
}

fn total(crates: &BTreeMap<String, Coverage>) -> Coverage {
    let mut sum = Coverage::default();
    for coverage in crates.values() {
        sum.add(coverage);
    }
    sum
}

fn table(crates: &BTreeMap<String, Coverage>) -> String {
    let mut out = String::from("| crate | lines | regions | functions |\n|---|---:|---:|---:|\n");
    let row = |name: &str, c: &Coverage| {
        format!(
            "| {name} | {:.1}% ({}/{}) | {:.1}% | {:.1}% |\n",
            c.lines.percent(),
            c.lines.covered,
            c.lines.total,
            c.regions.percent(),
            c.functions.percent()
        )
    };
    for (name, coverage) in crates {
        out.push_str(&row(name, coverage));
    }
    out.push_str(&row("**total**", &total(crates)));
    out
}

/// The floors: [`TOTAL_FLOOR`] over everything, [`CRATE_FLOOR`] for each auth crate.
fn check(crates: &BTreeMap<String, Coverage>) -> Result {
    let mut failures = Vec::new();
    let total = total(crates).lines.percent();
    if total < TOTAL_FLOOR {
        failures.push(format!(
            "total line coverage {total:.1}% is under {TOTAL_FLOOR}%"
        ));
    }
    for name in AUTH_CRATES {
        let Some(coverage) = crates.get(name) else {
            continue;
        };
        let lines = coverage.lines.percent();
        if lines < CRATE_FLOOR {
            failures.push(format!(
                "{name}: line coverage {lines:.1}% is under {CRATE_FLOOR}%"
            ));
        }
    }
    if failures.is_empty() {
        println!("coverage: gate passed ({total:.1}% of lines in total)");
        return Ok(());
    }
    Err(format!("coverage gate: {}", failures.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(files: &[(&str, u64, u64)]) -> String {
        let files: Vec<serde_json::Value> = files
            .iter()
            .map(|(name, covered, count)| {
                let lines = serde_json::json!({"covered": covered, "count": count});
                serde_json::json!({"filename": name, "summary": {"lines": lines, "regions": lines, "functions": lines}})
            })
            .collect();
        serde_json::json!({"data": [{"files": files}]}).to_string()
    }

    #[test]
    fn files_are_summed_per_crate_and_the_floors_apply() {
        let crates = per_crate(&summary(&[
            ("/w/crates/auth-core/src/a.rs", 95, 100),
            ("/w/crates/auth-core/src/b.rs", 95, 100),
            ("/w/migrations/src/m.rs", 10, 10),
        ]))
        .expect("summary");
        assert_eq!(
            crates["auth-core"].lines,
            Count {
                covered: 190,
                total: 200
            }
        );
        assert_eq!(crates["auth-migrations"].lines.total, 10);
        assert!(check(&crates).is_ok());

        let weak_crate = per_crate(&summary(&[
            ("/w/crates/auth-core/src/a.rs", 80, 100),
            ("/w/crates/auth-domain/src/b.rs", 1000, 1000),
        ]))
        .expect("summary");
        let refused = check(&weak_crate).expect_err("auth-core is under 85%");
        assert!(refused.contains("auth-core"), "{refused}");

        let weak_total =
            per_crate(&summary(&[("/w/crates/auth-domain/src/b.rs", 80, 100)])).expect("summary");
        assert!(check(&weak_total).expect_err("under 90%").contains("total"));
    }
}
