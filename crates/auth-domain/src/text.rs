//! Free-text fields (names, image URLs) that reach storage.

use crate::DomainError;

/// Longest accepted free-text value, in characters.
pub const MAX_TEXT_LENGTH: usize = 2048;

/// Checks a free-text field: no NUL or other control characters (Postgres cannot store NUL, and
/// control characters have no place in a name or URL), at most [`MAX_TEXT_LENGTH`] characters.
///
/// # Errors
/// `DomainError::InvalidField` naming the field.
pub fn check_text(field: &'static str, value: &str) -> Result<(), DomainError> {
    if value.chars().count() > MAX_TEXT_LENGTH || value.chars().any(char::is_control) {
        return Err(DomainError::InvalidField { field });
    }
    Ok(())
}

/// JavaScript's `encodeURIComponent`.
#[must_use]
pub fn encode_uri_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_overlong_values_are_refused() {
        assert!(check_text("name", "Zoë 山田").is_ok());
        for bad in ["a\0b", "a\r\nSet-Cookie: x", "tab\there"] {
            assert_eq!(
                check_text("name", bad),
                Err(DomainError::InvalidField { field: "name" })
            );
        }
        assert!(check_text("name", &"a".repeat(MAX_TEXT_LENGTH + 1)).is_err());
    }
}
