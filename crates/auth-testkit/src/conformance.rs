//! The storage conformance suite. Every storage adapter runs it; a behaviour is part of a port
//! only if a case here checks it. Run it from your adapter's tests:
//!
//! ```text
//! let store = Arc::new(MyStore::connect(..).await?);
//! auth_testkit::conformance::run_store_suite(&Stores::from_one(store)).await;
//! ```
//!
//! The suite needs an empty store to start with; every case uses its own ids and emails, so the
//! cases share that one store. A failing case panics with its name.

use std::sync::Arc;

use auth_domain::{
    Account, AccountId, AuditEvent, AuditKind, CREDENTIAL_PROVIDER_ID, Email, PasswordHash,
    Session, SessionId, SessionToken, User, UserId, Verification, VerificationId,
};
use auth_ports::{AccountRepo, AuditLog, PortError, SessionRepo, UserRepo, VerificationRepo};
use time::{Duration, OffsetDateTime, macros::datetime};

mod api_key;
mod jwks;
mod key_counters;
mod organization;
mod two_factor;

pub use api_key::run_api_key_suite;
pub use jwks::run_jwks_suite;
pub use key_counters::run_key_counters_suite;
pub use organization::run_organization_suite;
pub use two_factor::run_two_factor_suite;

/// The store ports under test.
#[derive(Clone)]
pub struct Stores {
    /// `user`.
    pub users: Arc<dyn UserRepo>,
    /// `account`.
    pub accounts: Arc<dyn AccountRepo>,
    /// `session`.
    pub sessions: Arc<dyn SessionRepo>,
    /// `verification`.
    pub verifications: Arc<dyn VerificationRepo>,
}

impl Stores {
    /// All four ports from one adapter value.
    pub fn from_one<S>(store: Arc<S>) -> Self
    where
        S: UserRepo + AccountRepo + SessionRepo + VerificationRepo + 'static,
    {
        Self {
            users: store.clone(),
            accounts: store.clone(),
            sessions: store.clone(),
            verifications: store,
        }
    }
}

/// Runs every case against an empty store.
pub async fn run_store_suite(stores: &Stores) {
    users_round_trip(stores).await;
    duplicate_email_is_a_conflict_and_writes_nothing(stores).await;
    racing_sign_ups_with_one_email_create_one_user(stores).await;
    user_update_and_missing_user(stores).await;
    user_delete_removes_accounts_and_sessions(stores).await;
    credential_account_and_password_update(stores).await;
    sessions_round_trip_with_user(stores).await;
    duplicate_session_token_is_a_conflict(stores).await;
    session_expiry_update_and_listing(stores).await;
    session_deletion(stores).await;
    verification_newest_wins_and_delete_once(stores).await;
    verification_expired_records_are_purged(stores).await;
    two_factor_flag_is_read_and_counted(stores).await;
    accounts_are_created_for_existing_users(stores).await;
    plugin_fields_of_missing_rows_are_not_found(stores).await;
}

const T0: OffsetDateTime = datetime!(2026-03-01 12:00:00.123 UTC);

fn user(tag: &str) -> User {
    User {
        id: UserId::new(format!("user-{tag}")),
        name: format!("Name {tag}"),
        email: Email::from_trusted(format!("{tag}@example.com")),
        email_verified: false,
        two_factor_enabled: false,
        image: None,
        created_at: T0,
        updated_at: T0,
        fields: Default::default(),
    }
}

fn credential(user: &User) -> Account {
    Account {
        id: AccountId::new(format!("account-{}", user.id)),
        account_id: user.id.as_str().to_owned(),
        provider_id: CREDENTIAL_PROVIDER_ID.to_owned(),
        user_id: user.id.clone(),
        password: Some(PasswordHash::new("hash-1".to_owned())),
        created_at: T0,
        updated_at: T0,
    }
}

fn session(tag: &str, user: &User, expires_at: OffsetDateTime) -> Session {
    Session {
        id: SessionId::new(format!("session-{tag}")),
        token: SessionToken::new(format!("token-{tag}")),
        user_id: user.id.clone(),
        expires_at,
        created_at: T0,
        updated_at: T0,
        ip_address: Some("127.0.0.1".to_owned()),
        user_agent: Some(String::new()),
        fields: Default::default(),
    }
}

