//! The façade and its dependencies.

use std::sync::Arc;

use auth_domain::{
    AuthEvent, FieldSpec, Fields, Model, PasswordPolicy, Session, SessionId, SessionPolicy,
    SessionToken, UserId,
};
use auth_ports::{
    ALPHANUMERIC, AccountRepo, AuditLog, Clock, EventBus, PasswordHasher, Random, RateLimiter,
    SessionCache, SessionRepo, UserRepo, VerificationRepo,
};
use time::OffsetDateTime;

use crate::AuthError;
use crate::plugin::{AuthPlugin, RouteLimit};

/// The ports the use cases call. Any combination of implementations is valid.
#[derive(Clone)]
pub struct AuthDeps {
    /// `user` store.
    pub users: Arc<dyn UserRepo>,
    /// `account` store.
    pub accounts: Arc<dyn AccountRepo>,
    /// `session` store.
    pub sessions: Arc<dyn SessionRepo>,
    /// `verification` store.
    pub verifications: Arc<dyn VerificationRepo>,
    /// Password hashing (off the async runtime).
    pub hasher: Arc<dyn PasswordHasher>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness for ids and tokens.
    pub random: Arc<dyn Random>,
    /// Session lookups in front of `sessions` (`NoCache` to disable).
    pub cache: Arc<dyn SessionCache>,
    /// Request counting for rate limits.
    pub rate_limiter: Arc<dyn RateLimiter>,
    /// Security events.
    pub audit: Arc<dyn AuditLog>,
    /// Domain events to and from the other instances (`LocalEvents` for one instance).
    pub events: Arc<dyn EventBus>,
    /// Mail and its messages; `None` turns the mail flows off (password reset answers
    /// `RESET_PASSWORD_DISABLED`).
    pub mail: Option<Arc<crate::MailSetup>>,
}

/// Rules of the use cases.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthConfig {
    /// Password length rules.
    pub password: PasswordPolicy,
    /// Session lifetime rules.
    pub session: SessionPolicy,
    /// Rate-limit rules.
    pub rate_limit: crate::RateLimitConfig,
    /// Rules of the mail flows.
    pub email: EmailRules,
}

/// Rules of the mail flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailRules {
    /// How long a password reset link works (Better-Auth's `resetPasswordTokenExpiresIn`, one
    /// hour).
    pub reset_token_ttl: time::Duration,
    /// A password reset ends every session of the user (Better-Auth's
    /// `revokeSessionsOnPasswordReset`; on by default here, off there).
    pub revoke_sessions_on_password_reset: bool,
    /// How long an email-verification link works (Better-Auth's `emailVerification.expiresIn`,
    /// one hour).
    pub verification_ttl: time::Duration,
    /// Sign-in needs a verified email, and sign-up issues no session
    /// (`requireEmailVerification`).
    pub require_email_verification: bool,
    /// Sign-up mails a verification link (`emailVerification.sendOnSignUp`).
    pub send_verification_on_sign_up: bool,
    /// Following a verification link signs the user in
    /// (`emailVerification.autoSignInAfterVerification`).
    pub auto_sign_in_after_verification: bool,
    /// Users may change their email (`user.changeEmail.enabled`).
    pub change_email_enabled: bool,
    /// An unverified user's address changes at once, without a link
    /// (`user.changeEmail.updateEmailWithoutVerification`).
    pub update_email_without_verification: bool,
    /// Users may delete their account (`user.deleteUser.enabled`).
    pub delete_user_enabled: bool,
    /// Account deletion is confirmed by an emailed link
    /// (`user.deleteUser.sendDeleteAccountVerification`).
    pub delete_user_verification: bool,
    /// How long a deletion link works (`deleteTokenExpiresIn`, one day).
    pub delete_token_ttl: time::Duration,
}

impl Default for EmailRules {
    fn default() -> Self {
        Self {
            reset_token_ttl: time::Duration::hours(1),
            revoke_sessions_on_password_reset: true,
            verification_ttl: time::Duration::hours(1),
            require_email_verification: false,
            send_verification_on_sign_up: false,
            auto_sign_in_after_verification: false,
            change_email_enabled: false,
            update_email_without_verification: false,
            delete_user_enabled: false,
            delete_user_verification: false,
            delete_token_ttl: time::Duration::days(1),
        }
    }
}

/// What the server knows about the client at session creation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// Client address, empty when unknown.
    pub ip_address: String,
    /// `User-Agent`, empty when absent.
    pub user_agent: String,
    /// The signed cookies plugins read (a trusted device's token).
    pub cookies: crate::plugin::RequestCookies,
}

/// The use cases. Cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

/// A reference to the use cases that does not keep them alive (for listeners that outlive a
/// server, such as the event bus's).
#[derive(Clone)]
pub struct WeakAuth(std::sync::Weak<Inner>);

impl WeakAuth {
    /// The use cases, while they exist.
    #[must_use]
    pub fn upgrade(&self) -> Option<Auth> {
        self.0.upgrade().map(|inner| Auth { inner })
    }
}

struct Inner {
    deps: AuthDeps,
    config: AuthConfig,
    suppressed_refusals: crate::ratelimit::SuppressedRefusals,
    plugins: Vec<Arc<dyn AuthPlugin>>,
    /// Every plugin's route rules, the longest path first.
    route_limits: Vec<RouteLimit>,
    /// Every plugin's fields.
    field_specs: Vec<FieldSpec>,
}

/// How long an expired verification record is kept before [`Auth::purge_expired_verifications`]
/// deletes it.
pub const EXPIRED_VERIFICATION_GRACE: time::Duration = time::Duration::days(1);

