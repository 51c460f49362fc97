//! Password reset by email: `request-password-reset`, the link's check, `reset-password`.

use auth_domain::text::encode_uri_component;
use auth_domain::{
    Account, AccountId, AuthEvent, Email, Password, SessionEnd, UserId, Verification,
    VerificationId,
};
use auth_ports::ALPHANUMERIC;

use crate::{Auth, AuthError, ClientInfo};

/// The `verification.identifier` of a reset token.
fn identifier(token: &str) -> String {
    format!("reset-password:{token}")
}

/// `POST /reset-password`. Its `Debug` leaves the token out.
pub struct ResetPassword {
    /// The token from the link.
    pub token: String,
    /// The new password.
    pub new_password: Password,
    /// Who is asking.
    pub client: ClientInfo,
}

impl std::fmt::Debug for ResetPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetPassword")
            .field("token", &"[redacted]")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Mails a reset link to the user with this email, if there is one; answers the same
    /// either way. The link is `{api}/reset-password/<token>?callbackURL=<redirect_to>`.
    ///
    /// # Errors
    /// `ResetPasswordDisabled` without a mailer, `Invalid` for a malformed email,
    /// `Unavailable`.
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(
        &self,
        email: &str,
        redirect_to: Option<&str>,
    ) -> Result<(), AuthError> {
        let Some(mail) = self.deps().mail.clone() else {
            return Err(AuthError::ResetPasswordDisabled);
        };
        let Ok(email) = Email::parse(email) else {
            return Err(AuthError::Invalid(auth_domain::DomainError::InvalidField {
                field: "email",
            }));
        };
        let Some(user) = self.deps().users.find_by_email(&email).await? else {
            tracing::info!(target: "auth::audit", event = "password_reset_unknown_email", "password reset asked for an unknown email");
            return Ok(());
        };
        let token = self.deps().random.string(ALPHANUMERIC, 24);
        let now = self.now();
        let record = Verification {
            id: VerificationId::new(self.new_id()),
            identifier: identifier(&token),
            value: user.id.as_str().to_owned(),
            expires_at: now + self.config().email.reset_token_ttl,
            created_at: now,
            updated_at: now,
        };
        self.deps().verifications.create(&record).await?;
        let url = format!(
            "{}/reset-password/{token}?callbackURL={}",
            mail.api_url,
            encode_uri_component(redirect_to.unwrap_or_default())
        );
        mail.send(&mail.templates.reset_password, &user, &url).await;
        tracing::info!(target: "auth::audit", event = "password_reset_requested", user_id = %user.id, "password reset link sent");
        Ok(())
    }

    /// Whether a reset token is one that `reset-password` would take now (the link's check:
    /// it consumes nothing).
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn reset_token_is_valid(&self, token: &str) -> Result<bool, AuthError> {
        let found = self
            .deps()
            .verifications
            .find_latest(&identifier(token))
            .await?;
        Ok(found.is_some_and(|record| record.is_valid_at(self.now())))
    }

    /// Sets a new password with a reset token, which is used up (of racing uses, one wins).
    /// Creates the credential account of a user who had none. Revokes every session of the
    /// user unless configured otherwise.
    ///
    /// # Errors
    /// `InvalidToken`, `Invalid` for a password of the wrong length, `UserNotFound`,
    /// `Unavailable`.
    #[tracing::instrument(skip_all)]
    pub async fn reset_password(&self, command: ResetPassword) -> Result<(), AuthError> {
        if command.token.is_empty() {
            return Err(AuthError::InvalidToken);
        }
        self.config().password.check_new(&command.new_password)?;
        let now = self.now();
        let Some(record) = self
            .deps()
            .verifications
            .find_latest(&identifier(&command.token))
            .await?
            .filter(|record| record.is_valid_at(now))
        else {
            return Err(AuthError::InvalidToken);
        };
        let user_id = UserId::new(record.value.clone());
        let Some(user) = self.deps().users.find_by_id(&user_id).await? else {
            return Err(AuthError::UserNotFound);
        };
        // Hash before the token is used up, so that a hashing queue that is full leaves the
        // token for another try.
        let hash = self.deps().hasher.hash(&command.new_password).await?;
        if !self.deps().verifications.delete(&record.id).await? {
            return Err(AuthError::InvalidToken);
        }
        match self.deps().accounts.find_credential(&user.id).await? {
            Some(account) => {
                self.deps()
                    .accounts
                    .update_password(&account.id, &hash, now)
                    .await?;
            }
            None => {
                let account =
                    Account::credential(AccountId::new(self.new_id()), &user.id, hash, now);
                self.deps().accounts.create(&account).await?;
            }
        }
        tracing::info!(target: "auth::audit", event = "password_reset", user_id = %user.id, "password reset");
        self.emit(
            AuthEvent::PasswordChanged {
                user_id: user.id.clone(),
            },
            &command.client,
        )
        .await;
        if self.config().email.revoke_sessions_on_password_reset {
            self.deps().sessions.delete_for_user(&user.id, None).await?;
            self.emit(
                AuthEvent::UserSessionsEnded {
                    user_id: user.id,
                    kept: None,
                    reason: SessionEnd::PasswordReset,
                },
                &command.client,
            )
            .await;
        }
        Ok(())
    }
}
