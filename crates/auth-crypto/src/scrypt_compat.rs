//! Better-Auth's scrypt password format: `<32 hex salt>:<128 hex key>`, N=16384, r=16, p=1,
//! 64-byte key, the password NFKC-normalised, and the hex salt string's bytes used as the salt.

use subtle::ConstantTimeEq;
use unicode_normalization::UnicodeNormalization;

const LOG_N: u8 = 14;
const R: u32 = 16;
const P: u32 = 1;
const KEY_LENGTH: usize = 64;

/// Whether `stored` looks like a Better-Auth scrypt hash.
pub(crate) fn is_scrypt_hash(stored: &str) -> bool {
    match stored.split_once(':') {
        Some((salt, key)) => {
            salt.len() == 32 && key.len() == KEY_LENGTH * 2 && is_hex(salt) && is_hex(key)
        }
        None => false,
    }
}

/// Verifies a password against a Better-Auth scrypt hash, in constant time over the key.
/// Blocking: call from the hashing pool.
pub(crate) fn verify(password: &str, stored: &str) -> bool {
    let Some((salt, key_hex)) = stored.split_once(':') else {
        return false;
    };
    let Some(expected) = decode_hex(key_hex) else {
        return false;
    };
    let Some(derived) = derive(password, salt) else {
        return false;
    };
    derived.ct_eq(&expected).into()
}

/// Derives the key the way Better-Auth does (used to verify, and by tests to make fixtures).
pub(crate) fn derive(password: &str, salt: &str) -> Option<[u8; KEY_LENGTH]> {
    let normalised: String = password.nfkc().collect();
    let params = scrypt::Params::new(LOG_N, R, P).ok()?;
    let mut out = [0u8; KEY_LENGTH];
    scrypt::scrypt(normalised.as_bytes(), salt.as_bytes(), &params, &mut out).ok()?;
    Some(out)
}

fn is_hex(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn decode_hex(value: &str) -> Option<Vec<u8>> {
    if !value.len().is_multiple_of(2) || !is_hex(value) {
        return None;
    }
    (0..value.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(value.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
