//! The domain's one error type.

/// A rule of the domain was broken by an input. Each variant carries Better-Auth's stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The email address is not syntactically valid.
    #[error("invalid email")]
    InvalidEmail,
    /// The password is shorter than the policy allows.
    #[error("password too short")]
    PasswordTooShort,
    /// The password is longer than the policy allows.
    #[error("password too long")]
    PasswordTooLong,
    /// A text field holds characters or a length the store cannot keep safely.
    #[error("invalid value for field {field}")]
    InvalidField {
        /// The wire name of the field (`name`, `image`, ...).
        field: &'static str,
    },
}

impl DomainError {
    /// Better-Auth's error code for this error.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEmail => "INVALID_EMAIL",
            Self::PasswordTooShort => "PASSWORD_TOO_SHORT",
            Self::PasswordTooLong => "PASSWORD_TOO_LONG",
            Self::InvalidField { .. } => "VALIDATION_ERROR",
        }
    }

    /// Better-Auth's message for this error, as shown to clients.
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::InvalidEmail => "Invalid email".to_owned(),
            Self::PasswordTooShort => "Password too short".to_owned(),
            Self::PasswordTooLong => "Password too long".to_owned(),
            Self::InvalidField { field } => format!("[body.{field}] Invalid input"),
        }
    }
}
