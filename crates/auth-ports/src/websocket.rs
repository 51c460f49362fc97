//! The WebSocket plugin's port: connection slots per user, shared by the instances.

use std::time::Duration;

use crate::PortError;

/// What [`ConnectionSlots::acquire`] answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotGrant {
    /// The slot is held; `evicted` is the oldest slot, taken away to make room (when asked).
    Taken {
        /// The slot taken away; its holder finds out at its next [`ConnectionSlots::refresh`].
        evicted: Option<String>,
    },
    /// The user holds `max` slots already.
    Full,
}

/// Open connections per user, counted across instances: each connection holds a slot until
/// it releases it, or until it stops refreshing it for `ttl` (a crashed instance's slots
/// lapse).
#[async_trait::async_trait]
pub trait ConnectionSlots: Send + Sync {
    /// Takes `slot` for `user` when the user holds fewer than `max` live slots; at the limit,
    /// with `evict_oldest`, takes the place of the user's oldest slot instead. Atomic across
    /// instances.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached in time.
    async fn acquire(
        &self,
        user: &str,
        slot: &str,
        max: usize,
        evict_oldest: bool,
        ttl: Duration,
    ) -> Result<SlotGrant, PortError>;

    /// Keeps `slot` alive for another `ttl`. A slot no longer held (it lapsed while the store
    /// was unreachable, or was never taken because it was) is taken again when the user holds
    /// fewer than `max`. `false` when it is not held and cannot be: another took its place.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached in time.
    async fn refresh(
        &self,
        user: &str,
        slot: &str,
        max: usize,
        ttl: Duration,
    ) -> Result<bool, PortError>;

    /// Gives `slot` back.
    ///
    /// # Errors
    /// `Unavailable` when the store cannot be reached in time.
    async fn release(&self, user: &str, slot: &str) -> Result<(), PortError>;
}
