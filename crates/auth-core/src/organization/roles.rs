//! Dynamic access control: roles an organization defines for itself, stored and merged over
//! the configured ones. A member needs `ac:<action>` to manage them, and grants only what its
//! own roles grant.

use auth_domain::Permissions;
use auth_domain::organization::access::is_valid_role_name;
use auth_domain::organization::{OrgRefusal, RoleAction, StoredRole};
use auth_ports::{PortError, RoleDeleted, RoleRepo};

use super::{OrgRef, Organizations, refused};
use crate::{Auth, AuthContext, AuthError};

/// Most stored roles of one organization (Better-Auth's default).
pub const MAX_ROLES_PER_ORGANIZATION: u64 = 100;

/// What `update-role` changes (absent fields are kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleUpdate {
    /// New name.
    pub name: Option<String>,
    /// New permissions.
    pub permission: Option<Permissions>,
}

impl Organizations {
    fn role_store(&self) -> Result<&dyn RoleRepo, AuthError> {
        self.roles.as_deref().ok_or_else(|| {
            AuthError::Internal("dynamic access control is off for these use cases".into())
        })
    }

    /// The caller's membership and the organization's access controller, when the caller's
    /// roles grant `ac:<action>`.
    async fn role_manager(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        action: RoleAction,
    ) -> Result<(String, auth_domain::organization::Member), AuthError> {
        self.role_store()?;
        let (organization, member) = self
            .required_membership(auth, context, named, OrgRefusal::NotAMemberHere)
            .await?;
        let verb = match action {
            RoleAction::Create => "create",
            RoleAction::Update => "update",
            RoleAction::Delete => "delete",
            RoleAction::Read | RoleAction::List => "read",
        };
        if !self
            .permits(&member, &Permissions::of(&[("ac", &[verb])]))
            .await?
        {
            return refused(OrgRefusal::RoleForbidden(action));
        }
        Ok((organization.id, member))
    }

    /// Checks what a new or changed role would grant: only known resources
    /// (`INVALID_RESOURCE`), and only what the caller's own roles grant.
    async fn check_grant(
        &self,
        member: &auth_domain::organization::Member,
        permission: &Permissions,
        action: RoleAction,
    ) -> Result<(), AuthError> {
        let access = self.access_for(&member.organization_id).await?;
        let known = access.statements();
        if permission
            .0
            .keys()
            .any(|resource| !known.0.contains_key(resource))
        {
            return refused(OrgRefusal::InvalidResource);
        }
        if !access.may_grant(&member.role, permission) {
            return refused(OrgRefusal::RoleForbidden(action));
        }
        Ok(())
    }

    /// A name a stored role may take: valid, and not a configured role's.
    fn check_role_name(&self, name: &str) -> Result<(), AuthError> {
        if !is_valid_role_name(name) {
            return Err(AuthError::Invalid(auth_domain::DomainError::InvalidField {
                field: "role",
            }));
        }
        if self.access().has_role(name) {
            return refused(OrgRefusal::RoleNameTaken);
        }
        Ok(())
    }

    /// Stores a role of the caller's organization.
    ///
    /// # Errors
    /// `YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION`, `YOU_ARE_NOT_ALLOWED_TO_CREATE_A_ROLE` (no
    /// `ac:create`, or granting what the caller's roles do not), `INVALID_RESOURCE`,
    /// `ROLE_NAME_IS_ALREADY_TAKEN`, `TOO_MANY_ROLES`, `VALIDATION_ERROR`, `Unavailable`.
    pub async fn create_role(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        name: &str,
        permission: Permissions,
    ) -> Result<StoredRole, AuthError> {
        let (organization_id, member) = self
            .role_manager(auth, context, named, RoleAction::Create)
            .await?;
        self.check_role_name(name)?;
        let store = self.role_store()?;
        let count = store.list_roles(&organization_id).await?.len();
        if u64::try_from(count).unwrap_or(u64::MAX) >= MAX_ROLES_PER_ORGANIZATION {
            return refused(OrgRefusal::TooManyRoles);
        }
        self.check_grant(&member, &permission, RoleAction::Create)
            .await?;
        let role = StoredRole {
            id: auth.new_id(),
            organization_id,
            role: name.to_owned(),
            permission,
            created_at: auth.now(),
            updated_at: None,
        };
        match store.create_role(&role).await {
            Ok(()) => Ok(role),
            Err(PortError::Conflict) => refused(OrgRefusal::RoleNameTaken),
            Err(PortError::NotFound) => refused(OrgRefusal::NotFound),
            Err(error) => Err(error.into()),
        }
    }

