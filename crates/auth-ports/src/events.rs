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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_instance_tells_nothing_and_hears_nothing() {
        let bus = LocalEvents;
        let event = AuthEvent::PasswordChanged {
            user_id: auth_domain::UserId::new("u"),
        };
        let told = ready_now(bus.publish(&event));
        assert!(told.is_ok());
        let heard = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = heard.clone();
        bus.listen(Arc::new(move |_| {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            Box::pin(std::future::ready(()))
        }));
        assert!(!heard.load(std::sync::atomic::Ordering::SeqCst));
    }

    /// Polls a future that is ready at once.
    fn ready_now<F: Future>(future: F) -> F::Output {
        let waker = std::task::Waker::noop();
        let mut context = std::task::Context::from_waker(waker);
        let mut future = std::pin::pin!(future);
        match future.as_mut().poll(&mut context) {
            std::task::Poll::Ready(output) => output,
            std::task::Poll::Pending => panic!("LocalEvents answers at once"),
        }
    }
}
