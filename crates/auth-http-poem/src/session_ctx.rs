//! Reading the session of a request (from the signed cookie) and the cookies that go back.

use auth_core::{AuthContext, GetSession, SessionLookup};
use auth_domain::{Session, SessionToken};
use poem::Request;
use poem::http::header;

use crate::cookies::{DONT_REMEMBER, SESSION_DATA, SESSION_TOKEN};
use crate::error::ApiError;
use crate::state::HttpState;

/// The session credentials a request carries.
#[derive(Debug, Default)]
pub(crate) struct RequestCredentials {
    /// The verified session token, if a valid signed cookie was sent.
    pub(crate) token: Option<SessionToken>,
    /// The signed `dont_remember` cookie was sent.
    pub(crate) dont_remember: bool,
}

pub(crate) fn credentials(state: &HttpState, request: &Request) -> RequestCredentials {
    let Some(header) = request
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
    else {
        return RequestCredentials::default();
    };
    let cookies = state.cookies();
    RequestCredentials {
        token: cookies
            .read_signed(header, SESSION_TOKEN)
            .map(SessionToken::new),
        dont_remember: cookies
            .read_signed(header, DONT_REMEMBER)
            .is_some_and(|v| v == "true"),
    }
}

/// The `Set-Cookie` lines that establish a session.
pub(crate) fn session_cookies(
    state: &HttpState,
    session: &Session,
    remember_me: bool,
) -> Vec<String> {
    let cookies = state.cookies();
    if remember_me {
        let max_age = state.auth().config().session.expires_in.whole_seconds();
        vec![cookies.set_signed(SESSION_TOKEN, session.token.expose(), Some(max_age))]
    } else {
        vec![
            cookies.set_signed(SESSION_TOKEN, session.token.expose(), None),
            cookies.set_signed(DONT_REMEMBER, "true", None),
        ]
    }
}

/// The `Set-Cookie` lines that end a session in the browser.
pub(crate) fn expired_cookies(state: &HttpState) -> Vec<String> {
    [SESSION_TOKEN, SESSION_DATA, DONT_REMEMBER]
        .iter()
        .map(|name| state.cookies().expire(name))
        .collect()
}

/// A session loaded for a request, with the cookies its loading produced.
pub(crate) struct Loaded {
    pub(crate) context: AuthContext,
    /// A refreshed session re-issues its cookie.
    pub(crate) cookies: Vec<String>,
}

/// Loads the request's session, sliding it when due. `Ok(None)` with expiring cookies when the
/// cookie names a session that is gone or expired.
pub(crate) async fn load(
    state: &HttpState,
    request: &Request,
    disable_refresh: bool,
) -> Result<(Option<Loaded>, Vec<String>), ApiError> {
    let credentials = credentials(state, request);
    let Some(token) = credentials.token else {
        return Ok((None, Vec::new()));
    };
    let query = GetSession {
        token,
        dont_remember: credentials.dont_remember,
        disable_refresh,
    };
    match state.auth().get_session(query).await? {
        Some(SessionLookup { context, refreshed }) => {
            let cookies = if refreshed {
                session_cookies(state, &context.session, true)
            } else {
                Vec::new()
            };
            Ok((Some(Loaded { context, cookies }), Vec::new()))
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
