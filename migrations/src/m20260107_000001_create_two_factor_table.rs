//! The two-factor plugin's `twoFactor` table (Better-Auth 1.7's columns: `secret` and
//! `backupCodes` sealed with the server secret, `verified`, `failedVerificationCount`,
//! `lockedUntil`), plus `lastUsedStep`, ours: the last TOTP time step accepted, so a code is
//! accepted once. An adopted table (an older Better-Auth's may lack the later columns) gets
//! the columns it misses; Better-Auth ignores ours.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum User {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum TwoFactor {
    #[sea_orm(iden = "twoFactor")]
    Table,
    Id,
    Secret,
    #[sea_orm(iden = "backupCodes")]
    BackupCodes,
    #[sea_orm(iden = "userId")]
    UserId,
    Verified,
    #[sea_orm(iden = "failedVerificationCount")]
    FailedVerificationCount,
    #[sea_orm(iden = "lockedUntil")]
    LockedUntil,
    #[sea_orm(iden = "lastUsedStep")]
    LastUsedStep,
}

/// The columns added after the table's first version, each with its definition.
fn later_columns() -> [(&'static str, ColumnDef); 4] {
    [
        (
            "verified",
            ColumnDef::new(TwoFactor::Verified)
                .boolean()
                .null()
                .default(true)
                .take(),
        ),
        (
            "failedVerificationCount",
            ColumnDef::new(TwoFactor::FailedVerificationCount)
                .integer()
                .null()
                .default(0)
                .take(),
        ),
        (
            "lockedUntil",
            ColumnDef::new(TwoFactor::LockedUntil)
                .timestamp_with_time_zone()
                .null()
                .take(),
        ),
        (
            "lastUsedStep",
            ColumnDef::new(TwoFactor::LastUsedStep)
                .big_integer()
                .null()
                .take(),
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create()
            .table(TwoFactor::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(TwoFactor::Id)
                    .text()
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(TwoFactor::Secret).text().not_null())
            .col(ColumnDef::new(TwoFactor::BackupCodes).text().not_null())
            .col(ColumnDef::new(TwoFactor::UserId).text().not_null())
            .foreign_key(
                ForeignKey::create()
                    .name("twoFactor_userId_fkey")
                    .from(TwoFactor::Table, TwoFactor::UserId)
                    .to(User::Table, User::Id)
                    .on_delete(ForeignKeyAction::Cascade),
            )
            .take();
        let adopted = manager.has_table("twoFactor").await?;
        if !adopted {
            for (_, mut column) in later_columns() {
                table.col(&mut column);
            }
        }
        manager.create_table(table).await?;
        if adopted {
            for (name, mut column) in later_columns() {
                if !manager.has_column("twoFactor", name).await? {
                    manager
                        .alter_table(
                            Table::alter()
                                .table(TwoFactor::Table)
                                .add_column(&mut column)
                                .take(),
                        )
                        .await?;
                }
            }
        }
        for (name, column) in [
            ("twoFactor_userId_idx", TwoFactor::UserId),
            ("twoFactor_secret_idx", TwoFactor::Secret),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(TwoFactor::Table)
                        .col(column)
                        .if_not_exists()
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TwoFactor::Table).take())
            .await
    }
}
