//! `cargo xtask deny`: supply-chain checks with cargo-deny, fully offline.
//! Installs cargo-deny when it is missing, clones the RustSec advisory
//! database from the git bundle in `../shared/data/` (or
//! `$AUTH_ADVISORY_BUNDLE`) into the folder `deny.toml` points at, then runs
//! every check. Without a bundle it fails in CI and, elsewhere, warns and
//! checks licenses, bans and sources only.
//!
//! Depends on: `std`, `crate::util`; the `cargo-deny` and `git` programs.
//!
//! Must not depend on: any workspace crate, the network (beyond the
//! package registry that `cargo install` uses).

use std::path::PathBuf;
use std::process::Command;

use crate::util::{self, Result};

/// Where cargo-deny looks for the database: `db-path` in `deny.toml` plus
/// the folder name it derives from the upstream URL.
const DB_DIR: &str = "target/advisory-db/advisory-db-3157b0e258782691";

/// The bundle, relative to the workspace root.
const DEFAULT_BUNDLE: &str = "../shared/data/advisory-db.bundle";

/// Runs `cargo deny` on the workspace.
pub(crate) fn run() -> Result {
    util::ensure_cargo_tool("deny", "cargo-deny")?;
    // cargo-deny reads the metadata of every target platform, so the sources of crates this
    // machine never builds (Windows, macOS) must be in the local registry first; the offline
    // checks below then need nothing more from the network.
    util::run(&mut util::cargo(["fetch", "--quiet"]))?;
    let root = util::workspace_root();
    let db = root.join(DB_DIR);
    if !db.is_dir() {
        match find_bundle() {
            Some(bundle) => clone_bundle(&bundle, &db)?,
            None if util::is_ci() => {
                return Err(format!(
                    "deny: no advisory database: {} is missing and neither {DEFAULT_BUNDLE} nor \
                     $AUTH_ADVISORY_BUNDLE names a bundle (CI=true, so this is an error)",
                    db.display()
                ));
            }
            None => {
                eprintln!(
                    "deny: WARNING: no advisory bundle ({DEFAULT_BUNDLE} or $AUTH_ADVISORY_BUNDLE); \
                     skipping the advisories check"
                );
                return util::run(&mut util::cargo([
                    "deny",
                    "--offline",
                    "--all-features",
                    "check",
                    "licenses",
                    "bans",
                    "sources",
                ]));
            }
        }
    }
    util::run(&mut util::cargo([
        "deny",
        "--offline",
        "--all-features",
        "check",
    ]))
}

/// `$AUTH_ADVISORY_BUNDLE` when it names a file, else the default bundle
/// when it exists.
fn find_bundle() -> Option<PathBuf> {
    let from_env = std::env::var_os("AUTH_ADVISORY_BUNDLE")
        .filter(|value| !value.is_empty())
        .map(PathBuf::from);
    let default = util::workspace_root().join(DEFAULT_BUNDLE);
    from_env
        .into_iter()
        .chain([default])
        .find(|path| path.is_file())
}

fn clone_bundle(bundle: &std::path::Path, db: &std::path::Path) -> Result {
    if let Some(parent) = db.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("deny: cannot create {}: {e}", parent.display()))?;
    }
    util::run(
        Command::new("git")
            // Silences the hint about the initial branch name; the clone
            // follows the bundle's HEAD either way.
            .args(["-c", "init.defaultBranch=master", "clone"])
            .arg("-q")
            .arg(bundle)
            .arg(db)
            .current_dir(util::workspace_root()),
    )
}
