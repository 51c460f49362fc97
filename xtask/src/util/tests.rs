//! Tests for the URL parsing used by the service probes, and the CPU clock of `xtask load`.

use super::{own_cpu_time, url_host_port};

fn check(url: &str, expected: Option<&str>) {
    assert_eq!(url_host_port(url, 5432).as_deref(), expected, "{url}");
}

#[test]
fn host_and_port_are_taken_from_urls() {
    check(
        "postgres://postgres@127.0.0.1:5432/postgres",
        Some("127.0.0.1:5432"),
    );
    check(
        "postgres://u:p@db.local/x?sslmode=disable",
        Some("db.local:5432"),
    );
    check("redis://127.0.0.1:6379", Some("127.0.0.1:6379"));
    check("postgres://[::1]:6000/db", Some("[::1]:6000"));
    check("postgres://[::1]/db", Some("[::1]:5432"));
    check("postgres:///db", None);
}

#[test]
fn the_process_cpu_time_grows_while_it_computes() {
    let start = own_cpu_time();
    let mut spun: u64 = 0;
    // At most a few seconds of work: the clock ticks every 10 ms.
    for round in 0..2_000_000_000_u64 {
        spun = spun.wrapping_add(std::hint::black_box(round));
        if round % 1_000_000 == 0 && own_cpu_time() > start {
            break;
        }
    }
    std::hint::black_box(spun);
    assert!(own_cpu_time() > start, "the CPU time moved");
}
