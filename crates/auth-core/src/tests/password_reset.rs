//! Password reset in the use cases: without a mailer, for a user without a password, for a
//! user who is gone.

use auth_domain::{Account, AccountId, Email, User, UserId};
use auth_ports::{Clock as _, UserRepo};
use auth_testkit::MemoryMailer;

use super::*;

pub(super) fn with_mail(mailer: Arc<MemoryMailer>) -> Fixture {
    fixture_with(|deps| {
        deps.mail = Some(Arc::new(MailSetup {
            mailer,
            tokens: Arc::new(auth_testkit::PlainEmailTokens),
            templates: MailTemplates::default(),
            app_name: "Acme".to_owned(),
            api_url: "https://auth.example.com/api/auth".to_owned(),
        }));
    })
}

fn token_in(mailer: &MemoryMailer, to: &str) -> String {
    let mail = mailer.last_to(to).expect("mailed");
    assert!(mail.subject.contains("Acme"), "{}", mail.subject);
    let start = mail
        .text
        .find("https://auth.example.com/api/auth/reset-password/")
        .expect("link");
    mail.text[start..]
        .trim_start_matches("https://auth.example.com/api/auth/reset-password/")
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

fn reset(token: &str, password: &str) -> ResetPassword {
    ResetPassword {
        token: token.to_owned(),
        new_password: Password::new(password.to_owned()),
        client: ClientInfo::default(),
    }
}

#[tokio::test]
async fn without_a_mailer_password_reset_is_off() {
    let f = fixture();
    assert!(matches!(
        f.auth.request_password_reset("a@example.com", None).await,
        Err(AuthError::ResetPasswordDisabled)
    ));
}

#[tokio::test]
async fn a_user_without_a_password_gets_a_credential_account_from_a_reset() {
    let mailer = Arc::new(MemoryMailer::new());
    let f = with_mail(mailer.clone());
    let now = f.clock.now();
    let user = User {
        id: UserId::new("social-user"),
        name: "Social".to_owned(),
        email: Email::parse("social@example.com").expect("email"),
        email_verified: true,
        two_factor_enabled: false,
        image: None,
        created_at: now,
        updated_at: now,
        fields: Default::default(),
    };
    let github = Account {
        id: AccountId::new("github-account"),
        account_id: "12345".to_owned(),
        provider_id: "github".to_owned(),
        user_id: user.id.clone(),
        password: None,
        created_at: now,
        updated_at: now,
    };
    f.store
        .create_with_account(&user, &github)
        .await
        .expect("user");
    f.auth
        .request_password_reset("social@example.com", Some("/welcome"))
        .await
        .expect("asked");
    let token = token_in(&mailer, "social@example.com");
    f.auth
        .reset_password(reset(&token, "first-password-1"))
        .await
        .expect("reset");
    let signed = f
        .auth
        .sign_in_email_session(sign_in("social@example.com", "first-password-1"))
        .await
        .expect("the new credential account signs in");
    assert_eq!(signed.user.id, user.id);
}

#[tokio::test]
async fn a_token_of_a_user_who_is_gone_is_refused_as_user_not_found() {
    let mailer = Arc::new(MemoryMailer::new());
    let f = with_mail(mailer.clone());
    let up = f
        .auth
        .sign_up_email_session(sign_up("gone@example.com", "password-1"))
        .await
        .expect("sign-up");
    f.auth
        .request_password_reset("gone@example.com", None)
        .await
        .expect("asked");
    let token = token_in(&mailer, "gone@example.com");
    assert!(f.auth.reset_token_is_valid(&token).await.expect("check"));
    UserRepo::delete(f.store.as_ref(), &up.user.id)
        .await
        .expect("deleted");
    assert!(matches!(
        f.auth.reset_password(reset(&token, "password-2")).await,
        Err(AuthError::UserNotFound)
    ));
}

#[tokio::test]
async fn a_reset_link_nobody_followed_is_purged_a_day_after_it_expired() {
    let mailer = Arc::new(MemoryMailer::new());
    let f = with_mail(mailer.clone());
    f.auth
        .sign_up_email_session(sign_up("late@example.com", "password-1"))
        .await
        .expect("sign-up");
    f.auth
        .request_password_reset("late@example.com", None)
        .await
        .expect("asked");
    let token = token_in(&mailer, "late@example.com");
    let identifier = format!("reset-password:{token}");
    let stored = || async {
        auth_ports::VerificationRepo::find_latest(f.store.as_ref(), &identifier)
            .await
            .expect("read")
    };
    assert_eq!(f.auth.purge_expired_verifications().await.ok(), Some(0));
    assert!(stored().await.is_some(), "a live link stays");
    // Expired (a reset link lasts an hour), but within the grace: kept.
    f.clock.advance(time::Duration::hours(2));
    assert_eq!(f.auth.purge_expired_verifications().await.ok(), Some(0));
    assert!(stored().await.is_some(), "expired less than a day ago");
    f.clock.advance(crate::EXPIRED_VERIFICATION_GRACE);
    assert_eq!(f.auth.purge_expired_verifications().await.ok(), Some(1));
    assert!(stored().await.is_none(), "purged");
}

#[test]
fn commands_with_tokens_never_show_them_in_debug() {
    let shown = format!("{:?}", reset("secret-token-123", "password-9"));
    assert!(!shown.contains("secret-token-123"), "{shown}");
    let delete = DeleteUser {
        password: Some(Password::new("hunter2-hunter2".to_owned())),
        token: Some("delete-token-456".to_owned()),
        callback_url: None,
        client: ClientInfo::default(),
    };
    let shown = format!("{delete:?}");
    assert!(
        !shown.contains("delete-token-456") && !shown.contains("hunter2"),
        "{shown}"
    );
}
