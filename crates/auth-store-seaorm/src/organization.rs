//! `OrganizationRepo`, `InvitationRepo` and `RoleRepo` on the `organization`, `member`,
//! `invitation` and `organizationRole` tables.

mod team;

use auth_domain::organization::{
    Invitation, InvitationStatus, Member, Organization, RoleList, StoredRole,
};
use auth_domain::{User, UserId};
use auth_ports::{
    Accepted, InvitationRepo, Invited, MemberAdded, MemberChange, MemberQuery, MemberSort,
    OrganizationRepo, PortError, RoleDeleted, RoleRepo,
};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use time::OffsetDateTime;

use crate::api_key::{permissions_from_text, permissions_to_text};
use crate::entity::{invitation, member, organization, organization_role, team_member, user};
use crate::error::{one_row, port_error};
use crate::mapping;
use crate::query::first;
use crate::store::SeaOrmStore;

/// Takes the organization row's lock (Postgres) or the database's write lock (SQLite) in
/// `txn` by writing it first, so that concurrent changes to its members or invitations queue
/// and each counts what the ones before it wrote. `false` when there is no such organization.
async fn lock_organization(txn: &DatabaseTransaction, id: &str) -> Result<bool, PortError> {
    let locked = organization::Entity::update_many()
        .col_expr(
            organization::Column::Id,
            Expr::col(organization::Column::Id),
        )
        .filter(organization::Column::Id.eq(id))
        .exec(txn)
        .await
        .map_err(port_error)?;
    Ok(locked.rows_affected > 0)
}

/// Commits `txn` after the delete of one row by its key, or rolls it back with `NotFound` when
/// no row had that key.
async fn commit_deleted(
    txn: DatabaseTransaction,
    deleted: Result<sea_orm::DeleteResult, sea_orm::DbErr>,
) -> Result<(), PortError> {
    if deleted.map_err(port_error)?.rows_affected == 0 {
        txn.rollback().await.map_err(port_error)?;
        return Err(PortError::NotFound);
    }
    txn.commit().await.map_err(port_error)
}

/// Inserts a member of a locked organization unless it is full: `Conflict` for a user who is a
/// member already.
async fn insert_member(
    txn: &DatabaseTransaction,
    member: &Member,
    limit: u64,
) -> Result<MemberAdded, PortError> {
    let of_organization = member::Column::OrganizationId.eq(member.organization_id.as_str());
    let already = member::Entity::find()
        .filter(of_organization.clone())
        .filter(member::Column::UserId.eq(member.user_id.as_str()))
        .count(txn)
        .await
        .map_err(port_error)?;
    if already > 0 {
        return Err(PortError::Conflict);
    }
    let members = member::Entity::find()
        .filter(of_organization)
        .count(txn)
        .await
        .map_err(port_error)?;
    if members >= limit {
        return Ok(MemberAdded::LimitReached);
    }
    member::Entity::insert(mapping::member_to_row(member))
        .exec_without_returning(txn)
        .await
        .map_err(port_error)?;
    Ok(MemberAdded::Added)
}

