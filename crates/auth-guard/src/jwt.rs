//! `JwtVerifier`: EdDSA JWTs against a JWKS (Better-Auth's `/api/auth/jwks`).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::keys::{KeySource, RemoteKeys};
use crate::{Claims, GuardError, RemoteKeysConfig, VerifierConfig};

/// Verifies EdDSA JWTs: the key named by the header's `kid`, the signature, `exp` and `nbf`
/// (with leeway), `iss`, `aud`, and a `sub`. Every other algorithm is refused.
pub struct JwtVerifier {
    keys: KeySource<DecodingKey>,
    validation: Validation,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier").finish_non_exhaustive()
    }
}

/// The Ed25519 keys of a JWKS document, by `kid`. Keys of other types, curves or algorithms,
/// and keys with a malformed `x`, are left out.
fn parse_jwks(document: &Value) -> HashMap<String, Arc<DecodingKey>> {
    let Some(keys) = document.get("keys").and_then(Value::as_array) else {
        return HashMap::new();
    };
    keys.iter()
        .filter_map(|key| {
            let text = |name: &str| key.get(name).and_then(Value::as_str);
            let alg_ok = text("alg").is_none_or(|alg| alg == "EdDSA");
            if text("kty") != Some("OKP") || text("crv") != Some("Ed25519") || !alg_ok {
                return None;
            }
            let x = text("x")?;
            // jsonwebtoken slices the first 32 bytes of `x`: check the length first.
            if URL_SAFE_NO_PAD.decode(x).ok()?.len() != 32 {
                return None;
            }
            let decoding = DecodingKey::from_ed_components(x).ok()?;
            Some((text("kid")?.to_owned(), Arc::new(decoding)))
        })
        .collect()
}

impl JwtVerifier {
    fn with_keys(keys: KeySource<DecodingKey>, config: &VerifierConfig) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = config.leeway_seconds;
        validation.validate_nbf = true;
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        Self { keys, validation }
    }

    /// Verifies against the JWKS at `url` (e.g. `http://auth:3000/api/auth/jwks`), fetched on
    /// first use and cached with the default [`RemoteKeysConfig`].
    #[must_use]
    pub fn remote(url: &str, config: &VerifierConfig) -> Self {
        Self::remote_with(url, config, RemoteKeysConfig::default(), None)
    }

    /// As [`JwtVerifier::remote`], with cache settings and an HTTP client of your own (build one
    /// with TLS for `https` URLs).
    #[must_use]
    pub fn remote_with(
        url: &str,
        config: &VerifierConfig,
        cache: RemoteKeysConfig,
        client: Option<reqwest::Client>,
    ) -> Self {
        let remote = RemoteKeys::new(url, cache, client, parse_jwks);
        Self::with_keys(KeySource::Remote(Box::new(remote)), config)
    }

    /// Verifies against a JWKS document given once (e.g. read from a file).
    ///
    /// # Errors
    /// `InvalidToken` when the document holds no usable Ed25519 key.
    pub fn from_jwks(document: &str, config: &VerifierConfig) -> Result<Self, GuardError> {
        let document: Value =
            serde_json::from_str(document).map_err(|_| GuardError::InvalidToken)?;
        let keys = parse_jwks(&document);
        if keys.is_empty() {
            return Err(GuardError::InvalidToken);
        }
        Ok(Self::with_keys(KeySource::Static(keys), config))
    }

    /// Verifies a compact JWT and returns its claims.
    ///
    /// # Errors
    /// `InvalidToken`, `Expired`, or `KeysUnavailable` when the key set cannot be fetched.
    pub async fn verify(&self, token: &str) -> Result<Claims, GuardError> {
        // `decode_header` refuses `alg: none` and unknown algorithms; anything but EdDSA is
        // refused here, before a key is looked up.
        let header = jsonwebtoken::decode_header(token).map_err(|_| GuardError::InvalidToken)?;
        if header.alg != Algorithm::EdDSA {
            return Err(GuardError::InvalidToken);
        }
        let kid = header.kid.ok_or(GuardError::InvalidToken)?;
        let key = self.keys.get(&kid).await?;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.validation)
            .map_err(|error| match error.kind() {
                ErrorKind::ExpiredSignature => GuardError::Expired,
                _ => GuardError::InvalidToken,
            })?;
        claims_from(data.claims)
    }
}

/// The registered claims, read out of a verified payload.
fn claims_from(all: Map<String, Value>) -> Result<Claims, GuardError> {
    let text = |name: &str| all.get(name).and_then(Value::as_str).map(str::to_owned);
    let number = |name: &str| all.get(name).and_then(Value::as_i64);
    Ok(Claims {
        subject: text("sub").ok_or(GuardError::InvalidToken)?,
        issuer: text("iss").ok_or(GuardError::InvalidToken)?,
        expires_at: number("exp").ok_or(GuardError::InvalidToken)?,
        issued_at: number("iat"),
        all,
    })
}

#[cfg(test)]
pub(crate) mod tests;
