//! `AuditLog` on the `auditEvent` table.

use auth_domain::{AuditEvent, AuditKind, UserId};
use auth_ports::{AuditLog, PortError};
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use crate::SeaOrmStore;
use crate::entity::audit_event;
use crate::error::port_error;

fn to_row(event: &AuditEvent) -> audit_event::ActiveModel {
    audit_event::ActiveModel {
        id: Set(event.id.clone()),
        kind: Set(event.kind.as_str().to_owned()),
        user_id: Set(event.user_id.as_ref().map(ToString::to_string)),
        reason: Set(event.reason.clone()),
        ip_address: Set(event.ip_address.clone()),
        user_agent: Set(event.user_agent.clone()),
        created_at: Set(event.created_at),
    }
}

fn from_row(row: audit_event::Model) -> Option<AuditEvent> {
    Some(AuditEvent {
        kind: AuditKind::parse(&row.kind)?,
        id: row.id,
        user_id: row.user_id.map(UserId::new),
        reason: row.reason,
        ip_address: row.ip_address,
        user_agent: row.user_agent,
        created_at: row.created_at,
    })
}

#[async_trait::async_trait]
impl AuditLog for SeaOrmStore {
    async fn record(&self, event: &AuditEvent) -> Result<(), PortError> {
        audit_event::Entity::insert(to_row(event))
            .exec_without_returning(self.db())
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn list_for_user(
        &self,
        user_id: &UserId,
        limit: u64,
    ) -> Result<Vec<AuditEvent>, PortError> {
        // Ordered here: SQLite keeps dates as text (see `list_active`).
        let rows = audit_event::Entity::find()
            .filter(audit_event::Column::UserId.eq(user_id.as_str()))
            .all(self.db())
            .await
            .map_err(port_error)?;
        let mut events: Vec<AuditEvent> = rows.into_iter().filter_map(from_row).collect();
        events.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(events)
    }

    /// In batches chosen by the database (SQLite's RFC 3339 text dates order as the times do,
    /// to the second). It used to read the whole table into memory at every hourly pass.
    async fn purge_before(&self, before: OffsetDateTime) -> Result<u64, PortError> {
        crate::store::purge::<audit_event::Entity>(
            self.db(),
            audit_event::Column::Id,
            audit_event::Column::CreatedAt.lt(before),
        )
        .await
    }
}
