//! The open sockets of this instance by user, and the events that close them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use auth_core::TokenIssuer;
use auth_domain::{AuthEvent, SessionEnd, SessionId, UserId};
use auth_ports::{ConnectionSlots, SlotGrant};
use tokio::sync::mpsc;

/// Why the server closed a socket: its close code (4000-4999, ours) and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The session was signed out.
    SignedOut,
    /// The session was revoked (one, all, or all others).
    Revoked,
    /// The session expired.
    Expired,
    /// The user's password changed.
    PasswordChanged,
    /// The user was deleted.
    UserDeleted,
    /// The API key that authenticated the socket was revoked or disabled.
    KeyRevoked,
    /// The user left, or was removed from, the session's active organization, or it was
    /// deleted.
    RemovedFromOrganization,
    /// A newer connection of the user took this one's place (the per-user limit).
    Replaced,
    /// No pong came back in time.
    HeartbeatTimeout,
    /// The client sent nothing for the idle timeout.
    Idle,
    /// The server is shutting down.
    Shutdown,
}

impl CloseReason {
    /// Every reason.
    pub const ALL: [Self; 11] = [
        Self::SignedOut,
        Self::Revoked,
        Self::Expired,
        Self::PasswordChanged,
        Self::UserDeleted,
        Self::KeyRevoked,
        Self::RemovedFromOrganization,
        Self::Replaced,
        Self::HeartbeatTimeout,
        Self::Idle,
        Self::Shutdown,
    ];

    /// A stable lower-case label (metrics).
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::SignedOut => "signed_out",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::PasswordChanged => "password_changed",
            Self::UserDeleted => "user_deleted",
            Self::KeyRevoked => "key_revoked",
            Self::RemovedFromOrganization => "removed_from_organization",
            Self::Replaced => "replaced",
            Self::HeartbeatTimeout => "heartbeat_timeout",
            Self::Idle => "idle",
            Self::Shutdown => "shutdown",
        }
    }

    /// The close code.
    #[must_use]
    pub fn code(self) -> u16 {
        match self {
            Self::SignedOut => 4001,
            Self::Revoked => 4002,
            Self::Expired => 4003,
            Self::PasswordChanged => 4004,
            Self::UserDeleted => 4005,
            Self::KeyRevoked => 4006,
            Self::RemovedFromOrganization => 4007,
            Self::Replaced => 4008,
            Self::HeartbeatTimeout => 4010,
            Self::Idle => 4011,
            Self::Shutdown => 1001,
        }
    }

    /// The close reason text.
    #[must_use]
    pub fn text(self) -> &'static str {
        match self {
            Self::SignedOut => "signed out",
            Self::Revoked => "session revoked",
            Self::Expired => "session expired",
            Self::PasswordChanged => "password changed",
            Self::UserDeleted => "user deleted",
            Self::KeyRevoked => "api key revoked",
            Self::RemovedFromOrganization => "removed from organization",
            Self::Replaced => "connection limit",
            Self::HeartbeatTimeout => "heartbeat timeout",
            Self::Idle => "idle timeout",
            Self::Shutdown => "server shutting down",
        }
    }
}

/// One open socket.
#[derive(Debug)]
struct Entry {
    id: u64,
    /// The session (an API key's socket: the key's id, its session's id).
    session: SessionId,
    /// The session's active organization at the upgrade.
    organization: Option<String>,
    close: mpsc::UnboundedSender<CloseReason>,
}

/// The open sockets of this instance, by user; with [`Hub::count_across`], each also holds a
/// slot shared by the instances, for the per-user limit.
pub struct Hub {
    sockets: Mutex<HashMap<UserId, Vec<Entry>>>,
    next: AtomicU64,
    /// This hub's name in the shared slots: unique per hub.
    instance: String,
    slots: OnceLock<Arc<dyn ConnectionSlots>>,
    /// Accepts this server's JWTs and PASETOs at the upgrade.
    tokens: OnceLock<TokenIssuer>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("instance", &self.instance)
            .field("open", &self.open())
            .field("counted_across", &self.slots.get().is_some())
            .field("accepts_tokens", &self.tokens.get().is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Hub {
    fn default() -> Self {
        static HUBS: AtomicU64 = AtomicU64::new(0);
        let started = std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .map(|since| since.as_nanos())
            .unwrap_or_default();
        Self {
            sockets: Mutex::default(),
            next: AtomicU64::new(0),
            instance: format!(
                "{}-{started:x}-{}",
                std::process::id(),
                HUBS.fetch_add(1, Ordering::Relaxed)
            ),
            slots: OnceLock::new(),
            tokens: OnceLock::new(),
        }
    }
}

/// What [`Hub::admit`] decides about a new socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Let in, under this id.
    Admitted(u64),
    /// The user is at the limit.
    Full,
}

impl Hub {
    /// An empty hub.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts each user's sockets across the instances that share `slots` (Redis), instead of
    /// on this instance alone. Set once; later calls change nothing.
    pub fn count_across(&self, slots: Arc<dyn ConnectionSlots>) {
        let _ = self.slots.set(slots);
    }

