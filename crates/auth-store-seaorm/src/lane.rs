//! The read lane: a few connections taken out of the pool for the hottest reads (a session
//! with its user, an API key by its digest). sqlx pings every connection it takes back into its
//! pool, a second round trip for each query (to SQLite's worker thread, or to Postgres over the
//! network); a connection held here runs its query and nothing else.
//!
//! A held connection is lent to one query at a time and put back only when the query has
//! finished: a query dropped halfway (its request cancelled) drops its connection with it, so
//! no connection is ever reused in the middle of an answer. A connection that failed is dropped
//! too, and a new one is taken from the pool at the next use. As the pool does, a connection
//! idle for a while is pinged before it is used and one past its age is replaced, so that one
//! dropped by a proxy or left on a server that was switched away from does not answer.

use std::time::{Duration, Instant};

use auth_ports::PortError;
use sea_orm::{DatabaseConnection, DbBackend, QueryResult, sqlx};
use tokio::sync::{Mutex, Semaphore};

use crate::error::port_error;
use crate::store::IDLE_BEFORE_PING;

/// A lane connection older than this is replaced by a new one from the pool.
const MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// A connection of the lane, out of the pool, with when it was opened and last used.
struct Held {
    connection: Connection,
    opened: Instant,
    used: Instant,
}

enum Connection {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqliteConnection),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgConnection),
}

/// The lane of a store: `slots` connections (taken from the pool when first needed), one query
/// each at a time; callers past them wait, as long as the pool's acquire timeout at most (the
/// wait for a slot and for a new connection together).
pub(crate) struct ReadLane {
    db: DatabaseConnection,
    slots: Vec<Mutex<Option<Held>>>,
    free: Semaphore,
    acquire_timeout: Duration,
}

impl ReadLane {
    /// A lane of `size` connections over the pool of `db`.
    pub(crate) fn new(db: DatabaseConnection, size: usize, acquire_timeout: Duration) -> Self {
        let size = size.max(1);
        Self {
            db,
            slots: (0..size).map(|_| Mutex::new(None)).collect(),
            free: Semaphore::new(size),
            acquire_timeout,
        }
    }

    /// The row `sql` (with one parameter, bound to `value`) returns first, if any.
    pub(crate) async fn first_row(
        &self,
        sql: String,
        value: &str,
    ) -> Result<Option<QueryResult>, PortError> {
        let deadline = tokio::time::Instant::now() + self.acquire_timeout;
        let _permit = tokio::time::timeout_at(deadline, self.free.acquire())
            .await
            .map_err(|_| timed_out())?
            .map_err(|_| PortError::Unavailable("the read lane is closed".into()))?;
        // A permit guarantees a free slot.
        let mut slot = self
            .slots
            .iter()
            .find_map(|slot| slot.try_lock().ok())
            .ok_or_else(|| PortError::Internal("a read lane permit without a free slot".into()))?;
        // Lent out: put back only when the query has run to its end.
        let held = match slot.take() {
            Some(held) => usable(held).await,
            None => None,
        };
        let mut held = match held {
            Some(held) => held,
            None => tokio::time::timeout_at(deadline, self.open())
                .await
                .map_err(|_| timed_out())??,
        };
        match fetch(&mut held.connection, sql, value).await {
            Ok(row) => {
                held.used = Instant::now();
                *slot = Some(held);
                Ok(row)
            }
            Err(error) => Err(port_error(error)),
        }
    }

    /// A connection of the pool, taken out of it (the pool may open another in its place).
    async fn open(&self) -> Result<Held, PortError> {
        let connection = match self.db.get_database_backend() {
            #[cfg(feature = "sqlite")]
            DbBackend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                let acquired = pool.acquire().await;
                Connection::Sqlite(
                    acquired
                        .map_err(|error| port_error(db_error(error)))?
                        .detach(),
                )
            }
            #[cfg(feature = "postgres")]
            DbBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                let acquired = pool.acquire().await;
                Connection::Postgres(
                    acquired
                        .map_err(|error| port_error(db_error(error)))?
                        .detach(),
                )
            }
            _ => return Err(PortError::Internal("no read lane for this database".into())),
        };
        let now = Instant::now();
        Ok(Held {
            connection,
            opened: now,
            used: now,
        })
    }
}

/// No slot or connection in time: counted as a database timeout.
fn timed_out() -> PortError {
    port_error(db_error(sqlx::Error::PoolTimedOut))
}

