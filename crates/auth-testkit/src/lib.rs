//! auth-testkit: in-memory fakes of every port, a manual clock, and the port conformance suites
//! that every adapter (ours and outside ones) runs.
//! Depends on: auth-domain, auth-ports.
//! Must not depend on: sea-orm, redis, poem.
//! Invariant: the in-memory store passes the same conformance suite as the SQL adapters.

pub mod conformance;
mod fakes;
pub mod fixtures;
mod memory;
mod memory_api_key;
mod memory_jwks;
mod memory_key_counters;
pub mod metrics;
mod proxy;
pub mod services;

pub use fakes::{
    FakeRateLimiter, FastHasher, ManualClock, MemoryMailer, PlainEmailTokens, SeededRandom,
};
pub use memory::MemoryStore;
pub use memory_api_key::{CounterWrites, MemoryApiKeyRepo};
pub use memory_jwks::MemoryJwksRepo;
pub use memory_key_counters::MemoryKeyCounters;
pub use proxy::TcpProxy;
