//! The `KeyCounters` conformance suite: the shared counters of API keys follow
//! `ApiKey::count` exactly, use after use and under concurrency. Run it on empty counters:
//!
//! ```text
//! auth_testkit::conformance::run_key_counters_suite(&MyCounters::new(..)).await;
//! ```

use auth_domain::{ApiKey, ApiKeyUse, KeyRefusal};
use auth_ports::{Counted, KeyCounters, PortError, Reserved};
use time::{Duration, OffsetDateTime, macros::datetime};

const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00.123 UTC);

/// Runs every case against empty counters.
pub async fn run_key_counters_suite(counters: &dyn KeyCounters) {
    counting_starts_from_the_stored_row_then_the_shared_counters_win(counters).await;
    a_reset_key_counts_on_from_its_new_row_and_a_revoked_key_is_gone(counters).await;
    concurrent_uses_never_exceed_the_quota(counters).await;
    every_use_matches_the_domain_rules(counters).await;
    reservations_match_the_domain_rules_and_never_exceed_the_quota(counters).await;
    changed_counters_are_taken_once(counters).await;
}

fn key(id: &str) -> ApiKey {
    crate::fixtures::bare_api_key(id, "owner", T0)
}

async fn count(
    counters: &dyn KeyCounters,
    key: &ApiKey,
    now: OffsetDateTime,
) -> Result<ApiKeyUse, KeyRefusal> {
    match counters.count(key, now, true).await {
        Ok(Counted::Allowed(used)) => Ok(used),
        Ok(Counted::Refused(refusal)) => Err(refusal),
        other => panic!("key_counters: count {}: {other:?}", key.id),
    }
}

async fn counting_starts_from_the_stored_row_then_the_shared_counters_win(
    counters: &dyn KeyCounters,
) {
    let stored = ApiKey {
        remaining: Some(3),
        ..key("kc-start")
    };
    let first = count(counters, &stored, T0).await;
    assert_eq!(
        first.map(|used| used.remaining),
        Ok(Some(2)),
        "key_counters: the first use starts from the stored counters"
    );
    // The caller's copy of the row still says 3: the shared counters win.
    let second = count(counters, &stored, T0 + Duration::seconds(1)).await;
    assert_eq!(
        second,
        Ok(ApiKeyUse {
            remaining: Some(1),
            last_refill_at: None,
            request_count: 0,
            last_request: T0 + Duration::seconds(1),
        }),
        "key_counters: later uses count on from the shared counters"
    );
}

async fn a_reset_key_counts_on_from_its_new_row_and_a_revoked_key_is_gone(
    counters: &dyn KeyCounters,
) {
    let stored = ApiKey {
        remaining: Some(10),
        ..key("kc-reset")
    };
    count(counters, &stored, T0).await.ok();
    // An update set `remaining` to 3 on the row.
    let updated = ApiKey {
        remaining: Some(3),
        ..stored.clone()
    };
    let reset = counters.reset(&updated).await;
    assert!(reset.is_ok(), "key_counters: reset: {reset:?}");
    assert_eq!(
        count(counters, &stored, T0 + Duration::seconds(1))
            .await
            .map(|used| used.remaining),
        Ok(Some(2)),
        "key_counters: after a reset, counting goes on from the new row, even for a stale copy"
    );
    let revoked = counters.revoke("kc-reset").await;
    assert!(revoked.is_ok(), "key_counters: revoke: {revoked:?}");
    for copy in [&stored, &updated] {
        let gone = counters.count(copy, T0 + Duration::seconds(2), true).await;
        assert!(
            matches!(gone, Ok(Counted::Gone)),
            "key_counters: no copy starts a revoked key again: {gone:?}"
        );
    }
    assert!(
        counters.reset(&updated).await.is_ok(),
        "key_counters: resetting a revoked key is no error"
    );
    assert!(
        matches!(
            counters
                .count(&updated, T0 + Duration::seconds(3), true)
                .await,
            Ok(Counted::Gone)
        ),
        "key_counters: and leaves it gone"
    );
    let never_used = counters.revoke("kc-never-used").await;
    assert!(
        never_used.is_ok(),
        "key_counters: revoking unknown counters: {never_used:?}"
    );
}

async fn concurrent_uses_never_exceed_the_quota(counters: &dyn KeyCounters) {
    let stored = ApiKey {
        remaining: Some(20),
        ..key("kc-quota")
    };
    let uses = (0..60).map(|_| counters.count(&stored, T0, true));
    let results = futures_util::future::join_all(uses).await;
    let allowed = results
        .iter()
        .filter(|result| matches!(result, Ok(Counted::Allowed(_))))
        .count();
    let exceeded = results
        .iter()
        .filter(|result| {
            matches!(
                result,
                Ok(Counted::Refused(KeyRefusal::UsageExceeded { spent: true }))
            )
        })
        .count();
    assert_eq!(
        (allowed, exceeded),
        (20, 40),
        "key_counters: 60 concurrent uses of a quota of 20"
    );
}

