//! Reading the session of a request (the resolver chain: plugins, then the signed cookie) and
//! the cookies that go back.

use auth_core::{AuthContext, GetSession, SessionLookup};
use auth_domain::{Session, SessionToken};
use poem::Request;
use poem::http::header;

use crate::cookies::{DONT_REMEMBER, ResponseCookies, SESSION_DATA, SESSION_TOKEN};
use crate::error::ApiError;
use crate::plugin::{IssuedSession, Resolution};
use crate::state::HttpState;

/// The `dont_remember` cookie: the session was created with remember-me off (never slid).
fn dont_remember(state: &HttpState, request: &Request) -> bool {
    cookie_header(request)
        .and_then(|header| state.cookies().read_signed(header, DONT_REMEMBER))
        .is_some_and(|value| value == "true")
}

fn cookie_header(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
}

/// The session credential a request carries, as the resolver chain reads it: each plugin's
/// resolver in order, then the signed session cookie.
pub(crate) enum Credential {
    /// No credential.
    None,
    /// A verified session token (from a resolver or the cookie).
    Token(SessionToken),
    /// A session vouched for by a plugin, without a stored row.
    Session(Box<AuthContext>),
}

/// Runs the resolver chain.
pub(crate) async fn resolve(state: &HttpState, request: &Request) -> Result<Credential, ApiError> {
    for plugin in state.plugins() {
        match plugin.resolve(state, request).await {
            Resolution::Pass => {}
            Resolution::Token(token) => return Ok(Credential::Token(token)),
            Resolution::Session(context) => return Ok(Credential::Session(context)),
            Resolution::Refuse(error) => return Err(error),
        }
    }
    let token = cookie_header(request)
        .and_then(|header| state.cookies().read_signed(header, SESSION_TOKEN))
        .map(SessionToken::new);
    Ok(token.map_or(Credential::None, Credential::Token))
}

/// The session token a request carries (for sign-out), if any.
pub(crate) async fn session_token(
    state: &HttpState,
    request: &Request,
) -> Result<Option<SessionToken>, ApiError> {
    Ok(match resolve(state, request).await? {
        Credential::Token(token) => Some(token),
        Credential::None | Credential::Session(_) => None,
    })
}

/// The `Set-Cookie` lines that establish a session, with the session they issue.
pub(crate) fn session_cookies(
    state: &HttpState,
    session: &Session,
    remember_me: bool,
) -> ResponseCookies {
    let cookies = state.cookies();
    let lines = if remember_me {
        let max_age = state.auth().config().session.expires_in.whole_seconds();
        vec![cookies.set_signed(SESSION_TOKEN, session.token.expose(), Some(max_age))]
    } else {
        vec![
            cookies.set_signed(SESSION_TOKEN, session.token.expose(), None),
            cookies.set_signed(DONT_REMEMBER, "true", None),
        ]
    };
    let signed = cookies.sign(session.token.expose());
    ResponseCookies {
        lines,
        issued: Some(IssuedSession::new(session.clone(), signed, remember_me)),
    }
}

/// The `Set-Cookie` lines that end a session in the browser: the session cookies and every
/// plugin's own.
pub(crate) fn expired_cookies(state: &HttpState) -> Vec<String> {
    let plugin_cookies = state.plugins().iter().flat_map(|plugin| plugin.cookies());
    [SESSION_TOKEN, SESSION_DATA, DONT_REMEMBER]
        .iter()
        .chain(plugin_cookies)
        .map(|name| state.cookies().expire(name))
        .collect()
}

/// A session loaded for a request, with the cookies its loading produced.
pub(crate) struct Loaded {
    pub(crate) context: AuthContext,
    /// A refreshed session re-issues its cookie.
    pub(crate) cookies: ResponseCookies,
    /// A plugin vouched for it without a stored row (an API key's): no cookie, no token
    /// headers.
    pub(crate) vouched: bool,
}

/// Loads the request's session, sliding it when due. `Ok(None)` with expiring cookies when the
/// credential names a session that is gone or expired.
pub(crate) async fn load(
    state: &HttpState,
    request: &Request,
    disable_refresh: bool,
) -> Result<(Option<Loaded>, Vec<String>), ApiError> {
    let token = match resolve(state, request).await? {
        Credential::None => return Ok((None, Vec::new())),
        Credential::Session(context) => {
            let loaded = Loaded {
                context: *context,
                cookies: ResponseCookies::default(),
                vouched: true,
            };
            return Ok((Some(loaded), Vec::new()));
        }
        Credential::Token(token) => token,
    };
    let query = GetSession {
        token,
        dont_remember: dont_remember(state, request),
        disable_refresh,
    };
    match state.auth().get_session(query).await? {
        Some(SessionLookup { context, refreshed }) => {
            let cookies = if refreshed {
                session_cookies(state, &context.session, true)
            } else {
                ResponseCookies::default()
            };
            let loaded = Loaded {
                context,
                cookies,
                vouched: false,
            };
            Ok((Some(loaded), Vec::new()))
        }
        None => Ok((None, expired_cookies(state))),
    }
}

/// Loads the session or refuses with `401 UNAUTHORIZED`.
pub(crate) async fn require(state: &HttpState, request: &Request) -> Result<Loaded, ApiError> {
    match load(state, request, false).await? {
        (Some(loaded), _) => Ok(loaded),
        (None, cookies) => {
            Err(ApiError::from(auth_core::AuthError::Unauthorized).with_cookies(cookies))
        }
    }
}
