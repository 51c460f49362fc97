//! The runnable examples of docs/bearer.md, docs/jwt.md, docs/paseto.md, docs/guards.md,
//! docs/email.md, docs/api-keys.md, docs/organizations.md, docs/two-factor.md and
//! docs/multi-session.md: every
//! ```` ```sh ```` block of a page runs, in order, as one `bash -euo pipefail` script against a
//! fresh server (and the example service for guards.md). `http://localhost:3000` in the page
//! stands for the server, `http://localhost:4000` for the example service.

use std::path::PathBuf;
use std::process::Command;

use auth_app::config::TokenFormatSetting;

use crate::guards::spawn_example;
use crate::helpers::{Backend, TestApp, spawn_app_with};

fn tools_present() -> bool {
    let present = ["bash", "curl", "jq"].iter().all(|tool| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|output| output.status.success())
    });
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "bash, curl and jq are needed to run the documentation examples"
        );
        eprintln!("skipped: bash, curl or jq is missing");
    }
    present
}

/// The `sh` blocks of a page, joined.
fn script(page: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(page);
    let text = std::fs::read_to_string(&path).expect("doc page");
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```sh") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    assert!(!blocks.is_empty(), "{page} has no runnable example");
    blocks.join("\n")
}

async fn run(page: &str, app: &TestApp, example: Option<&str>) {
    let example = example.map(|example| ("http://localhost:4000", example));
    run_with(page, app, example.as_slice()).await;
}

/// Runs a page's examples with `http://localhost:3000` pointing at `app` and each
/// `(text, replacement)` applied.
async fn run_with(page: &str, app: &TestApp, replacements: &[(&str, &str)]) {
    let mut script = script(page).replace("http://localhost:3000", &app.address);
    for (text, replacement) in replacements {
        script = script.replace(text, replacement);
    }
    let dir = std::env::temp_dir().join(format!("auth-docs-{}-{}", page, app.port));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (run_script, run_dir) = (script.clone(), dir.clone());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", &run_script])
            .current_dir(&run_dir)
            .output()
    })
    .await
    .expect("join")
    .expect("bash");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "{page} example failed:\n{script}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn the_bearer_jwt_and_guard_examples_run() {
    if !tools_present() {
        return;
    }
    let Some(app) = spawn_app_with(Backend::Sqlite, |_| {}).await else {
        return;
    };
    run("bearer.md", &app, None).await;
    run("jwt.md", &app, None).await;
    let example = spawn_example(&app).await;
    run("guards.md", &app, Some(&example)).await;
    app.stop().await;
}

#[tokio::test]
async fn the_paseto_example_runs() {
    if !tools_present() {
        return;
    }
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| {
        config.token_format = TokenFormatSetting::Paseto;
    })
    .await
    else {
        return;
    };
    run("paseto.md", &app, None).await;
    app.stop().await;
}

#[tokio::test]
async fn the_password_reset_example_runs_against_the_outbox_file() {
    if !tools_present() {
        return;
    }
    let outbox =
        std::env::temp_dir().join(format!("auth-docs-outbox-{}.jsonl", std::process::id()));
    let database = auth_store_seaorm::test_db::TestDatabase::sqlite();
    let mut config = crate::helpers::base_config(&database.url);
    config.mail_outbox_file = Some(outbox.clone());
    let app = crate::helpers::start_app_customised(config, Some(database), |overrides| {
        overrides.mailer = None;
    })
    .await;
    let path = outbox.display().to_string();
    run_with("email.md", &app, &[("outbox.jsonl", path.as_str())]).await;
    let _ = std::fs::remove_file(&outbox);
    app.stop().await;
}

#[tokio::test]
async fn the_organization_example_runs() {
    if !tools_present() {
        return;
    }
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| {
        config.organization_teams = true;
        config.api_key_organization_config_id = Some("org-keys".to_owned());
        config.api_key_sessions = true;
    })
    .await
    else {
        return;
    };
    run("organizations.md", &app, None).await;
    app.stop().await;
}

#[tokio::test]
async fn the_two_factor_example_runs() {
    if !tools_present() {
        return;
    }
    // The page's requests with cookies send the server's origin, here a loopback port.
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| {
        config.trusted_origins = vec!["http://127.0.0.1:*".to_owned()];
    })
    .await
    else {
        return;
    };
    // The page takes the time from `date`; the server runs on the test's clock.
    let now = auth_ports::Clock::now(app.clock.as_ref())
        .unix_timestamp()
        .to_string();
    run_with("two-factor.md", &app, &[("$(date +%s)", &now)]).await;
    app.stop().await;
}

#[tokio::test]
async fn the_multi_session_example_runs() {
    if !tools_present() {
        return;
    }
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| {
        config.multi_session = true;
        config.trusted_origins = vec!["http://127.0.0.1:*".to_owned()];
    })
    .await
    else {
        return;
    };
    run("multi-session.md", &app, None).await;
    app.stop().await;
}

#[tokio::test]
async fn the_api_key_example_runs() {
    if !tools_present() {
        return;
    }
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| config.api_key_sessions = true).await
    else {
        return;
    };
    run("api-keys.md", &app, None).await;
    app.stop().await;
}
