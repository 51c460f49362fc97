//! `/ok` and `/error`.

use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::ApiTags;
use crate::cookies::encode_uri_component;
use crate::dto::OkResponse;

pub(crate) struct MetaApi;

/// `/error` answer: a redirect to the site root carrying the error code.
#[derive(ApiResponse)]
enum ErrorPageResponse {
    /// Redirect to `/?error=<code>`.
    #[oai(status = 302)]
    Found(#[oai(header = "location")] String),
}

#[OpenApi(tag = "ApiTags::Meta")]
impl MetaApi {
    /// Liveness of the auth API: `{"ok": true}`.
    #[oai(path = "/ok", method = "get")]
    async fn ok(&self) -> Json<OkResponse> {
        Json(OkResponse { ok: true })
    }

    /// The error page of flows that redirect (production behaviour: back to `/?error=...`).
    #[oai(path = "/error", method = "get")]
    async fn error(
        &self,
        error: Query<Option<String>>,
        #[oai(name = "error_description")] description: Query<Option<String>>,
    ) -> ErrorPageResponse {
        let _ = description;
        let code = error.0.unwrap_or_else(|| "UNKNOWN".to_owned());
        let code: String = code.chars().take(128).collect();
        ErrorPageResponse::Found(format!("/?error={}", encode_uri_component(&code)))
    }
}