/// A key with a quota that refills and a rate limit, used at uneven times: every answer is the
/// one `ApiKey::count` gives on the same history.
async fn every_use_matches_the_domain_rules(counters: &dyn KeyCounters) {
    let stored = ApiKey {
        remaining: Some(6),
        refill_amount: Some(4),
        refill_interval: Some(Duration::seconds(5)),
        rate_limit_enabled: true,
        rate_limit_time_window: Some(Duration::seconds(2)),
        rate_limit_max: Some(3),
        ..key("kc-model")
    };
    let mut model = stored.clone();
    let mut now = T0;
    for step in 0..120_i64 {
        // Steps of 0 to 1.3 s, in a pattern that lands on window and refill edges.
        now += Duration::milliseconds((step * 337) % 1300);
        let expected = model.count(now, true);
        let actual = count(counters, &stored, now).await;
        assert_eq!(
            actual, expected,
            "key_counters: use {step} at {now} differs from the domain rules"
        );
        if let Ok(used) = expected {
            model = model.with_use(&used);
        }
    }
}

/// Reservations of several uses, mixed with single uses, against a quota that refills: every
/// answer is the domain's; then concurrent reservations share a quota exactly.
async fn reservations_match_the_domain_rules_and_never_exceed_the_quota(
    counters: &dyn KeyCounters,
) {
    let stored = ApiKey {
        remaining: Some(40),
        refill_amount: Some(25),
        refill_interval: Some(Duration::seconds(4)),
        ..key("kc-lease")
    };
    let mut model = stored.clone();
    let mut now = T0;
    for step in 0..80_i64 {
        now += Duration::milliseconds((step * 211) % 900);
        let wanted = step % 7 + 1;
        if step % 5 == 0 {
            let expected = model.count(now, true);
            assert_eq!(
                count(counters, &stored, now).await,
                expected,
                "key_counters: use {step} among reservations"
            );
            if let Ok(used) = expected {
                model = model.with_use(&used);
            }
            continue;
        }
        let expected = model.reserve(now, wanted);
        let actual = counters.reserve(&stored, now, wanted).await;
        let actual = match actual {
            Ok(Reserved::Granted { counters, uses }) => Ok((counters, uses)),
            Ok(Reserved::Refused(refusal)) => Err(refusal),
            other => panic!("key_counters: reserve {step}: {other:?}"),
        };
        assert_eq!(
            actual, expected,
            "key_counters: reservation {step} of {wanted} at {now}"
        );
        if let Ok((used, _)) = expected {
            model = model.with_use(&used);
        }
    }

    let shared = ApiKey {
        remaining: Some(100),
        ..key("kc-lease-shared")
    };
    let reservations = (0..30).map(|_| counters.reserve(&shared, T0, 7));
    let results = futures_util::future::join_all(reservations).await;
    let granted: i64 = results
        .iter()
        .map(|result| match result {
            Ok(Reserved::Granted { uses, .. }) => *uses,
            _ => 0,
        })
        .sum();
    let refused = results
        .iter()
        .filter(|result| matches!(result, Ok(Reserved::Refused(_))))
        .count();
    assert_eq!(
        (granted, refused),
        (100, 15),
        "key_counters: 30 concurrent reservations of 7 share a quota of 100 exactly"
    );
    let revoked = counters.revoke("kc-lease-shared").await;
    assert!(revoked.is_ok());
    assert!(
        matches!(counters.reserve(&shared, T0, 1).await, Ok(Reserved::Gone)),
        "key_counters: a revoked key reserves nothing"
    );
}

async fn changed_counters_are_taken_once(counters: &dyn KeyCounters) {
    // Whatever earlier cases left changed.
    let drained = counters.take_changed(1000).await;
    assert!(drained.is_ok(), "key_counters: take_changed: {drained:?}");
    let stored = ApiKey {
        remaining: Some(5),
        ..key("kc-taken")
    };
    let used = count(counters, &stored, T0).await;
    let taken: Result<Vec<(String, ApiKeyUse)>, PortError> = counters.take_changed(10).await;
    assert_eq!(
        taken.ok(),
        used.ok().map(|used| vec![("kc-taken".to_owned(), used)]),
        "key_counters: a changed key is taken with its counters"
    );
    let again = counters.take_changed(10).await;
    assert!(
        matches!(&again, Ok(taken) if taken.is_empty()),
        "key_counters: and only once: {again:?}"
    );
    // A write-back that failed gives the key back; it is taken again with its counters then.
    let used = count(counters, &stored, T0).await;
    let expected = used.ok().map(|used| vec![("kc-taken".to_owned(), used)]);
    assert!(expected.is_some(), "key_counters: the use to give back");
    let taken = counters.take_changed(10).await;
    assert_eq!(
        taken.ok(),
        expected.clone(),
        "key_counters: the use is taken with its counters"
    );
    let given_back = counters.mark_changed(&["kc-taken".to_owned()]).await;
    assert!(
        given_back.is_ok(),
        "key_counters: mark_changed: {given_back:?}"
    );
    let retaken = counters.take_changed(10).await;
    assert_eq!(
        retaken.ok(),
        expected,
        "key_counters: a key given back is taken again"
    );
    assert!(
        counters.mark_changed(&[]).await.is_ok(),
        "key_counters: giving back nothing is fine"
    );
}
