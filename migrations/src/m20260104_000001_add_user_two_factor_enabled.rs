//! `user.twoFactorEnabled`, the column Better-Auth's two-factor plugin adds (boolean, nullable,
//! default false). It exists whatever plugins are on, so the sign-in rule "a user with a second
//! factor never signs in with the password alone" can always read it. An adopted database that
//! already has the column keeps it as it is.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum User {
    #[sea_orm(iden = "user")]
    Table,
    #[sea_orm(iden = "twoFactorEnabled")]
    TwoFactorEnabled,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.has_column("user", "twoFactorEnabled").await? {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table(User::Table)
                    .add_column(
                        ColumnDef::new(User::TwoFactorEnabled)
                            .boolean()
                            .null()
                            .default(false),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(User::Table)
                    .drop_column(User::TwoFactorEnabled)
                    .take(),
            )
            .await
    }
}
