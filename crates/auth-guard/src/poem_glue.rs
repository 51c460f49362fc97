//! The poem side: the `JwtClaims` extractor and the `RequireToken` middleware.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use poem::http::header;
use poem::{Endpoint, FromRequest, IntoResponse, Middleware, Request, RequestBody, Response};

use crate::{Claims, GuardError, JwtVerifier, PasetoVerifier};

/// The future a verifier returns.
pub type VerifyFuture<'a> = Pin<Box<dyn Future<Output = Result<Claims, GuardError>> + Send + 'a>>;

/// A token verifier (JWT or PASETO), as the extractor and middleware use it.
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies a token taken from `Authorization: Bearer`.
    fn verify_token<'a>(&'a self, token: &'a str) -> VerifyFuture<'a>;
}

impl TokenVerifier for JwtVerifier {
    fn verify_token<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(self.verify(token))
    }
}

impl TokenVerifier for PasetoVerifier {
    fn verify_token<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(self.verify(token))
    }
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer_token(request: &Request) -> Result<&str, GuardError> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .ok_or(GuardError::MissingToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(GuardError::MissingToken)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(GuardError::MissingToken);
    }
    Ok(token)
}

/// The claims of the request's verified bearer token. Reads what [`RequireToken`] verified, or
/// verifies with the `Arc<dyn TokenVerifier>` added with `.data(..)`. Refusals are `401` JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtClaims(pub Claims);

impl<'a> FromRequest<'a> for JwtClaims {
    async fn from_request(request: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        if let Some(claims) = request.extensions().get::<Claims>() {
            return Ok(Self(claims.clone()));
        }
        let Some(verifier) = request.data::<Arc<dyn TokenVerifier>>() else {
            tracing::error!("JwtClaims needs `.data(Arc<dyn TokenVerifier>)` or RequireToken");
            return Err(GuardError::KeysUnavailable.into());
        };
        let token = bearer_token(request)?;
        Ok(Self(verifier.verify_token(token).await?))
    }
}

/// A predicate on verified claims; `false` answers `403`.
type Rule = Arc<dyn Fn(&Claims) -> bool + Send + Sync>;

/// Middleware that lets a request through only with a valid bearer token (`401` otherwise) whose
/// claims pass every `require` rule (`403` otherwise). The claims are then available to
/// handlers through [`JwtClaims`].
#[derive(Clone)]
pub struct RequireToken {
    verifier: Arc<dyn TokenVerifier>,
    rules: Vec<Rule>,
}

impl RequireToken {
    /// Requires a token that `verifier` accepts.
    pub fn new(verifier: Arc<dyn TokenVerifier>) -> Self {
        Self {
            verifier,
            rules: Vec::new(),
        }
    }

    /// Also requires `rule` to hold (e.g. `|claims| claims.email_verified()`).
    #[must_use]
    pub fn require(mut self, rule: impl Fn(&Claims) -> bool + Send + Sync + 'static) -> Self {
        self.rules.push(Arc::new(rule));
        self
    }
}

impl<E: Endpoint> Middleware<E> for RequireToken {
    type Output = RequireTokenEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequireTokenEndpoint {
            inner,
            guard: self.clone(),
        }
    }
}

/// The endpoint [`RequireToken`] wraps.
pub struct RequireTokenEndpoint<E> {
    inner: E,
    guard: RequireToken,
}

impl<E: Endpoint> Endpoint for RequireTokenEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut request: Request) -> poem::Result<Self::Output> {
        let token = match bearer_token(&request) {
            Ok(token) => token.to_owned(),
            Err(error) => return Ok(error.into_response()),
        };
        let claims = match self.guard.verifier.verify_token(&token).await {
            Ok(claims) => claims,
            Err(error) => {
                tracing::debug!(code = error.code(), "bearer token refused");
                return Ok(error.into_response());
            }
        };
        if !self.guard.rules.iter().all(|rule| rule(&claims)) {
            return Ok(GuardError::Forbidden.into_response());
        }
        request.extensions_mut().insert(claims);
        self.inner
            .call(request)
            .await
            .map(IntoResponse::into_response)
    }
}
