//! `/get-session`, `/sign-out`, `/list-sessions`, `/revoke-session(s)`, `/revoke-other-sessions`.

use std::sync::Arc;

use auth_domain::SessionToken;
use poem::Request;
use poem::http::{HeaderValue, header};
use poem_openapi::OpenApi;
use poem_openapi::param::Query;

use super::{ApiTags, client_info};
use crate::dto::{
    RevokeSessionRequest, SessionDto, SessionWithUser, StatusResponse, SuccessResponse,
    session_with_user_json,
};
use crate::error::ApiError;
use crate::payload::{BaJson, Reply};
use crate::session_ctx::{expired_cookies, load, require, session_token};
use crate::state::HttpState;

pub(crate) struct SessionApi {
    pub(crate) state: Arc<HttpState>,
}

/// Better-Auth's coerced booleans: any non-empty value, `"false"` included, is true.
fn coerced(value: Option<&String>) -> bool {
    value.is_some_and(|value| !value.is_empty())
}

#[OpenApi(tag = "ApiTags::Session")]
impl SessionApi {
    /// The current session and user, or `null`. Slides the session's expiry when due.
    #[oai(path = "/get-session", method = "get")]
    async fn get_session(
        &self,
        request: &Request,
        #[oai(name = "disableCookieCache")] disable_cookie_cache: Query<Option<String>>,
        #[oai(name = "disableRefresh")] disable_refresh: Query<Option<String>>,
    ) -> Result<Reply<Option<SessionWithUser>>, ApiError> {
        // This server keeps no cookie cache, so `disableCookieCache` changes nothing.
        let _ = disable_cookie_cache;
        // Boxed, as are the token headers below: inline, their futures would make this
        // operation's kilobytes larger, and poem's layers above it move it whole.
        let (loaded, cookies) = Box::pin(load(
            &self.state,
            request,
            coerced(disable_refresh.0.as_ref()),
        ))
        .await?;
        let plugin_headers = match &loaded {
            // A session a plugin vouches for (an API key's) is answered as it is, as Better-Auth
            // does: no token headers.
            Some(loaded) if !loaded.vouched => {
                Box::pin(crate::state::session_headers(&self.state, &loaded.context)).await
            }
            _ => Vec::new(),
        };
        let (reply, cookies) = match loaded {
            Some(loaded) => (
                Reply::written(session_with_user_json(
                    &loaded.context.session,
                    &loaded.context.user,
                )),
                loaded.cookies,
            ),
            None => (Reply::new(None), cookies.into()),
        };
        let reply = reply
            .cookies(cookies)
            .header_value(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
            .header_value(header::PRAGMA, HeaderValue::from_static("no-cache"));
        Ok(plugin_headers
            .into_iter()
            .fold(reply, |reply, (name, value)| reply.header(name, value)))
    }

    /// End the current session (works without one too) and expire the cookies.
    #[oai(path = "/sign-out", method = "post")]
    async fn sign_out(&self, request: &Request) -> Result<Reply<SuccessResponse>, ApiError> {
        if let Some(token) = session_token(&self.state, request).await? {
            self.state
                .auth()
                .sign_out(&token, &client_info(request))
                .await?;
        }
        Ok(Reply::new(SuccessResponse { success: true }).cookies(expired_cookies(&self.state)))
    }

    /// The user's active sessions. Needs a fresh session (created within a day).
    #[oai(path = "/list-sessions", method = "get")]
    async fn list_sessions(&self, request: &Request) -> Result<Reply<Vec<SessionDto>>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let sessions = self.state.auth().list_sessions(&loaded.context).await?;
        Ok(Reply::new(sessions.iter().map(SessionDto::from).collect()).cookies(loaded.cookies))
    }

    /// Revoke one of the user's sessions by token.
    #[oai(path = "/revoke-session", method = "post")]
    async fn revoke_session(
        &self,
        request: &Request,
        body: BaJson<RevokeSessionRequest>,
    ) -> Result<Reply<StatusResponse>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let token = SessionToken::new(body.0.token);
        let was_current = self
            .state
            .auth()
            .revoke_session(&loaded.context, &token, &client_info(request))
            .await?;
        let cookies = if was_current {
            expired_cookies(&self.state).into()
        } else {
            loaded.cookies
        };
        Ok(Reply::new(StatusResponse { status: true }).cookies(cookies))
    }

    /// Revoke every session of the user, the current one included.
    #[oai(path = "/revoke-sessions", method = "post")]
    async fn revoke_sessions(&self, request: &Request) -> Result<Reply<StatusResponse>, ApiError> {
        let loaded = require(&self.state, request).await?;
        self.state
            .auth()
            .revoke_sessions(&loaded.context, &client_info(request))
            .await?;
        Ok(Reply::new(StatusResponse { status: true }).cookies(expired_cookies(&self.state)))
    }

    /// Revoke every session of the user but the current one.
    #[oai(path = "/revoke-other-sessions", method = "post")]
    async fn revoke_other_sessions(
        &self,
        request: &Request,
    ) -> Result<Reply<StatusResponse>, ApiError> {
        let loaded = require(&self.state, request).await?;
        self.state
            .auth()
            .revoke_other_sessions(&loaded.context, &client_info(request))
            .await?;
        Ok(Reply::new(StatusResponse { status: true }).cookies(loaded.cookies))
    }
}
