//! The read lane: the store's hottest reads (a session with its user, an API key by its
//! digest), on connections kept out of the pool.
//!
//! On an SQLite file, the lane holds SQLite connections of its own and reads in place, on the
//! calling thread. sqlx runs each SQLite connection on a thread of its own and hands it every
//! query and hands back every row: the thread switches cost more than the read (a third of the
//! CPU of a session check that missed the cache, where the SQL itself took under 1 %). A read
//! here looks one row up by a unique key, microseconds when the pages are in memory, and never
//! waits for a lock: a busy database, any SQLite error, or a value this reader does not decode
//! (a date in a format other than RFC 3339, say) sends the read through the pool instead, so
//! that every row reads as the pool reads it. After an SQLite error other than a lock, or a
//! file that will not open, the lane opens no connection of its own for a while. An in-memory
//! database is read through the pool.
//!
//! On Postgres, a held connection runs its query and nothing else: sqlx pings every
//! connection it takes back into its pool, a second round trip for each query. It is lent to
//! one query at a time and put back only when the query has finished: a query dropped halfway
//! (its request cancelled) drops its connection with it, so no connection is ever reused in the
//! middle of an answer.
//!
//! Either way, a connection that failed is dropped, and a new one is opened at the next use.
//! As the pool does, a connection idle for a while is pinged before it is used (Postgres), and
//! one past its age is replaced, so that one dropped by a proxy, left on a server that was
//! switched away from, or open on a file that was replaced, does not answer.

use std::time::{Duration, Instant};

use auth_ports::PortError;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, FromQueryResult,
    QueryResult, Statement, TryGetError, TryIntoModel, sqlx,
};
use tokio::sync::{Mutex, MutexGuard, Semaphore, SemaphorePermit};

use crate::error::port_error;

#[cfg(feature = "sqlite")]
mod sqlite;

/// A lane connection older than this is replaced by a new one.
const MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// How long the lane opens no SQLite connection after the file failed to open or to read.
#[cfg(feature = "sqlite")]
const REOPEN_AFTER: Duration = Duration::from_secs(30);

/// A connection of the lane, with when it was opened and last used.
struct Held {
    connection: Connection,
    opened: Instant,
    used: Instant,
}

impl Held {
    fn new(connection: Connection) -> Self {
        let now = Instant::now();
        Self {
            connection,
            opened: now,
            used: now,
        }
    }
}

enum Connection {
    #[cfg(feature = "sqlite")]
    Sqlite(rusqlite::Connection),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgConnection),
}

/// A row the lane read, handed to the caller's decoder: from the pool or a held Postgres
/// connection, or read in place from SQLite.
pub(crate) enum LaneRow<'r> {
    Pool(&'r QueryResult),
    #[cfg(feature = "sqlite")]
    Sqlite(&'r rusqlite::Row<'r>),
}

/// The lane of a store: `slots` connections (opened when first needed), one query each at a
/// time; callers past them wait, as long as the pool's acquire timeout at most (the wait for a
/// slot and for a new connection together).
pub(crate) struct ReadLane {
    db: DatabaseConnection,
    /// The SQLite file read in place, when the store is on one.
    #[cfg(feature = "sqlite")]
    sqlite_file: Option<sqlite::File>,
    /// After the file failed to open or to read: no new attempt (nor warning) before this
    /// instant.
    #[cfg(feature = "sqlite")]
    reopen_after: std::sync::Mutex<Option<Instant>>,
    slots: Vec<Mutex<Option<Held>>>,
    free: Semaphore,
    acquire_timeout: Duration,
}

impl ReadLane {
    /// A lane of `size` connections for the store at `url` over the pool of `db`.
    pub(crate) fn new(
        db: DatabaseConnection,
        url: &str,
        size: usize,
        acquire_timeout: Duration,
    ) -> Self {
        let size = size.max(1);
        #[cfg(not(feature = "sqlite"))]
        let _ = url;
        Self {
            db,
            #[cfg(feature = "sqlite")]
            sqlite_file: sqlite::file(url),
            #[cfg(feature = "sqlite")]
            reopen_after: std::sync::Mutex::new(None),
            slots: (0..size).map(|_| Mutex::new(None)).collect(),
            free: Semaphore::new(size),
            acquire_timeout,
        }
    }

