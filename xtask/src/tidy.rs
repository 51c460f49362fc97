//! `cargo xtask tidy`: source checks that need no compiler. Every `lib.rs`
//! and `main.rs` under `crates/`, `migrations/`, `tests/` and `xtask/`
//! opens with a `//!` doc comment and states its boundary in a line that
//! starts with `//! Must not depend on:`. Non-test `.rs` files contain no
//! leftover `todo`, `unimplemented` or `dbg` macro calls.
//!
//! Depends on: `std`, `crate::util`.
//!
//! Must not depend on: any workspace crate.

use std::path::{Path, PathBuf};

use crate::util::{self, Result};

/// The folders scanned, relative to the workspace root.
const ROOTS: &[&str] = &["crates", "migrations", "tests", "xtask"];

/// Macro calls that must not be committed outside tests. Written in two
/// halves so this file does not match itself.
const FORBIDDEN: &[&str] = &[
    concat!("todo", "!("),
    concat!("unimplemented", "!("),
    concat!("dbg", "!("),
];

const BOUNDARY_LINE: &str = "//! Must not depend on:";

/// Runs the checks on the workspace.
pub(crate) fn run() -> Result {
    let root = util::workspace_root();
    let mut files = Vec::new();
    for dir in ROOTS {
        collect_rs_files(&root.join(dir), &mut files)?;
    }
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("tidy: cannot read {}: {e}", file.display()))?;
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(file)
            .display()
            .to_string();
        problems.extend(check_file(&shown, &text));
    }
    if problems.is_empty() {
        println!("tidy: {} files checked", files.len());
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    Err(format!("tidy: {} problem(s)", problems.len()))
}

/// The problems of one file; `path` is relative to the workspace root, with
/// `/` separators.
pub(crate) fn check_file(path: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let file_name = path.rsplit('/').next().unwrap_or(path);
    if matches!(file_name, "lib.rs" | "main.rs") {
        let first = text.lines().next().unwrap_or("");
        if !first.starts_with("//!") {
            problems.push(format!("{path}: does not start with a `//!` doc comment"));
        }
        if !text.lines().any(|line| line.starts_with(BOUNDARY_LINE)) {
            problems.push(format!("{path}: has no `{BOUNDARY_LINE}` line"));
        }
    }
    if is_test_file(path) {
        return problems;
    }
    for (index, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for needle in FORBIDDEN {
            if code.contains(needle) {
                problems.push(format!("{path}:{}: contains `{needle}`", index + 1));
            }
        }
    }
    problems
}

/// Test code: anything under a `tests/` folder (including the `auth-tests`
/// package), `tests.rs` modules and `benches/`.
fn is_test_file(path: &str) -> bool {
    let mut parts = path.split('/');
    let file_name = parts.next_back().unwrap_or("");
    file_name == "tests.rs" || parts.any(|part| part == "tests" || part == "benches")
}

fn collect_rs_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("tidy: cannot read {}: {e}", dir.display())),
    };
    for entry in entries {
        let entry = entry.map_err(|e| format!("tidy: cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        let file_type = entry
            .file_type()
            .map_err(|e| format!("tidy: cannot stat {}: {e}", path.display()))?;
        if file_type.is_dir() {
            collect_rs_files(&path, out)?;
        } else if file_type.is_file() && name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
