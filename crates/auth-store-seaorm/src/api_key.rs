//! `ApiKeyRepo` on the `apikey` table. Rows and domain values are converted here, next to the
//! only queries that read them.

use std::collections::BTreeMap;

use auth_domain::{ApiKey, Permissions};
use auth_ports::{ApiKeyRepo, KeyUse, PortError, Reserved};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait,
};
use time::{Duration, OffsetDateTime};

use crate::entity::apikey;
use crate::error::{one_row, port_error};
use crate::query::first;
use crate::store::SeaOrmStore;

/// Milliseconds of an interval, as the `integer` columns hold them.
fn millis(duration: Option<Duration>) -> Result<Option<i32>, PortError> {
    duration
        .map(|duration| number(i64::try_from(duration.whole_milliseconds()).unwrap_or(i64::MAX)))
        .transpose()
}

/// A count for an `integer` column; the use cases bound every value a client can set.
fn number(value: i64) -> Result<i32, PortError> {
    i32::try_from(value)
        .map_err(|_| PortError::Internal(format!("{value} does not fit an integer column").into()))
}

fn optional_number(value: Option<i64>) -> Result<Option<i32>, PortError> {
    value.map(number).transpose()
}

/// `{"resource":["action",...]}`, as Better-Auth stores permissions.
pub(crate) fn permissions_to_text(permissions: &Permissions) -> String {
    let mut object = serde_json::Map::new();
    for (resource, actions) in &permissions.0 {
        let actions = actions
            .iter()
            .cloned()
            .map(serde_json::Value::String)
            .collect();
        object.insert(resource.clone(), serde_json::Value::Array(actions));
    }
    serde_json::Value::Object(object).to_string()
}

/// Stored permissions; text that is not such an object (or JSON `null`) grants nothing.
pub(crate) fn permissions_from_text(text: &str) -> Option<Permissions> {
    let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
    // Legacy rows hold the JSON twice encoded.
    if let serde_json::Value::String(inner) = &value {
        value = serde_json::from_str(inner).ok()?;
    }
    let object = value.as_object()?;
    let mut permissions = BTreeMap::new();
    for (resource, actions) in object {
        let actions = actions
            .as_array()?
            .iter()
            .filter_map(|action| action.as_str().map(str::to_owned))
            .collect();
        permissions.insert(resource.clone(), actions);
    }
    Some(Permissions(permissions))
}

fn from_row(row: apikey::Model) -> ApiKey {
    let duration = |millis: Option<i32>| millis.map(|ms| Duration::milliseconds(i64::from(ms)));
    ApiKey {
        id: row.id,
        config_id: row.config_id,
        name: row.name,
        start: row.start,
        prefix: row.prefix,
        reference_id: row.reference_id,
        enabled: row.enabled.unwrap_or(true),
        rate_limit_enabled: row.rate_limit_enabled.unwrap_or(true),
        rate_limit_time_window: duration(row.rate_limit_time_window),
        rate_limit_max: row.rate_limit_max.map(i64::from),
        request_count: row.request_count.map_or(0, i64::from),
        remaining: row.remaining.map(i64::from),
        refill_amount: row.refill_amount.map(i64::from),
        refill_interval: duration(row.refill_interval),
        last_refill_at: row.last_refill_at,
        last_request: row.last_request,
        expires_at: row.expires_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
        permissions: row.permissions.as_deref().and_then(permissions_from_text),
        metadata: row.metadata,
    }
}

/// The columns [`ApiKeyRepo::update`] writes.
fn settings(key: &ApiKey) -> Result<apikey::ActiveModel, PortError> {
    Ok(apikey::ActiveModel {
        id: NotSet,
        config_id: NotSet,
        name: Set(key.name.clone()),
        start: NotSet,
        reference_id: NotSet,
        prefix: NotSet,
        key: NotSet,
        refill_interval: Set(millis(key.refill_interval)?),
        refill_amount: Set(optional_number(key.refill_amount)?),
        last_refill_at: NotSet,
        enabled: Set(Some(key.enabled)),
        rate_limit_enabled: Set(Some(key.rate_limit_enabled)),
        rate_limit_time_window: Set(millis(key.rate_limit_time_window)?),
        rate_limit_max: Set(optional_number(key.rate_limit_max)?),
        request_count: NotSet,
        remaining: NotSet,
        last_request: NotSet,
        expires_at: Set(key.expires_at),
        created_at: NotSet,
        updated_at: Set(key.updated_at),
        permissions: Set(key.permissions.as_ref().map(permissions_to_text)),
        metadata: Set(key.metadata.clone()),
    })
}

