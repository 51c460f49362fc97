//! The session cache.

use auth_domain::{Session, SessionToken, User, UserId};

use crate::PortError;

/// When a lookup was made: a fill made from it loses to any invalidation of its session or
/// user that came after the lookup (a revoked session is never written back by a fill that
/// read it before the revocation). Opaque to callers: they hand back what `get` gave them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FillTicket {
    local: u64,
    shared: Option<i64>,
}

impl FillTicket {
    /// A ticket from the in-process generation `local` and, when a shared layer answered, its
    /// clock reading `shared`.
    #[must_use]
    pub fn new(local: u64, shared: Option<i64>) -> Self {
        Self { local, shared }
    }

    /// The in-process generation at the lookup.
    #[must_use]
    pub fn local(&self) -> u64 {
        self.local
    }

    /// The shared layer's clock at the lookup, if it answered.
    #[must_use]
    pub fn shared(&self) -> Option<i64> {
        self.shared
    }
}

/// What a lookup found, with the ticket to fill the cache with afterwards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheLookup {
    /// The cached session and user, if any.
    pub found: Option<(Session, User)>,
    /// Hand this to `put` when caching what the store returned for this lookup.
    pub ticket: FillTicket,
    /// Found in a shared layer (Redis), not in the process's own.
    pub shared: bool,
}

/// A cache of session lookups, in front of the session store. Entries are keyed by session token
/// and dropped by token or by user. Implementations MUST make an invalidation visible to every
/// later `get` of the same process at once, and to other processes sharing the cache within the
/// bound they document, and MUST ignore a `put` whose ticket is older than an invalidation of
/// its session or user.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait::async_trait]
pub trait SessionCache: Send + Sync {
    /// The cached session and user for this token, and the ticket for a later `put`.
    ///
    /// # Errors
    /// `PortError::Unavailable` when a remote layer is down (callers fall back to the store).
    async fn get(&self, token: &SessionToken) -> Result<CacheLookup, PortError>;

    /// Stores a lookup until the session's expiry at the latest, unless the session or its
    /// user was invalidated after the lookup that issued `ticket`.
    ///
    /// # Errors
    /// As for `get`.
    async fn put(
        &self,
        session: &Session,
        user: &User,
        ticket: FillTicket,
    ) -> Result<(), PortError>;

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
    async fn get(&self, _: &SessionToken) -> Result<CacheLookup, PortError> {
        Ok(CacheLookup::default())
    }

    async fn put(&self, _: &Session, _: &User, _: FillTicket) -> Result<(), PortError> {
        Ok(())
    }

    async fn invalidate(&self, _: &SessionToken) -> Result<(), PortError> {
        Ok(())
    }

    async fn invalidate_user(&self, _: &UserId) -> Result<(), PortError> {
        Ok(())
    }
}
