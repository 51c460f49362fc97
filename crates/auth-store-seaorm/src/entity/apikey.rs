//! `apikey` (`@better-auth/api-key`). Numbers are `integer` columns, as Better-Auth makes them.

use sea_orm::entity::prelude::*;

/// An `apikey` row. `Debug` leaves the key digest out.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "apikey")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_name = "configId")]
    pub config_id: String,
    pub name: Option<String>,
    pub start: Option<String>,
    #[sea_orm(column_name = "referenceId")]
    pub reference_id: String,
    pub prefix: Option<String>,
    pub key: String,
    #[sea_orm(column_name = "refillInterval")]
    pub refill_interval: Option<i32>,
    #[sea_orm(column_name = "refillAmount")]
    pub refill_amount: Option<i32>,
    #[sea_orm(column_name = "lastRefillAt")]
    pub last_refill_at: Option<TimeDateTimeWithTimeZone>,
    pub enabled: Option<bool>,
    #[sea_orm(column_name = "rateLimitEnabled")]
    pub rate_limit_enabled: Option<bool>,
    #[sea_orm(column_name = "rateLimitTimeWindow")]
    pub rate_limit_time_window: Option<i32>,
    #[sea_orm(column_name = "rateLimitMax")]
    pub rate_limit_max: Option<i32>,
    #[sea_orm(column_name = "requestCount")]
    pub request_count: Option<i32>,
    pub remaining: Option<i32>,
    #[sea_orm(column_name = "lastRequest")]
    pub last_request: Option<TimeDateTimeWithTimeZone>,
    #[sea_orm(column_name = "expiresAt")]
    pub expires_at: Option<TimeDateTimeWithTimeZone>,
    #[sea_orm(column_name = "createdAt")]
    pub created_at: TimeDateTimeWithTimeZone,
    #[sea_orm(column_name = "updatedAt")]
    pub updated_at: TimeDateTimeWithTimeZone,
    pub permissions: Option<String>,
    pub metadata: Option<String>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("apikey::Model")
            .field("id", &self.id)
            .field("config_id", &self.config_id)
            .field("reference_id", &self.reference_id)
            .field("start", &self.start)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
