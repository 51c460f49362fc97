//! `spawn_app`: the real application on an ephemeral port, a fresh database per test, a manual
//! clock, and an HTTP client that keeps cookies.

use std::sync::Arc;

use auth_app::{AppConfig, Application, Overrides};
use auth_store_seaorm::test_db::TestDatabase;
use auth_testkit::ManualClock;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The secret every test server signs cookies with.
pub(crate) const SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";
/// The base URL (and so the trusted origin) of every test server.
pub(crate) const ORIGIN: &str = "http://localhost:3000";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

pub(crate) struct TestApp {
    pub(crate) address: String,
    pub(crate) port: u16,
    /// Keeps cookies; sends `Origin: http://localhost:3000`.
    pub(crate) client: reqwest::Client,
    pub(crate) clock: Arc<ManualClock>,
    /// Every mail the server sent.
    pub(crate) mail: Arc<auth_testkit::MemoryMailer>,
    database: Option<TestDatabase>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<Result<(), String>>>,
}

pub(crate) fn init_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        // Nothing is exported: the handle has nothing to send at exit.
        let _logs = auth_app::telemetry::init(&AppConfig {
            log: Some("debug".into()),
            ..AppConfig::default()
        })
        .expect("logs");
    }
}

/// Starts the app, or `None` when the backend's service is not there (and not required).
pub(crate) async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub(crate) async fn spawn_app_with(
    backend: Backend,
    customise: impl FnOnce(&mut AppConfig),
) -> Option<TestApp> {
    init_logs();
    let database = match backend {
        Backend::Sqlite => TestDatabase::sqlite(),
        Backend::Postgres => TestDatabase::postgres().await?,
    };
    let mut config = base_config(&database.url);
    customise(&mut config);
    Some(start_app(config, Some(database)).await)
}

/// The configuration every test server starts from.
pub(crate) fn base_config(database_url: &str) -> AppConfig {
    AppConfig {
        secret: Some(SECRET.to_owned()),
        database_url: database_url.to_owned(),
        bind: "127.0.0.1:0".to_owned(),
        base_url: Some(ORIGIN.to_owned()),
        // Most tests sign in many times from one address; the rate-limit tests turn it on.
        rate_limit_enabled: false,
        ..AppConfig::default()
    }
}

/// Starts a server; `database` (if any) is dropped when the app stops.
pub(crate) async fn start_app(config: AppConfig, database: Option<TestDatabase>) -> TestApp {
    start_app_with_plugins(config, database, Vec::new()).await
}

/// Starts a server with more plugins than the built-in ones.
pub(crate) async fn start_app_with_plugins(
    config: AppConfig,
    database: Option<TestDatabase>,
    plugins: Vec<auth_app::Plugin>,
) -> TestApp {
    start_app_customised(config, database, |overrides| overrides.plugins = plugins).await
}

/// Starts a server with the overrides changed by `customise` (the clock and the mailer are the
/// test's).
pub(crate) async fn start_app_customised(
    config: AppConfig,
    database: Option<TestDatabase>,
    customise: impl FnOnce(&mut Overrides),
) -> TestApp {
    let clock = Arc::new(ManualClock::new(now()));
    let mail = Arc::new(auth_testkit::MemoryMailer::new());
    let mut overrides = Overrides {
        clock: Some(clock.clone()),
        hasher: None,
        plugins: Vec::new(),
        mailer: Some(mail.clone()),
        routes: Vec::new(),
        websocket_hub: None,
    };
    customise(&mut overrides);
    let app = Application::build(config, overrides)
        .await
        .expect("the app builds");
    let port = app.port();
    let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until(async {
            let _ = signal.await;
        })
        .await
        .map_err(|error| error.to_string())
    });
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: client(true),
        clock,
        mail,
        database,
        shutdown: Some(shutdown),
        server: Some(server),
    }
}

/// A proxy in front of `database` (Postgres) that a test can take down and bring back, and the
/// database's URL through it.
pub(crate) async fn proxied(database: &TestDatabase) -> (auth_testkit::TcpProxy, String) {
    let (host_port, rest) = database
        .url
        .trim_start_matches("postgres://")
        .split_once('/')
        .expect("a postgres:// URL");
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, hp)| hp);
    let proxy = auth_testkit::TcpProxy::start(host_port.parse().expect("host:port"))
        .await
        .expect("proxy");
    let url = format!("postgres://postgres@127.0.0.1:{}/{rest}", proxy.port());
    (proxy, url)
}