    /// The stored roles of the caller's organization.
    ///
    /// # Errors
    /// `YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION`, `YOU_ARE_NOT_ALLOWED_TO_LIST_A_ROLE`,
    /// `Unavailable`.
    pub async fn list_roles(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
    ) -> Result<Vec<StoredRole>, AuthError> {
        let (organization_id, _) = self
            .role_manager(auth, context, named, RoleAction::List)
            .await?;
        Ok(self.role_store()?.list_roles(&organization_id).await?)
    }

    /// One stored role of the caller's organization, by id or name.
    ///
    /// # Errors
    /// `YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION`, `YOU_ARE_NOT_ALLOWED_TO_READ_A_ROLE`,
    /// `ROLE_NOT_FOUND`, `Unavailable`.
    pub async fn get_role(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        id_or_name: &str,
    ) -> Result<StoredRole, AuthError> {
        let (organization_id, _) = self
            .role_manager(auth, context, named, RoleAction::Read)
            .await?;
        self.stored_role(&organization_id, id_or_name).await
    }

    async fn stored_role(
        &self,
        organization_id: &str,
        id_or_name: &str,
    ) -> Result<StoredRole, AuthError> {
        if !super::clean(id_or_name) {
            return refused(OrgRefusal::RoleNotFound(Vec::new()));
        }
        match self
            .role_store()?
            .find_role(organization_id, id_or_name)
            .await?
        {
            Some(role) => Ok(role),
            None => refused(OrgRefusal::RoleNotFound(Vec::new())),
        }
    }

    /// Renames a stored role or changes what it grants.
    ///
    /// # Errors
    /// As for [`Self::create_role`] (with `YOU_ARE_NOT_ALLOWED_TO_UPDATE_A_ROLE`), and
    /// `ROLE_NOT_FOUND`.
    pub async fn update_role(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        id_or_name: &str,
        change: RoleUpdate,
    ) -> Result<StoredRole, AuthError> {
        let (organization_id, member) = self
            .role_manager(auth, context, named, RoleAction::Update)
            .await?;
        let role = self.stored_role(&organization_id, id_or_name).await?;
        if let Some(name) = &change.name {
            self.check_role_name(name)?;
        }
        if let Some(permission) = &change.permission {
            self.check_grant(&member, permission, RoleAction::Update)
                .await?;
        }
        let updated = StoredRole {
            role: change.name.unwrap_or(role.role),
            permission: change.permission.unwrap_or(role.permission),
            updated_at: Some(auth.now()),
            ..role
        };
        match self.role_store()?.update_role(&updated).await {
            Ok(()) => Ok(updated),
            Err(PortError::Conflict) => refused(OrgRefusal::RoleNameTaken),
            Err(PortError::NotFound) => refused(OrgRefusal::RoleNotFound(Vec::new())),
            Err(error) => Err(error.into()),
        }
    }

    /// Deletes a stored role no member holds.
    ///
    /// # Errors
    /// `YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION`, `YOU_ARE_NOT_ALLOWED_TO_DELETE_A_ROLE`,
    /// `CANNOT_DELETE_A_PRE_DEFINED_ROLE`, `ROLE_NOT_FOUND`, `ROLE_IS_ASSIGNED_TO_MEMBERS`,
    /// `Unavailable`.
    pub async fn delete_role(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        id_or_name: &str,
    ) -> Result<(), AuthError> {
        let (organization_id, _) = self
            .role_manager(auth, context, named, RoleAction::Delete)
            .await?;
        if self.access().has_role(id_or_name) {
            return refused(OrgRefusal::PredefinedRole);
        }
        let role = self.stored_role(&organization_id, id_or_name).await?;
        match self.role_store()?.delete_role(&role.id).await {
            Ok(RoleDeleted::Deleted) => Ok(()),
            Ok(RoleDeleted::Assigned) => refused(OrgRefusal::RoleAssigned),
            Err(PortError::NotFound) => refused(OrgRefusal::RoleNotFound(Vec::new())),
            Err(error) => Err(error.into()),
        }
    }
}
