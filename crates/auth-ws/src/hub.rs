//! The open sockets of this instance by user, and the events that close them.

use std::collections::{HashMap, VecDeque};
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
    /// Told to close already (it no longer counts towards the limit).
    closing: bool,
}

impl Entry {
    fn shut(&mut self, reason: CloseReason) {
        if !self.closing {
            self.closing = true;
            let _ = self.close.send(reason);
        }
    }
}

/// How many of the latest closing events a hub keeps, for the upgrades that were being
/// authenticated when they were heard.
const RECENT_EVENTS: usize = 1024;

/// The sockets, and the closing events lately heard (numbered from 1).
#[derive(Debug, Default)]
struct State {
    sockets: HashMap<UserId, Vec<Entry>>,
    recent: VecDeque<(u64, AuthEvent)>,
    heard: u64,
}

/// The open sockets of this instance, by user; with [`Hub::count_across`], each also holds a
/// slot shared by the instances, for the per-user limit.
pub struct Hub {
    state: Mutex<State>,
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
            state: Mutex::default(),
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

/// A socket in the hub, from its admission on: dropping it forgets the socket and gives its
/// shared slot back (also when the upgrade never completes).
#[derive(Debug)]
pub(crate) struct Registration {
    hub: Arc<Hub>,
    user: UserId,
    pub(crate) id: u64,
    /// Where its closing arrives.
    pub(crate) closed: mpsc::UnboundedReceiver<CloseReason>,
    holds_slot: bool,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.forget(&self.user, self.id);
        if self.holds_slot
            && let (Some(slots), Ok(runtime)) = (
                self.hub.slots.get().cloned(),
                tokio::runtime::Handle::try_current(),
            )
        {
            let (user, slot) = (self.user.clone(), self.hub.slot(self.id));
            runtime.spawn(async move {
                if let Err(error) = slots.release(user.as_str(), &slot).await {
                    tracing::warn!(error = %error, "a WebSocket slot was not given back; it lapses");
                }
            });
        }
    }
}

/// Who a socket being admitted is for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Applicant<'a> {
    pub(crate) user: &'a UserId,
    pub(crate) session: &'a SessionId,
    pub(crate) organization: Option<&'a str>,
    /// [`Hub::mark`] before its credential was checked.
    pub(crate) since: u64,
}

/// The per-user limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limit {
    pub(crate) max: usize,
    pub(crate) close_oldest: bool,
    /// How long a shared slot lives unrefreshed.
    pub(crate) ttl: Duration,
}

/// Which sockets an event may close: a user's, or anyone's.
enum Scope<'a> {
    User(&'a UserId),
    Anyone,
}

/// The sockets an event closes and why: a session's, every session of a user (but the one
/// kept), a deleted user's, a revoked key's, those whose active organization the user left or
/// that was deleted. `None` for an event that closes nothing.
fn scope(event: &AuthEvent) -> Option<Scope<'_>> {
    match event {
        AuthEvent::SessionEnded { user_id, .. }
        | AuthEvent::UserSessionsEnded { user_id, .. }
        | AuthEvent::PasswordChanged { user_id }
        | AuthEvent::UserDeleted { user_id }
        | AuthEvent::MemberRemoved { user_id, .. } => Some(Scope::User(user_id)),
        AuthEvent::ApiKeyChanged { revoked: true, .. } | AuthEvent::OrganizationDeleted { .. } => {
            Some(Scope::Anyone)
        }
        _ => None,
    }
}

