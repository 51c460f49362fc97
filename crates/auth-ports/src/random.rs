//! The random source.

/// Cryptographically secure randomness (the OS CSPRNG in production).
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Random: Send + Sync {
    /// `length` characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
    /// `alphabet` holds between 2 and 256 distinct ASCII characters.
    fn string(&self, alphabet: &'static [u8], length: usize) -> String;

    /// `length` random bytes.
    fn bytes(&self, length: usize) -> Vec<u8>;
}

/// `[a-zA-Z0-9]`, the alphabet of ids and session tokens.
pub const ALPHANUMERIC: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// `[a-zA-Z]`, the alphabet of the random part of API keys.
pub const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Digits and lower-case letters (Better-Auth's account-deletion tokens).
pub const LOWER_ALPHANUMERIC: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