fn to_row(key: &ApiKey, digest: &str) -> Result<apikey::ActiveModel, PortError> {
    let mut row = settings(key)?;
    row.id = Set(key.id.clone());
    row.config_id = Set(key.config_id.clone());
    row.start = Set(key.start.clone());
    row.reference_id = Set(key.reference_id.clone());
    row.prefix = Set(key.prefix.clone());
    row.key = Set(digest.to_owned());
    row.created_at = Set(key.created_at);
    row.remaining = Set(optional_number(key.remaining)?);
    row.last_refill_at = Set(key.last_refill_at);
    row.request_count = Set(Some(number(key.request_count)?));
    row.last_request = Set(key.last_request);
    Ok(row)
}

impl SeaOrmStore {
    /// One use (or reservation) of the key `filter` selects, in one transaction that writes
    /// first, to take the row's lock (Postgres) or the database's write lock (SQLite), before
    /// anything is read, so concurrent uses queue and each reads the counters the one before it
    /// wrote. `apply` decides from the row; an allowed use's counters are written. `None` when
    /// no key matches; the key after the use, with how many uses it granted, otherwise.
    async fn locked_use(
        &self,
        filter: sea_orm::sea_query::SimpleExpr,
        apply: impl FnOnce(&ApiKey) -> Result<(auth_domain::ApiKeyUse, i64), auth_domain::KeyRefusal>
        + Send,
    ) -> Result<Option<(ApiKey, Result<i64, auth_domain::KeyRefusal>)>, PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        let locked = apikey::Entity::update_many()
            .col_expr(
                apikey::Column::UpdatedAt,
                Expr::col(apikey::Column::UpdatedAt),
            )
            .filter(filter.clone())
            .exec(&txn)
            .await
            .map_err(port_error)?;
        if locked.rows_affected == 0 {
            txn.rollback().await.map_err(port_error)?;
            return Ok(None);
        }
        let Some(key) = Self::find_key_by(&txn, filter).await? else {
            txn.rollback().await.map_err(port_error)?;
            return Ok(None);
        };
        let (used, uses) = match apply(&key) {
            Ok(allowed) => allowed,
            Err(refusal) => {
                txn.rollback().await.map_err(port_error)?;
                return Ok(Some((key, Err(refusal))));
            }
        };
        let key = key.with_use(&used);
        one_row(
            apikey::Entity::update_many()
                .set(apikey::ActiveModel {
                    remaining: Set(optional_number(key.remaining)?),
                    last_refill_at: Set(key.last_refill_at),
                    request_count: Set(Some(number(key.request_count)?)),
                    last_request: Set(key.last_request),
                    updated_at: Set(key.updated_at),
                    ..Default::default()
                })
                .filter(apikey::Column::Id.eq(key.id.as_str()))
                .exec(&txn)
                .await,
        )?;
        txn.commit().await.map_err(port_error)?;
        Ok(Some((key, Ok(uses))))
    }

    async fn find_key_by<C: ConnectionTrait>(
        db: &C,
        filter: sea_orm::sea_query::SimpleExpr,
    ) -> Result<Option<ApiKey>, PortError> {
        let row = first(db, apikey::Entity::find().filter(filter)).await?;
        Ok(row.map(from_row))
    }
}

