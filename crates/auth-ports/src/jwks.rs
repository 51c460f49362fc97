//! The signing-key ports: the `jwks` store and the token signer.

use auth_domain::{Jwk, JwkId, KeyUse, StoredPrivateKey, TokenClaims};
use time::OffsetDateTime;

use crate::PortError;

/// Signing keys (`jwks` table). External implementations must pass
/// `auth_testkit::conformance::run_jwks_suite`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait::async_trait]
pub trait JwksRepo: Send + Sync {
    /// Stores a new key.
    ///
    /// # Errors
    /// MUST return `PortError::Conflict` if a key with the same id exists; nothing is written
    /// then.
    async fn create(&self, key: &Jwk) -> Result<(), PortError>;

    /// Every stored key, expired ones included, oldest first (by `created_at`, then id).
    async fn list_all(&self) -> Result<Vec<Jwk>, PortError>;

    /// Moves a key's expiry (a forced rotation retires the current key).
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if the key does not exist.
    async fn update_expiry(&self, id: &JwkId, expires_at: OffsetDateTime) -> Result<(), PortError>;
}

/// A new key pair, ready to store: the public JWK and the private key already sealed for rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// JSON text of the public JWK (`{"crv":"Ed25519","x":"…","kty":"OKP"}`).
    pub public_key: String,
    /// The private key as it is stored (encrypted with the server secret).
    pub private_key: StoredPrivateKey,
    /// The `alg` column value.
    pub alg: String,
    /// The `crv` column value.
    pub crv: String,
}

/// A PASETO `v4.public` key in its published forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paserk {
    /// `k4.public.<base64url>`: the key itself.
    pub public: String,
    /// `k4.pid.<base64url>`: its identifier, carried in the footer of the tokens it signs.
    pub id: String,
}

/// What a token's signature vouches for ([`TokenSigner::verify`]). Whether it holds now (its
/// times, issuer and audience) is the caller's rule to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// `sub`: the user's id.
    pub subject: String,
    /// `iss`.
    pub issuer: String,
    /// `aud`: one audience, or a JWT's list of them.
    pub audiences: Vec<String>,
    /// `iat`, when present.
    pub issued_at: Option<OffsetDateTime>,
    /// `exp`.
    pub expires_at: OffsetDateTime,
}

/// Key generation and token signing: the cryptography behind the JWT and PASETO plugins.
/// Implementations hold the server secret, which seals private keys at rest (the same scheme as
/// Better-Auth, so that the two can share a `jwks` table). Signing is fast (no blocking pool).
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait TokenSigner: Send + Sync {
    /// A new Ed25519 key pair for `key_use`.
    ///
    /// # Errors
    /// `PortError::Internal` when the random source or the cipher fails.
    fn generate_key(&self, key_use: KeyUse) -> Result<GeneratedKey, PortError>;

    /// Signs the claims with a stored key: a JWT (`alg` `EdDSA`, `kid` = the key id) for a JWT
    /// key, a `v4.public` PASETO (footer `{"kid":"k4.pid…"}`) for a PASETO key.
    ///
    /// # Errors
    /// MUST return `PortError::Internal` when the private key cannot be unsealed (another
    /// secret) or is not an Ed25519 key; nothing is signed then.
    fn sign(&self, key: &Jwk, claims: &TokenClaims) -> Result<String, PortError>;

    /// Checks a token's signature against `keys` (the published ones): a JWT (`EdDSA`, its
    /// `kid` naming the key) or a `v4.public` PASETO (its footer's `kid` naming the key). `None`
    /// for anything else: a forged or altered token, an unknown key, another algorithm, a
    /// payload without `sub`, `iss`, `aud` or `exp`.
    fn verify(&self, keys: &[Jwk], token: &str) -> Option<VerifiedToken>;

    /// The PASERK forms of a PASETO key's public half.
    ///
    /// # Errors
    /// `PortError::Internal` when the stored public key is not an Ed25519 JWK.
    fn paserk(&self, key: &Jwk) -> Result<Paserk, PortError>;
}
