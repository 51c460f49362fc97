//! Health, metrics, and the database going away and coming back.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, base_config, spawn_app, spawn_app_with, start_app};
use auth_store_seaorm::test_db::TestDatabase;

#[tokio::test]
async fn health_endpoints_report_liveness_and_readiness_as_json() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let live: Value = app
        .client
        .get(format!("{}/health/live", app.address))
        .send()
        .await
        .expect("r")
        .json()
        .await
        .expect("j");
    assert_eq!(live, json!({"status": "ok"}));
    let ready = app
        .client
        .get(format!("{}/health/ready", app.address))
        .send()
        .await
        .expect("r");
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.expect("json");
    assert_eq!(ready, json!({"status": "ok", "checks": {"database": "ok"}}));
    app.stop().await;
}

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(format!("{}/metrics", app.address));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.send().await.expect("request")
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_can_be_protected_by_a_token() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| {
        config.metrics_token = Some("scrape-secret".to_owned())
    })
    .await
    else {
        return;
    };
    app.sign_up("metrics@example.com", "password-123").await;
    app.sign_in("metrics@example.com", "wrong-password").await;
    app.session().await;
    assert_eq!(scrape(&app, None).await.status(), 401);
    assert_eq!(scrape(&app, Some("wrong")).await.status(), 401);
    let text = scrape(&app, Some("scrape-secret"))
        .await
        .text()
        .await
        .expect("text");
    for needle in [
        "auth_http_requests_total{route=\"/sign-in/email\",status=\"401\"}",
        "auth_http_request_duration_seconds_bucket",
        "auth_cache_requests_total{layer=\"l1\"",
        "auth_db_pool_connections",
    ] {
        assert!(text.contains(needle), "{needle} in\n{text}");
    }
    // The recorder is the process's, shared by the tests: at least this test's events.
    for (series, least) in [
        ("auth_sign_ups_total ", 1.0),
        ("auth_sign_ins_total{outcome=\"wrong_credentials\"} ", 1.0),
        ("auth_sign_ins_total{outcome=\"locked\"} ", 0.0),
        ("auth_session_ends_total{reason=\"revoked_all\"} ", 0.0),
        ("auth_session_checks_total{source=\"none\"} ", 0.0),
        ("auth_session_checks_total{source=\"database\"} ", 0.0),
    ] {
        let value: f64 = text
            .lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} missing from\n{text}"));
        assert!(value >= least, "{series} {value}");
    }
    // The process's figures are read from `/proc` at the scrape: plausible values, not zeros.
    let gauge = |name: &str| -> f64 {
        text.lines()
            .find_map(|line| {
                line.strip_prefix(name)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
    };
    let resident = gauge("process_resident_memory_bytes");
    assert!(
        (1024.0 * 1024.0..64.0 * 1024.0 * 1024.0 * 1024.0).contains(&resident),
        "resident {resident}"
    );
    let (open, max) = (gauge("process_open_fds"), gauge("process_max_fds"));
    // At least stdin, stdout, stderr, the listener and the scrape's own connection.
    assert!(open >= 5.0 && open <= max, "{open} of {max} descriptors");
    app.stop().await;
}

#[tokio::test]
async fn the_recorder_is_drained_by_a_thread_of_its_own_without_scrapes() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |_| {}).await else {
        return;
    };
    // Histogram samples wait in the recorder until drained: without this thread, a server
    // nobody scrapes would grow by every request's sample.
    let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect();
    assert!(
        threads.iter().any(|name| name == "metrics-upkeep"),
        "{threads:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn verification_records_expired_over_a_day_ago_are_deleted_when_the_server_starts() {
    use auth_ports::VerificationRepo as _;
    let mut databases = vec![TestDatabase::sqlite()];
    databases.extend(TestDatabase::postgres().await);
    for database in databases {
        // Written as Better-Auth writes them: a reset link nobody followed, and a live one.
        let store = database.store().await;
        for (id, expires) in [
            ("stale", "2001-01-01T00:00:00.000Z"),
            ("live", "2999-01-01T00:00:00.000Z"),
        ] {
            database
                .execute(&format!(
                    r#"INSERT INTO "verification" ("id","identifier","value","expiresAt","createdAt","updatedAt")
                       VALUES ('{id}','reset-password:{id}','user','{expires}','2001-01-01T00:00:00.000Z','2001-01-01T00:00:00.000Z')"#
                ))
                .await;
        }
        let app = start_app(base_config(&database.url), Some(database)).await;
        let mut stale = true;
        for _ in 0..50 {
            stale = store
                .find_latest("reset-password:stale")
                .await
                .expect("read")
                .is_some();
            if !stale {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(!stale, "the expired record is deleted at start");
        let live = store
            .find_latest("reset-password:live")
            .await
            .expect("read");
        assert!(live.is_some(), "the live record stays");
        app.stop().await;
    }
}

/// The metrics table of docs/operations.md, by name.
fn documented_metrics() -> Vec<String> {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/operations.md"
    ))
    .expect("docs/operations.md");
    docs.lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_owned())
        .filter(|name| name.starts_with("auth_") || name.starts_with("process_"))
        .collect()
}

/// A file of `deploy/`.
fn deploy_file(path: &str) -> String {
    let full = format!("{}/../deploy/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("{full}: {error}"))
}

/// The server's metric families a PromQL text names (a histogram's by its family name).
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("auth_") || word.starts_with("process_"))
        .map(|word| {
            ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| word.strip_suffix(suffix))
                .unwrap_or(word)
                .to_owned()
        })
        .collect()
}

