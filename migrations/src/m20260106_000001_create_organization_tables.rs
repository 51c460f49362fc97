//! The organization plugin's tables (Better-Auth 1.7's `organization`, `member`, `invitation`,
//! `team`, `teamMember` and `organizationRole`), with its column names, foreign keys that
//! cascade, and an index on every foreign key. The session's `activeOrganizationId` and
//! `activeTeamId` are plugin fields, added when the plugin declares them.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum User {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Organization {
    Table,
    Id,
    Name,
    Slug,
    Logo,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    Metadata,
}

#[derive(DeriveIden)]
enum Member {
    Table,
    Id,
    #[sea_orm(iden = "organizationId")]
    OrganizationId,
    #[sea_orm(iden = "userId")]
    UserId,
    Role,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
}

#[derive(DeriveIden)]
enum Invitation {
    Table,
    Id,
    #[sea_orm(iden = "organizationId")]
    OrganizationId,
    Email,
    Role,
    #[sea_orm(iden = "teamId")]
    TeamId,
    Status,
    #[sea_orm(iden = "expiresAt")]
    ExpiresAt,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    #[sea_orm(iden = "inviterId")]
    InviterId,
}

#[derive(DeriveIden)]
enum Team {
    Table,
    Id,
    Name,
    #[sea_orm(iden = "memberCount")]
    MemberCount,
    #[sea_orm(iden = "organizationId")]
    OrganizationId,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    #[sea_orm(iden = "updatedAt")]
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TeamMember {
    #[sea_orm(iden = "teamMember")]
    Table,
    Id,
    #[sea_orm(iden = "teamId")]
    TeamId,
    #[sea_orm(iden = "userId")]
    UserId,
    #[sea_orm(iden = "membershipKey")]
    MembershipKey,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
}

#[derive(DeriveIden)]
enum OrganizationRole {
    #[sea_orm(iden = "organizationRole")]
    Table,
    Id,
    #[sea_orm(iden = "organizationId")]
    OrganizationId,
    Role,
    Permission,
    #[sea_orm(iden = "createdAt")]
    CreatedAt,
    #[sea_orm(iden = "updatedAt")]
    UpdatedAt,
}

fn text(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).text().not_null().take()
}

fn optional_text(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column).text().null().take()
}

fn date(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .take()
}

fn optional_date(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .null()
        .take()
}

fn id(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .text()
        .not_null()
        .primary_key()
        .take()
}

