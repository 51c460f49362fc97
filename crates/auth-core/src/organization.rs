//! The organization plugin's use cases (Better-Auth's `organization()`): organizations, their
//! members and roles, invitations, and the active organization of a session. Every rule is checked here,
//! never only in a handler; the rules themselves are data in `auth_domain::organization`.

mod invitations;
mod roles;
mod teams;

use std::borrow::Cow;
use std::sync::Arc;

pub use invitations::{FullOrganization, InvitationDetails, Invite};
pub use roles::{MAX_ROLES_PER_ORGANIZATION, RoleUpdate};
pub use teams::{ACTIVE_TEAM, ActiveTeam, TeamConfig};

use auth_domain::organization::{
    AccessControl, Member, OrgRefusal, Organization, RoleList, check_leave, check_removal,
    check_role_update,
};
use auth_domain::text::check_text;
use auth_domain::{
    DomainError, FieldKind, FieldSpec, FieldValue, Model, Permissions, Session, User, UserId,
};
use auth_ports::{
    InvitationRepo, MemberAdded, MemberChange, OrganizationRepo, PortError, RoleRepo,
};
pub use auth_ports::{MemberQuery, MemberSort};

use crate::plugin::AuthPlugin;
use crate::{Auth, AuthContext, AuthError, PluginError, PluginErrorKind};

/// The session field that holds the active organization.
pub const ACTIVE_ORGANIZATION: &str = "activeOrganizationId";

/// Longest organization name or slug accepted.
pub const MAX_ORGANIZATION_NAME: usize = 256;

/// The plugin's settings (Better-Auth's `organization()` options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationConfig {
    /// Users may create organizations (`allowUserToCreateOrganization`).
    pub allow_user_to_create: bool,
    /// Most organizations a user may belong to when creating one (`organizationLimit`).
    pub organization_limit: Option<u64>,
    /// Most members of one organization (`membershipLimit`, 100).
    pub membership_limit: u64,
    /// `/organization/delete` answers `404 ORGANIZATION_DELETION_DISABLED`.
    pub disable_deletion: bool,
    /// Roles and what they grant.
    pub access: AccessControl,
    /// Longest `metadata`, as JSON text.
    pub max_metadata_bytes: usize,
    /// How long an invitation can be accepted (`invitationExpiresIn`, 48 hours).
    pub invitation_expires_in: time::Duration,
    /// Most pending invitations of one organization (`invitationLimit`, 100).
    pub invitation_limit: u64,
    /// The link mailed to an invitee; `{id}` is replaced by the invitation's id, its secret.
    pub invitation_url: String,
    /// Only a verified email reads, accepts or declines an invitation
    /// (`requireEmailVerificationOnInvitation`).
    pub require_email_verification_on_invitation: bool,
}

impl Default for OrganizationConfig {
    fn default() -> Self {
        Self {
            allow_user_to_create: true,
            organization_limit: None,
            membership_limit: 100,
            disable_deletion: false,
            access: AccessControl::better_auth_default(),
            max_metadata_bytes: 4096,
            invitation_expires_in: time::Duration::hours(48),
            invitation_limit: 100,
            invitation_url: "http://localhost:3000/accept-invitation/{id}".to_owned(),
            require_email_verification_on_invitation: false,
        }
    }
}

/// What `/organization/create` takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateOrganization {
    /// Display name.
    pub name: String,
    /// Unique slug.
    pub slug: String,
    /// Logo URL.
    pub logo: Option<String>,
    /// JSON text of an object.
    pub metadata: Option<String>,
    /// Leave the session's active organization as it is.
    pub keep_current_active: bool,
}

/// What `/organization/update` changes (absent fields are kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateOrganization {
    /// New name.
    pub name: Option<String>,
    /// New slug.
    pub slug: Option<String>,
    /// New logo (`Some(None)` clears it).
    pub logo: Option<Option<String>>,
    /// New metadata, JSON text (`Some(None)` clears it).
    pub metadata: Option<Option<String>>,
}

