//! Tests for the bench's option parsing and cookie handling.

use std::time::Duration;

use super::{Options, Row, cookie_header, table};
use crate::load::{Pace, Scenario, Stats};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn options_have_defaults_and_accept_both_spellings() {
    assert_eq!(Options::parse(&[]).unwrap(), Options::default());
    let options = Options::parse(&args(&[
        "--connections",
        "8",
        "--duration=3",
        "--warmup",
        "0",
    ]))
    .unwrap();
    assert_eq!(options.connections, 8);
    assert_eq!(options.duration, Duration::from_secs(3));
    assert_eq!(options.warmup, Duration::ZERO);
    assert_eq!(options.ws_connections, 10_000);
    let skipped = Options::parse(&args(&["--ws-connections", "0"])).unwrap();
    assert_eq!(skipped.ws_connections, 0, "0 skips the WebSockets");
}

#[test]
fn bad_options_are_rejected() {
    assert!(Options::parse(&args(&["--connections"])).is_err());
    assert!(Options::parse(&args(&["--connections", "0"])).is_err());
    assert!(Options::parse(&args(&["--duration", "ten"])).is_err());
    assert!(Options::parse(&args(&["--threads", "2"])).is_err());
}

#[test]
fn the_cookie_header_keeps_name_value_pairs() {
    let set_cookies = [
        "better-auth.session_token=abc.def; Path=/; HttpOnly; SameSite=Lax",
        "better-auth.session_data=xyz; Max-Age=300",
    ];
    assert_eq!(
        cookie_header(set_cookies.into_iter()),
        "better-auth.session_token=abc.def; better-auth.session_data=xyz"
    );
}

#[test]
fn tables_set_throughput_at_saturation_and_p95_at_a_fixed_load_against_ok() {
    let ok = Scenario::get("ok", "/ok");
    let slow = Scenario::get("slow", "/slow");
    let stats = |ok: u64, latency_us: u64| Stats {
        ok,
        errors: 0,
        elapsed: Duration::from_secs(1),
        latencies_us: vec![latency_us; 100],
    };
    let rows = [
        Row {
            scenario: &ok,
            stats: stats(1000, 400),
        },
        Row {
            scenario: &slow,
            stats: stats(500, 1000),
        },
    ];
    let saturated = table(&rows, Pace::Saturate);
    assert!(
        saturated.starts_with("| Scenario | Requests/s |"),
        "{saturated}"
    );
    assert!(
        saturated.contains("| slow | 500 | 1.00 | 1.00 | 1.00 | 0 | 0.50 | 2.50 |"),
        "{saturated}"
    );
    let fixed = table(&rows, Pace::Rate(500.0));
    assert!(fixed.contains("| p95 vs `ok` |"), "{fixed}");
    assert!(
        fixed.contains("| slow | 500 | 1.00 | 1.00 | 1.00 | 0 | 2.50 | 2.50 |"),
        "{fixed}"
    );
}
