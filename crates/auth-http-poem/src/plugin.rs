//! The HTTP side of the plugin seam: what a plugin adds to the auth API. See docs/plugins.md
//! and docs/adr/0007-plugin-seam.md.

use std::sync::Arc;

use auth_core::{AuthContext, AuthError, Diversion};
use auth_domain::{Session, SessionToken};
use poem::endpoint::BoxEndpoint;
use poem::http::HeaderMap;
use poem::{Request, Response};

use crate::error::ApiError;
use crate::state::HttpState;

pub use auth_core::PluginFuture;

/// What a session resolver made of a request's credentials.
#[derive(Debug)]
pub enum Resolution {
    /// None of this resolver's credentials: the next one is asked (the session cookie last).
    Pass,
    /// A verified session token, looked up as the cookie's would be (cache, sliding expiry).
    Token(SessionToken),
    /// A session the plugin vouches for without a stored row (an API key's), used as it is:
    /// never slid, no cookie re-issued.
    Session(Box<AuthContext>),
    /// The plugin's credential was presented and is refused: the request fails with this.
    Refuse(ApiError),
}

/// `Resolution::Pass`, ready, without an allocation (the future is zero-sized): what a resolver
/// answers on the hot path when the request carries none of its credentials.
#[must_use]
pub fn pass<'a>() -> PluginFuture<'a, Resolution> {
    Box::pin(Passing)
}

/// A future that is at once `Resolution::Pass`.
struct Passing;

impl Future for Passing {
    type Output = Resolution;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        _context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Resolution> {
        std::task::Poll::Ready(Resolution::Pass)
    }
}

/// A session a response issues (sign-up, sign-in, a sliding refresh): plugins see it typed in
/// [`HttpPlugin::session_issued`], never as `Set-Cookie` text.
#[derive(Clone)]
pub struct IssuedSession {
    session: Session,
    signed_token: String,
    remember_me: bool,
}

impl IssuedSession {
    pub(crate) fn new(session: Session, signed_token: String, remember_me: bool) -> Self {
        Self {
            session,
            signed_token,
            remember_me,
        }
    }

    /// The session.
    #[must_use]
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// `token.signature`, not URI-encoded: the session cookie's value.
    #[must_use]
    pub fn signed_token(&self) -> &str {
        &self.signed_token
    }

    /// The cookie outlives the browser session.
    #[must_use]
    pub fn remember_me(&self) -> bool {
        self.remember_me
    }
}

impl std::fmt::Debug for IssuedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedSession")
            .field("session", &self.session)
            .field("signed_token", &"[redacted]")
            .field("remember_me", &self.remember_me)
            .finish()
    }
}

/// A plugin of the HTTP layer. Every hook has a default that does nothing; enabled plugins run
/// in the order of `AUTH_PLUGINS`. See docs/plugins.md for when each hook runs.
pub trait HttpPlugin: Send + Sync + 'static {
    /// The plugin's id as written in `AUTH_PLUGINS`.
    fn id(&self) -> &'static str;

    /// A session resolver: turns the plugin's own credential (a bearer header, an API key) into
    /// a session. Resolvers run in plugin order before the session cookie, so an explicit
    /// credential wins over an ambient cookie, as with Better-Auth's bearer plugin. Used by
    /// every session route, by `SessionUser` and by whatever else reads a request's session.
    fn resolve<'a>(
        &'a self,
        _state: &'a HttpState,
        _request: &'a Request,
    ) -> PluginFuture<'a, Resolution> {
        pass()
    }

    /// Runs on every response that issues a session, before it is sent: headers to add (the
    /// bearer plugin's `set-auth-token`). A name added here is exposed to browsers.
    fn session_issued(
        &self,
        _state: &HttpState,
        _issued: &IssuedSession,
        _headers: &mut HeaderMap,
    ) {
    }

    /// How a request carries this plugin's credential, as an OpenAPI security scheme (its name
    /// and object), listed in the document beside the session cookie.
    fn security_scheme(&self, _state: &HttpState) -> Option<(&'static str, serde_json::Value)> {
        None
    }

    /// Cookies this plugin sets (short names, as given to the cookie codec): sign-out and every
    /// other answer that ends a session in the browser expire them.
    fn cookies(&self) -> &'static [&'static str] {
        &[]
    }

    /// Signed cookies this plugin's use cases read (short names): their values, signatures
    /// checked, reach the use cases in `ClientInfo::cookies` (a trusted device's token).
    fn request_cookies(&self) -> &'static [&'static str] {
        &[]
    }

    /// The answer to a sign-in this plugin's use-case side diverted (`SignInStep::Divert`):
    /// its body and cookies (a signed challenge cookie), and no session.
    fn diverted(&self, _state: &HttpState, _diversion: &Diversion) -> Option<Response> {
        None
    }

    /// The plugin's routes, mounted under `/api/auth` behind the same guards as the built-in
    /// ones, and described in the one OpenAPI document.
    fn api(&self, _state: &Arc<HttpState>) -> Option<crate::PluginApi> {
        None
    }

    /// The plugin itself, for its own extractors to find it in the state
    /// ([`HttpState::plugin`]).
    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        None
    }

    /// Runs after every answer of the auth API: `Set-Cookie` lines to add (the multi-session
    /// cookies of the session the answer issues, or of the browser's sessions at sign-out).
    fn after_answer<'a>(
        &'a self,
        _state: &'a HttpState,
        _answer: &'a Answered<'a>,
    ) -> PluginFuture<'a, Vec<String>> {
        Box::pin(std::future::ready(Vec::new()))
    }

    /// Headers to add to a `get-session` response that found a session (e.g. `set-auth-jwt`).
    /// Each name is also exposed to browsers through `Access-Control-Expose-Headers`.
    fn session_headers<'a>(
        &'a self,
        _state: &'a HttpState,
        _context: &'a AuthContext,
    ) -> PluginFuture<'a, Vec<(&'static str, String)>> {
        Box::pin(std::future::ready(Vec::new()))
    }
}

