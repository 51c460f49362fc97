//! The error every port returns.

/// A boxed error kept only as the source of `Unavailable` and `Internal`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong behind a port, as the use cases need to know it.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// A unique key already exists (email, session token, ...).
    #[error("conflict with an existing record")]
    Conflict,
    /// The record to change does not exist.
    #[error("record not found")]
    NotFound,
    /// The backing service cannot be reached (connection refused, pool timeout, ...).
    #[error("backing service unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug or corrupt data.
    #[error("internal adapter error")]
    Internal(#[source] BoxError),
}

impl PortError {
    /// Wraps an unexpected error.
    pub fn internal(error: impl Into<BoxError>) -> Self {
        Self::Internal(error.into())
    }
}
