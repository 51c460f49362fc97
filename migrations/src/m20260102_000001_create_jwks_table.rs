//! The JWT plugin's `jwks` table, with Better-Auth's column names.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Jwks {
    #[sea_orm(iden = "jwks")]
    Table,
    Id,
    #[sea_orm(iden = "publicKey")]
    PublicKey,
    #[sea_orm(iden = "privateKey")]
    PrivateKey,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    #[sea_orm(iden = "expiresAt")]
    ExpiresAt,
    Alg,
    Crv,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jwks::Table)
                    .if_not_exists()
                    .col(ColumnDef::new(Jwks::Id).text().not_null().primary_key())
                    .col(ColumnDef::new(Jwks::PublicKey).text().not_null())
                    .col(ColumnDef::new(Jwks::PrivateKey).text().not_null())
                    .col(
                        ColumnDef::new(Jwks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Jwks::ExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Jwks::Alg).text().null())
                    .col(ColumnDef::new(Jwks::Crv).text().null())
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Jwks::Table).if_exists().take())
            .await
    }
}
