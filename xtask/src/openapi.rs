//! `cargo xtask openapi`: regenerates `docs/openapi.json` from the server's
//! own description (`auth-app openapi`), so the committed spec never drifts
//! from the code. The optional route families (dynamic roles, teams,
//! multi-session, WebSocket tickets) are on, so the committed document lists
//! every route.
//!
//! Depends on: `std`, `serde_json` (to check the output is JSON),
//! `crate::util`; runs `auth-app` through cargo.
//!
//! Must not depend on: any workspace crate (it runs the binary instead).

use crate::util::{self, Result};

const OUTPUT: &str = "docs/openapi.json";

/// The settings that add routes; `tests/api/compat.rs` documents with the same.
const OPTIONAL_ROUTES: [&str; 4] = [
    "AUTH_ORGANIZATION_DYNAMIC_ROLES",
    "AUTH_ORGANIZATION_TEAMS",
    "AUTH_MULTI_SESSION",
    "AUTH_WEBSOCKET",
];

/// Writes the spec.
pub(crate) fn run() -> Result {
    let mut command = util::cargo(["run", "-q", "-p", "auth-app", "--", "openapi"]);
    for setting in OPTIONAL_ROUTES {
        command.env(setting, "true");
    }
    let mut spec = util::read_stdout(&mut command)?;
    serde_json::from_str::<serde_json::Value>(&spec)
        .map_err(|e| format!("openapi: `auth-app openapi` did not print JSON: {e}"))?;
    if !spec.ends_with('\n') {
        spec.push('\n');
    }
    let path = util::workspace_root().join(OUTPUT);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("openapi: cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(&path, spec)
        .map_err(|e| format!("openapi: cannot write {}: {e}", path.display()))?;
    println!("openapi: wrote {OUTPUT}");
    Ok(())
}
