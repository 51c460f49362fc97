//! Organizations (Better-Auth's organization plugin): organizations, their members and roles,
//! invitations, teams and stored (dynamic) roles, with the rules the use cases apply before
//! they change any of them. Pure: the use cases load the rows, ask these rules, then write.

pub mod access;

#[cfg(test)]
mod tests;

use time::OffsetDateTime;

pub use access::{AccessControl, RoleList};

use crate::{Permissions, UserId};

/// An organization (`organization` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Primary key.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Unique, URL-friendly name.
    pub slug: String,
    /// Logo URL.
    pub logo: Option<String>,
    /// JSON text, as Better-Auth stores it.
    pub metadata: Option<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// A user's membership of an organization (`member` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Primary key.
    pub id: String,
    /// The organization.
    pub organization_id: String,
    /// The member.
    pub user_id: UserId,
    /// Its roles (stored joined by `,`).
    pub role: RoleList,
    /// When it joined.
    pub created_at: OffsetDateTime,
}

/// Where an invitation stands (`invitation.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    /// Sent, not yet answered.
    Pending,
    /// Accepted: the invitee is a member.
    Accepted,
    /// Declined by the invitee.
    Rejected,
    /// Withdrawn by the organization (Better-Auth spells it `canceled`).
    Canceled,
}

impl InvitationStatus {
    /// The stored text.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Canceled => "canceled",
        }
    }

    /// Reads the stored text; anything else (an adopted database's own status) reads as
    /// `Canceled`, an invitation nobody can use.
    #[must_use]
    pub fn from_stored(value: &str) -> Self {
        match value {
            "pending" => Self::Pending,
            "accepted" => Self::Accepted,
            "rejected" => Self::Rejected,
            _ => Self::Canceled,
        }
    }
}

/// An invitation to join an organization (`invitation` table). Its id is the secret of the
/// invitation link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Primary key, and the link's secret.
    pub id: String,
    /// The organization.
    pub organization_id: String,
    /// The invitee's email, lower-cased.
    pub email: String,
    /// The roles the invitee will have.
    pub role: RoleList,
    /// Teams the invitee joins on accepting (stored joined by `,`).
    pub team_ids: Vec<String>,
    /// Where it stands.
    pub status: InvitationStatus,
    /// After this, it cannot be accepted.
    pub expires_at: OffsetDateTime,
    /// When it was sent.
    pub created_at: OffsetDateTime,
    /// Who sent it.
    pub inviter_id: UserId,
}

impl Invitation {
    /// Whether it can still be answered: pending and not expired.
    #[must_use]
    pub fn is_open(&self, now: OffsetDateTime) -> bool {
        self.status == InvitationStatus::Pending && now < self.expires_at
    }

    /// Whether the user with `email` may answer it: it is open (else `INVITATION_NOT_FOUND`) and
    /// addressed to that email, compared case-insensitively (else
    /// `YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION`).
    ///
    /// # Errors
    /// The refusal, as above.
    pub fn check_answer(&self, email: &str, now: OffsetDateTime) -> Result<(), OrgRefusal> {
        if !self.is_open(now) {
            return Err(OrgRefusal::InvitationNotFound);
        }
        self.check_decline(email)
    }

    /// Whether the user with `email` may decline it: it is pending, expired or not (else
    /// `INVITATION_NOT_FOUND`), and addressed to that email (else
    /// `YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION`), as Better-Auth's reject checks.
    ///
    /// # Errors
    /// The refusal, as above.
    pub fn check_decline(&self, email: &str) -> Result<(), OrgRefusal> {
        if self.status != InvitationStatus::Pending {
            return Err(OrgRefusal::InvitationNotFound);
        }
        if !self.email.eq_ignore_ascii_case(email.trim()) {
            return Err(OrgRefusal::NotTheRecipient);
        }
        Ok(())
    }
}

/// A team of an organization (`team` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// Primary key.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The organization.
    pub organization_id: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last update.
    pub updated_at: Option<OffsetDateTime>,
}

/// A user's membership of a team (`teamMember` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    /// Primary key.
    pub id: String,
    /// The team.
    pub team_id: String,
    /// The member.
    pub user_id: UserId,
    /// When it joined.
    pub created_at: Option<OffsetDateTime>,
}

