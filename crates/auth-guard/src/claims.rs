//! The verified claims of a token.

use serde_json::{Map, Value};

/// The claims of a verified token: the registered ones, and every other member (for tokens of
/// the auth server: the user object, `email`, `name`, `emailVerified`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// `sub`: the user id.
    pub subject: String,
    /// `iss`.
    pub issuer: String,
    /// `exp`, seconds since the epoch.
    pub expires_at: i64,
    /// `iat`, when present.
    pub issued_at: Option<i64>,
    /// Every member of the payload, registered ones included.
    pub all: Map<String, Value>,
}

impl Claims {
    /// A member of the payload.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.all.get(name)
    }

    /// `email`, when the token carries the user object.
    #[must_use]
    pub fn email(&self) -> Option<&str> {
        self.get("email").and_then(Value::as_str)
    }

    /// `emailVerified`; `false` when absent.
    #[must_use]
    pub fn email_verified(&self) -> bool {
        self.get("emailVerified")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}
