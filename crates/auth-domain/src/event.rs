//! Domain events: what happened to a user's sessions or account, told to every subscriber
//! (the session cache, plugins, and later WebSocket connections).

use crate::{Session, SessionId, SessionToken, UserId};

/// Why sessions ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The user signed out.
    SignOut,
    /// The user revoked it (`revoke-session`).
    Revoked,
    /// It expired and was found so.
    Expired,
    /// The user revoked all of their sessions (`revoke-sessions`).
    RevokedAll,
    /// The user revoked all but the current one (`revoke-other-sessions`).
    RevokedOthers,
    /// The password changed with `revokeOtherSessions`.
    PasswordChanged,
    /// The password was reset with an emailed token.
    PasswordReset,
}

impl SessionEnd {
    /// Every reason.
    pub const ALL: [Self; 7] = [
        Self::SignOut,
        Self::Revoked,
        Self::Expired,
        Self::RevokedAll,
        Self::RevokedOthers,
        Self::PasswordChanged,
        Self::PasswordReset,
    ];

    /// The reason with this label.
    #[must_use]
    pub fn parse(label: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str() == label)
    }

    /// A stable lower-case label (logs, metrics).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignOut => "sign_out",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::RevokedAll => "revoked_all",
            Self::RevokedOthers => "revoked_others",
            Self::PasswordChanged => "password_changed",
            Self::PasswordReset => "password_reset",
        }
    }
}

/// Something that happened, after it was stored. Every event but `SessionCreated` is also told
/// to the other instances when they share an event bus (without session tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthEvent {
    /// A session was issued (sign-up, sign-in, the new session of a password change).
    SessionCreated {
        /// The session.
        session: Session,
    },
    /// One session ended.
    SessionEnded {
        /// Its user.
        user_id: UserId,
        /// Its id.
        session_id: SessionId,
        /// Its token (redacted in `Debug`), for caches keyed by it; `None` when the event came
        /// from another instance (tokens never leave the process that holds them).
        token: Option<SessionToken>,
        /// Why.
        reason: SessionEnd,
    },
    /// Every session of a user ended, but `kept` when given.
    UserSessionsEnded {
        /// The user.
        user_id: UserId,
        /// The session that stays (the caller's, for `revoke-other-sessions`).
        kept: Option<SessionId>,
        /// Why.
        reason: SessionEnd,
    },
    /// The user's password changed.
    PasswordChanged {
        /// The user.
        user_id: UserId,
    },
    /// The user was deleted, with every session and account.
    UserDeleted {
        /// The user.
        user_id: UserId,
    },
    /// An API key's settings changed, or it stopped working (deleted, disabled, expired, its
    /// quota spent): whoever holds a copy of it drops that copy.
    ApiKeyChanged {
        /// Its owner (a user's id, or an organization's).
        owner: String,
        /// The key's id.
        key_id: String,
        /// It no longer authenticates anything.
        revoked: bool,
    },
    /// An organization was deleted, with its members, invitations, teams and roles.
    OrganizationDeleted {
        /// Its id.
        organization_id: String,
    },
    /// A user stopped being a member of an organization (removed, or left).
    MemberRemoved {
        /// The organization.
        organization_id: String,
        /// The user.
        user_id: UserId,
    },
}

impl AuthEvent {
    /// The end of `session`.
    #[must_use]
    pub fn session_ended(session: Session, reason: SessionEnd) -> Self {
        Self::SessionEnded {
            user_id: session.user_id,
            session_id: session.id,
            token: Some(session.token),
            reason,
        }
    }

    /// A stable lower-case label (logs, metrics).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::SessionCreated { .. } => "session_created",
            Self::SessionEnded { .. } => "session_ended",
            Self::UserSessionsEnded { .. } => "user_sessions_ended",
            Self::PasswordChanged { .. } => "password_changed",
            Self::UserDeleted { .. } => "user_deleted",
            Self::ApiKeyChanged { .. } => "api_key_changed",
            Self::OrganizationDeleted { .. } => "organization_deleted",
            Self::MemberRemoved { .. } => "member_removed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SessionEnd;

    #[test]
    fn every_reason_parses_back_from_its_label() {
        for reason in SessionEnd::ALL {
            assert_eq!(SessionEnd::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(SessionEnd::parse("nonsense"), None);
    }
}
