//! The use-case side of the plugin seam: a plugin's rules (a sign-in step, event handling,
//! rate-limit rules, error codes). Its HTTP side is `auth_http_poem::HttpPlugin`; see
//! docs/plugins.md and docs/adr/0007-plugin-seam.md.

use std::borrow::Cow;

use auth_domain::{AuthEvent, FieldSpec, Secret, User};
use auth_ports::RateLimitRule;

use crate::{Auth, AuthContext, AuthError, ClientInfo};

/// The future a plugin hook returns.
pub type PluginFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a sign-in step decided.
#[derive(Debug)]
pub enum SignInStep {
    /// Go on (the next step, then the session).
    Continue,
    /// The plugin vouches for the second factor (a trusted device): the sign-in goes on, even
    /// for a user with two-factor on, and these cookies are set (the device's new token).
    Vouch(Vec<PluginCookie>),
    /// Answer without a session (a second factor is asked for): no session row is made.
    Divert(Box<Diversion>),
}

/// A cookie a plugin sets or expires on an answer, by its short name (`trust_device`); the
/// HTTP side signs it and gives it the session cookie's attributes.
#[derive(Debug, Clone)]
pub struct PluginCookie {
    /// The short name.
    pub name: &'static str,
    /// The value (signed on the way out); `None` expires the cookie.
    pub value: Option<Secret<String>>,
    /// Its lifetime; `None`: a browser-session cookie.
    pub max_age: Option<time::Duration>,
}

impl PluginCookie {
    /// Sets `name` to `value` for `max_age`.
    #[must_use]
    pub fn set(name: &'static str, value: Secret<String>, max_age: time::Duration) -> Self {
        Self {
            name,
            value: Some(value),
            max_age: Some(max_age),
        }
    }

    /// Expires `name`.
    #[must_use]
    pub fn expire(name: &'static str) -> Self {
        Self {
            name,
            value: None,
            max_age: None,
        }
    }
}

/// The signed cookies a request carried that plugins asked for (their signatures checked by
/// the HTTP side), by short name. Never printed.
#[derive(Clone, Default)]
pub struct RequestCookies(Vec<(&'static str, Secret<String>)>);

impl RequestCookies {
    /// Adds a cookie's verified value.
    pub fn insert(&mut self, name: &'static str, value: Secret<String>) {
        self.0.push((name, value));
    }

    /// A cookie's verified value.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Secret<String>> {
        self.0
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, value)| value)
    }
}

impl std::fmt::Debug for RequestCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

impl PartialEq for RequestCookies {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .zip(&other.0)
                .all(|((a, x), (b, y))| a == b && x.expose() == y.expose())
    }
}

impl Eq for RequestCookies {}

/// A sign-in answered without a session, for the diverting plugin's HTTP side to render.
#[derive(Debug, Clone)]
pub struct Diversion {
    /// The id of the plugin that diverted.
    pub plugin: &'static str,
    /// The user whose password was right.
    pub user: User,
    /// The sign-in asked for a long-lived session.
    pub remember_me: bool,
    /// A secret the answer carries back to the client (a challenge id), if any.
    pub challenge: Option<Secret<String>>,
    /// What the answer lists (the second factors on offer: `totp`, `otp`).
    pub details: Vec<String>,
    /// Cookies the answer sets or expires (an untrusted device's stale token).
    pub cookies: Vec<PluginCookie>,
}

/// How a plugin's route is rate-limited (per client address and route).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteLimit {
    /// Routes under this path take the credential rule (sign-in's): guesses of a secret.
    Credential(&'static str),
    /// Routes under this path take this rule.
    Rule(&'static str, RateLimitRule),
}

impl RouteLimit {
    pub(crate) fn path(&self) -> &'static str {
        match self {
            Self::Credential(path) | Self::Rule(path, _) => path,
        }
    }
}

/// An error a plugin declares (Better-Auth's `$ERROR_CODES`): its code and message go on the
/// wire as they are; its kind decides the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// What went wrong, as an HTTP status class.
    pub kind: PluginErrorKind,
    /// The stable code (`SCREAMING_SNAKE_CASE`).
    pub code: &'static str,
    /// The message shown to clients.
    pub message: Cow<'static, str>,
    /// Numbers the answer carries as its `details` object (`RATE_LIMITED`'s `tryAgainIn`).
    pub details: Vec<(&'static str, i64)>,
}

impl PluginError {
    /// An error without details.
    #[must_use]
    pub const fn new(kind: PluginErrorKind, code: &'static str, message: &'static str) -> Self {
        Self {
            kind,
            code,
            message: Cow::Borrowed(message),
            details: Vec::new(),
        }
    }
}

/// The kinds of plugin errors (each is one HTTP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginErrorKind {
    /// 400.
    BadRequest,
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 409 (Better-Auth answers some conflicts with 400; use `BadRequest` for those).
    Conflict,
    /// 429.
    TooManyRequests,
}

/// A plugin's rules in the use cases. Every hook has a default that does nothing.
pub trait AuthPlugin: Send + Sync + 'static {
    /// The plugin's id (the same as its HTTP side's).
    fn id(&self) -> &'static str;

    /// Runs after a password sign-in is verified and before a session exists. The first plugin
    /// that diverts answers the sign-in; a user with two-factor on whom no plugin diverts or
    /// vouches for is refused (`TWO_FACTOR_NOT_AVAILABLE`).
    fn before_session<'a>(
        &'a self,
        _auth: &'a Auth,
        _user: &'a User,
        _client: &'a ClientInfo,
    ) -> PluginFuture<'a, Result<SignInStep, AuthError>> {
        Box::pin(std::future::ready(Ok(SignInStep::Continue)))
    }

    /// Runs after a sign-in or sign-up issued a session.
    fn after_session<'a>(
        &'a self,
        _auth: &'a Auth,
        _context: &'a AuthContext,
    ) -> PluginFuture<'a, Result<(), AuthError>> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Every domain event, after it was stored. A failure here is the plugin's own to log.
    fn on_event<'a>(&'a self, _auth: &'a Auth, _event: &'a AuthEvent) -> PluginFuture<'a, ()> {
        Box::pin(std::future::ready(()))
    }

    /// Fields the plugin adds to the user and the session (Better-Auth's plugin `schema`
    /// additions): read and written by the store, cached, and in every user and session object
    /// on the wire and in token claims. Columns missing from an adopted database are added at
    /// migration.
    fn fields(&self) -> Vec<FieldSpec> {
        Vec::new()
    }

    /// Rate-limit rules of the plugin's routes.
    fn rate_limits(&self) -> Vec<RouteLimit> {
        Vec::new()
    }
}
