//! Email verification in the use cases.

use auth_ports::{Clock as _, EmailTokens as _};
use auth_testkit::{MemoryMailer, PlainEmailTokens};

use super::password_reset::with_mail;
use super::*;

fn token_in(mailer: &MemoryMailer, to: &str) -> String {
    let mail = mailer.last_to(to).expect("mailed");
    let start = mail.text.find("verify-email?token=").expect("link") + "verify-email?token=".len();
    mail.text[start..]
        .split('&')
        .next()
        .expect("token")
        .to_owned()
}

fn with_rules(mailer: Arc<MemoryMailer>, rules: EmailRules) -> Fixture {
    let f = with_mail(mailer);
    let deps = f.auth.deps().clone();
    Fixture {
        auth: Auth::new(
            deps,
            AuthConfig {
                email: rules,
                ..AuthConfig::default()
            },
        ),
        ..f
    }
}

#[tokio::test]
async fn a_link_verifies_the_address_once_and_can_sign_the_user_in() {
    let mailer = Arc::new(MemoryMailer::new());
    let f = with_rules(
        mailer.clone(),
        EmailRules {
            auto_sign_in_after_verification: true,
            ..EmailRules::default()
        },
    );
    let up = f
        .auth
        .sign_up_email_session(sign_up("verify@example.com", "password-1"))
        .await
        .expect("sign-up");
    f.auth
        .send_verification_email("verify@example.com", Some("/done"), None)
        .await
        .expect("sent");
    let mail = mailer.last_to("verify@example.com").expect("mailed");
    assert!(mail.text.contains("&callbackURL=%2Fdone"), "{}", mail.text);
    let token = token_in(&mailer, "verify@example.com");
    let verified = f
        .auth
        .verify_email(&token, None, None, &ClientInfo::default())
        .await
        .expect("verified");
    assert!(verified.session.is_some(), "signed in after verification");
    let ctx = context(&f.auth, &up.session.token).await;
    assert!(ctx.user.email_verified);
    // Again: nothing to do, no new session.
    let again = f
        .auth
        .verify_email(&token, None, None, &ClientInfo::default())
        .await
        .expect("verified");
    assert!(again.session.is_none());
    // With a session: already verified.
    assert!(matches!(
        f.auth
            .send_verification_email("verify@example.com", None, Some(&ctx))
            .await,
        Err(AuthError::EmailAlreadyVerified)
    ));
    assert!(matches!(
        f.auth
            .send_verification_email("other@example.com", None, Some(&ctx))
            .await,
        Err(AuthError::EmailMismatch)
    ));
}

#[tokio::test]
async fn bad_expired_and_orphaned_links_are_refused_with_their_codes() {
    let mailer = Arc::new(MemoryMailer::new());
    let f = with_mail(mailer.clone());
    let up = f
        .auth
        .sign_up_email_session(sign_up("refused@example.com", "password-1"))
        .await
        .expect("sign-up");
    let refusal = |result: Result<VerifiedEmail, AuthError>| match result {
        Err(AuthError::VerificationRefused(refusal)) => Some(refusal),
        _ => None,
    };
    let client = ClientInfo::default();
    assert_eq!(
        refusal(f.auth.verify_email("garbage", None, None, &client).await),
        Some(VerificationRefusal::InvalidToken)
    );
    let now = f.clock.now();
    let claims = |email: &str, user: &str, expires_at| auth_domain::EmailClaims {
        email: email.to_owned(),
        update_to: None,
        user_id: Some(user.to_owned()),
        request_type: None,
        issued_at: now,
        expires_at,
    };
    let tokens = PlainEmailTokens;
    let expired = tokens
        .sign(&claims("refused@example.com", up.user.id.as_str(), now))
        .expect("token");
    assert_eq!(
        refusal(f.auth.verify_email(&expired, None, None, &client).await),
        Some(VerificationRefusal::TokenExpired)
    );
    let later = now + Duration::hours(1);
    let nobody = tokens
        .sign(&claims("nobody@example.com", "x", later))
        .expect("token");
    assert_eq!(
        refusal(f.auth.verify_email(&nobody, None, None, &client).await),
        Some(VerificationRefusal::UserNotFound)
    );
    let someone_else = tokens
        .sign(&claims("refused@example.com", "another-user", later))
        .expect("token");
    assert_eq!(
        refusal(
            f.auth
                .verify_email(&someone_else, None, None, &client)
                .await
        ),
        Some(VerificationRefusal::InvalidToken)
    );
    // Without a session, unknown and verified addresses get no mail and the same answer.
    f.auth
        .send_verification_email("nobody@example.com", None, None)
        .await
        .expect("same answer");
    assert!(mailer.last_to("nobody@example.com").is_none());
    assert!(matches!(
        fixture()
            .auth
            .send_verification_email("a@example.com", None, None)
            .await,
        Err(AuthError::VerificationEmailNotEnabled)
    ));
}

