//! The organization plugin (Better-Auth's `organization()`): the `/organization/*` routes on
//! its use cases, and [`RequireOrganization`] / [`OrganizationMember`] for application routes.
//! Server-only operations (`addMember`) are Rust calls on [`auth_core::Organizations`], never
//! routes.

use std::collections::BTreeMap;
use std::sync::Arc;

use auth_core::{
    AuthContext, AuthError, CreateOrganization, Invite, MemberQuery, MemberSort, OrgRef,
    Organizations, RoleUpdate, UpdateOrganization,
};
use auth_domain::date::to_json as iso;
use auth_domain::organization::{Invitation, Member, Organization, RoleList, StoredRole};
use auth_domain::{Permissions, User, UserId};
use poem::{Endpoint, FromRequest, IntoResponse, Middleware, Request, RequestBody};
use poem_openapi::param::Query;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Object, OpenApi, Tags};
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::payload::{BaJson, Reply};
use crate::plugin::{HttpPlugin, PluginApi};
use crate::session_ctx::{load, require};
use crate::state::HttpState;

mod teams;

pub use teams::{TeamDto, TeamMemberDto};

/// The organization plugin over its use cases.
#[derive(Debug, Clone)]
pub struct OrganizationPlugin {
    orgs: Organizations,
}

impl OrganizationPlugin {
    /// The plugin.
    #[must_use]
    pub fn new(orgs: Organizations) -> Self {
        Self { orgs }
    }

    /// The use cases (for Rust callers: `add_member`).
    #[must_use]
    pub fn organizations(&self) -> &Organizations {
        &self.orgs
    }
}

impl HttpPlugin for OrganizationPlugin {
    fn id(&self) -> &'static str {
        "organization"
    }

    fn api(&self, state: &Arc<HttpState>) -> Option<PluginApi> {
        let api = OrganizationApi {
            state: state.clone(),
            orgs: self.orgs.clone(),
        };
        let roles = self.orgs.dynamic_roles().then(|| RoleApi {
            state: state.clone(),
            orgs: self.orgs.clone(),
        });
        let teams = self.orgs.teams_enabled().then(|| teams::TeamApi {
            state: state.clone(),
            orgs: self.orgs.clone(),
        });
        Some(match (roles, teams) {
            (None, None) => PluginApi::new(api),
            (Some(roles), None) => PluginApi::new((api, roles)),
            (None, Some(teams)) => PluginApi::new((api, teams)),
            (Some(roles), Some(teams)) => PluginApi::new((api, roles, teams)),
        })
    }

    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(self)
    }
}

/// An organization on the wire. `metadata` is the stored JSON text as a string, except in the
/// answers to `create` and `update`, where it is parsed (Better-Auth's quirk).
#[derive(Debug, Clone, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "Organization", rename_all = "camelCase")]
pub struct OrganizationDto {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Unique slug.
    pub slug: String,
    /// Logo URL.
    #[oai(nullable)]
    pub logo: Option<String>,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// The metadata: JSON text, or (from create and update) the object it holds.
    #[oai(nullable)]
    pub metadata: Option<Value>,
}

impl OrganizationDto {
    /// As stored: metadata as its JSON text.
    fn stored(organization: &Organization) -> Self {
        Self {
            id: organization.id.clone(),
            name: organization.name.clone(),
            slug: organization.slug.clone(),
            logo: organization.logo.clone(),
            created_at: iso(organization.created_at),
            metadata: organization.metadata.clone().map(Value::String),
        }
    }

    /// With the metadata parsed back to an object.
    fn parsed(organization: &Organization) -> Self {
        Self {
            metadata: organization
                .metadata
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok()),
            ..Self::stored(organization)
        }
    }
}

/// A membership on the wire.
#[derive(Debug, Clone, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "Member", rename_all = "camelCase")]
pub struct MemberDto {
    /// Id.
    pub id: String,
    /// The organization.
    pub organization_id: String,
    /// The member.
    pub user_id: String,
    /// Its roles, joined by `,`.
    pub role: String,
    /// ISO-8601 time it joined.
    pub created_at: String,
}

impl From<&Member> for MemberDto {
    fn from(member: &Member) -> Self {
        Self {
            id: member.id.clone(),
            organization_id: member.organization_id.clone(),
            user_id: member.user_id.as_str().to_owned(),
            role: member.role.joined(),
            created_at: iso(member.created_at),
        }
    }
}

/// The member's user, as member lists carry it.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(rename = "MemberUser")]
pub struct MemberUserDto {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Avatar URL.
    #[oai(nullable)]
    pub image: Option<String>,
}

/// A membership with its user.
#[derive(Debug, Clone, Object, Serialize)]
#[oai(rename = "MemberWithUser")]
pub struct MemberWithUserDto {
    /// The membership.
    #[serde(flatten)]
    #[oai(flatten)]
    pub member: MemberDto,
    /// The user.
    pub user: MemberUserDto,
}

impl MemberWithUserDto {
    fn new(member: &Member, user: &User) -> Self {
        Self {
            member: MemberDto::from(member),
            user: MemberUserDto {
                id: user.id.as_str().to_owned(),
                name: user.name.clone(),
                email: user.email.as_str().to_owned(),
                image: user.image.clone(),
            },
        }
    }
}

/// `create`'s answer: the organization (metadata parsed) with its members.
#[derive(Debug, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "CreatedOrganization", rename_all = "camelCase")]
struct CreatedDto {
    id: String,
    name: String,
    slug: String,
    #[oai(nullable)]
    logo: Option<String>,
    created_at: String,
    /// The metadata object, absent when none was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none, nullable)]
    metadata: Option<Value>,
    members: Vec<MemberDto>,
}

