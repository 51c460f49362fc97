//! The two-factor use cases on the in-memory store with the real cryptography: enrolment,
//! the first code turning it on, the diverted sign-in and its completion, single-use codes,
//! the challenge's attempt cap, the account lockout, clock-controlled windows, backup codes,
//! and turning it off.

use auth_crypto::TwoFactorCipher;
use auth_domain::Secret;
use auth_domain::two_factor::{Totp, totp_key};
use auth_ports::{Clock, SessionRepo, TwoFactorCrypto, TwoFactorRepo, UserRepo};

use super::*;

const PASSWORD: &str = "password-123";

struct TwoFa {
    auth: Auth,
    two_factors: TwoFactors,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    cipher: Arc<TwoFactorCipher>,
}

fn two_fa() -> TwoFa {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 0:00 UTC)));
    let cipher = Arc::new(TwoFactorCipher::new(&Secret::new(
        "a-test-secret-of-32-characters!!".to_owned(),
    )));
    let two_factors = TwoFactors::new(store.clone(), cipher.clone(), TwoFactorConfig::default());
    let auth = Auth::with_plugins(
        deps(&store, &clock),
        AuthConfig::default(),
        vec![Arc::new(two_factors.clone())],
    );
    TwoFa {
        auth,
        two_factors,
        store,
        clock,
        cipher,
    }
}

impl TwoFa {
    async fn user(&self, email: &str) -> AuthContext {
        let signed = self
            .auth
            .sign_up_email_session(sign_up(email, PASSWORD))
            .await
            .expect("sign-up");
        context(&self.auth, &signed.session.token).await
    }

    /// The code of the user's secret at `step_offset` steps from now.
    async fn code(&self, who: &AuthContext, step_offset: i64) -> String {
        self.code_of_user(&who.user.id, step_offset).await
    }

    async fn code_of_user(&self, user_id: &auth_domain::UserId, step_offset: i64) -> String {
        let row = self
            .store
            .find_two_factor(user_id)
            .await
            .expect("find")
            .expect("a row");
        let secret = self.cipher.open(&row.sealed_secret).expect("open");
        let key = totp_key(secret.expose()).expect("key");
        let step = Totp::default().step_at(self.clock.now()) + step_offset;
        self.cipher.totp(&key, step, 6)
    }

    async fn enrolled(&self, email: &str) -> (AuthContext, Vec<String>) {
        let who = self.user(email).await;
        let enrolment = self
            .two_factors
            .enable(&self.auth, &who, Some(&password()), None)
            .await
            .expect("enable");
        let code = self.code(&who, 0).await;
        let done = self
            .two_factors
            .verify_totp(&self.auth, Proof::Session(&who), &code)
            .await
            .expect("first code");
        (
            context(&self.auth, &done.session.token).await,
            enrolment.backup_codes,
        )
    }

    /// A diverted sign-in's challenge id.
    async fn challenge(&self, email: &str) -> String {
        match self
            .auth
            .sign_in_email(sign_in(email, PASSWORD))
            .await
            .expect("sign-in")
        {
            SignInOutcome::Diverted(diversion) => {
                assert_eq!(diversion.details, ["totp"], "no mail: TOTP only");
                diversion.challenge.expect("a challenge").expose().clone()
            }
            SignInOutcome::SignedIn(_) => panic!("a user with two-factor signed in"),
        }
    }
}

fn password() -> Password {
    Password::new(PASSWORD.to_owned())
}

fn challenge_proof<'a>(id: &'a str, client: &'a ClientInfo) -> Proof<'a> {
    Proof::Challenge {
        id,
        remember_me: true,
        trust_device: false,
        client,
    }
}

fn code_of<T: std::fmt::Debug>(result: Result<T, AuthError>) -> String {
    match result {
        Err(error) => error.code().unwrap_or("none").to_owned(),
        Ok(value) => panic!("expected a refusal, got {value:?}"),
    }
}

