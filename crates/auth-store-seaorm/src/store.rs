//! `SeaOrmStore`: every storage port on one connection pool.

use std::time::Duration;

use std::sync::Arc;

use auth_domain::{
    Account, AccountId, Email, FieldKind, FieldSpec, FieldValue, Fields, Model, PasswordHash,
    Session, SessionId, SessionToken, User, UserId, Verification, VerificationId,
};
use auth_migrations::{Migrator, MigratorTrait};
use auth_ports::{AccountRepo, PortError, SessionRepo, UserRepo, VerificationRepo};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QuerySelect, QueryTrait, TransactionTrait,
};
use time::OffsetDateTime;

use crate::entity::{account, session, user, verification};
use crate::error::{one_row, port_error};
use crate::fields::{self, DeclaredFields};
use crate::lane::LaneRow;
use crate::mapping;
use crate::query::{Shape, first, first_row};

/// A pooled Postgres connection idle this long is pinged before it is handed out.
pub(crate) const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);

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

/// How many connections the read lane holds besides the pool: as many as the pool for SQLite
/// (a file handle and a page cache each, opened only when reads overlap), a quarter of it for
/// Postgres (each is a server process), at least two.
fn lane_size(config: &StoreConfig) -> usize {
    let pool = config.max_connections as usize;
    if config.url.starts_with("sqlite:") {
        pool.max(2)
    } else {
        (pool / 4).max(2)
    }
}

/// The storage ports on a sea-orm connection pool.
#[derive(Clone)]
pub struct SeaOrmStore {
    pub(crate) db: DatabaseConnection,
    config: StoreConfig,
    fields: Arc<DeclaredFields>,
    pub(crate) shapes: Arc<Shapes>,
    /// Connections out of the pool for the hot lookups.
    pub(crate) lane: Arc<crate::lane::ReadLane>,
}