/// `get-full-organization`'s answer: the organization (metadata as stored) with its members
/// and the invitations the caller may see.
#[derive(Debug, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "FullOrganization", rename_all = "camelCase")]
struct FullDto {
    #[serde(flatten)]
    #[oai(flatten)]
    organization: OrganizationDto,
    /// The members, with their users.
    members: Vec<MemberWithUserDto>,
    /// The invitations (empty unless the caller may invite).
    invitations: Vec<InvitationDto>,
    /// The teams (with teams on).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none, nullable)]
    teams: Option<Vec<TeamDto>>,
}

/// `POST /organization/create` body.
#[derive(Debug, Object)]
#[oai(rename = "CreateOrganizationRequest", rename_all = "camelCase")]
struct CreateBody {
    /// Display name.
    name: String,
    /// Unique slug.
    slug: String,
    /// Logo URL.
    #[oai(nullable)]
    logo: Option<String>,
    /// A JSON object.
    #[oai(nullable)]
    metadata: Option<BTreeMap<String, Value>>,
    /// Leave the session's active organization as it is.
    #[oai(nullable)]
    keep_current_active_organization: Option<bool>,
}

/// The changes of `POST /organization/update`.
#[derive(Debug, Object)]
#[oai(rename = "OrganizationChanges", rename_all = "camelCase")]
struct Changes {
    /// New name.
    #[oai(nullable)]
    name: Option<String>,
    /// New slug.
    #[oai(nullable)]
    slug: Option<String>,
    /// New logo; null clears it.
    #[oai(nullable)]
    logo: MaybeUndefined<String>,
    /// New metadata object; null clears it.
    #[oai(nullable)]
    metadata: MaybeUndefined<BTreeMap<String, Value>>,
}

/// `POST /organization/update` body.
#[derive(Debug, Object)]
#[oai(rename = "UpdateOrganizationRequest", rename_all = "camelCase")]
struct UpdateBody {
    /// What changes.
    data: Changes,
    /// The organization (default: the active one).
    #[oai(nullable)]
    organization_id: Option<String>,
}

/// A body naming one organization.
#[derive(Debug, Object)]
#[oai(rename = "OrganizationIdRequest", rename_all = "camelCase")]
struct OrganizationIdBody {
    /// The organization.
    organization_id: String,
}

/// `POST /organization/set-active` body.
#[derive(Debug, Object)]
#[oai(rename = "SetActiveOrganizationRequest", rename_all = "camelCase")]
struct SetActiveBody {
    /// The organization; null clears the active one.
    #[oai(nullable)]
    organization_id: MaybeUndefined<String>,
    /// Or its slug.
    #[oai(nullable)]
    organization_slug: Option<String>,
}

/// `POST /organization/check-slug` body.
#[derive(Debug, Object)]
#[oai(rename = "CheckSlugRequest")]
struct CheckSlugBody {
    /// The slug.
    slug: String,
}

/// `{"status": true}`.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "OrganizationStatus")]
struct Status {
    /// Always `true`.
    status: bool,
}

/// `get-active-member-role`'s answer.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "MemberRole")]
struct RoleDto {
    /// The roles, joined by `,`.
    role: String,
}

/// `list-members`' answer.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "MemberList")]
struct MembersDto {
    /// The page.
    members: Vec<MemberWithUserDto>,
    /// How many members match in all.
    total: u64,
}

/// `POST /organization/remove-member` body.
#[derive(Debug, Object)]
#[oai(rename = "RemoveMemberRequest", rename_all = "camelCase")]
struct RemoveBody {
    /// A member id, or (with an `@`) the member's email.
    member_id_or_email: String,
    /// The organization (default: the active one).
    #[oai(nullable)]
    organization_id: Option<String>,
}

/// `remove-member`'s answer.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "RemovedMember")]
struct RemovedDto {
    /// The removed membership.
    member: MemberDto,
}

/// `POST /organization/update-member-role` body.
#[derive(Debug, Object)]
#[oai(rename = "UpdateMemberRoleRequest", rename_all = "camelCase")]
struct UpdateRoleBody {
    /// A role, roles joined by `,`, or a list of roles.
    role: Value,
    /// The membership.
    member_id: String,
    /// The organization (default: the active one).
    #[oai(nullable)]
    organization_id: Option<String>,
}

/// `POST /organization/has-permission` body.
#[derive(Debug, Object)]
#[oai(rename = "HasPermissionRequest", rename_all = "camelCase")]
struct HasPermissionBody {
    /// The organization (default: the active one).
    #[oai(nullable)]
    organization_id: Option<String>,
    /// `resource -> actions`, every one needed.
    #[oai(nullable)]
    permissions: Option<BTreeMap<String, Vec<String>>>,
    /// The same, under its deprecated name.
    #[oai(nullable)]
    permission: Option<BTreeMap<String, Vec<String>>>,
}

/// `has-permission`'s answer.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "HasPermission")]
struct HasPermissionDto {
    /// Always null.
    #[oai(nullable)]
    error: Option<String>,
    /// Whether the caller's roles grant every permission asked.
    success: bool,
}

/// An invitation on the wire.
#[derive(Debug, Clone, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "Invitation", rename_all = "camelCase")]
pub struct InvitationDto {
    /// Id, the secret of the invitation link.
    pub id: String,
    /// The organization.
    pub organization_id: String,
    /// The invitee's email, lower-cased.
    pub email: String,
    /// The roles the invitee will have, joined by `,`.
    pub role: String,
    /// Teams the invitee joins, joined by `,`, or null.
    #[oai(nullable)]
    pub team_id: Option<String>,
    /// `pending`, `accepted`, `rejected` or `canceled`.
    pub status: String,
    /// ISO-8601 expiry.
    pub expires_at: String,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// Who sent it.
    pub inviter_id: String,
}

