//! Email verification and change of address: `send-verification-email`, `change-email`,
//! `verify-email` (plain, and the change-of-address links), and the mail sign-up sends.

use auth_domain::text::encode_uri_component;
use auth_domain::{Email, EmailClaims, Session, User};
use auth_ports::EmailTokenError;

use crate::{Auth, AuthContext, AuthError, ClientInfo, VerificationRefusal};

/// What a followed verification link did.
#[derive(Debug, Clone)]
pub struct VerifiedEmail {
    /// The session it signed the user into (`autoSignInAfterVerification`), if any.
    pub session: Option<Session>,
    /// Which link it was.
    pub outcome: Verified,
}

/// The kinds of verification link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// An address verified (or already verified).
    Address,
    /// The current address confirmed a change: a link went to the new one.
    ChangeConfirmed,
    /// The address changed; the user as they are now.
    EmailChanged(User),
}

const CONFIRMATION: &str = "change-email-confirmation";
const VERIFICATION: &str = "change-email-verification";

impl Auth {
    /// Mails a verification link for `email`. Without a session the answer is the same for
    /// every address (the mail goes only to an existing, unverified one); with a session the
    /// address must be the user's own and not yet verified.
    ///
    /// # Errors
    /// `VerificationEmailNotEnabled` without a mailer, `EmailMismatch`,
    /// `EmailAlreadyVerified`, `Invalid` for a malformed email, `Unavailable`.
    pub async fn send_verification_email(
        &self,
        email: &str,
        callback_url: Option<&str>,
        session: Option<&AuthContext>,
    ) -> Result<(), AuthError> {
        if self.deps().mail.is_none() {
            return Err(AuthError::VerificationEmailNotEnabled);
        }
        let Ok(email) = Email::parse(email) else {
            return Err(AuthError::Invalid(auth_domain::DomainError::InvalidField {
                field: "email",
            }));
        };
        match session {
            Some(context) => {
                if context.user.email != email {
                    return Err(AuthError::EmailMismatch);
                }
                if context.user.email_verified {
                    return Err(AuthError::EmailAlreadyVerified);
                }
                self.mail_verification(&context.user, callback_url).await
            }
            None => {
                match self.deps().users.find_by_email(&email).await? {
                    Some(user) if !user.email_verified => {
                        self.mail_verification(&user, callback_url).await?;
                    }
                    _ => tracing::debug!("verification asked for an unknown or verified email"),
                }
                Ok(())
            }
        }
    }

    /// Mails `user` the link `{api}/verify-email?token=<jwt>&callbackURL=<callback or "/">`.
    pub(crate) async fn mail_verification(
        &self,
        user: &User,
        callback_url: Option<&str>,
    ) -> Result<(), AuthError> {
        let Some(mail) = self.deps().mail.clone() else {
            return Err(AuthError::VerificationEmailNotEnabled);
        };
        let url = self.verification_url(user, None, None, callback_url)?;
        mail.send(&mail.templates.verify_email, user, &url).await;
        Ok(())
    }

    /// A `verify-email` link for `user` (to change their address to `update_to`, at step
    /// `request_type`, when given).
    fn verification_url(
        &self,
        user: &User,
        update_to: Option<&Email>,
        request_type: Option<&str>,
        callback_url: Option<&str>,
    ) -> Result<String, AuthError> {
        let Some(mail) = self.deps().mail.as_ref() else {
            return Err(AuthError::VerificationEmailNotEnabled);
        };
        let now = self.now();
        let issued_at = now.replace_millisecond(0).unwrap_or(now);
        let token = mail.tokens.sign(&EmailClaims {
            email: user.email.as_str().to_owned(),
            update_to: update_to.map(|email| email.as_str().to_owned()),
            user_id: Some(user.id.as_str().to_owned()),
            request_type: request_type.map(str::to_owned),
            issued_at,
            expires_at: issued_at + self.config().email.verification_ttl,
        })?;
        Ok(format!(
            "{}/verify-email?token={token}&callbackURL={}",
            mail.api_url,
            encode_uri_component(callback_url.unwrap_or("/"))
        ))
    }