async fn create_user(stores: &Stores, tag: &str) -> User {
    let user = user(tag);
    let created = stores
        .users
        .create_with_account(&user, &credential(&user))
        .await;
    assert!(
        created.is_ok(),
        "create_with_account({tag}) failed: {created:?}"
    );
    user
}

async fn users_round_trip(stores: &Stores) {
    let alice = create_user(stores, "round-trip").await;
    let by_email = stores
        .users
        .find_by_email(&alice.email)
        .await
        .ok()
        .flatten();
    assert_eq!(
        by_email.as_ref(),
        Some(&alice),
        "users_round_trip: find_by_email"
    );
    let by_id = stores.users.find_by_id(&alice.id).await.ok().flatten();
    assert_eq!(by_id.as_ref(), Some(&alice), "users_round_trip: find_by_id");
    let unknown = Email::from_trusted("nobody@example.com".to_owned());
    let missing = stores.users.find_by_email(&unknown).await.ok().flatten();
    assert_eq!(missing, None, "users_round_trip: unknown email");
}

async fn duplicate_email_is_a_conflict_and_writes_nothing(stores: &Stores) {
    let first = create_user(stores, "duplicate").await;
    let mut second = user("duplicate");
    second.id = UserId::new("user-duplicate-second");
    let result = stores
        .users
        .create_with_account(&second, &credential(&second))
        .await;
    assert!(
        matches!(result, Err(PortError::Conflict)),
        "duplicate email: got {result:?}"
    );
    let ghost = stores.users.find_by_id(&second.id).await.ok().flatten();
    assert_eq!(
        ghost, None,
        "duplicate email: the second user must not exist"
    );
    let ghost_account = stores
        .accounts
        .find_credential(&second.id)
        .await
        .ok()
        .flatten();
    assert_eq!(
        ghost_account, None,
        "duplicate email: no half-written account"
    );
    let kept = stores
        .users
        .find_by_email(&first.email)
        .await
        .ok()
        .flatten();
    assert_eq!(
        kept,
        Some(first),
        "duplicate email: the first user is intact"
    );
}

async fn racing_sign_ups_with_one_email_create_one_user(stores: &Stores) {
    let attempts: Vec<(User, Account)> = (0..16)
        .map(|n| {
            let mut racer = user("race");
            racer.id = UserId::new(format!("user-race-{n}"));
            let account = credential(&racer);
            (racer, account)
        })
        .collect();
    let results = futures_util::future::join_all(
        attempts
            .iter()
            .map(|(racer, account)| stores.users.create_with_account(racer, account)),
    )
    .await;
    let created = results.iter().filter(|result| result.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|result| matches!(result, Err(PortError::Conflict)))
        .count();
    assert_eq!(
        (created, conflicts),
        (1, 15),
        "racing sign-ups: {results:?}"
    );
}

async fn user_update_and_missing_user(stores: &Stores) {
    let mut alice = create_user(stores, "update").await;
    alice.name = "Renamed".to_owned();
    alice.image = Some("https://example.com/a.png".to_owned());
    alice.email_verified = true;
    alice.email = Email::from_trusted("update-renamed@example.com".to_owned());
    alice.updated_at = T0 + Duration::minutes(5);
    assert!(
        stores.users.update(&alice).await.is_ok(),
        "update: existing user"
    );
    let stored = stores.users.find_by_id(&alice.id).await.ok().flatten();
    assert_eq!(
        stored,
        Some(alice.clone()),
        "update: all written fields round-trip"
    );
    let bob = create_user(stores, "update-other").await;
    let mut clash = alice.clone();
    clash.email = bob.email.clone();
    let taken = stores.users.update(&clash).await;
    assert!(
        matches!(taken, Err(PortError::Conflict)),
        "update: another user's email is a conflict, got {taken:?}"
    );
    let unchanged = stores.users.find_by_id(&alice.id).await.ok().flatten();
    assert_eq!(unchanged, Some(alice), "update: a conflict writes nothing");
    let ghost = user("update-ghost");
    let result = stores.users.update(&ghost).await;
    assert!(
        matches!(result, Err(PortError::NotFound)),
        "update missing: got {result:?}"
    );
}

