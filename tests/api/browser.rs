//! The official better-auth client in headless Chromium, on a page served from another origin
//! than the server: the browser keeps and sends the session cookie itself, reads the exposed
//! token headers and refusals, and a page on an untrusted origin reads nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::compat::{ensure_node_modules, repo_root, services_required};
use crate::helpers::{Backend, spawn_app_with};

/// Debian's Chromium (or `CHROMIUM`), or `None` (a skip, a failure in CI) when it is missing.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    assert!(
        !services_required(),
        "Chromium is required for the browser test (apt-get install chromium)"
    );
    eprintln!("skipped: no Chromium at {}", path.display());
    None
}

/// Runs `browser.mjs` against a server with CORS on or off.
async fn run_browser_test(dir: &Path, chromium: &Path, cors_enabled: bool) -> Output {
    // The pages are served from 127.0.0.1 on another port (trusted) and from 127.0.0.2.
    let app = spawn_app_with(Backend::Sqlite, |config| {
        config.trusted_origins = vec!["http://127.0.0.1:*".to_owned()];
        config.cors_enabled = cors_enabled;
    })
    .await
    .expect("SQLite is always there");
    let (base, dir, chromium) = (app.address.clone(), dir.to_owned(), chromium.to_owned());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("browser.mjs")
            .env("AUTH_BASE_URL", base)
            .env("CHROMIUM", chromium)
            .current_dir(dir)
            .output()
    })
    .await
    .expect("join")
    .expect("node runs");
    app.stop().await;
    output
}

#[tokio::test]
async fn a_page_on_a_trusted_origin_signs_up_in_and_out_in_chromium_and_an_untrusted_one_reads_nothing()
 {
    let dir = repo_root().join("tests/js");
    let Some(chromium) = chromium() else { return };
    if !ensure_node_modules(&dir) {
        return;
    }
    let output = run_browser_test(&dir, &chromium, true).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser.mjs failed\n{stdout}\n{stderr}"
    );
    for step in [
        "sign-up (set-auth-token readable)",
        "get-session with the browser's cookie (set-auth-jwt readable)",
        "sign-in, then get-session with the new cookie",
        "sign-up is not readable (its preflight is refused)",
        "the untrusted page's sign-up created no user",
    ] {
        assert!(stdout.contains(step), "step {step:?} passed\n{stdout}");
    }

    // The same page against a server whose CORS is off cannot even sign up.
    let output = run_browser_test(&dir, &chromium, false).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(
        stdout.contains("FAIL") && stdout.contains("blocked by CORS policy"),
        "{stdout}"
    );
}