    /// Starts a change of the signed-in user's address: a verified user confirms from the
    /// current address first (a link to it), an unverified one verifies the new address (a
    /// link to that). An address that belongs to someone else gets the same answer and no mail.
    ///
    /// # Errors
    /// `ChangeEmailDisabled`, `EmailIsTheSame`, `NoEmailChangeFlow` without a mailer,
    /// `Invalid` for a malformed email, `Unavailable`.
    pub async fn change_email(
        &self,
        context: &AuthContext,
        new_email: &str,
        callback_url: Option<&str>,
    ) -> Result<(), AuthError> {
        if !self.config().email.change_email_enabled {
            return Err(AuthError::ChangeEmailDisabled);
        }
        let Ok(new_email) = Email::parse(new_email) else {
            return Err(AuthError::Invalid(auth_domain::DomainError::InvalidField {
                field: "newEmail",
            }));
        };
        if new_email == context.user.email {
            return Err(AuthError::EmailIsTheSame);
        }
        let without_verification =
            !context.user.email_verified && self.config().email.update_email_without_verification;
        let mail = self.deps().mail.clone();
        if mail.is_none() && !without_verification {
            return Err(AuthError::NoEmailChangeFlow);
        }
        if self.deps().users.find_by_email(&new_email).await?.is_some() {
            tracing::info!(target: "auth::audit", event = "email_change_taken", user_id = %context.user.id, "email change to a taken address");
            return Ok(());
        }
        if without_verification {
            // Better-Auth's `updateEmailWithoutVerification`: an unverified address changes at
            // once, and the new one gets a verification link.
            let mut user = context.user.clone();
            user.email = new_email;
            user.updated_at = self.now();
            match self.deps().users.update(&user).await {
                Ok(()) => {}
                Err(auth_ports::PortError::Conflict) => return Ok(()),
                Err(error) => return Err(error.into()),
            }
            self.invalidate_cached_user(&user.id).await;
            tracing::info!(target: "auth::audit", event = "email_changed", user_id = %user.id, "email changed");
            if mail.is_some() {
                self.mail_verification(&user, callback_url).await?;
            }
            return Ok(());
        }
        let Some(mail) = mail else {
            return Err(AuthError::NoEmailChangeFlow);
        };
        let user = &context.user;
        if user.email_verified {
            let url =
                self.verification_url(user, Some(&new_email), Some(CONFIRMATION), callback_url)?;
            mail.send_to(
                &mail.templates.change_email,
                &user.email,
                &new_email,
                &user.name,
                &url,
            )
            .await;
        } else {
            self.mail_change_verification(user, &new_email, callback_url)
                .await?;
        }
        Ok(())
    }

    /// Mails the new address the link that completes a change to it.
    async fn mail_change_verification(
        &self,
        user: &User,
        new_email: &Email,
        callback_url: Option<&str>,
    ) -> Result<(), AuthError> {
        let url = self.verification_url(user, Some(new_email), Some(VERIFICATION), callback_url)?;
        if let Some(mail) = self.deps().mail.clone() {
            mail.send_to(
                &mail.templates.verify_email,
                new_email,
                new_email,
                &user.name,
                &url,
            )
            .await;
        }
        Ok(())
    }

