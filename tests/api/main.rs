//! auth-tests: the black-box suite. Each test starts the real application on an ephemeral port
//! with its own database (SQLite file, or a fresh Postgres database) and drives it over HTTP.
//! Must not depend on: internals of the server; only `auth_app::Application` and HTTP.
#![allow(
    clippy::expect_used,
    clippy::print_stderr,
    reason = "a test binary: helpers panic on broken fixtures and say when a test is skipped"
)]

mod api_key;
mod bearer;
mod browser;
mod change_email;
mod compat;
mod connections;
mod cors;
mod delete_user;
mod docs;
mod email_password;
mod email_verification;
mod guards;
mod helpers;
mod hostile;
mod jwt;
mod jwt_compat;
mod multi_instance;
mod multi_session;
mod ops;
mod organization;
mod origin;
mod password_reset;
mod ratelimit;
mod sessions;
mod test_plugin;
mod two_factor;
mod two_factor_adopted;
mod websocket;
