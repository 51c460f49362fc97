//! Reading SQLite in place, on the calling thread, for the read lane (see its module doc).

use std::str::FromStr;
use std::time::Duration;

use rusqlite::types::ValueRef;
use sea_orm::sea_query::{ColumnType, Value};
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, TryIntoModel, sqlx};

use super::LaneRow;

/// Why a read in place gave way to the pool.
pub(super) enum InPlace {
    /// SQLite failed: the connection is dropped.
    Sqlite(rusqlite::Error),
    /// The row holds a value read differently from what the pool does: the connection stays.
    Undecoded(DbErr),
}

/// The SQLite file a store is on, as the lane opens it.
pub(super) struct File {
    path: std::path::PathBuf,
    read_only: bool,
}

/// The file of an SQLite URL (`sqlite:path` or `sqlite://path`, with the driver's options
/// after `?`); `None` for a database in memory, and for options the lane would not open the
/// file with as the pool does (`immutable`, another `vfs`).
pub(super) fn file(url: &str) -> Option<File> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let options: Vec<(&str, &str)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let elsewhere = options.iter().any(|(key, value)| {
        (*key == "mode" && *value == "memory") || matches!(*key, "immutable" | "vfs")
    });
    if path.is_empty() || path == ":memory:" || elsewhere {
        return None;
    }
    // The driver's own reading of the URL, so that both open the same file; made absolute
    // once, as the pool resolved it when it connected.
    let parsed = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let path = std::path::absolute(parsed.get_filename()).ok()?;
    let read_only = options.contains(&("mode", "ro"));
    Some(File { path, read_only })
}

/// An SQLite connection for reading in place: never waits for a lock, never writes.
pub(super) fn open(file: &File) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let access = if file.read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    };
    let connection = rusqlite::Connection::open_with_flags(
        &file.path,
        access | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::ZERO)?;
    connection.pragma_update(None, "query_only", true)?;
    Ok(connection)
}

/// Whether SQLite refused for a lock another connection holds: a moment's state, unlike the
/// other errors.
pub(super) fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Runs the query on an SQLite connection, its statement prepared once per connection.
pub(super) fn read<T>(
    connection: &rusqlite::Connection,
    sql: &str,
    value: &str,
    decode: &impl Fn(&LaneRow<'_>) -> Result<T, DbErr>,
) -> Result<Option<T>, InPlace> {
    let mut statement = connection.prepare_cached(sql).map_err(InPlace::Sqlite)?;
    let mut rows = statement.query([value]).map_err(InPlace::Sqlite)?;
    match rows.next().map_err(InPlace::Sqlite)? {
        Some(row) => decode(&LaneRow::Sqlite(row))
            .map(Some)
            .map_err(InPlace::Undecoded),
        None => Ok(None),
    }
}

/// [`LaneRow::boolean`] of a row read in place.
pub(super) fn boolean(row: &rusqlite::Row<'_>, column: &str) -> Result<Option<bool>, DbErr> {
    match row.get_ref(column).map_err(|_| undecoded(column))? {
        ValueRef::Null => Ok(None),
        ValueRef::Integer(number) => Ok(Some(number != 0)),
        _ => Err(undecoded(column)),
    }
}

/// [`LaneRow::text`] of a row read in place.
pub(super) fn text(row: &rusqlite::Row<'_>, column: &str) -> Result<Option<String>, DbErr> {
    match row.get_ref(column).map_err(|_| undecoded(column))? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(text) => utf8(text, column).map(|text| Some(text.to_owned())),
        _ => Err(undecoded(column)),
    }
}

/// A value the reader in place leaves to the pool.
fn undecoded(column: &str) -> DbErr {
    DbErr::Type(format!("column {column} is not read in place"))
}

fn utf8<'t>(text: &'t [u8], column: &str) -> Result<&'t str, DbErr> {
    std::str::from_utf8(text).map_err(|_| undecoded(column))
}

