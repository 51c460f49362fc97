//! Email verification: `send-verification-email`, `verify-email`, and the verification mail
//! that sign-up sends. Changes of address (`updateTo` tokens) come with `change-email`.

use auth_domain::text::encode_uri_component;
use auth_domain::{Email, EmailClaims, Session, User};
use auth_ports::EmailTokenError;

use crate::{Auth, AuthContext, AuthError, ClientInfo, VerificationRefusal};

/// What a followed verification link did.
#[derive(Debug, Clone)]
pub struct VerifiedEmail {
    /// The session it signed the user into (`autoSignInAfterVerification`), if any.
    pub session: Option<Session>,
}

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
        let now = self.now();
        let issued_at = now.replace_millisecond(0).unwrap_or(now);
        let token = mail.tokens.sign(&EmailClaims {
            email: user.email.as_str().to_owned(),
            update_to: None,
            user_id: Some(user.id.as_str().to_owned()),
            request_type: None,
            issued_at,
            expires_at: issued_at + self.config().email.verification_ttl,
        })?;
        let url = format!(
            "{}/verify-email?token={token}&callbackURL={}",
            mail.api_url,
            encode_uri_component(callback_url.unwrap_or("/"))
        );
        mail.send(&mail.templates.verify_email, user, &url).await;
        Ok(())
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
        if claims.update_to.is_some() {
            // A change of address: the change-email flow, not built yet.
            return Err(refused(VerificationRefusal::InvalidToken));
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
            return Ok(VerifiedEmail { session: None });
        }
        user.email_verified = true;
        user.updated_at = self.now();
        self.deps().users.update(&user).await?;
        self.invalidate_cached_user(&user.id).await;
        tracing::info!(target: "auth::audit", user_id = %user.id, "email verified");
        let signed_in_already = current.is_some_and(|context| context.user.id == user.id);
        let session = if self.config().email.auto_sign_in_after_verification && !signed_in_already {
            Some(self.create_session(&user.id, true, client).await?)
        } else {
            None
        };
        Ok(VerifiedEmail { session })
    }
}
