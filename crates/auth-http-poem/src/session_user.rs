//! `SessionUser`: the extractor that routes mounted beside the auth API (through `app(state,
//! extra)`) use to require a signed-in user, from the session cookie or, when the bearer plugin
//! is on, `Authorization: Bearer`.

use auth_core::{AuthContext, AuthError};
use poem::{FromRequest, Request, RequestBody};

use crate::error::ApiError;
use crate::session_ctx::load;
use crate::state::HttpState;

/// The signed-in user and session of a request. Missing or invalid credentials answer
/// `401 {"code":"UNAUTHORIZED","message":"Unauthorized"}`. The session is read without sliding
/// its expiry (an extractor cannot re-issue the cookie). An unsafe request (`POST`, `PUT`,
/// `PATCH`, `DELETE`, ...) that carries cookies must come from a trusted origin, as on the auth
/// API itself, or it is refused with `403 MISSING_OR_NULL_ORIGIN` / `INVALID_ORIGIN` (CSRF);
/// a request authenticated by `Authorization: Bearer` alone is not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser(pub AuthContext);

impl<'a> FromRequest<'a> for SessionUser {
    async fn from_request(request: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let Some(state) = request.data::<std::sync::Arc<HttpState>>() else {
            tracing::error!("SessionUser needs the HTTP state; mount the route through `app`");
            return Err(ApiError::from(AuthError::Internal(
                "SessionUser used outside `auth_http_poem::app`".into(),
            ))
            .into());
        };
        // A browser sends cookies with cross-site requests: the same origin rule as the auth API.
        crate::guard::check_origin(state, request, "")?;
        match load(state, request, true).await? {
            (Some(loaded), _) => Ok(Self(loaded.context)),
            (None, _) => Err(ApiError::from(AuthError::Unauthorized).into()),
        }
    }
}

#[cfg(test)]
mod tests;
