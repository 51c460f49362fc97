//! Tests for the bench's option parsing and cookie handling.

use std::time::Duration;

use super::{Options, Paced, Row, cookie_header, handled, paced_markdown, table};
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
    assert_eq!(options.rounds, 3);
    assert_eq!(options.ws_connections, 10_000);
    assert_eq!(Options::parse(&args(&["--rounds=5"])).unwrap().rounds, 5);
    let skipped = Options::parse(&args(&["--ws-connections", "0"])).unwrap();
    assert_eq!(skipped.ws_connections, 0, "0 skips the WebSockets");
}

#[test]
fn bad_options_are_rejected() {
    assert!(Options::parse(&args(&["--connections"])).is_err());
    assert!(Options::parse(&args(&["--connections", "0"])).is_err());
    assert!(Options::parse(&args(&["--duration", "ten"])).is_err());
    assert!(Options::parse(&args(&["--rounds", "0"])).is_err());
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

#[test]
fn a_fixed_load_row_is_reported_by_its_median_round_with_every_rounds_p95() {
    let ok = Scenario::get("ok", "/ok");
    let key = Scenario::get("key", "/key");
    let round = |scenario, latency_us: u64| Row {
        scenario,
        stats: Stats {
            ok: 100,
            errors: 0,
            elapsed: Duration::from_secs(1),
            latencies_us: vec![latency_us; 100],
        },
    };
    assert!(Paced::of(Vec::new()).is_none());
    let rows = [
        Paced::of(vec![round(&ok, 400), round(&ok, 300), round(&ok, 5000)]).unwrap(),
        Paced::of(vec![round(&key, 9000), round(&key, 600), round(&key, 800)])
            .unwrap()
            .handled(vec![None; 3]),
    ];
    assert_eq!(rows[0].median.stats.percentile_us(95.0), 400);
    assert_eq!(rows[1].median.stats.percentile_us(95.0), 800);
    assert_eq!(rows[1].p95_us, [9000, 600, 800], "in the order measured");
    let two = Paced::of(vec![round(&key, 900), round(&key, 700)]).unwrap();
    assert_eq!(
        two.median.stats.percentile_us(95.0),
        700,
        "an even count gives the lower median, a round's own figure"
    );
    let mut failed = round(&key, 0);
    failed.stats.ok = 0;
    failed.stats.errors = 100;
    failed.stats.latencies_us.clear();
    let with_a_failure = Paced::of(vec![round(&key, 900), failed, round(&key, 700)]).unwrap();
    assert_eq!(
        with_a_failure.median.stats.percentile_us(95.0),
        900,
        "a round where nothing completed sorts last, not first"
    );
    let options = Options::default();
    let out = paced_markdown(&rows, &[50.0, 48.0, 51.4], &options);
    assert!(
        out.contains("| key | 100 | 0.80 | 0.80 | 0.80 | 0 | 2.00 | 2.00 |"),
        "{out}"
    );
    assert!(
        out.contains("| key | 9.00, 0.60, 0.80 | ?, ?, ? |"),
        "{out}"
    );
    assert!(
        out.contains("each round: 50, 48, 51 requests/s, round by round,"),
        "each round's own load, in order: {out}"
    );
    let by_server = handled::Histogram::parse(
        "auth_http_request_duration_seconds_bucket{route=\"/key\",le=\"0.0005\"} 99\n\
         auth_http_request_duration_seconds_bucket{route=\"/key\",le=\"+Inf\"} 100\n",
    )
    .since(&handled::Histogram::default());
    let with_server = Paced::of(vec![round(&key, 700)])
        .unwrap()
        .handled(vec![by_server]);
    let out = paced_markdown(&[with_server], &[50.0], &options);
    assert!(out.contains("| key | 0.70 | ≤ 0.5 |"), "{out}");
    assert!(out.contains(": 50 requests/s, round by round,"), "{out}");
}