    /// Lets the upgrades of this hub's endpoints be authenticated by the JWTs and PASETOs
    /// `tokens` signs (`Authorization: Bearer <token>`). Set once; later calls change nothing.
    pub fn accept_tokens(&self, tokens: TokenIssuer) {
        let _ = self.tokens.set(tokens);
    }

    /// The token issuer whose tokens authenticate upgrades, when set.
    pub(crate) fn tokens(&self) -> Option<&TokenIssuer> {
        self.tokens.get()
    }

    fn slot(&self, id: u64) -> String {
        format!("{}:{id}", self.instance)
    }

    /// Decides whether `user` may open one more socket (at most `max`; at the limit, with
    /// `close_oldest`, the user's oldest socket is closed to make room). Across instances when
    /// counted across them, a slot held for `ttl` at a time; on this instance alone when the
    /// slots cannot be reached (logged).
    pub(crate) async fn admit(
        &self,
        user: &UserId,
        max: usize,
        close_oldest: bool,
        ttl: Duration,
    ) -> Admission {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Some(slots) = self.slots.get() {
            let slot = self.slot(id);
            match slots
                .acquire(user.as_str(), &slot, max, close_oldest, ttl)
                .await
            {
                Ok(SlotGrant::Taken { evicted }) => {
                    if let Some(evicted) = evicted {
                        self.close_slot(user, &evicted);
                    }
                    return Admission::Admitted(id);
                }
                Ok(SlotGrant::Full) => return Admission::Full,
                Err(error) => {
                    tracing::warn!(error = %error, "WebSocket slots unreachable; counting on this instance");
                }
            }
        }
        if self.count(user) >= max {
            if !close_oldest {
                return Admission::Full;
            }
            self.close_oldest(user);
        }
        Admission::Admitted(id)
    }

    /// Keeps a socket's shared slot alive: `false` when another instance took its place.
    pub(crate) async fn refresh(&self, user: &UserId, id: u64, ttl: Duration) -> bool {
        let Some(slots) = self.slots.get() else {
            return true;
        };
        // An unreachable store keeps the socket: its slot lapses, or is refreshed later.
        slots
            .refresh(user.as_str(), &self.slot(id), ttl)
            .await
            .unwrap_or(true)
    }

    /// Gives a closed socket's shared slot back.
    async fn release(&self, user: &UserId, id: u64) {
        if let Some(slots) = self.slots.get()
            && let Err(error) = slots.release(user.as_str(), &self.slot(id)).await
        {
            tracing::warn!(error = %error, "a WebSocket slot was not given back; it lapses");
        }
    }

    /// Closes this instance's socket whose shared slot is `slot`, if it is one of ours.
    fn close_slot(&self, user: &UserId, slot: &str) {
        let Some(id) = slot
            .strip_prefix(self.instance.as_str())
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|id| id.parse::<u64>().ok())
        else {
            return;
        };
        self.close(user, CloseReason::Replaced, |entry| entry.id == id);
    }

