//! The multi-session plugin (Better-Auth's `multiSession()`): one browser signed in as several
//! users at once. Every answer that issues a session also sets
//! `<session cookie>_multi-<token lower-cased>`, a signed copy of the token; the routes list
//! the browser's sessions, switch the active one, and revoke one. Signing a user in again
//! replaces that user's older session in the browser, and signing out ends every session of the
//! browser.

use std::sync::Arc;

use auth_core::{ClientInfo, GetSession};
use auth_domain::SessionToken;
use poem::Request;
use poem_openapi::{Object, OpenApi, Tags};
use serde::Serialize;

use crate::api::client_info;
use crate::cookies::{ResponseCookies, SESSION_TOKEN};
use crate::dto::{SessionDto, UserDto};
use crate::error::ApiError;
use crate::payload::{BaJson, Reply};
use crate::plugin::{Answered, HttpPlugin, PluginApi, PluginFuture};
use crate::session_ctx::{expired_cookies, require, session_cookies};
use crate::state::HttpState;

/// What marks a multi-session cookie's name (Better-Auth treats any such cookie as one).
const MULTI: &str = "_multi-";

/// Most multi-session cookies one request is read for (ours: a request carrying more is not
/// read past them).
const MAX_READ: usize = 32;

/// The multi-session plugin.
#[derive(Debug, Clone)]
pub struct MultiSessionPlugin {
    maximum_sessions: usize,
}

impl MultiSessionPlugin {
    /// The plugin, keeping at most `maximum_sessions` sessions per browser (Better-Auth's
    /// `maximumSessions`, 5).
    #[must_use]
    pub fn new(maximum_sessions: usize) -> Self {
        Self { maximum_sessions }
    }
}

/// The short name of the multi-session cookie of a token.
fn cookie_name(token: &str) -> String {
    format!("{SESSION_TOKEN}{MULTI}{}", token.to_lowercase())
}

/// The multi-session cookies a `Cookie` header carries whose signatures hold: their short
/// names and tokens, at most [`MAX_READ`].
fn carried(state: &HttpState, header: Option<&str>) -> Vec<(String, SessionToken)> {
    let Some(header) = header else {
        return Vec::new();
    };
    let prefix = state.cookies().name("");
    header
        .split(';')
        .filter_map(|pair| {
            let name = pair.trim().split_once('=')?.0.trim();
            let short = name.strip_prefix(&prefix)?;
            short.contains(MULTI).then(|| short.to_owned())
        })
        .take(MAX_READ)
        .filter_map(|short| {
            let token = state.cookies().read_signed(header, &short)?;
            Some((short, SessionToken::new(token)))
        })
        .collect()
}

/// The session of a token, when it is stored and unexpired (never slid).
async fn session_of(
    state: &HttpState,
    token: &SessionToken,
) -> Result<Option<auth_core::AuthContext>, auth_core::AuthError> {
    let lookup = state
        .auth()
        .get_session(GetSession {
            token: token.clone(),
            dont_remember: false,
            disable_refresh: true,
        })
        .await?;
    Ok(lookup.map(|found| found.context))
}

impl MultiSessionPlugin {
    /// An answer that issues a session: expire (and end) the browser's older sessions of the
    /// same user, then add the new session's multi cookie unless the browser holds the maximum.
    async fn issued(
        &self,
        state: &HttpState,
        answer: &Answered<'_>,
        issued: &crate::IssuedSession,
    ) -> Vec<String> {
        let session = issued.session();
        let name = cookie_name(session.token.expose());
        let held = carried(state, answer.cookie_header);
        if held.iter().any(|(short, _)| *short == name) {
            return Vec::new();
        }
        let mut lines = Vec::new();
        let mut ended = 0;
        for (short, token) in &held {
            match session_of(state, token).await {
                Ok(Some(context)) if context.user.id == session.user_id => {
                    if let Err(error) = state.auth().sign_out(token, &ClientInfo::default()).await {
                        tracing::warn!(error = %error, "an older session of the browser was not ended");
                    }
                    lines.push(state.cookies().expire(short));
                    ended += 1;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(error = %error, "a multi-session cookie was not read"),
            }
        }
        if held.len() - ended + 1 > self.maximum_sessions {
            return lines;
        }
        let max_age = issued
            .remember_me()
            .then(|| state.auth().config().session.expires_in.whole_seconds());
        lines.push(
            state
                .cookies()
                .set_signed(&name, session.token.expose(), max_age),
        );
        lines
    }

    /// Sign-out: every multi-session cookie of the browser is expired and its session ended.
    async fn signed_out(&self, state: &HttpState, answer: &Answered<'_>) -> Vec<String> {
        let mut lines = Vec::new();
        for (short, token) in carried(state, answer.cookie_header) {
            if let Err(error) = state.auth().sign_out(&token, &ClientInfo::default()).await {
                tracing::warn!(error = %error, "a session of the browser was not ended");
            }
            lines.push(state.cookies().expire(&short));
        }
        lines
    }
}

impl HttpPlugin for MultiSessionPlugin {
    fn id(&self) -> &'static str {
        "multi-session"
    }

