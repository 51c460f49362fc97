//! Two-factor authentication: the `twoFactor` store, and the cryptography of its secrets
//! (Better-Auth's `symmetricEncrypt`, RFC 6238 codes, the trusted-device HMAC).

use auth_domain::two_factor::TwoFactor;
use auth_domain::{Secret, UserId};
use time::OffsetDateTime;

use crate::PortError;

/// The `twoFactor` table (one row per user). External implementations must pass
/// `auth_testkit::conformance::run_two_factor_suite`.
#[async_trait::async_trait]
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait TwoFactorRepo: Send + Sync {
    /// The user's row.
    async fn find_two_factor(&self, user_id: &UserId) -> Result<Option<TwoFactor>, PortError>;

    /// Stores `row` as the user's second factor in waiting, replacing one in waiting: `false`
    /// (nothing written) when the user has a verified row. Atomic: of concurrent calls for one
    /// user, the user ends with one row.
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if the user does not exist.
    async fn start_two_factor(&self, row: &TwoFactor) -> Result<bool, PortError>;

    /// Marks the row verified and its user's `twoFactorEnabled` true, in one transaction:
    /// `false` when the row is gone.
    async fn confirm_two_factor(&self, id: &str) -> Result<bool, PortError>;

    /// Sets the user's `twoFactorEnabled` (two-factor by emailed codes needs no row): `false`
    /// when the user does not exist.
    async fn set_two_factor_enabled(
        &self,
        user_id: &UserId,
        enabled: bool,
    ) -> Result<bool, PortError>;

    /// Deletes the user's row and sets `twoFactorEnabled` false, in one transaction: `true`
    /// when there was a row.
    async fn delete_two_factor(&self, user_id: &UserId) -> Result<bool, PortError>;

    /// Replaces the sealed backup codes if they are still `from` (compare-and-set): `true` when
    /// this call replaced them. Of concurrent calls with the same `from`, one wins.
    async fn swap_backup_codes(&self, id: &str, from: &str, to: &str) -> Result<bool, PortError>;

    /// Records TOTP time step `step` as used unless it or a later step was: `true` when this
    /// call recorded it. Of concurrent calls with one step, one wins.
    async fn claim_step(&self, id: &str, step: i64) -> Result<bool, PortError>;

    /// Counts a verification about to be checked, atomically (concurrent attempts all count):
    /// `None`, with nothing written, while the row is locked at `now` (or is gone); a lock
    /// that has run out is cleared first, with its count. Answers the attempts since the last
    /// success, this one included.
    async fn begin_attempt(&self, id: &str, now: OffsetDateTime) -> Result<Option<i64>, PortError>;

    /// Refuses verifications until `until` (the account lockout).
    async fn lock_until(&self, id: &str, until: OffsetDateTime) -> Result<(), PortError>;

    /// Clears the failure count and the lock.
    async fn reset_failures(&self, id: &str) -> Result<(), PortError>;
}

/// The cryptography of two-factor secrets, keyed by the server secret.
pub trait TwoFactorCrypto: Send + Sync {
    /// Better-Auth's `symmetricEncrypt` (XChaCha20-Poly1305 under SHA-256 of the secret, hex).
    ///
    /// # Errors
    /// `Internal` if the cipher refuses.
    fn seal(&self, plaintext: &str) -> Result<String, PortError>;

    /// Opens what [`TwoFactorCrypto::seal`] (or a Better-Auth server with the same secret)
    /// sealed.
    ///
    /// # Errors
    /// `Internal` for a value that is malformed or sealed with another secret.
    fn open(&self, sealed: &str) -> Result<Secret<String>, PortError>;

    /// The RFC 6238 code of `key` at time step `step` (HMAC-SHA1, `digits` digits).
    fn totp(&self, key: &[u8], step: i64, digits: u32) -> String;

    /// Base64url (no padding) of HMAC-SHA256 of `message` under the server secret (the
    /// trusted-device token).
    fn sign(&self, message: &str) -> String;
}