impl Auth {
    /// Builds the façade without plugins.
    #[must_use]
    pub fn new(deps: AuthDeps, config: AuthConfig) -> Self {
        Self::with_plugins(deps, config, Vec::new())
    }

    /// Builds the façade with these plugins, in order.
    #[must_use]
    pub fn with_plugins(
        deps: AuthDeps,
        config: AuthConfig,
        plugins: Vec<Arc<dyn AuthPlugin>>,
    ) -> Self {
        let mut route_limits: Vec<RouteLimit> = plugins
            .iter()
            .flat_map(|plugin| plugin.rate_limits())
            .collect();
        route_limits.sort_by_key(|limit| std::cmp::Reverse(limit.path().len()));
        let field_specs = plugins.iter().flat_map(|plugin| plugin.fields()).collect();
        Self {
            inner: Arc::new(Inner {
                deps,
                config,
                suppressed_refusals: crate::ratelimit::SuppressedRefusals::default(),
                plugins,
                route_limits,
                field_specs,
            }),
        }
    }

    pub(crate) fn plugins(&self) -> &[Arc<dyn AuthPlugin>] {
        &self.inner.plugins
    }

    /// The fields the enabled plugins add to the user and the session (for the store).
    #[must_use]
    pub fn field_specs(&self) -> &[FieldSpec] {
        &self.inner.field_specs
    }

    pub(crate) fn route_limits(&self) -> &[RouteLimit] {
        &self.inner.route_limits
    }

    /// Tells every subscriber what happened, on behalf of `client`: the session cache first (an
    /// ended session must not be served from it), then the audit log, then each plugin in
    /// order, then the other instances.
    pub(crate) async fn emit(&self, event: AuthEvent, client: &ClientInfo) {
        match &event {
            AuthEvent::SessionEnded { reason, .. }
            | AuthEvent::UserSessionsEnded { reason, .. } => {
                crate::metrics::sessions_ended(*reason);
            }
            AuthEvent::OrganizationDeleted { .. } => {
                crate::metrics::organization_event("organization_deleted");
            }
            AuthEvent::MemberRemoved { .. } => crate::metrics::organization_event("member_removed"),
            _ => {}
        }
        match &event {
            AuthEvent::SessionEnded {
                token: Some(token), ..
            } => self.invalidate_cached(token).await,
            AuthEvent::UserSessionsEnded { user_id, .. } | AuthEvent::UserDeleted { user_id } => {
                self.invalidate_cached_user(user_id).await;
            }
            _ => {}
        }
        self.audit_event(&event, client).await;
        for plugin in self.plugins() {
            plugin.on_event(self, &event).await;
        }
        if !matches!(event, AuthEvent::SessionCreated { .. })
            && let Err(error) = self.deps().events.publish(&event).await
        {
            // The other instances' caches are invalidated by the cache itself; only their
            // plugins (live connections) miss this one.
            tracing::warn!(error = %error, kind = event.kind(), "event not told to the other instances");
        }
    }

    /// An event from another instance: told to this instance's plugins (its session cache has
    /// heard of it through the cache's own channel).
    pub async fn hear(&self, event: AuthEvent) {
        for plugin in self.plugins() {
            plugin.on_event(self, &event).await;
        }
    }

    /// The rules in force.
    #[must_use]
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// A reference that does not keep the use cases alive.
    #[must_use]
    pub fn downgrade(&self) -> WeakAuth {
        WeakAuth(Arc::downgrade(&self.inner))
    }

    pub(crate) fn deps(&self) -> &AuthDeps {
        &self.inner.deps
    }

    pub(crate) fn suppressed_refusals(&self) -> &crate::ratelimit::SuppressedRefusals {
        &self.inner.suppressed_refusals
    }

    /// Now by the server's clock, truncated to milliseconds (what Better-Auth stores and
    /// serialises).
    #[must_use]
    pub fn now(&self) -> OffsetDateTime {
        let now = self.inner.deps.clock.now();
        let millis = now.millisecond();
        now.replace_millisecond(millis).unwrap_or(now)
    }

    /// Deletes verification records (reset and verification links, codes) that expired more
    /// than [`EXPIRED_VERIFICATION_GRACE`] ago; returns how many. Flows delete a record when it
    /// is used, so these are the links nobody followed: without this, a table anyone can add
    /// rows to (a reset asked for an existing address) would only grow.
    ///
    /// # Errors
    /// `Unavailable` when the store is down.
    pub async fn purge_expired_verifications(&self) -> Result<u64, AuthError> {
        let before = self.now() - EXPIRED_VERIFICATION_GRACE;
        Ok(self.deps().verifications.delete_expired(before).await?)
    }

    /// A new 32-character id.
    pub(crate) fn new_id(&self) -> String {
        self.inner.deps.random.string(ALPHANUMERIC, 32)
    }

    /// Creates and stores a session for the user.
    pub(crate) async fn create_session(
        &self,
        user_id: &UserId,
        remember_me: bool,
        client: &ClientInfo,
    ) -> Result<Session, AuthError> {
        let now = self.now();
        let session = Session {
            id: SessionId::new(self.new_id()),
            token: SessionToken::new(self.new_id()),
            user_id: user_id.clone(),
            expires_at: self.config().session.expiry_for_new(now, remember_me),
            created_at: now,
            updated_at: now,
            ip_address: Some(client.ip_address.clone()),
            user_agent: Some(client.user_agent.clone()),
            fields: Fields::declared(self.field_specs(), Model::Session),
        };
        self.deps().sessions.create(&session).await?;
        tracing::debug!(session_id = %session.id, user_id = %user_id, "session created");
        self.emit(
            AuthEvent::SessionCreated {
                session: session.clone(),
            },
            client,
        )
        .await;
        Ok(session)
    }
}