/// The hot lookups, their SQL built once per store (and again when its fields change).
#[derive(Default)]
pub(crate) struct Shapes {
    session_with_user: Shape,
    pub(crate) key_by_digest: Shape,
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
        let lane = crate::lane::ReadLane::new(
            db.clone(),
            &config.url,
            lane_size(config),
            config.acquire_timeout,
        );
        Ok(Self {
            db,
            config: config.clone(),
            fields: Arc::default(),
            shapes: Arc::default(),
            lane: Arc::new(lane),
        })
    }

    /// The same store, reading and writing the fields the enabled plugins declare on `user` and
    /// `session` (their columns are added by [`SeaOrmStore::add_field_columns`]).
    #[must_use]
    pub fn with_fields(mut self, specs: &[FieldSpec]) -> Self {
        self.fields = Arc::new(DeclaredFields::new(specs));
        self.shapes = Arc::default();
        self
    }

    /// Adds the declared fields' columns that are missing (an adopted Better-Auth database
    /// has its plugins' columns already). Idempotent; run after [`SeaOrmStore::migrate`].
    ///
    /// # Errors
    /// As for [`SeaOrmStore::connect`].
    pub async fn add_field_columns(&self) -> Result<(), PortError> {
        let db = Self::open(&self.config, None, 1).await?;
        let mut added = Ok(());
        for spec in self.fields.all() {
            let kind = match spec.kind {
                FieldKind::Bool | FieldKind::Flag => auth_migrations::PluginColumn::Bool,
                FieldKind::Text => auth_migrations::PluginColumn::Text,
            };
            added =
                auth_migrations::add_plugin_column(&db, fields::table(spec.model), spec.name, kind)
                    .await
                    .map_err(port_error);
            if added.is_err() {
                break;
            }
        }
        let _ = db.close().await;
        added
    }

    /// A user row with its fields.
    fn user_with_fields(&self, row: &LaneRow<'_>, pre: &str) -> Result<Option<User>, DbErr> {
        let Some(model) = row.model::<user::Entity>(pre)? else {
            return Ok(None);
        };
        let mut user = mapping::user_from_row(model);
        user.fields = self.fields.read(row, Model::User, "fu")?;
        Ok(Some(user))
    }

    /// Writes fields of a row, in `db` (a transaction, or the pool).
    async fn write_fields<C: ConnectionTrait>(
        &self,
        db: &C,
        model: Model,
        id: &str,
        fields: &Fields,
    ) -> Result<u64, PortError> {
        let Some(update) = self.fields.update(model, id, fields) else {
            return Ok(0);
        };
        let statement = db.get_database_backend().build(&update);
        let result = db.execute_raw(statement).await.map_err(port_error)?;
        Ok(result.rows_affected())
    }

    async fn find_user_by<F>(&self, filter: F) -> Result<Option<User>, PortError>
    where
        F: sea_orm::sea_query::IntoCondition,
    {
        let select = self
            .fields
            .select(user::Entity::find().filter(filter), Model::User, "fu");
        match first_row(&self.db, select).await? {
            Some(row) => self
                .user_with_fields(&LaneRow::Pool(&row), "")
                .map_err(port_error),
            None => Ok(None),
        }
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
        // The pool's default pings every connection it hands out: one more round trip per
        // query (to SQLite's worker thread, or over the network to Postgres), which halved the
        // throughput of a query-bound route. SQLite is in process and cannot drop a
        // connection; a Postgres connection is pinged only after it sat idle long enough for a
        // server, proxy or firewall to have dropped it.
        if config.url.starts_with("sqlite:") {
            options.test_before_acquire(false);
        } else {
            options.test_before_acquire_if_idle_for(IDLE_BEFORE_PING);
        }
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
        self.write_fields(&txn, Model::User, user.id.as_str(), &user.fields)
            .await?;
        txn.commit().await.map_err(port_error)
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, PortError> {
        self.find_user_by(user::Column::Email.eq(email.as_str()))
            .await
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, PortError> {
        self.find_user_by(user::Column::Id.eq(id.as_str())).await
    }

    async fn update_user_fields(&self, id: &UserId, fields: &Fields) -> Result<(), PortError> {
        match self
            .write_fields(&self.db, Model::User, id.as_str(), fields)
            .await?
        {
            0 if self.find_by_id(id).await?.is_none() => Err(PortError::NotFound),
            _ => Ok(()),
        }
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
                .col_expr(
                    user::Column::Email,
                    Expr::value(user.email.as_str().to_owned()),
                )
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
        let query = account::Entity::find()
            .filter(account::Column::UserId.eq(user_id.as_str()))
            .filter(account::Column::AccountId.eq(user_id.as_str()))
            .filter(account::Column::ProviderId.eq(auth_domain::CREDENTIAL_PROVIDER_ID));
        let row = first(&self.db, query).await?;
        Ok(row.map(mapping::account_from_row))
    }

    async fn create(&self, account: &Account) -> Result<(), PortError> {
        account::Entity::insert(mapping::account_to_row(account))
            .exec_without_returning(&self.db)
            .await
            .map_err(port_error)?;
        Ok(())
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
        let has_fields = session
            .fields
            .iter()
            .any(|(_, value)| *value != FieldValue::Null);
        if !has_fields {
            session::Entity::insert(mapping::session_to_row(session))
                .exec_without_returning(&self.db)
                .await
                .map_err(port_error)?;
            return Ok(());
        }
        let txn = self.db.begin().await.map_err(port_error)?;
        session::Entity::insert(mapping::session_to_row(session))
            .exec_without_returning(&txn)
            .await
            .map_err(port_error)?;
        self.write_fields(&txn, Model::Session, session.id.as_str(), &session.fields)
            .await?;
        txn.commit().await.map_err(port_error)
    }

    async fn find_with_user(
        &self,
        token: &SessionToken,
    ) -> Result<Option<(Session, User)>, PortError> {
        let statement = self.shapes.session_with_user.statement(
            self.db.get_database_backend(),
            vec![token.expose().into()],
            || {
                let select = session::Entity::find()
                    .filter(session::Column::Token.eq(token.expose()))
                    .find_also_related(user::Entity);
                let select = self.fields.select(select, Model::Session, "fs");
                self.fields.select(select, Model::User, "fu")
            },
        );
        let found = self
            .lane
            .first_row(&statement.sql, token.expose(), |row| {
                let Some(user) = self.user_with_fields(row, "B_")? else {
                    return Ok(None);
                };
                let Some(model) = row.model::<session::Entity>("A_")? else {
                    return Ok(None);
                };
                let mut session = mapping::session_from_row(model);
                session.fields = self.fields.read(row, Model::Session, "fs")?;
                Ok(Some((session, user)))
            })
            .await?;
        Ok(found.flatten())
    }

    async fn update_session_fields(
        &self,
        id: &SessionId,
        fields: &Fields,
    ) -> Result<(), PortError> {
        let written = self
            .write_fields(&self.db, Model::Session, id.as_str(), fields)
            .await?;
        if written > 0 {
            return Ok(());
        }
        let exists = session::Entity::find_by_id(id.as_str())
            .count(&self.db)
            .await
            .map_err(port_error)?;
        if exists == 0 {
            Err(PortError::NotFound)
        } else {
            Ok(())
        }
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
        let select = session::Entity::find().filter(session::Column::UserId.eq(user_id.as_str()));
        let rows = if self.fields.of(Model::Session).is_empty() {
            select
                .all(&self.db)
                .await
                .map_err(port_error)?
                .into_iter()
                .map(mapping::session_from_row)
                .collect()
        } else {
            let select = self.fields.select(select, Model::Session, "fs");
            let statement = select.build(self.db.get_database_backend());
            let mut sessions = Vec::new();
            for row in self.db.query_all_raw(statement).await.map_err(port_error)? {
                let model = session::Model::from_query_result(&row, "").map_err(port_error)?;
                let mut session = mapping::session_from_row(model);
                session.fields = self
                    .fields
                    .read(&LaneRow::Pool(&row), Model::Session, "fs")
                    .map_err(port_error)?;
                sessions.push(session);
            }
            sessions
        };
        let mut sessions: Vec<Session> = rows
            .into_iter()
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

    /// In batches, each a short write: a table left to grow is not held locked in one go.
    /// SQLite keeps dates as RFC 3339 text, ours and Better-Auth's alike (`…T12:00:00.123Z`),
    /// which orders as the times do except within one second, where the number of fraction
    /// digits differs.
    async fn delete_expired(&self, before: OffsetDateTime) -> Result<u64, PortError> {
        purge::<verification::Entity>(
            &self.db,
            verification::Column::Id,
            verification::Column::ExpiresAt.lt(before),
        )
        .await
    }
}

/// Deletes the rows of `E` that `condition` selects, [`PURGE_BATCH`] at a time (`id` is the
/// primary key, text): each statement a short write, however many rows there are, and none
/// read into memory but their ids.
pub(crate) async fn purge<E: EntityTrait>(
    db: &DatabaseConnection,
    id: E::Column,
    condition: sea_orm::sea_query::SimpleExpr,
) -> Result<u64, PortError> {
    let mut deleted = 0;
    loop {
        let ids: Vec<String> = E::find()
            .select_only()
            .column(id)
            .filter(condition.clone())
            .limit(PURGE_BATCH)
            .into_tuple()
            .all(db)
            .await
            .map_err(port_error)?;
        if ids.is_empty() {
            return Ok(deleted);
        }
        let result = E::delete_many()
            .filter(id.is_in(ids))
            .exec(db)
            .await
            .map_err(port_error)?;
        if result.rows_affected == 0 {
            // Another instance took this batch: its pass finishes the job.
            return Ok(deleted);
        }
        deleted += result.rows_affected;
    }
}

/// Rows deleted per statement by the purges.
pub(crate) const PURGE_BATCH: u64 = 500;
