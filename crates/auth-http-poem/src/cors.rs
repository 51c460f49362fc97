//! CORS for browser apps on other origins: the official client sends every request with
//! `credentials: "include"`, so a trusted origin gets its own origin back (never `*`), with
//! credentials allowed. The trusted origins are the CSRF check's. Untrusted origins get no CORS
//! headers, and the CSRF rule still refuses their unsafe cookie requests.

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Request, Response};

use crate::state::HttpState;

/// CORS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsConfig {
    /// Answer preflights and add CORS headers (off when a proxy in front is in charge of CORS).
    pub enabled: bool,
    /// Request headers allowed besides the built-in ones (`content-type`, `authorization`,
    /// `x-api-key`, ...).
    pub extra_headers: Vec<String>,
    /// `Access-Control-Max-Age` of a preflight answer, in seconds.
    pub max_age: u32,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            extra_headers: Vec::new(),
            max_age: 600,
        }
    }
}

/// The methods the API answers.
const METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
/// Request headers browsers may send: what the official client and API-key clients use.
const HEADERS: [&str; 5] = [
    "content-type",
    "authorization",
    "x-api-key",
    "x-requested-with",
    "accept",
];
/// Response headers browsers may read.
const EXPOSED: [&str; 2] = ["set-auth-token", "set-auth-jwt"];

/// The trusted origin of a request, if it sent one and CORS is on.
fn trusted_origin(state: &HttpState, request: &Request) -> Option<HeaderValue> {
    if !state.config().cors.enabled {
        return None;
    }
    let origin = request.headers().get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    state.origins().is_trusted(text).then(|| origin.clone())
}

/// The answer to a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`), or
/// `None` for any other request. Counted by no rate limit and touching no store.
pub(crate) fn preflight(state: &HttpState, request: &Request) -> Option<Response> {
    let is_preflight = *request.method() == Method::OPTIONS
        && request.headers().contains_key(header::ORIGIN)
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if !is_preflight || !state.config().cors.enabled {
        return None;
    }
    let mut response = Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header(header::VARY, "Origin")
        .finish();
    let Some(origin) = trusted_origin(state, request) else {
        return Some(response);
    };
    let config = &state.config().cors;
    let mut allowed: Vec<&str> = HEADERS.to_vec();
    allowed.extend(config.extra_headers.iter().map(String::as_str));
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(METHODS),
    );
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
    }
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(config.max_age),
    );
    Some(response)
}

/// The request's trusted origin, read before the request is handed on, for [`Self::decorate`].
pub(crate) struct Answer(Option<HeaderValue>);

impl Answer {
    /// What `request` needs in its answer.
    pub(crate) fn of(state: &HttpState, request: &Request) -> Self {
        Self(trusted_origin(state, request))
    }

    /// Adds the CORS headers to any answer (errors included, so that the browser app can read
    /// them) of a request from a trusted origin.
    pub(crate) fn decorate(self, state: &HttpState, response: &mut Response) {
        if !state.config().cors.enabled {
            return;
        }
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = self.0 else {
            return;
        };
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        for name in EXPOSED {
            expose_header(response, name);
        }
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
