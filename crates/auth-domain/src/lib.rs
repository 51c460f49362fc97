//! auth-domain: the entities, value types and rules of the auth server (users, accounts, sessions,
//! verification records, email and password rules, the error codes clients match on).
//! Depends on: nothing of the workspace; only `thiserror`, `time` and `zeroize`.
//! Must not depend on: tokio, async-trait, futures, serde, tracing, sea-orm, redis, poem.
//! Invariant: synchronous and free of I/O; every value that reaches a port was validated here.

pub mod account;
pub mod api_key;
pub mod audit;
pub mod date;
pub mod email;
pub mod error;
pub mod event;
pub mod field;
pub mod ids;
pub mod jwk;
pub mod organization;
pub mod password;
pub mod permissions;
pub mod secret;
pub mod session;
pub mod text;
pub mod two_factor;
pub mod user;
pub mod verification;

pub use account::{Account, CREDENTIAL_PROVIDER_ID};
pub use api_key::{ApiKey, ApiKeyUse, KeyRefusal, start_of};
pub use audit::{AuditEvent, AuditKind};
pub use email::Email;
pub use error::DomainError;
pub use event::{AuthEvent, SessionEnd};
pub use field::{FieldKind, FieldSpec, FieldValue, Fields, Model};
pub use ids::{AccountId, SessionId, UserId, VerificationId};
pub use jwk::{
    ED25519_CRV, EDDSA, Jwk, JwkId, KeyRotationPolicy, KeyUse, PASETO_V4_PUBLIC, StoredPrivateKey,
    TokenClaims,
};
pub use password::{Password, PasswordHash, PasswordPolicy};
pub use permissions::Permissions;
pub use secret::Secret;
pub use session::{Session, SessionPolicy, SessionToken};
pub use user::User;
pub use verification::{EmailClaims, Verification};
