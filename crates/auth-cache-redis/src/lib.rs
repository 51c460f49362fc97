//! auth-cache-redis: the two-layer session cache: L1 in process (bounded, short TTL), L2 in Redis
//! (shared), with invalidations broadcast to every instance over Redis pub/sub; the domain events
//! between instances; and the shared use counters of API keys.
//! Depends on: auth-domain, auth-ports, deadpool-redis, moka.
//! Must not depend on: sea-orm, poem, auth-core.
//! Invariant: a revoked session is served by no instance for longer than the L1 TTL, even when
//! pub/sub messages are lost; Redis errors never reach users (callers fall back to the store).

mod events;
mod key_counters;
mod layered;
mod wire;

pub use events::RedisEventBus;
pub use key_counters::RedisKeyCounters;
pub use layered::{CacheConfig, LayeredSessionCache};