    /// The first row `sql` (with one parameter, bound to `value`) returns, if any, as
    /// `decode` reads it.
    pub(crate) async fn first_row<T>(
        &self,
        sql: &str,
        value: &str,
        decode: impl Fn(&LaneRow<'_>) -> Result<T, DbErr>,
    ) -> Result<Option<T>, PortError> {
        match self.db.get_database_backend() {
            #[cfg(feature = "sqlite")]
            DbBackend::Sqlite => {
                if let Some(read) = self.read_in_place(sql, value, &decode).await? {
                    return Ok(read);
                }
                self.through_pool(sql, value, &decode).await
            }
            #[cfg(feature = "postgres")]
            DbBackend::Postgres => self.read_held(sql, value, &decode).await,
            _ => self.through_pool(sql, value, &decode).await,
        }
    }

    /// A free slot, with the permit that guarantees it, waited for until `deadline`.
    async fn lend(
        &self,
        deadline: tokio::time::Instant,
    ) -> Result<(SemaphorePermit<'_>, MutexGuard<'_, Option<Held>>), PortError> {
        let permit = tokio::time::timeout_at(deadline, self.free.acquire())
            .await
            .map_err(|_| timed_out())?
            .map_err(|_| PortError::Unavailable("the read lane is closed".into()))?;
        // A permit guarantees a free slot.
        let slot = self
            .slots
            .iter()
            .find_map(|slot| slot.try_lock().ok())
            .ok_or_else(|| PortError::Internal("a read lane permit without a free slot".into()))?;
        Ok((permit, slot))
    }

    /// The read through the pool, as any other query.
    async fn through_pool<T>(
        &self,
        sql: &str,
        value: &str,
        decode: &impl Fn(&LaneRow<'_>) -> Result<T, DbErr>,
    ) -> Result<Option<T>, PortError> {
        let statement =
            Statement::from_sql_and_values(self.db.get_database_backend(), sql, [value.into()]);
        let row = self.db.query_one_raw(statement).await.map_err(port_error)?;
        row.map(|row| decode(&LaneRow::Pool(&row)))
            .transpose()
            .map_err(port_error)
    }

    /// The read on a held SQLite connection, on this thread; `None` when it is to go through
    /// the pool instead (an in-memory database, or a read that gave way).
    #[cfg(feature = "sqlite")]
    async fn read_in_place<T>(
        &self,
        sql: &str,
        value: &str,
        decode: &impl Fn(&LaneRow<'_>) -> Result<T, DbErr>,
    ) -> Result<Option<Option<T>>, PortError> {
        let Some(file) = &self.sqlite_file else {
            return Ok(None);
        };
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        let (_permit, mut slot) = self.lend(deadline).await?;
        let held = slot.take().filter(|held| held.opened.elapsed() < MAX_AGE);
        let mut held = match held {
            Some(held) => held,
            None => match self.open_sqlite(file) {
                Some(connection) => Held::new(Connection::Sqlite(connection)),
                None => return Ok(None),
            },
        };
        let read = match &held.connection {
            Connection::Sqlite(connection) => sqlite::read(connection, sql, value, decode),
            #[cfg(feature = "postgres")]
            Connection::Postgres(_) => return Ok(None),
        };
        match read {
            Ok(row) => {
                held.used = Instant::now();
                *slot = Some(held);
                Ok(Some(row))
            }
            Err(sqlite::InPlace::Undecoded(error)) => {
                *slot = Some(held);
                tracing::debug!(%error, "a row read in place is read again through the pool");
                Ok(None)
            }
            Err(sqlite::InPlace::Sqlite(error)) => {
                if sqlite::is_busy(&error) {
                    tracing::debug!(%error, "a read in place met a lock; reading through the pool");
                } else {
                    self.pause(&error);
                }
                Ok(None)
            }
        }
    }

    /// A new connection on the file; `None` while reading in place is paused.
    #[cfg(feature = "sqlite")]
    fn open_sqlite(&self, file: &sqlite::File) -> Option<rusqlite::Connection> {
        let paused = self
            .reopen_after
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|after| Instant::now() < after);
        if paused {
            return None;
        }
        match sqlite::open(file) {
            Ok(connection) => Some(connection),
            Err(error) => {
                self.pause(&error);
                None
            }
        }
    }

    /// Opens no connection for [`REOPEN_AFTER`] (reads go through the pool), after the file
    /// failed to open or to read (other than busy), so that a lasting failure costs neither an
    /// attempt nor a log line per read.
    #[cfg(feature = "sqlite")]
    fn pause(&self, error: &rusqlite::Error) {
        *self
            .reopen_after
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(Instant::now() + REOPEN_AFTER);
        tracing::warn!(
            %error,
            "the read lane cannot read the SQLite file in place; reading through the pool for 30 s"
        );
    }

    /// The read on a held Postgres connection.
    #[cfg(feature = "postgres")]
    async fn read_held<T>(
        &self,
        sql: &str,
        value: &str,
        decode: &impl Fn(&LaneRow<'_>) -> Result<T, DbErr>,
    ) -> Result<Option<T>, PortError> {
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        let (_permit, mut slot) = self.lend(deadline).await?;
        // Lent out: put back only when the query has run to its end.
        let held = match slot.take() {
            Some(held) => usable(held).await,
            None => None,
        };
        let mut held = match held {
            Some(held) => held,
            None => tokio::time::timeout_at(deadline, self.open_postgres())
                .await
                .map_err(|_| timed_out())??,
        };
        let fetched = match &mut held.connection {
            Connection::Postgres(connection) => fetch_postgres(connection, sql, value).await,
            #[cfg(feature = "sqlite")]
            Connection::Sqlite(_) => Err(DbErr::Custom(
                "an SQLite connection in a Postgres lane".into(),
            )),
        };
        match fetched {
            Ok(row) => {
                held.used = Instant::now();
                *slot = Some(held);
                row.map(|row| decode(&LaneRow::Pool(&row)))
                    .transpose()
                    .map_err(port_error)
            }
            Err(error) => Err(port_error(error)),
        }
    }

    /// A connection of the pool, taken out of it (the pool may open another in its place).
    #[cfg(feature = "postgres")]
    async fn open_postgres(&self) -> Result<Held, PortError> {
        let pool = self.db.get_postgres_connection_pool();
        let acquired = pool.acquire().await;
        let connection = acquired
            .map_err(|error| port_error(db_error(error)))?
            .detach();
        Ok(Held::new(Connection::Postgres(connection)))
    }
}

impl LaneRow<'_> {
    /// The model of entity `E` from the columns named `<prefix><column>`; `None` when they are
    /// all null (a left join that found nothing).
    pub(crate) fn model<E>(&self, prefix: &str) -> Result<Option<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::ActiveModel: TryIntoModel<E::Model>,
    {
        match self {
            // Not `from_query_result_optional`, which reads any error as "no row".
            Self::Pool(row) => match E::Model::from_query_result_nullable(row, prefix) {
                Ok(model) => Ok(Some(model)),
                Err(TryGetError::Null(_)) => Ok(None),
                Err(TryGetError::DbErr(error)) => Err(error),
            },
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => sqlite::model::<E>(row, prefix),
        }
    }

    /// A boolean column.
    pub(crate) fn boolean(&self, column: &str) -> Result<Option<bool>, DbErr> {
        match self {
            Self::Pool(row) => row.try_get::<Option<bool>>("", column),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => sqlite::boolean(row, column),
        }
    }

    /// A text column.
    pub(crate) fn text(&self, column: &str) -> Result<Option<String>, DbErr> {
        match self {
            Self::Pool(row) => row.try_get::<Option<String>>("", column),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => sqlite::text(row, column),
        }
    }
}

/// No slot or connection in time: counted as a database timeout.
fn timed_out() -> PortError {
    port_error(db_error(sqlx::Error::PoolTimedOut))
}

/// `held`, unless it is past its age or, idle for a while, does not answer a ping.
#[cfg(feature = "postgres")]
async fn usable(mut held: Held) -> Option<Held> {
    if held.opened.elapsed() >= MAX_AGE {
        return None;
    }
    if held.used.elapsed() < crate::store::IDLE_BEFORE_PING {
        return Some(held);
    }
    use sqlx::Connection as _;
    let answered = match &mut held.connection {
        #[cfg(feature = "sqlite")]
        Connection::Sqlite(_) => return Some(held),
        Connection::Postgres(connection) => connection.ping().await,
    };
    answered.ok().map(|()| held)
}

/// Runs the query on a held Postgres connection.
#[cfg(feature = "postgres")]
async fn fetch_postgres(
    connection: &mut sqlx::PgConnection,
    sql: &str,
    value: &str,
) -> Result<Option<QueryResult>, DbErr> {
    // The SQL is the store's own (built by sea-query), never text from a request.
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    sqlx::query(sql)
        .bind(value)
        .fetch_optional(connection)
        .await
        .map(|row| row.map(QueryResult::from))
        .map_err(db_error)
}

/// A driver error as sea-orm's, so that [`port_error`] sorts it like any other.
fn db_error(error: sqlx::Error) -> DbErr {
    DbErr::Query(sea_orm::RuntimeErr::SqlxError(error.into()))
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use std::time::Duration;

    use auth_ports::PortError;
    use sea_orm::{
        ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryTrait,
    };

    use super::{Connection, LaneRow, ReadLane};
    use crate::entity::{apikey, session, user};
    use crate::test_db::TestDatabase;

    fn text(row: &LaneRow<'_>) -> Result<Option<String>, DbErr> {
        row.text("v")
    }

    /// How many of the lane's slots hold an SQLite connection read in place.
    async fn held_in_place(lane: &ReadLane) -> usize {
        let mut count = 0;
        for slot in &lane.slots {
            let slot = slot.lock().await;
            #[allow(
                irrefutable_let_patterns,
                reason = "Postgres may be left out of the build"
            )]
            if let Some(super::Held {
                connection: Connection::Sqlite(_),
                ..
            }) = &*slot
            {
                count += 1;
            }
        }
        count
    }

