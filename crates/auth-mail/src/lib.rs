//! auth-mail: the `Mailer` port's adapters: SMTP through lettre (rustls only, a bounded send
//! queue drained by a background task), and a development outbox that logs each message and
//! keeps the last ones.
//! Depends on: auth-domain, auth-ports, lettre, tokio.
//! Must not depend on: auth-core, sea-orm, redis, poem.
#![warn(missing_docs)]

mod outbox;
mod smtp;

pub use outbox::{OutboxConfig, OutboxMailer};
pub use smtp::{SmtpConfig, SmtpMailer};
