//! auth-migrations: the schema, as sea-orm migrations: Better-Auth's own tables and column names,
//! so an existing Better-Auth database is adopted as is, plus the tables of built-in plugins.
//! Depends on: sea-orm-migration.
//! Must not depend on: any workspace crate, redis, poem.
//! Invariant: a merged migration is never edited; tables are created `IF NOT EXISTS`.

pub use sea_orm_migration::{MigrationTrait, MigratorTrait};

mod m20260101_000001_create_core_tables;
mod m20260102_000001_create_jwks_table;
mod m20260103_000001_create_audit_table;
mod m20260104_000001_add_user_two_factor_enabled;
mod m20260105_000001_create_apikey_table;
mod m20260106_000001_create_organization_tables;
mod m20260107_000001_create_two_factor_table;

/// Every migration, in order. Plugins append their own files here; a plugin's tables exist even
/// when the plugin is switched off, which costs nothing and keeps the schema one linear history.
#[derive(Debug, Clone, Copy, Default)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_create_core_tables::Migration),
            Box::new(m20260102_000001_create_jwks_table::Migration),
            Box::new(m20260103_000001_create_audit_table::Migration),
            Box::new(m20260104_000001_add_user_two_factor_enabled::Migration),
            Box::new(m20260105_000001_create_apikey_table::Migration),
            Box::new(m20260106_000001_create_organization_tables::Migration),
            Box::new(m20260107_000001_create_two_factor_table::Migration),
        ]
    }
}

/// The type of a column a plugin adds to `user` or `session`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginColumn {
    /// A nullable boolean.
    Bool,
    /// A nullable string.
    Text,
}

/// Adds a nullable column that a plugin declares on one of Better-Auth's tables, unless it is
/// there already (an adopted Better-Auth database has its plugins' columns). Idempotent; run at
/// migration, after [`Migrator`].
///
/// # Errors
/// A database error.
pub async fn add_plugin_column(
    db: &sea_orm_migration::sea_orm::DatabaseConnection,
    table: &str,
    column: &str,
    kind: PluginColumn,
) -> Result<(), sea_orm_migration::DbErr> {
    use sea_orm_migration::prelude::{Alias, ColumnDef, Table};
    let manager = sea_orm_migration::SchemaManager::new(db);
    if manager.has_column(table, column).await? {
        return Ok(());
    }
    let mut definition = ColumnDef::new(Alias::new(column));
    match kind {
        PluginColumn::Bool => definition.boolean(),
        PluginColumn::Text => definition.text(),
    };
    manager
        .alter_table(
            Table::alter()
                .table(Alias::new(table))
                .add_column(definition.null())
                .take(),
        )
        .await
}