#[async_trait::async_trait]
impl OrganizationRepo for SeaOrmStore {
    async fn create(&self, organization: &Organization, creator: &Member) -> Result<(), PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        organization::Entity::insert(mapping::organization_to_row(organization))
            .exec_without_returning(&txn)
            .await
            .map_err(port_error)?;
        member::Entity::insert(mapping::member_to_row(creator))
            .exec_without_returning(&txn)
            .await
            .map_err(port_error)?;
        txn.commit().await.map_err(port_error)
    }

    async fn find(&self, id: &str) -> Result<Option<Organization>, PortError> {
        let query = organization::Entity::find_by_id(id);
        Ok(first(&self.db, query)
            .await?
            .map(mapping::organization_from_row))
    }

    async fn find_by_slug(&self, slug: &str) -> Result<Option<Organization>, PortError> {
        let query = organization::Entity::find().filter(organization::Column::Slug.eq(slug));
        Ok(first(&self.db, query)
            .await?
            .map(mapping::organization_from_row))
    }

    async fn update(&self, organization: &Organization) -> Result<(), PortError> {
        let mut row = mapping::organization_to_row(organization);
        // The creation time is never rewritten.
        row.created_at = sea_orm::ActiveValue::NotSet;
        one_row(
            organization::Entity::update_many()
                .set(row)
                .filter(organization::Column::Id.eq(organization.id.as_str()))
                .exec(&self.db)
                .await,
        )
    }

    async fn delete(&self, id: &str) -> Result<Vec<UserId>, PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        // Written first: SQLite's write lock (a read first could not be upgraded under a
        // concurrent writer), and on Postgres no member can join while the list is read.
        if !lock_organization(&txn, id).await? {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::NotFound);
        }
        let users: Vec<String> = member::Entity::find()
            .select_only()
            .column(member::Column::UserId)
            .filter(member::Column::OrganizationId.eq(id))
            .into_tuple()
            .all(&txn)
            .await
            .map_err(port_error)?;
        // Members, invitations, teams (with their seats) and roles go with it (the foreign keys
        // cascade); they are deleted here too, so a database whose keys do not cascade ends the
        // same. The seats first: they name their team, not the organization.
        team_member::Entity::delete_many()
            .filter(
                team_member::Column::TeamId.in_subquery(
                    Query::select()
                        .column(crate::entity::team::Column::Id)
                        .from(crate::entity::team::Entity)
                        .and_where(crate::entity::team::Column::OrganizationId.eq(id))
                        .to_owned(),
                ),
            )
            .exec(&txn)
            .await
            .map_err(port_error)?;
        for table in ["invitation", "organizationRole", "team", "member"] {
            let statement = Query::delete()
                .from_table(Alias::new(table))
                .and_where(Expr::col(Alias::new("organizationId")).eq(id))
                .to_owned();
            txn.execute_raw(txn.get_database_backend().build(&statement))
                .await
                .map_err(port_error)?;
        }
        let deleted = organization::Entity::delete_by_id(id).exec(&txn).await;
        commit_deleted(txn, deleted).await?;
        Ok(users.into_iter().map(UserId::new).collect())
    }

    async fn list_for_user(&self, user_id: &UserId) -> Result<Vec<Organization>, PortError> {
        let rows = organization::Entity::find()
            .inner_join(member::Entity)
            .filter(member::Column::UserId.eq(user_id.as_str()))
            .order_by_asc(organization::Column::CreatedAt)
            .order_by_asc(organization::Column::Id)
            .all(&self.db)
            .await
            .map_err(port_error)?;
        Ok(rows
            .into_iter()
            .map(mapping::organization_from_row)
            .collect())
    }

    async fn count_for_user(&self, user_id: &UserId) -> Result<u64, PortError> {
        member::Entity::find()
            .filter(member::Column::UserId.eq(user_id.as_str()))
            .count(&self.db)
            .await
            .map_err(port_error)
    }

    async fn find_member(
        &self,
        organization_id: &str,
        user_id: &UserId,
    ) -> Result<Option<Member>, PortError> {
        let query = member::Entity::find()
            .filter(member::Column::OrganizationId.eq(organization_id))
            .filter(member::Column::UserId.eq(user_id.as_str()));
        Ok(first(&self.db, query).await?.map(mapping::member_from_row))
    }

    async fn find_member_by_id(&self, id: &str) -> Result<Option<Member>, PortError> {
        let query = member::Entity::find_by_id(id);
        Ok(first(&self.db, query).await?.map(mapping::member_from_row))
    }

    async fn list_members(
        &self,
        organization_id: &str,
        query: &MemberQuery,
    ) -> Result<(Vec<(Member, User)>, u64), PortError> {
        let mut select =
            member::Entity::find().filter(member::Column::OrganizationId.eq(organization_id));
        if let Some(role) = &query.role {
            select = select.filter(member::Column::Role.eq(role.as_str()));
        }
        let total = select.clone().count(&self.db).await.map_err(port_error)?;
        let column = match query.sort {
            MemberSort::CreatedAt => member::Column::CreatedAt,
            MemberSort::Role => member::Column::Role,
            MemberSort::UserId => member::Column::UserId,
        };
        let order = if query.descending {
            Order::Desc
        } else {
            Order::Asc
        };
        let rows = select
            .order_by(column, order.clone())
            .order_by(member::Column::Id, order)
            .limit(query.limit)
            // sea-query binds an offset as a signed 64-bit integer.
            .offset(Ord::min(query.offset, i64::MAX.unsigned_abs()))
            .find_also_related(user::Entity)
            .all(&self.db)
            .await
            .map_err(port_error)?;
        let members = rows
            .into_iter()
            .filter_map(|(member, user)| {
                let user = mapping::user_from_row(user?);
                Some((mapping::member_from_row(member), user))
            })
            .collect();
        Ok((members, total))
    }

    async fn count_with_role(&self, organization_id: &str, role: &str) -> Result<u64, PortError> {
        let roles: Vec<String> = member::Entity::find()
            .select_only()
            .column(member::Column::Role)
            .filter(member::Column::OrganizationId.eq(organization_id))
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(port_error)?;
        let holders = roles
            .iter()
            .filter(|stored| RoleList::parse(stored).contains(role))
            .count();
        Ok(u64::try_from(holders).unwrap_or(u64::MAX))
    }

    async fn add_member(&self, member: &Member, limit: u64) -> Result<MemberAdded, PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        if !lock_organization(&txn, &member.organization_id).await? {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::NotFound);
        }
        let added = insert_member(&txn, member, limit).await;
        if matches!(added, Ok(MemberAdded::Added)) {
            txn.commit().await.map_err(port_error)?;
        } else {
            txn.rollback().await.map_err(port_error)?;
        }
        added
    }

    async fn change_member_role(
        &self,
        id: &str,
        from: &RoleList,
        to: &RoleList,
        keep: &str,
    ) -> Result<MemberChange, PortError> {
        let Some((txn, member)) = self.locked_member(id).await? else {
            return Err(PortError::NotFound);
        };
        if member.role != *from {
            txn.rollback().await.map_err(port_error)?;
            return Ok(MemberChange::Changed);
        }
        if member.role.contains(keep)
            && !to.contains(keep)
            && holders(&txn, &member.organization_id, keep).await? <= 1
        {
            txn.rollback().await.map_err(port_error)?;
            return Ok(MemberChange::LastHolder);
        }
        member::Entity::update_many()
            .col_expr(member::Column::Role, Expr::value(to.joined()))
            .filter(member::Column::Id.eq(id))
            .exec(&txn)
            .await
            .map_err(port_error)?;
        txn.commit().await.map_err(port_error)?;
        Ok(MemberChange::Done)
    }

    async fn remove_member(&self, id: &str, keep: &str) -> Result<MemberChange, PortError> {
        let Some((txn, member)) = self.locked_member(id).await? else {
            return Err(PortError::NotFound);
        };
        if member.role.contains(keep) && holders(&txn, &member.organization_id, keep).await? <= 1 {
            txn.rollback().await.map_err(port_error)?;
            return Ok(MemberChange::LastHolder);
        }
        let teams = Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("team"))
            .and_where(Expr::col(Alias::new("organizationId")).eq(member.organization_id.as_str()))
            .to_owned();
        let seats = Query::delete()
            .from_table(Alias::new("teamMember"))
            .and_where(Expr::col(Alias::new("userId")).eq(member.user_id.as_str()))
            .and_where(Expr::col(Alias::new("teamId")).in_subquery(teams))
            .to_owned();
        txn.execute_raw(txn.get_database_backend().build(&seats))
            .await
            .map_err(port_error)?;
        team::count_seats(
            &txn,
            Expr::col(Alias::new("organizationId")).eq(member.organization_id.as_str()),
        )
        .await?;
        member::Entity::delete_by_id(id)
            .exec(&txn)
            .await
            .map_err(port_error)?;
        txn.commit().await.map_err(port_error)?;
        Ok(MemberChange::Done)
    }
}

