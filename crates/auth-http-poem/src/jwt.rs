//! The JWT plugin (Better-Auth's `jwt()`): `GET /token` signs a token for the session's user,
//! `GET /jwks` publishes the public keys, `GET /paseto-keys` the PASETO ones, and `get-session`
//! responses carry `set-auth-jwt`.

use std::sync::Arc;

use auth_core::{AuthContext, PublishedJwk, TokenIssuer};
use poem::endpoint::{BoxEndpoint, make};
use poem::http::header;
use poem::{EndpointExt as _, IntoResponse, Request, Response};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::payload::Reply;
use crate::session_ctx::require;
use crate::state::{HttpPlugin, HttpState, PluginFuture};

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
}

impl JwtPlugin {
    /// The plugin with these use cases and settings.
    #[must_use]
    pub fn new(tokens: TokenIssuer, config: JwtPluginConfig) -> Self {
        Self { tokens, config }
    }
}

impl HttpPlugin for JwtPlugin {
    fn id(&self) -> &'static str {
        "jwt"
    }

    fn routes(&self, state: &Arc<HttpState>) -> Vec<(&'static str, BoxEndpoint<'static>)> {
        let token = {
            let (state, tokens) = (state.clone(), self.tokens.clone());
            make(move |request: Request| {
                let (state, tokens) = (state.clone(), tokens.clone());
                async move { get_token(&state, &tokens, &request).await }
            })
        };
        let jwks = {
            let tokens = self.tokens.clone();
            make(move |_: Request| {
                let tokens = tokens.clone();
                async move { get_jwks(&tokens).await }
            })
        };
        let paseto_keys = {
            let tokens = self.tokens.clone();
            make(move |_: Request| {
                let tokens = tokens.clone();
                async move { get_paseto_keys(&tokens).await }
            })
        };
        vec![
            ("/token", poem::get(token).boxed()),
            ("/jwks", poem::get(jwks).boxed()),
            ("/paseto-keys", poem::get(paseto_keys).boxed()),
        ]
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

/// `GET /token`: `{"token": "<jwt>"}` for the session's user; 401 without a session.
async fn get_token(state: &HttpState, tokens: &TokenIssuer, request: &Request) -> Response {
    let loaded = match require(state, request).await {
        Ok(loaded) => loaded,
        Err(error) => return error.into_response(),
    };
    match tokens.get_token(&loaded.context).await {
        Ok(issued) => Reply::new(json!({ "token": issued.token }))
            .cookies(loaded.cookies)
            .header(header::CACHE_CONTROL, "no-store")
            .into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// `GET /jwks`: `{"keys": [{"alg", "crv", ...public JWK..., "kid"}]}`.
async fn get_jwks(tokens: &TokenIssuer) -> Response {
    match tokens.get_jwks().await {
        Ok(keys) => Reply::new(jwks_document(&keys)).into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}

/// `GET /paseto-keys`: `{"keys": [{"kid": "k4.pid…", "paserk": "k4.public…", "expiresAt"}]}`.
async fn get_paseto_keys(tokens: &TokenIssuer) -> Response {
    match tokens.get_paseto_keys().await {
        Ok(keys) => {
            let keys: Vec<Value> = keys
                .iter()
                .map(|key| {
                    json!({
                        "kid": key.pid,
                        "paserk": key.paserk,
                        "expiresAt": key.expires_at.map(auth_domain::date::to_json),
                    })
                })
                .collect();
            Reply::new(json!({ "keys": keys })).into_response()
        }
        Err(error) => ApiError::from(error).into_response(),
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
