//! One module per table, with Better-Auth's names letter for letter.
#![allow(
    unreachable_pub,
    reason = "sea-orm derives public items; the module itself is crate-private"
)]

pub(crate) mod account;
pub(crate) mod apikey;
pub(crate) mod audit_event;
pub(crate) mod invitation;
pub(crate) mod jwks;
pub(crate) mod member;
pub(crate) mod organization;
pub(crate) mod organization_role;
pub(crate) mod session;
pub(crate) mod team;
pub(crate) mod team_member;
pub(crate) mod two_factor;
pub(crate) mod user;
pub(crate) mod verification;