fn cascade(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn to_organization(name: &str, table: impl IntoIden) -> ForeignKeyCreateStatement {
    cascade(
        name,
        (table, Alias::new("organizationId")),
        (Organization::Table, Organization::Id),
    )
}

fn to_user(name: &str, table: impl IntoIden, column: impl IntoIden) -> ForeignKeyCreateStatement {
    cascade(name, (table, column), (User::Table, User::Id))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            Table::create()
                .table(Organization::Table)
                .if_not_exists()
                .col(id(Organization::Id))
                .col(text(Organization::Name))
                .col(text(Organization::Slug).unique_key().take())
                .col(optional_text(Organization::Logo))
                .col(date(Organization::CreatedAt))
                .col(optional_text(Organization::Metadata))
                .take(),
            Table::create()
                .table(Member::Table)
                .if_not_exists()
                .col(id(Member::Id))
                .col(text(Member::OrganizationId))
                .col(text(Member::UserId))
                .col(text(Member::Role).default("member").take())
                .col(date(Member::CreatedAt))
                .foreign_key(&mut to_organization(
                    "member_organizationId_fkey",
                    Member::Table,
                ))
                .foreign_key(&mut to_user(
                    "member_userId_fkey",
                    Member::Table,
                    Member::UserId,
                ))
                .take(),
            Table::create()
                .table(Invitation::Table)
                .if_not_exists()
                .col(id(Invitation::Id))
                .col(text(Invitation::OrganizationId))
                .col(text(Invitation::Email))
                .col(optional_text(Invitation::Role))
                .col(optional_text(Invitation::TeamId))
                .col(text(Invitation::Status).default("pending").take())
                .col(date(Invitation::ExpiresAt))
                .col(date(Invitation::CreatedAt))
                .col(text(Invitation::InviterId))
                .foreign_key(&mut to_organization(
                    "invitation_organizationId_fkey",
                    Invitation::Table,
                ))
                .foreign_key(&mut to_user(
                    "invitation_inviterId_fkey",
                    Invitation::Table,
                    Invitation::InviterId,
                ))
                .take(),
            Table::create()
                .table(Team::Table)
                .if_not_exists()
                .col(id(Team::Id))
                .col(text(Team::Name))
                .col(
                    ColumnDef::new(Team::MemberCount)
                        .integer()
                        .not_null()
                        .default(0)
                        .take(),
                )
                .col(text(Team::OrganizationId))
                .col(date(Team::CreatedAt))
                .col(optional_date(Team::UpdatedAt))
                .foreign_key(&mut to_organization(
                    "team_organizationId_fkey",
                    Team::Table,
                ))
                .take(),
            Table::create()
                .table(TeamMember::Table)
                .if_not_exists()
                .col(id(TeamMember::Id))
                .col(text(TeamMember::TeamId))
                .col(text(TeamMember::UserId))
                .col(optional_text(TeamMember::MembershipKey).unique_key().take())
                .col(optional_date(TeamMember::CreatedAt))
                .foreign_key(&mut cascade(
                    "teamMember_teamId_fkey",
                    (TeamMember::Table, TeamMember::TeamId),
                    (Team::Table, Team::Id),
                ))
                .foreign_key(&mut to_user(
                    "teamMember_userId_fkey",
                    TeamMember::Table,
                    TeamMember::UserId,
                ))
                .take(),
            Table::create()
                .table(OrganizationRole::Table)
                .if_not_exists()
                .col(id(OrganizationRole::Id))
                .col(text(OrganizationRole::OrganizationId))
                .col(text(OrganizationRole::Role))
                .col(text(OrganizationRole::Permission))
                .col(date(OrganizationRole::CreatedAt))
                .col(optional_date(OrganizationRole::UpdatedAt))
                .foreign_key(&mut to_organization(
                    "organizationRole_organizationId_fkey",
                    OrganizationRole::Table,
                ))
                .take(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }
        let indexes: [(&str, DynIden, DynIden); 8] = [
            (
                "member_userId_idx",
                Member::Table.into_iden(),
                Member::UserId.into_iden(),
            ),
            (
                "invitation_organizationId_idx",
                Invitation::Table.into_iden(),
                Invitation::OrganizationId.into_iden(),
            ),
            (
                "invitation_email_idx",
                Invitation::Table.into_iden(),
                Invitation::Email.into_iden(),
            ),
            (
                "invitation_inviterId_idx",
                Invitation::Table.into_iden(),
                Invitation::InviterId.into_iden(),
            ),
            (
                "team_organizationId_idx",
                Team::Table.into_iden(),
                Team::OrganizationId.into_iden(),
            ),
            (
                "teamMember_teamId_idx",
                TeamMember::Table.into_iden(),
                TeamMember::TeamId.into_iden(),
            ),
            (
                "teamMember_userId_idx",
                TeamMember::Table.into_iden(),
                TeamMember::UserId.into_iden(),
            ),
            (
                "organizationRole_organizationId_idx",
                OrganizationRole::Table.into_iden(),
                OrganizationRole::OrganizationId.into_iden(),
            ),
        ];
        for (name, table, column) in indexes {
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
        // One membership per user and organization, and one role of a name per organization,
        // whatever requests race (Better-Auth checks both in code only).
        let unique: [(&str, DynIden, [DynIden; 2]); 2] = [
            (
                "member_organizationId_userId_key",
                Member::Table.into_iden(),
                [
                    Member::OrganizationId.into_iden(),
                    Member::UserId.into_iden(),
                ],
            ),
            (
                "organizationRole_organizationId_role_key",
                OrganizationRole::Table.into_iden(),
                [
                    OrganizationRole::OrganizationId.into_iden(),
                    OrganizationRole::Role.into_iden(),
                ],
            ),
        ];
        for (name, table, [first, second]) in unique {
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .unique()
                        .name(name)
                        .table(table)
                        .col(first)
                        .col(second)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables: [DynIden; 6] = [
            TeamMember::Table.into_iden(),
            Team::Table.into_iden(),
            OrganizationRole::Table.into_iden(),
            Invitation::Table.into_iden(),
            Member::Table.into_iden(),
            Organization::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
