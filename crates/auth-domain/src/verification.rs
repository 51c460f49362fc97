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
