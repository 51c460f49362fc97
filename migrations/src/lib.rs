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
        ]
    }
}
