//! Domain events across instances.

use std::sync::Arc;

use auth_domain::AuthEvent;

use crate::PortError;

/// What a bus hands each event from another instance to.
pub type EventHandler =
    Arc<dyn Fn(AuthEvent) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Domain events shared by the instances of one deployment (Redis pub/sub). Delivery is best
/// effort: an instance that is disconnected misses what was said meanwhile, so nothing that
/// must hold (a revoked session not being served) may rest on it alone.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait::async_trait]
pub trait EventBus: Send + Sync {
    /// Tells the other instances. Session tokens are never sent.
    ///
    /// # Errors
    /// `Unavailable` when the bus cannot be reached in time.
    async fn publish(&self, event: &AuthEvent) -> Result<(), PortError>;

    /// Hands every event from another instance to `handler`, from now on (reconnecting when the
    /// bus goes away). Called once, at startup.
    fn listen(&self, handler: EventHandler);
}

/// One instance: nothing to tell, nothing to hear.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalEvents;

#[async_trait::async_trait]
impl EventBus for LocalEvents {
    async fn publish(&self, _: &AuthEvent) -> Result<(), PortError> {
        Ok(())
    }

    fn listen(&self, _: EventHandler) {}
}
