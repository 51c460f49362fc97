//! `TeamRepo` on the `team` and `teamMember` tables.

use auth_domain::UserId;
use auth_domain::organization::{Team, TeamMember};
use auth_ports::{MemberAdded, PortError, TeamDeleted, TeamRepo};
use base64::Engine as _;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SimpleExpr, SubQueryStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use sha2::Digest as _;

use super::lock_organization;
use crate::entity::{invitation, team, team_member};
use crate::error::{one_row, port_error};
use crate::query::first;
use crate::store::SeaOrmStore;

/// Better-Auth's `membershipKey`: base64url without padding of SHA-256 over the JSON array
/// `["<teamId>","<userId>"]`, unique, so one user is in one team once.
fn membership_key(team_id: &str, user_id: &str) -> String {
    let json = serde_json::to_string(&[team_id, user_id]).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(json.as_bytes()))
}

/// Sets `team.memberCount` to the number of its members for the teams `which` selects.
/// Better-Auth reserves seats with that counter, so a database it shares keeps it true.
pub(super) async fn count_seats(
    txn: &DatabaseTransaction,
    which: SimpleExpr,
) -> Result<(), PortError> {
    let seats = Query::select()
        .expr(Func::count(Expr::col((
            Alias::new("teamMember"),
            Alias::new("id"),
        ))))
        .from(Alias::new("teamMember"))
        .and_where(
            Expr::col((Alias::new("teamMember"), Alias::new("teamId")))
                .equals((Alias::new("team"), Alias::new("id"))),
        )
        .to_owned();
    let update = Query::update()
        .table(Alias::new("team"))
        .value(
            Alias::new("memberCount"),
            SimpleExpr::SubQuery(None, Box::new(SubQueryStatement::SelectStatement(seats))),
        )
        .and_where(which)
        .to_owned();
    txn.execute_raw(txn.get_database_backend().build(&update))
        .await
        .map_err(port_error)?;
    Ok(())
}

/// `count_seats` for one team.
async fn count_team_seats(txn: &DatabaseTransaction, team_id: &str) -> Result<(), PortError> {
    count_seats(txn, Expr::col(Alias::new("id")).eq(team_id)).await
}

