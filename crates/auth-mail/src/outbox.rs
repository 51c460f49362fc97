//! `OutboxMailer`: the development mailer. Logs each message (a reset link is in the log of
//! `cargo run -p auth-app`) and keeps the last ones, in memory and in a file when asked.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use auth_ports::{Mail, Mailer, PortError};

/// Outbox settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxConfig {
    /// How many messages are kept (the oldest go first).
    pub keep: usize,
    /// A file that always holds the kept messages, newest last, as JSON lines.
    pub file: Option<PathBuf>,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            keep: 50,
            file: None,
        }
    }
}

/// The development outbox: nothing leaves the machine.
#[derive(Debug, Clone)]
pub struct OutboxMailer {
    kept: Arc<Mutex<VecDeque<Mail>>>,
    config: OutboxConfig,
}

impl OutboxMailer {
    /// An empty outbox.
    #[must_use]
    pub fn new(config: OutboxConfig) -> Self {
        metrics::counter!("auth_mail_sent_total", "transport" => "outbox").absolute(0);
        Self {
            kept: Arc::default(),
            config,
        }
    }

    /// The kept messages, oldest first.
    #[must_use]
    pub fn messages(&self) -> Vec<Mail> {
        self.kept().iter().cloned().collect()
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, VecDeque<Mail>> {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn json_line(mail: &Mail) -> String {
    serde_json::json!({
        "to": mail.to.as_str(),
        "subject": mail.subject,
        "text": mail.text,
        "html": mail.html,
    })
    .to_string()
}

#[async_trait::async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: Mail) -> Result<(), PortError> {
        tracing::info!(
            target: "auth::mail",
            to = mail.to.as_str(),
            subject = mail.subject,
            "development outbox (no SMTP configured):\n{}",
            mail.text
        );
        metrics::counter!("auth_mail_sent_total", "transport" => "outbox").increment(1);
        let lines = {
            let mut kept = self.kept();
            kept.push_back(mail);
            while kept.len() > self.config.keep.max(1) {
                kept.pop_front();
            }
            self.config
                .file
                .as_ref()
                .map(|_| kept.iter().map(json_line).collect::<Vec<_>>().join("\n") + "\n")
        };
        if let (Some(file), Some(lines)) = (&self.config.file, lines)
            && let Err(error) = tokio::fs::write(file, lines).await
        {
            tracing::warn!(target: "auth::mail", file = %file.display(), %error, "outbox file not written");
        }
        Ok(())
    }
}
