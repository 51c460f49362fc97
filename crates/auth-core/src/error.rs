//! The error every use case returns.

use auth_domain::DomainError;
use auth_ports::{BoxError, PortError};

/// The outcome of a failed use case. Variants are outcomes, not causes.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// An input broke a domain rule.
    #[error("invalid input: {0}")]
    Invalid(#[from] DomainError),
    /// Unknown email, no credential account, or wrong password: deliberately indistinguishable.
    #[error("invalid email or password")]
    InvalidEmailOrPassword,
    /// The email already belongs to a user.
    #[error("user already exists")]
    UserAlreadyExists,
    /// No valid session.
    #[error("unauthorized")]
    Unauthorized,
    /// The session is older than the freshness window allows for this action.
    #[error("session is not fresh")]
    SessionNotFresh,
    /// The current password given to confirm an action is wrong.
    #[error("invalid password")]
    InvalidPassword,
    /// The user has no email/password account.
    #[error("credential account not found")]
    CredentialAccountNotFound,
    /// The password was right, but the user has two-factor authentication on and this server
    /// has no two-factor step to offer: no session is issued (fail closed).
    #[error("two-factor authentication is not available")]
    TwoFactorNotAvailable,
    /// Password reset needs a mailer, and none is configured.
    #[error("reset password is not enabled")]
    ResetPasswordDisabled,
    /// A single-use token that is unknown, expired or already used.
    #[error("invalid token")]
    InvalidToken,
    /// The user a token was issued for is gone.
    #[error("user not found")]
    UserNotFound,
    /// Email verification needs a mailer, and none is configured.
    #[error("verification email is not enabled")]
    VerificationEmailNotEnabled,
    /// The email given is not the signed-in user's.
    #[error("email mismatch")]
    EmailMismatch,
    /// The signed-in user's email is verified already.
    #[error("email already verified")]
    EmailAlreadyVerified,
    /// Sign-in needs a verified email (`requireEmailVerification`).
    #[error("email not verified")]
    EmailNotVerified,
    /// An email-verification link that cannot be used (answered `401`, or a redirect with
    /// `?error=<code>` when the link names a callback).
    #[error("email verification refused: {0:?}")]
    VerificationRefused(VerificationRefusal),
    /// Changing the email is switched off.
    #[error("change email is disabled")]
    ChangeEmailDisabled,
    /// The new email is the current one.
    #[error("email is the same")]
    EmailIsTheSame,
    /// Changing the email needs a mailer, and none is configured (a message-only error).
    #[error("no email change flow")]
    NoEmailChangeFlow,
    /// Account deletion is switched off (`404` with an empty body, as Better-Auth).
    #[error("delete user is disabled")]
    DeleteUserDisabled,
    /// Deleting without a password needs a session younger than the freshness window.
    #[error("session expired")]
    SessionExpired,
    /// An account-deletion token that is unknown, expired, used, or another user's (`404`).
    #[error("invalid deletion token")]
    DeleteTokenInvalid,
    /// A deletion link followed without a session.
    #[error("failed to get user info")]
    FailedToGetUserInfo,
    /// An update request carried no field to change.
    #[error("no fields to update")]
    NoFieldsToUpdate,
    /// Too many requests; retry after this many seconds.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_seconds: u64,
    },
    /// A plugin's own refusal, with its code and message.
    #[error("{}", .0.code)]
    Plugin(crate::PluginError),
    /// A dependency (database, hashing pool) is down; nothing was changed.
    #[error("service unavailable")]
    Unavailable(#[source] BoxError),
    /// A bug or corrupt data.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl AuthError {
    /// Better-Auth's stable error code, or `None` for its message-only errors.
    #[must_use]
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::Invalid(error) => Some(error.code()),
            Self::InvalidEmailOrPassword => Some("INVALID_EMAIL_OR_PASSWORD"),
            Self::UserAlreadyExists => Some("USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"),
            Self::Unauthorized => Some("UNAUTHORIZED"),
            Self::SessionNotFresh => Some("SESSION_NOT_FRESH"),
            Self::InvalidPassword => Some("INVALID_PASSWORD"),
            Self::CredentialAccountNotFound => Some("CREDENTIAL_ACCOUNT_NOT_FOUND"),
            Self::TwoFactorNotAvailable => Some("TWO_FACTOR_NOT_AVAILABLE"),
            Self::ResetPasswordDisabled => Some("RESET_PASSWORD_DISABLED"),
            Self::VerificationEmailNotEnabled => Some("VERIFICATION_EMAIL_NOT_ENABLED"),
            Self::DeleteUserDisabled | Self::EmailIsTheSame | Self::NoEmailChangeFlow => None,
            Self::ChangeEmailDisabled => Some("CHANGE_EMAIL_DISABLED"),
            Self::SessionExpired => Some("SESSION_EXPIRED"),
            Self::DeleteTokenInvalid => Some("INVALID_TOKEN"),
            Self::FailedToGetUserInfo => Some("FAILED_TO_GET_USER_INFO"),
            Self::EmailMismatch => Some("EMAIL_MISMATCH"),
            Self::EmailAlreadyVerified => Some("EMAIL_ALREADY_VERIFIED"),
            Self::EmailNotVerified => Some("EMAIL_NOT_VERIFIED"),
            Self::VerificationRefused(refusal) => Some(refusal.code()),
            Self::InvalidToken => Some("INVALID_TOKEN"),
            Self::UserNotFound => Some("USER_NOT_FOUND"),
            Self::NoFieldsToUpdate | Self::RateLimited { .. } => None,
            Self::Plugin(error) => Some(error.code),
            Self::Unavailable(_) => Some("SERVICE_UNAVAILABLE"),
            Self::Internal(_) => Some("INTERNAL_SERVER_ERROR"),
        }
    }

    /// The message shown to clients (Better-Auth's text where it has one).
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::Invalid(error) => error.message(),
            Self::InvalidEmailOrPassword => "Invalid email or password".to_owned(),
            Self::UserAlreadyExists => "User already exists. Use another email.".to_owned(),
            Self::Unauthorized => "Unauthorized".to_owned(),
            Self::SessionNotFresh => "Session is not fresh".to_owned(),
            Self::InvalidPassword => "Invalid password".to_owned(),
            Self::CredentialAccountNotFound => "Credential account not found".to_owned(),
            Self::TwoFactorNotAvailable => {
                "Two-factor authentication is required for this user but not available".to_owned()
            }
            Self::NoFieldsToUpdate => "No fields to update".to_owned(),
            Self::ResetPasswordDisabled => "Reset password isn't enabled".to_owned(),
            Self::VerificationEmailNotEnabled => "Verification email isn't enabled".to_owned(),
            Self::DeleteUserDisabled => String::new(),
            Self::ChangeEmailDisabled => "Change email is disabled".to_owned(),
            Self::EmailIsTheSame => "Email is the same".to_owned(),
            Self::NoEmailChangeFlow => "Verification email isn't enabled".to_owned(),
            Self::SessionExpired => {
                "Session expired. Re-authenticate to perform this action.".to_owned()
            }
            Self::DeleteTokenInvalid => "Invalid token".to_owned(),
            Self::FailedToGetUserInfo => "Failed to get user info".to_owned(),
            Self::EmailMismatch => "Email mismatch".to_owned(),
            Self::EmailAlreadyVerified => "Email is already verified".to_owned(),
            Self::EmailNotVerified => "Email not verified".to_owned(),
            Self::VerificationRefused(refusal) => refusal.message().to_owned(),
            Self::InvalidToken => "Invalid token".to_owned(),
            Self::UserNotFound => "User not found".to_owned(),
            Self::Plugin(error) => error.message.clone().into_owned(),
            Self::RateLimited { .. } => "Too many requests. Please try again later.".to_owned(),
            Self::Unavailable(_) => "Service temporarily unavailable".to_owned(),
            Self::Internal(_) => "Internal Server Error".to_owned(),
        }
    }
}

impl From<PortError> for AuthError {
    fn from(error: PortError) -> Self {
        match error {
            PortError::Unavailable(source) => Self::Unavailable(source),
            PortError::Internal(source) => Self::Internal(source),
            unexpected @ (PortError::Conflict | PortError::NotFound) => {
                Self::Internal(Box::new(unexpected))
            }
        }
    }
}

/// Why an email-verification link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationRefusal {
    /// Past its expiry.
    TokenExpired,
    /// Malformed, forged, or not this user's.
    InvalidToken,
    /// Nobody has that address any more.
    UserNotFound,
    /// Signed in as someone else.
    InvalidUser,
}

impl VerificationRefusal {
    /// Better-Auth's code.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::TokenExpired => "TOKEN_EXPIRED",
            Self::InvalidToken => "INVALID_TOKEN",
            Self::UserNotFound => "USER_NOT_FOUND",
            Self::InvalidUser => "INVALID_USER",
        }
    }

    /// Better-Auth's message.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::TokenExpired => "Token expired",
            Self::InvalidToken => "Invalid token",
            Self::UserNotFound => "User not found",
            Self::InvalidUser => "Invalid user",
        }
    }
}