/// How many members of the organization hold `role`, in `txn`.
async fn holders(
    txn: &DatabaseTransaction,
    organization_id: &str,
    role: &str,
) -> Result<usize, PortError> {
    let roles: Vec<String> = member::Entity::find()
        .select_only()
        .column(member::Column::Role)
        .filter(member::Column::OrganizationId.eq(organization_id))
        .into_tuple()
        .all(txn)
        .await
        .map_err(port_error)?;
    Ok(roles
        .iter()
        .filter(|stored| RoleList::parse(stored).contains(role))
        .count())
}

impl SeaOrmStore {
    /// A transaction holding the lock of the organization of member `id`, with the member as
    /// read under it; `None` when there is no such member.
    async fn locked_member(
        &self,
        id: &str,
    ) -> Result<Option<(DatabaseTransaction, Member)>, PortError> {
        let Some(found) =
            first::<_, member::Model>(&self.db, member::Entity::find_by_id(id)).await?
        else {
            return Ok(None);
        };
        let txn = self.db.begin().await.map_err(port_error)?;
        if !lock_organization(&txn, &found.organization_id).await? {
            txn.rollback().await.map_err(port_error)?;
            return Ok(None);
        }
        match first::<_, member::Model>(&txn, member::Entity::find_by_id(id)).await? {
            Some(member) => Ok(Some((txn, mapping::member_from_row(member)))),
            None => {
                txn.rollback().await.map_err(port_error)?;
                Ok(None)
            }
        }
    }
}

