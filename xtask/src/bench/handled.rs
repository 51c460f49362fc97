//! The server's own view of a row's requests: the request-duration histogram it exports
//! (`auth_http_request_duration_seconds` on `/metrics`), read before and after the row. It
//! times a request from when the server's application has it to when its answer is built, so
//! set beside the latency the generator saw, it tells the time the server spent on the request
//! from the time the request waited in the machine's queues (for a CPU, for the generator).
//!
//! Depends on: `std`, `crate::load`.
//!
//! Must not depend on: any workspace crate (it reads the server over HTTP only).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::load::{Connection, Scenario};

const BUCKET: &str = "auth_http_request_duration_seconds_bucket{";

/// The histogram's cumulative bucket counts, by route label and upper bound.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Histogram(BTreeMap<(String, String), f64>);

/// What the server measured of one row: its requests by upper bound of duration.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Handled {
    /// The route the row's requests went to.
    pub(super) route: String,
    /// `(upper bound in seconds, requests at most that long)`, by bound, `+Inf` left out.
    buckets: Vec<(f64, f64)>,
    total: f64,
}

impl Histogram {
    /// The server's histogram now; empty when it has none to give (no `/metrics`).
    pub(super) fn read(addr: SocketAddr) -> Self {
        let request = Scenario::get("metrics", "/metrics").encode(addr);
        Connection::connect(addr)
            .and_then(|mut connection| connection.send(&request))
            .ok()
            .filter(|response| response.status == 200)
            .map(|response| Self::parse(&String::from_utf8_lossy(&response.body)))
            .unwrap_or_default()
    }

    /// The bucket lines of the Prometheus text format.
    pub(super) fn parse(text: &str) -> Self {
        let mut counts = BTreeMap::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(BUCKET) else {
                continue;
            };
            let Some((labels, value)) = rest.rsplit_once("} ") else {
                continue;
            };
            let (Some(route), Some(le), Ok(value)) = (
                label(labels, "route"),
                label(labels, "le"),
                value.trim().parse::<f64>(),
            ) else {
                continue;
            };
            counts.insert((route.to_owned(), le.to_owned()), value);
        }
        Self(counts)
    }

    /// The requests counted since `before`, on the route that took the most of them (the one
    /// the row sent its requests to); `None` when nothing was counted.
    pub(super) fn since(&self, before: &Self) -> Option<Handled> {
        let delta = |key: &(String, String)| {
            self.0.get(key).copied().unwrap_or_default()
                - before.0.get(key).copied().unwrap_or_default()
        };
        let (route, total) = self
            .0
            .keys()
            .filter(|(_, le)| le == "+Inf")
            .map(|key| (key.0.clone(), delta(key)))
            .max_by(|a, b| a.1.total_cmp(&b.1))?;
        if total <= 0.0 {
            return None;
        }
        let mut buckets: Vec<(f64, f64)> = self
            .0
            .keys()
            .filter(|(of, le)| *of == route && le != "+Inf")
            .filter_map(|key| Some((key.1.parse::<f64>().ok()?, delta(key))))
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some(Handled {
            route,
            buckets,
            total,
        })
    }
}

/// Seconds as milliseconds, to the microsecond (`0.0025` is `2.5`, not `2.5000000000000004`).
fn ms(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e3
}

/// A label's value in `name="value",...` (values without quotes or escapes, as these are).
fn label<'a>(labels: &'a str, name: &str) -> Option<&'a str> {
    labels.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.trim_matches('"'))
    })
}

impl Handled {
    /// The smallest bucket bound, in milliseconds, within which at least `share` of the
    /// requests were handled; `None` when only `+Inf` holds that many.
    pub(super) fn bound_ms(&self, share: f64) -> Option<f64> {
        self.buckets
            .iter()
            .find(|(_, count)| *count >= share * self.total)
            .map(|(bound, _)| ms(*bound))
    }

    /// The share of the requests handled within `limit_ms` milliseconds (by the largest bucket
    /// bound not above it).
    pub(super) fn share_within(&self, limit_ms: f64) -> f64 {
        self.buckets
            .iter()
            .rev()
            .find(|(bound, _)| ms(*bound) <= limit_ms)
            .map_or(0.0, |(_, count)| count / self.total)
    }

    /// `≤ 0.5` (ms) for the bound of 95 % of the requests, `> 2500` beyond the last bucket.
    pub(super) fn p95_text(&self) -> String {
        match self.bound_ms(0.95) {
            Some(bound) => format!("≤ {bound}"),
            None => format!(
                "> {}",
                self.buckets.last().map_or(0.0, |(bound, _)| ms(*bound))
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Histogram;

    fn scrape(ok_fast: u64, ok_slow: u64, session_fast: u64) -> String {
        let ok_total = ok_fast + ok_slow;
        format!(
            "# TYPE auth_http_request_duration_seconds histogram\n\
             auth_http_request_duration_seconds_bucket{{route=\"/ok\",le=\"0.0005\"}} {ok_fast}\n\
             auth_http_request_duration_seconds_bucket{{route=\"/ok\",le=\"0.001\"}} {ok_fast}\n\
             auth_http_request_duration_seconds_bucket{{route=\"/ok\",le=\"0.0025\"}} {ok_total}\n\
             auth_http_request_duration_seconds_bucket{{route=\"/ok\",le=\"+Inf\"}} {ok_total}\n\
             auth_http_request_duration_seconds_sum{{route=\"/ok\"}} 1.5\n\
             auth_http_request_duration_seconds_bucket{{route=\"/get-session\",le=\"0.0005\"}} {session_fast}\n\
             auth_http_request_duration_seconds_bucket{{route=\"/get-session\",le=\"+Inf\"}} {session_fast}\n\
             auth_http_requests_total{{route=\"/ok\",status=\"200\"}} {ok_total}\n"
        )
    }

    #[test]
    fn the_route_a_row_used_is_the_one_that_counted_most_and_its_shares_are_since_before() {
        let before = Histogram::parse(&scrape(1000, 0, 10));
        let after = Histogram::parse(&scrape(1000 + 940, 60, 20));
        let handled = after.since(&before).expect("requests were counted");
        assert_eq!(handled.route, "/ok");
        // 940 of 1000 within 0.5 ms: the 95 % bound is the next bucket's.
        assert_eq!(handled.bound_ms(0.95), Some(2.5));
        assert_eq!(handled.p95_text(), "≤ 2.5");
        assert!((handled.share_within(1.0) - 0.94).abs() < 1e-9);
        assert!((handled.share_within(0.7) - 0.94).abs() < 1e-9);
        assert!(handled.share_within(0.1).abs() < 1e-9);
        assert_eq!(
            Histogram::parse(&scrape(5, 0, 1)).since(&Histogram::parse(&scrape(5, 0, 1))),
            None
        );
    }

    #[test]
    fn a_server_without_the_histogram_reads_as_empty_and_counts_nothing() {
        let empty = Histogram::parse("# nothing here\nother_metric 1\n");
        assert_eq!(empty, Histogram::default());
        assert_eq!(empty.since(&Histogram::default()), None);
    }
}
