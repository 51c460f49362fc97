//! The storage ports. External modules implementing them must pass the conformance suite in
//! `auth-testkit` (run it against your adapter; see docs/storage-adapters.md).

use auth_domain::{
    Account, AccountId, Email, Fields, PasswordHash, Session, SessionId, SessionToken, User,
    UserId, Verification, VerificationId,
};
use time::OffsetDateTime;

use crate::PortError;

/// Users (`user` table).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait::async_trait]
pub trait UserRepo: Send + Sync {
    /// Creates a user together with its credential account, atomically: both rows or neither.
    ///
    /// # Errors
    /// MUST return `PortError::Conflict` if a user with the same email exists, also when two
    /// calls race; nothing is written then.
    async fn create_with_account(&self, user: &User, account: &Account) -> Result<(), PortError>;

    /// The user with this (normalised) email.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, PortError>;

    /// The user with this id.
    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, PortError>;

    /// Writes `name`, `email`, `image`, `email_verified` and `updated_at` of an existing user.
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if the user does not exist, and `PortError::Conflict`
    /// if another user has the email (nothing is written then).
    async fn update(&self, user: &User) -> Result<(), PortError>;

    /// Deletes the user with its accounts and sessions. Deleting a missing user is not an error.
    async fn delete(&self, id: &UserId) -> Result<(), PortError>;

    /// How many users have `two_factor_enabled` set (a null or missing column counts as unset).
    async fn count_two_factor_enabled(&self) -> Result<u64, PortError>;

    /// Writes the given plugin fields of a user (others are left as they are). Reads return
    /// every field the adapter was told about (`Null` when unset).
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if the user does not exist.
    async fn update_user_fields(&self, id: &UserId, fields: &Fields) -> Result<(), PortError>;
}

/// Accounts (`account` table).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait::async_trait]
pub trait AccountRepo: Send + Sync {
    /// The user's credential account (`providerId = "credential"` and `accountId` = user id).
    async fn find_credential(&self, user_id: &UserId) -> Result<Option<Account>, PortError>;

    /// Stores a new account of an existing user (a credential account set by a password reset
    /// for a user who had none).
    ///
    /// # Errors
    /// MUST return `PortError::Conflict` if the id already exists.
    async fn create(&self, account: &Account) -> Result<(), PortError>;

    /// Replaces the password hash of an account.
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if the account does not exist.
    async fn update_password(
        &self,
        id: &AccountId,
        hash: &PasswordHash,
        updated_at: OffsetDateTime,
    ) -> Result<(), PortError>;
}

/// Sessions (`session` table).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait::async_trait]
pub trait SessionRepo: Send + Sync {
    /// Stores a new session.
    ///
    /// # Errors
    /// MUST return `PortError::Conflict` if `session.token` or `session.id` already exists.
    async fn create(&self, session: &Session) -> Result<(), PortError>;

    /// The session with this token and its user, in one read. Expired sessions are returned too
    /// (the caller decides); a session whose user is gone is not.
    async fn find_with_user(
        &self,
        token: &SessionToken,
    ) -> Result<Option<(Session, User)>, PortError>;

    /// Moves a session's expiry (sliding refresh).
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if the session does not exist.
    async fn update_expiry(
        &self,
        id: &SessionId,
        expires_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    ) -> Result<(), PortError>;

    /// The user's sessions that have not expired at `now`, oldest first.
    async fn list_active(
        &self,
        user_id: &UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, PortError>;

    /// Writes the given plugin fields of a session (others are left as they are). Reads return
    /// every field the adapter was told about (`Null` when unset); `create` writes the session's.
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if the session does not exist.
    async fn update_session_fields(&self, id: &SessionId, fields: &Fields)
    -> Result<(), PortError>;

    /// Deletes the session with this token; returns whether one was deleted.
    async fn delete_by_token(&self, token: &SessionToken) -> Result<bool, PortError>;

    /// Deletes every session of the user except the one with token `keep`, if given; returns how
    /// many were deleted.
    async fn delete_for_user(
        &self,
        user_id: &UserId,
        keep: Option<SessionToken>,
    ) -> Result<u64, PortError>;
}

/// Verification records (`verification` table).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait::async_trait]
pub trait VerificationRepo: Send + Sync {
    /// Stores a record.
    ///
    /// # Errors
    /// MUST return `PortError::Conflict` if the id already exists.
    async fn create(&self, verification: &Verification) -> Result<(), PortError>;

    /// The newest record (by `created_at`) with this identifier, expired or not.
    async fn find_latest(&self, identifier: &str) -> Result<Option<Verification>, PortError>;

    /// Deletes the record with this id, if it exists, and returns whether it did: of two racing
    /// consumers exactly one sees `true`.
    async fn delete(&self, id: &VerificationId) -> Result<bool, PortError>;

    /// Deletes records that expired before `before` and returns how many. A store that keeps
    /// dates as text may misorder two times within one second; callers pass a `before` well in
    /// the past, so that only long-expired records are at stake.
    async fn delete_expired(&self, before: OffsetDateTime) -> Result<u64, PortError>;
}
