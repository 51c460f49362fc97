//! The in-memory store: the worked example of a storage adapter (see docs/storage-adapters.md).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use auth_domain::organization::{Invitation, Member, Organization, StoredRole, Team, TeamMember};

use auth_domain::{
    Account, AccountId, AuditEvent, Email, Fields, PasswordHash, Session, SessionId, SessionToken,
    User, UserId, Verification, VerificationId,
};
use auth_ports::{AccountRepo, AuditLog, PortError, SessionRepo, UserRepo, VerificationRepo};
use time::OffsetDateTime;

mod organization;
mod two_factor;

/// Every table in one mutex: simple, atomic, and enough for tests and single-process demos.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<UserId, User>,
    accounts: HashMap<AccountId, Account>,
    sessions: HashMap<SessionId, Session>,
    verifications: HashMap<VerificationId, Verification>,
    audit: Vec<AuditEvent>,
    organizations: HashMap<String, Organization>,
    members: HashMap<String, Member>,
    invitations: HashMap<String, Invitation>,
    roles: HashMap<String, StoredRole>,
    teams: HashMap<String, Team>,
    team_members: HashMap<String, TeamMember>,
    two_factors: HashMap<String, auth_domain::two_factor::TwoFactor>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every audit event recorded, oldest first.
    #[must_use]
    pub fn all_audit_events(&self) -> Vec<AuditEvent> {
        self.state().audit.clone()
    }

    /// How many session rows there are.
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.state().sessions.len()
    }

    /// Sets a user's `twoFactorEnabled`, as a database adopted from Better-Auth may hold it
    /// without a `twoFactor` row.
    pub fn set_two_factor_enabled(&self, id: &UserId, enabled: bool) {
        if let Some(user) = self.state().users.get_mut(id) {
            user.two_factor_enabled = enabled;
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl UserRepo for MemoryStore {
    async fn create_with_account(&self, user: &User, account: &Account) -> Result<(), PortError> {
        let mut state = self.state();
        let taken = state
            .users
            .values()
            .any(|existing| existing.email == user.email)
            || state.users.contains_key(&user.id)
            || state.accounts.contains_key(&account.id);
        if taken {
            return Err(PortError::Conflict);
        }
        state.users.insert(user.id.clone(), user.clone());
        state.accounts.insert(account.id.clone(), account.clone());
        Ok(())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, PortError> {
        Ok(self
            .state()
            .users
            .values()
            .find(|user| &user.email == email)
            .cloned())
    }

    async fn find_by_id(&self, id: &UserId) -> Result<Option<User>, PortError> {
        Ok(self.state().users.get(id).cloned())
    }

    async fn count_two_factor_enabled(&self) -> Result<u64, PortError> {
        let state = self.state();
        let count = state.users.values().filter(|user| user.two_factor_enabled);
        Ok(u64::try_from(count.count()).unwrap_or(u64::MAX))
    }

    async fn update_user_fields(&self, id: &UserId, fields: &Fields) -> Result<(), PortError> {
        let mut state = self.state();
        let Some(user) = state.users.get_mut(id) else {
            return Err(PortError::NotFound);
        };
        for (name, value) in fields.iter() {
            user.fields.set(name, value.clone());
        }
        Ok(())
    }

    async fn update(&self, user: &User) -> Result<(), PortError> {
        let mut state = self.state();
        let taken = state
            .users
            .values()
            .any(|other| other.id != user.id && other.email == user.email);
        let Some(stored) = state.users.get_mut(&user.id) else {
            return Err(PortError::NotFound);
        };
        if taken {
            return Err(PortError::Conflict);
        }
        stored.name.clone_from(&user.name);
        stored.email = user.email.clone();
        stored.image.clone_from(&user.image);
        stored.email_verified = user.email_verified;
        stored.updated_at = user.updated_at;
        Ok(())
    }

    async fn delete(&self, id: &UserId) -> Result<(), PortError> {
        let mut state = self.state();
        state.users.remove(id);
        state.accounts.retain(|_, account| &account.user_id != id);
        state.sessions.retain(|_, session| &session.user_id != id);
        state.members.retain(|_, member| &member.user_id != id);
        state
            .invitations
            .retain(|_, invitation| &invitation.inviter_id != id);
        state.team_members.retain(|_, seat| &seat.user_id != id);
        state.two_factors.retain(|_, row| &row.user_id != id);
        Ok(())
    }
}

#[async_trait::async_trait]
impl AccountRepo for MemoryStore {
    async fn find_credential(&self, user_id: &UserId) -> Result<Option<Account>, PortError> {
        let state = self.state();
        Ok(state
            .accounts
            .values()
            .find(|account| account.is_credential_of(user_id))
            .cloned())
    }

    async fn create(&self, account: &Account) -> Result<(), PortError> {
        let mut state = self.state();
        if state.accounts.contains_key(&account.id) {
            return Err(PortError::Conflict);
        }
        state.accounts.insert(account.id.clone(), account.clone());
        Ok(())
    }

    async fn update_password(
        &self,
        id: &AccountId,
        hash: &PasswordHash,
        updated_at: OffsetDateTime,
    ) -> Result<(), PortError> {
        let mut state = self.state();
        let Some(account) = state.accounts.get_mut(id) else {
            return Err(PortError::NotFound);
        };
        account.password = Some(hash.clone());
        account.updated_at = updated_at;
        Ok(())
    }
}

#[async_trait::async_trait]
impl SessionRepo for MemoryStore {
    async fn create(&self, session: &Session) -> Result<(), PortError> {
        let mut state = self.state();
        let taken = state.sessions.contains_key(&session.id)
            || state
                .sessions
                .values()
                .any(|existing| existing.token == session.token);
        if taken {
            return Err(PortError::Conflict);
        }
        state.sessions.insert(session.id.clone(), session.clone());
        Ok(())
    }

    async fn find_with_user(
        &self,
        token: &SessionToken,
    ) -> Result<Option<(Session, User)>, PortError> {
        let state = self.state();
        let Some(session) = state
            .sessions
            .values()
            .find(|session| &session.token == token)
        else {
            return Ok(None);
        };
        Ok(state
            .users
            .get(&session.user_id)
            .map(|user| (session.clone(), user.clone())))
    }

    async fn update_session_fields(
        &self,
        id: &SessionId,
        fields: &Fields,
    ) -> Result<(), PortError> {
        let mut state = self.state();
        let Some(session) = state.sessions.get_mut(id) else {
            return Err(PortError::NotFound);
        };
        for (name, value) in fields.iter() {
            session.fields.set(name, value.clone());
        }
        Ok(())
    }

    async fn update_expiry(
        &self,
        id: &SessionId,
        expires_at: OffsetDateTime,
        updated_at: OffsetDateTime,
    ) -> Result<(), PortError> {
        let mut state = self.state();
        let Some(session) = state.sessions.get_mut(id) else {
            return Err(PortError::NotFound);
        };
        session.expires_at = expires_at;
        session.updated_at = updated_at;
        Ok(())
    }

    async fn list_active(
        &self,
        user_id: &UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, PortError> {
        let state = self.state();
        let mut sessions: Vec<Session> = state
            .sessions
            .values()
            .filter(|session| &session.user_id == user_id && session.expires_at > now)
            .cloned()
            .collect();
        sessions.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(sessions)
    }

    async fn delete_by_token(&self, token: &SessionToken) -> Result<bool, PortError> {
        let mut state = self.state();
        let before = state.sessions.len();
        state.sessions.retain(|_, session| &session.token != token);
        Ok(state.sessions.len() < before)
    }

    async fn delete_for_user(
        &self,
        user_id: &UserId,
        keep: Option<SessionToken>,
    ) -> Result<u64, PortError> {
        let mut state = self.state();
        let before = state.sessions.len();
        state.sessions.retain(|_, session| {
            &session.user_id != user_id || Some(&session.token) == keep.as_ref()
        });
        Ok(u64::try_from(before - state.sessions.len()).unwrap_or(u64::MAX))
    }
}

#[async_trait::async_trait]
impl VerificationRepo for MemoryStore {
    async fn create(&self, verification: &Verification) -> Result<(), PortError> {
        let mut state = self.state();
        if state.verifications.contains_key(&verification.id) {
            return Err(PortError::Conflict);
        }
        state
            .verifications
            .insert(verification.id.clone(), verification.clone());
        Ok(())
    }

    async fn find_latest(&self, identifier: &str) -> Result<Option<Verification>, PortError> {
        let state = self.state();
        Ok(state
            .verifications
            .values()
            .filter(|record| record.identifier == identifier)
            .max_by_key(|record| record.created_at)
            .cloned())
    }

    async fn delete(&self, id: &VerificationId) -> Result<bool, PortError> {
        Ok(self.state().verifications.remove(id).is_some())
    }

    async fn delete_expired(&self, before: OffsetDateTime) -> Result<u64, PortError> {
        let mut state = self.state();
        let count = state.verifications.len();
        state
            .verifications
            .retain(|_, record| record.expires_at >= before);
        Ok(u64::try_from(count - state.verifications.len()).unwrap_or(u64::MAX))
    }
}

#[async_trait::async_trait]
impl AuditLog for MemoryStore {
    async fn record(&self, event: &AuditEvent) -> Result<(), PortError> {
        self.state().audit.push(event.clone());
        Ok(())
    }

    async fn list_for_user(
        &self,
        user_id: &UserId,
        limit: u64,
    ) -> Result<Vec<AuditEvent>, PortError> {
        let state = self.state();
        let mut events: Vec<AuditEvent> = state
            .audit
            .iter()
            .filter(|event| event.user_id.as_ref() == Some(user_id))
            .cloned()
            .collect();
        events.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.id.cmp(&a.id))
        });
        events.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(events)
    }

    async fn purge_before(&self, before: OffsetDateTime) -> Result<u64, PortError> {
        let mut state = self.state();
        let count = state.audit.len();
        state.audit.retain(|event| event.created_at >= before);
        Ok(u64::try_from(count - state.audit.len()).unwrap_or(u64::MAX))
    }
}