    fn after_answer<'a>(
        &'a self,
        state: &'a HttpState,
        answer: &'a Answered<'a>,
    ) -> PluginFuture<'a, Vec<String>> {
        Box::pin(async move {
            if !answer.status.is_success() {
                return Vec::new();
            }
            if answer.route == "/sign-out" {
                return self.signed_out(state, answer).await;
            }
            match answer.issued {
                Some(issued) => self.issued(state, answer, issued).await,
                None => Vec::new(),
            }
        })
    }

    fn api(&self, state: &Arc<HttpState>) -> Option<PluginApi> {
        Some(PluginApi::new(MultiSessionApi {
            state: state.clone(),
        }))
    }
}

/// The plugin's OpenAPI tag.
#[derive(Tags)]
enum MultiSessionTags {
    /// Several users signed in at once in one browser.
    MultiSession,
}

/// A session of the browser with its user.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "DeviceSession")]
struct DeviceSessionDto {
    /// The session.
    session: SessionDto,
    /// Its user.
    user: UserDto,
}

/// A body naming one of the browser's sessions.
#[derive(Debug, Object)]
#[oai(rename = "DeviceSessionRequest", rename_all = "camelCase")]
struct TokenBody {
    /// The session's token.
    session_token: String,
}

/// `{"status": true}`.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "MultiSessionStatus")]
struct StatusDto {
    /// Always `true`.
    status: bool,
}

/// `401 INVALID_SESSION_TOKEN`.
fn invalid_token() -> ApiError {
    ApiError::new(
        poem::http::StatusCode::UNAUTHORIZED,
        "INVALID_SESSION_TOKEN",
        "Invalid session token",
    )
}

fn cookie_header(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(poem::http::header::COOKIE)
        .and_then(|value| value.to_str().ok())
}

struct MultiSessionApi {
    state: Arc<HttpState>,
}

impl MultiSessionApi {
    /// The token of the browser's multi-session cookie for `token`, when it holds.
    fn held(&self, request: &Request, token: &str) -> Option<SessionToken> {
        let header = cookie_header(request)?;
        let value = self
            .state
            .cookies()
            .read_signed(header, &cookie_name(token))?;
        Some(SessionToken::new(value))
    }
}

#[OpenApi(tag = "MultiSessionTags::MultiSession")]
impl MultiSessionApi {
    /// The browser's sessions, one per user (no session needed: the multi-session cookies
    /// are read).
    #[oai(path = "/multi-session/list-device-sessions", method = "get")]
    async fn list_device_sessions(
        &self,
        request: &Request,
    ) -> Result<Reply<Vec<DeviceSessionDto>>, ApiError> {
        let mut sessions: Vec<DeviceSessionDto> = Vec::new();
        let mut users = Vec::new();
        for (_, token) in carried(&self.state, cookie_header(request)) {
            let Some(context) = session_of(&self.state, &token).await? else {
                continue;
            };
            if users.contains(&context.user.id) {
                continue;
            }
            users.push(context.user.id.clone());
            sessions.push(DeviceSessionDto {
                session: SessionDto::from(&context.session),
                user: UserDto::from(&context.user),
            });
        }
        Ok(Reply::new(sessions))
    }

    /// Make one of the browser's sessions the active one (its session cookie is set).
    #[oai(path = "/multi-session/set-active", method = "post")]
    async fn set_active(
        &self,
        request: &Request,
        body: BaJson<TokenBody>,
    ) -> Result<Reply<DeviceSessionDto>, ApiError> {
        let token = body.0.session_token;
        let Some(held) = self.held(request, &token) else {
            return Err(invalid_token());
        };
        let Some(context) = session_of(&self.state, &held).await? else {
            let expired = vec![self.state.cookies().expire(&cookie_name(&token))];
            return Err(invalid_token().with_cookies(expired));
        };
        let remember_me = self
            .state
            .auth()
            .config()
            .session
            .is_remembered(&context.session);
        let cookies = session_cookies(&self.state, &context.session, remember_me);
        Ok(Reply::new(DeviceSessionDto {
            session: SessionDto::from(&context.session),
            user: UserDto::from(&context.user),
        })
        .cookies(cookies))
    }

    /// End one of the browser's sessions; ending the active one makes the next one active (or
    /// signs the browser out).
    #[oai(path = "/multi-session/revoke", method = "post")]
    async fn revoke(
        &self,
        request: &Request,
        body: BaJson<TokenBody>,
    ) -> Result<Reply<StatusDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let token = body.0.session_token;
        let Some(held) = self.held(request, &token) else {
            return Err(invalid_token());
        };
        let client = client_info(request);
        self.state.auth().sign_out(&held, &client).await?;
        let mut cookies =
            ResponseCookies::from(vec![self.state.cookies().expire(&cookie_name(&token))]);
        if loaded.context.session.token != held {
            return Ok(Reply::new(StatusDto { status: true }).cookies(cookies));
        }
        let mut next = None;
        for (_, other) in carried(&self.state, cookie_header(request)) {
            if other == held {
                continue;
            }
            if let Some(context) = session_of(&self.state, &other).await? {
                next = Some(context);
                break;
            }
        }
        match next {
            Some(context) => {
                let remember_me = self
                    .state
                    .auth()
                    .config()
                    .session
                    .is_remembered(&context.session);
                cookies.extend(session_cookies(&self.state, &context.session, remember_me));
            }
            None => cookies.extend(expired_cookies(&self.state).into()),
        }
        Ok(Reply::new(StatusDto { status: true }).cookies(cookies))
    }
}