fn pending() -> sea_orm::sea_query::SimpleExpr {
    invitation::Column::Status.eq(InvitationStatus::Pending.as_str())
}

#[async_trait::async_trait]
impl InvitationRepo for SeaOrmStore {
    async fn create_invitation(
        &self,
        invitation: &Invitation,
        pending_limit: u64,
    ) -> Result<Invited, PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        if !lock_organization(&txn, &invitation.organization_id).await? {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::NotFound);
        }
        let of_organization =
            invitation::Column::OrganizationId.eq(invitation.organization_id.as_str());
        let same_email = invitation::Entity::find()
            .filter(of_organization.clone())
            .filter(invitation::Column::Email.eq(invitation.email.as_str()))
            .filter(pending())
            .count(&txn)
            .await
            .map_err(port_error)?;
        if same_email > 0 {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::Conflict);
        }
        let open = invitation::Entity::find()
            .filter(of_organization)
            .filter(pending())
            .count(&txn)
            .await
            .map_err(port_error)?;
        if open >= pending_limit {
            txn.rollback().await.map_err(port_error)?;
            return Ok(Invited::LimitReached);
        }
        invitation::Entity::insert(mapping::invitation_to_row(invitation))
            .exec_without_returning(&txn)
            .await
            .map_err(port_error)?;
        txn.commit().await.map_err(port_error)?;
        Ok(Invited::Created)
    }

    async fn find_invitation(&self, id: &str) -> Result<Option<Invitation>, PortError> {
        let query = invitation::Entity::find_by_id(id);
        Ok(first(&self.db, query)
            .await?
            .map(mapping::invitation_from_row))
    }

    async fn pending_invitation(
        &self,
        organization_id: &str,
        email: &str,
    ) -> Result<Option<Invitation>, PortError> {
        let query = invitation::Entity::find()
            .filter(invitation::Column::OrganizationId.eq(organization_id))
            .filter(invitation::Column::Email.eq(email))
            .filter(pending());
        Ok(first(&self.db, query)
            .await?
            .map(mapping::invitation_from_row))
    }

    async fn list_invitations(&self, organization_id: &str) -> Result<Vec<Invitation>, PortError> {
        let rows = invitation::Entity::find()
            .filter(invitation::Column::OrganizationId.eq(organization_id))
            .order_by_asc(invitation::Column::CreatedAt)
            .order_by_asc(invitation::Column::Id)
            .all(&self.db)
            .await
            .map_err(port_error)?;
        Ok(rows.into_iter().map(mapping::invitation_from_row).collect())
    }

    async fn list_user_invitations(
        &self,
        email: &str,
    ) -> Result<Vec<(Invitation, Organization)>, PortError> {
        let rows = invitation::Entity::find()
            .filter(invitation::Column::Email.eq(email))
            .filter(pending())
            .order_by_asc(invitation::Column::CreatedAt)
            .order_by_asc(invitation::Column::Id)
            .find_also_related(organization::Entity)
            .all(&self.db)
            .await
            .map_err(port_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(invitation, organization)| {
                Some((
                    mapping::invitation_from_row(invitation),
                    mapping::organization_from_row(organization?),
                ))
            })
            .collect())
    }

    async fn extend_invitation(
        &self,
        id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), PortError> {
        one_row(
            invitation::Entity::update_many()
                .col_expr(invitation::Column::ExpiresAt, Expr::value(expires_at))
                .filter(invitation::Column::Id.eq(id))
                .exec(&self.db)
                .await,
        )
    }

    async fn close_invitation(
        &self,
        id: &str,
        status: InvitationStatus,
    ) -> Result<bool, PortError> {
        let closed = invitation::Entity::update_many()
            .col_expr(invitation::Column::Status, Expr::value(status.as_str()))
            .filter(invitation::Column::Id.eq(id))
            .filter(pending())
            .exec(&self.db)
            .await
            .map_err(port_error)?;
        Ok(closed.rows_affected > 0)
    }

    async fn accept_invitation(
        &self,
        id: &str,
        member: &Member,
        membership_limit: u64,
        now: OffsetDateTime,
    ) -> Result<Accepted, PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        // The compare-and-set takes the invitation row's lock (or SQLite's write lock): of
        // concurrent accepts, the later ones wait here and then find it accepted.
        let taken = invitation::Entity::update_many()
            .col_expr(
                invitation::Column::Status,
                Expr::value(InvitationStatus::Accepted.as_str()),
            )
            .filter(invitation::Column::Id.eq(id))
            .filter(pending())
            .exec(&txn)
            .await
            .map_err(port_error)?;
        // Expiry is compared here, not in SQL: an adopted database writes dates in its own
        // text format.
        let row = first::<_, invitation::Model>(&txn, invitation::Entity::find_by_id(id)).await?;
        let open = row.is_some_and(|row| row.expires_at > now);
        if taken.rows_affected == 0 || !open {
            txn.rollback().await.map_err(port_error)?;
            return Ok(Accepted::NotPending);
        }
        if !lock_organization(&txn, &member.organization_id).await? {
            txn.rollback().await.map_err(port_error)?;
            return Ok(Accepted::NotPending);
        }
        let accepted = match insert_member(&txn, member, membership_limit).await {
            Ok(MemberAdded::Added) => Accepted::Accepted,
            Ok(MemberAdded::LimitReached) => {
                txn.rollback().await.map_err(port_error)?;
                return Ok(Accepted::LimitReached);
            }
            Err(PortError::Conflict) => Accepted::AlreadyMember,
            Err(error) => return Err(error),
        };
        txn.commit().await.map_err(port_error)?;
        Ok(accepted)
    }
}

