//! `/request-password-reset`, `GET /reset-password/:token`, `/reset-password`.

use std::sync::Arc;

use auth_core::ResetPassword;
use auth_domain::Password;
use poem::Request;
use poem::http::{StatusCode, header};
use poem_openapi::param::{Path, Query};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Serialize;

use super::{ApiTags, client_info};
use crate::dto::StatusResponse;
use crate::error::ApiError;
use crate::payload::{BaJson, Reply};
use crate::state::HttpState;

pub(crate) struct PasswordResetApi {
    pub(crate) state: Arc<HttpState>,
}

/// `POST /request-password-reset` body.
#[derive(Debug, Object)]
pub(crate) struct RequestPasswordResetRequest {
    /// The account's email.
    email: String,
    /// Where the link sends the user, with `?token=...` (a relative path or a trusted origin).
    #[oai(rename = "redirectTo", nullable)]
    redirect_to: Option<String>,
}

/// `POST /request-password-reset` answer: the same for every email.
#[derive(Debug, Object, Serialize)]
pub(crate) struct RequestPasswordResetResponse {
    /// Always `true`.
    status: bool,
    /// What to tell the user.
    message: String,
}

/// `POST /reset-password` body. No `Debug`: it holds a password.
#[derive(Object)]
pub(crate) struct ResetPasswordRequest {
    /// The new password.
    #[oai(rename = "newPassword", validator(max_length = 4096))]
    new_password: poem_openapi::types::Password,
    /// The token from the link (or the `token` query parameter).
    #[oai(nullable)]
    token: Option<String>,
}

/// The redirect of the link in the mail.
#[derive(ApiResponse)]
pub(crate) enum LinkRedirect {
    /// To `callbackURL` with `?token=<token>`, or `?error=INVALID_TOKEN`.
    #[oai(status = 302)]
    Found(#[oai(header = "location")] String),
}

const RESET_MESSAGE: &str =
    "If this email exists in our system, check your email for the reset link";

#[OpenApi(tag = "ApiTags::PasswordReset")]
impl PasswordResetApi {
    /// Mail a password reset link (the answer is the same whether the email has an account).
    #[oai(path = "/request-password-reset", method = "post")]
    async fn request_password_reset(
        &self,
        body: BaJson<RequestPasswordResetRequest>,
    ) -> Result<Reply<RequestPasswordResetResponse>, ApiError> {
        let body = body.0;
        if let Some(redirect) = &body.redirect_to
            && !self.state.origins().is_allowed_callback(redirect)
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "INVALID_REDIRECT_URL",
                "Invalid redirectURL",
            ));
        }
        let started = tokio::time::Instant::now();
        let asked = self
            .state
            .auth()
            .request_password_reset(&body.email, body.redirect_to.as_deref())
            .await;
        // A known address costs a token write that an unknown one does not: answer both after
        // the same floor, so that the timing says nothing either.
        tokio::time::sleep_until(started + super::ANONYMOUS_FLOOR).await;
        asked?;
        Ok(Reply::new(RequestPasswordResetResponse {
            status: true,
            message: RESET_MESSAGE.to_owned(),
        }))
    }

    /// The link in the mail: redirects to `callbackURL` with the token when it can be used.
    #[oai(path = "/reset-password/:token", method = "get")]
    async fn reset_password_link(
        &self,
        token: Path<String>,
        #[oai(name = "callbackURL")] callback_url: Query<Option<String>>,
    ) -> Result<LinkRedirect, ApiError> {
        let callback = match callback_url.0.as_deref() {
            None | Some("") => "/",
            Some(url) => url,
        };
        super::check_callback(&self.state, Some(&callback.to_owned()))?;
        let target = if self.state.auth().reset_token_is_valid(&token.0).await? {
            super::with_query(callback, "token", &token.0)
        } else {
            super::with_query(callback, "error", "INVALID_TOKEN")
        };
        Ok(LinkRedirect::Found(target))
    }

    /// Set a new password with the token from the link.
    #[oai(path = "/reset-password", method = "post")]
    async fn reset_password(
        &self,
        request: &Request,
        #[oai(name = "token")] query_token: Query<Option<String>>,
        body: BaJson<ResetPasswordRequest>,
    ) -> Result<Reply<StatusResponse>, ApiError> {
        let body = body.0;
        let token = body.token.or(query_token.0).unwrap_or_default();
        self.state
            .auth()
            .reset_password(ResetPassword {
                token,
                new_password: Password::new(body.new_password.0),
                client: client_info(request),
            })
            .await?;
        Ok(Reply::new(StatusResponse { status: true }).header(header::CACHE_CONTROL, "no-store"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::with_query;

    #[test]
    fn the_token_joins_the_callback_query() {
        assert_eq!(with_query("/reset", "token", "abc"), "/reset?token=abc");
        assert_eq!(
            with_query(
                "https://app.example.com/r?step=2#top",
                "error",
                "INVALID_TOKEN"
            ),
            "https://app.example.com/r?step=2&error=INVALID_TOKEN#top"
        );
        assert_eq!(with_query("/r", "token", "a b"), "/r?token=a%20b");
    }
}
