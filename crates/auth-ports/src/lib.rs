//! auth-ports: the traits (ports) the use cases call and the adapters implement: stores, the
//! password hasher, the clock and the random source, plus `PortError`.
//! Depends on: auth-domain, async-trait.
//! Must not depend on: tokio, sea-orm, redis, poem, argon2, pasetors, jsonwebtoken.
//! Invariant: a behaviour is part of a port only if the conformance suite in auth-testkit checks it.
#![warn(missing_docs)]

mod api_key;
mod audit;
mod cache;
mod error;
mod events;
mod jwks;
mod mail;
mod organization;
mod random;
mod ratelimit;
mod stores;
mod system;
mod two_factor;
mod websocket;

pub use api_key::{ApiKeyHasher, ApiKeyRepo, Counted, KeyCounters, KeyUse, Reserved};
pub use audit::AuditLog;
pub use cache::{CacheLookup, FillTicket, NoCache, SessionCache};
pub use error::{BoxError, PortError};
pub use events::{EventBus, EventHandler, LocalEvents};
pub use jwks::{GeneratedKey, JwksRepo, Paserk, TokenSigner, VerifiedToken};
pub use mail::{EmailTokenError, EmailTokens, Mail, Mailer};
pub use organization::{
    Accepted, InvitationRepo, Invited, MemberAdded, MemberChange, MemberQuery, MemberSort,
    OrganizationRepo, RoleDeleted, RoleRepo, TeamDeleted, TeamRepo,
};
pub use random::{ALPHANUMERIC, LETTERS, LOWER_ALPHANUMERIC, Random};
pub use ratelimit::{RateLimitDecision, RateLimitRule, RateLimiter};
pub use stores::{AccountRepo, SessionRepo, UserRepo, VerificationRepo};
pub use system::{Clock, PasswordHasher};
pub use two_factor::{TwoFactorCrypto, TwoFactorRepo};
pub use websocket::{ConnectionSlots, SlotGrant};

#[cfg(feature = "mock")]
pub use audit::MockAuditLog;
#[cfg(feature = "mock")]
pub use cache::MockSessionCache;
#[cfg(feature = "mock")]
pub use events::MockEventBus;
#[cfg(feature = "mock")]
pub use jwks::{MockJwksRepo, MockTokenSigner};
#[cfg(feature = "mock")]
pub use mail::{MockEmailTokens, MockMailer};
#[cfg(feature = "mock")]
pub use organization::{MockInvitationRepo, MockOrganizationRepo, MockRoleRepo, MockTeamRepo};
#[cfg(feature = "mock")]
pub use random::MockRandom;
#[cfg(feature = "mock")]
pub use ratelimit::MockRateLimiter;
#[cfg(feature = "mock")]
pub use stores::{MockAccountRepo, MockSessionRepo, MockUserRepo, MockVerificationRepo};
#[cfg(feature = "mock")]
pub use system::{MockClock, MockPasswordHasher};
#[cfg(feature = "mock")]
pub use two_factor::MockTwoFactorRepo;
