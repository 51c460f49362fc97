//! The `user` row.

use time::OffsetDateTime;

use crate::{Email, UserId};

/// A user, as in Better-Auth's `user` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Primary key.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Unique, lower-cased address.
    pub email: Email,
    /// Whether the address was verified.
    pub email_verified: bool,
    /// Avatar URL.
    pub image: Option<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last update time.
    pub updated_at: OffsetDateTime,
}