#[tokio::test]
async fn enrolment_needs_the_password_and_the_first_code_turns_it_on() {
    let t = two_fa();
    let ada = t.user("ada@example.com").await;
    for wrong in [None, Some(Password::new("wrong-password".to_owned()))] {
        assert_eq!(
            code_of(
                t.two_factors
                    .enable(&t.auth, &ada, wrong.as_ref(), None)
                    .await
            ),
            "INVALID_PASSWORD"
        );
    }
    let enrolment = t
        .two_factors
        .enable(&t.auth, &ada, Some(&password()), Some("Acme"))
        .await
        .expect("enable");
    assert!(
        enrolment
            .totp_uri
            .starts_with("otpauth://totp/Acme:ada%40example.com?secret="),
        "{}",
        enrolment.totp_uri
    );
    assert_eq!(enrolment.backup_codes.len(), 10);
    assert!(
        enrolment
            .backup_codes
            .iter()
            .all(|code| code.len() == 11 && &code[5..6] == "-")
    );
    let reread = context(&t.auth, &ada.session.token).await;
    assert!(
        !reread.user.two_factor_enabled,
        "not on before the first code"
    );
    assert!(matches!(
        t.auth
            .sign_in_email(sign_in("ada@example.com", PASSWORD))
            .await,
        Ok(SignInOutcome::SignedIn(_))
    ));
    let uri = t
        .two_factors
        .totp_uri(&t.auth, &ada, Some(&password()))
        .await
        .expect("uri");
    assert!(uri.starts_with("otpauth://totp/Better%20Auth:ada%40example.com"));

    assert_eq!(
        code_of(
            t.two_factors
                .verify_totp(&t.auth, Proof::Session(&ada), "000000")
                .await
        ),
        "INVALID_CODE"
    );
    let code = t.code(&ada, 0).await;
    let done = t
        .two_factors
        .verify_totp(&t.auth, Proof::Session(&ada), &code)
        .await
        .expect("first code");
    assert!(done.issued, "the session is rotated");
    assert!(done.user.two_factor_enabled);
    assert!(
        t.store
            .find_with_user(&ada.session.token)
            .await
            .expect("find")
            .is_none(),
        "the old session ended"
    );
    let rotated = context(&t.auth, &done.session.token).await;
    assert!(rotated.user.two_factor_enabled);
    assert_eq!(
        code_of(
            t.two_factors
                .verify_totp(&t.auth, Proof::Session(&rotated), &code)
                .await
        ),
        "INVALID_CODE",
        "a code is accepted once"
    );
    assert_eq!(
        code_of(
            t.two_factors
                .enable(&t.auth, &rotated, Some(&password()), None)
                .await
        ),
        "TOTP_ALREADY_ENABLED"
    );
}

#[tokio::test]
async fn a_sign_in_is_diverted_and_completed_with_a_code_once() {
    let t = two_fa();
    t.enrolled("bob@example.com").await;
    let sessions_before = t.store.session_count();
    let challenge = t.challenge("bob@example.com").await;
    assert_eq!(
        t.store.session_count(),
        sessions_before,
        "no session for the password alone"
    );
    let client = ClientInfo::default();
    t.clock.advance(Duration::seconds(30));
    let bob = t
        .store
        .find_by_email(&auth_domain::Email::parse("bob@example.com").expect("email"))
        .await
        .expect("find")
        .expect("bob");
    let code = t.code_of_user(&bob.id, 0).await;
    let done = t
        .two_factors
        .verify_totp(&t.auth, challenge_proof(&challenge, &client), &code)
        .await
        .expect("complete");
    assert!(done.issued);
    assert_eq!(t.store.session_count(), sessions_before + 1);
    assert_eq!(
        code_of(
            t.two_factors
                .verify_totp(&t.auth, challenge_proof(&challenge, &client), &code)
                .await
        ),
        "INVALID_TWO_FACTOR_COOKIE",
        "a challenge completes once"
    );
    assert_eq!(
        code_of(
            t.two_factors
                .verify_totp(&t.auth, challenge_proof("2fa-forged", &client), &code)
                .await
        ),
        "INVALID_TWO_FACTOR_COOKIE"
    );
    assert_eq!(
        code_of(
            t.two_factors
                .verify_totp(&t.auth, challenge_proof("not-a-challenge", &client), &code)
                .await
        ),
        "INVALID_TWO_FACTOR_COOKIE"
    );
}

