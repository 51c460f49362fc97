//! The `verification` row: short-lived values (reset tokens, 2FA challenges, ...).

use time::OffsetDateTime;

use crate::VerificationId;

/// A verification record, as in Better-Auth's `verification` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Primary key.
    pub id: VerificationId,
    /// What the record is for, e.g. `reset-password:<token>`.
    pub identifier: String,
    /// The payload, e.g. a user id.
    pub value: String,
    /// After this instant the record is void.
    pub expires_at: OffsetDateTime,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last update time.
    pub updated_at: OffsetDateTime,
}

impl Verification {
    /// Whether the record is still usable at `now`.
    #[must_use]
    pub fn is_valid_at(&self, now: OffsetDateTime) -> bool {
        self.expires_at > now
    }
}

/// The claims of an email-verification token (Better-Auth's HS256 JWT): whose address is
/// verified, and for a change of address, the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailClaims {
    /// The address (lower-cased).
    pub email: String,
    /// The new address of a change (lower-cased).
    pub update_to: Option<String>,
    /// The user the token was issued for.
    pub user_id: Option<String>,
    /// `change-email-confirmation` or `change-email-verification` for a change of address.
    pub request_type: Option<String>,
    /// Issue time (whole seconds).
    pub issued_at: OffsetDateTime,
    /// Expiry (whole seconds).
    pub expires_at: OffsetDateTime,
}