#[async_trait::async_trait]
impl ApiKeyRepo for SeaOrmStore {
    async fn create(&self, key: &ApiKey, digest: &str) -> Result<(), PortError> {
        apikey::Entity::insert(to_row(key, digest)?)
            .exec_without_returning(&self.db)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn find(&self, id: &str) -> Result<Option<ApiKey>, PortError> {
        Self::find_key_by(&self.db, apikey::Column::Id.eq(id)).await
    }

    async fn find_by_digest(&self, digest: &str) -> Result<Option<ApiKey>, PortError> {
        let statement = self.shapes.key_by_digest.statement(
            self.db.get_database_backend(),
            vec![digest.into()],
            || apikey::Entity::find().filter(apikey::Column::Key.eq(digest)),
        );
        let row = self
            .lane
            .first_row(&statement.sql, digest, |row| {
                row.model::<apikey::Entity>("")
            })
            .await?;
        Ok(row.flatten().map(from_row))
    }

    async fn list(
        &self,
        reference_id: &str,
        config_id: Option<&str>,
    ) -> Result<Vec<ApiKey>, PortError> {
        let mut query = apikey::Entity::find().filter(apikey::Column::ReferenceId.eq(reference_id));
        if let Some(config_id) = config_id {
            query = query.filter(apikey::Column::ConfigId.eq(config_id));
        }
        let rows = query.all(&self.db).await.map_err(port_error)?;
        // Sorted here: SQLite keeps dates as text whose format depends on the writer.
        let mut keys: Vec<ApiKey> = rows.into_iter().map(from_row).collect();
        keys.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(keys)
    }

    async fn update(&self, key: &ApiKey) -> Result<(), PortError> {
        one_row(
            apikey::Entity::update_many()
                .set(settings(key)?)
                .filter(apikey::Column::Id.eq(key.id.as_str()))
                .exec(&self.db)
                .await,
        )
    }

    async fn use_key(
        &self,
        digest: &str,
        now: OffsetDateTime,
        required: Option<&auth_domain::Permissions>,
        limits_enabled: bool,
    ) -> Result<KeyUse, PortError> {
        let outcome = self
            .locked_use(apikey::Column::Key.eq(digest), |key| {
                key.use_at(now, required, limits_enabled)
                    .map(|used| (used, 1))
            })
            .await?;
        Ok(match outcome {
            None => KeyUse::Missing,
            Some((key, Ok(_))) => KeyUse::Allowed(key),
            Some((key, Err(refusal))) => KeyUse::Refused(key, refusal),
        })
    }

    async fn reserve(
        &self,
        id: &str,
        now: OffsetDateTime,
        wanted: i64,
    ) -> Result<Reserved, PortError> {
        let outcome = self
            .locked_use(apikey::Column::Id.eq(id), |key| key.reserve(now, wanted))
            .await?;
        Ok(match outcome {
            None => Reserved::Gone,
            Some((key, Ok(uses))) => Reserved::Granted {
                counters: auth_domain::ApiKeyUse {
                    remaining: key.remaining,
                    last_refill_at: key.last_refill_at,
                    request_count: key.request_count,
                    last_request: now,
                },
                uses,
            },
            Some((_, Err(refusal))) => Reserved::Refused(refusal),
        })
    }

    async fn set_remaining(&self, id: &str, remaining: Option<i64>) -> Result<bool, PortError> {
        let result = apikey::Entity::update_many()
            .col_expr(
                apikey::Column::Remaining,
                Expr::value(optional_number(remaining)?),
            )
            .filter(apikey::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(port_error)?;
        Ok(result.rows_affected > 0)
    }

    async fn write_counters(
        &self,
        id: &str,
        counters: &auth_domain::ApiKeyUse,
    ) -> Result<(), PortError> {
        apikey::Entity::update_many()
            .set(apikey::ActiveModel {
                remaining: Set(optional_number(counters.remaining)?),
                last_refill_at: Set(counters.last_refill_at),
                request_count: Set(Some(number(counters.request_count)?)),
                last_request: Set(Some(counters.last_request)),
                updated_at: Set(counters.last_request),
                ..Default::default()
            })
            .filter(apikey::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn touch(&self, id: &str, at: OffsetDateTime) -> Result<(), PortError> {
        apikey::Entity::update_many()
            .set(apikey::ActiveModel {
                last_request: Set(Some(at)),
                updated_at: Set(at),
                ..Default::default()
            })
            .filter(apikey::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<bool, PortError> {
        let result = apikey::Entity::delete_many()
            .filter(apikey::Column::Id.eq(id))
            .exec(&self.db)
            .await
            .map_err(port_error)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete_by_reference(&self, reference_id: &str) -> Result<u64, PortError> {
        let result = apikey::Entity::delete_many()
            .filter(apikey::Column::ReferenceId.eq(reference_id))
            .exec(&self.db)
            .await
            .map_err(port_error)?;
        Ok(result.rows_affected)
    }

    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, PortError> {
        // Compared here, not in SQL: SQLite keeps dates as text in the writer's format.
        let rows: Vec<(String, Option<OffsetDateTime>)> = apikey::Entity::find()
            .select_only()
            .column(apikey::Column::Id)
            .column(apikey::Column::ExpiresAt)
            .filter(apikey::Column::ExpiresAt.is_not_null())
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(port_error)?;
        let expired: Vec<String> = rows
            .into_iter()
            .filter(|(_, expires_at)| expires_at.is_some_and(|at| at < now))
            .map(|(id, _)| id)
            .collect();
        if expired.is_empty() {
            return Ok(0);
        }
        let result = apikey::Entity::delete_many()
            .filter(apikey::Column::Id.is_in(expired))
            .exec(&self.db)
            .await
            .map_err(port_error)?;
        Ok(result.rows_affected)
    }
}

#[cfg(test)]
mod tests {
    use super::{permissions_from_text, permissions_to_text};

    #[test]
    fn permissions_round_trip_and_legacy_double_encoding_is_read() {
        let text = r#"{"files":["read","write"],"users":["list"]}"#;
        let permissions = permissions_from_text(text).expect("object");
        assert_eq!(permissions_to_text(&permissions), text);
        let legacy = serde_json::Value::String(text.to_owned()).to_string();
        assert_eq!(permissions_from_text(&legacy), Some(permissions));
        assert_eq!(permissions_from_text("null"), None);
        assert_eq!(permissions_from_text(r#"{"files":"read"}"#), None);
        assert_eq!(permissions_from_text("not json"), None);
    }
}
