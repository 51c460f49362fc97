//! Compatibility: the official better-auth JavaScript client drives the server; a database
//! written by Better-Auth is used as is; the OpenAPI document and Swagger UI are served.

use std::path::PathBuf;
use std::process::Command;

use auth_app::{AppConfig, Application, Overrides};
use auth_store_seaorm::test_db::TestDatabase;
use serde_json::{Value, json};

use crate::helpers::{Backend, ORIGIN, SECRET, spawn_app, spawn_app_with};

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(crate) fn services_required() -> bool {
    auth_store_seaorm::test_db::services_required()
}

/// Installs the locked JS dependencies when missing; `false` (or a panic in CI) when Node.js is
/// not there.
pub(crate) fn ensure_node_modules(dir: &PathBuf) -> bool {
    // Several tests need the packages and run at once; `npm ci` empties `node_modules` first,
    // so two installs at a time would pull it from under each other.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if Command::new("node").arg("--version").output().is_err() {
        assert!(
            !services_required(),
            "Node.js is required for the client compatibility test"
        );
        eprintln!("skipped: node is not installed");
        return false;
    }
    let installed = [
        "better-auth",
        "@better-auth/api-key",
        "esbuild",
        "playwright-core",
    ]
    .iter()
    .all(|package| {
        dir.join("node_modules")
            .join(package)
            .join("package.json")
            .exists()
    });
    if installed {
        return true;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status();
    match status {
        Ok(status) if status.success() => true,
        other => {
            assert!(!services_required(), "npm ci failed: {other:?}");
            eprintln!("skipped: npm ci failed ({other:?})");
            false
        }
    }
}

#[tokio::test]
async fn the_official_better_auth_client_drives_sessions_api_keys_organizations_two_factor_and_multi_session()
 {
    let dir = repo_root().join("tests/js");
    if !ensure_node_modules(&dir) {
        return;
    }
    // The client sends Origin = its base URL: trust the loopback address it uses.
    let trusted = |config: &mut AppConfig| {
        config.trusted_origins = vec!["http://127.0.0.1:*".to_owned()];
        config.api_key_sessions = true;
        config.multi_session = true;
    };
    let Some(app) = spawn_app_with(Backend::Sqlite, trusted).await else {
        return;
    };
    let base = app.address.clone();
    let now = auth_ports::Clock::now(app.clock.as_ref()).unix_timestamp();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("compat.mjs")
            .env("AUTH_BASE_URL", base)
            .env("AUTH_NOW", now.to_string())
            .current_dir(dir)
            .output()
    })
    .await
    .expect("join")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "compat.mjs failed\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("PASS"), "{stdout}");
    app.stop().await;
}

/// The hash Better-Auth 1.7.25's own `hashPassword("password123")` produced (scrypt).
pub(crate) const BETTER_AUTH_PASSWORD123_HASH: &str = "6b3e4c2ce234ce08658e3e17a3116bf6:b2dff4d0148592195012ba86d4e6a995c858cfa4fdaae3a659a19760dcd3c4ac75943b9974a1c5ba2530b9d630edc31915965ef7dd3f741424804e109e4c7e68";

/// Rows exactly as Better-Auth 1.7.25 writes them on SQLite (ISO text dates, 0/1 booleans), with
/// the password hash its own `hashPassword("password123")` produced.
const BETTER_AUTH_ROWS: &str = r#"
INSERT INTO "user" ("id","name","email","emailVerified","image","createdAt","updatedAt")
  VALUES ('BaUser0000000000000000000000001','Ada','ada@example.com',0,NULL,'2026-11-25T08:31:47.755Z','2026-11-25T08:31:47.755Z');
INSERT INTO "account" ("id","accountId","providerId","userId","password","createdAt","updatedAt")
  VALUES ('BaAcct0000000000000000000000001','BaUser0000000000000000000000001','credential','BaUser0000000000000000000000001',
          '6b3e4c2ce234ce08658e3e17a3116bf6:b2dff4d0148592195012ba86d4e6a995c858cfa4fdaae3a659a19760dcd3c4ac75943b9974a1c5ba2530b9d630edc31915965ef7dd3f741424804e109e4c7e68',
          '2026-11-25T08:31:47.755Z','2026-11-25T08:31:47.755Z');
"#;