/// Which organization a request names: by id, by slug, or (neither) the active one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrgRef<'a> {
    /// `organizationId`.
    pub id: Option<&'a str>,
    /// `organizationSlug`.
    pub slug: Option<&'a str>,
}

/// An organization as `create` answers it: with its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedOrganization {
    /// The organization.
    pub organization: Organization,
    /// Its members (the creator).
    pub members: Vec<Member>,
    /// Its default team, with teams on.
    pub team: Option<auth_domain::organization::Team>,
}

/// The organization use cases over their store.
#[derive(Clone)]
pub struct Organizations {
    repo: Arc<dyn OrganizationRepo>,
    invitations: Arc<dyn InvitationRepo>,
    roles: Option<Arc<dyn RoleRepo>>,
    teams: Option<Arc<teams::TeamSetup>>,
    config: Arc<OrganizationConfig>,
}

impl std::fmt::Debug for Organizations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Organizations")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A refusal of the domain's rules as the error the HTTP side renders.
#[must_use]
pub fn org_error(refusal: &OrgRefusal) -> AuthError {
    let kind = match refusal.status() {
        401 => PluginErrorKind::Unauthorized,
        403 => PluginErrorKind::Forbidden,
        404 => PluginErrorKind::NotFound,
        _ => PluginErrorKind::BadRequest,
    };
    AuthError::Plugin(PluginError {
        kind,
        code: refusal.code(),
        message: refusal.message().into(),
        details: Vec::new(),
    })
}

fn refused<T>(refusal: OrgRefusal) -> Result<T, AuthError> {
    Err(org_error(&refusal))
}

/// A name or slug: 1 to [`MAX_ORGANIZATION_NAME`] characters, no control character (and, for a slug, no
/// white space).
fn check_name(field: &'static str, value: &str, slug: bool) -> Result<(), AuthError> {
    let length = value.chars().count();
    let bad = length == 0
        || length > MAX_ORGANIZATION_NAME
        || value.chars().any(char::is_control)
        || (slug && value.chars().any(char::is_whitespace));
    if bad {
        return Err(AuthError::Invalid(DomainError::InvalidField { field }));
    }
    Ok(())
}

/// Whether an id a client sent can name a row: no control character (Postgres cannot even
/// compare a NUL byte, and no id holds one).
pub(crate) fn clean(value: &str) -> bool {
    !value.chars().any(char::is_control)
}

impl Organizations {
    /// The use cases over their stores.
    #[must_use]
    pub fn new(
        repo: Arc<dyn OrganizationRepo>,
        invitations: Arc<dyn InvitationRepo>,
        config: OrganizationConfig,
    ) -> Self {
        Self {
            repo,
            invitations,
            roles: None,
            teams: None,
            config: Arc::new(config),
        }
    }

    /// The same use cases with dynamic access control (Better-Auth's `dynamicAccessControl`):
    /// organizations define roles of their own, stored in `roles`, merged over the configured
    /// ones in every check.
    #[must_use]
    pub fn with_roles(mut self, roles: Arc<dyn RoleRepo>) -> Self {
        self.roles = Some(roles);
        self
    }

    /// Whether organizations may define roles of their own ([`Self::with_roles`]).
    #[must_use]
    pub fn dynamic_roles(&self) -> bool {
        self.roles.is_some()
    }

    /// The access controller of an organization: the configured roles, with the organization's
    /// stored roles merged over them when dynamic access control is on.
    async fn access_for(&self, organization_id: &str) -> Result<Cow<'_, AccessControl>, AuthError> {
        let Some(roles) = &self.roles else {
            return Ok(Cow::Borrowed(&self.config.access));
        };
        let stored = roles.list_roles(organization_id).await?;
        let merged = self.config.access.merged(
            stored
                .iter()
                .map(|role| (role.role.as_str(), &role.permission)),
        );
        Ok(Cow::Owned(merged))
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &OrganizationConfig {
        &self.config
    }