impl From<&Invitation> for InvitationDto {
    fn from(invitation: &Invitation) -> Self {
        Self {
            id: invitation.id.clone(),
            organization_id: invitation.organization_id.clone(),
            email: invitation.email.clone(),
            role: invitation.role.joined(),
            team_id: (!invitation.team_ids.is_empty()).then(|| invitation.team_ids.join(",")),
            status: invitation.status.as_str().to_owned(),
            expires_at: iso(invitation.expires_at),
            created_at: iso(invitation.created_at),
            inviter_id: invitation.inviter_id.as_str().to_owned(),
        }
    }
}

/// `get-invitation`'s answer: the invitation with its organization and inviter.
#[derive(Debug, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "InvitationDetails", rename_all = "camelCase")]
struct InvitationDetailsDto {
    #[serde(flatten)]
    #[oai(flatten)]
    invitation: InvitationDto,
    /// The organization's name.
    organization_name: String,
    /// The organization's slug.
    organization_slug: String,
    /// The inviter's email.
    inviter_email: String,
}

/// `list-user-invitations`' items: the invitation with its organization's name.
#[derive(Debug, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "UserInvitation", rename_all = "camelCase")]
struct UserInvitationDto {
    #[serde(flatten)]
    #[oai(flatten)]
    invitation: InvitationDto,
    /// The organization's name.
    organization_name: String,
}

/// `accept-invitation` and `reject-invitation`'s answer.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "InvitationAnswer")]
struct AnswerDto {
    /// The invitation, answered.
    invitation: InvitationDto,
    /// The new membership (null on reject).
    #[oai(nullable)]
    member: Option<MemberDto>,
}

/// `POST /organization/invite-member` body.
#[derive(Debug, Object)]
#[oai(rename = "InviteMemberRequest", rename_all = "camelCase")]
struct InviteBody {
    /// The invitee's email.
    email: String,
    /// A role, roles joined by `,`, or a list of roles.
    role: Value,
    /// The organization (default: the active one).
    #[oai(nullable)]
    organization_id: Option<String>,
    /// Send a pending invitation of this email again, with a new expiry.
    #[oai(nullable)]
    resend: Option<bool>,
    /// A team or a list of teams the invitee joins on accepting (with teams on).
    #[oai(nullable)]
    team_id: Option<Value>,
}

/// A body naming one invitation.
#[derive(Debug, Object)]
#[oai(rename = "InvitationIdRequest", rename_all = "camelCase")]
struct InvitationIdBody {
    /// The invitation.
    invitation_id: String,
}

/// The signed-in user's membership of an organization, for application routes: given by
/// [`RequireOrganization`] (or, as an extractor, the membership of the active organization).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationMember {
    /// The session and its user.
    pub context: AuthContext,
    /// The organization.
    pub organization: Organization,
    /// The membership, with its roles.
    pub member: Member,
}

/// What [`RequireOrganization`] asks of the member.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Member,
    Role(String),
    Permission(Permissions),
}

/// Middleware for application routes (mounted beside the auth API): the request's session
/// must belong to a member of the active organization, or of the one whose id is the path
/// parameter named with [`RequireOrganization::in_path`], and hold a role or permissions when
/// asked. The membership is then the handler's [`OrganizationMember`]. Membership is read on
/// every request, so a removed member is refused at once on every instance. Refusals: `401
/// UNAUTHORIZED` (no session), `400 NO_ACTIVE_ORGANIZATION`, `400 ORGANIZATION_NOT_FOUND`,
/// `403 USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION`, `403 ORGANIZATION_ROLE_REQUIRED`, `403
/// ORGANIZATION_PERMISSION_REQUIRED`; cookie requests are origin-checked as the auth API's.
#[derive(Debug, Clone)]
pub struct RequireOrganization {
    requirement: Requirement,
    path_param: Option<String>,
}

impl RequireOrganization {
    /// Any member.
    #[must_use]
    pub fn member() -> Self {
        Self {
            requirement: Requirement::Member,
            path_param: None,
        }
    }

    /// A member holding `role` (among its roles).
    #[must_use]
    pub fn role(role: &str) -> Self {
        Self {
            requirement: Requirement::Role(role.to_owned()),
            path_param: None,
        }
    }

    /// A member whose roles grant `permissions`: `[("member", &["create"])]`.
    #[must_use]
    pub fn permission(permissions: &[(&str, &[&str])]) -> Self {
        Self {
            requirement: Requirement::Permission(Permissions::of(permissions)),
            path_param: None,
        }
    }

    /// The organization is the one whose id is the path parameter `name` (`/orgs/:org/...`),
    /// not the active one.
    #[must_use]
    pub fn in_path(mut self, name: &str) -> Self {
        self.path_param = Some(name.to_owned());
        self
    }
}

impl<E: Endpoint> Middleware<E> for RequireOrganization {
    type Output = RequireOrganizationEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequireOrganizationEndpoint {
            inner,
            guard: self.clone(),
        }
    }
}

/// The endpoint [`RequireOrganization`] makes.
#[derive(Debug)]
pub struct RequireOrganizationEndpoint<E> {
    inner: E,
    guard: RequireOrganization,
}

impl<E: Endpoint> Endpoint for RequireOrganizationEndpoint<E> {
    type Output = poem::Response;

    async fn call(&self, mut request: Request) -> poem::Result<poem::Response> {
        match membership(&request, &self.guard).await {
            Ok(member) => {
                request.extensions_mut().insert(member);
                Ok(self.inner.call(request).await?.into_response())
            }
            Err(error) => Ok(error.into_response()),
        }
    }
}

impl<'a> FromRequest<'a> for OrganizationMember {
    async fn from_request(request: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        if let Some(member) = request.extensions().get::<Self>() {
            return Ok(member.clone());
        }
        Ok(membership(request, &RequireOrganization::member()).await?)
    }
}