#[tokio::test]
async fn with_verification_required_sign_up_issues_no_session_and_sign_in_waits_for_the_link() {
    let mailer = Arc::new(MemoryMailer::new());
    let f = with_rules(
        mailer.clone(),
        EmailRules {
            require_email_verification: true,
            ..EmailRules::default()
        },
    );
    let up = f
        .auth
        .sign_up_email(sign_up("wait@example.com", "password-1"))
        .await
        .expect("sign-up");
    assert!(up.session.is_none());
    assert!(
        mailer.last_to("wait@example.com").is_some(),
        "the link was mailed"
    );
    // A taken email: the same kind of answer, with a user made up on the spot.
    let taken = f
        .auth
        .sign_up_email(sign_up("wait@example.com", "password-2"))
        .await
        .expect("no conflict shown");
    assert!(taken.session.is_none());
    assert_ne!(taken.user.id, up.user.id);
    assert!(matches!(
        f.auth
            .sign_in_email(sign_in("wait@example.com", "password-1"))
            .await,
        Err(AuthError::EmailNotVerified)
    ));
    let token = token_in(&mailer, "wait@example.com");
    f.auth
        .verify_email(&token, None, None, &ClientInfo::default())
        .await
        .expect("verified");
    assert!(
        f.auth
            .sign_in_email_session(sign_in("wait@example.com", "password-1"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_legacy_change_link_changes_the_address_at_once_and_unverifies_it() {
    let mailer = Arc::new(MemoryMailer::new());
    let f = with_rules(
        mailer.clone(),
        EmailRules {
            change_email_enabled: true,
            ..EmailRules::default()
        },
    );
    let up = f
        .auth
        .sign_up_email_session(sign_up("legacy@example.com", "password-1"))
        .await
        .expect("sign-up");
    f.auth
        .sign_up_email_session(sign_up("occupied@example.com", "password-1"))
        .await
        .expect("sign-up");
    let now = f.clock.now();
    let legacy = |to: &str| auth_domain::EmailClaims {
        email: "legacy@example.com".to_owned(),
        update_to: Some(to.to_owned()),
        user_id: Some(up.user.id.as_str().to_owned()),
        request_type: None,
        issued_at: now,
        expires_at: now + Duration::hours(1),
    };
    let client = ClientInfo::default();
    // The new address was taken meanwhile: refused, nothing changes.
    let clash = PlainEmailTokens
        .sign(&legacy("occupied@example.com"))
        .expect("token");
    assert!(matches!(
        f.auth.verify_email(&clash, None, None, &client).await,
        Err(AuthError::UserAlreadyExists)
    ));
    let token = PlainEmailTokens
        .sign(&legacy("moved@example.com"))
        .expect("token");
    let changed = f
        .auth
        .verify_email(&token, None, None, &client)
        .await
        .expect("changed");
    let Verified::EmailChanged(user) = changed.outcome else {
        panic!("changed");
    };
    assert_eq!(user.email.as_str(), "moved@example.com");
    assert!(!user.email_verified);
    assert!(
        mailer.last_to("moved@example.com").is_some(),
        "a verification link went to the new address"
    );
    // Without a mailer there is no way to change an address.
    let ctx = context(&f.auth, &up.session.token).await;
    let bare = Auth::new(
        AuthDeps {
            mail: None,
            ..f.auth.deps().clone()
        },
        AuthConfig {
            email: EmailRules {
                change_email_enabled: true,
                ..EmailRules::default()
            },
            ..AuthConfig::default()
        },
    );
    assert!(matches!(
        bare.change_email(&ctx, "elsewhere@example.com", None).await,
        Err(AuthError::NoEmailChangeFlow)
    ));
}

#[tokio::test]
async fn a_profile_update_from_a_stale_session_keeps_a_verification_made_meanwhile() {
    let mailer = Arc::new(MemoryMailer::new());
    let f = with_mail(mailer.clone());
    let up = f
        .auth
        .sign_up_email_session(sign_up("stale@example.com", "password-1"))
        .await
        .expect("sign-up");
    let stale = context(&f.auth, &up.session.token).await;
    f.auth
        .send_verification_email("stale@example.com", None, None)
        .await
        .expect("sent");
    let token = token_in(&mailer, "stale@example.com");
    f.auth
        .verify_email(&token, None, None, &ClientInfo::default())
        .await
        .expect("verified");
    let updated = f
        .auth
        .update_user(
            &stale,
            UpdateUser {
                name: Some("Renamed".to_owned()),
                image: None,
            },
        )
        .await
        .expect("updated");
    assert!(updated.email_verified, "not written back as unverified");
    assert_eq!(updated.name, "Renamed");
}

#[tokio::test]
async fn a_verification_link_never_signs_in_a_user_with_a_second_factor() {
    let mailer = Arc::new(MemoryMailer::new());
    let f = with_rules(
        mailer.clone(),
        EmailRules {
            auto_sign_in_after_verification: true,
            ..EmailRules::default()
        },
    );
    let up = f
        .auth
        .sign_up_email_session(sign_up("guarded@example.com", "password-1"))
        .await
        .expect("sign-up");
    f.store.set_two_factor_enabled(&up.user.id, true);
    f.auth
        .send_verification_email("guarded@example.com", None, None)
        .await
        .expect("sent");
    let token = token_in(&mailer, "guarded@example.com");
    let verified = f
        .auth
        .verify_email(&token, None, None, &ClientInfo::default())
        .await
        .expect("verified");
    assert!(
        verified.session.is_none(),
        "the mailbox alone does not open an account with a second factor"
    );
}
