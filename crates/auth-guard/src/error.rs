//! `GuardError`: why a request was refused, as a JSON answer in the auth server's shape.

use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};

/// A refused request. Missing or bad credentials are `401`, insufficient ones `403`; when the
/// signing keys cannot be fetched the answer is `503` (the credentials may be fine).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token")]
    MissingToken,
    /// Malformed, forged, wrong algorithm, unknown key, wrong issuer or audience, not yet valid.
    #[error("invalid token")]
    InvalidToken,
    /// `exp` has passed (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// Valid, but not enough for this route.
    #[error("forbidden")]
    Forbidden,
    /// The key set could not be fetched.
    #[error("signing keys unavailable")]
    KeysUnavailable,
}

impl GuardError {
    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken | Self::Expired => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable code clients match on.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "MISSING_TOKEN",
            Self::InvalidToken => "INVALID_TOKEN",
            Self::Expired => "TOKEN_EXPIRED",
            Self::Forbidden => "FORBIDDEN",
            Self::KeysUnavailable => "KEYS_UNAVAILABLE",
        }
    }

    fn message(&self) -> &'static str {
        match self {
            Self::MissingToken => "A bearer token is required",
            Self::InvalidToken => "Invalid token",
            Self::Expired => "Token expired",
            Self::Forbidden => "Forbidden",
            Self::KeysUnavailable => "Signing keys are unavailable",
        }
    }
}

impl IntoResponse for GuardError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code(), "message": self.message() });
        let mut response = Response::builder()
            .status(self.status())
            .content_type("application/json")
            .body(body.to_string());
        if self.status() == StatusCode::UNAUTHORIZED {
            let challenge = match self {
                Self::MissingToken => "Bearer",
                _ => "Bearer error=\"invalid_token\"",
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl poem::error::ResponseError for GuardError {
    fn status(&self) -> StatusCode {
        GuardError::status(self)
    }

    fn as_response(&self) -> Response {
        self.clone().into_response()
    }
}