/// A role an organization defined for itself (`organizationRole` table, dynamic access
/// control).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRole {
    /// Primary key.
    pub id: String,
    /// The organization.
    pub organization_id: String,
    /// Its name.
    pub role: String,
    /// What it grants (stored as JSON text).
    pub permission: Permissions,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last update.
    pub updated_at: Option<OffsetDateTime>,
}

/// Why a change to an organization is refused, with Better-Auth's code, message and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgRefusal {
    /// `403 YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_ORGANIZATION`.
    NotAllowedToCreate,
    /// `403 YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS`.
    OrganizationLimit,
    /// `400 ORGANIZATION_ALREADY_EXISTS` (slug taken on create).
    AlreadyExists,
    /// `400 ORGANIZATION_SLUG_ALREADY_TAKEN`.
    SlugTaken,
    /// `400 ORGANIZATION_NOT_FOUND`.
    NotFound,
    /// `400 NO_ACTIVE_ORGANIZATION`.
    NoActiveOrganization,
    /// `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION`, with the status the route answers.
    NotAMember(u16),
    /// `403 YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION`.
    NotAllowedToUpdate,
    /// `403 YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION`.
    NotAllowedToDelete,
    /// `404 ORGANIZATION_DELETION_DISABLED`.
    DeletionDisabled,
    /// `400 USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION`.
    AlreadyAMember,
    /// `400 MEMBER_NOT_FOUND`.
    MemberNotFound,
    /// `400 ROLE_NOT_FOUND`, naming the unknown roles when there are any.
    RoleNotFound(Vec<String>),
    /// `400 YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER`.
    OnlyOwner,
    /// `400 YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER`.
    WithoutAnOwner,
    /// `401 YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER`.
    NotAllowedToDeleteMember,
    /// `403 YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER`.
    NotAllowedToUpdateMember,
    /// `403 YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION`.
    NotAllowedToInvite,
    /// `403 YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE`.
    NotAllowedToInviteWithRole,
    /// `400 USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION`.
    AlreadyInvited,
    /// `400 INVITATION_NOT_FOUND`.
    InvitationNotFound,
    /// `403 YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION`.
    NotTheRecipient,
    /// `403 YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION`.
    NotAllowedToCancel,
    /// `403 INVITATION_LIMIT_REACHED`.
    InvitationLimit,
    /// `403 ORGANIZATION_MEMBERSHIP_LIMIT_REACHED`.
    MembershipLimit,
    /// `403 YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS`.
    NotAllowedToListInvitations,
    /// `403 EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION`.
    EmailVerificationRequired,
    /// `403 EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION`.
    EmailVerificationRequiredToAnswer,
    /// `400 INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION`.
    InviterGone,
    /// `403 YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION` (member lists and roles).
    NotAMemberHere,
    /// `403 YOU_ARE_NOT_ALLOWED_TO_<ACTION>_A_ROLE` (dynamic roles).
    RoleForbidden(RoleAction),
    /// `400 TOO_MANY_ROLES`.
    TooManyRoles,
    /// `400 INVALID_RESOURCE`.
    InvalidResource,
    /// `400 ROLE_NAME_IS_ALREADY_TAKEN`.
    RoleNameTaken,
    /// `400 CANNOT_DELETE_A_PRE_DEFINED_ROLE`.
    PredefinedRole,
    /// `400 ROLE_IS_ASSIGNED_TO_MEMBERS`.
    RoleAssigned,
    /// `400 TEAM_NOT_FOUND`.
    TeamNotFound,
    /// `400 INVALID_TEAM_ID` (an id holding `,`, the separator of `invitation.teamId`).
    InvalidTeamId,
    /// `400 YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_TEAMS`.
    TeamLimit,
    /// `400 UNABLE_TO_REMOVE_LAST_TEAM`.
    LastTeam,
    /// `403 TEAM_MEMBER_LIMIT_REACHED`.
    TeamMemberLimit,
    /// `USER_IS_NOT_A_MEMBER_OF_THE_TEAM`, with the status the route answers.
    NotInTeam(u16),
    /// `400 YOU_DO_NOT_HAVE_AN_ACTIVE_TEAM`.
    NoActiveTeam,
    /// `403 YOU_ARE_NOT_ALLOWED_TO_ACCESS_THIS_ORGANIZATION` (listing teams as a non-member).
    NotAllowedToAccess,
    /// `403` refusals of team changes, by what was asked.
    TeamForbidden(TeamAction),
}

