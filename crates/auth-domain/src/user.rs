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
    /// Whether a second factor is required at sign-in (`twoFactorEnabled`, written by the
    /// two-factor plugin). Read whatever plugins are on, so that a database adopted from
    /// Better-Auth never loses its users' second factor; a missing or null column is `false`.
    pub two_factor_enabled: bool,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last update time.
    pub updated_at: OffsetDateTime,
    /// The fields the enabled plugins add (`crate::field`).
    pub fields: crate::Fields,
}
