use time::macros::datetime;

use super::*;

fn session_created_at(created: OffsetDateTime, policy: &SessionPolicy) -> Session {
    Session {
        id: SessionId::new("s"),
        token: SessionToken::new("t".repeat(32)),
        user_id: UserId::new("u"),
        expires_at: policy.expiry_for_new(created, true),
        created_at: created,
        updated_at: created,
        ip_address: None,
        user_agent: None,
        fields: Default::default(),
    }
}

#[test]
fn a_new_session_expires_after_seven_days_or_one_without_remember_me() {
    let policy = SessionPolicy::default();
    let now = datetime!(2026-01-01 0:00 UTC);
    assert_eq!(
        policy.expiry_for_new(now, true),
        datetime!(2026-01-08 0:00 UTC)
    );
    assert_eq!(
        policy.expiry_for_new(now, false),
        datetime!(2026-01-02 0:00 UTC)
    );
}

#[test]
fn refresh_is_due_once_a_day_has_passed_since_the_last_extension() {
    let policy = SessionPolicy::default();
    let created = datetime!(2026-01-01 0:00 UTC);
    let session = session_created_at(created, &policy);
    assert!(!policy.needs_refresh(&session, created + Duration::hours(23)));
    assert!(policy.needs_refresh(&session, created + Duration::days(1)));
}

#[test]
fn expiry_and_freshness_follow_the_clock() {
    let policy = SessionPolicy::default();
    let created = datetime!(2026-01-01 0:00 UTC);
    let session = session_created_at(created, &policy);
    assert!(!policy.is_expired(&session, created + Duration::days(6)));
    assert!(policy.is_expired(&session, created + Duration::days(7)));
    assert!(policy.is_fresh(&session, created + Duration::hours(23)));
    assert!(!policy.is_fresh(&session, created + Duration::days(1)));
}

#[test]
fn a_session_token_is_redacted_in_debug_output() {
    let token = SessionToken::new("abcdefghijklmnopqrstuvwxyz012345".to_owned());
    assert!(!format!("{token:?}").contains("abcdef"));
}

#[test]
fn remember_me_is_read_back_from_the_lifetime_a_session_was_given() {
    let policy = SessionPolicy::default();
    let created = datetime!(2026-01-01 0:00 UTC);
    let mut session = session_created_at(created, &policy);
    assert!(policy.is_remembered(&session));
    session.expires_at = policy.expiry_for_new(created, false);
    assert!(!policy.is_remembered(&session));
}

#[test]
fn a_session_made_without_remember_me_never_slides() {
    let policy = SessionPolicy::default();
    let created = datetime!(2026-01-01 0:00 UTC);
    let short = Session {
        expires_at: policy.expiry_for_new(created, false),
        ..session_created_at(created, &policy)
    };
    for hours in [1, 12, 23] {
        assert!(
            !policy.needs_refresh(&short, created + Duration::hours(hours)),
            "{hours} h"
        );
    }
    assert!(policy.is_expired(&short, created + Duration::days(1)));
}

#[test]
fn with_an_absolute_lifetime_a_session_slides_up_to_it_and_then_expires() {
    let policy = SessionPolicy {
        absolute_lifetime: Some(Duration::days(10)),
        ..SessionPolicy::default()
    };
    let created = datetime!(2026-01-01 0:00 UTC);
    let mut session = session_created_at(created, &policy);
    let day_six = created + Duration::days(6);
    assert!(policy.needs_refresh(&session, day_six));
    session.expires_at = policy.slid_expiry(&session, day_six);
    session.updated_at = day_six;
    assert_eq!(session.expires_at, created + Duration::days(10), "capped");
    assert!(!policy.is_expired(&session, created + Duration::days(9)));
    assert!(policy.is_expired(&session, created + Duration::days(10)));
    // Even an expiry written past the bound (by another server) does not outlive it.
    session.expires_at = created + Duration::days(30);
    assert!(policy.is_expired(&session, created + Duration::days(10)));
    // A short absolute lifetime caps new sessions too.
    let strict = SessionPolicy {
        absolute_lifetime: Some(Duration::hours(2)),
        ..SessionPolicy::default()
    };
    assert_eq!(
        strict.expiry_for_new(created, true),
        created + Duration::hours(2)
    );
}

#[test]
fn when_both_lifetimes_are_equal_sessions_still_slide() {
    let policy = SessionPolicy {
        expires_in: Duration::hours(12),
        update_age: Duration::hours(1),
        ..SessionPolicy::default()
    };
    let created = datetime!(2026-01-01 0:00 UTC);
    let session = session_created_at(created, &policy);
    assert!(policy.needs_refresh(&session, created + Duration::hours(2)));
}