/// What is done to a team, for its refusal code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamAction {
    /// `create-team` (`team:create`).
    Create,
    /// `update-team` (`team:update`).
    Update,
    /// `remove-team` (`team:delete`).
    Delete,
    /// `remove-team` of the caller's own active team, or by a non-member.
    DeleteThis,
    /// `add-team-member` (`member:update`).
    AddMember,
    /// `remove-team-member` (`member:delete`).
    RemoveMember,
}

/// What is done to a stored role, for its refusal code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleAction {
    /// `create-role`.
    Create,
    /// `update-role`.
    Update,
    /// `delete-role`.
    Delete,
    /// `get-role`.
    Read,
    /// `list-roles`.
    List,
}

impl OrgRefusal {
    /// Better-Auth's code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    /// The message clients see (`ROLE_NOT_FOUND: <names>` when roles are named).
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::RoleNotFound(names) if !names.is_empty() => {
                format!("ROLE_NOT_FOUND: {}", names.join(", "))
            }
            _ => self.parts().2.to_owned(),
        }
    }

    /// The HTTP status Better-Auth answers it with.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.parts().0
    }

    fn parts(&self) -> (u16, &'static str, &'static str) {
        match self {
            Self::NotAllowedToCreate => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_ORGANIZATION",
                "You are not allowed to create a new organization",
            ),
            Self::OrganizationLimit => (
                403,
                "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS",
                "You have reached the maximum number of organizations",
            ),
            Self::AlreadyExists => (
                400,
                "ORGANIZATION_ALREADY_EXISTS",
                "Organization already exists",
            ),
            Self::SlugTaken => (
                400,
                "ORGANIZATION_SLUG_ALREADY_TAKEN",
                "Organization slug already taken",
            ),
            Self::NotFound => (400, "ORGANIZATION_NOT_FOUND", "Organization not found"),
            Self::NoActiveOrganization => (400, "NO_ACTIVE_ORGANIZATION", "No active organization"),
            Self::NotAMember(status) => (
                *status,
                "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION",
                "User is not a member of the organization",
            ),
            Self::NotAllowedToUpdate => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION",
                "You are not allowed to update this organization",
            ),
            Self::NotAllowedToDelete => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION",
                "You are not allowed to delete this organization",
            ),
            Self::DeletionDisabled => (
                404,
                "ORGANIZATION_DELETION_DISABLED",
                "Organization deletion is disabled",
            ),
            Self::AlreadyAMember => (
                400,
                "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION",
                "User is already a member of this organization",
            ),
            Self::MemberNotFound => (400, "MEMBER_NOT_FOUND", "Member not found"),
            Self::RoleNotFound(_) => (400, "ROLE_NOT_FOUND", "Role not found"),
            Self::OnlyOwner => (
                400,
                "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER",
                "You cannot leave the organization as the only owner",
            ),
            Self::WithoutAnOwner => (
                400,
                "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER",
                "You cannot leave the organization without an owner",
            ),
            Self::NotAllowedToDeleteMember => (
                401,
                "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER",
                "You are not allowed to delete this member",
            ),
            Self::NotAllowedToUpdateMember => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER",
                "You are not allowed to update this member",
            ),
            Self::NotAllowedToInvite => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION",
                "You are not allowed to invite users to this organization",
            ),
            Self::NotAllowedToInviteWithRole => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE",
                "You are not allowed to invite a user with this role",
            ),
            Self::AlreadyInvited => (
                400,
                "USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION",
                "User is already invited to this organization",
            ),
            Self::InvitationNotFound => (400, "INVITATION_NOT_FOUND", "Invitation not found"),
            Self::NotTheRecipient => (
                403,
                "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION",
                "You are not the recipient of the invitation",
            ),
            Self::NotAllowedToCancel => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION",
                "You are not allowed to cancel this invitation",
            ),
            Self::InvitationLimit => (403, "INVITATION_LIMIT_REACHED", "Invitation limit reached"),
            Self::MembershipLimit => (
                403,
                "ORGANIZATION_MEMBERSHIP_LIMIT_REACHED",
                "Organization membership limit reached",
            ),
            Self::NotAllowedToListInvitations => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS",
                "You are not allowed to list invitations for this organization",
            ),
            Self::EmailVerificationRequired => (
                403,
                "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION",
                "Email verification required to view or list invitations for the session email",
            ),
            Self::RoleForbidden(RoleAction::Create) => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_ROLE",
                "You are not allowed to create a role",
            ),
            Self::RoleForbidden(RoleAction::Update) => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_UPDATE_A_ROLE",
                "You are not allowed to update a role",
            ),
            Self::RoleForbidden(RoleAction::Delete) => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_DELETE_A_ROLE",
                "You are not allowed to delete a role",
            ),
            Self::RoleForbidden(RoleAction::Read) => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_READ_A_ROLE",
                "You are not allowed to read a role",
            ),
            Self::RoleForbidden(RoleAction::List) => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_LIST_A_ROLE",
                "You are not allowed to list a role",
            ),
            Self::TooManyRoles => (
                400,
                "TOO_MANY_ROLES",
                "This organization has too many roles",
            ),
            Self::InvalidResource => (
                400,
                "INVALID_RESOURCE",
                "The provided permission includes an invalid resource",
            ),
            Self::RoleNameTaken => (
                400,
                "ROLE_NAME_IS_ALREADY_TAKEN",
                "That role name is already taken",
            ),
            Self::PredefinedRole => (
                400,
                "CANNOT_DELETE_A_PRE_DEFINED_ROLE",
                "Cannot delete a pre-defined role",
            ),
            Self::RoleAssigned => (
                400,
                "ROLE_IS_ASSIGNED_TO_MEMBERS",
                "Cannot delete a role that is assigned to members. Please reassign the members to a different role first",
            ),
            Self::NotAMemberHere => (
                403,
                "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION",
                "You are not a member of this organization",
            ),
            Self::EmailVerificationRequiredToAnswer => (
                403,
                "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION",
                "Email verification required before accepting or rejecting invitation",
            ),
            Self::InviterGone => (
                400,
                "INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION",
                "Inviter is no longer a member of the organization",
            ),
            Self::TeamNotFound => (400, "TEAM_NOT_FOUND", "Team not found"),
            Self::InvalidTeamId => (
                400,
                "INVALID_TEAM_ID",
                "Team id contains a reserved character",
            ),
            Self::TeamLimit => (
                400,
                "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_TEAMS",
                "You have reached the maximum number of teams",
            ),
            Self::LastTeam => (
                400,
                "UNABLE_TO_REMOVE_LAST_TEAM",
                "Unable to remove last team",
            ),
            Self::TeamMemberLimit => (
                403,
                "TEAM_MEMBER_LIMIT_REACHED",
                "Team member limit reached",
            ),
            Self::NotInTeam(status) => (
                *status,
                "USER_IS_NOT_A_MEMBER_OF_THE_TEAM",
                "User is not a member of the team",
            ),
            Self::NoActiveTeam => (
                400,
                "YOU_DO_NOT_HAVE_AN_ACTIVE_TEAM",
                "You do not have an active team",
            ),
            Self::NotAllowedToAccess => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_ACCESS_THIS_ORGANIZATION",
                "You are not allowed to access this organization as an owner",
            ),
            Self::TeamForbidden(action) => action.refusal(),
        }
    }
}

