//! Reading the first row of a query, and queries whose SQL is built once.

use std::sync::OnceLock;

use auth_ports::PortError;
use sea_orm::{
    ConnectionTrait, DbBackend, FromQueryResult, QueryResult, QueryTrait, Statement, Value,
};

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
    model(first_row(db, query).await?)
}

/// A row, when there is one, read as a model.
pub(crate) fn model<M: FromQueryResult>(row: Option<QueryResult>) -> Result<Option<M>, PortError> {
    row.map(|row| M::from_query_result(&row, ""))
        .transpose()
        .map_err(port_error)
}

/// The SQL of a query whose shape never changes (only its bound values do), built once.
///
/// Building a select with sea-query costs about a quarter of a session lookup that misses the
/// cache; the text is the same every time, so it is built on first use and kept.
#[derive(Default)]
pub(crate) struct Shape(OnceLock<String>);

impl Shape {
    /// `values` bound to the SQL that `query` builds (built only the first time). `query` must
    /// bind exactly `values`, in order; debug builds check it.
    pub(crate) fn statement<Q: QueryTrait>(
        &self,
        backend: DbBackend,
        values: Vec<Value>,
        query: impl FnOnce() -> Q,
    ) -> Statement {
        if let Some(sql) = self.0.get() {
            return Statement::from_sql_and_values(backend, sql.as_str(), values);
        }
        let statement = query().build(backend);
        debug_assert_eq!(
            statement.values.as_ref().map(|bound| &bound.0),
            Some(&values),
            "a prebuilt query binds other values than its callers give"
        );
        let _ = self.0.set(statement.sql.clone());
        statement
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    use super::*;
    use crate::entity::session;

    fn by_token(token: &str, built: &Cell<u32>) -> sea_orm::Select<session::Entity> {
        built.set(built.get() + 1);
        session::Entity::find().filter(session::Column::Token.eq(token))
    }

    #[test]
    fn a_shape_builds_its_sql_once_and_binds_each_callers_values() {
        let shape = Shape::default();
        let built = Cell::new(0);
        let first = shape.statement(DbBackend::Sqlite, vec!["a".into()], || {
            by_token("a", &built)
        });
        let second = shape.statement(DbBackend::Sqlite, vec!["b".into()], || {
            by_token("b", &built)
        });
        assert_eq!(
            built.get(),
            1,
            "the second statement reuses the first's SQL"
        );
        assert_eq!(first.sql, second.sql);
        assert!(!first.sql.contains("LIMIT"), "{}", first.sql);
        assert_eq!(second.values.map(|values| values.0), Some(vec!["b".into()]));
    }

    #[test]
    #[should_panic(expected = "binds other values")]
    fn a_shape_whose_query_binds_other_values_is_caught_in_debug_builds() {
        let built = Cell::new(0);
        let _ = Shape::default().statement(DbBackend::Sqlite, vec!["a".into()], || {
            by_token("not a", &built)
        });
    }
}