    fn sockets(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Vec<Entry>>> {
        self.sockets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many sockets the user has open here.
    #[must_use]
    pub fn count(&self, user: &UserId) -> usize {
        self.sockets().get(user).map_or(0, Vec::len)
    }

    /// How many sockets are open here.
    #[must_use]
    pub fn open(&self) -> usize {
        self.sockets().values().map(Vec::len).sum()
    }

    /// Registers the socket admitted as `id`, of `session`, whose active organization is
    /// `organization`: the channel its closing arrives on.
    pub(crate) fn register(
        &self,
        id: u64,
        user: &UserId,
        session: &SessionId,
        organization: Option<&str>,
    ) -> mpsc::UnboundedReceiver<CloseReason> {
        let (close, closed) = mpsc::unbounded_channel();
        self.sockets().entry(user.clone()).or_default().push(Entry {
            id,
            session: session.clone(),
            organization: organization.map(str::to_owned),
            close,
        });
        closed
    }

    /// Forgets a closed socket, and gives its shared slot back.
    pub(crate) async fn unregister(&self, user: &UserId, id: u64) {
        {
            let mut sockets = self.sockets();
            if let Some(entries) = sockets.get_mut(user) {
                entries.retain(|entry| entry.id != id);
                if entries.is_empty() {
                    sockets.remove(user);
                }
            }
        }
        self.release(user, id).await;
    }

    /// Closes the user's oldest socket (to make room for a new one).
    pub(crate) fn close_oldest(&self, user: &UserId) {
        if let Some(oldest) = self.sockets().get(user).and_then(|entries| entries.first()) {
            let _ = oldest.close.send(CloseReason::Replaced);
        }
    }

    /// Closes the user's sockets that `which` selects.
    fn close(&self, user: &UserId, reason: CloseReason, which: impl Fn(&Entry) -> bool) {
        if let Some(entries) = self.sockets().get(user) {
            for entry in entries.iter().filter(|entry| which(entry)) {
                let _ = entry.close.send(reason);
            }
        }
    }

    /// Closes every socket that `which` selects, whoever's.
    fn close_any(&self, reason: CloseReason, which: impl Fn(&Entry) -> bool) {
        for entries in self.sockets().values() {
            for entry in entries.iter().filter(|entry| which(entry)) {
                let _ = entry.close.send(reason);
            }
        }
    }

    /// Closes every socket (shutdown).
    pub fn close_all(&self) {
        self.close_any(CloseReason::Shutdown, |_| true);
    }

    /// Closes the sockets an event ends: a session's, every session of a user (but the one
    /// kept), a deleted user's, a revoked key's, those whose active organization the user left
    /// or that was deleted.
    pub fn hear(&self, event: &AuthEvent) {
        match event {
            AuthEvent::SessionEnded {
                user_id,
                session_id,
                reason,
                ..
            } => {
                let why = if *reason == SessionEnd::SignOut {
                    CloseReason::SignedOut
                } else {
                    CloseReason::Revoked
                };
                self.close(user_id, why, |entry| entry.session == *session_id);
            }
            AuthEvent::UserSessionsEnded { user_id, kept, .. } => {
                self.close(user_id, CloseReason::Revoked, |entry| {
                    kept.as_ref() != Some(&entry.session)
                });
            }
            AuthEvent::PasswordChanged { user_id } => {
                self.close(user_id, CloseReason::PasswordChanged, |_| true);
            }
            AuthEvent::UserDeleted { user_id } => {
                self.close(user_id, CloseReason::UserDeleted, |_| true);
            }
            AuthEvent::ApiKeyChanged {
                key_id,
                revoked: true,
                ..
            } => {
                self.close_any(CloseReason::KeyRevoked, |entry| {
                    entry.session.as_str() == key_id
                });
            }
            AuthEvent::MemberRemoved {
                organization_id,
                user_id,
            } => {
                self.close(user_id, CloseReason::RemovedFromOrganization, |entry| {
                    entry.organization.as_deref() == Some(organization_id)
                });
            }
            AuthEvent::OrganizationDeleted { organization_id } => {
                self.close_any(CloseReason::RemovedFromOrganization, |entry| {
                    entry.organization.as_deref() == Some(organization_id)
                });
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use auth_domain::{AuthEvent, SessionEnd, SessionId, UserId};

    use super::{CloseReason, Hub};

    #[tokio::test]
    async fn events_close_the_sockets_they_end_and_no_others() {
        let hub = Hub::new();
        let ada = UserId::new("ada");
        let bob = UserId::new("bob");
        let first = 0;
        let mut first_closed = hub.register(first, &ada, &SessionId::new("s1"), None);
        let mut second_closed = hub.register(1, &ada, &SessionId::new("s2"), None);
        let mut bobs_closed = hub.register(2, &bob, &SessionId::new("key-1"), None);
        assert_eq!((hub.count(&ada), hub.count(&bob), hub.open()), (2, 1, 3));

        hub.hear(&AuthEvent::SessionEnded {
            user_id: ada.clone(),
            session_id: SessionId::new("s1"),
            token: None,
            reason: SessionEnd::SignOut,
        });
        assert_eq!(first_closed.try_recv(), Ok(CloseReason::SignedOut));
        assert!(second_closed.try_recv().is_err(), "another session stays");
        hub.hear(&AuthEvent::SessionEnded {
            user_id: ada.clone(),
            session_id: SessionId::new("s2"),
            token: None,
            reason: SessionEnd::Revoked,
        });
        assert_eq!(second_closed.try_recv(), Ok(CloseReason::Revoked));
        hub.hear(&AuthEvent::UserSessionsEnded {
            user_id: ada.clone(),
            kept: Some(SessionId::new("s1")),
            reason: SessionEnd::RevokedOthers,
        });
        assert_eq!(second_closed.try_recv(), Ok(CloseReason::Revoked));
        assert!(first_closed.try_recv().is_err(), "the kept session stays");
        hub.hear(&AuthEvent::PasswordChanged {
            user_id: ada.clone(),
        });
        assert_eq!(first_closed.try_recv(), Ok(CloseReason::PasswordChanged));
        hub.hear(&AuthEvent::UserDeleted {
            user_id: ada.clone(),
        });
        assert_eq!(first_closed.try_recv(), Ok(CloseReason::UserDeleted));
        hub.hear(&AuthEvent::ApiKeyChanged {
            owner: "bob".to_owned(),
            key_id: "key-1".to_owned(),
            revoked: false,
        });
        assert!(bobs_closed.try_recv().is_err(), "an updated key stays");
        hub.hear(&AuthEvent::ApiKeyChanged {
            owner: "bob".to_owned(),
            key_id: "key-1".to_owned(),
            revoked: true,
        });
        assert_eq!(bobs_closed.try_recv(), Ok(CloseReason::KeyRevoked));
        hub.hear(&AuthEvent::OrganizationDeleted {
            organization_id: "o".to_owned(),
        });
        assert!(bobs_closed.try_recv().is_err());

        hub.close_oldest(&ada);
        assert_eq!(first_closed.try_recv(), Ok(CloseReason::Replaced));
        hub.close_all();
        assert_eq!(bobs_closed.try_recv(), Ok(CloseReason::Shutdown));
        hub.unregister(&ada, first).await;
        assert_eq!(hub.count(&ada), 1);
        hub.unregister(&ada, first).await;
        assert_eq!(hub.open(), 2);
    }

    #[test]
    fn every_close_reason_has_its_own_code_and_text() {
        let all = CloseReason::ALL;
        let mut codes: Vec<u16> = all.iter().map(|reason| reason.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        let mut labels: Vec<&str> = all.iter().map(|reason| reason.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), all.len());
        assert!(all.iter().all(|reason| !reason.text().is_empty()));
    }

    #[test]
    fn leaving_or_deleting_the_active_organization_closes_its_sockets_only() {
        let hub = Hub::new();
        let ada = UserId::new("ada");
        let bob = UserId::new("bob");
        let mut in_acme = hub.register(0, &ada, &SessionId::new("s1"), Some("acme"));
        let mut in_other = hub.register(1, &ada, &SessionId::new("s2"), Some("other"));
        let mut no_org = hub.register(2, &ada, &SessionId::new("s3"), None);
        let mut bob_in_acme = hub.register(3, &bob, &SessionId::new("s4"), Some("acme"));
        hub.hear(&AuthEvent::MemberRemoved {
            organization_id: "acme".to_owned(),
            user_id: ada.clone(),
        });
        assert_eq!(in_acme.try_recv(), Ok(CloseReason::RemovedFromOrganization));
        assert!(in_other.try_recv().is_err());
        assert!(no_org.try_recv().is_err());
        assert!(bob_in_acme.try_recv().is_err(), "another member stays");
        hub.hear(&AuthEvent::OrganizationDeleted {
            organization_id: "acme".to_owned(),
        });
        assert_eq!(
            bob_in_acme.try_recv(),
            Ok(CloseReason::RemovedFromOrganization)
        );
        assert!(in_other.try_recv().is_err());
    }
}
