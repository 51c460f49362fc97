//! Our own table (not Better-Auth's): `auditEvent`, security events with a retention period.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum AuditEvent {
    #[sea_orm(iden = "auditEvent")]
    Table,
    Id,
    Kind,
    #[sea_orm(iden = "userId")]
    UserId,
    Reason,
    #[sea_orm(iden = "ipAddress")]
    IpAddress,
    #[sea_orm(iden = "userAgent")]
    UserAgent,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvent::Table)
                    .if_not_exists()
                    .col(
                        ColumnDef::new(AuditEvent::Id)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AuditEvent::Kind).text().not_null())
                    .col(ColumnDef::new(AuditEvent::UserId).text().null())
                    .col(ColumnDef::new(AuditEvent::Reason).text().null())
                    .col(ColumnDef::new(AuditEvent::IpAddress).text().not_null())
                    .col(ColumnDef::new(AuditEvent::UserAgent).text().not_null())
                    .col(
                        ColumnDef::new(AuditEvent::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("auditEvent_userId_idx")
                    .table(AuditEvent::Table)
                    .col(AuditEvent::UserId)
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditEvent::Table).if_exists().take())
            .await
    }
}
