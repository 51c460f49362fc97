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
    /// The fields the enabled plugins add (`crate::field`).
    pub fields: crate::Fields,
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
    /// Longest a session may live from its creation, however often it slides; `None` (the
    /// default, as in Better-Auth) for no bound.
    pub absolute_lifetime: Option<Duration>,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            expires_in: Duration::days(7),
            update_age: Duration::days(1),
            fresh_age: Duration::days(1),
            short_expires_in: Duration::days(1),
            absolute_lifetime: None,
        }
    }
}

impl SessionPolicy {
    /// Expiry of a new session created at `now`.
    #[must_use]
    pub fn expiry_for_new(&self, now: OffsetDateTime, remember_me: bool) -> OffsetDateTime {
        let lifetime = if remember_me {
            self.expires_in
        } else {
            self.short_expires_in
        };
        self.capped(now, now + lifetime)
    }

    /// `expires_at`, but never past the absolute lifetime of a session created at `created`.
    fn capped(&self, created: OffsetDateTime, expires_at: OffsetDateTime) -> OffsetDateTime {
        match self.absolute_lifetime {
            Some(lifetime) => expires_at.min(created + lifetime),
            None => expires_at,
        }
    }

    /// Whether the session has expired at `now` (its own expiry, or its absolute lifetime).
    #[must_use]
    pub fn is_expired(&self, session: &Session, now: OffsetDateTime) -> bool {
        session.expires_at <= now
            || self
                .absolute_lifetime
                .is_some_and(|lifetime| session.created_at + lifetime <= now)
    }

    /// Whether the session should be slid forward at `now`: it was made with remember-me on
    /// (a remember-me-off session never slides, whoever presents it: a cookie or a bearer
    /// token), and it was last extended more than `update_age` ago
    /// (`expiresAt - expiresIn + updateAge <= now`).
    #[must_use]
    pub fn needs_refresh(&self, session: &Session, now: OffsetDateTime) -> bool {
        // When the normal lifetime is no longer than the short one, the two kinds cannot be
        // told apart, and sliding cannot give a session more than either lifetime.
        let may_slide = self.expires_in <= self.short_expires_in || self.is_remembered(session);
        may_slide && session.expires_at - self.expires_in + self.update_age <= now
    }

    /// The expiry a session slid forward at `now` gets.
    #[must_use]
    pub fn slid_expiry(&self, session: &Session, now: OffsetDateTime) -> OffsetDateTime {
        self.capped(session.created_at, now + self.expires_in)
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
