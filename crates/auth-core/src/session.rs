//! Sessions: lookup with sliding refresh, sign-out, listing and revocation.

use auth_domain::{Session, SessionToken, User};

use crate::{Auth, AuthError};

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
        let Some((mut session, user)) = self.deps().sessions.find_with_user(&query.token).await?
        else {
            return Ok(None);
        };
        if policy.is_expired(&session, now) {
            self.deps().sessions.delete_by_token(&session.token).await?;
            return Ok(None);
        }
        let refresh =
            !query.dont_remember && !query.disable_refresh && policy.needs_refresh(&session, now);
        if refresh {
            let expires_at = now + policy.expires_in;
            self.deps()
                .sessions
                .update_expiry(&session.id, expires_at, now)
                .await?;
            session.expires_at = expires_at;
            session.updated_at = now;
        }
        Ok(Some(SessionLookup {
            context: AuthContext { session, user },
            refreshed: refresh,
        }))
    }

    /// Deletes the session with this token, if any.
    ///
    /// # Errors
    /// `Unavailable` when the store is down (the session may still exist then).
    pub async fn sign_out(&self, token: &SessionToken) -> Result<(), AuthError> {
        if self.deps().sessions.delete_by_token(token).await? {
            tracing::info!(target: "auth::audit", "sign-out");
        }
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
    ) -> Result<bool, AuthError> {
        let Some((session, _)) = self.deps().sessions.find_with_user(token).await? else {
            return Ok(false);
        };
        if session.user_id != context.user.id {
            return Ok(false);
        }
        self.deps().sessions.delete_by_token(token).await?;
        tracing::info!(target: "auth::audit", session_id = %session.id, "session revoked");
        Ok(session.token == context.session.token)
    }

    /// Revokes every session of the user, the current one included.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn revoke_sessions(&self, context: &AuthContext) -> Result<(), AuthError> {
        let count = self
            .deps()
            .sessions
            .delete_for_user(&context.user.id, None)
            .await?;
        tracing::info!(target: "auth::audit", count, "sessions revoked");
        Ok(())
    }

    /// Revokes every session of the user but the current one.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn revoke_other_sessions(&self, context: &AuthContext) -> Result<(), AuthError> {
        let keep = Some(context.session.token.clone());
        let count = self
            .deps()
            .sessions
            .delete_for_user(&context.user.id, keep)
            .await?;
        tracing::info!(target: "auth::audit", count, "other sessions revoked");
        Ok(())
    }
}