fn team_from_row(row: team::Model) -> Team {
    Team {
        id: row.id,
        name: row.name,
        organization_id: row.organization_id,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn team_member_from_row(row: team_member::Model) -> TeamMember {
    TeamMember {
        id: row.id,
        team_id: row.team_id,
        user_id: UserId::new(row.user_id),
        created_at: row.created_at,
    }
}

#[async_trait::async_trait]
impl TeamRepo for SeaOrmStore {
    async fn create_team(&self, team: &Team, limit: u64) -> Result<MemberAdded, PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        if !lock_organization(&txn, &team.organization_id).await? {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::NotFound);
        }
        let teams = team::Entity::find()
            .filter(team::Column::OrganizationId.eq(team.organization_id.as_str()))
            .count(&txn)
            .await
            .map_err(port_error)?;
        if teams >= limit {
            txn.rollback().await.map_err(port_error)?;
            return Ok(MemberAdded::LimitReached);
        }
        team::Entity::insert(team::ActiveModel {
            id: Set(team.id.clone()),
            name: Set(team.name.clone()),
            member_count: Set(0),
            organization_id: Set(team.organization_id.clone()),
            created_at: Set(team.created_at),
            updated_at: Set(team.updated_at),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(port_error)?;
        txn.commit().await.map_err(port_error)?;
        Ok(MemberAdded::Added)
    }

    async fn find_team(&self, organization_id: &str, id: &str) -> Result<Option<Team>, PortError> {
        let query = team::Entity::find()
            .filter(team::Column::OrganizationId.eq(organization_id))
            .filter(team::Column::Id.eq(id));
        Ok(first(&self.db, query).await?.map(team_from_row))
    }

    async fn team_by_id(&self, id: &str) -> Result<Option<Team>, PortError> {
        Ok(first(&self.db, team::Entity::find_by_id(id))
            .await?
            .map(team_from_row))
    }

    async fn list_teams(&self, organization_id: &str) -> Result<Vec<Team>, PortError> {
        let rows = team::Entity::find()
            .filter(team::Column::OrganizationId.eq(organization_id))
            .order_by_asc(team::Column::CreatedAt)
            .order_by_asc(team::Column::Id)
            .all(&self.db)
            .await
            .map_err(port_error)?;
        Ok(rows.into_iter().map(team_from_row).collect())
    }

    async fn update_team(&self, team: &Team) -> Result<(), PortError> {
        one_row(
            team::Entity::update_many()
                .col_expr(team::Column::Name, Expr::value(team.name.clone()))
                .col_expr(team::Column::UpdatedAt, Expr::value(team.updated_at))
                .filter(team::Column::Id.eq(team.id.as_str()))
                .exec(&self.db)
                .await,
        )
    }

    async fn delete_team(&self, id: &str, keep_one: bool) -> Result<TeamDeleted, PortError> {
        let Some(found) = first::<_, team::Model>(&self.db, team::Entity::find_by_id(id)).await?
        else {
            return Err(PortError::NotFound);
        };
        let organization_id = found.organization_id;
        let txn = self.db.begin().await.map_err(port_error)?;
        if !lock_organization(&txn, &organization_id).await? {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::NotFound);
        }
        let teams = team::Entity::find()
            .filter(team::Column::OrganizationId.eq(organization_id.as_str()))
            .count(&txn)
            .await
            .map_err(port_error)?;
        if keep_one && teams <= 1 {
            txn.rollback().await.map_err(port_error)?;
            return Ok(TeamDeleted::LastTeam);
        }
        // The members go first, for databases whose foreign keys do not cascade.
        team_member::Entity::delete_many()
            .filter(team_member::Column::TeamId.eq(id))
            .exec(&txn)
            .await
            .map_err(port_error)?;
        let pending = invitation::Entity::find()
            .filter(invitation::Column::OrganizationId.eq(organization_id.as_str()))
            .filter(invitation::Column::Status.eq("pending"))
            .filter(invitation::Column::TeamId.contains(id))
            .all(&txn)
            .await
            .map_err(port_error)?;
        for row in pending {
            let teams = row.team_id.unwrap_or_default();
            let kept: Vec<&str> = teams.split(',').filter(|team| *team != id).collect();
            if kept.len() == teams.split(',').count() {
                continue;
            }
            let kept = (!kept.is_empty()).then(|| kept.join(","));
            invitation::Entity::update_many()
                .col_expr(invitation::Column::TeamId, Expr::value(kept))
                .filter(invitation::Column::Id.eq(row.id.as_str()))
                .exec(&txn)
                .await
                .map_err(port_error)?;
        }
        let deleted = team::Entity::delete_by_id(id)
            .exec(&txn)
            .await
            .map_err(port_error)?;
        if deleted.rows_affected == 0 {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::NotFound);
        }
        txn.commit().await.map_err(port_error)?;
        Ok(TeamDeleted::Deleted)
    }

    async fn add_team_member(
        &self,
        member: &TeamMember,
        limit: u64,
    ) -> Result<MemberAdded, PortError> {
        let Some(found) =
            first::<_, team::Model>(&self.db, team::Entity::find_by_id(member.team_id.as_str()))
                .await?
        else {
            return Err(PortError::NotFound);
        };
        let txn = self.db.begin().await.map_err(port_error)?;
        if !lock_organization(&txn, &found.organization_id).await? {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::NotFound);
        }
        let in_team = team_member::Column::TeamId.eq(member.team_id.as_str());
        let already = team_member::Entity::find()
            .filter(in_team.clone())
            .filter(team_member::Column::UserId.eq(member.user_id.as_str()))
            .count(&txn)
            .await
            .map_err(port_error)?;
        if already > 0 {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::Conflict);
        }
        let members = team_member::Entity::find()
            .filter(in_team)
            .count(&txn)
            .await
            .map_err(port_error)?;
        if members >= limit {
            txn.rollback().await.map_err(port_error)?;
            return Ok(MemberAdded::LimitReached);
        }
        team_member::Entity::insert(team_member::ActiveModel {
            id: Set(member.id.clone()),
            team_id: Set(member.team_id.clone()),
            user_id: Set(member.user_id.as_str().to_owned()),
            membership_key: Set(Some(membership_key(
                &member.team_id,
                member.user_id.as_str(),
            ))),
            created_at: Set(member.created_at),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(port_error)?;
        count_team_seats(&txn, &member.team_id).await?;
        txn.commit().await.map_err(port_error)?;
        Ok(MemberAdded::Added)
    }

    async fn find_team_member(
        &self,
        team_id: &str,
        user_id: &UserId,
    ) -> Result<Option<TeamMember>, PortError> {
        let query = team_member::Entity::find()
            .filter(team_member::Column::TeamId.eq(team_id))
            .filter(team_member::Column::UserId.eq(user_id.as_str()));
        Ok(first(&self.db, query).await?.map(team_member_from_row))
    }

    async fn remove_team_member(&self, team_id: &str, user_id: &UserId) -> Result<bool, PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        let removed = team_member::Entity::delete_many()
            .filter(team_member::Column::TeamId.eq(team_id))
            .filter(team_member::Column::UserId.eq(user_id.as_str()))
            .exec(&txn)
            .await
            .map_err(port_error)?;
        count_team_seats(&txn, team_id).await?;
        txn.commit().await.map_err(port_error)?;
        Ok(removed.rows_affected > 0)
    }

    async fn list_team_members(&self, team_id: &str) -> Result<Vec<TeamMember>, PortError> {
        let rows = team_member::Entity::find()
            .filter(team_member::Column::TeamId.eq(team_id))
            .order_by_asc(team_member::Column::CreatedAt)
            .order_by_asc(team_member::Column::Id)
            .all(&self.db)
            .await
            .map_err(port_error)?;
        Ok(rows.into_iter().map(team_member_from_row).collect())
    }

    async fn list_user_teams(
        &self,
        organization_id: &str,
        user_id: &UserId,
    ) -> Result<Vec<Team>, PortError> {
        let rows = team::Entity::find()
            .inner_join(team_member::Entity)
            .filter(team::Column::OrganizationId.eq(organization_id))
            .filter(team_member::Column::UserId.eq(user_id.as_str()))
            .order_by_asc(team::Column::CreatedAt)
            .order_by_asc(team::Column::Id)
            .all(&self.db)
            .await
            .map_err(port_error)?;
        Ok(rows.into_iter().map(team_from_row).collect())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_membership_key_is_better_auths() {
        // Node: createHash('sha256').update(JSON.stringify(['t1','u1'])).digest('base64url').
        assert_eq!(
            super::membership_key("t1", "u1"),
            "zvgff7WeYkeF-_knMfCIgYKEgYHUMdUsDbvpoKRzSsY"
        );
        assert_ne!(
            super::membership_key("t1", "u2"),
            super::membership_key("t1", "u1")
        );
    }
}