fn role_from_row(row: organization_role::Model) -> StoredRole {
    StoredRole {
        id: row.id,
        organization_id: row.organization_id,
        role: row.role,
        // Text that is not a permissions object grants nothing.
        permission: permissions_from_text(&row.permission).unwrap_or_default(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

#[async_trait::async_trait]
impl RoleRepo for SeaOrmStore {
    async fn create_role(&self, role: &StoredRole) -> Result<(), PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        if !lock_organization(&txn, &role.organization_id).await? {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::NotFound);
        }
        organization_role::Entity::insert(organization_role::ActiveModel {
            id: Set(role.id.clone()),
            organization_id: Set(role.organization_id.clone()),
            role: Set(role.role.clone()),
            permission: Set(permissions_to_text(&role.permission)),
            created_at: Set(role.created_at),
            updated_at: Set(role.updated_at),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(port_error)?;
        txn.commit().await.map_err(port_error)
    }

    async fn find_role(
        &self,
        organization_id: &str,
        id_or_name: &str,
    ) -> Result<Option<StoredRole>, PortError> {
        let of_organization = organization_role::Column::OrganizationId.eq(organization_id);
        for column in [
            organization_role::Column::Id,
            organization_role::Column::Role,
        ] {
            let query = organization_role::Entity::find()
                .filter(of_organization.clone())
                .filter(column.eq(id_or_name));
            if let Some(row) = first::<_, organization_role::Model>(&self.db, query).await? {
                return Ok(Some(role_from_row(row)));
            }
        }
        Ok(None)
    }

    async fn list_roles(&self, organization_id: &str) -> Result<Vec<StoredRole>, PortError> {
        let rows = organization_role::Entity::find()
            .filter(organization_role::Column::OrganizationId.eq(organization_id))
            .order_by_asc(organization_role::Column::Role)
            .all(&self.db)
            .await
            .map_err(port_error)?;
        Ok(rows.into_iter().map(role_from_row).collect())
    }

    async fn update_role(&self, role: &StoredRole) -> Result<(), PortError> {
        one_row(
            organization_role::Entity::update_many()
                .col_expr(
                    organization_role::Column::Role,
                    Expr::value(role.role.clone()),
                )
                .col_expr(
                    organization_role::Column::Permission,
                    Expr::value(permissions_to_text(&role.permission)),
                )
                .col_expr(
                    organization_role::Column::UpdatedAt,
                    Expr::value(role.updated_at),
                )
                .filter(organization_role::Column::Id.eq(role.id.as_str()))
                .exec(&self.db)
                .await,
        )
    }

    async fn delete_role(&self, id: &str) -> Result<RoleDeleted, PortError> {
        let Some(found) = first::<_, organization_role::Model>(
            &self.db,
            organization_role::Entity::find_by_id(id),
        )
        .await?
        else {
            return Err(PortError::NotFound);
        };
        let txn = self.db.begin().await.map_err(port_error)?;
        if !lock_organization(&txn, &found.organization_id).await? {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::NotFound);
        }
        if holders(&txn, &found.organization_id, &found.role).await? > 0 {
            txn.rollback().await.map_err(port_error)?;
            return Ok(RoleDeleted::Assigned);
        }
        let deleted = organization_role::Entity::delete_by_id(id).exec(&txn).await;
        commit_deleted(txn, deleted).await?;
        Ok(RoleDeleted::Deleted)
    }
}
