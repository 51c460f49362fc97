//! The connection layer over raw sockets: timeouts for heads, bodies and idle keep-alive
//! connections, the connection cap, chunked bodies, smuggling, and a 413 a client can read.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_with};

/// A server whose connection timeouts are short enough to watch.
async fn impatient_app() -> Option<TestApp> {
    spawn_app_with(Backend::Sqlite, |config| {
        config.http_header_timeout_ms = 400;
        config.http_body_timeout_ms = 400;
        config.http_idle_timeout_ms = 400;
    })
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect")
}

/// Reads until the server closes the connection; `None` if it is still open after `wait`.
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut buffer = Vec::new();
    match tokio::time::timeout(wait, stream.read_to_end(&mut buffer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&buffer).into_owned()),
        Err(_) => None,
    }
}

/// Reads one response (head and `Content-Length` body) from a connection that stays open.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut data = Vec::new();
    let mut byte = [0_u8; 1];
    while !data.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.expect("read head");
        data.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&data).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0_u8; length];
    stream.read_exact(&mut body).await.expect("read body");
    data.extend_from_slice(&body);
    String::from_utf8_lossy(&data).into_owned()
}

#[tokio::test]
async fn half_a_request_head_is_cut_off_after_the_header_timeout() {
    let Some(app) = impatient_app().await else {
        return;
    };
    let mut sockets = Vec::new();
    for _ in 0..20 {
        let mut stream = connect(&app).await;
        stream
            .write_all(b"GET /api/auth/ok HTTP/1.1\r\nHost: loc")
            .await
            .expect("write");
        sockets.push(stream);
    }
    let started = Instant::now();
    for stream in &mut sockets {
        // A trickle of header bytes does not keep the head alive.
        let _ = stream.write_all(b"a").await;
    }
    for mut stream in sockets {
        assert!(
            read_until_closed(&mut stream, Duration::from_secs(5))
                .await
                .is_some(),
            "the server closes a connection whose head never ends"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    app.stop().await;
}

#[tokio::test]
async fn a_keep_alive_connection_that_goes_silent_is_closed_after_the_idle_timeout() {
    let Some(app) = impatient_app().await else {
        return;
    };
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /api/auth/ok HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let first = read_response(&mut stream).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // The connection stays usable while the client keeps talking...
    tokio::time::sleep(Duration::from_millis(150)).await;
    stream
        .write_all(b"GET /api/auth/ok HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    // ...and is closed once it is silent for longer than the idle timeout.
    assert_eq!(
        read_until_closed(&mut stream, Duration::from_secs(5)).await,
        Some(String::new())
    );
    // A connection that never says anything is idle from the start.
    let mut silent = connect(&app).await;
    assert!(
        read_until_closed(&mut silent, Duration::from_secs(5))
            .await
            .is_some()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_gets_408_and_changes_nothing() {
    let Some(app) = impatient_app().await else {
        return;
    };
    let mut stream = connect(&app).await;
    let body = r#"{"name":"Slow","email":"slow@example.com","password":"password-123"}"#;
    let head = format!(
        "POST /api/auth/sign-up/email HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
        .write_all(&body.as_bytes()[..10])
        .await
        .expect("some body");
    let response = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("answered and closed");
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(
        response.contains(r#""code":"REQUEST_TIMEOUT""#),
        "{response}"
    );
    let signed_up = app.sign_up("slow@example.com", "password-123").await;
    assert_eq!(signed_up.status(), 200, "nothing was written");
    app.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| {
        config.http_max_connections = 2;
    })
    .await
    else {
        return;
    };
    let first = connect(&app).await;
    let second = connect(&app).await;
    let mut third = connect(&app).await;
    third
        .write_all(b"GET /api/auth/ok HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut early = [0_u8; 1];
    let waited = tokio::time::timeout(Duration::from_millis(500), third.read(&mut early)).await;
    assert!(waited.is_err(), "no answer while two connections are open");
    drop(first);
    let answer = read_until_closed(&mut third, Duration::from_secs(5))
        .await
        .expect("answered once a slot is free");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(second);
    app.stop().await;
}

#[tokio::test]
async fn a_chunked_body_is_accepted_and_the_limit_applies_to_its_decoded_size() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let body = r#"{"name":"Chunky","email":"chunky@example.com","password":"password-123"}"#;
    let (left, right) = body.split_at(20);
    let request = format!(
        "POST /api/auth/sign-up/email HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{left}\r\n{:x}\r\n{right}\r\n0\r\n\r\n",
        left.len(),
        right.len()
    );
    let mut stream = connect(&app).await;
    stream.write_all(request.as_bytes()).await.expect("write");
    let response = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("chunky@example.com"), "{response}");

    // 2 MiB in 64 KiB chunks: past the 1 MiB limit once decoded.
    let chunk = format!("{:x}\r\n{}\r\n", 65_536, "x".repeat(65_536));
    let mut request = String::from(
        "POST /api/auth/sign-up/email HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    );
    for _ in 0..32 {
        request.push_str(&chunk);
    }
    request.push_str("0\r\n\r\n");
    let mut stream = connect(&app).await;
    stream.write_all(request.as_bytes()).await.expect("write");
    let response = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("answered");
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains(r#""code":"PAYLOAD_TOO_LARGE""#));
    app.stop().await;
}

#[tokio::test]
async fn a_smuggled_request_behind_content_length_and_transfer_encoding_is_never_answered() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    // Read as Content-Length the body would end early and leave `GET /api/auth/ok` as a second
    // request; read as chunked (as we do) it is part of the body, and the connection closes.
    let body = r#"{"name":"Smuggle","email":"smuggle@example.com","password":"password-1"}"#;
    let smuggled = "GET /api/auth/ok HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let request = format!(
        "POST /api/auth/sign-up/email HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n{smuggled}",
        body.len()
    );
    let mut stream = connect(&app).await;
    stream.write_all(request.as_bytes()).await.expect("write");
    let response = read_until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("the connection is closed after one answer");
    assert_eq!(
        response.matches("HTTP/1.1 ").count(),
        1,
        "exactly one answer: {response}"
    );
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_writes_a_5_mb_body_before_reading_gets_the_413() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    let body = format!(r#"{{"name":"{}"}}"#, "x".repeat(5 * 1024 * 1024));
    let head = format!(
        "POST /api/auth/sign-up/email HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = connect(&app).await;
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
        .write_all(body.as_bytes())
        .await
        .expect("the whole body is written without a broken pipe");
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains(r#""code":"PAYLOAD_TOO_LARGE""#),
        "{response}"
    );
    // The body was read to its end, so the connection serves the next request.
    stream
        .write_all(b"GET /api/auth/ok HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    app.stop().await;
}

#[tokio::test]
async fn requests_that_wait_too_long_for_a_hashing_slot_get_503_with_retry_after() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| {
        config.hash_concurrency = 1;
        config.hash_queue_timeout_ms = 1;
    })
    .await
    else {
        return;
    };
    let sign_ups: Vec<_> = (0..8)
        .map(|n| {
            let body = serde_json::json!({
                "name": "Queued",
                "email": format!("queued{n}@example.com"),
                "password": "password-123",
            });
            tokio::spawn(
                crate::helpers::client(false)
                    .post(app.url("/sign-up/email"))
                    .json(&body)
                    .send(),
            )
        })
        .collect();
    let mut refused = Vec::new();
    for (n, response) in sign_ups.into_iter().enumerate() {
        let response = response.await.expect("join").expect("request");
        match response.status().as_u16() {
            200 => {}
            503 => {
                assert_eq!(
                    response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok()),
                    Some("2")
                );
                crate::helpers::expect_error(response, 503, Some("SERVICE_UNAVAILABLE")).await;
                refused.push(n);
            }
            other => panic!("sign-up {n}: unexpected {other}"),
        }
    }
    assert!(
        !refused.is_empty(),
        "one slot and eight hashes: some wait too long"
    );
    // A refused sign-up wrote nothing: the address is still free.
    let n = refused[0];
    let again = crate::helpers::client(false)
        .post(app.url("/sign-up/email"))
        .json(&serde_json::json!({"name": "Queued", "email": format!("queued{n}@example.com"), "password": "password-123"}))
        .send()
        .await
        .expect("request");
    assert_eq!(again.status(), 200);
    app.stop().await;
}