#[tokio::test]
async fn the_previous_and_next_steps_are_accepted_and_nothing_older() {
    let t = two_fa();
    let (cy, _) = t.enrolled("cy@example.com").await;
    for (offset, accepted) in [(-2, false), (2, false), (-1, true), (1, true)] {
        t.clock.advance(Duration::seconds(90));
        let code = t.code(&cy, offset).await;
        let result = t
            .two_factors
            .verify_totp(&t.auth, Proof::Session(&cy), &code)
            .await;
        assert_eq!(result.is_ok(), accepted, "offset {offset}");
    }
}

#[tokio::test]
async fn a_challenge_allows_five_wrong_codes_and_the_account_locks_after_ten() {
    let t = two_fa();
    let (dan, _) = t.enrolled("dan@example.com").await;
    let client = ClientInfo::default();
    let first = t.challenge("dan@example.com").await;
    for _ in 0..5 {
        assert_eq!(
            code_of(
                t.two_factors
                    .verify_totp(&t.auth, challenge_proof(&first, &client), "000000")
                    .await
            ),
            "INVALID_CODE"
        );
    }
    let right = t.code(&dan, 0).await;
    assert_eq!(
        code_of(
            t.two_factors
                .verify_totp(&t.auth, challenge_proof(&first, &client), &right)
                .await
        ),
        "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE",
        "spent, even with the right code"
    );
    assert_eq!(
        code_of(
            t.two_factors
                .verify_totp(&t.auth, challenge_proof(&first, &client), &right)
                .await
        ),
        "INVALID_TWO_FACTOR_COOKIE"
    );
    let second = t.challenge("dan@example.com").await;
    for _ in 0..4 {
        code_of(
            t.two_factors
                .verify_backup_code(&t.auth, challenge_proof(&second, &client), "nope-nope")
                .await,
        );
    }
    let third = t.challenge("dan@example.com").await;
    assert_eq!(
        code_of(
            t.two_factors
                .verify_totp(&t.auth, challenge_proof(&third, &client), "000000")
                .await
        ),
        "INVALID_CODE",
        "the tenth failure"
    );
    assert_eq!(
        code_of(
            t.two_factors
                .verify_totp(&t.auth, challenge_proof(&third, &client), &right)
                .await
        ),
        "ACCOUNT_TEMPORARILY_LOCKED"
    );
    t.clock.advance(Duration::minutes(15));
    assert_eq!(
        code_of(
            t.two_factors
                .verify_totp(&t.auth, challenge_proof(&third, &client), &right)
                .await
        ),
        "INVALID_TWO_FACTOR_COOKIE",
        "the challenge ran out too"
    );
    let fourth = t.challenge("dan@example.com").await;
    let fresh = t.code(&dan, 0).await;
    t.two_factors
        .verify_totp(&t.auth, challenge_proof(&fourth, &client), &fresh)
        .await
        .expect("the lock ran out");
}

