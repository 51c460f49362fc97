//! `auditEvent` (ours).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auditEvent")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: String,
    #[sea_orm(column_name = "userId")]
    pub user_id: Option<String>,
    pub reason: Option<String>,
    #[sea_orm(column_name = "ipAddress")]
    pub ip_address: String,
    #[sea_orm(column_name = "userAgent")]
    pub user_agent: String,
    #[sea_orm(column_name = "createdAt")]
    pub created_at: TimeDateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
