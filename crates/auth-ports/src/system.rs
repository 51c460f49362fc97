//! The clock and the password hasher.

use auth_domain::{Password, PasswordHash};
use time::OffsetDateTime;

use crate::PortError;

/// The current time. Use cases read time only through this port, so tests can move it.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// Password hashing. Implementations MUST NOT block the async runtime: the work runs on a
/// bounded blocking pool.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait::async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a new password into the format new hashes are stored in.
    ///
    /// # Errors
    /// MUST return `PortError::Unavailable` when the hashing pool is shut down or saturated
    /// beyond its queue, `PortError::Internal` otherwise.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, PortError>;

    /// Verifies a password against a stored hash in any supported format. A hash in an unknown or
    /// malformed format verifies as `false`.
    ///
    /// # Errors
    /// As for [`PasswordHasher::hash`].
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, PortError>;
}