#[tokio::test]
async fn backup_codes_are_single_use_and_regenerated_with_the_password() {
    let t = two_fa();
    let (eve, codes) = t.enrolled("eve@example.com").await;
    let client = ClientInfo::default();
    let challenge = t.challenge("eve@example.com").await;
    t.two_factors
        .verify_backup_code(&t.auth, challenge_proof(&challenge, &client), &codes[0])
        .await
        .expect("a backup code completes the sign-in");
    let again = t.challenge("eve@example.com").await;
    assert_eq!(
        code_of(
            t.two_factors
                .verify_backup_code(&t.auth, challenge_proof(&again, &client), &codes[0])
                .await
        ),
        "INVALID_BACKUP_CODE",
        "once"
    );
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (auth, two_factors, eve, code) = (
                t.auth.clone(),
                t.two_factors.clone(),
                eve.clone(),
                codes[1].clone(),
            );
            tokio::spawn(async move {
                two_factors
                    .verify_backup_code(&auth, Proof::Session(&eve), &code)
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut redeemed = 0;
    for task in tasks {
        if task.await.expect("task") {
            redeemed += 1;
        }
    }
    assert_eq!(redeemed, 1, "twenty redemptions of one code: one");
    let fresh = t
        .two_factors
        .generate_backup_codes(&t.auth, &eve, Some(&password()))
        .await
        .expect("regenerate");
    assert_eq!(
        code_of(
            t.two_factors
                .verify_backup_code(&t.auth, Proof::Session(&eve), &codes[2])
                .await
        ),
        "INVALID_BACKUP_CODE",
        "the old codes are gone"
    );
    t.two_factors
        .verify_backup_code(&t.auth, Proof::Session(&eve), &fresh[0])
        .await
        .expect("a new code");
    let outsider = t.user("fay@example.com").await;
    assert_eq!(
        code_of(
            t.two_factors
                .generate_backup_codes(&t.auth, &outsider, Some(&password()))
                .await
        ),
        "TWO_FACTOR_NOT_ENABLED"
    );
}

#[tokio::test]
async fn ten_parallel_answers_to_one_challenge_make_one_session_at_most() {
    let t = two_fa();
    let (gus, _) = t.enrolled("gus@example.com").await;
    t.clock.advance(Duration::seconds(30));
    let challenge = t.challenge("gus@example.com").await;
    let code = t.code(&gus, 0).await;
    let before = t.store.session_count();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (auth, two_factors, challenge, code) = (
                t.auth.clone(),
                t.two_factors.clone(),
                challenge.clone(),
                code.clone(),
            );
            tokio::spawn(async move {
                let client = ClientInfo::default();
                two_factors
                    .verify_totp(&auth, challenge_proof(&challenge, &client), &code)
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut completed = 0;
    for task in tasks {
        if task.await.expect("task") {
            completed += 1;
        }
    }
    assert!(completed <= 1, "{completed}");
    assert_eq!(t.store.session_count(), before + completed);
}

#[tokio::test]
async fn turning_it_off_rotates_the_session_and_sign_in_needs_the_password_only() {
    let t = two_fa();
    let (hal, _) = t.enrolled("hal@example.com").await;
    assert_eq!(
        code_of(
            t.two_factors
                .disable(&t.auth, &hal, None, &ClientInfo::default())
                .await
        ),
        "INVALID_PASSWORD"
    );
    let done = t
        .two_factors
        .disable(&t.auth, &hal, Some(&password()), &ClientInfo::default())
        .await
        .expect("disable");
    assert!(done.issued && !done.user.two_factor_enabled);
    assert!(matches!(
        t.auth
            .sign_in_email(sign_in("hal@example.com", PASSWORD))
            .await,
        Ok(SignInOutcome::SignedIn(_))
    ));
    assert_eq!(
        code_of(
            t.two_factors
                .totp_uri(
                    &t.auth,
                    &context(&t.auth, &done.session.token).await,
                    Some(&password())
                )
                .await
        ),
        "TOTP_NOT_ENABLED"
    );
}

fn with_device(cookie: &crate::PluginCookie) -> ClientInfo {
    let mut client = ClientInfo::default();
    client.cookies.insert(
        crate::two_factor::TRUST_DEVICE_COOKIE,
        cookie.value.clone().expect("a value"),
    );
    client
}

#[tokio::test]
async fn a_trusted_device_skips_the_factor_once_per_token_and_is_renewed() {
    let t = two_fa();
    let (ivy, _) = t.enrolled("ivy@example.com").await;
    let challenge = t.challenge("ivy@example.com").await;
    let plain = ClientInfo::default();
    let trusting = Proof::Challenge {
        id: &challenge,
        remember_me: true,
        trust_device: true,
        client: &plain,
    };
    let code = t.code(&ivy, 1).await;
    let done = t
        .two_factors
        .verify_totp(&t.auth, trusting, &code)
        .await
        .expect("complete and trust");
    let cookie = done.trusted_device.expect("a trust cookie");
    assert_eq!(cookie.max_age, Some(Duration::days(30)));

    let sign_in_from = |client: ClientInfo| SignInEmail {
        client,
        ..sign_in("ivy@example.com", PASSWORD)
    };
    let renewed = match t
        .auth
        .sign_in_email(sign_in_from(with_device(&cookie)))
        .await
        .expect("sign-in")
    {
        SignInOutcome::SignedIn(signed) => {
            assert_eq!(signed.cookies.len(), 1, "the token is renewed");
            signed.cookies[0].clone()
        }
        SignInOutcome::Diverted(_) => panic!("a trusted device was asked for the factor"),
    };
    assert_ne!(
        renewed.value.as_ref().map(|value| value.expose().clone()),
        cookie.value.as_ref().map(|value| value.expose().clone())
    );
    match t
        .auth
        .sign_in_email(sign_in_from(with_device(&cookie)))
        .await
        .expect("sign-in")
    {
        SignInOutcome::Diverted(diversion) => {
            assert!(
                diversion.cookies.iter().any(|c| c.value.is_none()),
                "a spent token is expired"
            );
        }
        SignInOutcome::SignedIn(_) => panic!("a spent trust token skipped the factor again"),
    }
    // Another user's token, or a forged one, vouches for nothing.
    let forged = crate::PluginCookie::set(
        crate::two_factor::TRUST_DEVICE_COOKIE,
        Secret::new("forged!trust-device-abc".to_owned()),
        Duration::days(1),
    );
    assert!(matches!(
        t.auth
            .sign_in_email(sign_in_from(with_device(&forged)))
            .await,
        Ok(SignInOutcome::Diverted(_))
    ));
    // Turning two-factor off from the device revokes its trust.
    let session = t
        .auth
        .sign_in_email(sign_in_from(with_device(&renewed)))
        .await
        .expect("sign-in");
    let SignInOutcome::SignedIn(signed) = session else {
        panic!("the renewed token is trusted");
    };
    let latest = signed.cookies[0].clone();
    let signed_in = context(&t.auth, &signed.session.token).await;
    let off = t
        .two_factors
        .disable(
            &t.auth,
            &signed_in,
            Some(&password()),
            &with_device(&latest),
        )
        .await
        .expect("disable");
    let after = context(&t.auth, &off.session.token).await;
    t.two_factors
        .enable(&t.auth, &after, Some(&password()), None)
        .await
        .expect("enrol again");
    let code = t.code(&after, 0).await;
    t.clock.advance(Duration::seconds(60));
    let _ = code;
    let fresh = t.code(&after, 0).await;
    t.two_factors
        .verify_totp(&t.auth, Proof::Session(&after), &fresh)
        .await
        .expect("on again");
    assert!(
        matches!(
            t.auth
                .sign_in_email(sign_in_from(with_device(&latest)))
                .await,
            Ok(SignInOutcome::Diverted(_))
        ),
        "turning two-factor off revoked the device's trust"
    );
}

#[test]
fn every_two_factor_route_is_limited_to_three_requests_per_ten_seconds() {
    let t = two_fa();
    for route in [
        "/two-factor/send-otp",
        "/two-factor/verify-totp",
        "/two-factor/enable",
    ] {
        let rule = t.auth.rule_for(route).1;
        assert_eq!(
            (rule.max, rule.window),
            (3, Duration::seconds(10)),
            "{route}"
        );
    }
    assert_ne!(t.auth.rule_for("/two-factorx").1.max, 3);
}

#[tokio::test]
async fn concurrent_answers_cannot_slip_past_the_lockout() {
    let t = two_fa();
    t.enrolled("jo@example.com").await;
    let plain = ClientInfo::default();
    for _ in 0..3 {
        let challenge = t.challenge("jo@example.com").await;
        for _ in 0..3 {
            code_of(
                t.two_factors
                    .verify_totp(&t.auth, challenge_proof(&challenge, &plain), "000000")
                    .await,
            );
        }
    }
    // Nine failures: three challenges answered at once leave room for one more.
    let mut challenges = Vec::new();
    for _ in 0..3 {
        challenges.push(t.challenge("jo@example.com").await);
    }
    let tasks: Vec<_> = challenges
        .into_iter()
        .map(|challenge| {
            let (auth, two_factors) = (t.auth.clone(), t.two_factors.clone());
            tokio::spawn(async move {
                let client = ClientInfo::default();
                code_of(
                    two_factors
                        .verify_totp(&auth, challenge_proof(&challenge, &client), "000000")
                        .await,
                )
            })
        })
        .collect();
    let mut codes = Vec::new();
    for task in tasks {
        codes.push(task.await.expect("task"));
    }
    codes.sort();
    assert_eq!(
        codes,
        [
            "ACCOUNT_TEMPORARILY_LOCKED",
            "ACCOUNT_TEMPORARILY_LOCKED",
            "INVALID_CODE"
        ]
    );
}
