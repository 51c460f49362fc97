//! `OrganizationRepo` on the `organization` and `member` tables.

use auth_domain::organization::{Member, Organization, RoleList};
use auth_domain::{User, UserId};
use auth_ports::{MemberAdded, MemberQuery, MemberSort, OrganizationRepo, PortError};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

use crate::entity::{member, organization, user};
use crate::error::{one_row, port_error};
use crate::mapping;
use crate::query::first;
use crate::store::SeaOrmStore;

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
        let users: Vec<String> = member::Entity::find()
            .select_only()
            .column(member::Column::UserId)
            .filter(member::Column::OrganizationId.eq(id))
            .into_tuple()
            .all(&txn)
            .await
            .map_err(port_error)?;
        // Members, invitations, teams and roles go with it (the foreign keys cascade); they are
        // deleted here too, so a database whose keys do not cascade ends the same.
        for table in ["invitation", "organizationRole", "member"] {
            let statement = Query::delete()
                .from_table(Alias::new(table))
                .and_where(Expr::col(Alias::new("organizationId")).eq(id))
                .to_owned();
            txn.execute_raw(txn.get_database_backend().build(&statement))
                .await
                .map_err(port_error)?;
        }
        let deleted = organization::Entity::delete_by_id(id)
            .exec(&txn)
            .await
            .map_err(port_error)?;
        if deleted.rows_affected == 0 {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::NotFound);
        }
        txn.commit().await.map_err(port_error)?;
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
            .offset(query.offset)
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
        // Writes first, to take the organization row's lock (Postgres) or the database's write
        // lock (SQLite): concurrent additions queue here, and each counts the ones before it.
        let locked = organization::Entity::update_many()
            .col_expr(
                organization::Column::Id,
                Expr::col(organization::Column::Id),
            )
            .filter(organization::Column::Id.eq(member.organization_id.as_str()))
            .exec(&txn)
            .await
            .map_err(port_error)?;
        if locked.rows_affected == 0 {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::NotFound);
        }
        let already = member::Entity::find()
            .filter(member::Column::OrganizationId.eq(member.organization_id.as_str()))
            .filter(member::Column::UserId.eq(member.user_id.as_str()))
            .count(&txn)
            .await
            .map_err(port_error)?;
        if already > 0 {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::Conflict);
        }
        let members = member::Entity::find()
            .filter(member::Column::OrganizationId.eq(member.organization_id.as_str()))
            .count(&txn)
            .await
            .map_err(port_error)?;
        if members >= limit {
            txn.rollback().await.map_err(port_error)?;
            return Ok(MemberAdded::LimitReached);
        }
        member::Entity::insert(mapping::member_to_row(member))
            .exec_without_returning(&txn)
            .await
            .map_err(port_error)?;
        txn.commit().await.map_err(port_error)?;
        Ok(MemberAdded::Added)
    }

    async fn update_member_role(&self, id: &str, role: &RoleList) -> Result<(), PortError> {
        one_row(
            member::Entity::update_many()
                .col_expr(member::Column::Role, Expr::value(role.joined()))
                .filter(member::Column::Id.eq(id))
                .exec(&self.db)
                .await,
        )
    }

    async fn remove_member(&self, id: &str) -> Result<(), PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        let Some(member) = first::<_, member::Model>(&txn, member::Entity::find_by_id(id)).await?
        else {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::NotFound);
        };
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
        member::Entity::delete_by_id(id)
            .exec(&txn)
            .await
            .map_err(port_error)?;
        txn.commit().await.map_err(port_error)
    }
}
