//! The audit log.

use auth_domain::{AuditEvent, UserId};
use time::OffsetDateTime;

use crate::PortError;

/// Security events, kept for a retention period.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait::async_trait]
pub trait AuditLog: Send + Sync {
    /// Records one event.
    ///
    /// # Errors
    /// `PortError::Unavailable` when the store is down.
    async fn record(&self, event: &AuditEvent) -> Result<(), PortError>;

    /// The user's events, newest first, at most `limit`.
    async fn list_for_user(
        &self,
        user_id: &UserId,
        limit: u64,
    ) -> Result<Vec<AuditEvent>, PortError>;

    /// Deletes events older than `before`; returns how many.
    async fn purge_before(&self, before: OffsetDateTime) -> Result<u64, PortError>;
}
