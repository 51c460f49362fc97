//! Reading the first row of a query.

use auth_ports::PortError;
use sea_orm::{ConnectionTrait, FromQueryResult, QueryResult, QueryTrait};

use crate::error::port_error;

/// The first row `query` returns (the driver stops after it), fetched without a `LIMIT`.
///
/// sea-orm's `.one()` adds `LIMIT ?` with the 1 bound as a parameter. SQLite reads a bound
/// `LIMIT` when it plans a statement and marks the statement stale whenever that parameter is
/// bound again, so every run of a cached statement was parsed and planned anew: about three
/// quarters of the time of a session check that missed the cache. Callers look a row up by a
/// unique key, or want any one of the rows.
pub(crate) async fn first_row<C: ConnectionTrait>(
    db: &C,
    query: impl QueryTrait,
) -> Result<Option<QueryResult>, PortError> {
    let statement = query.build(db.get_database_backend());
    db.query_one_raw(statement).await.map_err(port_error)
}

/// [`first_row`] read as a model.
pub(crate) async fn first<C: ConnectionTrait, M: FromQueryResult>(
    db: &C,
    query: impl QueryTrait,
) -> Result<Option<M>, PortError> {
    match first_row(db, query).await? {
        Some(row) => M::from_query_result(&row, "").map(Some).map_err(port_error),
        None => Ok(None),
    }
}