/// [`LaneRow::model`] of a row read in place: each column of the entity converted by its declared
/// type, as sqlx converts it, for the storage and formats the store and Better-Auth write;
/// anything else is [`undecoded`].
pub(super) fn model<E>(row: &rusqlite::Row<'_>, prefix: &str) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: TryIntoModel<E::Model>,
{
    let statement = row.as_ref();
    let mut model = <E::ActiveModel as ActiveModelTrait>::default();
    // As sea-orm's models read a row: all columns null is no model (a left join that found
    // nothing), a required one null among others an error (left to the pool to report).
    let (mut seen, mut all_null, mut required_null) = (0_usize, true, false);
    for index in 0..statement.column_count() {
        let Ok(name) = statement.column_name(index) else {
            continue;
        };
        let Some(column) = name
            .strip_prefix(prefix)
            .and_then(|name| E::Column::from_str(name).ok())
        else {
            continue;
        };
        let definition = column.def();
        let kind = definition.get_column_type();
        let cell = row.get_ref(index).map_err(|_| undecoded(name))?;
        seen += 1;
        all_null &= matches!(cell, ValueRef::Null);
        let value = match (kind, cell) {
            (_, ValueRef::Null) if !definition.is_null() => {
                required_null = true;
                continue;
            }
            (ColumnType::String(_) | ColumnType::Text, ValueRef::Null) => Value::String(None),
            (ColumnType::String(_) | ColumnType::Text, ValueRef::Text(text)) => {
                Value::String(Some(utf8(text, name)?.to_owned()))
            }
            (ColumnType::Integer, ValueRef::Null) => Value::Int(None),
            (ColumnType::Integer, ValueRef::Integer(number)) => {
                Value::Int(Some(i32::try_from(number).map_err(|_| undecoded(name))?))
            }
            (ColumnType::Boolean, ValueRef::Null) => Value::Bool(None),
            (ColumnType::Boolean, ValueRef::Integer(number)) => Value::Bool(Some(number != 0)),
            (ColumnType::TimestampWithTimeZone, ValueRef::Null) => {
                Value::TimeDateTimeWithTimeZone(None)
            }
            (ColumnType::TimestampWithTimeZone, ValueRef::Text(text)) => {
                let at = time::OffsetDateTime::parse(
                    utf8(text, name)?,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|_| undecoded(name))?;
                Value::TimeDateTimeWithTimeZone(Some(at))
            }
            _ => return Err(undecoded(name)),
        };
        model.try_set(column, value)?;
    }
    if seen == 0 {
        return Err(undecoded(prefix));
    }
    if all_null {
        return Ok(None);
    }
    if required_null {
        return Err(undecoded(prefix));
    }
    model.try_into_model().map(Some)
}

#[cfg(test)]
mod tests {
    use super::{file, is_busy};

    #[test]
    fn only_a_lock_held_elsewhere_counts_as_busy() {
        use rusqlite::ffi;
        let failure = |code| rusqlite::Error::SqliteFailure(ffi::Error::new(code), None);
        assert!(is_busy(&failure(ffi::SQLITE_BUSY)));
        assert!(is_busy(&failure(ffi::SQLITE_LOCKED)));
        assert!(!is_busy(&failure(ffi::SQLITE_CANTOPEN)));
        assert!(!is_busy(&failure(ffi::SQLITE_IOERR)));
        assert!(!is_busy(&rusqlite::Error::InvalidQuery));
    }

    #[test]
    fn a_file_is_opened_as_the_pool_opens_it_and_other_databases_are_left_to_the_pool() {
        let here = std::env::current_dir().expect("a working folder");
        let opened = |url: &str| file(url).map(|file| (file.path, file.read_only));
        assert_eq!(
            opened("sqlite:///tmp/a.db?mode=rwc"),
            Some(("/tmp/a.db".into(), false))
        );
        assert_eq!(
            opened("sqlite://auth.db"),
            Some((here.join("auth.db"), false))
        );
        assert_eq!(
            opened("sqlite:auth.db?mode=ro"),
            Some((here.join("auth.db"), true))
        );
        assert_eq!(
            opened("sqlite:///tmp/a%20b.db"),
            Some(("/tmp/a b.db".into(), false))
        );
        for elsewhere in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://shared.db?mode=memory",
            "sqlite://",
            "sqlite://auth.db?immutable=true",
            "sqlite://auth.db?vfs=unix-none",
            "postgres://localhost/auth",
        ] {
            assert!(opened(elsewhere).is_none(), "{elsewhere}");
        }
    }
}
