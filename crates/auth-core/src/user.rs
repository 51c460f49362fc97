//! Profile updates.

use auth_domain::{FieldKind, FieldValue, Fields, Model, Session, User, UserId, text::check_text};

use crate::{Auth, AuthContext, AuthError};

/// `POST /update-user`: each field is changed only when present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateUser {
    /// New display name.
    pub name: Option<String>,
    /// New avatar URL; `Some(None)` clears it.
    pub image: Option<Option<String>>,
}

impl Auth {
    /// How many users have two-factor authentication on. Without a two-factor step these users
    /// cannot sign in with a password (`TwoFactorNotAvailable`); the server warns at startup.
    ///
    /// # Errors
    /// `Unavailable` when the store is down.
    pub async fn count_two_factor_users(&self) -> Result<u64, AuthError> {
        Ok(self.deps().users.count_two_factor_enabled().await?)
    }

    /// The user with this id, if any: what a plugin that vouches for a session without a
    /// stored row (an API key's owner) loads.
    ///
    /// # Errors
    /// `Unavailable` when the store is down.
    pub async fn user(&self, id: &UserId) -> Result<Option<User>, AuthError> {
        Ok(self.deps().users.find_by_id(id).await?)
    }

    /// Sets plugin fields of a user (the two-factor plugin's `twoFactorEnabled`); every cached
    /// session of the user is dropped, so the next read shows them.
    ///
    /// # Errors
    /// `Internal` for a field no plugin declared on the user (a plugin bug), `Unavailable`.
    pub async fn update_user_fields(&self, id: &UserId, fields: &Fields) -> Result<(), AuthError> {
        self.check_declared(fields, Model::User)?;
        self.deps().users.update_user_fields(id, fields).await?;
        self.invalidate_cached_user(id).await;
        Ok(())
    }

    /// Sets plugin fields of a session (organizations' `activeOrganizationId`); the cached
    /// copy is dropped, so the next read shows them.
    ///
    /// # Errors
    /// `Internal` for a field no plugin declared on the session (a plugin bug), `Unavailable`.
    pub async fn update_session_fields(
        &self,
        session: &Session,
        fields: &Fields,
    ) -> Result<(), AuthError> {
        self.check_declared(fields, Model::Session)?;
        self.deps()
            .sessions
            .update_session_fields(&session.id, fields)
            .await?;
        self.invalidate_cached(&session.token).await;
        Ok(())
    }

    /// Every field in `fields` is declared on `model` by an enabled plugin, with its type.
    fn check_declared(&self, fields: &Fields, model: Model) -> Result<(), AuthError> {
        for (name, value) in fields.iter() {
            let declared = self
                .field_specs()
                .iter()
                .find(|spec| spec.model == model && spec.name == name);
            let fits = match (declared.map(|spec| spec.kind), value) {
                (None, _) => false,
                (Some(_), FieldValue::Null)
                | (Some(FieldKind::Bool | FieldKind::Flag), FieldValue::Bool(_))
                | (Some(FieldKind::Text), FieldValue::Text(_)) => true,
                (Some(_), _) => false,
            };
            if !fits {
                return Err(AuthError::Internal(
                    format!("field {name:?} is not declared with that type").into(),
                ));
            }
        }
        Ok(())
    }

    /// Checks the signed-in user's password (`POST /verify-password`).
    ///
    /// # Errors
    /// `InvalidPassword`, `CredentialAccountNotFound`, `Unavailable`.
    pub async fn verify_password(
        &self,
        context: &AuthContext,
        password: &auth_domain::Password,
    ) -> Result<(), AuthError> {
        let account = self
            .deps()
            .accounts
            .find_credential(&context.user.id)
            .await?;
        let Some(hash) = account.and_then(|account| account.password) else {
            return Err(AuthError::CredentialAccountNotFound);
        };
        if self.deps().hasher.verify(password, &hash).await? {
            Ok(())
        } else {
            Err(AuthError::InvalidPassword)
        }
    }

    /// Updates the signed-in user's profile and returns the new state.
    ///
    /// # Errors
    /// `NoFieldsToUpdate`, `Invalid` for a bad value, `Unavailable`.
    #[tracing::instrument(skip_all, fields(user_id = %context.user.id))]
    pub async fn update_user(
        &self,
        context: &AuthContext,
        command: UpdateUser,
    ) -> Result<User, AuthError> {
        if command.name.is_none() && command.image.is_none() {
            return Err(AuthError::NoFieldsToUpdate);
        }
        // The stored row, not the (possibly cached) one of the session: a change of address or
        // a verification made meanwhile must not be written back over.
        let Some(mut user) = self.deps().users.find_by_id(&context.user.id).await? else {
            return Err(AuthError::Unauthorized);
        };
        if let Some(name) = command.name {
            check_text("name", &name)?;
            user.name = name;
        }
        if let Some(image) = command.image {
            if let Some(url) = &image {
                check_text("image", url)?;
            }
            user.image = image;
        }
        user.updated_at = self.now();
        self.deps().users.update(&user).await?;
        // Cached lookups carry the old profile.
        self.invalidate_cached_user(&user.id).await;
        Ok(user)
    }
}
