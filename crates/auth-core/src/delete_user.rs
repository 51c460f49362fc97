//! Account deletion: `delete-user` (by password, by a fresh session, or by an emailed link)
//! and the link's `delete-user/callback`.

use auth_domain::text::encode_uri_component;
use auth_domain::{AuthEvent, Password, Verification, VerificationId};
use auth_ports::LOWER_ALPHANUMERIC;

use crate::{Auth, AuthContext, AuthError, ClientInfo};

/// `POST /delete-user`. Its `Debug` leaves the password and the token out.
pub struct DeleteUser {
    /// The user's password, to confirm.
    pub password: Option<Password>,
    /// The token from a deletion link.
    pub token: Option<String>,
    /// Where the deletion link leads afterwards.
    pub callback_url: Option<String>,
    /// Who is asking.
    pub client: ClientInfo,
}

/// What `delete-user` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The user is gone.
    Deleted,
    /// A deletion link was mailed.
    VerificationSent,
}

impl std::fmt::Debug for DeleteUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeleteUser")
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("callback_url", &self.callback_url)
            .field("client", &self.client)
            .finish()
    }
}

fn identifier(token: &str) -> String {
    format!("delete-account-{token}")
}

impl Auth {
    /// Deletes the signed-in user, in Better-Auth's order: a password given must be right; a
    /// token given deletes; with deletion by link, a link is mailed; otherwise the session must
    /// be fresh.
    ///
    /// # Errors
    /// `DeleteUserDisabled`, `CredentialAccountNotFound`, `InvalidPassword`,
    /// `DeleteTokenInvalid`, `SessionExpired`, `Unavailable`.
    pub async fn delete_user(
        &self,
        context: &AuthContext,
        command: DeleteUser,
    ) -> Result<DeleteOutcome, AuthError> {
        let rules = self.config().email;
        if !rules.delete_user_enabled {
            return Err(AuthError::DeleteUserDisabled);
        }
        if let Some(password) = &command.password {
            self.config().password.check_max(password)?;
            self.verify_password(context, password).await?;
        }
        if let Some(token) = &command.token {
            self.delete_with_token(context, token, &command.client)
                .await?;
            return Ok(DeleteOutcome::Deleted);
        }
        if rules.delete_user_verification
            && let Some(mail) = self.deps().mail.clone()
        {
            let token = self.deps().random.string(LOWER_ALPHANUMERIC, 32);
            let now = self.now();
            self.deps()
                .verifications
                .create(&Verification {
                    id: VerificationId::new(self.new_id()),
                    identifier: identifier(&token),
                    value: context.user.id.as_str().to_owned(),
                    expires_at: now + rules.delete_token_ttl,
                    created_at: now,
                    updated_at: now,
                })
                .await?;
            let url = format!(
                "{}/delete-user/callback?token={token}&callbackURL={}",
                mail.api_url,
                encode_uri_component(command.callback_url.as_deref().unwrap_or("/"))
            );
            mail.send(&mail.templates.delete_account, &context.user, &url)
                .await;
            return Ok(DeleteOutcome::VerificationSent);
        }
        let fresh_age = self.config().session.fresh_age;
        if command.password.is_none()
            && !fresh_age.is_zero()
            && self.now() - context.session.created_at >= fresh_age
        {
            return Err(AuthError::SessionExpired);
        }
        self.delete_account(context, &command.client).await?;
        Ok(DeleteOutcome::Deleted)
    }

    /// Deletes the signed-in user with the token of a deletion link.
    ///
    /// # Errors
    /// `DeleteUserDisabled`, `DeleteTokenInvalid`, `Unavailable`.
    pub async fn delete_user_by_link(
        &self,
        context: &AuthContext,
        token: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if !self.config().email.delete_user_enabled {
            return Err(AuthError::DeleteUserDisabled);
        }
        self.delete_with_token(context, token, client).await
    }

    /// Uses up a deletion token of this user (of racing uses, one wins), then deletes them.
    async fn delete_with_token(
        &self,
        context: &AuthContext,
        token: &str,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let now = self.now();
        let record = self
            .deps()
            .verifications
            .find_latest(&identifier(token))
            .await?
            .filter(|record| record.is_valid_at(now) && record.value == context.user.id.as_str());
        let Some(record) = record else {
            return Err(AuthError::DeleteTokenInvalid);
        };
        if !self.deps().verifications.delete(&record.id).await? {
            return Err(AuthError::DeleteTokenInvalid);
        }
        self.delete_account(context, client).await
    }

    async fn delete_account(
        &self,
        context: &AuthContext,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.deps().users.delete(&context.user.id).await?;
        self.emit(
            AuthEvent::UserDeleted {
                user_id: context.user.id.clone(),
            },
            client,
        )
        .await;
        Ok(())
    }
}