/// `held`, unless it is past its age or, idle for a while, does not answer a ping.
async fn usable(mut held: Held) -> Option<Held> {
    if held.opened.elapsed() >= MAX_AGE {
        return None;
    }
    if held.used.elapsed() < IDLE_BEFORE_PING {
        return Some(held);
    }
    use sqlx::Connection as _;
    let answered = match &mut held.connection {
        #[cfg(feature = "sqlite")]
        Connection::Sqlite(connection) => connection.ping().await,
        #[cfg(feature = "postgres")]
        Connection::Postgres(connection) => connection.ping().await,
    };
    answered.ok().map(|()| held)
}

/// Runs the query on a held connection.
async fn fetch(
    held: &mut Connection,
    sql: String,
    value: &str,
) -> Result<Option<QueryResult>, sea_orm::DbErr> {
    // The SQL is the store's own (built by sea-query), never text from a request.
    let sql = sqlx::AssertSqlSafe(sql);
    let row = match held {
        #[cfg(feature = "sqlite")]
        Connection::Sqlite(connection) => sqlx::query(sql)
            .bind(value)
            .fetch_optional(connection)
            .await
            .map(|row| row.map(QueryResult::from)),
        #[cfg(feature = "postgres")]
        Connection::Postgres(connection) => sqlx::query(sql)
            .bind(value)
            .fetch_optional(connection)
            .await
            .map(|row| row.map(QueryResult::from)),
    };
    row.map_err(db_error)
}

/// A driver error as sea-orm's, so that [`port_error`] sorts it like any other.
fn db_error(error: sqlx::Error) -> sea_orm::DbErr {
    sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(error.into()))
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use std::time::Duration;

    use auth_ports::PortError;

    use crate::test_db::TestDatabase;

    #[expect(
        clippy::expect_used,
        reason = "a test helper: a missing row fails the test"
    )]
    fn text(row: Option<sea_orm::QueryResult>) -> String {
        row.expect("a row")
            .try_get::<String>("", "v")
            .expect("column v")
    }

    #[tokio::test]
    async fn answers_come_from_the_query_asked_and_a_failed_query_leaves_the_lane_working() {
        let database = TestDatabase::sqlite();
        let store = database.store().await;
        let lane = &store.lane;
        for value in ["a", "b", "c"] {
            let row = lane
                .first_row("SELECT ? AS v".to_owned(), value)
                .await
                .expect("read");
            assert_eq!(text(row), value);
        }
        let broken = lane
            .first_row("SELECT * FROM no_such_table WHERE x = ?".to_owned(), "a")
            .await;
        assert!(matches!(broken, Err(PortError::Internal(_))), "{broken:?}");
        let row = lane
            .first_row("SELECT ? AS v".to_owned(), "after")
            .await
            .expect("read");
        assert_eq!(
            text(row),
            "after",
            "a new connection took the failed one's place"
        );
        let none = lane
            .first_row("SELECT 1 AS v WHERE 1 = ?".to_owned(), "2")
            .await
            .expect("read");
        assert!(none.is_none());
        database.cleanup().await;
    }

    #[tokio::test]
    async fn a_connection_past_its_age_is_replaced_and_an_idle_one_is_pinged_first() {
        let database = TestDatabase::sqlite();
        let store = database.store().await;
        let lane = &store.lane;
        let earlier = |by: Duration| {
            std::time::Instant::now()
                .checked_sub(by)
                .expect("the clock is past it")
        };
        let mut old = lane.open().await.expect("open");
        old.opened = earlier(super::MAX_AGE);
        assert!(super::usable(old).await.is_none(), "too old");
        let mut idle = lane.open().await.expect("open");
        idle.used = earlier(super::IDLE_BEFORE_PING);
        let pinged = super::usable(idle).await.expect("it answers its ping");
        drop(pinged);
        let fresh = lane.open().await.expect("open");
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
        let lane = super::ReadLane::new(store.db.clone(), 1, Duration::from_millis(200));
        let slow = "SELECT pg_sleep(0.5)::text AS s, $1::text AS v".to_owned();
        let cancelled = tokio::time::timeout(
            Duration::from_millis(50),
            lane.first_row(slow.clone(), "first"),
        )
        .await;
        assert!(cancelled.is_err(), "cancelled halfway");
        let row = lane
            .first_row("SELECT $1::text AS v".to_owned(), "second")
            .await
            .expect("read");
        assert_eq!(text(row), "second", "never the cancelled query's answer");

        // One slot, held by a slow query: the next caller gives up after the acquire timeout.
        let (held, waiting) = tokio::join!(lane.first_row(slow, "held"), async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            lane.first_row("SELECT $1::text AS v".to_owned(), "waiting")
                .await
        });
        assert_eq!(text(held.expect("the slow query")), "held");
        assert!(
            matches!(waiting, Err(PortError::Unavailable(_))),
            "{waiting:?}"
        );
        database.cleanup().await;
    }
}
