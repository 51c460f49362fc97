//! auth-app as operators run it: the real binary, its subcommands, its configuration sources,
//! its generated secret and its graceful shutdown.
//! Must not depend on: the library's internals; only the built binary and HTTP.
#![allow(
    clippy::expect_used,
    clippy::print_stderr,
    clippy::disallowed_methods,
    reason = "test binary: it waits for a real process with plain sleeps"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_auth-app");

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("auth-app-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
}

/// A command with no `AUTH_*` variables inherited from the test environment.
fn command(dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    for (key, _) in std::env::vars() {
        if key.starts_with("AUTH_") {
            command.env_remove(key);
        }
    }
    command
        .current_dir(dir)
        .env("AUTH_LOG", "warn")
        .stdin(Stdio::null());
    command
}

fn get(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

fn wait_until_ready(addr: SocketAddr, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if get(addr, "/api/auth/ok").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            return;
        }
        assert!(
            child.try_wait().expect("status").is_none(),
            "the server exited early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not become ready at {addr}");
}

fn terminate(mut child: Child) -> Output {
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    while child.try_wait().expect("status").is_none() {
        assert!(
            Instant::now() < deadline,
            "no graceful shutdown within 15 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn serve_creates_and_migrates_sqlite_generates_a_secret_and_stops_gracefully_on_sigterm() {
    let dir = temp_dir("serve");
    let addr = free_port();
    let mut child = command(&dir)
        .env("AUTH_BIND", addr.to_string())
        .env("AUTH_DATABASE_URL", "sqlite://data/auth.db?mode=rwc")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_until_ready(addr, &mut child);
    assert!(
        dir.join("data/auth.db").exists(),
        "the database file was created"
    );
    let secret = std::fs::read_to_string(dir.join("data/auth-secret"))
        .expect("the secret is stored beside the database");
    assert!(secret.trim().len() >= 32);
    let ready = get(addr, "/health/ready").expect("ready");
    assert!(ready.contains("\"database\":\"ok\""), "{ready}");

    let output = terminate(child);
    assert!(output.status.success(), "exit status {:?}", output.status);
    let logs = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        logs.contains("AUTH_SECRET is not set"),
        "a loud warning: {logs}"
    );
    assert!(
        !logs.contains(secret.trim()),
        "the secret never reaches the logs"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_toml_file_is_read_and_the_environment_overrides_it() {
    let dir = temp_dir("toml");
    let from_file = free_port();
    let from_env = free_port();
    std::fs::write(
        dir.join("auth.toml"),
        format!("bind = \"{from_file}\"\nsecret = \"{}\"\ndatabase_url = \"sqlite://toml.db?mode=rwc\"\nlog_format = \"json\"\n", "s".repeat(40)),
    )
    .expect("write toml");
    let mut child = command(&dir)
        .env("AUTH_CONFIG", "auth.toml")
        .env("AUTH_LOG", "info")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_until_ready(from_file, &mut child);
    let output = terminate(child);
    let logs = String::from_utf8_lossy(&output.stdout);
    assert!(
        logs.lines()
            .any(|line| line.starts_with('{') && line.contains("\"level\"")),
        "JSON logs: {logs}"
    );

    let mut child = command(&dir)
        .env("AUTH_CONFIG", "auth.toml")
        .env("AUTH_BIND", from_env.to_string())
        .spawn()
        .expect("spawn");
    wait_until_ready(from_env, &mut child);
    assert!(
        !dir.join("auth-secret").exists(),
        "no secret generated when one is configured"
    );
    terminate(child);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn migrate_and_openapi_subcommands_work_and_bad_configuration_stops_with_a_message() {
    let dir = temp_dir("cli");
    let migrate = command(&dir)
        .args(["migrate"])
        .env("AUTH_DATABASE_URL", "sqlite://migrated.db?mode=rwc")
        .env("AUTH_SECRET", "m".repeat(32))
        .output()
        .expect("migrate");
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert!(dir.join("migrated.db").exists());

    let openapi = command(&dir).arg("openapi").output().expect("openapi");
    assert!(openapi.status.success());
    let document: serde_json::Value =
        serde_json::from_slice(&openapi.stdout).expect("JSON document");
    assert!(document["paths"]["/sign-in/email"].is_object());

    let short = command(&dir)
        .env("AUTH_SECRET", "too-short")
        .output()
        .expect("run");
    assert!(!short.status.success());
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("AUTH_SECRET must be at least 32 bytes")
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_without_the_two_factor_plugin_warns_once_with_the_count_of_two_factor_users() {
    let dir = temp_dir("two-factor");
    let database = auth_store_seaorm::test_db::TestDatabase::sqlite();
    let migrate = command(&dir)
        .args(["migrate"])
        .env("AUTH_DATABASE_URL", &database.url)
        .env("AUTH_SECRET", "m".repeat(32))
        .output()
        .expect("migrate");
    assert!(migrate.status.success());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let created = "'2026-11-25T08:31:47.755Z'";
    let mut rows = String::new();
    for (id, flag) in [("u1", 1), ("u2", 1), ("u3", 0)] {
        rows.push_str(&format!(
            r#"INSERT INTO "user" ("id","name","email","emailVerified","createdAt","updatedAt","twoFactorEnabled") VALUES ('{id}','N','{id}@example.com',0,{created},{created},{flag});"#
        ));
    }
    runtime.block_on(database.execute(&rows));
    let addr = free_port();
    let mut child = command(&dir)
        .env("AUTH_BIND", addr.to_string())
        .env("AUTH_DATABASE_URL", &database.url)
        .env("AUTH_SECRET", "m".repeat(32))
        // The two-factor plugin off: these users cannot sign in here.
        .env("AUTH_PLUGINS", "bearer,jwt")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_until_ready(addr, &mut child);
    let output = terminate(child);
    let logs = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("two-factor authentication on"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning: {logs}");
    assert!(warnings[0].contains("2 user(s)"), "{}", warnings[0]);
    runtime.block_on(database.cleanup());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_audited_event_is_also_one_json_log_line_with_its_event() {
    let dir = temp_dir("audit-log");
    let addr = free_port();
    let mut child = command(&dir)
        .env("AUTH_BIND", addr.to_string())
        .env(
            "AUTH_DATABASE_URL",
            format!("sqlite://{}/audit.db?mode=rwc", dir.display()),
        )
        .env("AUTH_SECRET", "a".repeat(32))
        .env("AUTH_LOG", "warn,auth::audit=info")
        .env("AUTH_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_until_ready(addr, &mut child);
    let mut connection = Connection::open(addr);
    let sign_up = r#"{"name":"Ada","email":"ada@example.com","password":"password-123"}"#;
    assert_eq!(connection.post("/api/auth/sign-up/email", sign_up), 200);
    let wrong = r#"{"email":"ada@example.com","password":"wrong-password"}"#;
    assert_eq!(connection.post("/api/auth/sign-in/email", wrong), 401);
    let output = terminate(child);
    let logs = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let events: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["target"] == "auth::audit")
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|line| line["fields"]["event"].as_str())
        .collect();
    assert_eq!(kinds, ["sign_up", "sign_in_failed"], "{logs}");
    assert_eq!(
        kinds.len(),
        events.len(),
        "every audit line has its event: {logs}"
    );
    assert!(
        events[0]["fields"]["user_id"].is_string(),
        "the user is named: {}",
        events[0]
    );
    assert!(!logs.contains("password-123"), "no secret in the logs");
    let _ = std::fs::remove_dir_all(dir);
}

/// The resident memory of a process, in bytes.
fn resident_bytes(pid: u32) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("resident pages");
    pages * 4096
}

/// One keep-alive HTTP/1.1 connection that sends a request and reads its whole answer.
struct Connection {
    stream: TcpStream,
}

impl Connection {
    fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Self { stream }
    }

    /// Sends `POST path` with a JSON body; returns the status code.
    fn post(&mut self, path: &str, body: &str) -> u16 {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream.write_all(request.as_bytes()).expect("write");
        let mut head = Vec::new();
        let mut byte = [0_u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            self.stream.read_exact(&mut byte).expect("read head");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0);
        let mut rest = vec![0_u8; length];
        self.stream.read_exact(&mut rest).expect("read body");
        head.get(9..12)
            .and_then(|code| code.parse().ok())
            .expect("status")
    }
}

#[test]
fn a_flood_of_junk_paths_does_not_grow_the_server_and_real_limits_still_hold() {
    let dir = temp_dir("flood");
    let addr = free_port();
    let mut child = command(&dir)
        .env("AUTH_BIND", addr.to_string())
        .env("AUTH_DATABASE_URL", "sqlite://flood.db?mode=rwc")
        .env("AUTH_SECRET", "f".repeat(32))
        .spawn()
        .expect("spawn");
    wait_until_ready(addr, &mut child);
    let padding = "x".repeat(4000);
    let body = r#"{"email":"flood@example.com","password":"x"}"#;
    let mut connection = Connection::open(addr);
    let mut flood = |salt: &str, count: usize| {
        for n in 0..count {
            let status = connection.post(&format!("/api/auth/sign-in/{salt}{n}{padding}"), body);
            assert!(status == 404 || status == 429, "{status}");
        }
    };
    flood("warm", 1_000);
    let before = resident_bytes(child.id());
    flood("flood", 20_000);
    let grown = resident_bytes(child.id()).saturating_sub(before);
    assert!(
        grown < 10 * 1024 * 1024,
        "20,000 junk paths grew the server by {grown} bytes"
    );
    // The flood shared one `other` bucket; the sign-in route's own limit is intact.
    let mut fresh = Connection::open(addr);
    for n in 0..5 {
        let status = fresh.post(
            "/api/auth/sign-in/email",
            &format!(r#"{{"email":"r{n}@example.com","password":"wrong-password"}}"#),
        );
        assert_eq!(status, 401, "attempt {n}");
    }
    let status = fresh.post(
        "/api/auth/sign-in/email",
        r#"{"email":"r9@example.com","password":"wrong-password"}"#,
    );
    assert_eq!(status, 429);
    terminate(child);
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs a program to its end; `false` when it is missing or fails.
fn run_ok(program: &str, args: &[&str], dir: &Path) -> bool {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A CA and a server certificate for `localhost` / 127.0.0.1, made with the `openssl` tool.
fn make_certificates(dir: &Path) -> bool {
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("ext");
    let steps: [&[&str]; 4] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=test-ca",
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
        &["x509", "-in", "server.pem", "-noout"],
    ];
    steps.iter().all(|args| run_ok("openssl", args, dir))
}

/// Skips (or fails under CI) when a tool a test needs is missing.
fn tool_missing(what: &str) -> bool {
    let required = std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"));
    assert!(!required, "{what} is required in CI");
    eprintln!("skipped: {what}");
    true
}

#[test]
fn rediss_with_an_acl_user_is_used_and_its_password_never_printed() {
    if !cfg!(feature = "redis-tls") {
        eprintln!("skipped: built without the redis-tls feature");
        return;
    }
    let dir = temp_dir("rediss");
    if !make_certificates(&dir) && tool_missing("openssl") {
        return;
    }
    let tls_port = free_port().port();
    let password = "s3cret-acl-pass";
    // The default user off: only the ACL user `authapp` gets in.
    std::fs::write(
        dir.join("redis.conf"),
        format!(
            "port 0\nbind 127.0.0.1\ntls-port {tls_port}\ntls-cert-file server.pem\ntls-key-file server.key\ntls-ca-cert-file ca.pem\ntls-auth-clients no\nsave \"\"\nappendonly no\nuser default off\nuser authapp on >{password} ~* &* +@all\n"
        ),
    )
    .expect("redis.conf");
    let redis = Command::new("redis-server")
        .current_dir(&dir)
        .arg("redis.conf")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut redis) = redis else {
        tool_missing("redis-server");
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
        assert!(Instant::now() < deadline, "the TLS Redis did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let addr = free_port();
    let mut child = command(&dir)
        .env("AUTH_BIND", addr.to_string())
        .env("AUTH_DATABASE_URL", "sqlite://tls.db?mode=rwc")
        .env("AUTH_SECRET", "t".repeat(32))
        .env("AUTH_LOG", "info")
        .env(
            "AUTH_REDIS_URL",
            format!("rediss://authapp:{password}@localhost:{tls_port}"),
        )
        .env("SSL_CERT_FILE", dir.join("ca.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_until_ready(addr, &mut child);
    let ready = get(addr, "/health/ready").expect("ready");
    let _ = redis.kill();
    let _ = redis.wait();
    let output = terminate(child);
    let logs = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(ready.contains(r#""redis":"ok""#), "{ready}\n{logs}");
    assert!(
        !logs.contains(password),
        "the password reached the logs: {logs}"
    );
    assert!(logs.contains("rediss://authapp:***@localhost"), "{logs}");
    let _ = std::fs::remove_dir_all(dir);
}

fn post(addr: SocketAddr, path: &str, body: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn without_smtp_the_reset_link_is_in_the_log_and_sets_a_new_password() {
    let dir = temp_dir("outbox");
    let start = |addr: SocketAddr| {
        command(&dir)
            .env("AUTH_BIND", addr.to_string())
            .env("AUTH_LOG", "info")
            .env("AUTH_DATABASE_URL", "sqlite://auth.db?mode=rwc")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let addr = free_port();
    let mut child = start(addr);
    wait_until_ready(addr, &mut child);
    let up = post(
        addr,
        "/api/auth/sign-up/email",
        r#"{"name":"New","email":"newcomer@example.com","password":"first-password-1"}"#,
    )
    .expect("sign-up");
    assert!(up.starts_with("HTTP/1.1 200"), "{up}");
    let asked = post(
        addr,
        "/api/auth/request-password-reset",
        r#"{"email":"newcomer@example.com"}"#,
    )
    .expect("reset asked");
    assert!(asked.starts_with("HTTP/1.1 200"), "{asked}");
    let output = terminate(child);
    let logs = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        logs.contains("no AUTH_SMTP_URL"),
        "the outbox is announced: {logs}"
    );
    let marker = "/api/auth/reset-password/";
    let at = logs.find(marker).expect("the link is in the log");
    let token: String = logs[at + marker.len()..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    assert_eq!(token.len(), 24, "{logs}");

    // The link still works after a restart: the token is in the database.
    let addr = free_port();
    let mut child = start(addr);
    wait_until_ready(addr, &mut child);
    let reset = post(
        addr,
        "/api/auth/reset-password",
        &format!(r#"{{"token":"{token}","newPassword":"second-password-2"}}"#),
    )
    .expect("reset");
    assert!(reset.starts_with("HTTP/1.1 200"), "{reset}");
    let signed_in = post(
        addr,
        "/api/auth/sign-in/email",
        r#"{"email":"newcomer@example.com","password":"second-password-2"}"#,
    )
    .expect("sign-in");
    assert!(signed_in.starts_with("HTTP/1.1 200"), "{signed_in}");
    terminate(child);
    let _ = std::fs::remove_dir_all(dir);
}

/// One HTTP/1.1 request with `Connection: close`; the whole response.
fn request(addr: SocketAddr, head: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(
        stream,
        "{head}\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn api_keys_create_makes_a_server_side_key_that_authenticates() {
    let dir = temp_dir("api-keys");
    let addr = free_port();
    let environment = [
        ("AUTH_BIND", addr.to_string()),
        (
            "AUTH_DATABASE_URL",
            "sqlite://data/auth.db?mode=rwc".to_owned(),
        ),
        ("AUTH_SECRET", "s".repeat(40)),
        ("AUTH_API_KEY_SESSIONS", "true".to_owned()),
    ];
    let mut child = command(&dir)
        .envs(environment.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_until_ready(addr, &mut child);
    let signed_up = request(
        addr,
        "POST /api/auth/sign-up/email HTTP/1.1",
        r#"{"name":"Ops","email":"ops@example.com","password":"password-123"}"#,
    );
    assert!(signed_up.starts_with("HTTP/1.1 200"), "{signed_up}");
    let created = command(&dir)
        .envs(environment.iter().map(|(k, v)| (*k, v.as_str())))
        .args([
            "api-keys",
            "create",
            "--email",
            "ops@example.com",
            "--name",
            "batch",
            "--remaining",
            "5",
            "--no-rate-limit",
            "--permission",
            "files:read,write",
        ])
        .output()
        .expect("api-keys create");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let key: serde_json::Value = serde_json::from_slice(&created.stdout).expect("json");
    assert_eq!(key["name"], "batch");
    assert_eq!(key["remaining"], 5);
    assert_eq!(key["rateLimitEnabled"], false);
    assert_eq!(
        key["permissions"],
        serde_json::json!({"files": ["read", "write"]})
    );
    let plaintext = key["key"].as_str().expect("the key, once");
    let session = request(
        addr,
        &format!("GET /api/auth/get-session HTTP/1.1\r\nx-api-key: {plaintext}"),
        "",
    );
    assert!(session.starts_with("HTTP/1.1 200"), "{session}");
    assert!(session.contains("ops@example.com"), "{session}");
    let unknown = command(&dir)
        .envs(environment.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["api-keys", "create", "--email", "nobody@example.com"])
        .output()
        .expect("api-keys create");
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no user has the email"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let bad = command(&dir)
        .envs(environment.iter().map(|(k, v)| (*k, v.as_str())))
        .args([
            "api-keys",
            "create",
            "--email",
            "ops@example.com",
            "--permission",
            "no-colon",
        ])
        .output()
        .expect("api-keys create");
    assert!(!bad.status.success());
    let output = terminate(child);
    assert!(output.status.success());
    let _ = std::fs::remove_dir_all(dir);
}
