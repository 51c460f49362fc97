//! Recording and reading security events.

use auth_domain::{AuditEvent, AuditKind, AuthEvent, SessionEnd, UserId};

use crate::{Auth, AuthError, ClientInfo};

impl Auth {
    /// Records an event, and logs it as one line (target `auth::audit`, its kind in `event`)
    /// for log pipelines. A failing audit store is logged, not fatal to the request.
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
        crate::metrics::audited(kind, reason);
        tracing::info!(
            target: "auth::audit",
            event = kind.as_str(),
            user_id = user_id.map(UserId::as_str),
            reason,
            ip_address = %client.ip_address,
            "security event"
        );
        if let Err(error) = self.deps().audit.record(&event).await {
            tracing::error!(error = %error, kind = kind.as_str(), "audit event not recorded");
        }
    }

    /// The audit log as a subscriber of the domain events: what ended sessions and changed
    /// passwords (sign-ups, sign-ins and refusals are recorded where they happen, as they are
    /// not events of their own).
    pub(crate) async fn audit_event(&self, event: &AuthEvent, client: &ClientInfo) {
        let (kind, user_id, reason) = match event {
            AuthEvent::SessionEnded {
                user_id, reason, ..
            } => match reason {
                SessionEnd::SignOut => (AuditKind::SignOut, user_id, None),
                SessionEnd::Revoked => (AuditKind::SessionRevoked, user_id, Some("one")),
                _ => return,
            },
            AuthEvent::UserSessionsEnded {
                user_id, reason, ..
            } => match reason {
                SessionEnd::RevokedAll => (AuditKind::SessionRevoked, user_id, Some("all")),
                SessionEnd::RevokedOthers => (AuditKind::SessionRevoked, user_id, Some("others")),
                _ => return,
            },
            AuthEvent::PasswordChanged { user_id } => (AuditKind::PasswordChanged, user_id, None),
            AuthEvent::UserDeleted { user_id } => (AuditKind::UserDeleted, user_id, None),
            _ => return,
        };
        self.audit(kind, Some(user_id), reason, client).await;
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
