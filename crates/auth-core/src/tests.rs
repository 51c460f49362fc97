//! Use-case tests on the in-memory store and fakes; mocks where the question is "was the port
//! called" or to inject a failure.

use std::sync::Arc;

use auth_domain::{DomainError, Password, SessionToken};
use auth_ports::{
    MockPasswordHasher, MockRateLimiter, MockUserRepo, NoCache, PortError, RateLimitDecision,
};
use auth_testkit::{FastHasher, ManualClock, MemoryStore, SeededRandom};
use time::{Duration, macros::datetime};

use crate::*;

struct Fixture {
    auth: Auth,
    clock: Arc<ManualClock>,
    store: Arc<MemoryStore>,
}

fn allow_all() -> MockRateLimiter {
    let mut limiter = MockRateLimiter::new();
    limiter
        .expect_check()
        .returning(|_, _, _| Ok(RateLimitDecision::Allowed));
    limiter
        .expect_peek()
        .returning(|_, _, _| Ok(RateLimitDecision::Allowed));
    limiter
}

fn fixture() -> Fixture {
    fixture_with(|_| {})
}

fn fixture_with(customise: impl FnOnce(&mut AuthDeps)) -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 0:00 UTC)));
    let mut deps = deps(&store, &clock);
    customise(&mut deps);
    Fixture {
        auth: Auth::new(deps, AuthConfig::default()),
        clock,
        store,
    }
}

/// The ports on the in-memory store and fakes, every request allowed.
pub(crate) fn deps(store: &Arc<MemoryStore>, clock: &Arc<ManualClock>) -> AuthDeps {
    AuthDeps {
        users: store.clone(),
        accounts: store.clone(),
        sessions: store.clone(),
        verifications: store.clone(),
        hasher: Arc::new(FastHasher),
        clock: clock.clone(),
        random: Arc::new(SeededRandom::default()),
        cache: Arc::new(NoCache),
        rate_limiter: Arc::new(allow_all()),
        audit: store.clone(),
        events: Arc::new(auth_ports::LocalEvents),
        mail: None,
    }
}

fn sign_up(email: &str, password: &str) -> SignUpEmail {
    SignUpEmail {
        name: "Alice".to_owned(),
        email: email.to_owned(),
        password: Password::new(password.to_owned()),
        image: None,
        remember_me: true,
        callback_url: None,
        client: ClientInfo::default(),
    }
}

fn sign_in(email: &str, password: &str) -> SignInEmail {
    SignInEmail {
        email: email.to_owned(),
        password: Password::new(password.to_owned()),
        remember_me: true,
        client: ClientInfo::default(),
    }
}

fn lookup(token: &SessionToken) -> GetSession {
    GetSession {
        token: token.clone(),
        dont_remember: false,
        disable_refresh: false,
    }
}

async fn context(auth: &Auth, token: &SessionToken) -> AuthContext {
    auth.get_session(lookup(token))
        .await
        .expect("lookup")
        .expect("valid session")
        .context
}

#[tokio::test]
async fn sign_up_creates_a_user_with_a_lower_cased_email_and_a_seven_day_session() {
    let f = fixture();
    let signed = f
        .auth
        .sign_up_email_session(sign_up(" Alice@Example.com", "password-1"))
        .await
        .expect("sign-up");
    assert_eq!(signed.user.email.as_str(), "alice@example.com");
    assert_eq!(signed.user.id.as_str().len(), 32);
    assert_eq!(signed.session.token.expose().len(), 32);
    assert_eq!(signed.session.expires_at, datetime!(2026-01-08 0:00 UTC));
}

#[tokio::test]
async fn sign_up_with_a_taken_email_is_refused_as_user_already_exists() {
    let f = fixture();
    f.auth
        .sign_up_email_session(sign_up("a@example.com", "password-1"))
        .await
        .expect("first");
    let second = f
        .auth
        .sign_up_email_session(sign_up("A@EXAMPLE.COM", "password-2"))
        .await;
    assert!(
        matches!(second, Err(AuthError::UserAlreadyExists)),
        "{second:?}"
    );
}

