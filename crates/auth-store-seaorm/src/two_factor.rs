//! `TwoFactorRepo` on the `twoFactor` table, with `user.twoFactorEnabled` written in the same
//! transaction. Every check-then-write is one conditional statement or runs under the user's
//! row lock.

use auth_domain::UserId;
use auth_domain::two_factor::TwoFactor;
use auth_ports::{PortError, TwoFactorRepo};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait,
};
use time::OffsetDateTime;

use crate::entity::{two_factor, user};
use crate::error::port_error;
use crate::query::first;
use crate::store::SeaOrmStore;

fn from_row(row: two_factor::Model) -> TwoFactor {
    TwoFactor {
        id: row.id,
        user_id: UserId::new(row.user_id),
        sealed_secret: row.secret,
        sealed_backup_codes: row.backup_codes,
        // Better-Auth's default: a row without the column is verified.
        verified: row.verified.unwrap_or(true),
        failed_verification_count: i64::from(row.failed_verification_count.unwrap_or(0)),
        locked_until: row.locked_until,
        last_used_step: row.last_used_step,
    }
}

/// Writes the user's `twoFactorEnabled` (taking the user row's lock): `false` when the user
/// does not exist.
async fn set_enabled(
    txn: &DatabaseTransaction,
    user_id: &str,
    enabled: bool,
) -> Result<bool, PortError> {
    let written = user::Entity::update_many()
        .col_expr(user::Column::TwoFactorEnabled, Expr::value(enabled))
        .filter(user::Column::Id.eq(user_id))
        .exec(txn)
        .await
        .map_err(port_error)?;
    Ok(written.rows_affected > 0)
}

/// One conditional update of one row: `true` when it matched.
fn updated(result: Result<sea_orm::UpdateResult, sea_orm::DbErr>) -> Result<bool, PortError> {
    Ok(result.map_err(port_error)?.rows_affected > 0)
}

#[async_trait::async_trait]
impl TwoFactorRepo for SeaOrmStore {
    async fn find_two_factor(&self, user_id: &UserId) -> Result<Option<TwoFactor>, PortError> {
        let query =
            two_factor::Entity::find().filter(two_factor::Column::UserId.eq(user_id.as_str()));
        Ok(first(&self.db, query).await?.map(from_row))
    }

    async fn start_two_factor(&self, row: &TwoFactor) -> Result<bool, PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        // Taking the user row's lock first serialises concurrent starts for one user (and
        // tells whether the user exists); `twoFactorEnabled` is written as it is.
        let locked = user::Entity::update_many()
            .col_expr(user::Column::Id, Expr::col(user::Column::Id))
            .filter(user::Column::Id.eq(row.user_id.as_str()))
            .exec(&txn)
            .await
            .map_err(port_error)?;
        if locked.rows_affected == 0 {
            txn.rollback().await.map_err(port_error)?;
            return Err(PortError::NotFound);
        }
        let of_user = two_factor::Column::UserId.eq(row.user_id.as_str());
        let verified = two_factor::Entity::find()
            .filter(of_user.clone())
            .filter(
                Condition::any()
                    .add(two_factor::Column::Verified.eq(true))
                    .add(two_factor::Column::Verified.is_null()),
            )
            .all(&txn)
            .await
            .map_err(port_error)?;
        if !verified.is_empty() {
            txn.rollback().await.map_err(port_error)?;
            return Ok(false);
        }
        two_factor::Entity::delete_many()
            .filter(of_user)
            .exec(&txn)
            .await
            .map_err(port_error)?;
        two_factor::Entity::insert(two_factor::ActiveModel {
            id: Set(row.id.clone()),
            secret: Set(row.sealed_secret.clone()),
            backup_codes: Set(row.sealed_backup_codes.clone()),
            user_id: Set(row.user_id.as_str().to_owned()),
            verified: Set(Some(row.verified)),
            failed_verification_count: Set(Some(0)),
            locked_until: Set(None),
            last_used_step: Set(row.last_used_step),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(port_error)?;
        txn.commit().await.map_err(port_error)?;
        Ok(true)
    }

    async fn confirm_two_factor(&self, id: &str) -> Result<bool, PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        let confirmed = two_factor::Entity::update_many()
            .col_expr(two_factor::Column::Verified, Expr::value(true))
            .filter(two_factor::Column::Id.eq(id))
            .exec(&txn)
            .await;
        if !updated(confirmed)? {
            txn.rollback().await.map_err(port_error)?;
            return Ok(false);
        }
        let Some(row) =
            first::<_, two_factor::Model>(&txn, two_factor::Entity::find_by_id(id)).await?
        else {
            txn.rollback().await.map_err(port_error)?;
            return Ok(false);
        };
        set_enabled(&txn, &row.user_id, true).await?;
        txn.commit().await.map_err(port_error)?;
        Ok(true)
    }