impl TeamAction {
    fn refusal(self) -> (u16, &'static str, &'static str) {
        match self {
            Self::Create => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_CREATE_TEAMS_IN_THIS_ORGANIZATION",
                "You are not allowed to create teams in this organization",
            ),
            Self::Update => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_TEAM",
                "You are not allowed to update this team",
            ),
            Self::Delete => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_DELETE_TEAMS_IN_THIS_ORGANIZATION",
                "You are not allowed to delete teams in this organization",
            ),
            Self::DeleteThis => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_TEAM",
                "You are not allowed to delete this team",
            ),
            Self::AddMember => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_TEAM_MEMBER",
                "You are not allowed to create a new member",
            ),
            Self::RemoveMember => (
                403,
                "YOU_ARE_NOT_ALLOWED_TO_REMOVE_A_TEAM_MEMBER",
                "You are not allowed to remove a team member",
            ),
        }
    }
}

/// The roles a member may give in an invitation: at least one (`ROLE_NOT_FOUND`), each known
/// to `ac` (`ROLE_NOT_FOUND: <names>`), and the creator role only from a holder of it
/// (`YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE`).
///
/// # Errors
/// The refusal, as above.
pub fn check_invited_roles(
    ac: &AccessControl,
    inviter: &RoleList,
    invited: &RoleList,
) -> Result<(), OrgRefusal> {
    if invited.is_empty() {
        return Err(OrgRefusal::RoleNotFound(Vec::new()));
    }
    let unknown = ac.unknown(invited);
    if !unknown.is_empty() {
        return Err(OrgRefusal::RoleNotFound(
            unknown.into_iter().map(str::to_owned).collect(),
        ));
    }
    if ac.is_creator(invited) && !ac.is_creator(inviter) {
        return Err(OrgRefusal::NotAllowedToInviteWithRole);
    }
    Ok(())
}