#[tokio::test]
async fn sign_up_rejects_bad_email_short_password_and_control_characters() {
    let f = fixture();
    let bad_email = f
        .auth
        .sign_up_email_session(sign_up("not-an-email", "password-1"))
        .await;
    assert!(matches!(
        bad_email,
        Err(AuthError::Invalid(DomainError::InvalidField {
            field: "email"
        }))
    ));
    let short = f
        .auth
        .sign_up_email_session(sign_up("b@example.com", "short"))
        .await;
    assert!(matches!(
        short,
        Err(AuthError::Invalid(DomainError::PasswordTooShort))
    ));
    let mut nul_name = sign_up("c@example.com", "password-1");
    nul_name.name = "Eve\0".to_owned();
    let refused = f.auth.sign_up_email_session(nul_name).await;
    assert!(matches!(
        refused,
        Err(AuthError::Invalid(DomainError::InvalidField {
            field: "name"
        }))
    ));
}

#[tokio::test]
async fn sign_in_with_the_right_password_creates_a_new_session() {
    let f = fixture();
    let up = f
        .auth
        .sign_up_email_session(sign_up("a@example.com", "password-1"))
        .await
        .expect("sign-up");
    let signed = f
        .auth
        .sign_in_email_session(sign_in("A@example.com", "password-1"))
        .await
        .expect("sign-in");
    assert_eq!(signed.user.id, up.user.id);
    assert_ne!(signed.session.token, up.session.token);
}

#[tokio::test]
async fn sign_in_with_wrong_password_or_unknown_email_gives_the_same_error() {
    let f = fixture();
    f.auth
        .sign_up_email_session(sign_up("a@example.com", "password-1"))
        .await
        .expect("sign-up");
    let wrong = f
        .auth
        .sign_in_email_session(sign_in("a@example.com", "password-2"))
        .await;
    let unknown = f
        .auth
        .sign_in_email_session(sign_in("nobody@example.com", "password-1"))
        .await;
    assert!(matches!(wrong, Err(AuthError::InvalidEmailOrPassword)));
    assert!(matches!(unknown, Err(AuthError::InvalidEmailOrPassword)));
}

#[tokio::test]
async fn sign_in_of_an_unknown_email_still_hashes_the_password() {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok(auth_domain::PasswordHash::new("x".into())));
    hasher.expect_verify().never();
    let f = fixture_with(|deps| deps.hasher = Arc::new(hasher));
    let result = f
        .auth
        .sign_in_email_session(sign_in("nobody@example.com", "password-1"))
        .await;
    assert!(matches!(result, Err(AuthError::InvalidEmailOrPassword)));
}

