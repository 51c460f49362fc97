//! `JwksRepo` on the `jwks` table. Rows and domain values are converted here, next to the only
//! queries that read them.

use auth_domain::{Jwk, JwkId, StoredPrivateKey};
use auth_ports::{JwksRepo, PortError};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use crate::entity::jwks;
use crate::error::{one_row, port_error};
use crate::store::SeaOrmStore;

fn from_row(row: jwks::Model) -> Jwk {
    Jwk {
        id: JwkId::new(row.id),
        public_key: row.public_key,
        private_key: StoredPrivateKey::new(row.private_key),
        created_at: row.created_at,
        expires_at: row.expires_at,
        alg: row.alg,
        crv: row.crv,
    }
}

fn to_row(key: &Jwk) -> jwks::ActiveModel {
    jwks::ActiveModel {
        id: Set(key.id.as_str().to_owned()),
        public_key: Set(key.public_key.clone()),
        private_key: Set(key.private_key.expose().to_owned()),
        created_at: Set(key.created_at),
        expires_at: Set(key.expires_at),
        alg: Set(key.alg.clone()),
        crv: Set(key.crv.clone()),
    }
}

#[async_trait::async_trait]
impl JwksRepo for SeaOrmStore {
    async fn create(&self, key: &Jwk) -> Result<(), PortError> {
        jwks::Entity::insert(to_row(key))
            .exec_without_returning(&self.db)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn list_all(&self) -> Result<Vec<Jwk>, PortError> {
        // Sorted here rather than in SQL: SQLite keeps dates as text whose format depends on
        // the writer (Better-Auth or us).
        let rows = jwks::Entity::find()
            .all(&self.db)
            .await
            .map_err(port_error)?;
        let mut keys: Vec<Jwk> = rows.into_iter().map(from_row).collect();
        keys.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(keys)
    }

    async fn update_expiry(&self, id: &JwkId, expires_at: OffsetDateTime) -> Result<(), PortError> {
        one_row(
            jwks::Entity::update_many()
                .col_expr(jwks::Column::ExpiresAt, Expr::value(Some(expires_at)))
                .filter(jwks::Column::Id.eq(id.as_str()))
                .exec(&self.db)
                .await,
        )
    }
}
