//! auth-cache-redis: the two-layer session cache: L1 in process (bounded, short TTL), L2 in Redis
//! (shared), with invalidations broadcast to every instance over Redis pub/sub; the domain events
//! between instances; the shared use counters of API keys; and the WebSocket connection slots
//! per user.
//! Depends on: auth-domain, auth-ports, deadpool-redis, moka.
//! Must not depend on: sea-orm, poem, auth-core.
//! Invariant: a revoked session is served by no instance for longer than the L1 TTL, even when
//! pub/sub messages are lost; Redis errors never reach users (callers fall back to the store).

mod events;
mod key_counters;
mod layered;
mod websocket;
mod wire;

pub use events::RedisEventBus;
pub use key_counters::RedisKeyCounters;
pub use layered::{CacheConfig, LayeredSessionCache};
pub use websocket::RedisConnectionSlots;

/// The components of this crate that count their Redis failures.
const COMPONENTS: [&str; 4] = ["cache", "events", "api_key_counters", "websocket"];

/// Creates this crate's `auth_redis_errors_total` series at zero, so that a deployment with
/// Redis shows them from the first scrape. Call it once the metrics recorder is installed.
pub fn register_metrics() {
    for component in COMPONENTS {
        metrics::counter!("auth_redis_errors_total", "component" => component).increment(0);
    }
}

/// A Redis failure as `Unavailable`, counted in `auth_redis_errors_total{component}` (one of
/// [`COMPONENTS`]).
fn redis_error(component: &'static str, error: impl std::fmt::Display) -> auth_ports::PortError {
    metrics::counter!("auth_redis_errors_total", "component" => component).increment(1);
    auth_ports::PortError::Unavailable(error.to_string().into())
}

/// A duration in whole milliseconds (saturating).
fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `work`, given `timeout` to finish; no answer in time is a Redis failure of `component`.
async fn within<T>(
    timeout: std::time::Duration,
    component: &'static str,
    work: impl Future<Output = Result<T, auth_ports::PortError>>,
) -> Result<T, auth_ports::PortError> {
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(redis_error(component, "redis did not answer in time")))
}
