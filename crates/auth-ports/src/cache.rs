//! The session cache.

use auth_domain::{Session, SessionToken, User, UserId};

use crate::PortError;

/// A cache of session lookups, in front of the session store. Entries are keyed by session token
/// and dropped by token or by user. Implementations MUST make an invalidation visible to every
/// later `get` of the same process at once, and to other processes sharing the cache within the
/// bound they document.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait::async_trait]
pub trait SessionCache: Send + Sync {
    /// The cached session and user for this token.
    ///
    /// # Errors
    /// `PortError::Unavailable` when a remote layer is down (callers fall back to the store).
    async fn get(&self, token: &SessionToken) -> Result<Option<(Session, User)>, PortError>;

    /// Stores a lookup until the session's expiry at the latest.
    ///
    /// # Errors
    /// As for `get`.
    async fn put(&self, session: &Session, user: &User) -> Result<(), PortError>;

    /// Drops the entry of one session.
    ///
    /// # Errors
    /// As for `get`.
    async fn invalidate(&self, token: &SessionToken) -> Result<(), PortError>;

    /// Drops every entry of a user.
    ///
    /// # Errors
    /// As for `get`.
    async fn invalidate_user(&self, user_id: &UserId) -> Result<(), PortError>;
}

/// A cache that caches nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCache;

#[async_trait::async_trait]
impl SessionCache for NoCache {
    async fn get(&self, _: &SessionToken) -> Result<Option<(Session, User)>, PortError> {
        Ok(None)
    }

    async fn put(&self, _: &Session, _: &User) -> Result<(), PortError> {
        Ok(())
    }

    async fn invalidate(&self, _: &SessionToken) -> Result<(), PortError> {
        Ok(())
    }

    async fn invalidate_user(&self, _: &UserId) -> Result<(), PortError> {
        Ok(())
    }
}
