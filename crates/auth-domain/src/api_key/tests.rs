//! The rules of one use of an API key, step by step, as Better-Auth orders them.

use time::macros::datetime;

use super::*;

const T0: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

fn key() -> ApiKey {
    ApiKey {
        id: "k".to_owned(),
        config_id: "default".to_owned(),
        name: None,
        start: Some("ba_ZSd".to_owned()),
        prefix: Some("ba_".to_owned()),
        reference_id: "u".to_owned(),
        enabled: true,
        rate_limit_enabled: true,
        rate_limit_time_window: Some(Duration::days(1)),
        rate_limit_max: Some(10),
        request_count: 0,
        remaining: None,
        refill_amount: None,
        refill_interval: None,
        last_refill_at: None,
        last_request: None,
        expires_at: None,
        created_at: T0,
        updated_at: T0,
        permissions: None,
        metadata: None,
    }
}

fn permissions(pairs: &[(&str, &[&str])]) -> Permissions {
    Permissions(
        pairs
            .iter()
            .map(|(resource, actions)| {
                (
                    (*resource).to_owned(),
                    actions.iter().map(|a| (*a).to_owned()).collect(),
                )
            })
            .collect(),
    )
}

#[test]
fn a_disabled_or_expired_key_is_refused_before_anything_else() {
    let disabled = ApiKey {
        enabled: false,
        remaining: Some(0),
        ..key()
    };
    assert_eq!(disabled.use_at(T0, None, true), Err(KeyRefusal::Disabled));
    let expired = ApiKey {
        expires_at: Some(T0 - Duration::seconds(1)),
        ..key()
    };
    assert_eq!(expired.use_at(T0, None, true), Err(KeyRefusal::Expired));
    let at_expiry = ApiKey {
        expires_at: Some(T0),
        ..key()
    };
    assert!(at_expiry.use_at(T0, None, true).is_ok(), "in the past only");
}

#[test]
fn every_action_asked_for_must_be_granted() {
    let granted = ApiKey {
        permissions: Some(permissions(&[
            ("files", &["read", "write"]),
            ("users", &["read"]),
        ])),
        ..key()
    };
    let ok = permissions(&[("files", &["read", "write"])]);
    assert!(granted.use_at(T0, Some(&ok), true).is_ok());
    for refused in [
        permissions(&[("files", &["delete"])]),
        permissions(&[("files", &["read", "delete"])]),
        permissions(&[("billing", &["read"])]),
    ] {
        assert_eq!(
            granted.use_at(T0, Some(&refused), true),
            Err(KeyRefusal::MissingPermission)
        );
    }
    assert_eq!(
        key().use_at(T0, Some(&ok), true),
        Err(KeyRefusal::MissingPermission),
        "a key without permissions grants none"
    );
}

#[test]
fn the_quota_counts_down_then_refuses_and_refills_after_its_interval() {
    let last = ApiKey {
        remaining: Some(1),
        rate_limit_enabled: false,
        ..key()
    };
    assert_eq!(
        last.use_at(T0, None, true).map(|u| u.remaining),
        Ok(Some(0))
    );
    let spent = ApiKey {
        remaining: Some(0),
        ..key()
    };
    assert_eq!(
        spent.use_at(T0, None, true),
        Err(KeyRefusal::UsageExceeded { spent: true }),
        "no refill: the key is spent for good"
    );
    let refillable = ApiKey {
        remaining: Some(0),
        refill_amount: Some(5),
        refill_interval: Some(Duration::hours(1)),
        ..key()
    };
    assert_eq!(
        refillable.use_at(T0 + Duration::minutes(30), None, true),
        Err(KeyRefusal::UsageExceeded { spent: false })
    );
    let refilled = refillable
        .use_at(T0 + Duration::minutes(61), None, true)
        .expect("refilled");
    assert_eq!(refilled.remaining, Some(4), "refilled, minus this use");
    assert_eq!(refilled.last_refill_at, Some(T0 + Duration::minutes(61)));
    let no_quota = key().use_at(T0, None, true).expect("allowed");
    assert_eq!(no_quota.remaining, None);
}

