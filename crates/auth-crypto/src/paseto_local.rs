//! PASETO v4.local for values the server seals for itself and reads back later (short-lived
//! state carried by a client). The key is derived from the server secret for this use only; the
//! purpose is bound as the implicit assertion, so a value sealed for one purpose never opens for
//! another; every value carries an expiry.

use auth_domain::Secret;
use auth_ports::PortError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pasetors::Local;
use pasetors::keys::SymmetricKey;
use pasetors::token::UntrustedToken;
use pasetors::version4::{LocalToken, V4};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

/// Domain separation of the derived key: never the key of anything else.
const KEY_LABEL: &[u8] = b"auth-server/paseto-v4-local/v1\0";

/// Seals and opens `v4.local` values with a key derived from the server secret.
pub struct LocalSealer {
    key: SymmetricKey<V4>,
}

impl std::fmt::Debug for LocalSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalSealer([redacted])")
    }
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    exp: String,
    data: String,
}

impl LocalSealer {
    /// A sealer keyed by SHA-256 of a fixed label and the secret.
    ///
    /// # Errors
    /// `PortError::Internal` if the key cannot be built (it always can: 32 bytes).
    pub fn new(secret: &Secret<String>) -> Result<Self, PortError> {
        let mut hasher = Sha256::new();
        hasher.update(KEY_LABEL);
        hasher.update(secret.expose().as_bytes());
        let key = Zeroizing::new(<[u8; 32]>::from(hasher.finalize()));
        let key = SymmetricKey::<V4>::from(key.as_slice())
            .map_err(|_| PortError::internal("v4.local key"))?;
        Ok(Self { key })
    }

    /// Seals `payload` for `purpose` until `expires_at`: `v4.local.…`.
    ///
    /// # Errors
    /// `PortError::Internal` when the cipher or the random source fails.
    pub fn seal(
        &self,
        purpose: &str,
        payload: &[u8],
        expires_at: OffsetDateTime,
    ) -> Result<String, PortError> {
        let sealed = Sealed {
            exp: expires_at.format(&Rfc3339).map_err(PortError::internal)?,
            data: URL_SAFE_NO_PAD.encode(payload),
        };
        let message = serde_json::to_vec(&sealed).map_err(PortError::internal)?;
        LocalToken::encrypt(&self.key, &message, None, Some(purpose.as_bytes()))
            .map_err(|_| PortError::internal("v4.local sealing failed"))
    }

    /// The payload of a value sealed for `purpose` that has not expired at `now`; `None` for
    /// anything else (another purpose, another secret, tampered, expired, malformed).
    #[must_use]
    pub fn open(&self, purpose: &str, token: &str, now: OffsetDateTime) -> Option<Vec<u8>> {
        let untrusted = UntrustedToken::<Local, V4>::try_from(token).ok()?;
        let trusted =
            LocalToken::decrypt(&self.key, &untrusted, None, Some(purpose.as_bytes())).ok()?;
        let sealed: Sealed = serde_json::from_str(trusted.payload()).ok()?;
        let expires_at = OffsetDateTime::parse(&sealed.exp, &Rfc3339).ok()?;
        if expires_at <= now {
            return None;
        }
        URL_SAFE_NO_PAD.decode(sealed.data).ok()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::Duration;
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    fn sealer(secret: &str) -> LocalSealer {
        LocalSealer::new(&Secret::new(secret.to_owned())).expect("sealer")
    }

    #[test]
    fn purpose_expiry_and_secret_are_bound() {
        let sealer = sealer("test-secret-0123456789-abcdefghijklmnop");
        let token = sealer
            .seal("oauth-state", b"hello", NOW + Duration::minutes(10))
            .expect("sealed");
        assert!(token.starts_with("v4.local."));
        assert_eq!(
            sealer.open("oauth-state", &token, NOW).as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(sealer.open("email-link", &token, NOW), None);
        assert_eq!(
            sealer.open("oauth-state", &token, NOW + Duration::minutes(10)),
            None
        );
        let other = super::tests::sealer("another-secret-0123456789-abcdefghij");
        assert_eq!(other.open("oauth-state", &token, NOW), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn sealed_values_round_trip_and_tampering_is_refused(
            payload in proptest::collection::vec(any::<u8>(), 0..200),
            position in any::<usize>(),
        ) {
            let sealer = sealer("test-secret-0123456789-abcdefghijklmnop");
            let token = sealer.seal("p", &payload, NOW + Duration::hours(1)).expect("sealed");
            let expected = payload.clone();
            prop_assert_eq!(sealer.open("p", &token, NOW), Some(payload));
            let start = "v4.local.".len();
            let mut bytes = token.into_bytes();
            let index = start + position % (bytes.len() - start);
            bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).expect("ascii");
            // A change confined to unused trailing bits of the base64 may decode to the same
            // bytes; any other change fails authentication.
            if let Some(opened) = sealer.open("p", &tampered, NOW) {
                prop_assert_eq!(opened, expected);
            }
        }
    }
}