    #[tokio::test]
    async fn answers_come_from_the_query_asked_and_a_failed_query_leaves_the_lane_working() {
        let database = TestDatabase::sqlite();
        let store = database.store().await;
        let lane = &store.lane;
        for value in ["a", "b", "c"] {
            let row = lane
                .first_row("SELECT ? AS v", value, text)
                .await
                .expect("read");
            assert_eq!(row, Some(Some(value.to_owned())));
        }
        assert_eq!(
            held_in_place(lane).await,
            1,
            "one connection, read in place"
        );
        let broken = lane
            .first_row("SELECT * FROM no_such_table WHERE x = ?", "a", text)
            .await;
        assert!(matches!(broken, Err(PortError::Internal(_))), "{broken:?}");
        assert_eq!(
            held_in_place(lane).await,
            0,
            "the failed connection is dropped"
        );
        let row = lane.first_row("SELECT ? AS v", "paused", text).await;
        assert_eq!(row.expect("read"), Some(Some("paused".to_owned())));
        assert_eq!(
            held_in_place(lane).await,
            0,
            "read through the pool for a while"
        );
        *lane.reopen_after.lock().expect("not poisoned") = Some(std::time::Instant::now());
        let row = lane
            .first_row("SELECT ? AS v", "after", text)
            .await
            .expect("read");
        assert_eq!(
            row,
            Some(Some("after".to_owned())),
            "a new connection took the failed one's place"
        );
        assert_eq!(held_in_place(lane).await, 1);
        let none = lane
            .first_row("SELECT 1 AS v WHERE 1 = ?", "2", text)
            .await
            .expect("read");
        assert!(none.is_none());
        database.cleanup().await;
    }

