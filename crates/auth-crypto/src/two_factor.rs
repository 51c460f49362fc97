//! `TwoFactorCrypto` as Better-Auth computes it: secrets sealed with `symmetricEncrypt`, RFC
//! 6238 codes over HMAC-SHA1 keyed by the secret's UTF-8 bytes, and the trusted-device token,
//! base64url of HMAC-SHA256 under the server secret.

use auth_domain::Secret;
use auth_ports::{PortError, TwoFactorCrypto};
use base64::Engine as _;
use hmac::{KeyInit as _, Mac as _};

use crate::symmetric::SecretBox;

/// The two-factor cryptography keyed by the server secret.
pub struct TwoFactorCipher {
    sealer: SecretBox,
    signer: hmac::Hmac<sha2::Sha256>,
}

impl std::fmt::Debug for TwoFactorCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TwoFactorCipher([redacted])")
    }
}

impl TwoFactorCipher {
    /// Keyed by the server secret (`BETTER_AUTH_SECRET`).
    #[must_use]
    pub fn new(secret: &Secret<String>) -> Self {
        let key = secret.expose().as_bytes();
        let signer = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
            .unwrap_or_else(|_| hmac::Hmac::<sha2::Sha256>::new(&Default::default()));
        Self {
            sealer: SecretBox::new(secret.expose()),
            signer,
        }
    }
}

impl TwoFactorCrypto for TwoFactorCipher {
    fn seal(&self, plaintext: &str) -> Result<String, PortError> {
        self.sealer
            .encrypt(plaintext.as_bytes())
            .ok_or_else(|| PortError::internal("a two-factor secret was not sealed"))
    }

    fn open(&self, sealed: &str) -> Result<Secret<String>, PortError> {
        let opened = self
            .sealer
            .decrypt(sealed)
            .ok_or_else(|| PortError::internal("a two-factor secret did not open"))?;
        let text = std::str::from_utf8(&opened)
            .map_err(|_| PortError::internal("a two-factor secret is not text"))?;
        Ok(Secret::new(text.to_owned()))
    }

    fn totp(&self, key: &[u8], step: i64, digits: u32) -> String {
        // HMAC accepts keys of any length.
        let Ok(mut mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(key) else {
            return String::new();
        };
        let counter = u64::try_from(step).unwrap_or(0);
        mac.update(&counter.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        // RFC 4226 dynamic truncation.
        let offset = usize::from(digest[digest.len() - 1] & 0x0f);
        let binary = (u32::from(digest[offset] & 0x7f) << 24)
            | (u32::from(digest[offset + 1]) << 16)
            | (u32::from(digest[offset + 2]) << 8)
            | u32::from(digest[offset + 3]);
        let digits = digits.clamp(1, 9);
        let code = binary % 10_u32.pow(digits);
        format!("{code:0width$}", width = digits as usize)
    }

    fn sign(&self, message: &str) -> String {
        let mut mac = self.signer.clone();
        mac.update(message.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> TwoFactorCipher {
        TwoFactorCipher::new(&Secret::new(
            "better-auth-secret-123456789012345".to_owned(),
        ))
    }

    #[test]
    fn codes_match_the_rfc_6238_vectors() {
        // RFC 6238 appendix B, SHA-1, key "12345678901234567890", 8 digits.
        let key = b"12345678901234567890";
        for (time, code) in [
            (59_i64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            assert_eq!(cipher().totp(key, time / 30, 8), code, "{time}");
        }
        assert_eq!(cipher().totp(key, 59 / 30, 6), "287082");
    }

    #[test]
    fn a_sealed_secret_opens_and_another_secret_cannot_open_it() {
        let sealed = cipher().seal("JBSWY3DPEHPK3PXP").expect("seal");
        assert_eq!(
            cipher().open(&sealed).expect("open").expose(),
            "JBSWY3DPEHPK3PXP"
        );
        let other =
            TwoFactorCipher::new(&Secret::new("another-secret-0123456789012345".to_owned()));
        assert!(other.open(&sealed).is_err());
        assert!(cipher().open("not hex").is_err());
    }

    #[test]
    fn the_trusted_device_token_is_base64url_hmac_sha256() {
        // Node: createHmac('sha256', secret).update('u1!trust-device-x').digest('base64url').
        let token = cipher().sign("u1!trust-device-x");
        assert_eq!(token, "MmZ-q0ToY-15foa_8QgT1a1oka_pQa1xTJxYQdteyd0");
        assert_ne!(token, cipher().sign("u2!trust-device-x"));
        assert!(!format!("{:?}", cipher()).contains("better-auth-secret"));
    }
}