    /// The session's active organization id, if any.
    #[must_use]
    pub fn active_id(session: &Session) -> Option<&str> {
        match session.fields.get(ACTIVE_ORGANIZATION) {
            Some(FieldValue::Text(id)) if !id.is_empty() => Some(id),
            _ => None,
        }
    }

    fn check_metadata(&self, metadata: Option<&str>) -> Result<(), AuthError> {
        if metadata.is_some_and(|text| text.len() > self.config.max_metadata_bytes) {
            return Err(AuthError::Invalid(DomainError::InvalidField {
                field: "metadata",
            }));
        }
        Ok(())
    }

    /// Creates an organization with the caller as its creator (the creator role) and, unless
    /// asked not to, makes it the session's active organization.
    ///
    /// # Errors
    /// `YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_ORGANIZATION`,
    /// `YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS`, `ORGANIZATION_ALREADY_EXISTS`
    /// (slug taken), `VALIDATION_ERROR`, `Unavailable`.
    pub async fn create(
        &self,
        auth: &Auth,
        context: &AuthContext,
        input: CreateOrganization,
    ) -> Result<CreatedOrganization, AuthError> {
        if !self.config.allow_user_to_create {
            return refused(OrgRefusal::NotAllowedToCreate);
        }
        check_name("name", &input.name, false)?;
        check_name("slug", &input.slug, true)?;
        if let Some(logo) = &input.logo {
            check_text("logo", logo).map_err(AuthError::Invalid)?;
        }
        self.check_metadata(input.metadata.as_deref())?;
        if let Some(limit) = self.config.organization_limit
            && self.repo.count_for_user(&context.user.id).await? >= limit
        {
            return refused(OrgRefusal::OrganizationLimit);
        }
        if self.repo.find_by_slug(&input.slug).await?.is_some() {
            return refused(OrgRefusal::AlreadyExists);
        }
        let now = auth.now();
        let organization = Organization {
            id: auth.new_id(),
            name: input.name,
            slug: input.slug,
            logo: input.logo,
            metadata: input.metadata,
            created_at: now,
        };
        let creator = Member {
            id: auth.new_id(),
            organization_id: organization.id.clone(),
            user_id: context.user.id.clone(),
            role: RoleList::parse(self.config.access.creator_role()),
            created_at: now,
        };
        match self.repo.create(&organization, &creator).await {
            Ok(()) => {}
            Err(PortError::Conflict) => return refused(OrgRefusal::AlreadyExists),
            Err(error) => return Err(error.into()),
        }
        let team = self
            .default_team(auth, &organization.id, &organization.name, &context.user.id)
            .await?;
        if !input.keep_current_active {
            let mut active = vec![(ACTIVE_ORGANIZATION, Some(organization.id.as_str()))];
            if let Some(team) = &team {
                active.push((ACTIVE_TEAM, Some(team.id.as_str())));
            }
            self.write_session(auth, &context.session, &active).await?;
        }
        crate::metrics::organization_event("organization_created");
        Ok(CreatedOrganization {
            organization,
            members: vec![creator],
            team,
        })
    }

    /// Whether a slug is free.
    ///
    /// # Errors
    /// `ORGANIZATION_SLUG_ALREADY_TAKEN`, `VALIDATION_ERROR`, `Unavailable`.
    pub async fn check_slug(&self, slug: &str) -> Result<(), AuthError> {
        check_name("slug", slug, true)?;
        if self.repo.find_by_slug(slug).await?.is_some() {
            return refused(OrgRefusal::SlugTaken);
        }
        Ok(())
    }

