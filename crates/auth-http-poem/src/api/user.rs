//! `/update-user`.

use std::sync::Arc;

use auth_core::UpdateUser;
use poem::Request;
use poem::http::StatusCode;
use poem_openapi::OpenApi;
use poem_openapi::types::MaybeUndefined;

use super::ApiTags;
use crate::dto::{StatusResponse, UpdateUserRequest};
use crate::error::ApiError;
use crate::payload::{BaJson, Reply};
use crate::session_ctx::require;
use crate::state::HttpState;

pub(crate) struct UserApi {
    pub(crate) state: Arc<HttpState>,
}

#[OpenApi(tag = "ApiTags::User")]
impl UserApi {
    /// Update the signed-in user's name and image. `email` cannot be changed here.
    #[oai(path = "/update-user", method = "post")]
    async fn update_user(
        &self,
        request: &Request,
        body: BaJson<UpdateUserRequest>,
    ) -> Result<Reply<StatusResponse>, ApiError> {
        let body = body.0;
        let loaded = require(&self.state, request).await?;
        if body.email.is_some() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "EMAIL_CAN_NOT_BE_UPDATED",
                "Email can not be updated",
            ));
        }
        let image = match body.image {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(url) => Some(Some(url)),
        };
        let command = UpdateUser {
            name: body.name,
            image,
        };
        self.state
            .auth()
            .update_user(&loaded.context, command)
            .await?;
        Ok(Reply::new(StatusResponse { status: true }).cookies(loaded.cookies))
    }
}
