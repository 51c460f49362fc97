//! Reading SQLite in place, on the calling thread, for the read lane (see its module doc).

use std::str::FromStr;
use std::time::Duration;

use rusqlite::types::ValueRef;
use sea_orm::sea_query::{ColumnType, Value};
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, TryIntoModel, sqlx};

use super::LaneRow;

/// Why a read in place gave way to the pool.
pub(super) enum InPlace {
    /// SQLite failed (busy, say): the connection is dropped.
    Sqlite(rusqlite::Error),
    /// The row holds a value read differently from what the pool does: the connection stays.
    Undecoded(DbErr),
}

/// The file of an SQLite URL (`sqlite:path` or `sqlite://path`, with the driver's options
/// after `?`), unless the database is in memory.
pub(super) fn file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory =
        path.is_empty() || path == ":memory:" || query.split('&').any(|pair| pair == "mode=memory");
    if in_memory {
        return None;
    }
    // The driver's own reading of the URL, so that both open the same file.
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    Some(options.get_filename().to_path_buf())
}

/// An SQLite connection for reading in place: never waits for a lock, never writes.
pub(super) fn open(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = rusqlite::Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(Duration::ZERO)?;
    connection.pragma_update(None, "query_only", true)?;
    Ok(connection)
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
        ValueRef::Text(text) => utf8(text, column).map(Some),
        _ => Err(undecoded(column)),
    }
}

/// A value the reader in place leaves to the pool.
fn undecoded(column: &str) -> DbErr {
    DbErr::Type(format!("column {column} is not read in place"))
}

fn utf8(text: &[u8], column: &str) -> Result<String, DbErr> {
    std::str::from_utf8(text)
        .map(str::to_owned)
        .map_err(|_| undecoded(column))
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
        let value = match (kind, cell) {
            (_, ValueRef::Null) if !definition.is_null() => return Ok(None),
            (ColumnType::String(_) | ColumnType::Text, ValueRef::Null) => Value::String(None),
            (ColumnType::String(_) | ColumnType::Text, ValueRef::Text(text)) => {
                Value::String(Some(utf8(text, name)?))
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
                let text = std::str::from_utf8(text).map_err(|_| undecoded(name))?;
                let at = time::OffsetDateTime::parse(
                    text,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|_| undecoded(name))?;
                Value::TimeDateTimeWithTimeZone(Some(at))
            }
            _ => return Err(undecoded(name)),
        };
        model.try_set(column, value)?;
    }
    model.try_into_model().map(Some)
}
