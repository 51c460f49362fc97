//! Tests for the URL parsing used by the service probes.

use super::url_host_port;

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
