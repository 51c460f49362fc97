//! Passwords, their stored hashes, and the length policy.

use std::fmt;

use crate::{DomainError, Secret};

/// A plaintext password as received from a client. Never logged, wiped on drop.
#[derive(Debug, Clone)]
pub struct Password(Secret<String>);

impl Password {
    /// Wraps a plaintext password. Length rules are checked by [`PasswordPolicy`].
    #[must_use]
    pub fn new(plaintext: String) -> Self {
        Self(Secret::new(plaintext))
    }

    /// The plaintext, for the hasher only.
    #[must_use]
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// Length in UTF-16 code units, as JavaScript (and so Better-Auth) counts it.
    #[must_use]
    pub fn utf16_len(&self) -> usize {
        self.expose().encode_utf16().count()
    }
}

/// A stored password hash: an argon2id PHC string, or Better-Auth's scrypt `salthex:keyhex`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored hash.
    #[must_use]
    pub fn new(encoded: String) -> Self {
        Self(encoded)
    }

    /// The encoded hash, as stored in `account.password`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// Password length rules; Better-Auth's defaults are 8 to 128 UTF-16 code units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Shortest accepted password on sign-up, change and reset.
    pub min_length: usize,
    /// Longest accepted password everywhere (also on sign-in, which caps hashing work).
    pub max_length: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
        }
    }
}

impl PasswordPolicy {
    /// Checks a new password (sign-up, change, reset).
    ///
    /// # Errors
    /// `PasswordTooShort` or `PasswordTooLong`.
    pub fn check_new(&self, password: &Password) -> Result<(), DomainError> {
        let length = password.utf16_len();
        if length < self.min_length {
            return Err(DomainError::PasswordTooShort);
        }
        self.check_max(password)
    }

    /// Checks only the upper bound (sign-in has no lower bound in Better-Auth).
    ///
    /// # Errors
    /// `PasswordTooLong`.
    pub fn check_max(&self, password: &Password) -> Result<(), DomainError> {
        if password.utf16_len() > self.max_length {
            return Err(DomainError::PasswordTooLong);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(plaintext: &str, expected: Result<(), DomainError>) {
        let policy = PasswordPolicy::default();
        assert_eq!(
            policy.check_new(&Password::new(plaintext.to_owned())),
            expected,
            "{plaintext:?}"
        );
    }

    #[test]
    fn default_policy_accepts_8_to_128_utf16_units() {
        check("12345678", Ok(()));
        check(&"x".repeat(128), Ok(()));
        check("1234567", Err(DomainError::PasswordTooShort));
        check(&"x".repeat(129), Err(DomainError::PasswordTooLong));
    }

    #[test]
    fn length_counts_utf16_code_units_like_javascript() {
        // Each emoji is two UTF-16 code units: four of them make eight units.
        check("😀😀😀😀", Ok(()));
        check(&"😀".repeat(65), Err(DomainError::PasswordTooLong));
    }

    #[test]
    fn debug_output_never_shows_the_plaintext_or_hash() {
        let password = Password::new("hunter2-secret".to_owned());
        let hash = PasswordHash::new("$argon2id$v=19$secret".to_owned());
        let printed = format!("{password:?} {hash:?}");
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains("argon2id"));
    }
}
