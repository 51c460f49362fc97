//! Tests for the load generator against a tiny in-process HTTP responder.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use super::{Connection, Pace, Scenario, Schedule, Stats, parse_response, run, run_paced};

/// Starts a keep-alive responder on a free port. It answers every request
/// with `status` and a small body; chunked when `chunked` is set.
fn responder(status: &'static str, chunked: bool) -> SocketAddr {
    responder_taking(status, chunked, Duration::ZERO)
}

/// [`responder`], taking `delay` over each answer.
fn responder_taking(status: &'static str, chunked: bool, delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || serve(stream, status, chunked, delay));
        }
    });
    addr
}

fn serve(stream: TcpStream, status: &str, chunked: bool, delay: Duration) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut content_length = 0usize;
        let mut line = String::new();
        // Request line and headers, up to the blank line.
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                content_length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body).unwrap();
        std::thread::sleep(delay);
        let response = if chunked {
            format!(
                "HTTP/1.1 {status}\r\nSet-Cookie: a=1; Path=/\r\nset-cookie: b=2; HttpOnly\r\n\
                 Transfer-Encoding: chunked\r\n\r\n3\r\n{{\"o\r\n{:x}\r\nk{}}}\r\n0\r\n\r\n",
                body.len() + 2,
                String::from_utf8_lossy(&body)
            )
        } else {
            format!("HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
        };
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn load_against_a_healthy_server_counts_requests_and_no_errors() {
    let addr = responder("200 OK", false);
    let stats = run(
        addr,
        &Scenario::get("ok", "/ok"),
        2,
        Duration::from_millis(300),
    );
    assert!(stats.ok > 0, "{stats:?}");
    assert_eq!(stats.errors, 0);
    assert_eq!(stats.latencies_us.len() as u64, stats.ok);
    assert!(stats.requests_per_sec() > 0.0);
    assert!(stats.percentile_us(50.0) <= stats.percentile_us(99.0));
}

#[test]
fn an_open_loop_sends_no_more_requests_than_have_fallen_due() {
    let addr = responder("200 OK", false);
    let rate = 500.0;
    let duration = Duration::from_millis(400);
    let stats = run_paced(
        addr,
        &Scenario::get("ok", "/ok"),
        4,
        duration,
        Pace::Rate(rate),
    );
    assert_eq!(stats.errors, 0, "{stats:?}");
    // Request k is due k / rate seconds after the start: at most 201 fall due in 0.4 s, where
    // a closed loop on four connections would send thousands.
    let due = (rate * duration.as_secs_f64()) as u64 + 1;
    assert!(stats.ok > 0 && stats.ok <= due, "{} of {due} due", stats.ok);
}

#[test]
fn what_falls_due_is_released_once_whoever_releases_it() {
    // A request every 10 ms: by 35 ms after the start, requests 0 to 3 are due.
    let start = std::time::Instant::now();
    let schedule = Schedule::new(100.0, start);
    let at = |ms| start + Duration::from_millis(ms);
    assert_eq!(schedule.release_due(at(35)), 4);
    // The pacer's tick and a connection coming free at the same moment release nothing more,
    // and an earlier clock reading (a release racing a later one) takes nothing back.
    assert_eq!(schedule.release_due(at(35)), 0);
    assert_eq!(schedule.release_due(at(12)), 0);
    assert_eq!(schedule.permits.available_permits(), 4);
    assert_eq!(schedule.release_due(at(51)), 2);
    assert_eq!(schedule.permits.available_permits(), 6);
}

#[test]
fn an_open_loop_charges_the_wait_for_a_busy_connection_to_the_request() {
    // One connection to a server taking 20 ms per answer, with a request due every 5 ms: the
    // requests fall further and further behind their schedule.
    let delay = Duration::from_millis(20);
    let addr = responder_taking("200 OK", false, delay);
    let stats = run_paced(
        addr,
        &Scenario::get("ok", "/ok"),
        1,
        Duration::from_millis(300),
        Pace::Rate(200.0),
    );
    assert!(stats.ok >= 3, "{stats:?}");
    let slowest = stats.percentile_us(100.0);
    // A closed loop would see about 20 ms for each; counted from when each was due, the later
    // ones have waited for the earlier ones too.
    assert!(slowest >= 3 * 20_000, "slowest {slowest} µs");
    let closed = run(
        addr,
        &Scenario::get("ok", "/ok"),
        1,
        Duration::from_millis(150),
    );
    assert!(closed.percentile_us(100.0) < slowest, "{closed:?}");
}

#[test]
fn non_200_responses_are_errors() {
    let addr = responder("401 Unauthorized", false);
    let stats = run(
        addr,
        &Scenario::get("denied", "/x"),
        1,
        Duration::from_millis(100),
    );
    assert_eq!(stats.ok, 0);
    assert!(stats.errors > 0, "{stats:?}");
}

#[test]
fn a_post_with_headers_and_a_chunked_answer_round_trips() {
    let addr = responder("200 OK", true);
    let mut scenario =
        Scenario::get("sign-up", "/sign-up").header("Content-Type", "application/json");
    scenario.method = "POST".to_string();
    scenario.body = Some("\"x\"".to_string());
    let mut connection = Connection::connect(addr).unwrap();
    for _ in 0..2 {
        let response = connection.send(&scenario.encode(addr)).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(
            String::from_utf8(response.body.clone()).unwrap(),
            "{\"ok\"x\"}"
        );
        let cookies: Vec<&str> = response.header_values("Set-Cookie").collect();
        assert_eq!(cookies, ["a=1; Path=/", "b=2; HttpOnly"]);
    }
}

#[test]
fn responses_are_parsed_only_once_complete() {
    let whole: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\nHTTP/1.1";
    let complete = whole.len() - "HTTP/1.1".len();
    for cut in 0..complete {
        assert!(
            parse_response(&whole[..cut], false).unwrap().is_none(),
            "parsed from {cut} bytes"
        );
    }
    let (response, used) = parse_response(whole, false).unwrap().unwrap();
    assert_eq!(used, complete, "the next response's bytes are left");
    assert_eq!(response.body, b"abc");
    let until_close = b"HTTP/1.1 200 OK\r\n\r\npartial";
    assert!(parse_response(until_close, false).unwrap().is_none());
    let (response, _) = parse_response(until_close, true).unwrap().unwrap();
    assert_eq!(response.body, b"partial");
    assert!(parse_response(b"HTTP/1.1 abc\r\n\r\n", false).is_err());
}

#[test]
fn percentiles_use_the_nearest_rank() {
    let stats = Stats {
        latencies_us: (1..=100).collect(),
        ..Stats::default()
    };
    assert_eq!(stats.percentile_us(50.0), 50);
    assert_eq!(stats.percentile_us(99.0), 99);
    assert_eq!(stats.percentile_us(100.0), 100);
    assert_eq!(Stats::default().percentile_us(99.0), 0);
}