#[tokio::test]
async fn a_store_that_is_down_surfaces_as_unavailable() {
    let mut users = MockUserRepo::new();
    users
        .expect_find_by_email()
        .returning(|_| Err(PortError::Unavailable("connection refused".into())));
    let f = fixture_with(|deps| deps.users = Arc::new(users));
    let result = f
        .auth
        .sign_in_email_session(sign_in("a@example.com", "password-1"))
        .await;
    assert!(
        matches!(result, Err(AuthError::Unavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn get_session_slides_expiry_once_a_day_has_passed_and_not_before() {
    let f = fixture();
    let up = f
        .auth
        .sign_up_email_session(sign_up("a@example.com", "password-1"))
        .await
        .expect("sign-up");
    f.clock.advance(Duration::hours(23));
    let early = f
        .auth
        .get_session(lookup(&up.session.token))
        .await
        .expect("ok")
        .expect("some");
    assert!(!early.refreshed);
    assert_eq!(early.context.session.expires_at, up.session.expires_at);
    f.clock.advance(Duration::hours(2));
    let due = f
        .auth
        .get_session(lookup(&up.session.token))
        .await
        .expect("ok")
        .expect("some");
    assert!(due.refreshed);
    assert_eq!(
        due.context.session.expires_at,
        datetime!(2026-01-01 0:00 UTC) + Duration::hours(25) + Duration::days(7)
    );
}

#[tokio::test]
async fn dont_remember_sessions_last_one_day_and_are_never_slid() {
    let f = fixture();
    let mut command = sign_up("a@example.com", "password-1");
    command.remember_me = false;
    let up = f
        .auth
        .sign_up_email_session(command)
        .await
        .expect("sign-up");
    assert_eq!(up.session.expires_at, datetime!(2026-01-02 0:00 UTC));
    f.clock.advance(Duration::hours(12));
    let query = GetSession {
        dont_remember: true,
        ..lookup(&up.session.token)
    };
    let found = f.auth.get_session(query).await.expect("ok").expect("some");
    assert!(!found.refreshed);
}

#[tokio::test]
async fn an_expired_session_reads_as_absent_and_is_deleted() {
    let f = fixture();
    let up = f
        .auth
        .sign_up_email_session(sign_up("a@example.com", "password-1"))
        .await
        .expect("sign-up");
    f.clock.advance(Duration::days(7));
    assert!(
        f.auth
            .get_session(lookup(&up.session.token))
            .await
            .expect("ok")
            .is_none()
    );
    f.clock.advance(-Duration::days(7));
    assert!(
        f.auth
            .get_session(lookup(&up.session.token))
            .await
            .expect("ok")
            .is_none(),
        "deleted"
    );
}

#[tokio::test]
async fn list_sessions_needs_a_fresh_session() {
    let f = fixture();
    let up = f
        .auth
        .sign_up_email_session(sign_up("a@example.com", "password-1"))
        .await
        .expect("sign-up");
    f.auth
        .sign_in_email_session(sign_in("a@example.com", "password-1"))
        .await
        .expect("second session");
    let ctx = context(&f.auth, &up.session.token).await;
    assert_eq!(f.auth.list_sessions(&ctx).await.expect("fresh").len(), 2);
    f.clock.advance(Duration::hours(25));
    let ctx = context(&f.auth, &up.session.token).await;
    let stale = f.auth.list_sessions(&ctx).await;
    assert!(
        matches!(stale, Err(AuthError::SessionNotFresh)),
        "{stale:?}"
    );
}

#[tokio::test]
async fn revoke_session_only_touches_the_callers_own_sessions() {
    let f = fixture();
    let alice = f
        .auth
        .sign_up_email_session(sign_up("a@example.com", "password-1"))
        .await
        .expect("a");
    let bob = f
        .auth
        .sign_up_email_session(sign_up("b@example.com", "password-1"))
        .await
        .expect("b");
    let ctx = context(&f.auth, &alice.session.token).await;
    assert!(
        !f.auth
            .revoke_session(&ctx, &bob.session.token, &ClientInfo::default())
            .await
            .expect("ok")
    );
    assert!(
        f.auth
            .get_session(lookup(&bob.session.token))
            .await
            .expect("ok")
            .is_some()
    );
    assert!(
        f.auth
            .revoke_session(&ctx, &alice.session.token, &ClientInfo::default())
            .await
            .expect("ok"),
        "own current"
    );
    assert!(
        f.auth
            .get_session(lookup(&alice.session.token))
            .await
            .expect("ok")
            .is_none()
    );
}

#[tokio::test]
async fn revoke_other_sessions_keeps_the_current_one() {
    let f = fixture();
    let first = f
        .auth
        .sign_up_email_session(sign_up("a@example.com", "password-1"))
        .await
        .expect("a");
    let second = f
        .auth
        .sign_in_email_session(sign_in("a@example.com", "password-1"))
        .await
        .expect("b");
    let ctx = context(&f.auth, &first.session.token).await;
    f.auth
        .revoke_other_sessions(&ctx, &ClientInfo::default())
        .await
        .expect("revoke");
    assert!(
        f.auth
            .get_session(lookup(&first.session.token))
            .await
            .expect("ok")
            .is_some()
    );
    assert!(
        f.auth
            .get_session(lookup(&second.session.token))
            .await
            .expect("ok")
            .is_none()
    );
    f.auth
        .revoke_sessions(&ctx, &ClientInfo::default())
        .await
        .expect("revoke all");
    assert!(
        f.auth
            .get_session(lookup(&first.session.token))
            .await
            .expect("ok")
            .is_none()
    );
}

#[tokio::test]
async fn change_password_checks_the_current_one_and_can_revoke_every_session() {
    let f = fixture();
    let up = f
        .auth
        .sign_up_email_session(sign_up("a@example.com", "password-1"))
        .await
        .expect("a");
    let ctx = context(&f.auth, &up.session.token).await;
    let change = |current: &str, revoke| ChangePassword {
        current_password: Password::new(current.to_owned()),
        new_password: Password::new("password-2".to_owned()),
        revoke_other_sessions: revoke,
        client: ClientInfo::default(),
    };
    let wrong = f
        .auth
        .change_password(&ctx, change("nope-nope", false))
        .await;
    assert!(
        matches!(wrong, Err(AuthError::InvalidPassword)),
        "{wrong:?}"
    );
    let changed = f
        .auth
        .change_password(&ctx, change("password-1", true))
        .await
        .expect("ok");
    let new_session = changed.new_session.expect("a new session");
    assert!(
        f.auth
            .get_session(lookup(&up.session.token))
            .await
            .expect("ok")
            .is_none()
    );
    assert!(
        f.auth
            .get_session(lookup(&new_session.token))
            .await
            .expect("ok")
            .is_some()
    );
    assert!(
        f.auth
            .sign_in_email_session(sign_in("a@example.com", "password-2"))
            .await
            .is_ok()
    );
    let old = f
        .auth
        .sign_in_email_session(sign_in("a@example.com", "password-1"))
        .await;
    assert!(matches!(old, Err(AuthError::InvalidEmailOrPassword)));
}

#[tokio::test]
async fn update_user_changes_only_given_fields_and_refuses_an_empty_update() {
    let f = fixture();
    let up = f
        .auth
        .sign_up_email_session(sign_up("a@example.com", "password-1"))
        .await
        .expect("a");
    let ctx = context(&f.auth, &up.session.token).await;
    let empty = f.auth.update_user(&ctx, UpdateUser::default()).await;
    assert!(matches!(empty, Err(AuthError::NoFieldsToUpdate)));
    let image = Some(Some("https://example.com/a.png".to_owned()));
    let updated = f
        .auth
        .update_user(&ctx, UpdateUser { name: None, image })
        .await
        .expect("ok");
    assert_eq!(updated.name, "Alice");
    assert_eq!(updated.image.as_deref(), Some("https://example.com/a.png"));
    let ctx = context(&f.auth, &up.session.token).await;
    assert_eq!(
        ctx.user.image.as_deref(),
        Some("https://example.com/a.png"),
        "stored"
    );
}

fn limited_fixture() -> Fixture {
    fixture_with(|deps| deps.rate_limiter = Arc::new(auth_testkit::FakeRateLimiter::default()))
}

fn client_at(ip: &str) -> ClientInfo {
    ClientInfo {
        ip_address: ip.to_owned(),
        user_agent: "agent/1".to_owned(),
        ..ClientInfo::default()
    }
}

fn sign_in_from(email: &str, password: &str, ip: &str) -> SignInEmail {
    SignInEmail {
        client: client_at(ip),
        ..sign_in(email, password)
    }
}

#[tokio::test]
async fn credential_routes_are_limited_per_client_and_the_refusal_is_audited_once_per_window() {
    let mut f = limited_fixture();
    let audit = Arc::new(MemoryStore::new());
    f = Fixture {
        auth: Auth::new(
            AuthDeps {
                audit: audit.clone(),
                events: Arc::new(auth_ports::LocalEvents),
                ..f.auth.deps().clone()
            },
            AuthConfig::default(),
        ),
        ..f
    };
    let client = client_at("10.0.0.1");
    let query = RateLimitQuery {
        route: "/sign-in/email",
        client: &client,
    };
    for _ in 0..5 {
        f.auth.check_rate_limit(query).await.expect("allowed");
    }
    for _ in 0..100 {
        let refused = f.auth.check_rate_limit(query).await;
        assert!(
            matches!(
                refused,
                Err(AuthError::RateLimited {
                    retry_after_seconds: 900
                })
            ),
            "{refused:?}"
        );
    }
    let recorded = audit.all_audit_events();
    assert_eq!(recorded.len(), 1, "one record for a flood of refusals");
    assert_eq!(recorded[0].reason.as_deref(), Some("/sign-in/email"));
    assert_eq!(recorded[0].ip_address, "10.0.0.1");
    assert_eq!(recorded[0].user_agent, "agent/1");
    // The next window's first refusal is recorded, with the count left out before it.
    f.clock.advance(Duration::minutes(15));
    for _ in 0..5 {
        f.auth.check_rate_limit(query).await.expect("allowed");
    }
    assert!(f.auth.check_rate_limit(query).await.is_err());
    let recorded = audit.all_audit_events();
    assert_eq!(recorded.len(), 2);
    assert_eq!(
        recorded[1].reason.as_deref(),
        Some("/sign-in/email (99 more refused since the last record)")
    );
}

#[tokio::test]
async fn other_routes_use_the_general_rule_and_a_failing_limiter_lets_requests_through() {
    let mut limiter = MockRateLimiter::new();
    limiter
        .expect_check()
        .withf(|key, rule, _| key == "ip:10.0.0.1|/get-session" && rule.max == 100)
        .returning(|_, _, _| Err(PortError::Unavailable("down".into())));
    let f = fixture_with(|deps| deps.rate_limiter = Arc::new(limiter));
    let client = client_at("10.0.0.1");
    let query = RateLimitQuery {
        route: "/get-session",
        client: &client,
    };
    assert!(f.auth.check_rate_limit(query).await.is_ok());
}

#[tokio::test]
async fn strangers_failing_on_an_account_never_lock_out_its_owner() {
    let f = limited_fixture();
    f.auth
        .sign_up_email_session(sign_up("owner@example.com", "password-1"))
        .await
        .expect("sign-up");
    // Nine strangers, each failing up to their own limit (45 failures, under the ceiling).
    for n in 0..9 {
        let ip = format!("203.0.113.{n}");
        for _ in 0..5 {
            let wrong = f
                .auth
                .sign_in_email_session(sign_in_from("owner@example.com", "guess-guess", &ip))
                .await;
            assert!(
                matches!(wrong, Err(AuthError::InvalidEmailOrPassword)),
                "{wrong:?}"
            );
        }
        let refused = f
            .auth
            .sign_in_email_session(sign_in_from("owner@example.com", "password-1", &ip))
            .await;
        assert!(
            matches!(refused, Err(AuthError::RateLimited { .. })),
            "a client that kept failing is refused, even with the right password: {refused:?}"
        );
    }
    // Nine times the per-client limit: the owner, who never failed, signs in.
    f.auth
        .sign_in_email_session(sign_in_from(
            "owner@example.com",
            "password-1",
            "198.51.100.1",
        ))
        .await
        .expect("the owner is not locked out");
}

#[tokio::test]
async fn distributed_guessing_reaches_the_per_account_ceiling() {
    let f = limited_fixture();
    f.auth
        .sign_up_email_session(sign_up("target@example.com", "password-1"))
        .await
        .expect("sign-up");
    // 50 clients, one failure each: the account's ceiling.
    for n in 0..50 {
        let wrong = f
            .auth
            .sign_in_email_session(sign_in_from(
                "target@example.com",
                "guess-guess",
                &format!("203.0.113.{n}"),
            ))
            .await;
        assert!(matches!(wrong, Err(AuthError::InvalidEmailOrPassword)));
    }
    let refused = f
        .auth
        .sign_in_email_session(sign_in_from(
            "target@example.com",
            "password-1",
            "198.51.100.1",
        ))
        .await;
    assert!(
        matches!(refused, Err(AuthError::RateLimited { .. })),
        "{refused:?}"
    );
    // Unknown accounts are counted the same way: the limit says nothing about existence.
    for _ in 0..5 {
        let _ = f
            .auth
            .sign_in_email_session(sign_in_from(
                "nobody@example.com",
                "guess-guess",
                "203.0.113.1",
            ))
            .await;
    }
    let unknown = f
        .auth
        .sign_in_email_session(sign_in_from(
            "nobody@example.com",
            "guess-guess",
            "203.0.113.1",
        ))
        .await;
    assert!(matches!(unknown, Err(AuthError::RateLimited { .. })));
    // The window passes: the owner is back.
    f.clock.advance(Duration::minutes(15));
    f.auth
        .sign_in_email_session(sign_in_from(
            "target@example.com",
            "password-1",
            "198.51.100.1",
        ))
        .await
        .expect("after the window");
}

#[tokio::test]
async fn security_events_are_audited_without_secrets() {
    let f = fixture();
    let up = f
        .auth
        .sign_up_email_session(sign_up("audit@example.com", "password-1"))
        .await
        .expect("sign-up");
    f.clock.advance(Duration::seconds(1));
    let _ = f
        .auth
        .sign_in_email_session(sign_in("audit@example.com", "wrong-password"))
        .await;
    f.clock.advance(Duration::seconds(1));
    f.auth
        .sign_in_email_session(sign_in("audit@example.com", "password-1"))
        .await
        .expect("sign-in");
    f.clock.advance(Duration::seconds(1));
    f.auth
        .sign_out(&up.session.token, &ClientInfo::default())
        .await
        .expect("sign-out");
    let events = f.auth.audit_events(&up.user.id, 10).await.expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["sign_out", "sign_in", "sign_in_failed", "sign_up"]);
    assert_eq!(events[2].reason.as_deref(), Some("wrong_password"));
    let printed = format!("{events:?}");
    assert!(!printed.contains("password-1") && !printed.contains(up.session.token.expose()));
    let _ = &f.store;
}

#[tokio::test]
async fn a_cached_session_is_served_without_the_store_and_dropped_on_sign_out() {
    use auth_ports::MockSessionCache;
    let store = Arc::new(MemoryStore::new());
    let seeded = fixture_with(|deps| {
        deps.users = store.clone();
        deps.accounts = store.clone();
        deps.sessions = store.clone();
    });
    let up = seeded
        .auth
        .sign_up_email_session(sign_up("cache@example.com", "password-1"))
        .await
        .expect("sign-up");
    let cached = (up.session.clone(), up.user.clone());
    let mut cache = MockSessionCache::new();
    cache.expect_get().returning(move |_| {
        Ok(auth_ports::CacheLookup {
            found: Some(cached.clone()),
            ticket: auth_ports::FillTicket::default(),
            shared: false,
        })
    });
    cache.expect_invalidate().times(1).returning(|_| Ok(()));
    let mut sessions = auth_ports::MockSessionRepo::new();
    sessions
        .expect_find_with_user()
        .times(1)
        .returning(|_| Ok(None));
    sessions
        .expect_delete_by_token()
        .times(1)
        .returning(|_| Ok(true));
    let f = fixture_with(|deps| {
        deps.cache = Arc::new(cache);
        deps.sessions = Arc::new(sessions);
    });
    let found = f
        .auth
        .get_session(lookup(&up.session.token))
        .await
        .expect("ok")
        .expect("hit");
    assert_eq!(
        found.context.user.id, up.user.id,
        "served from the cache: find_with_user was not called"
    );
    f.auth
        .sign_out(&up.session.token, &ClientInfo::default())
        .await
        .expect("sign-out");
}

#[tokio::test]
async fn a_user_with_two_factor_on_never_gets_a_session_from_the_password_alone() {
    use auth_ports::{Clock, SessionRepo};
    let f = fixture();
    let guarded = f
        .auth
        .sign_up_email_session(sign_up("guarded@example.com", "password-1"))
        .await
        .expect("sign-up");
    f.auth
        .sign_up_email_session(sign_up("plain@example.com", "password-1"))
        .await
        .expect("sign-up");
    // As Better-Auth's two-factor plugin leaves the row once the factor is verified.
    f.store.set_two_factor_enabled(&guarded.user.id, true);
    let sessions_before = f
        .store
        .list_active(&guarded.user.id, f.clock.now())
        .await
        .expect("list")
        .len();
    let refused = f
        .auth
        .sign_in_email_session(sign_in("guarded@example.com", "password-1"))
        .await;
    assert!(
        matches!(refused, Err(AuthError::TwoFactorNotAvailable)),
        "{refused:?}"
    );
    let wrong = f
        .auth
        .sign_in_email_session(sign_in("guarded@example.com", "password-2"))
        .await;
    assert!(
        matches!(wrong, Err(AuthError::InvalidEmailOrPassword)),
        "a wrong password says nothing about the second factor: {wrong:?}"
    );
    let sessions_after = f
        .store
        .list_active(&guarded.user.id, f.clock.now())
        .await
        .expect("list")
        .len();
    assert_eq!(sessions_after, sessions_before, "no session was created");
    let events = f
        .auth
        .audit_events(&guarded.user.id, 10)
        .await
        .expect("events");
    assert!(
        events
            .iter()
            .any(|e| e.reason.as_deref() == Some("two_factor_not_available")),
        "{events:?}"
    );
    assert_eq!(f.auth.count_two_factor_users().await.ok(), Some(1));
    f.auth
        .sign_in_email_session(sign_in("plain@example.com", "password-1"))
        .await
        .expect("other users are unaffected");
}

/// The session store, with the next `find_with_user` (once armed) paused after it has read
/// until released, so that a revocation can be slipped between a lookup's read and its fill.
struct PausingSessions {
    inner: Arc<MemoryStore>,
    armed: std::sync::atomic::AtomicBool,
    read: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl auth_ports::SessionRepo for PausingSessions {
    async fn create(&self, session: &auth_domain::Session) -> Result<(), PortError> {
        self.inner.create(session).await
    }
    async fn find_with_user(
        &self,
        token: &SessionToken,
    ) -> Result<Option<(auth_domain::Session, auth_domain::User)>, PortError> {
        let found = self.inner.find_with_user(token).await;
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.read.notify_one();
            self.release.notified().await;
        }
        found
    }
    async fn update_expiry(
        &self,
        id: &auth_domain::SessionId,
        expires_at: time::OffsetDateTime,
        updated_at: time::OffsetDateTime,
    ) -> Result<(), PortError> {
        self.inner.update_expiry(id, expires_at, updated_at).await
    }
    async fn update_session_fields(
        &self,
        id: &auth_domain::SessionId,
        fields: &auth_domain::Fields,
    ) -> Result<(), PortError> {
        self.inner.update_session_fields(id, fields).await
    }
    async fn list_active(
        &self,
        user_id: &auth_domain::UserId,
        now: time::OffsetDateTime,
    ) -> Result<Vec<auth_domain::Session>, PortError> {
        self.inner.list_active(user_id, now).await
    }
    async fn delete_by_token(&self, token: &SessionToken) -> Result<bool, PortError> {
        self.inner.delete_by_token(token).await
    }
    async fn delete_for_user(
        &self,
        user_id: &auth_domain::UserId,
        keep: Option<SessionToken>,
    ) -> Result<u64, PortError> {
        self.inner.delete_for_user(user_id, keep).await
    }
}

#[tokio::test]
async fn a_session_revoked_while_a_lookup_fills_the_cache_is_not_served_afterwards() {
    let store = Arc::new(MemoryStore::new());
    let sessions = Arc::new(PausingSessions {
        inner: store.clone(),
        armed: std::sync::atomic::AtomicBool::new(true),
        read: tokio::sync::Notify::new(),
        release: tokio::sync::Notify::new(),
    });
    let cache =
        auth_cache_redis::LayeredSessionCache::start(&auth_cache_redis::CacheConfig::default())
            .expect("cache");
    let f = fixture_with(|deps| {
        deps.users = store.clone();
        deps.accounts = store.clone();
        deps.sessions = sessions.clone();
        deps.cache = Arc::new(cache);
    });
    // Sign up through the plain store so that no lookup is paused yet.
    let plain = fixture_with(|deps| {
        deps.users = store.clone();
        deps.accounts = store.clone();
        deps.sessions = store.clone();
    });
    let up = plain
        .auth
        .sign_up_email_session(sign_up("race@example.com", "password-1"))
        .await
        .expect("sign-up");
    let token = up.session.token.clone();
    // A lookup misses the cache, reads the (still valid) session, and is paused before it fills.
    let lookup_task = tokio::spawn({
        let auth = f.auth.clone();
        let token = token.clone();
        async move { auth.get_session(lookup(&token)).await }
    });
    sessions.read.notified().await;
    // The session is signed out meanwhile.
    f.auth
        .sign_out(&token, &ClientInfo::default())
        .await
        .expect("sign-out");
    sessions.release.notify_one();
    let raced = lookup_task.await.expect("join").expect("lookup");
    assert!(raced.is_some(), "that lookup read before the sign-out");
    // Every later lookup must miss the cache and find nothing in the store.
    let later = f.auth.get_session(lookup(&token)).await.expect("lookup");
    assert_eq!(later, None, "the revoked session came back from the cache");
}

impl Auth {
    /// A sign-up that issues a session here (no email verification required): its session.
    async fn sign_up_email_session(&self, command: SignUpEmail) -> Result<SignedIn, AuthError> {
        let up = self.sign_up_email(command).await?;
        let session = up.session.expect("sign-up issues a session here");
        Ok(SignedIn {
            user: up.user,
            session,
            cookies: Vec::new(),
        })
    }

    /// A sign-in that no plugin diverts here: its session.
    async fn sign_in_email_session(&self, command: SignInEmail) -> Result<SignedIn, AuthError> {
        self.sign_in_email(command)
            .await
            .map(|outcome| match outcome {
                crate::SignInOutcome::SignedIn(signed) => signed,
                crate::SignInOutcome::Diverted(diversion) => {
                    panic!("no plugin here diverts, yet {} did", diversion.plugin)
                }
            })
    }
}

mod api_keys;
mod email_verification;
mod organizations;
mod password_reset;
mod plugins;
mod two_factor;
mod ws_ticket;