/// The metric families of a Prometheus text exposition.
fn exposed_families(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn every_documented_metric_is_exposed_and_every_exposed_one_is_documented() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| config.websocket = true).await else {
        return;
    };
    app.sign_up("documented@example.com", "password-123").await;
    assert_eq!(
        app.get("/token").await.status(),
        200,
        "a signing key is made"
    );
    let text = scrape(&app, None).await.text().await.expect("text");
    let key_left: f64 = text
        .lines()
        .find_map(|line| {
            line.strip_prefix("auth_signing_key_expires_in_seconds{use=\"jwt\"} ")?
                .parse()
                .ok()
        })
        .expect("the signing key's time left");
    assert!(
        key_left > 89.0 * 86_400.0,
        "a new key has 90 days: {key_left}"
    );
    assert!(
        text.contains("auth_dependency_up{dependency=\"database\"} 1"),
        "{text}"
    );
    let exposed = exposed_families(&text);
    let documented = documented_metrics();
    assert!(documented.len() > 10, "the table is read: {documented:?}");
    // These need what this test's server does not have: Redis (tested with it in
    // multi_instance.rs), a mail transport (its mailer is the test's, in memory), a signing
    // key (it appears with the first; checked above).
    let on_first_event = [
        "auth_ratelimit_fallback_total",
        "auth_redis_errors_total",
        "auth_redis_pool_connections",
        "auth_mail_sent_total",
        "auth_mail_failed_total",
        "auth_signing_key_expires_in_seconds",
    ];
    for name in &documented {
        assert!(
            exposed.contains(name) || on_first_event.contains(&name.as_str()),
            "{name} is documented but not exposed:\n{text}"
        );
    }
    // The dashboard's panels and the alert rules query only metrics the server has.
    let dashboard: serde_json::Value =
        serde_json::from_str(&deploy_file("grafana/auth-server.json"))
            .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    let queries: Vec<&str> = panels
        .iter()
        .flat_map(|panel| panel["targets"].as_array().into_iter().flatten())
        .filter_map(|target| target["expr"].as_str())
        .collect();
    assert!(queries.len() >= panels.len(), "every panel queries");
    let alerts = deploy_file("prometheus/alerts.yml");
    for (source, text) in queries
        .iter()
        .map(|query| ("the dashboard", *query))
        .chain([("the alert rules", alerts.as_str())])
    {
        for name in metric_names(text) {
            assert!(
                documented.contains(&name)
                    && (exposed.contains(&name) || on_first_event.contains(&name.as_str())),
                "{source} queries {name}, which the server does not expose"
            );
        }
    }
    assert!(
        text.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
        "the build info names the version"
    );
    for name in exposed
        .iter()
        .filter(|name| name.starts_with("auth_") || name.starts_with("process_"))
    {
        assert!(
            documented.contains(name),
            "{name} is exposed but not in docs/operations.md"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_database_outage_gives_503_json_and_the_service_recovers_by_itself() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    database.store().await.close().await;
    let (proxy, url) = crate::helpers::proxied(&database).await;
    let mut config = base_config(&url);
    config.database_max_connections = Some(2);
    let app = start_app(config, Some(database)).await;
    assert_eq!(
        app.sign_up("outage@example.com", "password-123")
            .await
            .status(),
        200
    );

    let lost = "auth_db_errors_total{kind=\"connection\"}";
    let timed_out = "auth_db_errors_total{kind=\"timeout\"}";
    let before = app.metric(lost).await + app.metric(timed_out).await;
    proxy.down();
    let refused = app.sign_in("outage@example.com", "password-123").await;
    assert_eq!(refused.status(), 503);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], "SERVICE_UNAVAILABLE");
    let after = app.metric(lost).await + app.metric(timed_out).await;
    assert!(after > before, "the outage is counted: {before} -> {after}");
    let ready = app
        .client
        .get(format!("{}/health/ready", app.address))
        .send()
        .await
        .expect("r");
    assert_eq!(ready.status(), 503);

    proxy.up();
    let mut recovered = false;
    for _ in 0..40 {
        if app
            .sign_in("outage@example.com", "password-123")
            .await
            .status()
            == 200
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(recovered, "sign-in works again once the database is back");
    app.stop().await;
}

#[tokio::test]
async fn metrics_can_be_served_on_a_listener_of_their_own() {
    let database = auth_store_seaorm::test_db::TestDatabase::sqlite();
    let mut config = crate::helpers::base_config(&database.url);
    config.metrics_bind = Some("127.0.0.1:0".to_owned());
    let app = auth_app::Application::build(config, auth_app::Overrides::default())
        .await
        .expect("builds");
    let (port, metrics_port) = (app.port(), app.metrics_port().expect("metrics listener"));
    let (stop, signal) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = signal.await;
    }));
    let client = reqwest::Client::new();
    let main = client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(main.status(), 404, "not on the main listener");
    let own = client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .await
        .expect("request");
    assert_eq!(own.status(), 200);
    assert!(own.text().await.expect("text").contains("# TYPE"));
    let _ = stop.send(());
    server.await.expect("join").expect("clean stop");
    database.cleanup().await;
}

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests() {
    let directory = format!("{}/../deploy/prometheus", env!("CARGO_MANIFEST_DIR"));
    let run = |args: &[&str]| {
        std::process::Command::new("promtool")
            .args(args)
            .current_dir(&directory)
            .output()
    };
    let checked = match run(&["check", "rules", "alerts.yml"]) {
        Ok(output) => output,
        Err(error) => {
            assert!(
                !auth_testkit::services::services_required(),
                "promtool (Debian's prometheus package) is required: {error}"
            );
            eprintln!("skipped: no promtool ({error})");
            return;
        }
    };
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );
    let tested = run(&["test", "rules", "alerts.test.yml"]).expect("promtool");
    assert!(
        tested.status.success(),
        "{}{}",
        String::from_utf8_lossy(&tested.stdout),
        String::from_utf8_lossy(&tested.stderr)
    );
}
