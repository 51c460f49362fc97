//! Organization-owned keys (a configuration with `references: "organization"`): the keys'
//! owner is an organization, and a signed-in member manages them as its roles allow
//! (`apiKey:create|read|update|delete`; the creator role may do everything).

use auth_domain::{ApiKey, Permissions, UserId};

use super::{ApiKeys, CreateApiKey, CreatedApiKey, KeyPage, ListApiKeys, UpdateApiKey, refuse};
use crate::plugin::{PluginError, PluginErrorKind};
use crate::{Auth, AuthContext, AuthError, Organizations};

const ORGANIZATION_ID_REQUIRED: PluginError = PluginError::new(
    PluginErrorKind::BadRequest,
    "ORGANIZATION_ID_REQUIRED",
    "Organization ID is required for organization-owned API keys.",
);
const USER_NOT_MEMBER_OF_ORGANIZATION: PluginError = PluginError::new(
    PluginErrorKind::Forbidden,
    "USER_NOT_MEMBER_OF_ORGANIZATION",
    "You are not a member of the organization that owns this API key.",
);
const INSUFFICIENT_API_KEY_PERMISSIONS: PluginError = PluginError::new(
    PluginErrorKind::Forbidden,
    "INSUFFICIENT_API_KEY_PERMISSIONS",
    "You do not have permission to perform this action on organization API keys.",
);

/// The key use cases of a configuration of organization keys, each checked against the
/// caller's membership of the owning organization.
#[derive(Debug, Clone)]
pub struct OrganizationKeys {
    keys: ApiKeys,
    orgs: Organizations,
}

/// The owner id the key use cases compare `referenceId` with.
fn owner(organization_id: &str) -> UserId {
    UserId::new(organization_id.to_owned())
}

impl OrganizationKeys {
    /// The use cases of `keys` (a configuration whose `references` is
    /// [`super::KeyOwner::Organization`]) over the organizations of `orgs`.
    #[must_use]
    pub fn new(keys: ApiKeys, orgs: Organizations) -> Self {
        debug_assert_eq!(keys.config().references, super::KeyOwner::Organization);
        Self { keys, orgs }
    }

    /// The key use cases (verification, the guard of application routes).
    #[must_use]
    pub fn keys(&self) -> &ApiKeys {
        &self.keys
    }

    /// Refuses unless the caller is a member of the organization whose roles grant
    /// `apiKey:<action>`.
    async fn authorize(
        &self,
        context: &AuthContext,
        organization_id: &str,
        action: &str,
    ) -> Result<(), AuthError> {
        let wanted = Permissions::of(&[("apiKey", &[action])]);
        match self
            .orgs
            .member_permits(organization_id, &context.user.id, &wanted, true)
            .await?
        {
            Some(true) => Ok(()),
            Some(false) => Err(refuse(INSUFFICIENT_API_KEY_PERMISSIONS)),
            None => Err(refuse(USER_NOT_MEMBER_OF_ORGANIZATION)),
        }
    }

    /// A key of this configuration and the caller's right to `action` on it. The key is
    /// looked up first, so an unknown key is `KEY_NOT_FOUND` whoever asks.
    async fn key_for(
        &self,
        context: &AuthContext,
        key_id: &str,
        action: &str,
    ) -> Result<ApiKey, AuthError> {
        let key = self.keys.of_config(key_id).await?;
        self.authorize(context, &key.reference_id, action).await?;
        Ok(key)
    }

    /// Creates a key of the organization (`apiKey:create`).
    ///
    /// # Errors
    /// `ORGANIZATION_ID_REQUIRED`, `USER_NOT_MEMBER_OF_ORGANIZATION`,
    /// `INSUFFICIENT_API_KEY_PERMISSIONS`, then as [`ApiKeys::create`].
    pub async fn create(
        &self,
        auth: &Auth,
        context: &AuthContext,
        organization_id: Option<&str>,
        request: CreateApiKey,
    ) -> Result<CreatedApiKey, AuthError> {
        let Some(organization_id) = organization_id.filter(|id| !id.is_empty()) else {
            return Err(refuse(ORGANIZATION_ID_REQUIRED));
        };
        self.authorize(context, organization_id, "create").await?;
        self.keys
            .create(
                auth,
                CreateApiKey {
                    user_id: owner(organization_id),
                    ..request
                },
            )
            .await
    }

    /// One key of an organization the caller may read keys of (`apiKey:read`).
    ///
    /// # Errors
    /// `KEY_NOT_FOUND`, `USER_NOT_MEMBER_OF_ORGANIZATION`, `INSUFFICIENT_API_KEY_PERMISSIONS`.
    pub async fn get(
        &self,
        auth: &Auth,
        context: &AuthContext,
        key_id: &str,
    ) -> Result<ApiKey, AuthError> {
        let key = self.key_for(context, key_id, "read").await?;
        self.keys
            .get(auth, &owner(&key.reference_id), &key.id, None)
            .await
    }

    /// Changes a key of an organization (`apiKey:update`).
    ///
    /// # Errors
    /// As [`Self::get`], then as [`ApiKeys::update`].
    pub async fn update(
        &self,
        auth: &Auth,
        context: &AuthContext,
        request: UpdateApiKey,
    ) -> Result<ApiKey, AuthError> {
        let key = self.key_for(context, &request.key_id, "update").await?;
        self.keys
            .update(
                auth,
                UpdateApiKey {
                    user_id: owner(&key.reference_id),
                    config_id: None,
                    ..request
                },
            )
            .await
    }

    /// Deletes a key of an organization (`apiKey:delete`).
    ///
    /// # Errors
    /// As [`Self::get`].
    pub async fn delete(
        &self,
        auth: &Auth,
        context: &AuthContext,
        key_id: &str,
    ) -> Result<(), AuthError> {
        let key = self.key_for(context, key_id, "delete").await?;
        self.keys
            .delete(auth, &owner(&key.reference_id), &key.id, None)
            .await
    }

    /// A page of an organization's keys (`apiKey:read`).
    ///
    /// # Errors
    /// `USER_NOT_MEMBER_OF_ORGANIZATION`, `INSUFFICIENT_API_KEY_PERMISSIONS`, `Unavailable`.
    pub async fn list(
        &self,
        auth: &Auth,
        context: &AuthContext,
        organization_id: &str,
        request: ListApiKeys,
    ) -> Result<KeyPage, AuthError> {
        self.authorize(context, organization_id, "read").await?;
        self.keys
            .list(
                auth,
                ListApiKeys {
                    user_id: owner(organization_id),
                    ..request
                },
            )
            .await
    }
}
