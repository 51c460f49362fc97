//! Recording and reading security events.

use auth_domain::{AuditEvent, AuditKind, UserId};

use crate::{Auth, AuthError, ClientInfo};

impl Auth {
    /// Records an event. A failing audit store is logged, not fatal to the request.
    pub(crate) async fn audit(
        &self,
        kind: AuditKind,
        user_id: Option<&UserId>,
        reason: Option<&str>,
        client: &ClientInfo,
    ) {
        let event = AuditEvent {
            id: self.new_id(),
            kind,
            user_id: user_id.cloned(),
            reason: reason.map(str::to_owned),
            ip_address: client.ip_address.clone(),
            user_agent: client.user_agent.clone(),
            created_at: self.now(),
        };
        if let Err(error) = self.deps().audit.record(&event).await {
            tracing::error!(error = %error, kind = kind.as_str(), "audit event not recorded");
        }
    }

    /// The user's security events, newest first.
    ///
    /// # Errors
    /// `Unavailable` when the store is down.
    pub async fn audit_events(
        &self,
        user_id: &UserId,
        limit: u64,
    ) -> Result<Vec<AuditEvent>, AuthError> {
        Ok(self.deps().audit.list_for_user(user_id, limit).await?)
    }

    /// Deletes events older than the retention period; returns how many.
    ///
    /// # Errors
    /// `Unavailable` when the store is down.
    pub async fn purge_audit_events(&self, retention: time::Duration) -> Result<u64, AuthError> {
        Ok(self
            .deps()
            .audit
            .purge_before(self.now() - retention)
            .await?)
    }
}
