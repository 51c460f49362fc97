//! `Sha256KeyHasher`: API keys at rest as Better-Auth stores them.

use auth_ports::ApiKeyHasher;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

/// base64url without padding of SHA-256 over the key's UTF-8 bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sha256KeyHasher;

impl ApiKeyHasher for Sha256KeyHasher {
    fn digest(&self, key: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(key.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `defaultKeyHasher` of `@better-auth/api-key` 1.7.5, run with the npm package on the
    /// contract's example key.
    #[test]
    fn keys_are_digested_as_better_auth_digests_them() {
        assert_eq!(
            Sha256KeyHasher
                .digest("ba_ZSdtUglEiNKDHAyVBZvZAPbHDQecufFPXYGcwjQflGlrOYfhSAHqylmtTyujKfxV"),
            "z-gz-VM_knyz8N_SZ3l9SJQjnXRfEzzBFQYSt-ngfhM"
        );
        assert_eq!(
            Sha256KeyHasher.digest("hello world"),
            "uU0nuZNNPgilLlLX2n2r-sSE7-N6U4DukIj3rOLvzek"
        );
    }
}
