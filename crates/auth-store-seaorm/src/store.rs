//! `SeaOrmStore`: every storage port on one connection pool.

use std::time::Duration;

use auth_domain::{
    Account, AccountId, Email, PasswordHash, Session, SessionId, SessionToken, User, UserId,
    Verification, VerificationId,
};
use auth_migrations::{Migrator, MigratorTrait};
use auth_ports::{AccountRepo, PortError, SessionRepo, UserRepo, VerificationRepo};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, TransactionTrait,
};
use time::OffsetDateTime;

use crate::entity::{account, session, user, verification};
use crate::error::{one_row, port_error};
use crate::mapping;

/// How to reach the database. `Debug` leaves the URL out: it may hold a password.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// `sqlite://path?mode=rwc` or `postgres://user@host:port/db`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// How long a query waits for a connection before the store reports `Unavailable`.
    pub acquire_timeout: Duration,
    /// Longest a statement may run (Postgres `statement_timeout`) or wait for a lock (SQLite's
    /// busy timeout) before it fails as `Unavailable`. Migrations run without it.
    pub statement_timeout: Duration,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .finish_non_exhaustive()
    }
}

impl StoreConfig {
    /// Defaults for a URL: 16 connections on Postgres, 4 on SQLite (writes serialise anyway).
    #[must_use]
    pub fn for_url(url: &str) -> Self {
        let max_connections = if url.starts_with("sqlite:") { 4 } else { 16 };
        Self {
            url: url.to_owned(),
            max_connections,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// The storage ports on a sea-orm connection pool.
#[derive(Clone)]
pub struct SeaOrmStore {
    pub(crate) db: DatabaseConnection,
    config: StoreConfig,
}

impl std::fmt::Debug for SeaOrmStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaOrmStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SeaOrmStore {
    /// Connects (lazily retrying is the pool's job) and returns the store.
    ///
    /// # Errors
    /// `PortError::Unavailable` when the database cannot be reached, `Internal` for a bad URL.
    pub async fn connect(config: &StoreConfig) -> Result<Self, PortError> {
        let db = Self::open(
            config,
            Some(config.statement_timeout),
            config.max_connections,
        )
        .await?;
        if config.url.starts_with("sqlite:") {
            // WAL lets readers proceed during a write; the setting persists in the file.
            db.execute_unprepared("PRAGMA journal_mode=WAL")
                .await
                .map_err(port_error)?;
        }
        Ok(Self {
            db,
            config: config.clone(),
        })
    }

    /// A pool on `config.url`, with `statement_timeout` applied when given.
    async fn open(
        config: &StoreConfig,
        statement_timeout: Option<Duration>,
        max_connections: u32,
    ) -> Result<DatabaseConnection, PortError> {
        let mut options = ConnectOptions::new(config.url.clone());
        options
            .max_connections(max_connections)
            .min_connections(1)
            .connect_timeout(config.acquire_timeout)
            .acquire_timeout(config.acquire_timeout)
            .sqlx_logging(false);
        if let Some(timeout) = statement_timeout {
            #[cfg(feature = "postgres")]
            options.map_sqlx_postgres_opts(move |pg| {
                pg.options([("statement_timeout", timeout.as_millis().to_string())])
            });
            #[cfg(feature = "sqlite")]
            options.map_sqlx_sqlite_opts(move |sqlite| sqlite.busy_timeout(timeout));
        }
        Database::connect(options).await.map_err(port_error)
    }

    /// Applies every pending migration, on a connection of its own without the statement
    /// timeout (building an index on a large adopted table may take longer).
    ///
    /// # Errors
    /// As for [`SeaOrmStore::connect`].
    pub async fn migrate(&self) -> Result<(), PortError> {
        let db = Self::open(&self.config, None, 1).await?;
        let migrated = Migrator::up(&db, None).await.map_err(port_error);
        let _ = db.close().await;
        migrated
    }

    /// Whether the database answers a trivial query.
    ///
    /// # Errors
    /// `Unavailable` when it does not.
    pub async fn ping(&self) -> Result<(), PortError> {
        self.db.ping().await.map_err(port_error)
    }

    /// Connections in the pool and how many of them are idle.
    #[must_use]
    pub fn pool_status(&self) -> (u32, usize) {
        match self.db.get_database_backend() {
            #[cfg(feature = "postgres")]
            sea_orm::DatabaseBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            #[cfg(feature = "sqlite")]
            sea_orm::DatabaseBackend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => (0, 0),
        }
    }

    /// The connection pool, for this crate's other port implementations.
    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Closes the pool.
    pub async fn close(self) {
        if let Err(error) = self.db.close().await {
            tracing::warn!(error = %error, "closing the database pool failed");
        }
    }
}

#[async_trait::async_trait]
impl UserRepo for SeaOrmStore {
    async fn create_with_account(&self, user: &User, account: &Account) -> Result<(), PortError> {
        let txn = self.db.begin().await.map_err(port_error)?;
        user::Entity::insert(mapping::user_to_row(user))
            .exec_without_returning(&txn)
            .await
            .map_err(port_error)?;
        account::Entity::insert(mapping::account_to_row(account))
            .exec_without_returning(&txn)
            .await
            .map_err(port_error)?;
        txn.commit().await.map_err(port_error)
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, PortError> {
        let row = user::Entity::find()
            .filter(user::Column::Email.eq(email.as_str()))
            .one(&self.db)
            .await
            .map_err(port_error)?;
        Ok(row.map(mapping::user_from_row))
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, PortError> {
        let row = user::Entity::find_by_id(id.as_str())
            .one(&self.db)
            .await
            .map_err(port_error)?;
        Ok(row.map(mapping::user_from_row))
    }

    async fn count_two_factor_enabled(&self) -> Result<u64, PortError> {
        user::Entity::find()
            .filter(user::Column::TwoFactorEnabled.eq(true))
            .count(&self.db)
            .await
            .map_err(port_error)
    }

    async fn update(&self, user: &User) -> Result<(), PortError> {
        one_row(
            user::Entity::update_many()
                .col_expr(user::Column::Name, Expr::value(user.name.clone()))
                .col_expr(user::Column::Image, Expr::value(user.image.clone()))
                .col_expr(
                    user::Column::EmailVerified,
                    Expr::value(user.email_verified),
                )
                .col_expr(user::Column::UpdatedAt, Expr::value(user.updated_at))
                .filter(user::Column::Id.eq(user.id.as_str()))
                .exec(&self.db)
                .await,
        )
    }

    async fn delete(&self, id: &UserId) -> Result<(), PortError> {
        // Foreign keys cascade, but a database adopted from elsewhere may lack them: delete the
        // dependent rows explicitly, in one transaction.
        let txn = self.db.begin().await.map_err(port_error)?;
        session::Entity::delete_many()
            .filter(session::Column::UserId.eq(id.as_str()))
            .exec(&txn)
            .await
            .map_err(port_error)?;
        account::Entity::delete_many()
            .filter(account::Column::UserId.eq(id.as_str()))
            .exec(&txn)
            .await
            .map_err(port_error)?;
        user::Entity::delete_by_id(id.as_str())
            .exec(&txn)
            .await
            .map_err(port_error)?;
        txn.commit().await.map_err(port_error)
    }
}

#[async_trait::async_trait]
impl AccountRepo for SeaOrmStore {
    async fn find_credential(&self, user_id: &UserId) -> Result<Option<Account>, PortError> {
        let row = account::Entity::find()
            .filter(account::Column::UserId.eq(user_id.as_str()))
            .filter(account::Column::AccountId.eq(user_id.as_str()))
            .filter(account::Column::ProviderId.eq(auth_domain::CREDENTIAL_PROVIDER_ID))
            .one(&self.db)
            .await
            .map_err(port_error)?;
        Ok(row.map(mapping::account_from_row))
    }

    async fn update_password(
        &self,
        id: &AccountId,
        hash: &PasswordHash,
        updated_at: OffsetDateTime,
    ) -> Result<(), PortError> {
        one_row(
            account::Entity::update_many()
                .col_expr(
                    account::Column::Password,
                    Expr::value(hash.as_str().to_owned()),
                )
                .col_expr(account::Column::UpdatedAt, Expr::value(updated_at))
                .filter(account::Column::Id.eq(id.as_str()))
                .exec(&self.db)
                .await,
        )
    }
}

#[async_trait::async_trait]
impl SessionRepo for SeaOrmStore {
    async fn create(&self, session: &Session) -> Result<(), PortError> {
        session::Entity::insert(mapping::session_to_row(session))
            .exec_without_returning(&self.db)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn find_with_user(
        &self,
        token: &SessionToken,
    ) -> Result<Option<(Session, User)>, PortError> {
        let row = session::Entity::find()
            .filter(session::Column::Token.eq(token.expose()))
            .find_also_related(user::Entity)
            .one(&self.db)
            .await
            .map_err(port_error)?;
        Ok(row.and_then(|(session, user)| {
            user.map(|user| {
                (
                    mapping::session_from_row(session),
                    mapping::user_from_row(user),
                )
            })
        }))
    }

    async fn update_expiry(
        &self,
        id: &SessionId,
        expires_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    ) -> Result<(), PortError> {
        one_row(
            session::Entity::update_many()
                .col_expr(session::Column::ExpiresAt, Expr::value(expires_at))
                .col_expr(session::Column::UpdatedAt, Expr::value(updated_at))
                .filter(session::Column::Id.eq(id.as_str()))
                .exec(&self.db)
                .await,
        )
    }

    async fn list_active(
        &self,
        user_id: &UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, PortError> {
        // Expiry is compared here rather than in SQL: SQLite keeps dates as text whose format
        // depends on the writer (Better-Auth or us), so text comparison is not reliable.
        let rows = session::Entity::find()
            .filter(session::Column::UserId.eq(user_id.as_str()))
            .all(&self.db)
            .await
            .map_err(port_error)?;
        let mut sessions: Vec<Session> = rows
            .into_iter()
            .map(mapping::session_from_row)
            .filter(|session| session.expires_at > now)
            .collect();
        sessions.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(sessions)
    }

    async fn delete_by_token(&self, token: &SessionToken) -> Result<bool, PortError> {
        let result = session::Entity::delete_many()
            .filter(session::Column::Token.eq(token.expose()))
            .exec(&self.db)
            .await
            .map_err(port_error)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete_for_user(
        &self,
        user_id: &UserId,
        keep: Option<SessionToken>,
    ) -> Result<u64, PortError> {
        let mut query =
            session::Entity::delete_many().filter(session::Column::UserId.eq(user_id.as_str()));
        if let Some(keep) = keep {
            query = query.filter(session::Column::Token.ne(keep.expose()));
        }
        let result = query.exec(&self.db).await.map_err(port_error)?;
        Ok(result.rows_affected)
    }
}

#[async_trait::async_trait]
impl VerificationRepo for SeaOrmStore {
    async fn create(&self, record: &Verification) -> Result<(), PortError> {
        verification::Entity::insert(mapping::verification_to_row(record))
            .exec_without_returning(&self.db)
            .await
            .map_err(port_error)?;
        Ok(())
    }

    async fn find_latest(&self, identifier: &str) -> Result<Option<Verification>, PortError> {
        let rows = verification::Entity::find()
            .filter(verification::Column::Identifier.eq(identifier))
            .all(&self.db)
            .await
            .map_err(port_error)?;
        Ok(rows
            .into_iter()
            .map(mapping::verification_from_row)
            .max_by_key(|record| record.created_at))
    }

    async fn delete(&self, id: &VerificationId) -> Result<bool, PortError> {
        let result = verification::Entity::delete_by_id(id.as_str())
            .exec(&self.db)
            .await
            .map_err(port_error)?;
        Ok(result.rows_affected > 0)
    }
}