async fn user_delete_removes_accounts_and_sessions(stores: &Stores) {
    let alice = create_user(stores, "delete").await;
    let live = session("delete", &alice, T0 + Duration::days(7));
    assert!(
        stores.sessions.create(&live).await.is_ok(),
        "delete: create session"
    );
    assert!(
        stores.users.delete(&alice.id).await.is_ok(),
        "delete: existing user"
    );
    assert_eq!(
        stores.users.find_by_id(&alice.id).await.ok().flatten(),
        None,
        "delete: user gone"
    );
    let account = stores
        .accounts
        .find_credential(&alice.id)
        .await
        .ok()
        .flatten();
    assert_eq!(account, None, "delete: accounts gone");
    let found = stores
        .sessions
        .find_with_user(&live.token)
        .await
        .ok()
        .flatten();
    assert_eq!(found, None, "delete: sessions gone");
    assert!(
        stores.users.delete(&alice.id).await.is_ok(),
        "delete: missing user is not an error"
    );
}

async fn credential_account_and_password_update(stores: &Stores) {
    let alice = create_user(stores, "password").await;
    let account = stores
        .accounts
        .find_credential(&alice.id)
        .await
        .ok()
        .flatten();
    assert_eq!(
        account.as_ref(),
        Some(&credential(&alice)),
        "credential: round trip"
    );
    let Some(account) = account else { return };
    let later = T0 + Duration::hours(1);
    let new_hash = PasswordHash::new("hash-2".to_owned());
    let updated = stores
        .accounts
        .update_password(&account.id, &new_hash, later)
        .await;
    assert!(updated.is_ok(), "credential: update_password {updated:?}");
    let stored = stores
        .accounts
        .find_credential(&alice.id)
        .await
        .ok()
        .flatten();
    assert_eq!(
        stored.as_ref().and_then(|a| a.password.clone()),
        Some(new_hash.clone())
    );
    assert_eq!(
        stored.map(|a| a.updated_at),
        Some(later),
        "credential: updated_at written"
    );
    let missing = stores
        .accounts
        .update_password(&AccountId::new("nope"), &new_hash, later)
        .await;
    assert!(
        matches!(missing, Err(PortError::NotFound)),
        "credential: missing {missing:?}"
    );
}

async fn accounts_are_created_for_existing_users(stores: &Stores) {
    let social = user("account-create");
    let github = Account {
        id: AccountId::new("account-github".to_owned()),
        account_id: "4242".to_owned(),
        provider_id: "github".to_owned(),
        user_id: social.id.clone(),
        password: None,
        created_at: T0,
        updated_at: T0,
    };
    let created = stores.users.create_with_account(&social, &github).await;
    assert!(created.is_ok(), "account: user {created:?}");
    let none = stores.accounts.find_credential(&social.id).await;
    assert!(
        matches!(none, Ok(None)),
        "account: no credential yet {none:?}"
    );
    let added = credential(&social);
    let stored = stores.accounts.create(&added).await;
    assert!(stored.is_ok(), "account: create {stored:?}");
    let found = stores
        .accounts
        .find_credential(&social.id)
        .await
        .ok()
        .flatten();
    assert_eq!(
        found,
        Some(added.clone()),
        "account: the new one is the credential"
    );
    let again = stores.accounts.create(&added).await;
    assert!(
        matches!(again, Err(PortError::Conflict)),
        "account: same id twice {again:?}"
    );
}

async fn plugin_fields_of_missing_rows_are_not_found(stores: &Stores) {
    let alice = create_user(stores, "fields").await;
    let live = session("fields", &alice, T0 + Duration::days(7));
    assert!(
        stores.sessions.create(&live).await.is_ok(),
        "fields: session"
    );
    let none = auth_domain::Fields::default();
    let user_ok = stores.users.update_user_fields(&alice.id, &none).await;
    assert!(user_ok.is_ok(), "fields: existing user {user_ok:?}");
    let session_ok = stores.sessions.update_session_fields(&live.id, &none).await;
    assert!(
        session_ok.is_ok(),
        "fields: existing session {session_ok:?}"
    );
    let missing_user = stores
        .users
        .update_user_fields(&UserId::new("nobody".to_owned()), &none)
        .await;
    assert!(
        matches!(missing_user, Err(PortError::NotFound)),
        "fields: missing user {missing_user:?}"
    );
    let missing_session = stores
        .sessions
        .update_session_fields(&SessionId::new("nothing".to_owned()), &none)
        .await;
    assert!(
        matches!(missing_session, Err(PortError::NotFound)),
        "fields: missing session {missing_session:?}"
    );
}

