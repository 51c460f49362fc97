//! Sessions: lookup with sliding refresh, sign-out, listing and revocation.

use auth_domain::{AuthEvent, Session, SessionEnd, SessionToken, User};

use crate::{Auth, AuthError, ClientInfo};

/// A valid session and its user: what a guarded route works with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    /// The session.
    pub session: Session,
    /// Its user.
    pub user: User,
}

/// `GET /get-session` options.
#[derive(Debug, Clone)]
pub struct GetSession {
    /// The token from the verified cookie (or bearer header).
    pub token: SessionToken,
    /// The client sent the signed `dont_remember` cookie: never slide.
    pub dont_remember: bool,
    /// `disableRefresh` was asked for.
    pub disable_refresh: bool,
}

/// The result of a session lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLookup {
    /// The session and user, with the expiry after any refresh.
    pub context: AuthContext,
    /// The expiry was slid forward: the cookie must be re-issued.
    pub refreshed: bool,
}

impl Auth {
    /// Looks a session up and slides its expiry when due. Expired sessions are deleted and read
    /// as absent.
    ///
    /// # Errors
    /// `Unavailable` when the store is down.
    pub async fn get_session(&self, query: GetSession) -> Result<Option<SessionLookup>, AuthError> {
        let now = self.now();
        let policy = self.config().session;
        let (cached, ticket, shared) = match self.deps().cache.get(&query.token).await {
            Ok(lookup) => (lookup.found, lookup.ticket, lookup.shared),
            Err(error) => {
                tracing::warn!(error = %error, "session cache unavailable; reading the store");
                (None, auth_ports::FillTicket::default(), false)
            }
        };
        let from_cache = cached.is_some();
        let found = match cached {
            Some(found) => Some(found),
            None => self.deps().sessions.find_with_user(&query.token).await?,
        };
        crate::metrics::session_checked(match (&found, from_cache, shared) {
            (None, ..) => "none",
            (Some(_), false, _) => "database",
            (Some(_), true, false) => "l1",
            (Some(_), true, true) => "l2",
        });
        let Some((mut session, user)) = found else {
            return Ok(None);
        };
        if policy.is_expired(&session, now) {
            self.deps().sessions.delete_by_token(&session.token).await?;
            // Boxed: an event's future would make every session check's kilobytes larger.
            Box::pin(self.emit(
                AuthEvent::session_ended(session, SessionEnd::Expired),
                &ClientInfo::default(),
            ))
            .await;
            return Ok(None);
        }
        let refresh =
            !query.dont_remember && !query.disable_refresh && policy.needs_refresh(&session, now);
        if refresh {
            let expires_at = policy.slid_expiry(&session, now);
            match self
                .deps()
                .sessions
                .update_expiry(&session.id, expires_at, now)
                .await
            {
                Ok(()) => {}
                Err(auth_ports::PortError::NotFound) => {
                    // Revoked meanwhile (a stale cache entry): the session is gone.
                    self.invalidate_cached(&session.token).await;
                    return Ok(None);
                }
                Err(error) => return Err(error.into()),
            }
            session.expires_at = expires_at;
            session.updated_at = now;
        }
        if refresh || !from_cache {
            self.cache_quietly(&session, &user, ticket).await;
        }
        Ok(Some(SessionLookup {
            context: AuthContext { session, user },
            refreshed: refresh,
        }))
    }

    /// Caches a lookup; a cache failure only costs a later store read.
    async fn cache_quietly(&self, session: &Session, user: &User, ticket: auth_ports::FillTicket) {
        if let Err(error) = self.deps().cache.put(session, user, ticket).await {
            tracing::debug!(error = %error, "session not cached");
        }
    }

    /// Drops a session from the cache; a cache failure is logged (its TTL bounds staleness).
    pub(crate) async fn invalidate_cached(&self, token: &SessionToken) {
        if let Err(error) = self.deps().cache.invalidate(token).await {
            tracing::warn!(error = %error, "session cache invalidation failed");
        }
    }

    /// Drops all of a user's sessions from the cache.
    pub(crate) async fn invalidate_cached_user(&self, user_id: &auth_domain::UserId) {
        if let Err(error) = self.deps().cache.invalidate_user(user_id).await {
            tracing::warn!(error = %error, "session cache invalidation failed");
        }
    }

    /// Deletes the session with this token, if any.
    ///
    /// # Errors
    /// `Unavailable` when the store is down (the session may still exist then).
    pub async fn sign_out(
        &self,
        token: &SessionToken,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let found = self.deps().sessions.find_with_user(token).await?;
        self.deps().sessions.delete_by_token(token).await?;
        let Some((session, _)) = found else {
            // No such session (here): still drop whatever a cache may hold for the token.
            self.invalidate_cached(token).await;
            return Ok(());
        };
        self.emit(
            AuthEvent::session_ended(session, SessionEnd::SignOut),
            client,
        )
        .await;
        Ok(())
    }

    /// Deletes one session and tells every subscriber why it ended.
    pub(crate) async fn end_session(
        &self,
        session: &Session,
        reason: SessionEnd,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.deps().sessions.delete_by_token(&session.token).await?;
        self.emit(AuthEvent::session_ended(session.clone(), reason), client)
            .await;
        Ok(())
    }

    /// The user's active sessions. Needs a fresh session.
    ///
    /// # Errors
    /// `SessionNotFresh`, `Unavailable`.
    pub async fn list_sessions(&self, context: &AuthContext) -> Result<Vec<Session>, AuthError> {
        let now = self.now();
        if !self.config().session.is_fresh(&context.session, now) {
            return Err(AuthError::SessionNotFresh);
        }
        Ok(self
            .deps()
            .sessions
            .list_active(&context.user.id, now)
            .await?)
    }

    /// Revokes one of the user's own sessions by token; another user's token is left alone.
    /// Returns whether the revoked session is the caller's own.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn revoke_session(
        &self,
        context: &AuthContext,
        token: &SessionToken,
        client: &ClientInfo,
    ) -> Result<bool, AuthError> {
        let Some((session, _)) = self.deps().sessions.find_with_user(token).await? else {
            return Ok(false);
        };
        if session.user_id != context.user.id {
            return Ok(false);
        }
        self.deps().sessions.delete_by_token(token).await?;
        let was_current = session.token == context.session.token;
        self.emit(
            AuthEvent::session_ended(session, SessionEnd::Revoked),
            client,
        )
        .await;
        Ok(was_current)
    }

    /// Revokes every session of the user, the current one included.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn revoke_sessions(
        &self,
        context: &AuthContext,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        self.deps()
            .sessions
            .delete_for_user(&context.user.id, None)
            .await?;
        self.emit(
            AuthEvent::UserSessionsEnded {
                user_id: context.user.id.clone(),
                kept: None,
                reason: SessionEnd::RevokedAll,
            },
            client,
        )
        .await;
        Ok(())
    }

    /// Revokes every session of the user but the current one.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn revoke_other_sessions(
        &self,
        context: &AuthContext,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let keep = Some(context.session.token.clone());
        self.deps()
            .sessions
            .delete_for_user(&context.user.id, keep)
            .await?;
        self.emit(
            AuthEvent::UserSessionsEnded {
                user_id: context.user.id.clone(),
                kept: Some(context.session.id.clone()),
                reason: SessionEnd::RevokedOthers,
            },
            client,
        )
        .await;
        Ok(())
    }
}
