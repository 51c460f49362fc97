//! The `account` row: how a user signs in (a password, or an OAuth provider).

use time::OffsetDateTime;

use crate::{AccountId, PasswordHash, UserId};

/// `providerId` of email/password accounts.
pub const CREDENTIAL_PROVIDER_ID: &str = "credential";

/// An account, as in Better-Auth's `account` table (OAuth token columns are not read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Primary key.
    pub id: AccountId,
    /// The provider's id for the user; for credential accounts, the user id.
    pub account_id: String,
    /// `credential` for email/password.
    pub provider_id: String,
    /// Owner.
    pub user_id: UserId,
    /// The password hash of a credential account.
    pub password: Option<PasswordHash>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last update time.
    pub updated_at: OffsetDateTime,
}

impl Account {
    /// The email/password account of `user_id` (`providerId = "credential"`, `accountId` = the
    /// user id), with this password hash.
    #[must_use]
    pub fn credential(
        id: AccountId,
        user_id: &UserId,
        hash: PasswordHash,
        now: time::OffsetDateTime,
    ) -> Self {
        Self {
            id,
            account_id: user_id.as_str().to_owned(),
            provider_id: CREDENTIAL_PROVIDER_ID.to_owned(),
            user_id: user_id.clone(),
            password: Some(hash),
            created_at: now,
            updated_at: now,
        }
    }

    /// Whether this is the user's email/password account, by Better-Auth's rule:
    /// `providerId = "credential"` and `accountId` equal to the user id.
    #[must_use]
    pub fn is_credential_of(&self, user_id: &UserId) -> bool {
        self.provider_id == CREDENTIAL_PROVIDER_ID && self.account_id == user_id.as_str()
    }
}
