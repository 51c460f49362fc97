//! `/send-verification-email`, `GET /verify-email`, `/verify-password`.

use std::sync::Arc;

use auth_core::{AuthError, Verified};
use auth_domain::Password;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Serialize;

use super::{ApiTags, client_info};
use crate::cookies::ResponseCookies;
use crate::dto::{StatusResponse, UserDto};
use crate::error::ApiError;
use crate::payload::{BaJson, Reply, WithCookies};
use crate::session_ctx::{load, require, session_cookies};
use crate::state::HttpState;

pub(crate) struct EmailVerificationApi {
    pub(crate) state: Arc<HttpState>,
}

/// `POST /send-verification-email` body.
#[derive(Debug, Object)]
pub(crate) struct SendVerificationEmailRequest {
    /// The address to verify (the session's own when signed in).
    email: String,
    /// Where the link leads after verification (a relative path or a trusted origin).
    #[oai(rename = "callbackURL", nullable)]
    callback_url: Option<String>,
}

/// `GET /verify-email` answer without a callback.
#[derive(Debug, Object, Serialize)]
pub(crate) struct VerifyEmailResponse {
    /// Always `true`.
    status: bool,
    /// `null` for a plain verification, the user after a change of address, absent when the
    /// current address confirmed a change.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none, nullable)]
    user: Option<serde_json::Value>,
}

/// `POST /change-email` body.
#[derive(Debug, Object)]
pub(crate) struct ChangeEmailRequest {
    /// The new address.
    #[oai(rename = "newEmail")]
    new_email: String,
    /// Where the links lead afterwards (a relative path or a trusted origin).
    #[oai(rename = "callbackURL", nullable)]
    callback_url: Option<String>,
}

/// `POST /verify-password` body. No `Debug`: it holds a password.
#[derive(Object)]
pub(crate) struct VerifyPasswordRequest {
    /// The signed-in user's password.
    #[oai(validator(max_length = 4096))]
    password: poem_openapi::types::Password,
}

/// The answer of a followed verification link.
#[derive(ApiResponse)]
pub(crate) enum VerifyEmailAnswer {
    /// Verified (no callback).
    #[oai(status = 200)]
    Verified(poem_openapi::payload::Json<VerifyEmailResponse>),
    /// To the callback, with `?error=<code>` on failure.
    #[oai(status = 302)]
    Redirect(#[oai(header = "location")] String),
}

#[OpenApi(tag = "ApiTags::EmailVerification")]
impl EmailVerificationApi {
    /// Mail a verification link (without a session, the same answer for every address).
    #[oai(path = "/send-verification-email", method = "post")]
    async fn send_verification_email(
        &self,
        request: &Request,
        body: BaJson<SendVerificationEmailRequest>,
    ) -> Result<Reply<StatusResponse>, ApiError> {
        let started = tokio::time::Instant::now();
        let body = body.0;
        super::check_callback(&self.state, body.callback_url.as_ref())?;
        let (loaded, _) = load(&self.state, request, false).await?;
        let context = loaded.as_ref().map(|loaded| &loaded.context);
        let sent = self
            .state
            .auth()
            .send_verification_email(&body.email, body.callback_url.as_deref(), context)
            .await;
        if context.is_none() {
            tokio::time::sleep_until(started + super::ANONYMOUS_FLOOR).await;
        }
        sent?;
        let reply = Reply::new(StatusResponse { status: true });
        Ok(match loaded {
            Some(loaded) => reply.cookies(loaded.cookies),
            None => reply,
        })
    }

    /// The link in the mail: verifies the address, then redirects to `callbackURL` (with
    /// `?error=<code>` when the link cannot be used) or answers `{"status":true,"user":null}`.
    #[oai(path = "/verify-email", method = "get")]
    async fn verify_email(
        &self,
        request: &Request,
        token: Query<String>,
        #[oai(name = "callbackURL")] callback_url: Query<Option<String>>,
    ) -> Result<WithCookies<VerifyEmailAnswer>, ApiError> {
        super::check_callback(&self.state, callback_url.0.as_ref())?;
        let (loaded, _) = load(&self.state, request, true).await?;
        let context = loaded.as_ref().map(|loaded| &loaded.context);
        let verified = self
            .state
            .auth()
            .verify_email(
                &token.0,
                context,
                callback_url.0.as_deref(),
                &client_info(request),
            )
            .await;
        let verified = match (verified, &callback_url.0) {
            (Ok(verified), _) => verified,
            (Err(AuthError::VerificationRefused(refusal)), Some(callback)) => {
                let target = super::with_query(callback, "error", refusal.code());
                return Ok(WithCookies(
                    VerifyEmailAnswer::Redirect(target),
                    ResponseCookies::default(),
                ));
            }
            (Err(error), _) => return Err(error.into()),
        };
        let cookies = verified
            .session
            .as_ref()
            .map(|session| session_cookies(&self.state, session, true));
        let user = match &verified.outcome {
            Verified::Address => Some(serde_json::Value::Null),
            Verified::ChangeConfirmed => None,
            Verified::EmailChanged(user) => serde_json::to_value(UserDto::from(user)).ok(),
        };
        let answer = match callback_url.0 {
            Some(callback) => VerifyEmailAnswer::Redirect(callback),
            None => VerifyEmailAnswer::Verified(poem_openapi::payload::Json(VerifyEmailResponse {
                status: true,
                user,
            })),
        };
        Ok(WithCookies(answer, cookies.unwrap_or_default()))
    }

    /// Change the signed-in user's address: a verified user confirms from the current address
    /// first, an unverified one verifies the new one; the address changes when the link sent to
    /// the new address is followed.
    #[oai(path = "/change-email", method = "post")]
    async fn change_email(
        &self,
        request: &Request,
        body: BaJson<ChangeEmailRequest>,
    ) -> Result<Reply<StatusResponse>, ApiError> {
        let body = body.0;
        super::check_callback(&self.state, body.callback_url.as_ref())?;
        let loaded = require(&self.state, request).await?;
        self.state
            .auth()
            .change_email(
                &loaded.context,
                &body.new_email,
                body.callback_url.as_deref(),
            )
            .await?;
        Ok(Reply::new(StatusResponse { status: true }).cookies(loaded.cookies))
    }

    /// Check the signed-in user's password.
    #[oai(path = "/verify-password", method = "post")]
    async fn verify_password(
        &self,
        request: &Request,
        body: BaJson<VerifyPasswordRequest>,
    ) -> Result<Reply<StatusResponse>, ApiError> {
        let loaded = require(&self.state, request).await?;
        self.state
            .auth()
            .verify_password(&loaded.context, &Password::new(body.0.password.0))
            .await?;
        Ok(Reply::new(StatusResponse { status: true }).cookies(loaded.cookies))
    }
}
