//! Email addresses: trimmed, lower-cased, length-bounded and syntactically checked.

use std::fmt;

use crate::DomainError;

/// The longest address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_LENGTH: usize = 254;
const MAX_LOCAL_PART_LENGTH: usize = 64;
const MAX_LABEL_LENGTH: usize = 63;

/// A validated, normalised email address (trimmed and lower-cased, as Better-Auth stores it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses and normalises an address.
    ///
    /// # Errors
    /// `DomainError::InvalidEmail` when the address is empty, too long, holds characters outside
    /// printable ASCII, or is not `local@domain.tld`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let normalised = raw.trim().to_ascii_lowercase();
        if normalised.len() > MAX_EMAIL_LENGTH || !is_valid(&normalised) {
            return Err(DomainError::InvalidEmail);
        }
        Ok(Self(normalised))
    }

    /// Wraps an address read back from storage, which was validated when written.
    #[must_use]
    pub fn from_trusted(stored: String) -> Self {
        Self(stored)
    }

    /// The normalised address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_valid(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    is_valid_local_part(local) && is_valid_domain(domain)
}

fn is_valid_local_part(local: &str) -> bool {
    if local.is_empty() || local.len() > MAX_LOCAL_PART_LENGTH {
        return false;
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return false;
    }
    local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
}

fn is_valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let labels_ok = labels.iter().all(|label| {
        !label.is_empty()
            && label.len() <= MAX_LABEL_LENGTH
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    let top_level = labels.last().copied().unwrap_or_default();
    labels_ok && top_level.len() >= 2 && top_level.bytes().all(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests;
