//! Sessions and the rules of their lifetime (expiry, sliding refresh, freshness).

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::{SessionId, UserId};

/// A session token: 32 characters of `[a-zA-Z0-9]`, the secret inside the session cookie.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionToken(String);

impl SessionToken {
    /// Wraps a token.
    #[must_use]
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The token, for storage lookups and cookie signing only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken([redacted])")
    }
}

/// A session, as in Better-Auth's `session` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Primary key (not secret).
    pub id: SessionId,
    /// The secret token (unique).
    pub token: SessionToken,
    /// Owner.
    pub user_id: UserId,
    /// After this instant the session is void.
    pub expires_at: OffsetDateTime,
    /// Creation time (freshness is measured from it).
    pub created_at: OffsetDateTime,
    /// Last update (refresh) time.
    pub updated_at: OffsetDateTime,
    /// Client address at creation; empty when unknown.
    pub ip_address: Option<String>,
    /// Client user agent at creation; empty when unknown.
    pub user_agent: Option<String>,
}

/// Lifetime rules; defaults are Better-Auth's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Lifetime of a session (and the cookie's Max-Age): 7 days.
    pub expires_in: Duration,
    /// A session is slid forward when it was last extended longer ago than this: 1 day.
    pub update_age: Duration,
    /// Routes that need a fresh session accept one created within this: 1 day (zero disables).
    pub fresh_age: Duration,
    /// Lifetime of a session created with remember-me off (hard-coded to 1 day upstream).
    pub short_expires_in: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            expires_in: Duration::days(7),
            update_age: Duration::days(1),
            fresh_age: Duration::days(1),
            short_expires_in: Duration::days(1),
        }
    }
}

impl SessionPolicy {
    /// Expiry of a new session created at `now`.
    #[must_use]
    pub fn expiry_for_new(&self, now: OffsetDateTime, remember_me: bool) -> OffsetDateTime {
        if remember_me {
            now + self.expires_in
        } else {
            now + self.short_expires_in
        }
    }

    /// Whether the session has expired at `now`.
    #[must_use]
    pub fn is_expired(&self, session: &Session, now: OffsetDateTime) -> bool {
        session.expires_at <= now
    }

    /// Whether the session should be slid forward at `now`: it was last extended more than
    /// `update_age` ago (`expiresAt - expiresIn + updateAge <= now`).
    #[must_use]
    pub fn needs_refresh(&self, session: &Session, now: OffsetDateTime) -> bool {
        session.expires_at - self.expires_in + self.update_age <= now
    }

    /// Whether the session was made with remember-me on: its last extension gave it more than
    /// the short (remember-me off) lifetime.
    #[must_use]
    pub fn is_remembered(&self, session: &Session) -> bool {
        session.expires_at - session.updated_at > self.short_expires_in
    }

    /// Whether the session is fresh enough for sensitive listings at `now`.
    #[must_use]
    pub fn is_fresh(&self, session: &Session, now: OffsetDateTime) -> bool {
        self.fresh_age.is_zero() || now - session.created_at < self.fresh_age
    }
}

#[cfg(test)]
mod tests;
