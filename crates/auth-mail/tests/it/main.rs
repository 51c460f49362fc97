//! auth-mail adapter tests: SMTP against a small SMTP server on loopback (real sockets), and the
//! development outbox.
//! Must not depend on: mocks of any kind; these tests talk to real sockets.
#![allow(clippy::expect_used, reason = "test binary: broken fixtures panic")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_domain::Email;
use auth_mail::{OutboxConfig, OutboxMailer, SmtpConfig, SmtpMailer};
use auth_ports::{Mail, Mailer, PortError};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the test SMTP server received: each message's raw DATA, and the AUTH lines.
#[derive(Default)]
struct Received {
    messages: Vec<String>,
    auth: Vec<String>,
}

/// A minimal SMTP server (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) on a loopback port, each
/// reply delayed by `delay`.
async fn smtp_server(delay: Duration) -> (u16, Arc<Mutex<Received>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let received = Arc::new(Mutex::new(Received::default()));
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let reply = async |write: &mut tokio::net::tcp::OwnedWriteHalf, text: &str| {
                    tokio::time::sleep(delay).await;
                    let _ = write.write_all(text.as_bytes()).await;
                };
                reply(&mut write, "220 test ESMTP\r\n").await;
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line
                        .split(' ')
                        .next()
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    match verb.as_str() {
                        "EHLO" | "HELO" => {
                            reply(&mut write, "250-test\r\n250 AUTH PLAIN LOGIN\r\n").await;
                        }
                        "AUTH" => {
                            store.lock().expect("lock").auth.push(line.clone());
                            reply(&mut write, "235 ok\r\n").await;
                        }
                        "DATA" => {
                            reply(&mut write, "354 go on\r\n").await;
                            let mut data = String::new();
                            while let Ok(Some(line)) = lines.next_line().await {
                                if line == "." {
                                    break;
                                }
                                data.push_str(&line);
                                data.push('\n');
                            }
                            store.lock().expect("lock").messages.push(data);
                            reply(&mut write, "250 queued\r\n").await;
                        }
                        "QUIT" => {
                            reply(&mut write, "221 bye\r\n").await;
                            return;
                        }
                        _ => reply(&mut write, "250 ok\r\n").await,
                    }
                }
            });
        }
    });
    (port, received)
}

const LINK: &str = "http://localhost:3000/api/auth/reset-password/AbCdEfGhIjKlMnOpQrStUvWx?callbackURL=%2Freset%3Fstep%3D2";

fn mail(to: &str) -> Mail {
    Mail {
        to: Email::parse(to).expect("email"),
        subject: "Reset your password".to_owned(),
        text: format!("Reset it here: {LINK}\n"),
        html: format!("<p><a href=\"{LINK}\">Reset it</a></p>"),
    }
}

fn config(url: String, timeout: Duration, queue: usize) -> SmtpConfig {
    SmtpConfig {
        url,
        from: "Auth <auth@example.com>".to_owned(),
        timeout,
        queue,
    }
}

/// The quoted-printable bodies decoded as a mail client decodes them (soft line breaks
/// joined, `=XX` bytes restored).
fn quoted_printable(data: &str) -> String {
    let joined = data.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[index], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                index += 3;
            }
            (byte, _) => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn wait_for(received: &Arc<Mutex<Received>>, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.lock().expect("lock").messages.len() < count {
        assert!(Instant::now() < deadline, "the message did not arrive");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_message_arrives_over_smtp_with_its_link_intact_and_the_credentials_of_the_url() {
    let (port, received) = smtp_server(Duration::ZERO).await;
    let url = format!("smtp://mailer:s3cret@127.0.0.1:{port}");
    let mailer = SmtpMailer::start(&config(url, Duration::from_secs(5), 8)).expect("mailer");
    mailer.send(mail("ada@example.com")).await.expect("queued");
    wait_for(&received, 1).await;
    let received = received.lock().expect("lock");
    let data = &received.messages[0];
    let decoded = quoted_printable(data);
    assert!(decoded.contains(LINK), "the link arrives whole:\n{decoded}");
    assert!(decoded.contains(&format!("href=\"{LINK}\"")), "{decoded}");
    assert!(data.contains("To: ada@example.com"), "{data}");
    assert!(data.contains("Subject: Reset your password"), "{data}");
    assert!(data.contains("text/html"), "an HTML part too");
    assert_eq!(
        received.auth,
        ["AUTH PLAIN AG1haWxlcgBzM2NyZXQ="],
        "authenticated once, as mailer / s3cret from the URL"
    );
}

#[tokio::test]
async fn send_returns_before_a_slow_server_answers_and_a_full_queue_refuses() {
    // Every reply takes 300 ms: one delivery takes seconds.
    let (port, received) = smtp_server(Duration::from_millis(300)).await;
    let url = format!("smtp://127.0.0.1:{port}");
    let mailer = SmtpMailer::start(&config(url, Duration::from_secs(5), 1)).expect("mailer");
    let started = Instant::now();
    mailer.send(mail("one@example.com")).await.expect("queued");
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "send does not wait for the server"
    );
    // The first is being delivered; one more fits the queue; the next does not.
    tokio::time::sleep(Duration::from_millis(50)).await;
    mailer.send(mail("two@example.com")).await.expect("queued");
    let full = mailer.send(mail("three@example.com")).await;
    assert!(matches!(full, Err(PortError::Unavailable(_))), "{full:?}");
    wait_for(&received, 2).await;
}

#[tokio::test]
async fn a_server_that_is_down_costs_the_caller_nothing() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let url = format!("smtp://127.0.0.1:{port}");
    let mailer = SmtpMailer::start(&config(url, Duration::from_millis(500), 4)).expect("mailer");
    mailer
        .send(mail("nobody@example.com"))
        .await
        .expect("queued anyway");
    // The failure is the delivery task's: logged and counted, never the caller's.
}

#[tokio::test]
async fn malformed_settings_are_refused_at_start() {
    let bad_url = config("ftp://nowhere".to_owned(), Duration::from_secs(1), 1);
    assert!(matches!(
        SmtpMailer::start(&bad_url),
        Err(PortError::Internal(_))
    ));
    let mut bad_from = config("smtp://127.0.0.1:25".to_owned(), Duration::from_secs(1), 1);
    bad_from.from = "not an address".to_owned();
    assert!(matches!(
        SmtpMailer::start(&bad_from),
        Err(PortError::Internal(_))
    ));
    let secret = config(
        "smtps://u:p4ss@host:465".to_owned(),
        Duration::from_secs(1),
        1,
    );
    assert!(!format!("{secret:?}").contains("p4ss"));
}

#[tokio::test]
async fn the_outbox_keeps_the_last_messages_and_writes_them_to_its_file() {
    let dir = std::env::temp_dir().join(format!("auth-outbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("outbox.jsonl");
    let outbox = OutboxMailer::new(OutboxConfig {
        keep: 2,
        file: Some(file.clone()),
    });
    for to in ["a@example.com", "b@example.com", "c@example.com"] {
        outbox.send(mail(to)).await.expect("kept");
    }
    let kept: Vec<String> = outbox
        .messages()
        .iter()
        .map(|m| m.to.as_str().to_owned())
        .collect();
    assert_eq!(kept, ["b@example.com", "c@example.com"]);
    let written = std::fs::read_to_string(&file).expect("file");
    let lines: Vec<serde_json::Value> = written
        .lines()
        .map(|line| serde_json::from_str(line).expect("json"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["to"], "c@example.com");
    assert!(lines[1]["text"].as_str().expect("text").contains(LINK));
    let _ = std::fs::remove_dir_all(&dir);
}