    /// Better-Auth's rows (ISO dates with `Z`, booleans as 0/1), with every optional column
    /// set and with none, and a session whose user is gone.
    const ROWS: &str = r#"
PRAGMA foreign_keys = OFF;
INSERT INTO "user" ("id","name","email","emailVerified","image","createdAt","updatedAt")
  VALUES ('u1','Ada','ada@example.com',1,'https://example.com/a.png','2026-11-25T08:31:47.755Z','2026-11-25T08:31:47.755Z'),
         ('u2','Bo','bo@example.com',0,NULL,'2026-11-25T08:31:47Z','2026-11-25T10:31:47.001+02:00');
INSERT INTO "session" ("id","expiresAt","token","createdAt","updatedAt","ipAddress","userAgent","userId")
  VALUES ('s1','2099-12-02T08:31:47.758Z','t1','2026-11-25T08:31:47.758Z','2026-11-25T08:31:47.758Z','203.0.113.9','node','u1'),
         ('s2','2099-12-02T08:31:47.758Z','t2','2026-11-25T08:31:47.758Z','2026-11-25T08:31:47.758Z',NULL,NULL,'u2'),
         ('s3','2099-12-02T08:31:47.758Z','t3','2026-11-25T08:31:47.758Z','2026-11-25T08:31:47.758Z',NULL,NULL,'gone');
INSERT INTO "apikey" ("id","configId","name","start","referenceId","prefix","key","refillInterval","refillAmount","lastRefillAt","enabled","rateLimitEnabled","rateLimitTimeWindow","rateLimitMax","requestCount","remaining","lastRequest","expiresAt","createdAt","updatedAt","permissions","metadata")
  VALUES ('k1','default','ci','ab_xyz','u1','ab_','d1',86400000,100,'2026-11-25T08:31:47.758Z',1,0,60000,10,3,97,'2026-11-26T08:31:47.758Z','2099-01-01T00:00:00.000Z','2026-11-25T08:31:47.758Z','2026-11-25T08:31:47.758Z','{"reports":["read"]}','{"team":"x"}'),
         ('k2','default',NULL,NULL,'u2',NULL,'d2',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,'2026-11-25T08:31:47.758Z','2026-11-25T08:31:47.758Z',NULL,NULL);
PRAGMA foreign_keys = ON;
"#;

