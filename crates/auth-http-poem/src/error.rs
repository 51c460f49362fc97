//! `ApiError`: the one error response of the API, and the one place where an `AuthError` gets
//! its HTTP status.

use auth_core::{AuthError, PluginErrorKind};
use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, Object};

/// The JSON body of every error: `{"message", "code"}` (Better-Auth's shape; `code` is absent on
/// its message-only errors).
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct ErrorBody {
    /// Human-readable text.
    pub message: String,
    /// Stable machine-readable code; clients match on it.
    #[oai(skip_serializing_if_is_none, nullable)]
    pub code: Option<String>,
    /// Numbers that say more (`RATE_LIMITED`'s `tryAgainIn`, in milliseconds).
    #[oai(skip_serializing_if_is_none, nullable)]
    pub details: Option<Box<std::collections::BTreeMap<String, i64>>>,
}

/// An error response: a status, the JSON body, and cookies to set or expire on the way out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Body.
    pub body: ErrorBody,
    /// `Set-Cookie` lines sent with the error (e.g. expiring a dead session).
    pub cookies: Vec<String>,
    /// Extra headers (e.g. `Connection: close`).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl ApiError {
    /// An error with a code.
    #[must_use]
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                message: message.into(),
                code: Some(code.to_owned()),
                details: None,
            },
            cookies: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// `400 VALIDATION_ERROR` with a `[body.field] ...`-style message.
    #[must_use]
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    /// Adds `Set-Cookie` lines.
    #[must_use]
    pub fn with_cookies(mut self, cookies: Vec<String>) -> Self {
        self.cookies.extend(cookies);
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            self.status.as_u16(),
            self.body.code.as_deref().unwrap_or("-")
        )
    }
}

impl std::error::Error for ApiError {}

/// Seconds a client is told to wait after a `503`.
const UNAVAILABLE_RETRY_AFTER: &str = "2";

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let status = match &error {
            AuthError::Invalid(_)
            | AuthError::InvalidPassword
            | AuthError::CredentialAccountNotFound
            | AuthError::NoFieldsToUpdate
            | AuthError::ResetPasswordDisabled
            | AuthError::InvalidToken
            | AuthError::UserNotFound
            | AuthError::VerificationEmailNotEnabled
            | AuthError::EmailMismatch
            | AuthError::EmailAlreadyVerified => StatusCode::BAD_REQUEST,
            AuthError::VerificationRefused(_) => StatusCode::UNAUTHORIZED,
            AuthError::SessionExpired
            | AuthError::ChangeEmailDisabled
            | AuthError::EmailIsTheSame
            | AuthError::NoEmailChangeFlow => StatusCode::BAD_REQUEST,
            AuthError::DeleteUserDisabled
            | AuthError::DeleteTokenInvalid
            | AuthError::FailedToGetUserInfo => StatusCode::NOT_FOUND,
            AuthError::EmailNotVerified => StatusCode::FORBIDDEN,
            AuthError::InvalidEmailOrPassword | AuthError::Unauthorized => StatusCode::UNAUTHORIZED,
            AuthError::SessionNotFresh | AuthError::TwoFactorNotAvailable => StatusCode::FORBIDDEN,
            AuthError::UserAlreadyExists => StatusCode::UNPROCESSABLE_ENTITY,
            AuthError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AuthError::Plugin(plugin) => match plugin.kind {
                PluginErrorKind::BadRequest => StatusCode::BAD_REQUEST,
                PluginErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
                PluginErrorKind::Forbidden => StatusCode::FORBIDDEN,
                PluginErrorKind::NotFound => StatusCode::NOT_FOUND,
                PluginErrorKind::Conflict => StatusCode::CONFLICT,
                PluginErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            },
            AuthError::Unavailable(source) => {
                tracing::warn!(error = %source, "dependency unavailable");
                StatusCode::SERVICE_UNAVAILABLE
            }
            AuthError::Internal(source) => {
                tracing::error!(error = %source, "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let headers = match &error {
            AuthError::RateLimited {
                retry_after_seconds,
            } => vec![
                (
                    header::HeaderName::from_static("x-retry-after"),
                    retry_after_seconds.to_string(),
                ),
                (header::RETRY_AFTER, retry_after_seconds.to_string()),
            ],
            // A dependency is down or saturated (database, hashing queue): worth a retry soon.
            AuthError::Unavailable(_) => {
                vec![(header::RETRY_AFTER, UNAVAILABLE_RETRY_AFTER.to_owned())]
            }
            _ => Vec::new(),
        };
        let details = match &error {
            AuthError::Plugin(plugin) if !plugin.details.is_empty() => Some(Box::new(
                plugin
                    .details
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), *value))
                    .collect(),
            )),
            _ => None,
        };
        let body = ErrorBody {
            message: error.message(),
            code: error.code().map(str::to_owned),
            details,
        };
        Self {
            status,
            body,
            cookies: Vec::new(),
            headers,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Better-Auth's `APIError` without a body (a disabled `delete-user`): status only, and
        // an empty JSON body.
        let empty = self.body.message.is_empty() && self.body.code.is_none();
        let body = if empty {
            Vec::new()
        } else {
            serde_json::to_vec(&self.body.to_json()).unwrap_or_default()
        };
        // A value that is not a valid header value is dropped rather than sent.
        let headers = self.headers.into_iter().filter_map(|(name, value)| {
            poem::http::HeaderValue::try_from(value)
                .ok()
                .map(|value| (name, value))
        });
        crate::payload::json_response(self.status, body, self.cookies, headers)
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        self.status
    }

    fn as_response(&self) -> Response {
        self.clone().into_response()
    }
}

const DOCUMENTED: [(u16, &str); 9] = [
    (
        400,
        "Invalid input (`VALIDATION_ERROR`, `BAD_REQUEST`, or a domain code)",
    ),
    (401, "Missing or invalid credentials"),
    (403, "Refused: untrusted origin, session not fresh"),
    (404, "Unknown route"),
    (413, "Body larger than the configured limit"),
    (415, "Unsupported `Content-Type`"),
    (
        422,
        "Conflicts with existing data (`USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL`)",
    ),
    (429, "Rate limited"),
    (
        503,
        "A dependency (database) is unavailable; nothing was changed",
    ),
];

impl ApiResponse for ApiError {
    const BAD_REQUEST_HANDLER: bool = true;

    fn meta() -> MetaResponses {
        MetaResponses {
            responses: DOCUMENTED
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: "application/json",
                        schema: ErrorBody::schema_ref(),
                    }],
                    headers: Vec::new(),
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ErrorBody::register(registry);
    }

    fn from_parse_request_error(error: poem::Error) -> Self {
        if let Some(api_error) = error.downcast_ref::<ApiError>() {
            return api_error.clone();
        }
        if let Some(param) = error.downcast_ref::<poem_openapi::error::ParseParamError>() {
            return Self::validation(format!("[query.{}] {}", param.name, param.reason));
        }
        if let Some(payload) = error.downcast_ref::<poem_openapi::error::ParseRequestPayloadError>()
        {
            return Self::validation(format!("[body] {}", payload.reason));
        }
        if error
            .downcast_ref::<poem_openapi::error::ContentTypeError>()
            .is_some()
        {
            return Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "Content-Type is not allowed. Allowed types: application/json",
            );
        }
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", "Bad request")
    }
}