async fn sessions_round_trip_with_user(stores: &Stores) {
    let alice = create_user(stores, "session-read").await;
    let live = session("read", &alice, T0 + Duration::days(7));
    assert!(
        stores.sessions.create(&live).await.is_ok(),
        "session: create"
    );
    let found = stores
        .sessions
        .find_with_user(&live.token)
        .await
        .ok()
        .flatten();
    assert_eq!(
        found,
        Some((live, alice)),
        "session: find_with_user returns both rows"
    );
    let unknown = SessionToken::new("token-unknown".to_owned());
    let missing = stores
        .sessions
        .find_with_user(&unknown)
        .await
        .ok()
        .flatten();
    assert_eq!(missing, None, "session: unknown token");
}

async fn duplicate_session_token_is_a_conflict(stores: &Stores) {
    let alice = create_user(stores, "session-dup").await;
    let first = session("dup", &alice, T0 + Duration::days(7));
    assert!(
        stores.sessions.create(&first).await.is_ok(),
        "session dup: first"
    );
    let mut second = first.clone();
    second.id = SessionId::new("session-dup-second");
    let result = stores.sessions.create(&second).await;
    assert!(
        matches!(result, Err(PortError::Conflict)),
        "session dup: got {result:?}"
    );
}

async fn session_expiry_update_and_listing(stores: &Stores) {
    let alice = create_user(stores, "session-list").await;
    let bob = create_user(stores, "session-list-other").await;
    let mut older = session("list-a", &alice, T0 + Duration::days(7));
    older.created_at = T0 - Duration::hours(1);
    let newer = session("list-b", &alice, T0 + Duration::days(7));
    let expired = session("list-expired", &alice, T0 - Duration::seconds(1));
    let others = session("list-other", &bob, T0 + Duration::days(7));
    for s in [&newer, &older, &expired, &others] {
        assert!(stores.sessions.create(s).await.is_ok(), "listing: create");
    }
    let listed = stores
        .sessions
        .list_active(&alice.id, T0)
        .await
        .unwrap_or_default();
    let ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        ["session-list-a", "session-list-b"],
        "listing: active, oldest first"
    );

    let later = T0 + Duration::days(8);
    let moved = stores
        .sessions
        .update_expiry(&newer.id, later + Duration::days(7), later)
        .await;
    assert!(moved.is_ok(), "update_expiry: {moved:?}");
    let found = stores
        .sessions
        .find_with_user(&newer.token)
        .await
        .ok()
        .flatten();
    let found = found.map(|(s, _)| (s.expires_at, s.updated_at));
    assert_eq!(
        found,
        Some((later + Duration::days(7), later)),
        "update_expiry: round trip"
    );
    let missing = stores
        .sessions
        .update_expiry(&SessionId::new("nope"), later, later)
        .await;
    assert!(
        matches!(missing, Err(PortError::NotFound)),
        "update_expiry missing: {missing:?}"
    );
}

async fn session_deletion(stores: &Stores) {
    let alice = create_user(stores, "session-delete").await;
    let bob = create_user(stores, "session-delete-other").await;
    let sessions: Vec<Session> = (0..3)
        .map(|n| session(&format!("del-{n}"), &alice, T0 + Duration::days(7)))
        .collect();
    let others = session("del-other", &bob, T0 + Duration::days(7));
    for s in sessions.iter().chain([&others]) {
        assert!(stores.sessions.create(s).await.is_ok(), "deletion: create");
    }
    let deleted = stores
        .sessions
        .delete_by_token(&sessions[0].token)
        .await
        .ok();
    assert_eq!(deleted, Some(true), "delete_by_token: existing");
    let again = stores
        .sessions
        .delete_by_token(&sessions[0].token)
        .await
        .ok();
    assert_eq!(again, Some(false), "delete_by_token: already gone");
    let kept = stores
        .sessions
        .delete_for_user(&alice.id, Some(sessions[2].token.clone()))
        .await
        .ok();
    assert_eq!(kept, Some(1), "delete_for_user with keep: one deleted");
    let left = stores
        .sessions
        .list_active(&alice.id, T0)
        .await
        .unwrap_or_default();
    assert_eq!(
        left.len(),
        1,
        "delete_for_user with keep: the kept one remains"
    );
    let all = stores.sessions.delete_for_user(&alice.id, None).await.ok();
    assert_eq!(all, Some(1), "delete_for_user: the rest");
    let bobs = stores
        .sessions
        .list_active(&bob.id, T0)
        .await
        .unwrap_or_default();
    assert_eq!(bobs.len(), 1, "delete_for_user: other users untouched");
}

