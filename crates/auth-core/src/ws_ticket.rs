//! One-time tickets for WebSocket upgrades. A browser cannot set headers on `new WebSocket`,
//! so a signed-in client trades its session for a ticket that lasts seconds and works once, and
//! puts that in the URL instead of a long-lived credential.

use auth_domain::{Secret, SessionToken, Verification, VerificationId};
use auth_ports::ALPHANUMERIC;
use time::{Duration, OffsetDateTime};

use crate::{Auth, AuthContext, AuthError, GetSession};

/// How long a ticket can be redeemed.
pub const WS_TICKET_LIFETIME: Duration = Duration::seconds(30);

/// The prefix of a ticket's `verification` identifier.
const PREFIX: &str = "ws-ticket:";

/// Characters of a ticket.
const LENGTH: usize = 32;

/// A ticket, the only time its value exists outside the client.
pub struct WsTicket {
    /// The ticket.
    pub ticket: Secret<String>,
    /// After this, it is refused.
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for WsTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsTicket")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// A ticket for the session of `context`, which must be a stored session (a credential
    /// that is not one, an API key's, authenticates the upgrade itself).
    ///
    /// # Errors
    /// `Unauthorized` for a session that is not stored, `Unavailable`.
    pub async fn issue_ws_ticket(&self, context: &AuthContext) -> Result<WsTicket, AuthError> {
        let stored = self
            .deps()
            .sessions
            .find_with_user(&context.session.token)
            .await?;
        if stored.is_none() {
            return Err(AuthError::Unauthorized);
        }
        let now = self.now();
        let ticket = self.deps().random.string(ALPHANUMERIC, LENGTH);
        let record = Verification {
            id: VerificationId::new(self.new_id()),
            identifier: format!("{PREFIX}{ticket}"),
            value: context.session.token.expose().to_owned(),
            expires_at: now + WS_TICKET_LIFETIME,
            created_at: now,
            updated_at: now,
        };
        self.deps().verifications.create(&record).await?;
        Ok(WsTicket {
            ticket: Secret::new(ticket),
            expires_at: record.expires_at,
        })
    }

    /// The session a ticket stands for, spending the ticket: `None` for an unknown, spent or
    /// expired ticket, or a session that ended meanwhile. Of concurrent redemptions, one wins.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn redeem_ws_ticket(&self, ticket: &str) -> Result<Option<AuthContext>, AuthError> {
        if ticket.len() != LENGTH || !ticket.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let verifications = &self.deps().verifications;
        let Some(record) = verifications
            .find_latest(&format!("{PREFIX}{ticket}"))
            .await?
        else {
            return Ok(None);
        };
        if !verifications.delete(&record.id).await? || record.expires_at <= self.now() {
            return Ok(None);
        }
        let lookup = self
            .get_session(GetSession {
                token: SessionToken::new(record.value),
                dont_remember: false,
                disable_refresh: true,
            })
            .await?;
        Ok(lookup.map(|found| found.context))
    }
}
