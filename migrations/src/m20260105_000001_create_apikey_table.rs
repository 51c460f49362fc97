//! The API-key plugin's `apikey` table (`@better-auth/api-key` 1.7), with Better-Auth's column
//! names and types: numbers are `integer` (milliseconds for the two intervals), as Better-Auth's
//! own migrations make them, so an adopted database and this one are the same shape.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Apikey {
    #[sea_orm(iden = "apikey")]
    Table,
    Id,
    #[sea_orm(iden = "configId")]
    ConfigId,
    Name,
    Start,
    #[sea_orm(iden = "referenceId")]
    ReferenceId,
    Prefix,
    Key,
    #[sea_orm(iden = "refillInterval")]
    RefillInterval,
    #[sea_orm(iden = "refillAmount")]
    RefillAmount,
    #[sea_orm(iden = "lastRefillAt")]
    LastRefillAt,
    Enabled,
    #[sea_orm(iden = "rateLimitEnabled")]
    RateLimitEnabled,
    #[sea_orm(iden = "rateLimitTimeWindow")]
    RateLimitTimeWindow,
    #[sea_orm(iden = "rateLimitMax")]
    RateLimitMax,
    #[sea_orm(iden = "requestCount")]
    RequestCount,
    Remaining,
    #[sea_orm(iden = "lastRequest")]
    LastRequest,
    #[sea_orm(iden = "expiresAt")]
    ExpiresAt,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    #[sea_orm(iden = "updatedAt")]
    UpdatedAt,
    Permissions,
    Metadata,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let date = |column: Apikey| {
            ColumnDef::new(column)
                .timestamp_with_time_zone()
                .null()
                .take()
        };
        manager
            .create_table(
                Table::create()
                    .table(Apikey::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Apikey::Id).text().not_null().primary_key())
                    .col(
                        ColumnDef::new(Apikey::ConfigId)
                            .text()
                            .not_null()
                            .default("default"),
                    )
                    .col(ColumnDef::new(Apikey::Name).text().null())
                    .col(ColumnDef::new(Apikey::Start).text().null())
                    .col(ColumnDef::new(Apikey::ReferenceId).text().not_null())
                    .col(ColumnDef::new(Apikey::Prefix).text().null())
                    .col(ColumnDef::new(Apikey::Key).text().not_null())
                    .col(ColumnDef::new(Apikey::RefillInterval).integer().null())
                    .col(ColumnDef::new(Apikey::RefillAmount).integer().null())
                    .col(date(Apikey::LastRefillAt))
                    .col(
                        ColumnDef::new(Apikey::Enabled)
                            .boolean()
                            .null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(Apikey::RateLimitEnabled)
                            .boolean()
                            .null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(Apikey::RateLimitTimeWindow)
                            .integer()
                            .null()
                            .default(86_400_000),
                    )
                    .col(
                        ColumnDef::new(Apikey::RateLimitMax)
                            .integer()
                            .null()
                            .default(10),
                    )
                    .col(
                        ColumnDef::new(Apikey::RequestCount)
                            .integer()
                            .null()
                            .default(0),
                    )
                    .col(ColumnDef::new(Apikey::Remaining).integer().null())
                    .col(date(Apikey::LastRequest))
                    .col(date(Apikey::ExpiresAt))
                    .col(
                        ColumnDef::new(Apikey::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Apikey::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Apikey::Permissions).text().null())
                    .col(ColumnDef::new(Apikey::Metadata).text().null())
                    .take(),
            )
            .await?;
        for (name, column) in [
            ("apikey_key_idx", Apikey::Key),
            ("apikey_configId_idx", Apikey::ConfigId),
            ("apikey_referenceId_idx", Apikey::ReferenceId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .name(name)
                        .table(Apikey::Table)
                        .col(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Apikey::Table).if_exists().take())
            .await
    }
}
