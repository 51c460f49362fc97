//! Database errors, translated to `PortError` (the only way they leave the crate).

use auth_ports::PortError;
use sea_orm::{DbErr, RuntimeErr, SqlErr, sqlx};

pub(crate) fn port_error(error: DbErr) -> PortError {
    if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        return PortError::Conflict;
    }
    if is_unavailable(&error) {
        tracing::warn!(error = %error, "database unavailable");
        return PortError::Unavailable(Box::new(error));
    }
    tracing::error!(error = %error, "database error");
    PortError::Internal(Box::new(error))
}

/// An update of one row by its key: `NotFound` when no row had that key.
pub(crate) fn one_row(result: Result<sea_orm::UpdateResult, DbErr>) -> Result<(), PortError> {
    if result.map_err(port_error)?.rows_affected == 0 {
        return Err(PortError::NotFound);
    }
    Ok(())
}

/// SQLSTATE and SQLite codes that mean "try again later", not "this request is wrong".
fn is_transient(code: &str) -> bool {
    // Postgres: 08 connection exception, 53 insufficient resources (too many connections, out
    // of memory, disk full), 57 operator intervention (statement timeout 57014, shutdown
    // 57P0x), 40001 serialization failure, 40P01 deadlock, 55P03 lock not available.
    ["08", "53", "57"].iter().any(|class| code.starts_with(class))
        || matches!(code, "40001" | "40P01" | "55P03")
        // SQLite: SQLITE_BUSY and SQLITE_LOCKED once the busy timeout has passed, and their
        // extended codes (517, SQLITE_BUSY_SNAPSHOT: a read transaction that cannot become a
        // write one under a concurrent writer).
        || matches!(code, "5" | "6" | "261" | "262" | "517" | "773")
}

fn is_unavailable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => {
            match inner.as_ref() {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Protocol(_) => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|code| is_transient(&code)),
                _ => false,
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_transient;

    #[test]
    fn retryable_database_codes_are_transient_and_others_are_not() {
        for code in [
            "08006", "53300", "53100", "57014", "57P01", "40001", "40P01", "55P03", "5", "6",
            "517", "261", "773",
        ] {
            assert!(is_transient(code), "{code}");
        }
        for code in ["23505", "23503", "42P01", "22001", "19", "1"] {
            assert!(!is_transient(code), "{code}");
        }
    }
}