/// Whether `updater` may give `target` the roles `roles`, in Better-Auth's order: the target
/// must be of the same organization; only a creator may change a creator's roles or give the
/// creator role; the last creator may not drop it; the updater needs `member:update` (a creator
/// holds it); every role must be known. `creators` counts the organization's members holding
/// the creator role.
///
/// # Errors
/// The refusal, as above.
pub fn check_role_update(
    ac: &AccessControl,
    updater: &Member,
    target: &Member,
    roles: &RoleList,
    creators: usize,
) -> Result<(), OrgRefusal> {
    if roles.is_empty() {
        return Err(OrgRefusal::RoleNotFound(Vec::new()));
    }
    if target.organization_id != updater.organization_id {
        return Err(OrgRefusal::NotAllowedToUpdateMember);
    }
    let updater_is_creator = ac.is_creator(&updater.role);
    if (ac.is_creator(&target.role) || ac.is_creator(roles)) && !updater_is_creator {
        return Err(OrgRefusal::NotAllowedToUpdateMember);
    }
    if updater_is_creator && updater.id == target.id && creators <= 1 && !ac.is_creator(roles) {
        return Err(OrgRefusal::WithoutAnOwner);
    }
    let update = Permissions::of(&[("member", &["update"])]);
    if !ac.authorize_creator_all(&updater.role, &update) {
        return Err(OrgRefusal::NotAllowedToUpdateMember);
    }
    let unknown = ac.unknown(roles);
    if !unknown.is_empty() {
        return Err(OrgRefusal::RoleNotFound(
            unknown.into_iter().map(str::to_owned).collect(),
        ));
    }
    Ok(())
}

/// Whether `remover` may remove `target`, in Better-Auth's order: a creator is removed only by
/// a creator, and never the last one (`YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER`);
/// the remover needs `member:delete` (`401`); the target must be of the same organization.
///
/// # Errors
/// The refusal, as above.
pub fn check_removal(
    ac: &AccessControl,
    remover: &Member,
    target: &Member,
    creators: usize,
) -> Result<(), OrgRefusal> {
    if ac.is_creator(&target.role) && (!ac.is_creator(&remover.role) || creators <= 1) {
        return Err(OrgRefusal::OnlyOwner);
    }
    let delete = Permissions::of(&[("member", &["delete"])]);
    if !ac.authorize(&remover.role, &delete) {
        return Err(OrgRefusal::NotAllowedToDeleteMember);
    }
    if target.organization_id != remover.organization_id {
        return Err(OrgRefusal::MemberNotFound);
    }
    Ok(())
}

/// Whether `member` may leave: the last creator may not.
///
/// # Errors
/// `YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER`.
pub fn check_leave(ac: &AccessControl, member: &Member, creators: usize) -> Result<(), OrgRefusal> {
    if ac.is_creator(&member.role) && creators <= 1 {
        return Err(OrgRefusal::OnlyOwner);
    }
    Ok(())
}
