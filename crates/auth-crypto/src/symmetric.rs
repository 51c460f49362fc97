//! Better-Auth's `symmetricEncrypt`/`symmetricDecrypt`: key = SHA-256 of the UTF-8 secret,
//! XChaCha20-Poly1305 without associated data, output = lower-case hex of
//! `nonce (24) || ciphertext || tag (16)`. Versioned values (`$ba$<version>$<hex>`) are opened
//! with the one secret this server has.

use chacha20poly1305::aead::Aead;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const NONCE_LENGTH: usize = 24;
const TAG_LENGTH: usize = 16;
const ENVELOPE_PREFIX: &str = "$ba$";

/// The cipher keyed by the server secret.
pub(crate) struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl SecretBox {
    /// Keys the cipher with SHA-256 of the secret's UTF-8 bytes.
    pub(crate) fn new(secret: &str) -> Self {
        let key = Zeroizing::new(<[u8; 32]>::from(Sha256::digest(secret.as_bytes())));
        // A 32-byte key always has the cipher's key size.
        let cipher = XChaCha20Poly1305::new(&(*key).into());
        Self { cipher }
    }

    /// Encrypts with a fresh random nonce; `None` only if the cipher refuses (it does not for
    /// inputs under 256 GiB).
    pub(crate) fn encrypt(&self, plaintext: &[u8]) -> Option<String> {
        let mut nonce = [0u8; NONCE_LENGTH];
        rand::fill(&mut nonce[..]);
        let sealed = self.cipher.encrypt(&XNonce::from(nonce), plaintext).ok()?;
        let mut out = String::with_capacity((NONCE_LENGTH + sealed.len()) * 2);
        push_hex(&mut out, &nonce);
        push_hex(&mut out, &sealed);
        Some(out)
    }

    /// Decrypts bare hex or a `$ba$<version>$<hex>` envelope; `None` when the value is malformed
    /// or was sealed with another secret.
    pub(crate) fn decrypt(&self, data: &str) -> Option<Zeroizing<Vec<u8>>> {
        let hex = match data.strip_prefix(ENVELOPE_PREFIX) {
            Some(rest) => {
                let (version, hex) = rest.split_once('$')?;
                if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                hex
            }
            None => data,
        };
        let bytes = decode_hex(hex)?;
        if bytes.len() < NONCE_LENGTH + TAG_LENGTH {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LENGTH);
        let nonce = XNonce::try_from(nonce).ok()?;
        self.cipher.decrypt(&nonce, sealed).ok().map(Zeroizing::new)
    }
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
}

fn decode_hex(value: &str) -> Option<Vec<u8>> {
    if !value.len().is_multiple_of(2) {
        return None;
    }
    value
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let high = char::from(pair[0]).to_digit(16)?;
            let low = char::from(pair[1]).to_digit(16)?;
            u8::try_from(high * 16 + low).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";

    #[test]
    fn sealed_values_have_better_auths_shape_and_open_only_with_the_secret() {
        // Values sealed by Better-Auth itself are opened in `tokens::tests`.
        let sealed = SecretBox::new(SECRET).encrypt(b"hello").expect("sealed");
        assert_eq!(sealed.len(), (24 + 5 + 16) * 2);
        assert!(
            sealed
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let opened = SecretBox::new(SECRET).decrypt(&sealed).expect("opens");
        assert_eq!(opened.as_slice(), b"hello");
        let enveloped = format!("$ba$2${sealed}");
        assert_eq!(
            SecretBox::new(SECRET)
                .decrypt(&enveloped)
                .expect("opens")
                .as_slice(),
            b"hello"
        );
        assert!(
            SecretBox::new("another-secret-0123456789-abcdefghij")
                .decrypt(&sealed)
                .is_none()
        );
        for broken in ["", "zz", "$ba$x$00", "$ba$1", &sealed[..sealed.len() - 1]] {
            assert!(
                SecretBox::new(SECRET).decrypt(broken).is_none(),
                "{broken:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn sealing_round_trips_and_any_changed_byte_is_refused(
            plaintext in proptest::collection::vec(any::<u8>(), 0..256),
            flip in any::<usize>(),
        ) {
            let secret_box = SecretBox::new(SECRET);
            let sealed = secret_box.encrypt(&plaintext).expect("sealed");
            let opened = secret_box.decrypt(&sealed).expect("opens");
            prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
            let mut bytes = decode_hex(&sealed).expect("hex");
            let index = flip % bytes.len();
            bytes[index] ^= 0x01;
            let mut tampered = String::new();
            push_hex(&mut tampered, &bytes);
            prop_assert!(secret_box.decrypt(&tampered).is_none());
        }
    }
}