    async fn set_two_factor_enabled(
        &self,
        user_id: &UserId,
        enabled: bool,
    ) -> Result<bool, PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        let found = set_enabled(&txn, user_id.as_str(), enabled).await?;
        txn.commit().await.map_err(port_error)?;
        Ok(found)
    }

    async fn delete_two_factor(&self, user_id: &UserId) -> Result<bool, PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        set_enabled(&txn, user_id.as_str(), false).await?;
        let deleted = two_factor::Entity::delete_many()
            .filter(two_factor::Column::UserId.eq(user_id.as_str()))
            .exec(&txn)
            .await
            .map_err(port_error)?;
        txn.commit().await.map_err(port_error)?;
        Ok(deleted.rows_affected > 0)
    }

    async fn swap_backup_codes(&self, id: &str, from: &str, to: &str) -> Result<bool, PortError> {
        updated(
            two_factor::Entity::update_many()
                .col_expr(two_factor::Column::BackupCodes, Expr::value(to))
                .filter(two_factor::Column::Id.eq(id))
                .filter(two_factor::Column::BackupCodes.eq(from))
                .exec(&self.db)
                .await,
        )
    }

    async fn claim_step(&self, id: &str, step: i64) -> Result<bool, PortError> {
        updated(
            two_factor::Entity::update_many()
                .col_expr(two_factor::Column::LastUsedStep, Expr::value(step))
                .filter(two_factor::Column::Id.eq(id))
                .filter(
                    Condition::any()
                        .add(two_factor::Column::LastUsedStep.is_null())
                        .add(two_factor::Column::LastUsedStep.lt(step)),
                )
                .exec(&self.db)
                .await,
        )
    }

    async fn begin_attempt(&self, id: &str, now: OffsetDateTime) -> Result<Option<i64>, PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        // A lock that has run out goes, with its count.
        two_factor::Entity::update_many()
            .col_expr(two_factor::Column::FailedVerificationCount, Expr::value(0))
            .col_expr(
                two_factor::Column::LockedUntil,
                Expr::value(Option::<OffsetDateTime>::None),
            )
            .filter(two_factor::Column::Id.eq(id))
            .filter(two_factor::Column::LockedUntil.lte(now))
            .exec(&txn)
            .await
            .map_err(port_error)?;
        let count = Expr::col(two_factor::Column::FailedVerificationCount);
        let counted = two_factor::Entity::update_many()
            .col_expr(
                two_factor::Column::FailedVerificationCount,
                Expr::expr(sea_orm::sea_query::Func::coalesce([count, Expr::value(0)])).add(1),
            )
            .filter(two_factor::Column::Id.eq(id))
            .filter(two_factor::Column::LockedUntil.is_null())
            .exec(&txn)
            .await;
        if !updated(counted)? {
            txn.commit().await.map_err(port_error)?;
            return Ok(None);
        }
        let row = first::<_, two_factor::Model>(&txn, two_factor::Entity::find_by_id(id)).await?;
        txn.commit().await.map_err(port_error)?;
        Ok(row.map(|row| i64::from(row.failed_verification_count.unwrap_or(0))))
    }

    async fn lock_until(&self, id: &str, until: OffsetDateTime) -> Result<(), PortError> {
        two_factor::Entity::update_many()
            .col_expr(two_factor::Column::LockedUntil, Expr::value(until))
            .filter(two_factor::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn reset_failures(&self, id: &str) -> Result<(), PortError> {
        two_factor::Entity::update_many()
            .col_expr(two_factor::Column::FailedVerificationCount, Expr::value(0))
            .col_expr(
                two_factor::Column::LockedUntil,
                Expr::value(Option::<OffsetDateTime>::None),
            )
            .filter(two_factor::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(port_error)?;
        Ok(())
    }
}