#[test]
fn the_rate_limit_admits_its_maximum_per_window_and_says_when_to_retry() {
    let fresh = key().use_at(T0, None, true).expect("first use");
    assert_eq!(fresh.request_count, 1);
    assert_eq!(fresh.last_request, T0);
    let busy = ApiKey {
        request_count: 10,
        last_request: Some(T0),
        ..key()
    };
    assert_eq!(
        busy.use_at(T0 + Duration::hours(1), None, true),
        Err(KeyRefusal::RateLimited {
            try_again_in: Duration::hours(23)
        })
    );
    assert_eq!(
        busy.use_at(T0 + Duration::days(1) + Duration::seconds(1), None, true)
            .map(|u| u.request_count),
        Ok(1),
        "a new window"
    );
    let counting = ApiKey {
        request_count: 3,
        last_request: Some(T0),
        ..key()
    };
    assert_eq!(
        counting
            .use_at(T0 + Duration::hours(1), None, true)
            .map(|u| u.request_count),
        Ok(4)
    );
    // Off for the key, or for the configuration: nothing is counted, the use still allowed.
    let off = ApiKey {
        rate_limit_enabled: false,
        ..busy.clone()
    };
    assert_eq!(off.use_at(T0, None, true).map(|u| u.request_count), Ok(10));
    assert_eq!(
        busy.use_at(T0, None, false).map(|u| u.request_count),
        Ok(10)
    );
    let unbounded = ApiKey {
        rate_limit_max: None,
        ..busy
    };
    assert!(unbounded.use_at(T0, None, true).is_ok());
}

#[test]
fn refusals_carry_better_auths_codes_and_start_keeps_the_prefix() {
    let codes: Vec<&str> = [
        KeyRefusal::Disabled,
        KeyRefusal::Expired,
        KeyRefusal::MissingPermission,
        KeyRefusal::UsageExceeded { spent: true },
        KeyRefusal::RateLimited {
            try_again_in: Duration::ZERO,
        },
    ]
    .into_iter()
    .map(KeyRefusal::code)
    .collect();
    assert_eq!(
        codes,
        [
            "KEY_DISABLED",
            "KEY_EXPIRED",
            "KEY_NOT_FOUND",
            "USAGE_EXCEEDED",
            "RATE_LIMITED"
        ]
    );
    assert_eq!(start_of("ba_ZSdtUglEiNKDHAyV", 6), "ba_ZSd");
    assert_eq!(start_of("ab", 6), "ab");
}

#[test]
fn only_a_quota_or_a_counted_rate_limit_makes_uses_count() {
    let limited = key();
    assert!(limited.counts(true), "Better-Auth's default: 10 a day");
    assert!(
        !limited.counts(false),
        "counting switched off for every key"
    );
    let off = ApiKey {
        rate_limit_enabled: false,
        ..key()
    };
    assert!(!off.counts(true));
    let windowless = ApiKey {
        rate_limit_time_window: None,
        ..key()
    };
    assert!(!windowless.counts(true));
    let quota = ApiKey {
        remaining: Some(5),
        ..off.clone()
    };
    assert!(quota.counts(false), "a quota always counts");
}

#[test]
fn a_reservation_of_one_is_one_use_and_larger_ones_take_what_is_left() {
    let quota = ApiKey {
        remaining: Some(5),
        rate_limit_enabled: false,
        ..key()
    };
    let now = T0 + Duration::hours(1);
    assert_eq!(
        quota.reserve(now, 1).map(|(used, _)| used),
        quota.count(now, true),
        "one at a time is the ordinary use"
    );
    let (used, granted) = quota.reserve(now, 3).expect("three");
    assert_eq!((used.remaining, granted), (Some(2), 3));
    let (used, granted) = quota.reserve(now, 100).expect("what is left");
    assert_eq!((used.remaining, granted), (Some(0), 5));
    let spent = ApiKey {
        remaining: Some(0),
        ..quota.clone()
    };
    assert_eq!(
        spent.reserve(now, 10),
        Err(KeyRefusal::UsageExceeded { spent: true })
    );
    let refilling = ApiKey {
        remaining: Some(0),
        refill_amount: Some(50),
        refill_interval: Some(Duration::minutes(1)),
        ..quota.clone()
    };
    assert_eq!(
        refilling.reserve(T0 + Duration::seconds(30), 10),
        Err(KeyRefusal::UsageExceeded { spent: false })
    );
    let (used, granted) = refilling.reserve(now, 10).expect("refilled");
    assert_eq!(
        (used.remaining, used.last_refill_at, granted),
        (Some(40), Some(now), 10)
    );
    let unlimited = ApiKey {
        remaining: None,
        ..quota
    };
    assert_eq!(
        unlimited
            .reserve(now, 7)
            .map(|(used, granted)| (used.remaining, granted)),
        Ok((None, 7))
    );
}
