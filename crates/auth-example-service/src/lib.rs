//! auth-example-service: a small poem service that trusts the auth server's JWTs through the
//! remote-JWKS verifier of auth-guard. It is the worked example of docs/guards.md and the
//! target of the guarded-route benchmark.
//! Depends on: auth-guard, poem, tokio.
//! Must not depend on: any other workspace crate (it talks to the auth server over HTTP only),
//! sea-orm, redis, argon2.
//! Invariant: every route but `/public` and `/healthz` requires a token the verifier accepts.

use std::sync::Arc;

use auth_guard::{
    JwtClaims, JwtVerifier, RemoteKeysConfig, RequireToken, TokenVerifier, VerifierConfig,
};
use poem::web::Json;
use poem::{EndpointExt, Route, get, handler};
use serde_json::{Value, json};

/// Where the auth server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleConfig {
    /// Where the auth server answers (`http://127.0.0.1:3000`); `/api/auth/jwks` is fetched there.
    pub auth_url: String,
    /// The auth server's public origin (its `AUTH_BASE_URL`): the expected `iss` and `aud`.
    pub issuer: String,
    /// Caching of the fetched keys.
    pub keys: RemoteKeysConfig,
}

#[handler]
fn public() -> &'static str {
    "anyone may read this"
}

#[handler]
fn me(JwtClaims(claims): JwtClaims) -> Json<Value> {
    Json(json!({
        "sub": claims.subject,
        "email": claims.email(),
        "emailVerified": claims.email_verified(),
    }))
}

/// The service's routes: `/public`, `/healthz`, and the guarded `/me` and `/verified`.
#[must_use]
pub fn app(config: &ExampleConfig) -> Route {
    let jwks_url = format!("{}/api/auth/jwks", config.auth_url);
    let verifier: Arc<dyn TokenVerifier> = Arc::new(JwtVerifier::remote_with(
        &jwks_url,
        &VerifierConfig::for_origin(&config.issuer),
        config.keys,
        None,
    ));
    Route::new()
        .at("/public", get(public))
        .at("/healthz", get(public))
        .at("/me", get(me).with(RequireToken::new(verifier.clone())))
        .at(
            "/verified",
            get(me).with(RequireToken::new(verifier).require(|claims| claims.email_verified())),
        )
}
