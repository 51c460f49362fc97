//! The routes, one `#[OpenApi]` struct per Better-Auth route group.

mod delete_user;
mod email_password;
mod email_verification;
mod meta;
mod password_reset;
mod session;
mod user;

use std::sync::Arc;

use auth_core::ClientInfo;
use poem::Request;
use poem::http::StatusCode;
use poem_openapi::Tags;

use crate::error::ApiError;
use crate::state::HttpState;

pub(crate) use delete_user::DeleteUserApi;
pub(crate) use email_password::EmailPasswordApi;
pub(crate) use email_verification::EmailVerificationApi;
pub(crate) use meta::MetaApi;
pub(crate) use password_reset::PasswordResetApi;
pub(crate) use session::SessionApi;
pub(crate) use user::UserApi;

/// The OpenAPI tags.
#[derive(Tags)]
pub(crate) enum ApiTags {
    /// Email and password sign-up, sign-in and password changes.
    EmailPassword,
    /// Reading and ending sessions.
    Session,
    /// The signed-in user's profile.
    User,
    /// Password reset by email.
    PasswordReset,
    /// Email verification.
    EmailVerification,
    /// Liveness of the auth API.
    Meta,
}

/// Every route group, sharing one state.
pub(crate) fn all(
    state: &Arc<HttpState>,
) -> (
    EmailPasswordApi,
    PasswordResetApi,
    EmailVerificationApi,
    DeleteUserApi,
    SessionApi,
    UserApi,
    MetaApi,
) {
    (
        EmailPasswordApi {
            state: state.clone(),
        },
        PasswordResetApi {
            state: state.clone(),
        },
        EmailVerificationApi {
            state: state.clone(),
        },
        DeleteUserApi {
            state: state.clone(),
        },
        SessionApi {
            state: state.clone(),
        },
        UserApi {
            state: state.clone(),
        },
        MetaApi,
    )
}

/// Who is asking: the client address behind trusted proxies, and the `User-Agent`; as the
/// auth API's guard resolved it, or resolved here for a route beside the API (a WebSocket
/// endpoint).
pub fn client_info(request: &Request) -> ClientInfo {
    if let Some(client) = request.extensions().get::<ClientInfo>() {
        return client.clone();
    }
    request
        .data::<std::sync::Arc<HttpState>>()
        .map(|state| crate::guard::client_of(state, request))
        .unwrap_or_default()
}

/// Validates a `callbackURL` against the trusted origins.
pub(crate) fn check_callback(state: &HttpState, url: Option<&String>) -> Result<(), ApiError> {
    match url {
        Some(url) if !state.origins().is_allowed_callback(url) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "INVALID_CALLBACK_URL",
            "Invalid callbackURL",
        )),
        _ => Ok(()),
    }
}

/// Answers that could tell whether an address has an account (`request-password-reset`, and
/// `send-verification-email` without a session) take at least this long whatever the address
/// (Better-Auth's floor for the latter), so that their timing tells nothing.
pub(crate) const ANONYMOUS_FLOOR: std::time::Duration = std::time::Duration::from_millis(500);

/// `url` with `name=value` added to its query (before any fragment).
pub(crate) fn with_query(url: &str, name: &str, value: &str) -> String {
    let (base, fragment) = url
        .split_once('#')
        .map_or((url, None), |(base, fragment)| (base, Some(fragment)));
    let separator = if base.contains('?') { '&' } else { '?' };
    let value = crate::cookies::encode_uri_component(value);
    match fragment {
        Some(fragment) => format!("{base}{separator}{name}={value}#{fragment}"),
        None => format!("{base}{separator}{name}={value}"),
    }
}