/// The membership a guarded request stands for, or why it is refused.
async fn membership(
    request: &Request,
    guard: &RequireOrganization,
) -> Result<OrganizationMember, ApiError> {
    let Some(state) = request.data::<Arc<HttpState>>() else {
        return Err(AuthError::Internal(
            "an organization guard outside `auth_http_poem::app`".into(),
        )
        .into());
    };
    let Some(plugin) = state.plugin::<OrganizationPlugin>() else {
        return Err(AuthError::Internal("the organization plugin is off".into()).into());
    };
    crate::guard::check_origin(state, request, "")?;
    let context = match load(state, request, true).await? {
        (Some(loaded), _) => loaded.context,
        (None, _) => return Err(AuthError::Unauthorized.into()),
    };
    let in_path = guard
        .path_param
        .as_deref()
        .map(|name| request.raw_path_param(name).unwrap_or_default());
    let (organization, member) = plugin
        .orgs
        .member_of(state.auth(), &context, named(in_path, None))
        .await?;
    match &guard.requirement {
        Requirement::Member => {}
        Requirement::Role(role) if member.role.contains(role) => {}
        Requirement::Role(_) => {
            return Err(ApiError::new(
                poem::http::StatusCode::FORBIDDEN,
                "ORGANIZATION_ROLE_REQUIRED",
                "Your role in this organization does not allow this.",
            ));
        }
        Requirement::Permission(permissions)
            if plugin.orgs.permits(&member, permissions).await? => {}
        Requirement::Permission(_) => {
            return Err(ApiError::new(
                poem::http::StatusCode::FORBIDDEN,
                "ORGANIZATION_PERMISSION_REQUIRED",
                "Your roles in this organization do not grant this.",
            ));
        }
    }
    Ok(OrganizationMember {
        context,
        organization,
        member,
    })
}

#[derive(Tags)]
enum OrganizationTags {
    /// Organizations: members, roles and the active organization.
    Organization,
}

struct OrganizationApi {
    state: Arc<HttpState>,
    orgs: Organizations,
}

fn named<'a>(id: Option<&'a str>, slug: Option<&'a str>) -> OrgRef<'a> {
    OrgRef { id, slug }
}