/// The test Redis, or `None` (skip) when it does not answer outside CI.
pub(crate) async fn redis_url() -> Option<String> {
    let url = auth_testkit::services::redis_url();
    let address = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    match tokio::net::TcpStream::connect(&address).await {
        Ok(_) => Some(url),
        Err(error) => {
            assert!(
                !auth_testkit::services::services_required(),
                "Redis at {url} is required: {error}"
            );
            eprintln!("skipped: Redis does not answer ({error})");
            None
        }
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "tests start their manual clock at the real time"
)]
fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A client that sends the trusted `Origin`, with or without a cookie store.
pub(crate) fn client(cookies: bool) -> reqwest::Client {
    let mut headers = HeaderMap::new();
    headers.insert("origin", HeaderValue::from_static(ORIGIN));
    reqwest::Client::builder()
        .cookie_store(cookies)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/api/auth{path}", self.address)
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    pub(crate) async fn sign_up(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/sign-up/email",
            &json!({"name": "Test User", "email": email, "password": password}),
        )
        .await
    }

    /// Signs up and returns the new session's token (from the body).
    pub(crate) async fn sign_up_token(&self, email: &str, password: &str) -> String {
        let body: Value = self
            .sign_up(email, password)
            .await
            .json()
            .await
            .expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    pub(crate) async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.post(
            "/sign-in/email",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// The value of one series of `/metrics`, named with its labels as exposed
    /// (`auth_sign_ups_total`, `auth_sign_ins_total{outcome="locked"}`). The recorder is the
    /// process's and shared by the tests running in it, so a test compares values taken before
    /// and after what it does and expects at least its own events.
    pub(crate) async fn metric(&self, series: &str) -> f64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.address))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("text");
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{series} missing from\n{text}"))
    }

    /// The body of `GET /get-session` (JSON `null` when signed out).
    pub(crate) async fn session(&self) -> Value {
        session_of(&self.client, self).await
    }

    pub(crate) async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        if let Some(database) = self.database.take() {
            database.cleanup().await;
        }
    }
}

/// The body of `GET /get-session` as `client` sees it (its cookies, its headers).
pub(crate) async fn session_of(client: &reqwest::Client, app: &TestApp) -> Value {
    client
        .get(app.url("/get-session"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// `Set-Cookie` lines of a response.
pub(crate) fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok().map(str::to_owned))
        .collect()
}

/// Asserts the status and the `{code, message}` error body; returns the body.
pub(crate) async fn expect_error(
    response: reqwest::Response,
    status: u16,
    code: Option<&str>,
) -> Value {
    assert_eq!(response.status().as_u16(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type:?}: {:?}",
        response.url().as_str()
    );
    let body: Value = response.json().await.expect("json error body");
    assert_eq!(body["code"].as_str(), code, "code in {body}");
    assert!(body["message"].is_string(), "message in {body}");
    body
}

/// Declares one async test per backend: `both_backends!(name, |app| async move { ... })`.
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn on_sqlite() {
                let Some(app) = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite).await
                else {
                    return;
                };
                let run = $body;
                run(&app).await;
                app.stop().await;
            }

            #[tokio::test]
            async fn on_postgres() {
                let Some(app) = crate::helpers::spawn_app(crate::helpers::Backend::Postgres).await
                else {
                    return;
                };
                let run = $body;
                run(&app).await;
                app.stop().await;
            }
        }
    };
}
pub(crate) use both_backends;

/// The link in the newest mail to `email`, as mailed (built on `ORIGIN`); the HTML body
/// carries the same link.
pub(crate) fn mailed_link(app: &TestApp, email: &str) -> String {
    let mail = app.mail.last_to(email).expect("a mail was sent");
    let start = mail.text.find("http://").expect("a link in the text");
    let link: String = mail.text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(
        mail.html.contains(&link.replace('&', "&amp;")),
        "the same link in the HTML"
    );
    link
}

/// A client that does not follow redirects (to read a link's `Location`).
pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}