    /// The organization a request names (by id, else by slug, else the active one) and the
    /// caller's membership of it. `None` when nothing is named and none is active.
    ///
    /// # Errors
    /// `ORGANIZATION_NOT_FOUND`; `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION` (with
    /// `not_a_member`'s status) when the caller is not a member, and then the session's active
    /// organization is cleared if it was that one.
    async fn membership(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        not_a_member: OrgRefusal,
    ) -> Result<Option<(Organization, Member)>, AuthError> {
        if named
            .id
            .into_iter()
            .chain(named.slug)
            .any(|value| !clean(value))
        {
            return refused(OrgRefusal::NotFound);
        }
        let organization = match (named.id, named.slug) {
            (Some(id), _) => self.repo.find(id).await?,
            (None, Some(slug)) => self.repo.find_by_slug(slug).await?,
            (None, None) => match Self::active_id(&context.session) {
                Some(id) => self.repo.find(id).await?,
                None => return Ok(None),
            },
        };
        let Some(organization) = organization else {
            return refused(OrgRefusal::NotFound);
        };
        let Some(member) = self
            .repo
            .find_member(&organization.id, &context.user.id)
            .await?
        else {
            if Self::active_id(&context.session) == Some(organization.id.as_str()) {
                self.set_active_field(auth, &context.session, None).await?;
            }
            return refused(not_a_member);
        };
        Ok(Some((organization, member)))
    }

    /// Like [`Self::membership`], when an organization must be named or active.
    async fn required_membership(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        not_a_member: OrgRefusal,
    ) -> Result<(Organization, Member), AuthError> {
        match self.membership(auth, context, named, not_a_member).await? {
            Some(found) => Ok(found),
            None => refused(OrgRefusal::NoActiveOrganization),
        }
    }

    /// The configured access controller: the creator role and the configured roles. Checks of
    /// one organization's permissions use [`Self::access_for`], which adds its stored roles.
    fn access(&self) -> &AccessControl {
        &self.config.access
    }

    /// The organization a request names, or the active one; `None` when neither.
    ///
    /// # Errors
    /// `ORGANIZATION_NOT_FOUND`, and `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION` (`403`) for a
    /// non-member.
    pub async fn get(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
    ) -> Result<Option<Organization>, AuthError> {
        Ok(self
            .membership(auth, context, named, OrgRefusal::NotAMember(403))
            .await?
            .map(|(organization, _)| organization))
    }

