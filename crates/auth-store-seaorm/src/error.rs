//! Database errors, translated to `PortError` (the only way they leave the crate).

use auth_ports::PortError;
use sea_orm::{DbErr, RuntimeErr, SqlErr, sqlx};

pub(crate) fn port_error(error: DbErr) -> PortError {
    if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        return PortError::Conflict;
    }
    let kind = kind(&error);
    metrics::counter!("auth_db_errors_total", "kind" => kind.label()).increment(1);
    if kind == Kind::Query {
        tracing::error!(error = %error, "database error");
        return PortError::Internal(Box::new(error));
    }
    tracing::warn!(error = %error, kind = kind.label(), "database unavailable");
    PortError::Unavailable(Box::new(error))
}

/// Creates the `auth_db_errors_total` series at zero, so that they show from the first
/// scrape. Call it once the metrics recorder is installed.
pub fn register_metrics() {
    for kind in [
        Kind::Connection,
        Kind::Timeout,
        Kind::Contention,
        Kind::Query,
    ] {
        metrics::counter!("auth_db_errors_total", "kind" => kind.label()).increment(0);
    }
}

/// An update of one row by its key: `NotFound` when no row had that key.
pub(crate) fn one_row(result: Result<sea_orm::UpdateResult, DbErr>) -> Result<(), PortError> {
    if result.map_err(port_error)?.rows_affected == 0 {
        return Err(PortError::NotFound);
    }
    Ok(())
}

/// What went wrong with the database, for `auth_db_errors_total{kind}`. All but `Query` are
/// worth retrying later and answer `503`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No connection: refused, lost, closed pool, TLS or protocol failure, the server out of
    /// connections or shutting down.
    Connection,
    /// No connection free in time, or a statement over its timeout.
    Timeout,
    /// Writers in each other's way past the busy timeout: SQLite busy or locked, Postgres
    /// serialization failures, deadlocks and lock timeouts.
    Contention,
    /// Anything else: a statement the database refused, a row that does not decode.
    Query,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::Connection => "connection",
            Self::Timeout => "timeout",
            Self::Contention => "contention",
            Self::Query => "query",
        }
    }
}

/// The kind of a SQLSTATE or SQLite code.
fn code_kind(code: &str) -> Kind {
    match code {
        // Postgres: statement timeout.
        "57014" => Kind::Timeout,
        // Postgres: serialization failure, deadlock, lock not available. SQLite: SQLITE_BUSY
        // and SQLITE_LOCKED once the busy timeout has passed, and their extended codes (517,
        // SQLITE_BUSY_SNAPSHOT: a read transaction that cannot become a write one under a
        // concurrent writer).
        "40001" | "40P01" | "55P03" | "5" | "6" | "261" | "262" | "517" | "773" => Kind::Contention,
        // Postgres: 08 connection exception, 53 insufficient resources (too many connections,
        // out of memory, disk full), 57 operator intervention (shutdown 57P0x).
        _ if ["08", "53", "57"]
            .iter()
            .any(|class| code.starts_with(class)) =>
        {
            Kind::Connection
        }
        _ => Kind::Query,
    }
}

fn kind(error: &DbErr) -> Kind {
    match error {
        DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout) => Kind::Timeout,
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => Kind::Connection,
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => {
            match inner.as_ref() {
                sqlx::Error::PoolTimedOut => Kind::Timeout,
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Protocol(_) => Kind::Connection,
                sqlx::Error::Database(db) => db.code().map_or(Kind::Query, |code| code_kind(&code)),
                _ => Kind::Query,
            }
        }
        _ => Kind::Query,
    }
}

#[cfg(test)]
mod tests {
    use super::{Kind, code_kind, kind};
    use sea_orm::DbErr;
    use sea_orm::error::ConnAcquireErr;

    #[test]
    fn database_codes_are_sorted_by_what_went_wrong() {
        for code in ["08006", "53300", "53100", "57P01"] {
            assert_eq!(code_kind(code), Kind::Connection, "{code}");
        }
        assert_eq!(code_kind("57014"), Kind::Timeout);
        for code in [
            "40001", "40P01", "55P03", "5", "6", "517", "261", "262", "773",
        ] {
            assert_eq!(code_kind(code), Kind::Contention, "{code}");
        }
        for code in ["23505", "23503", "42P01", "22001", "19", "1"] {
            assert_eq!(code_kind(code), Kind::Query, "{code}");
        }
    }

    #[test]
    fn pool_failures_are_timeouts_or_lost_connections_and_the_rest_are_queries() {
        assert_eq!(
            kind(&DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
            Kind::Timeout
        );
        assert_eq!(
            kind(&DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed)),
            Kind::Connection
        );
        assert_eq!(
            kind(&DbErr::Conn(sea_orm::RuntimeErr::Internal(
                "refused".into()
            ))),
            Kind::Connection
        );
        assert_eq!(kind(&DbErr::RecordNotFound("user".into())), Kind::Query);
    }
}
