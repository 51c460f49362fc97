//! A store that refuses everything: lets `auth-app openapi` build the routes without a database.

use auth_domain::{
    Account, AccountId, AuditEvent, Email, Fields, PasswordHash, Session, SessionId, SessionToken,
    User, UserId, Verification, VerificationId,
};
use auth_ports::{AccountRepo, AuditLog, PortError, SessionRepo, UserRepo, VerificationRepo};
use time::OffsetDateTime;

pub(crate) struct NoStore;

pub(crate) fn none() -> PortError {
    PortError::Unavailable("no database in this mode".into())
}

#[async_trait::async_trait]
impl UserRepo for NoStore {
    async fn create_with_account(&self, _: &User, _: &Account) -> Result<(), PortError> {
        Err(none())
    }
    async fn find_by_email(&self, _: &Email) -> Result<Option<User>, PortError> {
        Err(none())
    }
    async fn find_by_id(&self, _: &UserId) -> Result<Option<User>, PortError> {
        Err(none())
    }
    async fn update(&self, _: &User) -> Result<(), PortError> {
        Err(none())
    }
    async fn delete(&self, _: &UserId) -> Result<(), PortError> {
        Err(none())
    }
    async fn count_two_factor_enabled(&self) -> Result<u64, PortError> {
        Err(none())
    }
    async fn update_user_fields(&self, _: &UserId, _: &Fields) -> Result<(), PortError> {
        Err(none())
    }
}

#[async_trait::async_trait]
impl AccountRepo for NoStore {
    async fn find_credential(&self, _: &UserId) -> Result<Option<Account>, PortError> {
        Err(none())
    }
    async fn create(&self, _: &Account) -> Result<(), PortError> {
        Err(none())
    }
    async fn update_password(
        &self,
        _: &AccountId,
        _: &PasswordHash,
        _: OffsetDateTime,
    ) -> Result<(), PortError> {
        Err(none())
    }
}

#[async_trait::async_trait]
impl SessionRepo for NoStore {
    async fn create(&self, _: &Session) -> Result<(), PortError> {
        Err(none())
    }
    async fn find_with_user(&self, _: &SessionToken) -> Result<Option<(Session, User)>, PortError> {
        Err(none())
    }
    async fn update_session_fields(&self, _: &SessionId, _: &Fields) -> Result<(), PortError> {
        Err(none())
    }
    async fn update_expiry(
        &self,
        _: &SessionId,
        _: OffsetDateTime,
        _: OffsetDateTime,
    ) -> Result<(), PortError> {
        Err(none())
    }
    async fn list_active(&self, _: &UserId, _: OffsetDateTime) -> Result<Vec<Session>, PortError> {
        Err(none())
    }
    async fn delete_by_token(&self, _: &SessionToken) -> Result<bool, PortError> {
        Err(none())
    }
    async fn delete_for_user(&self, _: &UserId, _: Option<SessionToken>) -> Result<u64, PortError> {
        Err(none())
    }
}

#[async_trait::async_trait]
impl VerificationRepo for NoStore {
    async fn create(&self, _: &Verification) -> Result<(), PortError> {
        Err(none())
    }
    async fn find_latest(&self, _: &str) -> Result<Option<Verification>, PortError> {
        Err(none())
    }
    async fn delete(&self, _: &VerificationId) -> Result<bool, PortError> {
        Err(none())
    }
    async fn delete_expired(&self, _: time::OffsetDateTime) -> Result<u64, PortError> {
        Err(none())
    }
}

#[async_trait::async_trait]
impl AuditLog for NoStore {
    async fn record(&self, _: &AuditEvent) -> Result<(), PortError> {
        Err(none())
    }
    async fn list_for_user(&self, _: &UserId, _: u64) -> Result<Vec<AuditEvent>, PortError> {
        Err(none())
    }
    async fn purge_before(&self, _: OffsetDateTime) -> Result<u64, PortError> {
        Err(none())
    }
}
