//! auth-ports: the traits (ports) the use cases call and the adapters implement: stores, the
//! password hasher, the clock and the random source, plus `PortError`.
//! Depends on: auth-domain, async-trait.
//! Must not depend on: tokio, sea-orm, redis, poem, argon2, pasetors, jsonwebtoken.
//! Invariant: a behaviour is part of a port only if the conformance suite in auth-testkit checks it.
#![warn(missing_docs)]

mod error;
mod random;
mod stores;
mod system;

pub use error::{BoxError, PortError};
pub use random::{ALPHANUMERIC, Random};
pub use stores::{AccountRepo, SessionRepo, UserRepo, VerificationRepo};
pub use system::{Clock, PasswordHasher};

#[cfg(feature = "mock")]
pub use random::MockRandom;
#[cfg(feature = "mock")]
pub use stores::{MockAccountRepo, MockSessionRepo, MockUserRepo, MockVerificationRepo};
#[cfg(feature = "mock")]
pub use system::{MockClock, MockPasswordHasher};
