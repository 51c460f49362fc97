//! `PasetoVerifier`: PASETO v4.public tokens against the auth server's PASERKs
//! (`/api/auth/paseto-keys`).

use std::collections::HashMap;
use std::sync::Arc;

use pasetors::Public;
use pasetors::keys::AsymmetricPublicKey;
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::keys::{KeySource, RemoteKeys};
use crate::{Claims, GuardError, RemoteKeysConfig, VerifierConfig, now_unix};

/// Verifies `v4.public` tokens: the key named by the footer's `kid` (a `k4.pid`), the
/// signature, then `exp`, `nbf` (with leeway), `iss`, `aud` and a `sub`. Other versions and
/// purposes are refused.
pub struct PasetoVerifier {
    keys: KeySource<AsymmetricPublicKey<V4>>,
    config: VerifierConfig,
}

impl std::fmt::Debug for PasetoVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasetoVerifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn parse_paserks(document: &Value) -> HashMap<String, Arc<AsymmetricPublicKey<V4>>> {
    let Some(keys) = document.get("keys").and_then(Value::as_array) else {
        return HashMap::new();
    };
    keys.iter()
        .filter_map(|key| {
            let kid = key.get("kid")?.as_str()?;
            let paserk = key.get("paserk")?.as_str()?;
            let public = AsymmetricPublicKey::<V4>::try_from(paserk).ok()?;
            Some((kid.to_owned(), Arc::new(public)))
        })
        .collect()
}

fn parse_time(value: Option<&Value>) -> Result<Option<i64>, GuardError> {
    match value {
        None => Ok(None),
        Some(Value::String(text)) => OffsetDateTime::parse(text, &Rfc3339)
            .map(|at| Some(at.unix_timestamp()))
            .map_err(|_| GuardError::InvalidToken),
        Some(_) => Err(GuardError::InvalidToken),
    }
}

impl PasetoVerifier {
    /// Verifies against the key list at `url` (e.g. `http://auth:3000/api/auth/paseto-keys`).
    #[must_use]
    pub fn remote(url: &str, config: &VerifierConfig) -> Self {
        Self::remote_with(url, config, RemoteKeysConfig::default(), None)
    }

    /// As [`PasetoVerifier::remote`], with cache settings and an HTTP client of your own.
    #[must_use]
    pub fn remote_with(
        url: &str,
        config: &VerifierConfig,
        cache: RemoteKeysConfig,
        client: Option<reqwest::Client>,
    ) -> Self {
        Self {
            keys: KeySource::Remote(Box::new(RemoteKeys::new(url, cache, client, parse_paserks))),
            config: config.clone(),
        }
    }

    /// Verifies against one key given as a PASERK (`k4.public.…`) and its id (`k4.pid.…`).
    ///
    /// # Errors
    /// `InvalidToken` when the PASERK is not a v4 public key.
    pub fn from_paserk(
        kid: &str,
        paserk: &str,
        config: &VerifierConfig,
    ) -> Result<Self, GuardError> {
        let public =
            AsymmetricPublicKey::<V4>::try_from(paserk).map_err(|_| GuardError::InvalidToken)?;
        Ok(Self {
            keys: KeySource::Static(HashMap::from([(kid.to_owned(), Arc::new(public))])),
            config: config.clone(),
        })
    }

    /// Verifies a token and returns its claims.
    ///
    /// # Errors
    /// `InvalidToken`, `Expired`, or `KeysUnavailable`.
    pub async fn verify(&self, token: &str) -> Result<Claims, GuardError> {
        let untrusted =
            UntrustedToken::<Public, V4>::try_from(token).map_err(|_| GuardError::InvalidToken)?;
        let footer: Value = serde_json::from_slice(untrusted.untrusted_footer())
            .map_err(|_| GuardError::InvalidToken)?;
        let kid = footer
            .get("kid")
            .and_then(Value::as_str)
            .ok_or(GuardError::InvalidToken)?;
        let key = self.keys.get(kid).await?;
        let trusted = PublicToken::verify(&key, &untrusted, None, None)
            .map_err(|_| GuardError::InvalidToken)?;
        let all: Map<String, Value> =
            serde_json::from_str(trusted.payload()).map_err(|_| GuardError::InvalidToken)?;
        let leeway = i64::try_from(self.config.leeway_seconds).unwrap_or(i64::MAX);
        let now = now_unix();
        let expires_at = parse_time(all.get("exp"))?.ok_or(GuardError::InvalidToken)?;
        if now > expires_at.saturating_add(leeway) {
            return Err(GuardError::Expired);
        }
        if parse_time(all.get("nbf"))?.is_some_and(|nbf| now < nbf.saturating_sub(leeway)) {
            return Err(GuardError::InvalidToken);
        }
        let text = |name: &str| all.get(name).and_then(Value::as_str);
        if text("iss") != Some(self.config.issuer.as_str())
            || text("aud") != Some(self.config.audience.as_str())
        {
            return Err(GuardError::InvalidToken);
        }
        let subject = text("sub").ok_or(GuardError::InvalidToken)?.to_owned();
        Ok(Claims {
            subject,
            issuer: self.config.issuer.clone(),
            expires_at,
            issued_at: parse_time(all.get("iat"))?,
            all,
        })
    }
}

#[cfg(test)]
mod tests;