async fn verification_newest_wins_and_delete_once(stores: &Stores) {
    let record = |id: &str, minutes: i64| Verification {
        id: VerificationId::new(id),
        identifier: "reset-password:conformance".to_owned(),
        value: format!("value-{id}"),
        expires_at: T0 + Duration::hours(1),
        created_at: T0 + Duration::minutes(minutes),
        updated_at: T0 + Duration::minutes(minutes),
    };
    let older = record("verification-a", 0);
    let newer = record("verification-b", 1);
    for r in [&older, &newer] {
        assert!(
            stores.verifications.create(r).await.is_ok(),
            "verification: create"
        );
    }
    let duplicate = stores.verifications.create(&older).await;
    assert!(
        matches!(duplicate, Err(PortError::Conflict)),
        "verification dup: {duplicate:?}"
    );
    let latest = stores
        .verifications
        .find_latest(&older.identifier)
        .await
        .ok()
        .flatten();
    assert_eq!(
        latest,
        Some(newer.clone()),
        "verification: newest by created_at"
    );
    let racing =
        futures_util::future::join_all((0..4).map(|_| stores.verifications.delete(&newer.id)))
            .await;
    let winners = racing.iter().filter(|r| matches!(r, Ok(true))).count();
    assert_eq!(
        winners, 1,
        "verification: exactly one consumer wins: {racing:?}"
    );
    let none = stores
        .verifications
        .find_latest("no-such-identifier")
        .await
        .ok()
        .flatten();
    assert_eq!(none, None, "verification: unknown identifier");
}

async fn verification_expired_records_are_purged(stores: &Stores) {
    let record = |id: &str, expires_at: OffsetDateTime| Verification {
        id: VerificationId::new(id),
        identifier: format!("purge:{id}"),
        value: "v".to_owned(),
        expires_at,
        created_at: T0 - Duration::days(1),
        updated_at: T0 - Duration::days(1),
    };
    let old = record("purge-old", T0 - Duration::days(2));
    let just = record("purge-just", T0 - Duration::seconds(1));
    let live = record("purge-live", T0 + Duration::hours(1));
    for r in [&old, &just, &live] {
        assert!(
            stores.verifications.create(r).await.is_ok(),
            "purge: create"
        );
    }
    let purged = stores.verifications.delete_expired(T0).await.ok();
    assert_eq!(
        purged,
        Some(2),
        "purge: the records expired before the bound"
    );
    for (r, kept) in [(&old, false), (&just, false), (&live, true)] {
        let found = stores
            .verifications
            .find_latest(&r.identifier)
            .await
            .ok()
            .flatten();
        assert_eq!(found.is_some(), kept, "purge: {}", r.id.as_str());
    }
    let again = stores.verifications.delete_expired(T0).await.ok();
    assert_eq!(again, Some(0), "purge: nothing left to delete");
}