/// A string or a list of strings, as submitted.
fn strings(value: &Value, invalid: &'static str) -> Result<Vec<String>, ApiError> {
    match value {
        Value::String(text) => Ok(vec![text.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::validation(invalid)),
        _ => Err(ApiError::validation(invalid)),
    }
}

/// Roles as submitted: a string (maybe joined by `,`) or a list of strings.
fn roles(value: &Value) -> Result<RoleList, ApiError> {
    let names = strings(value, "[body.role] Invalid input")?;
    match value {
        Value::String(text) => Ok(RoleList::parse(text)),
        _ => Ok(RoleList::from_list(
            &names.iter().map(String::as_str).collect::<Vec<_>>(),
        )),
    }
}

fn metadata_text(metadata: &BTreeMap<String, Value>) -> String {
    serde_json::to_string(metadata).unwrap_or_default()
}

#[OpenApi(tag = "OrganizationTags::Organization")]
impl OrganizationApi {
    /// Create an organization; the caller becomes its owner and, unless asked not to, it
    /// becomes the session's active organization.
    #[oai(path = "/organization/create", method = "post")]
    async fn create(
        &self,
        request: &Request,
        body: BaJson<CreateBody>,
    ) -> Result<Reply<CreatedDto>, ApiError> {
        let body = body.0;
        let loaded = require(&self.state, request).await?;
        let input = CreateOrganization {
            name: body.name,
            slug: body.slug,
            logo: body.logo,
            metadata: body.metadata.as_ref().map(metadata_text),
            keep_current_active: body.keep_current_active_organization.unwrap_or(false),
        };
        let created = self
            .orgs
            .create(self.state.auth(), &loaded.context, input)
            .await?;
        let organization = OrganizationDto::parsed(&created.organization);
        Ok(Reply::new(CreatedDto {
            id: organization.id,
            name: organization.name,
            slug: organization.slug,
            logo: organization.logo,
            created_at: organization.created_at,
            metadata: organization.metadata,
            members: created.members.iter().map(MemberDto::from).collect(),
        })
        .cookies(loaded.cookies))
    }

    /// Change an organization (needs `organization:update`).
    #[oai(path = "/organization/update", method = "post")]
    async fn update(
        &self,
        request: &Request,
        body: BaJson<UpdateBody>,
    ) -> Result<Reply<OrganizationDto>, ApiError> {
        let body = body.0;
        let loaded = require(&self.state, request).await?;
        let changes = body.data;
        let change = UpdateOrganization {
            name: changes.name,
            slug: changes.slug,
            logo: match changes.logo {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(logo) => Some(Some(logo)),
            },
            metadata: match changes.metadata {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(metadata) => Some(Some(metadata_text(&metadata))),
            },
        };
        let updated = self
            .orgs
            .update(
                self.state.auth(),
                &loaded.context,
                named(body.organization_id.as_deref(), None),
                change,
            )
            .await?;
        Ok(Reply::new(OrganizationDto::parsed(&updated)).cookies(loaded.cookies))
    }

    /// Delete an organization with its members, invitations, teams and roles (needs
    /// `organization:delete`).
    #[oai(path = "/organization/delete", method = "post")]
    async fn delete(
        &self,
        request: &Request,
        body: BaJson<OrganizationIdBody>,
    ) -> Result<Reply<OrganizationDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let deleted = self
            .orgs
            .delete(self.state.auth(), &loaded.context, &body.0.organization_id)
            .await?;
        Ok(Reply::new(OrganizationDto::stored(&deleted)).cookies(loaded.cookies))
    }

    /// Make an organization the session's active one, by id or slug; null clears it.
    #[oai(path = "/organization/set-active", method = "post")]
    async fn set_active(
        &self,
        request: &Request,
        body: BaJson<SetActiveBody>,
    ) -> Result<Reply<Option<OrganizationDto>>, ApiError> {
        let body = body.0;
        let loaded = require(&self.state, request).await?;
        let target = match (&body.organization_id, body.organization_slug.as_deref()) {
            (MaybeUndefined::Value(id), _) => Some(named(Some(id.as_str()), None)),
            (MaybeUndefined::Null, _) | (MaybeUndefined::Undefined, None) => None,
            (MaybeUndefined::Undefined, Some(slug)) => Some(named(None, Some(slug))),
        };
        let active = self
            .orgs
            .set_active(self.state.auth(), &loaded.context, target)
            .await?;
        Ok(Reply::new(active.as_ref().map(OrganizationDto::stored)).cookies(loaded.cookies))
    }

    /// An organization the caller belongs to, by id or slug, else the active one; null when
    /// neither is given and none is active.
    #[oai(path = "/organization/get-organization", method = "get")]
    async fn get_organization(
        &self,
        request: &Request,
        #[oai(name = "organizationId")] organization_id: Query<Option<String>>,
        #[oai(name = "organizationSlug")] organization_slug: Query<Option<String>>,
    ) -> Result<Reply<Option<OrganizationDto>>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let found = self
            .orgs
            .get(
                self.state.auth(),
                &loaded.context,
                named(organization_id.0.as_deref(), organization_slug.0.as_deref()),
            )
            .await?;
        Ok(Reply::new(found.as_ref().map(OrganizationDto::stored)).cookies(loaded.cookies))
    }

    /// An organization the caller belongs to (by id or slug, else the active one) with its
    /// members and invitations; null when neither is given and none is active.
    #[oai(path = "/organization/get-full-organization", method = "get")]
    async fn get_full_organization(
        &self,
        request: &Request,
        #[oai(name = "organizationId")] organization_id: Query<Option<String>>,
        #[oai(name = "organizationSlug")] organization_slug: Query<Option<String>>,
        #[oai(name = "membersLimit", validator(minimum(value = "1")))] members_limit: Query<
            Option<u64>,
        >,
    ) -> Result<Reply<Option<FullDto>>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let full = self
            .orgs
            .full(
                self.state.auth(),
                &loaded.context,
                named(organization_id.0.as_deref(), organization_slug.0.as_deref()),
                members_limit.0,
            )
            .await?;
        let body = full.map(|full| FullDto {
            organization: OrganizationDto::stored(&full.organization),
            members: full
                .members
                .iter()
                .map(|(member, user)| MemberWithUserDto::new(member, user))
                .collect(),
            invitations: full.invitations.iter().map(InvitationDto::from).collect(),
            teams: full
                .teams
                .map(|teams| teams.iter().map(TeamDto::from).collect()),
        });
        Ok(Reply::new(body).cookies(loaded.cookies))
    }

    /// The organizations the caller is a member of.
    #[oai(path = "/organization/list", method = "get")]
    async fn list(&self, request: &Request) -> Result<Reply<Vec<OrganizationDto>>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let organizations = self.orgs.list(&loaded.context).await?;
        let body = organizations.iter().map(OrganizationDto::stored).collect();
        Ok(Reply::new(body).cookies(loaded.cookies))
    }

    /// Whether a slug is free: `{"status": true}`, else `400 ORGANIZATION_SLUG_ALREADY_TAKEN`.
    #[oai(path = "/organization/check-slug", method = "post")]
    async fn check_slug(
        &self,
        request: &Request,
        body: BaJson<CheckSlugBody>,
    ) -> Result<Reply<Status>, ApiError> {
        let loaded = require(&self.state, request).await?;
        self.orgs.check_slug(&body.0.slug).await?;
        Ok(Reply::new(Status { status: true }).cookies(loaded.cookies))
    }

    /// The caller's membership of the active organization, with its user.
    #[oai(path = "/organization/get-active-member", method = "get")]
    async fn get_active_member(
        &self,
        request: &Request,
    ) -> Result<Reply<MemberWithUserDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let context = &loaded.context;
        let member = self
            .orgs
            .active_member(self.state.auth(), context, OrgRef::default())
            .await?;
        let body = MemberWithUserDto::new(&member, &context.user);
        Ok(Reply::new(body).cookies(loaded.cookies))
    }

    /// The roles of the caller (or of another member, by user id) in the active or named
    /// organization.
    #[oai(path = "/organization/get-active-member-role", method = "get")]
    async fn get_active_member_role(
        &self,
        request: &Request,
        #[oai(name = "userId")] user_id: Query<Option<String>>,
        #[oai(name = "organizationId")] organization_id: Query<Option<String>>,
        #[oai(name = "organizationSlug")] organization_slug: Query<Option<String>>,
    ) -> Result<Reply<RoleDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let user_id = user_id.0.map(UserId::new);
        let roles = self
            .orgs
            .member_role(
                self.state.auth(),
                &loaded.context,
                named(organization_id.0.as_deref(), organization_slug.0.as_deref()),
                user_id.as_ref(),
            )
            .await?;
        Ok(Reply::new(RoleDto {
            role: roles.joined(),
        })
        .cookies(loaded.cookies))
    }

    /// A page of the members of the active or named organization, with their users.
    #[oai(path = "/organization/list-members", method = "get")]
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per query parameter"
    )]
    async fn list_members(
        &self,
        request: &Request,
        #[oai(validator(minimum(value = "0")))] limit: Query<Option<u64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<u64>>,
        #[oai(name = "sortBy")] sort_by: Query<Option<String>>,
        #[oai(name = "sortDirection")] sort_direction: Query<Option<String>>,
        #[oai(name = "filterField")] filter_field: Query<Option<String>>,
        #[oai(name = "filterValue")] filter_value: Query<Option<String>>,
        #[oai(name = "filterOperator")] filter_operator: Query<Option<String>>,
        #[oai(name = "organizationId")] organization_id: Query<Option<String>>,
        #[oai(name = "organizationSlug")] organization_slug: Query<Option<String>>,
    ) -> Result<Reply<MembersDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let sort = match sort_by.0.as_deref() {
            None | Some("createdAt") => MemberSort::CreatedAt,
            Some("role") => MemberSort::Role,
            Some("userId") => MemberSort::UserId,
            Some(_) => return Err(ApiError::validation("[query.sortBy] Invalid input")),
        };
        let descending = match sort_direction.0.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(ApiError::validation("[query.sortDirection] Invalid input")),
        };
        let role = match (filter_field.0.as_deref(), filter_operator.0.as_deref()) {
            (None, _) => None,
            (Some("role"), None | Some("eq")) => filter_value.0,
            _ => return Err(ApiError::validation("[query.filterField] Invalid input")),
        };
        let query = MemberQuery {
            limit: limit.0.unwrap_or(self.orgs.config().membership_limit),
            offset: offset.0.unwrap_or(0),
            sort,
            descending,
            role,
        };
        let (members, total) = self
            .orgs
            .list_members(
                self.state.auth(),
                &loaded.context,
                named(organization_id.0.as_deref(), organization_slug.0.as_deref()),
                &query,
            )
            .await?;
        let members = members
            .iter()
            .map(|(member, user)| MemberWithUserDto::new(member, user))
            .collect();
        Ok(Reply::new(MembersDto { members, total }).cookies(loaded.cookies))
    }

    /// Remove a member, by member id or email (needs `member:delete`).
    #[oai(path = "/organization/remove-member", method = "post")]
    async fn remove_member(
        &self,
        request: &Request,
        body: BaJson<RemoveBody>,
    ) -> Result<Reply<RemovedDto>, ApiError> {
        let body = body.0;
        let loaded = require(&self.state, request).await?;
        let removed = self
            .orgs
            .remove_member(
                self.state.auth(),
                &loaded.context,
                named(body.organization_id.as_deref(), None),
                &body.member_id_or_email,
            )
            .await?;
        Ok(Reply::new(RemovedDto {
            member: MemberDto::from(&removed),
        })
        .cookies(loaded.cookies))
    }

    /// Give a member other roles (needs `member:update`; only an owner gives or takes the
    /// owner role).
    #[oai(path = "/organization/update-member-role", method = "post")]
    async fn update_member_role(
        &self,
        request: &Request,
        body: BaJson<UpdateRoleBody>,
    ) -> Result<Reply<MemberDto>, ApiError> {
        let body = body.0;
        let roles = roles(&body.role)?;
        let loaded = require(&self.state, request).await?;
        let updated = self
            .orgs
            .update_member_role(
                self.state.auth(),
                &loaded.context,
                named(body.organization_id.as_deref(), None),
                &body.member_id,
                &roles,
            )
            .await?;
        Ok(Reply::new(MemberDto::from(&updated)).cookies(loaded.cookies))
    }

    /// Leave an organization (the last owner cannot).
    #[oai(path = "/organization/leave", method = "post")]
    async fn leave(
        &self,
        request: &Request,
        body: BaJson<OrganizationIdBody>,
    ) -> Result<Reply<MemberDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let left = self
            .orgs
            .leave(self.state.auth(), &loaded.context, &body.0.organization_id)
            .await?;
        Ok(Reply::new(MemberDto::from(&left)).cookies(loaded.cookies))
    }

    /// Whether the caller's roles in the active or named organization grant every permission
    /// asked.
    #[oai(path = "/organization/has-permission", method = "post")]
    async fn has_permission(
        &self,
        request: &Request,
        body: BaJson<HasPermissionBody>,
    ) -> Result<Reply<HasPermissionDto>, ApiError> {
        let body = body.0;
        let asked = match (body.permissions, body.permission) {
            (Some(permissions), None) | (None, Some(permissions)) => Permissions(permissions),
            _ => {
                return Err(ApiError::validation(
                    "invalid permission check. you must provide exactly one of permission or permissions",
                ));
            }
        };
        let loaded = require(&self.state, request).await?;
        let success = self
            .orgs
            .has_permission(
                self.state.auth(),
                &loaded.context,
                named(body.organization_id.as_deref(), None),
                &asked,
            )
            .await?;
        Ok(Reply::new(HasPermissionDto {
            error: None,
            success,
        })
        .cookies(loaded.cookies))
    }
    /// Invite someone by email (needs `invitation:create`; only an owner invites owners). The
    /// invitee is mailed a link holding the invitation's id.
    #[oai(path = "/organization/invite-member", method = "post")]
    async fn invite_member(
        &self,
        request: &Request,
        body: BaJson<InviteBody>,
    ) -> Result<Reply<InvitationDto>, ApiError> {
        let body = body.0;
        let roles = roles(&body.role)?;
        let team_ids = match &body.team_id {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => strings(value, "[body.teamId] Invalid input")?,
        };
        let loaded = require(&self.state, request).await?;
        let invitation = self
            .orgs
            .invite(
                self.state.auth(),
                &loaded.context,
                named(body.organization_id.as_deref(), None),
                Invite {
                    email: body.email,
                    roles,
                    resend: body.resend.unwrap_or(false),
                    team_ids,
                },
            )
            .await?;
        Ok(Reply::new(InvitationDto::from(&invitation)).cookies(loaded.cookies))
    }

    /// An open invitation addressed to the caller, with its organization and inviter.
    #[oai(path = "/organization/get-invitation", method = "get")]
    async fn get_invitation(
        &self,
        request: &Request,
        id: Query<String>,
    ) -> Result<Reply<InvitationDetailsDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let details = self
            .orgs
            .get_invitation(self.state.auth(), &loaded.context, &id.0)
            .await?;
        Ok(Reply::new(InvitationDetailsDto {
            invitation: InvitationDto::from(&details.invitation),
            organization_name: details.organization.name,
            organization_slug: details.organization.slug,
            inviter_email: details.inviter_email.as_str().to_owned(),
        })
        .cookies(loaded.cookies))
    }

    /// Accept an invitation addressed to the caller: the caller joins, and the organization
    /// becomes the session's active one.
    #[oai(path = "/organization/accept-invitation", method = "post")]
    async fn accept_invitation(
        &self,
        request: &Request,
        body: BaJson<InvitationIdBody>,
    ) -> Result<Reply<AnswerDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let (invitation, member) = self
            .orgs
            .accept_invitation(self.state.auth(), &loaded.context, &body.0.invitation_id)
            .await?;
        Ok(Reply::new(AnswerDto {
            invitation: InvitationDto::from(&invitation),
            member: Some(MemberDto::from(&member)),
        })
        .cookies(loaded.cookies))
    }

    /// Decline an invitation addressed to the caller.
    #[oai(path = "/organization/reject-invitation", method = "post")]
    async fn reject_invitation(
        &self,
        request: &Request,
        body: BaJson<InvitationIdBody>,
    ) -> Result<Reply<AnswerDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let invitation = self
            .orgs
            .reject_invitation(&loaded.context, &body.0.invitation_id)
            .await?;
        Ok(Reply::new(AnswerDto {
            invitation: InvitationDto::from(&invitation),
            member: None,
        })
        .cookies(loaded.cookies))
    }

    /// Withdraw an invitation (needs `invitation:cancel`).
    #[oai(path = "/organization/cancel-invitation", method = "post")]
    async fn cancel_invitation(
        &self,
        request: &Request,
        body: BaJson<InvitationIdBody>,
    ) -> Result<Reply<InvitationDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let invitation = self
            .orgs
            .cancel_invitation(self.state.auth(), &loaded.context, &body.0.invitation_id)
            .await?;
        Ok(Reply::new(InvitationDto::from(&invitation)).cookies(loaded.cookies))
    }

    /// The invitations of the active or named organization, every status (needs
    /// `invitation:create`).
    #[oai(path = "/organization/list-invitations", method = "get")]
    async fn list_invitations(
        &self,
        request: &Request,
        #[oai(name = "organizationId")] organization_id: Query<Option<String>>,
    ) -> Result<Reply<Vec<InvitationDto>>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let invitations = self
            .orgs
            .list_invitations(
                self.state.auth(),
                &loaded.context,
                named(organization_id.0.as_deref(), None),
            )
            .await?;
        let body = invitations.iter().map(InvitationDto::from).collect();
        Ok(Reply::new(body).cookies(loaded.cookies))
    }

    /// The pending invitations addressed to the caller (whose email must be verified).
    #[oai(path = "/organization/list-user-invitations", method = "get")]
    async fn list_user_invitations(
        &self,
        request: &Request,
        email: Query<Option<String>>,
    ) -> Result<Reply<Vec<UserInvitationDto>>, ApiError> {
        if email.0.is_some() {
            return Err(ApiError::new(
                poem::http::StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "User email cannot be passed for client side API calls.",
            ));
        }
        let loaded = require(&self.state, request).await?;
        let invitations = self
            .orgs
            .list_user_invitations(self.state.auth(), &loaded.context)
            .await?;
        let body = invitations
            .iter()
            .map(|(invitation, organization)| UserInvitationDto {
                invitation: InvitationDto::from(invitation),
                organization_name: organization.name.clone(),
            })
            .collect();
        Ok(Reply::new(body).cookies(loaded.cookies))
    }
}