/// What [`HttpPlugin::after_answer`] sees of an answered request.
#[derive(Debug)]
pub struct Answered<'a> {
    /// The request's route below `/api/auth` (`/sign-out`), or `other`.
    pub route: &'a str,
    /// The request's `Cookie` header.
    pub cookie_header: Option<&'a str>,
    /// The session the answer issues, if any.
    pub issued: Option<&'a IssuedSession>,
    /// The answer's status.
    pub status: poem::http::StatusCode,
}

/// Routes of a plugin: a poem-openapi `#[OpenApi]` value, erased so that plugins chosen at
/// runtime can share the one document.
pub struct PluginApi {
    pub(crate) spec: serde_json::Value,
    pub(crate) endpoint: Arc<BoxEndpoint<'static>>,
    pub(crate) paths: Vec<String>,
}

impl PluginApi {
    /// Wraps an `#[OpenApi]` value (its operations are relative to `/api/auth`).
    #[must_use]
    pub fn new<T: poem_openapi::OpenApi + 'static>(api: T) -> Self {
        let paths = T::meta()
            .into_iter()
            .flat_map(|meta| meta.paths)
            .map(|path| path.path)
            .collect();
        let service = poem_openapi::OpenApiService::new(api, "plugin", "0");
        let spec = serde_json::from_str(&service.spec()).unwrap_or_default();
        let endpoint = poem::IntoEndpoint::into_endpoint(service);
        Self {
            spec,
            endpoint: Arc::new(endpoint),
            paths,
        }
    }
}

/// The `Set-Cookie` lines of cookies the use cases set or expire, signed.
pub(crate) fn plugin_cookie_lines(
    state: &HttpState,
    cookies: &[auth_core::PluginCookie],
) -> Vec<String> {
    cookies
        .iter()
        .map(|cookie| match &cookie.value {
            Some(value) => state.cookies().set_signed(
                cookie.name,
                value.expose(),
                cookie.max_age.map(|age| age.whole_seconds()),
            ),
            None => state.cookies().expire(cookie.name),
        })
        .collect()
}

/// The answer of the plugin that diverted a sign-in; a diversion that no enabled plugin renders
/// is a bug of the composition (500), never a session.
pub(crate) fn render_diversion(
    state: &HttpState,
    diversion: &Diversion,
) -> Result<Response, ApiError> {
    state
        .plugins()
        .iter()
        .filter(|plugin| plugin.id() == diversion.plugin)
        .find_map(|plugin| plugin.diverted(state, diversion))
        .ok_or_else(|| {
            ApiError::from(AuthError::Internal(
                format!(
                    "plugin {:?} diverted a sign-in it cannot answer",
                    diversion.plugin
                )
                .into(),
            ))
        })
}