    /// A store on a new SQLite file holding [`ROWS`].
    async fn with_rows() -> (TestDatabase, crate::SeaOrmStore) {
        let database = TestDatabase::sqlite();
        let store = database.store().await;
        run(&store, ROWS).await;
        (database, store)
    }

    #[expect(
        clippy::expect_used,
        reason = "a test helper: a statement that fails fails the test"
    )]
    async fn run(store: &crate::SeaOrmStore, sql: &str) {
        store.db.execute_unprepared(sql).await.expect("written");
    }

    #[tokio::test]
    async fn a_row_reads_the_same_in_place_as_through_the_pool() {
        let (database, store) = with_rows().await;
        let lane = &store.lane;
        let with_user = |token: &str| {
            session::Entity::find()
                .filter(session::Column::Token.eq(token))
                .find_also_related(user::Entity)
                .build(DbBackend::Sqlite)
                .sql
        };
        let both = |row: &LaneRow<'_>| {
            Ok((
                row.model::<session::Entity>("A_")?,
                row.model::<user::Entity>("B_")?,
            ))
        };
        for token in ["t1", "t2", "t3"] {
            let sql = with_user(token);
            let in_place = lane.read_in_place(&sql, token, &both).await.expect("read");
            let pooled = lane.through_pool(&sql, token, &both).await.expect("read");
            let in_place = in_place.expect("read in place").expect("a row");
            assert_eq!(Some(&in_place), pooled.as_ref(), "{token}");
            assert!(in_place.0.is_some(), "{token}");
            assert_eq!(
                in_place.1.is_some(),
                token != "t3",
                "a session without its user"
            );
        }
        let by_digest = apikey::Entity::find()
            .filter(apikey::Column::Key.eq("d1"))
            .build(DbBackend::Sqlite)
            .sql;
        let key = |row: &LaneRow<'_>| row.model::<apikey::Entity>("");
        for digest in ["d1", "d2"] {
            let in_place = lane
                .read_in_place(&by_digest, digest, &key)
                .await
                .expect("read");
            let pooled = lane
                .through_pool(&by_digest, digest, &key)
                .await
                .expect("read");
            let in_place = in_place
                .expect("read in place")
                .expect("a row")
                .expect("a key");
            assert_eq!(Some(Some(in_place)), pooled, "{digest}");
        }
        database.cleanup().await;
    }

    #[tokio::test]
    async fn a_row_of_nulls_is_no_model_and_a_required_null_among_values_is_the_pools_error() {
        let (database, store) = with_rows().await;
        let lane = &store.lane;
        let session = |row: &LaneRow<'_>| row.model::<session::Entity>("");
        let nulls = r#"SELECT NULL AS "id", NULL AS "expiresAt", NULL AS "token", NULL AS "createdAt", NULL AS "updatedAt", NULL AS "ipAddress", NULL AS "userAgent", NULL AS "userId" FROM "session" WHERE "token" = ?"#;
        let one_null = r#"SELECT "id", NULL AS "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId" FROM "session" WHERE "token" = ?"#;
        let in_place = lane
            .read_in_place(nulls, "t2", &session)
            .await
            .expect("read");
        let pooled = lane
            .through_pool(nulls, "t2", &session)
            .await
            .expect("read");
        assert_eq!(in_place, Some(Some(None)), "all null: no model");
        assert_eq!(pooled, Some(None), "as the pool reads it");
        let gave_way = lane
            .read_in_place(one_null, "t1", &session)
            .await
            .expect("read");
        assert!(gave_way.is_none(), "left to the pool");
        assert_eq!(held_in_place(lane).await, 1, "the connection stays");
        let refused = lane.first_row(one_null, "t1", session).await;
        assert!(
            matches!(refused, Err(PortError::Internal(_))),
            "{refused:?}"
        );
        database.cleanup().await;
    }

    #[tokio::test]
    async fn a_value_not_read_in_place_is_read_through_the_pool_as_before() {
        let (database, store) = with_rows().await;
        // A date the driver reads and the reader in place does not: space-separated, no zone.
        run(
            &store,
            r#"UPDATE "session" SET "createdAt" = '2026-11-25 08:31:47.758' WHERE "id" = 's1'"#,
        )
        .await;
        let find = |token: &str| {
            let token = auth_domain::SessionToken::new(token.to_owned());
            let store = store.clone();
            async move { auth_ports::SessionRepo::find_with_user(&store, &token).await }
        };
        let (session, user) = find("t1").await.expect("read").expect("found");
        assert_eq!(session.created_at.millisecond(), 758);
        assert_eq!(session.created_at.offset(), time::UtcOffset::UTC);
        assert_eq!(user.name, "Ada");
        assert_eq!(
            held_in_place(&store.lane).await,
            1,
            "the connection stays for the next read"
        );
        // A date neither reads (seconds since the epoch) is an error, as it always was.
        run(
            &store,
            r#"UPDATE "session" SET "expiresAt" = 4102444800 WHERE "id" = 's2'"#,
        )
        .await;
        let unreadable = find("t2").await;
        assert!(
            matches!(unreadable, Err(PortError::Internal(_))),
            "{unreadable:?}"
        );
        database.cleanup().await;
    }

    #[tokio::test]
    async fn a_read_in_place_sees_every_write_committed_before_it() {
        let (database, store) = with_rows().await;
        let agent = |row: &LaneRow<'_>| row.text("userAgent");
        let sql = r#"SELECT "userAgent" FROM "session" WHERE "token" = ?"#;
        for written in ["first", "second", "third"] {
            run(
                &store,
                &format!(r#"UPDATE "session" SET "userAgent" = '{written}' WHERE "token" = 't1'"#),
            )
            .await;
            let read = store.lane.first_row(sql, "t1", agent).await.expect("read");
            assert_eq!(read, Some(Some(written.to_owned())), "no older snapshot");
        }
        run(&store, r#"DELETE FROM "session" WHERE "token" = 't1'"#).await;
        let gone = store.lane.first_row(sql, "t1", agent).await.expect("read");
        assert_eq!(gone, None);
        assert_eq!(held_in_place(&store.lane).await, 1);
        database.cleanup().await;
    }

    #[tokio::test]
    async fn a_file_the_lane_cannot_open_is_read_through_the_pool() {
        let database = TestDatabase::sqlite();
        let store = database.store().await;
        let lane = ReadLane::new(
            store.db.clone(),
            "sqlite:///no/such/folder/auth.db?mode=rwc",
            1,
            Duration::from_secs(1),
        );
        let lane = &lane;
        let reopen_after = || *lane.reopen_after.lock().expect("not poisoned");
        let read = |value: &'static str| async move {
            let row = lane.first_row("SELECT ? AS v", value, text).await;
            assert_eq!(row.expect("read"), Some(Some(value.to_owned())));
        };
        read("pooled").await;
        let first = reopen_after().expect("a failed attempt sets when to try again");
        read("again").await;
        assert_eq!(reopen_after(), Some(first), "no new attempt before then");
        assert_eq!(held_in_place(lane).await, 0);
        *lane.reopen_after.lock().expect("not poisoned") = Some(std::time::Instant::now());
        read("later").await;
        assert!(
            reopen_after().is_some_and(|next| next > first),
            "tried again once the time came"
        );
        database.cleanup().await;
    }

    #[tokio::test]
    async fn a_connection_past_its_age_is_replaced() {
        let database = TestDatabase::sqlite();
        let store = database.store().await;
        let lane = &store.lane;
        lane.first_row("SELECT ? AS v", "a", text)
            .await
            .expect("read");
        let aged = std::time::Instant::now()
            .checked_sub(super::MAX_AGE)
            .expect("the clock is past it");
        for slot in &lane.slots {
            if let Some(held) = slot.lock().await.as_mut() {
                held.opened = aged;
            }
        }
        lane.first_row("SELECT ? AS v", "b", text)
            .await
            .expect("read");
        for slot in &lane.slots {
            if let Some(held) = slot.lock().await.as_ref() {
                assert!(held.opened > aged, "replaced by a new connection");
            }
        }
        assert_eq!(held_in_place(lane).await, 1);
        database.cleanup().await;
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn a_postgres_connection_past_its_age_is_replaced_and_an_idle_one_is_pinged_first() {
        let Some(database) = TestDatabase::postgres().await else {
            return;
        };
        let store = database.store().await;
        let lane = &store.lane;
        let earlier = |by: Duration| {
            std::time::Instant::now()
                .checked_sub(by)
                .expect("the clock is past it")
        };
        let mut old = lane.open_postgres().await.expect("open");
        old.opened = earlier(super::MAX_AGE);
        assert!(super::usable(old).await.is_none(), "too old");
        let mut idle = lane.open_postgres().await.expect("open");
        idle.used = earlier(crate::store::IDLE_BEFORE_PING);
        let pinged = super::usable(idle).await.expect("it answers its ping");
        drop(pinged);
        let fresh = lane.open_postgres().await.expect("open");
        assert!(super::usable(fresh).await.is_some());
        database.cleanup().await;
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn a_cancelled_query_drops_its_connection_and_callers_past_the_lane_wait_a_bounded_time()
    {
        let Some(database) = TestDatabase::postgres().await else {
            return;
        };
        let store = database.store().await;
        let lane = ReadLane::new(
            store.db.clone(),
            &database.url,
            1,
            Duration::from_millis(200),
        );
        let slow = "SELECT pg_sleep(0.5)::text AS s, $1::text AS v";
        let cancelled = tokio::time::timeout(
            Duration::from_millis(50),
            lane.first_row(slow, "first", text),
        )
        .await;
        assert!(cancelled.is_err(), "cancelled halfway");
        let row = lane
            .first_row("SELECT $1::text AS v", "second", text)
            .await
            .expect("read");
        assert_eq!(
            row,
            Some(Some("second".to_owned())),
            "never the cancelled query's answer"
        );

        // One slot, held by a slow query: the next caller gives up after the acquire timeout.
        let (held, waiting) = tokio::join!(lane.first_row(slow, "held", text), async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            lane.first_row("SELECT $1::text AS v", "waiting", text)
                .await
        });
        assert_eq!(held.expect("the slow query"), Some(Some("held".to_owned())));
        assert!(
            matches!(waiting, Err(PortError::Unavailable(_))),
            "{waiting:?}"
        );
        database.cleanup().await;
    }
}