/// A role an organization defined for itself.
#[derive(Debug, Clone, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "OrganizationRole", rename_all = "camelCase")]
pub struct StoredRoleDto {
    /// Id.
    pub id: String,
    /// The organization.
    pub organization_id: String,
    /// Its name.
    pub role: String,
    /// What it grants: `resource -> actions`.
    pub permission: BTreeMap<String, Vec<String>>,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// ISO-8601 time of the last change.
    #[oai(nullable)]
    pub updated_at: Option<String>,
}

impl From<&StoredRole> for StoredRoleDto {
    fn from(role: &StoredRole) -> Self {
        Self {
            id: role.id.clone(),
            organization_id: role.organization_id.clone(),
            role: role.role.clone(),
            permission: role.permission.0.clone(),
            created_at: iso(role.created_at),
            updated_at: role.updated_at.map(iso),
        }
    }
}

/// `POST /organization/create-role` body.
#[derive(Debug, Object)]
#[oai(rename = "CreateRoleRequest", rename_all = "camelCase")]
struct CreateRoleBody {
    /// The organization (default: the active one).
    #[oai(nullable)]
    organization_id: Option<String>,
    /// The role's name.
    role: String,
    /// What it grants: `resource -> actions`.
    permission: BTreeMap<String, Vec<String>>,
}

