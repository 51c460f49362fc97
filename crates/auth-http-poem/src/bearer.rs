//! The bearer plugin (Better-Auth's `bearer()`): `Authorization: Bearer <token>` authenticates
//! like the session cookie, and responses that establish a session carry `set-auth-token`.

use poem::http::{HeaderValue, header};
use poem::{Request, Response};

use crate::cookies::{SESSION_TOKEN, encode_uri_component, percent_decode};
use crate::state::{HttpPlugin, HttpState};

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

    /// The signed token a bearer header stands for, if it carries a valid one.
    fn signed_token(&self, state: &HttpState, authorization: &str) -> Option<String> {
        let scheme = authorization.get(..7)?;
        if !scheme.eq_ignore_ascii_case("bearer ") {
            return None;
        }
        let token = authorization.get(7..)?.trim();
        if token.is_empty() {
            return None;
        }
        let signed = if token.contains('.') {
            if token.contains('%') {
                percent_decode(token)?
            } else {
                token.to_owned()
            }
        } else if self.config.require_signature {
            return None;
        } else {
            state.cookies().sign(token)
        };
        state.cookies().verify(&signed)?;
        Some(signed)
    }
}

impl HttpPlugin for BearerPlugin {
    fn id(&self) -> &'static str {
        "bearer"
    }

    fn before(&self, state: &HttpState, request: &mut Request) {
        let Some(authorization) = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return;
        };
        let Some(signed) = self.signed_token(state, authorization) else {
            return;
        };
        let name = state.cookies().name(SESSION_TOKEN);
        let existing = request
            .headers()
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mut pairs: Vec<String> = existing
            .split(';')
            .map(str::trim)
            .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some(name.as_str()))
            .map(str::to_owned)
            .collect();
        pairs.push(format!("{name}={}", encode_uri_component(&signed)));
        if let Ok(value) = HeaderValue::from_str(&pairs.join("; ")) {
            request.headers_mut().insert(header::COOKIE, value);
        }
    }

    fn after(&self, state: &HttpState, response: &mut Response) {
        if !response.headers().contains_key(header::SET_COOKIE) {
            return;
        }
        let prefix = format!("{}=", state.cookies().name(SESSION_TOKEN));
        let token = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .find_map(|line| {
                let line = line.to_str().ok()?;
                let value = line.strip_prefix(&prefix)?.split(';').next()?;
                let deleted = line
                    .split(';')
                    .any(|attribute| attribute.trim() == "Max-Age=0");
                if value.is_empty() || deleted {
                    return None;
                }
                percent_decode(value)
            });
        let Some(token) = token else {
            return;
        };
        let Ok(value) = HeaderValue::from_str(&token) else {
            return;
        };
        response.headers_mut().insert(SET_AUTH_TOKEN, value);
        expose_header(response, SET_AUTH_TOKEN);
    }
}

/// Adds a header name to `Access-Control-Expose-Headers` (comma-separated, no duplicates).
pub(crate) fn expose_header(response: &mut Response, name: &str) {
    let existing = response
        .headers()
        .get(header::ACCESS_CONTROL_EXPOSE_HEADERS)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut names: Vec<&str> = existing
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
        names.push(name);
    }
    if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
        response
            .headers_mut()
            .insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, value);
    }
}
