//! auth-store-seaorm: the storage ports on SQL databases through sea-orm: SQLite (the embedded
//! default) and PostgreSQL, with Better-Auth's tables and column names.
//! Depends on: auth-domain, auth-ports, auth-migrations, sea-orm, rusqlite (the read lane).
//! Must not depend on: redis, poem, auth-core.
//! Invariant: entities never leave this crate; database errors leave only as `PortError`.

mod api_key;
mod audit;
mod entity;
mod error;
mod fields;
mod jwks;
mod lane;
mod mapping;
mod organization;
mod query;
mod store;
#[cfg(feature = "test-util")]
pub mod test_db;
mod two_factor;

pub use error::register_metrics;
pub use store::{SeaOrmStore, StoreConfig};
