//! Better-Auth's core tables: `user`, `session`, `account`, `verification`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum User {
    #[sea_orm(iden = "user")]
    Table,
    Id,
    Name,
    Email,
    #[sea_orm(iden = "emailVerified")]
    EmailVerified,
    Image,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    #[sea_orm(iden = "updatedAt")]
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Session {
    #[sea_orm(iden = "session")]
    Table,
    Id,
    #[sea_orm(iden = "expiresAt")]
    ExpiresAt,
    Token,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    #[sea_orm(iden = "updatedAt")]
    UpdatedAt,
    #[sea_orm(iden = "ipAddress")]
    IpAddress,
    #[sea_orm(iden = "userAgent")]
    UserAgent,
    #[sea_orm(iden = "userId")]
    UserId,
}

#[derive(DeriveIden)]
#[allow(clippy::enum_variant_names, reason = "column names are Better-Auth's")]
enum Account {
    #[sea_orm(iden = "account")]
    Table,
    Id,
    #[sea_orm(iden = "accountId")]
    AccountId,
    #[sea_orm(iden = "providerId")]
    ProviderId,
    #[sea_orm(iden = "userId")]
    UserId,
    #[sea_orm(iden = "accessToken")]
    AccessToken,
    #[sea_orm(iden = "refreshToken")]
    RefreshToken,
    #[sea_orm(iden = "idToken")]
    IdToken,
    #[sea_orm(iden = "accessTokenExpiresAt")]
    AccessTokenExpiresAt,
    #[sea_orm(iden = "refreshTokenExpiresAt")]
    RefreshTokenExpiresAt,
    Scope,
    Password,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    #[sea_orm(iden = "updatedAt")]
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Verification {
    #[sea_orm(iden = "verification")]
    Table,
    Id,
    Identifier,
    Value,
    #[sea_orm(iden = "expiresAt")]
    ExpiresAt,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    #[sea_orm(iden = "updatedAt")]
    UpdatedAt,
}

fn id<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).text().not_null().primary_key().take()
}

fn text<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).text().not_null().take()
}

fn text_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name).text().null().take()
}

fn date<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .take()
}

fn date_null<T: IntoIden>(name: T) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .null()
        .take()
}

fn cascade_to_user(from: (impl IntoIden, impl IntoIden), name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(User::Table, User::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(User::Table)
                    .if_not_exists()
                    .col(id(User::Id))
                    .col(text(User::Name))
                    .col(text(User::Email).unique_key().take())
                    .col(
                        ColumnDef::new(User::EmailVerified)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(text_null(User::Image))
                    .col(date(User::CreatedAt))
                    .col(date(User::UpdatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Session::Table)
                    .if_not_exists()
                    .col(id(Session::Id))
                    .col(date(Session::ExpiresAt))
                    .col(text(Session::Token).unique_key().take())
                    .col(date(Session::CreatedAt))
                    .col(date(Session::UpdatedAt))
                    .col(text_null(Session::IpAddress))
                    .col(text_null(Session::UserAgent))
                    .col(text(Session::UserId))
                    .foreign_key(&mut cascade_to_user(
                        (Session::Table, Session::UserId),
                        "session_userId_fkey",
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Account::Table)
                    .if_not_exists()
                    .col(id(Account::Id))
                    .col(text(Account::AccountId))
                    .col(text(Account::ProviderId))
                    .col(text(Account::UserId))
                    .col(text_null(Account::AccessToken))
                    .col(text_null(Account::RefreshToken))
                    .col(text_null(Account::IdToken))
                    .col(date_null(Account::AccessTokenExpiresAt))
                    .col(date_null(Account::RefreshTokenExpiresAt))
                    .col(text_null(Account::Scope))
                    .col(text_null(Account::Password))
                    .col(date(Account::CreatedAt))
                    .col(date(Account::UpdatedAt))
                    .foreign_key(&mut cascade_to_user(
                        (Account::Table, Account::UserId),
                        "account_userId_fkey",
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Verification::Table)
                    .if_not_exists()
                    .col(id(Verification::Id))
                    .col(text(Verification::Identifier))
                    .col(text(Verification::Value))
                    .col(date(Verification::ExpiresAt))
                    .col(date(Verification::CreatedAt))
                    .col(date(Verification::UpdatedAt))
                    .take(),
            )
            .await?;
        for (name, table, column) in [
            (
                "session_userId_idx",
                Session::Table.into_iden(),
                Session::UserId.into_iden(),
            ),
            (
                "account_userId_idx",
                Account::Table.into_iden(),
                Account::UserId.into_iden(),
            ),
            (
                "verification_identifier_idx",
                Verification::Table.into_iden(),
                Verification::Identifier.into_iden(),
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .name(name)
                        .table(table)
                        .col(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Verification::Table.into_iden(),
            Account::Table.into_iden(),
            Session::Table.into_iden(),
            User::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
