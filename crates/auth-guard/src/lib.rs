//! auth-guard: what other poem services use to trust the auth server's tokens: verifiers for
//! EdDSA JWTs and PASETO v4.public tokens (keys given locally or fetched from the server's
//! `GET /api/auth/jwks` / `GET /api/auth/paseto-keys` and cached by key id), and the poem
//! extractor and middleware that turn them into `401`/`403` JSON answers.
//! Depends on: poem, jsonwebtoken, pasetors, reqwest (plain HTTP unless given a client), tokio.
//! Must not depend on: any workspace crate but auth-domain, sea-orm, redis, argon2.
//! Invariant: only EdDSA JWTs and v4.public PASETOs verify: `alg: none`, HS* and every other
//! algorithm are refused before any key is looked up.

mod claims;
mod error;
mod jwt;
mod keys;
mod paseto;
mod poem_glue;

pub use claims::Claims;
pub use error::GuardError;
pub use jwt::JwtVerifier;
pub use keys::RemoteKeysConfig;
pub use paseto::PasetoVerifier;
pub use poem_glue::{JwtClaims, RequireToken, RequireTokenEndpoint, TokenVerifier, VerifyFuture};

/// What every verifier checks besides the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierConfig {
    /// The expected `iss` (the auth server's origin, e.g. `https://auth.example.com`).
    pub issuer: String,
    /// The expected `aud` (the auth server's origin unless it was configured otherwise).
    pub audience: String,
    /// Clock skew allowed on `exp` and `nbf`, in seconds (5).
    pub leeway_seconds: u64,
}

impl VerifierConfig {
    /// Issuer and audience both set to the auth server's origin, 5 seconds of leeway.
    #[must_use]
    pub fn for_origin(origin: &str) -> Self {
        Self {
            issuer: origin.to_owned(),
            audience: origin.to_owned(),
            leeway_seconds: 5,
        }
    }
}

/// Seconds since the Unix epoch, from the wall clock (the only reading of it in this crate).
#[expect(
    clippy::disallowed_methods,
    reason = "a verifier in another service has no Clock port: token expiry is wall-clock time"
)]
pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
