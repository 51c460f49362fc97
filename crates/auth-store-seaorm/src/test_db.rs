//! Throwaway databases for tests: a fresh SQLite file or a fresh Postgres database per test.
#![allow(
    clippy::print_stderr,
    reason = "a skipped test says so on stderr, as the test harness does"
)]

use sea_orm::{ConnectionTrait, Database};

use crate::{SeaOrmStore, StoreConfig};

/// A database that exists for one test; dropped (Postgres) or deleted (SQLite) on `cleanup`.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL to connect to.
    pub url: String,
    admin_url: Option<String>,
    name: String,
}

/// The Postgres server tests use: `AUTH_TEST_DATABASE_URL`, else the local default.
#[must_use]
pub fn postgres_admin_url() -> String {
    std::env::var("AUTH_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Whether tests must fail rather than skip when a service is missing (CI).
#[must_use]
pub fn services_required() -> bool {
    // The same rule as `cargo xtask test-all`: any `CI` value but empty, `0` or `false`.
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
        || std::env::var("AUTH_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let counter = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}_{}_{nanos}_{counter}", std::process::id())
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl TestDatabase {
    /// A new, empty SQLite file in the system temp folder.
    #[must_use]
    pub fn sqlite() -> Self {
        let name = unique_name("auth_test");
        let path = std::env::temp_dir().join(format!("{name}.db"));
        Self {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            admin_url: None,
            name: path.display().to_string(),
        }
    }

    /// A new, empty Postgres database, or `None` (with a printed line) when the server does not
    /// answer and services are not required.
    ///
    /// # Panics
    /// When the server does not answer and [`services_required`] is true.
    pub async fn postgres() -> Option<Self> {
        let admin_url = postgres_admin_url();
        let admin = match Database::connect(admin_url.as_str()).await {
            Ok(admin) => admin,
            Err(error) => {
                assert!(
                    !services_required(),
                    "Postgres at {admin_url} is required: {error}"
                );
                eprintln!("skipped: Postgres at {admin_url} does not answer ({error})");
                return None;
            }
        };
        let name = unique_name("auth_test");
        let created = admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await;
        let _ = admin.close().await;
        if let Err(error) = created {
            assert!(
                !services_required(),
                "cannot create a test database: {error}"
            );
            eprintln!("skipped: cannot create a test database ({error})");
            return None;
        }
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        Some(Self {
            url: format!("{base}/{name}"),
            admin_url: Some(admin_url.clone()),
            name,
        })
    }

    /// A migrated store on this database.
    ///
    /// # Panics
    /// When the database cannot be reached or migrated: tests want to fail loudly then.
    pub async fn store(&self) -> SeaOrmStore {
        let store = SeaOrmStore::connect(&StoreConfig::for_url(&self.url)).await;
        let store = store.unwrap_or_else(|error| panic!("connect {}: {error}", self.url));
        if let Err(error) = store.migrate().await {
            panic!("migrate {}: {error}", self.url);
        }
        store
    }

    /// Runs raw SQL (fixtures written the way another program would write them).
    ///
    /// # Panics
    /// When the statement fails.
    pub async fn execute(&self, sql: &str) {
        let db = Database::connect(self.url.as_str())
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        if let Err(error) = db.execute_unprepared(sql).await {
            panic!("executing fixture SQL: {error}");
        }
        let _ = db.close().await;
    }

    /// The single integer a fixture query such as `SELECT COUNT(*) AS n FROM "session"` returns
    /// in its column `n`.
    ///
    /// # Panics
    /// When the query fails or returns no such value.
    pub async fn query_count(&self, sql: &str) -> i64 {
        let db = Database::connect(self.url.as_str())
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql);
        let row = db
            .query_one_raw(statement)
            .await
            .unwrap_or_else(|e| panic!("query {sql}: {e}"))
            .unwrap_or_else(|| panic!("query {sql}: no row"));
        let count = row
            .try_get::<i64>("", "n")
            .unwrap_or_else(|e| panic!("query {sql}: column n: {e}"));
        let _ = db.close().await;
        count
    }

    /// Drops the database (Postgres) or deletes the file (SQLite). Best effort.
    pub async fn cleanup(self) {
        match &self.admin_url {
            Some(admin_url) => {
                if let Ok(admin) = Database::connect(admin_url.as_str()).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
                    let _ = admin.execute_unprepared(&sql).await;
                    let _ = admin.close().await;
                }
            }
            None => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.name));
                }
            }
        }
    }
}
