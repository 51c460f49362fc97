//! The JWT plugin (Better-Auth's `jwt()`): `GET /token` signs a token for the session's user,
//! `GET /jwks` publishes the public keys (from a document serialised once per key change),
//! `GET /paseto-keys` the PASETO ones, and `get-session` responses carry `set-auth-jwt`.

use std::sync::Arc;

use std::sync::Mutex;

use auth_core::{AuthContext, PublishedJwk, TokenIssuer};
use bytes::Bytes;
use poem::Request;
use poem::http::header;
use poem_openapi::{Object, OpenApi, Tags};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::payload::{RawJson, Reply};
use crate::plugin::{HttpPlugin, PluginApi, PluginFuture};
use crate::session_ctx::require;
use crate::state::HttpState;

/// The `get-session` response header that carries a token for the session's user.
pub const SET_AUTH_JWT: &str = "set-auth-jwt";

/// Settings of the JWT plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwtPluginConfig {
    /// Add `set-auth-jwt` to `get-session` responses (Better-Auth's `disableSettingJwtHeader`,
    /// inverted). On by default.
    pub set_jwt_header: bool,
}

impl Default for JwtPluginConfig {
    fn default() -> Self {
        Self {
            set_jwt_header: true,
        }
    }
}

/// The JWT plugin over the token use cases.
#[derive(Clone)]
pub struct JwtPlugin {
    tokens: TokenIssuer,
    config: JwtPluginConfig,
    jwks: Arc<JwksCache>,
}

impl JwtPlugin {
    /// The plugin with these use cases and settings.
    #[must_use]
    pub fn new(tokens: TokenIssuer, config: JwtPluginConfig) -> Self {
        Self {
            tokens,
            config,
            jwks: Arc::default(),
        }
    }
}

impl HttpPlugin for JwtPlugin {
    fn id(&self) -> &'static str {
        "jwt"
    }

    fn api(&self, state: &Arc<HttpState>) -> Option<PluginApi> {
        Some(PluginApi::new(JwtApi {
            state: state.clone(),
            tokens: self.tokens.clone(),
            jwks: self.jwks.clone(),
        }))
    }

    fn session_headers<'a>(
        &'a self,
        _state: &'a HttpState,
        context: &'a AuthContext,
    ) -> PluginFuture<'a, Vec<(&'static str, String)>> {
        Box::pin(async move {
            if !self.config.set_jwt_header {
                return Vec::new();
            }
            match self.tokens.get_token(context).await {
                Ok(issued) => vec![(SET_AUTH_JWT, issued.token)],
                Err(error) => {
                    // The session itself is fine: answer without the header rather than fail.
                    tracing::warn!(error = %error, "set-auth-jwt: no token could be signed");
                    Vec::new()
                }
            }
        })
    }
}

/// The serialised JWKS document and the keys it was built from: rebuilt only when the keys
/// change (the use case hands out the same snapshot until then).
#[derive(Default)]
struct JwksCache {
    built: Mutex<Option<(Arc<[PublishedJwk]>, Bytes)>>,
}

impl JwksCache {
    fn document(&self, keys: &Arc<[PublishedJwk]>) -> Bytes {
        let mut built = self
            .built
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((known, bytes)) = built.as_ref()
            && Arc::ptr_eq(known, keys)
        {
            return bytes.clone();
        }
        let bytes = Bytes::from(serde_json::to_vec(&jwks_document(keys)).unwrap_or_default());
        *built = Some((keys.clone(), bytes.clone()));
        bytes
    }
}

/// The JWT plugin's OpenAPI tag.
#[derive(Tags)]
enum JwtTags {
    /// JSON Web Tokens (and PASETO tokens) for other services, and their public keys.
    Jwt,
}

/// `GET /token`'s answer.
#[derive(Debug, Object, Serialize)]
struct TokenResponse {
    /// A signed token for the session's user (a JWT, or a PASETO token when so configured).
    token: String,
}

/// One public key of the JWKS (the stored JWK's members, plus `alg`, `crv` and `kid`).
#[derive(Debug, Object, Serialize)]
#[oai(rename = "Jwk")]
struct JwkDescription {
    /// `EdDSA`.
    alg: String,
    /// `Ed25519`.
    #[oai(nullable)]
    crv: Option<String>,
    /// `OKP`.
    kty: String,
    /// The public key, base64url.
    x: String,
    /// The `jwks` row id, named by the `kid` of the tokens it signed.
    kid: String,
}

