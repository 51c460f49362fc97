//! Security audit events.

use time::OffsetDateTime;

use crate::UserId;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// A user signed up.
    SignUp,
    /// A sign-in succeeded.
    SignIn,
    /// A sign-in was refused (the reason says why).
    SignInFailed,
    /// A session ended by sign-out.
    SignOut,
    /// The password was changed.
    PasswordChanged,
    /// One or more sessions were revoked.
    SessionRevoked,
    /// A request was refused by a rate limit.
    RateLimited,
    /// The user deleted their account.
    UserDeleted,
}

impl AuditKind {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "sign_up",
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::SignOut => "sign_out",
            Self::PasswordChanged => "password_changed",
            Self::SessionRevoked => "session_revoked",
            Self::RateLimited => "rate_limited",
            Self::UserDeleted => "user_deleted",
        }
    }

    /// Parses a stored name.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::SignUp,
            Self::SignIn,
            Self::SignInFailed,
            Self::SignOut,
            Self::PasswordChanged,
            Self::SessionRevoked,
            Self::RateLimited,
            Self::UserDeleted,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == value)
    }
}

/// One audit record. Holds no secret: no password, token or cookie, ever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Id.
    pub id: String,
    /// What happened.
    pub kind: AuditKind,
    /// Who, when known.
    pub user_id: Option<UserId>,
    /// Why, for refusals (`wrong_password`, `unknown_email`, a route for rate limits, ...).
    pub reason: Option<String>,
    /// Client address.
    pub ip_address: String,
    /// Client user agent.
    pub user_agent: String,
    /// When.
    pub created_at: OffsetDateTime,
}