    /// The organizations the caller is a member of.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn list(&self, context: &AuthContext) -> Result<Vec<Organization>, AuthError> {
        Ok(self.repo.list_for_user(&context.user.id).await?)
    }

    /// Changes an organization (the caller needs `organization:update`).
    ///
    /// # Errors
    /// `NO_ACTIVE_ORGANIZATION`, `ORGANIZATION_NOT_FOUND`,
    /// `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION`,
    /// `YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION`, `ORGANIZATION_SLUG_ALREADY_TAKEN`,
    /// `VALIDATION_ERROR`, `Unavailable`.
    pub async fn update(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        change: UpdateOrganization,
    ) -> Result<Organization, AuthError> {
        if let Some(name) = &change.name {
            check_name("name", name, false)?;
        }
        if let Some(slug) = &change.slug {
            check_name("slug", slug, true)?;
        }
        if let Some(metadata) = &change.metadata {
            self.check_metadata(metadata.as_deref())?;
        }
        if let Some(Some(logo)) = &change.logo {
            check_text("logo", logo).map_err(AuthError::Invalid)?;
        }
        if named.id.is_none() && named.slug.is_none() && Self::active_id(&context.session).is_none()
        {
            return refused(OrgRefusal::NotFound);
        }
        let (organization, member) = self
            .required_membership(auth, context, named, OrgRefusal::NotAMember(400))
            .await?;
        let update = Permissions::of(&[("organization", &["update"])]);
        if !self
            .access_for(&organization.id)
            .await?
            .authorize(&member.role, &update)
        {
            return refused(OrgRefusal::NotAllowedToUpdate);
        }
        let updated = Organization {
            name: change.name.unwrap_or(organization.name),
            slug: change.slug.unwrap_or(organization.slug),
            logo: change.logo.unwrap_or(organization.logo),
            metadata: change.metadata.unwrap_or(organization.metadata),
            ..organization
        };
        match self.repo.update(&updated).await {
            Ok(()) => Ok(updated),
            Err(PortError::Conflict) => refused(OrgRefusal::SlugTaken),
            Err(PortError::NotFound) => refused(OrgRefusal::NotFound),
            Err(error) => Err(error.into()),
        }
    }

    /// Deletes an organization (the caller needs `organization:delete`) with its members,
    /// invitations, teams and roles, and clears it wherever it is a session's active one.
    ///
    /// # Errors
    /// `ORGANIZATION_DELETION_DISABLED`, `ORGANIZATION_NOT_FOUND`,
    /// `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION`,
    /// `YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION`, `Unavailable`.
    pub async fn delete(
        &self,
        auth: &Auth,
        context: &AuthContext,
        organization_id: &str,
    ) -> Result<Organization, AuthError> {
        if self.config.disable_deletion {
            return refused(OrgRefusal::DeletionDisabled);
        }
        let named = OrgRef {
            id: Some(organization_id),
            slug: None,
        };
        let (organization, member) = self
            .required_membership(auth, context, named, OrgRefusal::NotAMember(400))
            .await?;
        let delete = Permissions::of(&[("organization", &["delete"])]);
        if !self
            .access_for(&organization.id)
            .await?
            .authorize(&member.role, &delete)
        {
            return refused(OrgRefusal::NotAllowedToDelete);
        }
        let members = match self.repo.delete(&organization.id).await {
            Ok(members) => members,
            Err(PortError::NotFound) => return refused(OrgRefusal::NotFound),
            Err(error) => return Err(error.into()),
        };
        for user_id in &members {
            self.clear_active_for(auth, user_id, &organization.id)
                .await?;
        }
        auth.emit(
            auth_domain::AuthEvent::OrganizationDeleted {
                organization_id: organization.id.clone(),
            },
            &crate::ClientInfo::default(),
        )
        .await;
        Ok(organization)
    }

    /// Makes an organization the session's active one (`None` clears it). Answers the
    /// organization, or `None` when cleared.
    ///
    /// # Errors
    /// `ORGANIZATION_NOT_FOUND`, `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION` (403),
    /// `Unavailable`.
    pub async fn set_active(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: Option<OrgRef<'_>>,
    ) -> Result<Option<Organization>, AuthError> {
        let Some(named) = named.filter(|named| named.id.is_some() || named.slug.is_some()) else {
            self.set_active_field(auth, &context.session, None).await?;
            return Ok(None);
        };
        let (organization, _) = self
            .required_membership(auth, context, named, OrgRefusal::NotAMember(403))
            .await?;
        self.set_active_field(auth, &context.session, Some(&organization.id))
            .await?;
        Ok(Some(organization))
    }

    /// The caller's membership of the organization named (or the active one), for guards of
    /// application routes: a non-member is `403 USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION`.
    ///
    /// # Errors
    /// `NO_ACTIVE_ORGANIZATION`, `ORGANIZATION_NOT_FOUND`,
    /// `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION`, `Unavailable`.
    pub async fn member_of(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
    ) -> Result<(Organization, Member), AuthError> {
        self.required_membership(auth, context, named, OrgRefusal::NotAMember(403))
            .await
    }

    /// Whether a member's roles grant `permissions` (Better-Auth's rule, with the
    /// organization's stored roles under dynamic access control).
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn permits(
        &self,
        member: &Member,
        permissions: &Permissions,
    ) -> Result<bool, AuthError> {
        Ok(self
            .access_for(&member.organization_id)
            .await?
            .authorize(&member.role, permissions))
    }

    /// Whether a user is a member of an organization (`None` when not) whose roles grant
    /// `permissions`, the creator role granting everything when `creator_all` (Better-Auth's
    /// `allowCreatorAllPermissions`).
    ///
    /// # Errors
    /// `Unavailable`.
    pub(crate) async fn member_permits(
        &self,
        organization_id: &str,
        user_id: &UserId,
        permissions: &Permissions,
        creator_all: bool,
    ) -> Result<Option<bool>, AuthError> {
        if !clean(organization_id) {
            return Ok(None);
        }
        let Some(member) = self.repo.find_member(organization_id, user_id).await? else {
            return Ok(None);
        };
        let access = self.access_for(organization_id).await?;
        Ok(Some(if creator_all {
            access.authorize_creator_all(&member.role, permissions)
        } else {
            access.authorize(&member.role, permissions)
        }))
    }

    /// The caller's membership of the active organization (or the one named).
    ///
    /// # Errors
    /// `NO_ACTIVE_ORGANIZATION`, `ORGANIZATION_NOT_FOUND`,
    /// `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION`, `Unavailable`.
    pub async fn active_member(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
    ) -> Result<Member, AuthError> {
        Ok(self
            .required_membership(auth, context, named, OrgRefusal::MemberNotFound)
            .await?
            .1)
    }

    /// The role of a member of the caller's organization (the caller's own by default).
    ///
    /// # Errors
    /// As for [`Self::active_member`]; `MEMBER_NOT_FOUND` for a user who is not a member.
    pub async fn member_role(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        user_id: Option<&UserId>,
    ) -> Result<RoleList, AuthError> {
        let (organization, member) = self
            .required_membership(auth, context, named, OrgRefusal::NotAMemberHere)
            .await?;
        match user_id {
            Some(user_id) if *user_id != context.user.id => {
                if !clean(user_id.as_str()) {
                    return refused(OrgRefusal::NotAMemberHere);
                }
                match self.repo.find_member(&organization.id, user_id).await? {
                    Some(other) => Ok(other.role),
                    None => refused(OrgRefusal::NotAMemberHere),
                }
            }
            _ => Ok(member.role),
        }
    }

    /// A page of the members of the caller's organization, with their users and the total.
    ///
    /// # Errors
    /// As for [`Self::active_member`].
    pub async fn list_members(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        query: &MemberQuery,
    ) -> Result<(Vec<(Member, User)>, u64), AuthError> {
        let (organization, _) = self
            .required_membership(auth, context, named, OrgRefusal::NotAMemberHere)
            .await?;
        let query = MemberQuery {
            limit: query.limit.min(self.config.membership_limit.max(1)),
            ..query.clone()
        };
        Ok(self.repo.list_members(&organization.id, &query).await?)
    }

    /// Whether the caller's roles in the organization grant `permissions`.
    ///
    /// # Errors
    /// `NO_ACTIVE_ORGANIZATION`, `ORGANIZATION_NOT_FOUND`,
    /// `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION` (401), `Unavailable`.
    pub async fn has_permission(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        permissions: &Permissions,
    ) -> Result<bool, AuthError> {
        let (_, member) = self
            .required_membership(auth, context, named, OrgRefusal::NotAMember(401))
            .await?;
        self.permits(&member, permissions).await
    }

    /// Adds a user to an organization with `roles`, for Rust callers (Better-Auth's server-only
    /// `addMember`; no HTTP route). Answers the membership.
    ///
    /// # Errors
    /// `ROLE_NOT_FOUND`, `ORGANIZATION_NOT_FOUND`,
    /// `USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION`, `ORGANIZATION_MEMBERSHIP_LIMIT_REACHED`,
    /// `Unavailable`.
    pub async fn add_member(
        &self,
        auth: &Auth,
        organization_id: &str,
        user_id: &UserId,
        roles: &RoleList,
    ) -> Result<Member, AuthError> {
        let access = self.access_for(organization_id).await?;
        let unknown = access.unknown(roles);
        if roles.is_empty() || !unknown.is_empty() {
            let names = unknown.into_iter().map(str::to_owned).collect();
            return refused(OrgRefusal::RoleNotFound(names));
        }
        let member = Member {
            id: auth.new_id(),
            organization_id: organization_id.to_owned(),
            user_id: user_id.clone(),
            role: roles.clone(),
            created_at: auth.now(),
        };
        match self
            .repo
            .add_member(&member, self.config.membership_limit)
            .await
        {
            Ok(MemberAdded::Added) => {
                crate::metrics::organization_event("member_added");
                Ok(member)
            }
            Ok(MemberAdded::LimitReached) => refused(OrgRefusal::MembershipLimit),
            Err(PortError::Conflict) => refused(OrgRefusal::AlreadyAMember),
            Err(PortError::NotFound) => refused(OrgRefusal::NotFound),
            Err(error) => Err(error.into()),
        }
    }

    /// Gives a member of the caller's organization new roles.
    ///
    /// # Errors
    /// `MEMBER_NOT_FOUND`, `YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER`,
    /// `YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER`, `ROLE_NOT_FOUND`, and as for
    /// [`Self::active_member`].
    pub async fn update_member_role(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        member_id: &str,
        roles: &RoleList,
    ) -> Result<Member, AuthError> {
        let (organization, updater) = self
            .membership_or_member_not_found(auth, context, named)
            .await?;
        if !clean(member_id) {
            return refused(OrgRefusal::MemberNotFound);
        }
        let target = if updater.id == member_id {
            updater.clone()
        } else {
            match self.repo.find_member_by_id(member_id).await? {
                Some(target) => target,
                None => return refused(OrgRefusal::MemberNotFound),
            }
        };
        let creators = self.creators(&organization.id).await?;
        let access = self.access_for(&organization.id).await?;
        check_role_update(&access, &updater, &target, roles, creators)
            .map_err(|refusal| org_error(&refusal))?;
        // The rules were checked on what was read; the write re-checks, under the
        // organization's lock, that the target's roles did not change and that an owner stays.
        let change = self
            .repo
            .change_member_role(
                &target.id,
                &target.role,
                roles,
                self.access().creator_role(),
            )
            .await;
        match change {
            Ok(MemberChange::Done) => Ok(Member {
                role: roles.clone(),
                ..target
            }),
            Ok(MemberChange::Changed) => refused(OrgRefusal::NotAllowedToUpdateMember),
            Ok(MemberChange::LastHolder) => refused(OrgRefusal::WithoutAnOwner),
            Err(PortError::NotFound) => refused(OrgRefusal::MemberNotFound),
            Err(error) => Err(error.into()),
        }
    }

    /// Removes a member of the caller's organization, by member id or by email.
    ///
    /// # Errors
    /// `MEMBER_NOT_FOUND`, `YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER`,
    /// `YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER` (401), and as for [`Self::active_member`].
    pub async fn remove_member(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        member_id_or_email: &str,
    ) -> Result<Member, AuthError> {
        let (organization, remover) = self
            .membership_or_member_not_found(auth, context, named)
            .await?;
        if !clean(member_id_or_email) {
            return refused(OrgRefusal::MemberNotFound);
        }
        let target = if member_id_or_email.contains('@') {
            match auth_domain::Email::parse(member_id_or_email) {
                Ok(email) => match auth.deps().users.find_by_email(&email).await? {
                    Some(user) => self.repo.find_member(&organization.id, &user.id).await?,
                    None => None,
                },
                Err(_) => None,
            }
        } else {
            self.repo.find_member_by_id(member_id_or_email).await?
        };
        let Some(target) = target else {
            return refused(OrgRefusal::MemberNotFound);
        };
        let creators = self.creators(&organization.id).await?;
        let access = self.access_for(&organization.id).await?;
        check_removal(&access, &remover, &target, creators)
            .map_err(|refusal| org_error(&refusal))?;
        self.remove(auth, &target).await?;
        Ok(target)
    }

    /// The caller leaves an organization.
    ///
    /// # Errors
    /// `MEMBER_NOT_FOUND`, `YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER`,
    /// `Unavailable`.
    pub async fn leave(
        &self,
        auth: &Auth,
        context: &AuthContext,
        organization_id: &str,
    ) -> Result<Member, AuthError> {
        let named = OrgRef {
            id: Some(organization_id),
            slug: None,
        };
        let (organization, member) = self
            .membership_or_member_not_found(auth, context, named)
            .await?;
        let creators = self.creators(&organization.id).await?;
        check_leave(self.access(), &member, creators).map_err(|refusal| org_error(&refusal))?;
        self.remove(auth, &member).await?;
        Ok(member)
    }

    /// The caller's membership, where Better-Auth answers a non-member `MEMBER_NOT_FOUND`.
    async fn membership_or_member_not_found(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
    ) -> Result<(Organization, Member), AuthError> {
        self.required_membership(auth, context, named, OrgRefusal::MemberNotFound)
            .await
    }

    async fn creators(&self, organization_id: &str) -> Result<usize, AuthError> {
        let count = self
            .repo
            .count_with_role(organization_id, self.access().creator_role())
            .await?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    /// Removes a membership and clears the organization from the member's sessions.
    async fn remove(&self, auth: &Auth, member: &Member) -> Result<(), AuthError> {
        match self
            .repo
            .remove_member(&member.id, self.access().creator_role())
            .await
        {
            Ok(MemberChange::Done | MemberChange::Changed) | Err(PortError::NotFound) => {}
            Ok(MemberChange::LastHolder) => return refused(OrgRefusal::OnlyOwner),
            Err(error) => return Err(error.into()),
        }
        // Told first: the membership is gone even when clearing the sessions fails.
        auth.emit(
            auth_domain::AuthEvent::MemberRemoved {
                organization_id: member.organization_id.clone(),
                user_id: member.user_id.clone(),
            },
            &crate::ClientInfo::default(),
        )
        .await;
        self.clear_active_for(auth, &member.user_id, &member.organization_id)
            .await
    }

    /// Clears `organization_id` as the active organization of the user's sessions, with their
    /// active team.
    async fn clear_active_for(
        &self,
        auth: &Auth,
        user_id: &UserId,
        organization_id: &str,
    ) -> Result<(), AuthError> {
        let sessions = auth
            .deps()
            .sessions
            .list_active(user_id, auth.now())
            .await?;
        for session in sessions {
            if Self::active_id(&session) == Some(organization_id) {
                self.set_active_field(auth, &session, None).await?;
            }
        }
        Ok(())
    }

    /// Writes the session's active organization (and clears its active team when the
    /// organization changes) and drops its cached copies.
    async fn set_active_field(
        &self,
        auth: &Auth,
        session: &Session,
        organization_id: Option<&str>,
    ) -> Result<(), AuthError> {
        let mut values = vec![(ACTIVE_ORGANIZATION, organization_id)];
        if self.teams_enabled()
            && Self::active_team_id(session).is_some()
            && Self::active_id(session) != organization_id
        {
            values.push((ACTIVE_TEAM, None));
        }
        self.write_session(auth, session, &values).await
    }
}

impl AuthPlugin for Organizations {
    fn id(&self) -> &'static str {
        "organization"
    }

    fn fields(&self) -> Vec<FieldSpec> {
        let mut fields = vec![FieldSpec {
            model: Model::Session,
            name: ACTIVE_ORGANIZATION,
            kind: FieldKind::Text,
        }];
        if self.teams_enabled() {
            fields.push(FieldSpec {
                model: Model::Session,
                name: ACTIVE_TEAM,
                kind: FieldKind::Text,
            });
        }
        fields
    }
}
