//! `/delete-user` and `GET /delete-user/callback`.

use std::sync::Arc;

use auth_core::{AuthError, DeleteOutcome, DeleteUser};
use auth_domain::Password;
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Serialize;

use super::{ApiTags, check_callback, client_info};
use crate::error::ApiError;
use crate::payload::{BaJson, Reply, WithCookies};
use crate::session_ctx::{expired_cookies, load, require};
use crate::state::HttpState;

pub(crate) struct DeleteUserApi {
    pub(crate) state: Arc<HttpState>,
}

/// `POST /delete-user` body. No `Debug`: it holds a password.
#[derive(Object)]
pub(crate) struct DeleteUserRequest {
    /// Where the deletion link leads afterwards.
    #[oai(rename = "callbackURL", nullable)]
    callback_url: Option<String>,
    /// The password, to confirm.
    #[oai(validator(max_length = 4096), nullable)]
    password: Option<poem_openapi::types::Password>,
    /// The token of a deletion link.
    #[oai(nullable)]
    token: Option<String>,
}

/// What `delete-user` did.
#[derive(Debug, Object, Serialize)]
pub(crate) struct DeleteUserResponse {
    /// Always `true`.
    success: bool,
    /// `User deleted` or `Verification email sent`.
    message: String,
}

/// The answer of a followed deletion link.
#[derive(ApiResponse)]
pub(crate) enum DeleteLinkAnswer {
    /// Deleted (no callback).
    #[oai(status = 200)]
    Deleted(poem_openapi::payload::Json<DeleteUserResponse>),
    /// Deleted, then to the callback.
    #[oai(status = 302)]
    Redirect(#[oai(header = "location")] String),
}

fn deleted() -> DeleteUserResponse {
    DeleteUserResponse {
        success: true,
        message: "User deleted".to_owned(),
    }
}

#[OpenApi(tag = "ApiTags::User")]
impl DeleteUserApi {
    /// Delete the signed-in user (`404` with an empty body when switched off): with the
    /// password, with a deletion link's token, by mailing a deletion link, or with a fresh
    /// session.
    #[oai(path = "/delete-user", method = "post")]
    async fn delete_user(
        &self,
        request: &Request,
        body: BaJson<DeleteUserRequest>,
    ) -> Result<Reply<DeleteUserResponse>, ApiError> {
        let body = body.0;
        check_callback(&self.state, body.callback_url.as_ref())?;
        let loaded = require(&self.state, request).await?;
        let outcome = self
            .state
            .auth()
            .delete_user(
                &loaded.context,
                DeleteUser {
                    password: body.password.map(|password| Password::new(password.0)),
                    token: body.token,
                    callback_url: body.callback_url,
                    client: client_info(request),
                },
            )
            .await?;
        Ok(match outcome {
            DeleteOutcome::Deleted => Reply::new(deleted()).cookies(expired_cookies(&self.state)),
            DeleteOutcome::VerificationSent => Reply::new(DeleteUserResponse {
                success: true,
                message: "Verification email sent".to_owned(),
            })
            .cookies(loaded.cookies),
        })
    }

    /// The deletion link: deletes the signed-in user whose link it is, then redirects to
    /// `callbackURL` or answers `{"success":true,"message":"User deleted"}`.
    #[oai(path = "/delete-user/callback", method = "get")]
    async fn delete_user_callback(
        &self,
        request: &Request,
        token: Query<String>,
        #[oai(name = "callbackURL")] callback_url: Query<Option<String>>,
    ) -> Result<WithCookies<DeleteLinkAnswer>, ApiError> {
        check_callback(&self.state, callback_url.0.as_ref())?;
        if !self.state.auth().config().email.delete_user_enabled {
            return Err(ApiError::new(
                poem::http::StatusCode::NOT_FOUND,
                "NOT_FOUND",
                "Not found",
            ));
        }
        let (loaded, _) = load(&self.state, request, true).await?;
        let Some(loaded) = loaded else {
            return Err(AuthError::FailedToGetUserInfo.into());
        };
        self.state
            .auth()
            .delete_user_by_link(&loaded.context, &token.0, &client_info(request))
            .await?;
        let answer = match callback_url.0 {
            Some(callback) => DeleteLinkAnswer::Redirect(callback),
            None => DeleteLinkAnswer::Deleted(poem_openapi::payload::Json(deleted())),
        };
        Ok(WithCookies(answer, expired_cookies(&self.state).into()))
    }
}
