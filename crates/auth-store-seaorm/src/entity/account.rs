//! `account` (the OAuth token columns exist in the table but are not read here).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(column_name = "accountId")]
    pub account_id: String,
    #[sea_orm(column_name = "providerId")]
    pub provider_id: String,
    #[sea_orm(column_name = "userId")]
    pub user_id: String,
    pub password: Option<String>,
    #[sea_orm(column_name = "createdAt")]
    pub created_at: TimeDateTimeWithTimeZone,
    #[sea_orm(column_name = "updatedAt")]
    pub updated_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
