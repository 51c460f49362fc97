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

fn is_unavailable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => {
            match inner.as_ref() {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Protocol(_) => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    // Postgres: class 08 (connection exception), 57P0x (shutdown); SQLite: 5
                    // (SQLITE_BUSY) and 6 (SQLITE_LOCKED) after the busy timeout.
                    code.starts_with("08") || code.starts_with("57P") || code == "5" || code == "6"
                }),
                _ => false,
            }
        }
        _ => false,
    }
}
