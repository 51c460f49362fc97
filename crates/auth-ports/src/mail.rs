//! Sending mail: password resets, email verification, and later invitations and one-time codes.

use auth_domain::{Email, EmailClaims};
use time::OffsetDateTime;

use crate::PortError;

/// A rendered message to one recipient, in plain text and HTML. Its `Debug` leaves the bodies
/// out: they carry links with single-use tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient.
    pub to: Email,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// Where mail goes (SMTP, a development outbox, memory in tests).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    /// Hands a message over for delivery and returns without waiting for the mail server: a
    /// slow or absent server never holds a request. Delivery failures are the adapter's to log
    /// and count.
    ///
    /// # Errors
    /// `Unavailable` when the adapter cannot take the message now (its send queue is full).
    async fn send(&self, mail: Mail) -> Result<(), PortError>;
}

/// Why an email-verification token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTokenError {
    /// Well signed, but past its expiry.
    Expired,
    /// Malformed, forged, or signed with another secret.
    Invalid,
}

/// Email-verification tokens: HS256 JWTs keyed by the server secret, as Better-Auth makes them,
/// so that links a Better-Auth deployment mailed on the same secret still verify.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait EmailTokens: Send + Sync {
    /// Signs the claims.
    ///
    /// # Errors
    /// `Internal` when the claims cannot be encoded.
    fn sign(&self, claims: &EmailClaims) -> Result<String, PortError>;

    /// Verifies a token (signature with a constant-time comparison, then expiry against
    /// `now`) and returns its claims.
    ///
    /// # Errors
    /// `Expired` or `Invalid`.
    fn verify(&self, token: &str, now: OffsetDateTime) -> Result<EmailClaims, EmailTokenError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mail_debug_shows_no_body() {
        let mail = Mail {
            to: Email::parse("a@example.com").expect("email"),
            subject: "Reset".to_owned(),
            text: "secret-link".to_owned(),
            html: "<a href=secret-link>".to_owned(),
        };
        let shown = format!("{mail:?}");
        assert!(
            shown.contains("Reset") && !shown.contains("secret-link"),
            "{shown}"
        );
    }
}
