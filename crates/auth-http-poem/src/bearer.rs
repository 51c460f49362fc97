//! The bearer plugin (Better-Auth's `bearer()`): `Authorization: Bearer <token>` authenticates
//! like the session cookie (a session resolver), and responses that issue a session carry
//! `set-auth-token`.

use auth_domain::SessionToken;
use poem::Request;
use poem::http::{HeaderMap, HeaderValue, header};

use crate::cookies::percent_decode;
use crate::plugin::{HttpPlugin, IssuedSession, PluginFuture, Resolution};
use crate::state::HttpState;

/// The response header that carries the signed session token.
pub const SET_AUTH_TOKEN: &str = "set-auth-token";

/// Settings of the bearer plugin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BearerConfig {
    /// Accept only signed tokens (`<token>.<signature>`); by default a raw session token is
    /// accepted too, as Better-Auth does.
    pub require_signature: bool,
}

/// `Authorization: Bearer` support.
#[derive(Debug, Clone, Copy, Default)]
pub struct BearerPlugin {
    config: BearerConfig,
}

impl BearerPlugin {
    /// The plugin with these settings.
    #[must_use]
    pub fn new(config: BearerConfig) -> Self {
        Self { config }
    }

    /// The session token a bearer header stands for, if it carries a validly signed one.
    fn token(&self, state: &HttpState, authorization: &str) -> Option<SessionToken> {
        let scheme = authorization.get(..7)?;
        if !scheme.eq_ignore_ascii_case("bearer ") {
            return None;
        }
        let token = authorization.get(7..)?.trim();
        if token.is_empty() {
            return None;
        }
        if !token.contains('.') {
            // A raw token (Better-Auth signs it itself, so it always verifies): nothing to check.
            return (!self.config.require_signature).then(|| SessionToken::new(token.to_owned()));
        }
        let signed = if token.contains('%') {
            percent_decode(token)?
        } else {
            token.to_owned()
        };
        let verified = state.cookies().verify(&signed);
        let outcome = if verified.is_some() {
            "valid"
        } else {
            "invalid"
        };
        auth_core::metrics::token_checked("bearer", outcome);
        Some(SessionToken::new(verified?.to_owned()))
    }
}

impl HttpPlugin for BearerPlugin {
    fn id(&self) -> &'static str {
        "bearer"
    }

    /// A valid `Authorization: Bearer` token is the request's session token, ahead of any
    /// session cookie; any other header is ignored (the cookie, if any, decides).
    fn resolve<'a>(
        &'a self,
        state: &'a HttpState,
        request: &'a Request,
    ) -> PluginFuture<'a, Resolution> {
        let token = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|authorization| self.token(state, authorization));
        match token {
            Some(token) => Box::pin(std::future::ready(Resolution::Token(token))),
            None => crate::plugin::pass(),
        }
    }

    fn security_scheme(&self, _state: &HttpState) -> Option<(&'static str, serde_json::Value)> {
        let scheme = serde_json::json!({
            "type": "http",
            "scheme": "bearer",
            "description": "The signed session token of `set-auth-token` (or the raw one)."
        });
        Some(("bearer", scheme))
    }

    /// Every response that issues a session carries `set-auth-token: <token>.<signature>`.
    fn session_issued(&self, _state: &HttpState, issued: &IssuedSession, headers: &mut HeaderMap) {
        if let Ok(value) = HeaderValue::from_str(issued.signed_token()) {
            headers.insert(SET_AUTH_TOKEN, value);
            auth_core::metrics::token_issued("bearer");
        }
    }
}