/// `GET /jwks`'s answer.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "Jwks")]
struct JwksDescription {
    /// Every published key.
    keys: Vec<JwkDescription>,
}

/// One public PASETO key.
#[derive(Debug, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename_all = "camelCase")]
struct PaserkDto {
    /// The key's PASERK id (`k4.pid.…`), the `kid` of the tokens it signed.
    kid: String,
    /// The public key (`k4.public.…`).
    paserk: String,
    /// ISO-8601 expiry, or null.
    #[oai(nullable)]
    expires_at: Option<String>,
}

/// `GET /paseto-keys`'s answer.
#[derive(Debug, Object, Serialize)]
struct PasetoKeysResponse {
    /// Every published PASETO key.
    keys: Vec<PaserkDto>,
}

struct JwtApi {
    state: Arc<HttpState>,
    tokens: TokenIssuer,
    jwks: Arc<JwksCache>,
}

#[OpenApi(tag = "JwtTags::Jwt")]
impl JwtApi {
    /// A signed token for the session's user; 401 without a session.
    #[oai(path = "/token", method = "get")]
    async fn token(&self, request: &Request) -> Result<Reply<TokenResponse>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let issued = self.tokens.get_token(&loaded.context).await?;
        Ok(Reply::new(TokenResponse {
            token: issued.token,
        })
        .cookies(loaded.cookies)
        .header(header::CACHE_CONTROL, "no-store"))
    }

    /// The public keys that verify the tokens (JWKS), created on first use.
    #[oai(path = "/jwks", method = "get")]
    async fn jwks(&self) -> Result<RawJson<JwksDescription>, ApiError> {
        let keys = self.tokens.published_jwks().await?;
        Ok(RawJson::new(self.jwks.document(&keys)))
    }

    /// The public PASETO `v4.public` keys.
    #[oai(path = "/paseto-keys", method = "get")]
    async fn paseto_keys(&self) -> Result<Reply<PasetoKeysResponse>, ApiError> {
        let keys = self.tokens.get_paseto_keys().await?;
        let keys = keys
            .into_iter()
            .map(|key| PaserkDto {
                kid: key.pid,
                paserk: key.paserk,
                expires_at: key.expires_at.map(auth_domain::date::to_json),
            })
            .collect();
        Ok(Reply::new(PasetoKeysResponse { keys }))
    }
}

/// The JWKS document, built as Better-Auth builds it: `alg` and `crv` from the row, then the
/// stored public JWK's members, then `kid`.
pub(crate) fn jwks_document(keys: &[PublishedJwk]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .filter_map(|key| {
            let Ok(Value::Object(public)) = serde_json::from_str::<Value>(&key.public_key) else {
                tracing::warn!(key_id = %key.id, "jwks: a stored public key is not a JSON object");
                return None;
            };
            let mut member = Map::new();
            member.insert("alg".to_owned(), Value::String(key.alg.clone()));
            if let Some(crv) = &key.crv {
                member.insert("crv".to_owned(), Value::String(crv.clone()));
            }
            member.extend(public);
            member.insert("kid".to_owned(), Value::String(key.id.as_str().to_owned()));
            Some(Value::Object(member))
        })
        .collect();
    json!({ "keys": keys })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use auth_core::PublishedJwk;
    use auth_domain::JwkId;

    use super::JwksCache;

    fn key(id: &str) -> PublishedJwk {
        PublishedJwk {
            id: JwkId::new(id.to_owned()),
            public_key: r#"{"kty":"OKP","x":"abc"}"#.to_owned(),
            alg: "EdDSA".to_owned(),
            crv: Some("Ed25519".to_owned()),
        }
    }

    #[test]
    fn the_jwks_document_is_serialised_once_per_snapshot() {
        let cache = JwksCache::default();
        let keys: Arc<[PublishedJwk]> = vec![key("k1")].into();
        let first = cache.document(&keys);
        let again = cache.document(&keys);
        assert_eq!(first.as_ptr(), again.as_ptr(), "the same bytes are served");
        let document: serde_json::Value = serde_json::from_slice(&first).expect("json");
        assert_eq!(document["keys"][0]["kid"], "k1");
        assert_eq!(document["keys"][0]["x"], "abc");
        let changed: Arc<[PublishedJwk]> = vec![key("k1"), key("k2")].into();
        let rebuilt = cache.document(&changed);
        let document: serde_json::Value = serde_json::from_slice(&rebuilt).expect("json");
        assert_eq!(
            document["keys"][1]["kid"], "k2",
            "a new snapshot is serialised anew"
        );
    }
}