/// `create-role` and `update-role`'s answer.
#[derive(Debug, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "RoleChanged", rename_all = "camelCase")]
struct RoleChangedDto {
    /// Always `true`.
    success: bool,
    /// The role as stored.
    role_data: StoredRoleDto,
    /// What it grants (`create-role` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none, nullable)]
    statements: Option<BTreeMap<String, Vec<String>>>,
}

/// A body naming one stored role, by name or id.
#[derive(Debug, Object)]
#[oai(rename = "RoleNameRequest", rename_all = "camelCase")]
struct RoleNameBody {
    /// The organization (default: the active one).
    #[oai(nullable)]
    organization_id: Option<String>,
    /// The role's name.
    #[oai(nullable)]
    role_name: Option<String>,
    /// Or its id.
    #[oai(nullable)]
    role_id: Option<String>,
}

/// The changes of `update-role`.
#[derive(Debug, Object)]
#[oai(rename = "RoleChanges", rename_all = "camelCase")]
struct RoleChanges {
    /// New permissions.
    #[oai(nullable)]
    permission: Option<BTreeMap<String, Vec<String>>>,
    /// New name.
    #[oai(nullable)]
    role_name: Option<String>,
}

/// `POST /organization/update-role` body.
#[derive(Debug, Object)]
#[oai(rename = "UpdateRoleRequest", rename_all = "camelCase")]
struct UpdateStoredRoleBody {
    /// The organization (default: the active one).
    #[oai(nullable)]
    organization_id: Option<String>,
    /// The role's name.
    #[oai(nullable)]
    role_name: Option<String>,
    /// Or its id.
    #[oai(nullable)]
    role_id: Option<String>,
    /// What changes.
    data: RoleChanges,
}