/// Whether `event` closes `entry` (a socket of `user`), and why.
fn closes(event: &AuthEvent, user: &UserId, entry: &Entry) -> Option<CloseReason> {
    let of_user = |id: &UserId| id == user;
    match event {
        AuthEvent::SessionEnded {
            user_id,
            session_id,
            reason,
            ..
        } if of_user(user_id) && entry.session == *session_id => {
            Some(if *reason == SessionEnd::SignOut {
                CloseReason::SignedOut
            } else {
                CloseReason::Revoked
            })
        }
        AuthEvent::UserSessionsEnded { user_id, kept, .. }
            if of_user(user_id) && kept.as_ref() != Some(&entry.session) =>
        {
            Some(CloseReason::Revoked)
        }
        AuthEvent::PasswordChanged { user_id } if of_user(user_id) => {
            Some(CloseReason::PasswordChanged)
        }
        AuthEvent::UserDeleted { user_id } if of_user(user_id) => Some(CloseReason::UserDeleted),
        AuthEvent::ApiKeyChanged {
            key_id,
            revoked: true,
            ..
        } if entry.session.as_str() == key_id => Some(CloseReason::KeyRevoked),
        AuthEvent::MemberRemoved {
            organization_id,
            user_id,
        } if of_user(user_id) && entry.organization.as_deref() == Some(organization_id) => {
            Some(CloseReason::RemovedFromOrganization)
        }
        AuthEvent::OrganizationDeleted { organization_id }
            if entry.organization.as_deref() == Some(organization_id) =>
        {
            Some(CloseReason::RemovedFromOrganization)
        }
        _ => None,
    }
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

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many sockets the user has open here.
    #[must_use]
    pub fn count(&self, user: &UserId) -> usize {
        self.state().sockets.get(user).map_or(0, Vec::len)
    }

    /// How many sockets are open here.
    #[must_use]
    pub fn open(&self) -> usize {
        self.state().sockets.values().map(Vec::len).sum()
    }

    /// Where the hub is in the events it heard: taken before a credential is checked, so that
    /// an event heard meanwhile still closes the socket it admits ([`Hub::admit`]).
    pub(crate) fn mark(&self) -> u64 {
        self.state().heard
    }

    /// Admits a socket for `who` under `limit` (at the limit, with `close_oldest`, the user's
    /// oldest socket is closed to make room), or `None` when the user is at the limit. Counted
    /// across instances when counted across them (a slot held for `limit.ttl` at a time), on
    /// this instance alone otherwise or when the slots cannot be reached (logged). The closing
    /// events heard since `who.since` are applied to it: a session that ended while its
    /// upgrade was being authenticated gets a socket that closes at once.
    pub(crate) async fn admit(
        self: &Arc<Self>,
        who: Applicant<'_>,
        limit: Limit,
    ) -> Option<Registration> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut holds_slot = false;
        if let Some(slots) = self.slots.get() {
            let slot = self.slot(id);
            let taken = slots
                .acquire(
                    who.user.as_str(),
                    &slot,
                    limit.max,
                    limit.close_oldest,
                    limit.ttl,
                )
                .await;
            match taken {
                Ok(SlotGrant::Taken { evicted }) => {
                    if let Some(evicted) = evicted {
                        self.close_slot(who.user, &evicted);
                    }
                    holds_slot = true;
                }
                Ok(SlotGrant::Full) => return None,
                Err(error) => {
                    tracing::warn!(error = %error, "WebSocket slots unreachable; counting on this instance");
                }
            }
        }
        let (close, closed) = mpsc::unbounded_channel();
        let mut state = self.state();
        let state = &mut *state;
        let entries = state.sockets.entry(who.user.clone()).or_default();
        if !holds_slot && entries.iter().filter(|entry| !entry.closing).count() >= limit.max {
            if !limit.close_oldest {
                if entries.is_empty() {
                    state.sockets.remove(who.user);
                }
                return None;
            }
            if let Some(oldest) = entries.iter_mut().find(|entry| !entry.closing) {
                oldest.shut(CloseReason::Replaced);
            }
        }
        let mut entry = Entry {
            id,
            session: who.session.clone(),
            organization: who.organization.map(str::to_owned),
            close,
            closing: false,
        };
        let missed = state
            .recent
            .front()
            .is_some_and(|(first, _)| *first > who.since + 1);
        if missed {
            // More events than the hub keeps were heard during the upgrade: one of them may
            // have ended this session.
            entry.shut(CloseReason::Revoked);
        }
        for (_, event) in state.recent.iter().filter(|(seq, _)| *seq > who.since) {
            if let Some(reason) = closes(event, who.user, &entry) {
                entry.shut(reason);
            }
        }
        entries.push(entry);
        Some(Registration {
            hub: self.clone(),
            user: who.user.clone(),
            id,
            closed,
            holds_slot,
        })
    }

    /// Keeps a socket's shared slot alive: `false` when another instance took its place.
    pub(crate) async fn refresh(&self, user: &UserId, id: u64, limit: Limit) -> bool {
        let Some(slots) = self.slots.get() else {
            return true;
        };
        // An unreachable store keeps the socket: its slot lapses, or is refreshed later.
        slots
            .refresh(user.as_str(), &self.slot(id), limit.max, limit.ttl)
            .await
            .unwrap_or(true)
    }

    /// Forgets a socket.
    fn forget(&self, user: &UserId, id: u64) {
        let mut state = self.state();
        if let Some(entries) = state.sockets.get_mut(user) {
            entries.retain(|entry| entry.id != id);
            if entries.is_empty() {
                state.sockets.remove(user);
            }
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
        if let Some(entries) = self.state().sockets.get_mut(user) {
            for entry in entries.iter_mut().filter(|entry| entry.id == id) {
                entry.shut(CloseReason::Replaced);
            }
        }
    }

    /// Closes every socket (shutdown).
    pub fn close_all(&self) {
        for entries in self.state().sockets.values_mut() {
            for entry in entries {
                entry.shut(CloseReason::Shutdown);
            }
        }
    }

    /// Closes the sockets an event ends: a session's, every session of a user (but the one
    /// kept), a deleted user's, a revoked key's, those whose active organization the user left
    /// or that was deleted. The event is kept a while for the upgrades being authenticated.
    pub fn hear(&self, event: &AuthEvent) {
        let Some(scope) = scope(event) else {
            return;
        };
        let mut state = self.state();
        let state = &mut *state;
        state.heard += 1;
        state.recent.push_back((state.heard, event.clone()));
        while state.recent.len() > RECENT_EVENTS {
            state.recent.pop_front();
        }
        let shut = |user: &UserId, entries: &mut Vec<Entry>| {
            for entry in entries {
                if let Some(reason) = closes(event, user, entry) {
                    entry.shut(reason);
                }
            }
        };
        match scope {
            Scope::User(user) => {
                if let Some(entries) = state.sockets.get_mut(user) {
                    shut(user, entries);
                }
            }
            Scope::Anyone => {
                for (user, entries) in &mut state.sockets {
                    shut(user, entries);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use auth_domain::{AuthEvent, SessionEnd, SessionId, UserId};

    use super::{Applicant, CloseReason, Hub, Limit, Registration};

    const ROOMY: Limit = Limit {
        max: 10,
        close_oldest: false,
        ttl: Duration::from_secs(60),
    };

    async fn admit(
        hub: &Arc<Hub>,
        user: &UserId,
        session: &str,
        org: Option<&str>,
    ) -> Registration {
        admit_under(hub, user, session, org, ROOMY)
            .await
            .expect("admitted")
    }

    async fn admit_under(
        hub: &Arc<Hub>,
        user: &UserId,
        session: &str,
        organization: Option<&str>,
        limit: Limit,
    ) -> Option<Registration> {
        let session = SessionId::new(session);
        let applicant = Applicant {
            user,
            session: &session,
            organization,
            since: hub.mark(),
        };
        hub.admit(applicant, limit).await
    }

    fn signed_out(user: &UserId, session: &str) -> AuthEvent {
        AuthEvent::SessionEnded {
            user_id: user.clone(),
            session_id: SessionId::new(session),
            token: None,
            reason: SessionEnd::SignOut,
        }
    }

    #[tokio::test]
    async fn events_close_the_sockets_they_end_and_no_others() {
        let hub = Arc::new(Hub::new());
        let ada = UserId::new("ada");
        let bob = UserId::new("bob");
        let mut first = admit(&hub, &ada, "s1", None).await;
        let mut second = admit(&hub, &ada, "s2", None).await;
        let mut bobs = admit(&hub, &bob, "key-1", None).await;
        assert_eq!((hub.count(&ada), hub.count(&bob), hub.open()), (2, 1, 3));

        hub.hear(&signed_out(&ada, "s1"));
        assert_eq!(first.closed.try_recv(), Ok(CloseReason::SignedOut));
        assert!(second.closed.try_recv().is_err(), "another session stays");
        hub.hear(&AuthEvent::UserSessionsEnded {
            user_id: ada.clone(),
            kept: Some(SessionId::new("s1")),
            reason: SessionEnd::RevokedOthers,
        });
        assert_eq!(second.closed.try_recv(), Ok(CloseReason::Revoked));
        hub.hear(&AuthEvent::PasswordChanged {
            user_id: ada.clone(),
        });
        assert!(first.closed.try_recv().is_err(), "a socket is told once");
        hub.hear(&AuthEvent::ApiKeyChanged {
            owner: "bob".to_owned(),
            key_id: "key-1".to_owned(),
            revoked: false,
        });
        assert!(bobs.closed.try_recv().is_err(), "an updated key stays");
        hub.hear(&AuthEvent::SessionCreated {
            session: auth_domain::Session {
                id: SessionId::new("s9"),
                token: auth_domain::SessionToken::new("t".to_owned()),
                user_id: bob.clone(),
                expires_at: time::OffsetDateTime::UNIX_EPOCH,
                created_at: time::OffsetDateTime::UNIX_EPOCH,
                updated_at: time::OffsetDateTime::UNIX_EPOCH,
                ip_address: None,
                user_agent: None,
                fields: Default::default(),
            },
        });
        assert!(
            bobs.closed.try_recv().is_err(),
            "a new session closes nothing"
        );
        hub.hear(&AuthEvent::ApiKeyChanged {
            owner: "bob".to_owned(),
            key_id: "key-1".to_owned(),
            revoked: true,
        });
        assert_eq!(bobs.closed.try_recv(), Ok(CloseReason::KeyRevoked));

        let mut third = admit(&hub, &ada, "s3", None).await;
        hub.hear(&AuthEvent::UserDeleted {
            user_id: ada.clone(),
        });
        assert_eq!(third.closed.try_recv(), Ok(CloseReason::UserDeleted));
        let mut fourth = admit(&hub, &bob, "s4", None).await;
        hub.close_all();
        assert_eq!(fourth.closed.try_recv(), Ok(CloseReason::Shutdown));
        drop((first, second, third));
        assert_eq!(hub.count(&ada), 0, "a dropped registration is forgotten");
        assert_eq!(hub.open(), 2);
        assert!(format!("{hub:?}").contains("open: 2"));
    }

    #[tokio::test]
    async fn a_session_that_ended_while_its_upgrade_was_checked_gets_a_socket_that_closes_at_once()
    {
        let hub = Arc::new(Hub::new());
        let ada = UserId::new("ada");
        let since = hub.mark();
        // Heard after the credential was checked, before the socket is admitted.
        hub.hear(&signed_out(&ada, "s1"));
        let session = SessionId::new("s1");
        let applicant = Applicant {
            user: &ada,
            session: &session,
            organization: None,
            since,
        };
        let mut late = hub.admit(applicant, ROOMY).await.expect("admitted");
        assert_eq!(late.closed.try_recv(), Ok(CloseReason::SignedOut));
        let mut other = admit(&hub, &ada, "s2", None).await;
        assert!(
            other.closed.try_recv().is_err(),
            "an earlier event is not replayed"
        );

        // More events than the hub keeps: the socket cannot be vouched for.
        let since = hub.mark();
        for n in 0..=super::RECENT_EVENTS {
            hub.hear(&signed_out(&UserId::new(format!("user-{n}")), "x"));
        }
        let applicant = Applicant { since, ..applicant };
        let mut missed = hub.admit(applicant, ROOMY).await.expect("admitted");
        assert_eq!(missed.closed.try_recv(), Ok(CloseReason::Revoked));
    }

    #[tokio::test]
    async fn the_limit_holds_for_upgrades_in_flight_and_close_oldest_picks_a_live_socket() {
        let hub = Arc::new(Hub::new());
        let ada = UserId::new("ada");
        let one = Limit { max: 1, ..ROOMY };
        let held = admit_under(&hub, &ada, "s1", None, one)
            .await
            .expect("first");
        assert!(admit_under(&hub, &ada, "s2", None, one).await.is_none());
        drop(held);
        assert!(admit_under(&hub, &ada, "s2", None, one).await.is_some());
        assert_eq!(hub.count(&ada), 0, "refused and dropped: nothing left");

        let evicting = Limit {
            close_oldest: true,
            ..one
        };
        let mut first = admit_under(&hub, &ada, "s1", None, evicting)
            .await
            .expect("1");
        let mut second = admit_under(&hub, &ada, "s2", None, evicting)
            .await
            .expect("2");
        let mut third = admit_under(&hub, &ada, "s3", None, evicting)
            .await
            .expect("3");
        assert_eq!(first.closed.try_recv(), Ok(CloseReason::Replaced));
        assert_eq!(second.closed.try_recv(), Ok(CloseReason::Replaced));
        assert!(third.closed.try_recv().is_err(), "the newest stays");
    }

    #[tokio::test]
    async fn leaving_or_deleting_the_active_organization_closes_its_sockets_only() {
        let hub = Arc::new(Hub::new());
        let ada = UserId::new("ada");
        let bob = UserId::new("bob");
        let mut in_acme = admit(&hub, &ada, "s1", Some("acme")).await;
        let mut in_other = admit(&hub, &ada, "s2", Some("other")).await;
        let mut no_org = admit(&hub, &ada, "s3", None).await;
        let mut bob_in_acme = admit(&hub, &bob, "s4", Some("acme")).await;
        hub.hear(&AuthEvent::MemberRemoved {
            organization_id: "acme".to_owned(),
            user_id: ada.clone(),
        });
        assert_eq!(
            in_acme.closed.try_recv(),
            Ok(CloseReason::RemovedFromOrganization)
        );
        assert!(in_other.closed.try_recv().is_err());
        assert!(no_org.closed.try_recv().is_err());
        assert!(
            bob_in_acme.closed.try_recv().is_err(),
            "another member stays"
        );
        hub.hear(&AuthEvent::OrganizationDeleted {
            organization_id: "acme".to_owned(),
        });
        assert_eq!(
            bob_in_acme.closed.try_recv(),
            Ok(CloseReason::RemovedFromOrganization)
        );
        assert!(in_other.closed.try_recv().is_err());
    }

    #[test]
    fn every_close_reason_has_its_own_code_label_and_text() {
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
}