    /// Whether a session may be issued to `user` without the password sign-in's further steps:
    /// never for a user with a second factor, nor when a plugin would divert their sign-in (a
    /// mailbox alone must not open such an account).
    async fn may_sign_in_without_a_second_step(
        &self,
        user: &User,
        client: &ClientInfo,
    ) -> Result<bool, AuthError> {
        if user.two_factor_enabled {
            return Ok(false);
        }
        for plugin in self.plugins() {
            if matches!(
                plugin.before_session(self, user, client).await?,
                crate::SignInStep::Divert(_)
            ) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A change-of-address link: bound to its user, who must still have the address it was
    /// issued for, and be the one signed in (if anyone is).
    async fn change_link(
        &self,
        claims: &EmailClaims,
        update_to: &str,
        current: Option<&AuthContext>,
        callback_url: Option<&str>,
    ) -> Result<Verified, AuthError> {
        let refused = AuthError::VerificationRefused;
        let Some(user_id) = &claims.user_id else {
            return Err(refused(VerificationRefusal::InvalidToken));
        };
        let Some(mut user) = self
            .deps()
            .users
            .find_by_id(&auth_domain::UserId::new(user_id.clone()))
            .await?
        else {
            return Err(refused(VerificationRefusal::UserNotFound));
        };
        if user.email.as_str() != claims.email {
            return Err(refused(VerificationRefusal::InvalidToken));
        }
        if current.is_some_and(|context| context.user.id != user.id) {
            return Err(refused(VerificationRefusal::InvalidUser));
        }
        let Ok(new_email) = Email::parse(update_to) else {
            return Err(refused(VerificationRefusal::InvalidToken));
        };
        if claims.request_type.as_deref() == Some(CONFIRMATION) {
            self.mail_change_verification(&user, &new_email, callback_url)
                .await?;
            return Ok(Verified::ChangeConfirmed);
        }
        // `change-email-verification` keeps the verified flag as it was (as Better-Auth); the
        // legacy link (no request type) clears it and sends a verification to the new address.
        let legacy = claims.request_type.as_deref() != Some(VERIFICATION);
        user.email = new_email;
        if legacy {
            user.email_verified = false;
        }
        user.updated_at = self.now();
        match self.deps().users.update(&user).await {
            Ok(()) => {}
            Err(auth_ports::PortError::Conflict) => return Err(AuthError::UserAlreadyExists),
            Err(error) => return Err(error.into()),
        }
        self.invalidate_cached_user(&user.id).await;
        tracing::info!(target: "auth::audit", event = "email_changed", user_id = %user.id, "email changed");
        if legacy {
            self.mail_verification(&user, callback_url).await?;
        }
        Ok(Verified::EmailChanged(user))
    }

    /// Follows a verification link: marks the address verified, and signs the user in when so
    /// configured and the request is not already their session. An address already verified
    /// succeeds without a change.
    ///
    /// # Errors
    /// `VerificationRefused` (expired, invalid, user not found), `Unavailable`.
    pub async fn verify_email(
        &self,
        token: &str,
        current: Option<&AuthContext>,
        callback_url: Option<&str>,
        client: &ClientInfo,
    ) -> Result<VerifiedEmail, AuthError> {
        let refused = AuthError::VerificationRefused;
        let Some(mail) = self.deps().mail.clone() else {
            return Err(refused(VerificationRefusal::InvalidToken));
        };
        let claims = match mail.tokens.verify(token, self.now()) {
            Ok(claims) => claims,
            Err(EmailTokenError::Expired) => {
                return Err(refused(VerificationRefusal::TokenExpired));
            }
            Err(EmailTokenError::Invalid) => {
                return Err(refused(VerificationRefusal::InvalidToken));
            }
        };
        if let Some(update_to) = &claims.update_to {
            let outcome = self
                .change_link(&claims, update_to, current, callback_url)
                .await?;
            return Ok(VerifiedEmail {
                session: None,
                outcome,
            });
        }
        let Ok(email) = Email::parse(&claims.email) else {
            return Err(refused(VerificationRefusal::InvalidToken));
        };
        let Some(mut user) = self.deps().users.find_by_email(&email).await? else {
            return Err(refused(VerificationRefusal::UserNotFound));
        };
        if claims
            .user_id
            .as_deref()
            .is_some_and(|id| id != user.id.as_str())
        {
            return Err(refused(VerificationRefusal::InvalidToken));
        }
        if user.email_verified {
            return Ok(VerifiedEmail {
                session: None,
                outcome: Verified::Address,
            });
        }
        user.email_verified = true;
        user.updated_at = self.now();
        self.deps().users.update(&user).await?;
        self.invalidate_cached_user(&user.id).await;
        tracing::info!(target: "auth::audit", event = "email_verified", user_id = %user.id, "email verified");
        let signed_in_already = current.is_some_and(|context| context.user.id == user.id);
        let session = if self.config().email.auto_sign_in_after_verification
            && !signed_in_already
            && self
                .may_sign_in_without_a_second_step(&user, client)
                .await?
        {
            Some(self.create_session(&user.id, true, client).await?)
        } else {
            None
        };
        Ok(VerifiedEmail {
            session,
            outcome: Verified::Address,
        })
    }
}