/// Runs the audit-log cases against an empty audit store.
pub async fn run_audit_suite(audit: &dyn AuditLog) {
    let event = |id: &str, user: Option<&str>, minutes: i64| AuditEvent {
        id: id.to_owned(),
        kind: AuditKind::SignInFailed,
        user_id: user.map(UserId::new),
        reason: Some("wrong_password".to_owned()),
        ip_address: "192.0.2.1".to_owned(),
        user_agent: "suite".to_owned(),
        created_at: T0 + Duration::minutes(minutes),
    };
    let events = [
        event("audit-1", Some("audit-user"), 0),
        event("audit-2", Some("audit-user"), 2),
        event("audit-3", Some("audit-other"), 1),
        event("audit-4", None, 3),
    ];
    for e in &events {
        assert!(audit.record(e).await.is_ok(), "audit: record");
    }
    let mine = audit
        .list_for_user(&UserId::new("audit-user"), 10)
        .await
        .unwrap_or_default();
    let ids: Vec<&str> = mine.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(
        ids,
        ["audit-2", "audit-1"],
        "audit: the user's events, newest first"
    );
    assert_eq!(mine[0], events[1], "audit: every field round-trips");
    let limited = audit
        .list_for_user(&UserId::new("audit-user"), 1)
        .await
        .unwrap_or_default();
    assert_eq!(limited.len(), 1, "audit: limit");
    let purged = audit.purge_before(T0 + Duration::minutes(2)).await.ok();
    assert_eq!(purged, Some(2), "audit: purge removes older events");
    let left = audit
        .list_for_user(&UserId::new("audit-user"), 10)
        .await
        .unwrap_or_default();
    assert_eq!(left.len(), 1, "audit: the newer event stays");
}

/// `twoFactorEnabled` is read back by every lookup and counted, whatever plugins are on.
async fn two_factor_flag_is_read_and_counted(stores: &Stores) {
    let before = stores.users.count_two_factor_enabled().await.ok();
    let mut guarded = user("two-factor-on");
    guarded.two_factor_enabled = true;
    let created = stores
        .users
        .create_with_account(&guarded, &credential(&guarded))
        .await;
    assert!(created.is_ok(), "create: {created:?}");
    let plain = create_user(stores, "two-factor-off").await;
    let found = stores
        .users
        .find_by_email(&guarded.email)
        .await
        .ok()
        .flatten();
    assert_eq!(
        found.map(|u| u.two_factor_enabled),
        Some(true),
        "find_by_email"
    );
    let found = stores.users.find_by_id(&plain.id).await.ok().flatten();
    assert_eq!(
        found.map(|u| u.two_factor_enabled),
        Some(false),
        "find_by_id"
    );
    let token = session("two-factor-on", &guarded, T0 + Duration::days(1));
    assert!(stores.sessions.create(&token).await.is_ok());
    let with_user = stores
        .sessions
        .find_with_user(&token.token)
        .await
        .ok()
        .flatten();
    assert_eq!(
        with_user.map(|(_, u)| u.two_factor_enabled),
        Some(true),
        "find_with_user"
    );
    let after = stores.users.count_two_factor_enabled().await.ok();
    assert!(before.is_some(), "count_two_factor_enabled failed");
    assert_eq!(
        after,
        before.map(|count| count + 1),
        "one more user with two-factor on"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[tokio::test]
    async fn the_memory_store_passes_the_store_suite() {
        let stores = Stores::from_one(Arc::new(MemoryStore::new()));
        run_store_suite(&stores).await;
    }

    #[tokio::test]
    async fn the_memory_store_passes_the_audit_suite() {
        run_audit_suite(&MemoryStore::new()).await;
    }

    #[tokio::test]
    async fn the_memory_store_passes_the_organization_suite() {
        run_organization_suite(Arc::new(MemoryStore::new())).await;
    }

    #[tokio::test]
    async fn the_memory_store_passes_the_two_factor_suite() {
        run_two_factor_suite(Arc::new(MemoryStore::new())).await;
    }

    #[tokio::test]
    async fn deleting_a_user_from_the_memory_store_ends_their_memberships() {
        use auth_domain::organization::{Member, Organization, RoleList};
        use auth_ports::OrganizationRepo;
        let store = MemoryStore::new();
        let ada = user("cascade");
        store
            .create_with_account(&ada, &credential(&ada))
            .await
            .unwrap_or_else(|error| panic!("create: {error}"));
        let org = Organization {
            id: "org-cascade".into(),
            name: "Cascade".into(),
            slug: "cascade".into(),
            logo: None,
            metadata: None,
            created_at: T0,
        };
        let member = Member {
            id: "member-cascade".into(),
            organization_id: org.id.clone(),
            user_id: ada.id.clone(),
            role: RoleList::parse("owner"),
            created_at: T0,
        };
        assert!(
            OrganizationRepo::create(&store, &org, &member)
                .await
                .is_ok()
        );
        assert!(UserRepo::delete(&store, &ada.id).await.is_ok());
        assert!(matches!(
            store.find_member_by_id(&member.id).await,
            Ok(None)
        ));
    }
}
