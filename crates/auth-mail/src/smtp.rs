//! `SmtpMailer`: mail through an SMTP server, off the request path.

use std::time::Duration;

use auth_domain::secret::redact_url;
use auth_ports::{Mail, Mailer, PortError};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use tokio::sync::mpsc;

/// SMTP settings. `Debug` shows the URL without its password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// `smtp://[user:pass@]host[:port]` (plain, or STARTTLS with `?tls=required` or
    /// `?tls=opportunistic`), `smtps://[user:pass@]host[:port]` (TLS from the first byte).
    pub url: String,
    /// The sender, `Name <address>` or `address`.
    pub from: String,
    /// Longest wait on the server, per command and for a whole delivery (twice this).
    pub timeout: Duration,
    /// Messages waiting for the server at most; past it, `send` refuses (`Unavailable`).
    pub queue: usize,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &redact_url(&self.url))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .field("queue", &self.queue)
            .finish()
    }
}

/// Mail through an SMTP server. `send` queues the message and returns; a background task
/// delivers the queue in order, each delivery bounded by the timeout, and logs and counts
/// every failure (`auth_mail_failed_total{transport="smtp"}`).
#[derive(Clone)]
pub struct SmtpMailer {
    queue: mpsc::Sender<Mail>,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer").finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Parses the settings and starts the delivery task (within a tokio runtime).
    ///
    /// # Errors
    /// `Internal` for a malformed URL or sender.
    pub fn start(config: &SmtpConfig) -> Result<Self, PortError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|error| PortError::internal(format!("AUTH_MAIL_FROM: {error}")))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.url)
            .map_err(|error| {
                PortError::internal(format!(
                    "AUTH_SMTP_URL {}: {error}",
                    redact_url(&config.url)
                ))
            })?
            .timeout(Some(config.timeout))
            .build();
        let (queue, mut waiting) = mpsc::channel::<Mail>(config.queue.max(1));
        let deadline = config.timeout.saturating_mul(2);
        for outcome in ["sent", "failed"] {
            metrics::counter!(format!("auth_mail_{outcome}_total"), "transport" => "smtp")
                .absolute(0);
        }
        tokio::spawn(async move {
            while let Some(mail) = waiting.recv().await {
                deliver(&transport, &from, mail, deadline).await;
            }
        });
        Ok(Self { queue })
    }
}

async fn deliver(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    mail: Mail,
    deadline: Duration,
) {
    let subject = mail.subject.clone();
    let outcome = match message(from, mail) {
        Ok(message) => match tokio::time::timeout(deadline, transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err("timed out".to_owned()),
        },
        Err(error) => Err(error),
    };
    match outcome {
        Ok(()) => {
            metrics::counter!("auth_mail_sent_total", "transport" => "smtp").increment(1);
            tracing::debug!(target: "auth::mail", subject, "mail delivered");
        }
        Err(error) => {
            metrics::counter!("auth_mail_failed_total", "transport" => "smtp").increment(1);
            tracing::warn!(target: "auth::mail", subject, error, "mail not delivered");
        }
    }
}

fn message(from: &Mailbox, mail: Mail) -> Result<Message, String> {
    let to: Mailbox = mail
        .to
        .as_str()
        .parse()
        .map_err(|error| format!("recipient: {error}"))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject)
        .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
        .map_err(|error| error.to_string())
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail) -> Result<(), PortError> {
        self.queue.try_send(mail).map_err(|error| {
            metrics::counter!("auth_mail_failed_total", "transport" => "smtp").increment(1);
            tracing::warn!(target: "auth::mail", "mail queue full; message dropped");
            PortError::Unavailable(error.to_string().into())
        })
    }
}