/// `{"success": true}`.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "RoleDeleted")]
struct RoleDeletedDto {
    /// Always `true`.
    success: bool,
}

/// The role a request names: `roleId` or `roleName`, exactly one.
fn role_key(name: Option<String>, id: Option<String>) -> Result<String, ApiError> {
    match (name, id) {
        (Some(key), None) | (None, Some(key)) if !key.is_empty() => Ok(key),
        _ => Err(ApiError::validation(
            "exactly one of roleName or roleId is required",
        )),
    }
}

/// The dynamic-role routes (with `AUTH_ORGANIZATION_DYNAMIC_ROLES`).
struct RoleApi {
    state: Arc<HttpState>,
    orgs: Organizations,
}

#[OpenApi(tag = "OrganizationTags::Organization")]
impl RoleApi {
    /// Define a role of the organization (needs `ac:create`; grants only what the caller's
    /// roles grant).
    #[oai(path = "/organization/create-role", method = "post")]
    async fn create_role(
        &self,
        request: &Request,
        body: BaJson<CreateRoleBody>,
    ) -> Result<Reply<RoleChangedDto>, ApiError> {
        let body = body.0;
        let loaded = require(&self.state, request).await?;
        let role = self
            .orgs
            .create_role(
                self.state.auth(),
                &loaded.context,
                named(body.organization_id.as_deref(), None),
                &body.role,
                Permissions(body.permission),
            )
            .await?;
        Ok(Reply::new(RoleChangedDto {
            success: true,
            statements: Some(role.permission.0.clone()),
            role_data: StoredRoleDto::from(&role),
        })
        .cookies(loaded.cookies))
    }

    /// Delete a role no member holds (needs `ac:delete`).
    #[oai(path = "/organization/delete-role", method = "post")]
    async fn delete_role(
        &self,
        request: &Request,
        body: BaJson<RoleNameBody>,
    ) -> Result<Reply<RoleDeletedDto>, ApiError> {
        let body = body.0;
        let key = role_key(body.role_name, body.role_id)?;
        let loaded = require(&self.state, request).await?;
        self.orgs
            .delete_role(
                self.state.auth(),
                &loaded.context,
                named(body.organization_id.as_deref(), None),
                &key,
            )
            .await?;
        Ok(Reply::new(RoleDeletedDto { success: true }).cookies(loaded.cookies))
    }

    /// The roles the organization defined (needs `ac:read`).
    #[oai(path = "/organization/list-roles", method = "get")]
    async fn list_roles(
        &self,
        request: &Request,
        #[oai(name = "organizationId")] organization_id: Query<Option<String>>,
    ) -> Result<Reply<Vec<StoredRoleDto>>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let roles = self
            .orgs
            .list_roles(
                self.state.auth(),
                &loaded.context,
                named(organization_id.0.as_deref(), None),
            )
            .await?;
        Ok(Reply::new(roles.iter().map(StoredRoleDto::from).collect()).cookies(loaded.cookies))
    }

    /// One role the organization defined, by name or id (needs `ac:read`).
    #[oai(path = "/organization/get-role", method = "get")]
    async fn get_role(
        &self,
        request: &Request,
        #[oai(name = "organizationId")] organization_id: Query<Option<String>>,
        #[oai(name = "roleName")] role_name: Query<Option<String>>,
        #[oai(name = "roleId")] role_id: Query<Option<String>>,
    ) -> Result<Reply<StoredRoleDto>, ApiError> {
        let key = role_key(role_name.0, role_id.0)?;
        let loaded = require(&self.state, request).await?;
        let role = self
            .orgs
            .get_role(
                self.state.auth(),
                &loaded.context,
                named(organization_id.0.as_deref(), None),
                &key,
            )
            .await?;
        Ok(Reply::new(StoredRoleDto::from(&role)).cookies(loaded.cookies))
    }

    /// Rename a role or change what it grants (needs `ac:update`).
    #[oai(path = "/organization/update-role", method = "post")]
    async fn update_role(
        &self,
        request: &Request,
        body: BaJson<UpdateStoredRoleBody>,
    ) -> Result<Reply<RoleChangedDto>, ApiError> {
        let body = body.0;
        let key = role_key(body.role_name, body.role_id)?;
        let loaded = require(&self.state, request).await?;
        let role = self
            .orgs
            .update_role(
                self.state.auth(),
                &loaded.context,
                named(body.organization_id.as_deref(), None),
                &key,
                RoleUpdate {
                    name: body.data.role_name,
                    permission: body.data.permission.map(Permissions),
                },
            )
            .await?;
        Ok(Reply::new(RoleChangedDto {
            success: true,
            role_data: StoredRoleDto::from(&role),
            statements: None,
        })
        .cookies(loaded.cookies))
    }
}
