//! The private JSON form of a cached lookup in Redis. The session token is not in it: the key is
//! the token's digest, and the token comes back from the caller's lookup.

use auth_domain::{Email, Session, SessionId, SessionToken, User, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Serialize, Deserialize)]
pub(crate) struct CachedLookup {
    session_id: String,
    user_id: String,
    expires_at_ms: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
    ip_address: Option<String>,
    user_agent: Option<String>,
    name: String,
    email: String,
    email_verified: bool,
    #[serde(default)]
    two_factor_enabled: bool,
    image: Option<String>,
    user_created_at_ms: i64,
    user_updated_at_ms: i64,
}

fn ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn at(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

impl CachedLookup {
    pub(crate) fn new(session: &Session, user: &User) -> Self {
        Self {
            session_id: session.id.to_string(),
            user_id: session.user_id.to_string(),
            expires_at_ms: ms(session.expires_at),
            created_at_ms: ms(session.created_at),
            updated_at_ms: ms(session.updated_at),
            ip_address: session.ip_address.clone(),
            user_agent: session.user_agent.clone(),
            name: user.name.clone(),
            email: user.email.to_string(),
            email_verified: user.email_verified,
            two_factor_enabled: user.two_factor_enabled,
            image: user.image.clone(),
            user_created_at_ms: ms(user.created_at),
            user_updated_at_ms: ms(user.updated_at),
        }
    }

    /// The lookup, with the token it was found by (never stored in Redis).
    pub(crate) fn into_domain(self, token: &SessionToken) -> Option<(Session, User)> {
        let user_id = UserId::new(self.user_id);
        let session = Session {
            id: SessionId::new(self.session_id),
            token: token.clone(),
            user_id: user_id.clone(),
            expires_at: at(self.expires_at_ms)?,
            created_at: at(self.created_at_ms)?,
            updated_at: at(self.updated_at_ms)?,
            ip_address: self.ip_address,
            user_agent: self.user_agent,
        };
        let user = User {
            id: user_id,
            name: self.name,
            email: Email::from_trusted(self.email),
            email_verified: self.email_verified,
            two_factor_enabled: self.two_factor_enabled,
            image: self.image,
            created_at: at(self.user_created_at_ms)?,
            updated_at: at(self.user_updated_at_ms)?,
        };
        Some((session, user))
    }
}