#[tokio::test]
async fn a_user_of_an_existing_better_auth_database_signs_in_with_their_old_password() {
    let database = TestDatabase::sqlite();
    // First start creates the schema (as Better-Auth's migrator would have); then the rows.
    database.store().await.close().await;
    database.execute(BETTER_AUTH_ROWS).await;
    let config = AppConfig {
        secret: Some(SECRET.to_owned()),
        database_url: database.url.clone(),
        bind: "127.0.0.1:0".to_owned(),
        base_url: Some(ORIGIN.to_owned()),
        ..AppConfig::default()
    };
    let app = Application::build(config, Overrides::default())
        .await
        .expect("builds");
    let port = app.port();
    let (stop, signal) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = signal.await;
    }));
    let client = crate::helpers::client(true);
    let url = |path: &str| format!("http://127.0.0.1:{port}/api/auth{path}");
    let body = json!({"email": "ADA@example.com", "password": "password123"});
    let response = client
        .post(url("/sign-in/email"))
        .json(&body)
        .send()
        .await
        .expect("r");
    assert_eq!(response.status(), 200);
    let signed: Value = response.json().await.expect("json");
    assert_eq!(signed["user"]["id"], "BaUser0000000000000000000000001");
    assert_eq!(signed["user"]["createdAt"], "2026-11-25T08:31:47.755Z");
    let wrong = json!({"email": "ada@example.com", "password": "password124"});
    assert_eq!(
        client
            .post(url("/sign-in/email"))
            .json(&wrong)
            .send()
            .await
            .expect("r")
            .status(),
        401
    );
    let _ = stop.send(());
    let _ = server.await;
    database.cleanup().await;
}

/// Every optional route family on, as `cargo xtask openapi` writes the document.
fn every_route() -> AppConfig {
    AppConfig {
        organization_dynamic_roles: true,
        organization_teams: true,
        multi_session: true,
        websocket: true,
        ..AppConfig::default()
    }
}

#[test]
fn the_openapi_document_marks_what_may_be_null_as_nullable() {
    let spec: Value =
        serde_json::from_str(&auth_app::openapi(&every_route()).expect("document")).expect("json");
    // An optional property is written as `null` when absent (or, in a request, may be sent as
    // `null`): each one is nullable, and no required one is.
    let schemas = spec["components"]["schemas"].as_object().expect("schemas");
    for (name, schema) in schemas {
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (property, property_schema) in schema["properties"].as_object().into_iter().flatten() {
            assert_eq!(
                property_schema["nullable"] == true,
                !required.contains(&property.as_str()),
                "{name}.{property}: nullable exactly when optional"
            );
        }
    }
    assert_eq!(
        schemas["UserDto"]["properties"]["image"]["nullable"], true,
        "a user without an avatar has `image: null`"
    );
    let answer = |path: &str, method: &str| {
        spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
            .clone()
    };
    assert_eq!(
        answer("/get-session", "get")["nullable"],
        true,
        "get-session answers null without a session"
    );
    assert_eq!(
        answer("/organization/get-full-organization", "get")["nullable"],
        true,
        "null without an active organization"
    );
    assert_eq!(
        answer("/sign-in/email", "post").get("nullable"),
        None,
        "an answer that is never null is not nullable"
    );
}

#[tokio::test]
async fn swagger_ui_and_the_openapi_document_are_served_and_match_the_committed_copy() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let ui = app.client.get(app.url("/docs")).send().await.expect("r");
    assert_eq!(ui.status(), 200);
    let html = ui.text().await.expect("html");
    assert!(html.contains("swagger"), "Swagger UI page");
    assert!(
        html.contains("\"/paseto-keys\"") && html.contains("\"/get-session\""),
        "Swagger UI shows the built-in and the plugins' routes"
    );
    let spec: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("r")
        .json()
        .await
        .expect("json");
    for path in [
        "/sign-up/email",
        "/sign-in/email",
        "/get-session",
        "/sign-out",
        "/change-password",
        "/token",
        "/jwks",
        "/paseto-keys",
    ] {
        assert!(spec["paths"][path].is_object(), "{path} documented");
    }
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(
        schemes["sessionCookie"]["name"],
        "better-auth.session_token"
    );
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    app.stop().await;

    let generated = auth_app::openapi(&every_route()).expect("document");
    let committed_path = repo_root().join("docs/openapi.json");
    if std::env::var("UPDATE_EXPECT").is_ok() {
        std::fs::write(&committed_path, format!("{generated}\n")).expect("write docs/openapi.json");
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert_eq!(
        committed.trim_end(),
        generated.trim_end(),
        "docs/openapi.json is stale: run with UPDATE_EXPECT=1"
    );
}
