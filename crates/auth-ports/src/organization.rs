//! Organizations, their members, invitations and stored roles (the organization plugin's
//! `organization`, `member`, `invitation` and `organizationRole` tables).

use auth_domain::organization::{
    Invitation, InvitationStatus, Member, Organization, RoleList, StoredRole, Team, TeamMember,
};
use auth_domain::{User, UserId};
use time::OffsetDateTime;

use crate::PortError;

/// How to page, sort and filter an organization's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberQuery {
    /// Most members returned.
    pub limit: u64,
    /// Members skipped first.
    pub offset: u64,
    /// Sort order (ties broken by member id).
    pub sort: MemberSort,
    /// Newest (or last in the order) first.
    pub descending: bool,
    /// Only members whose stored role is exactly this (Better-Auth's `filterField=role`).
    pub role: Option<String>,
}

impl Default for MemberQuery {
    fn default() -> Self {
        Self {
            limit: 100,
            offset: 0,
            sort: MemberSort::CreatedAt,
            descending: false,
            role: None,
        }
    }
}

/// A member field to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberSort {
    /// When it joined.
    CreatedAt,
    /// Its role string.
    Role,
    /// Its user id.
    UserId,
}

/// What [`OrganizationRepo::add_member`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberAdded {
    /// The member was added.
    Added,
    /// The organization already had as many members as the limit allows; nothing was written.
    LimitReached,
}

/// The `organization` and `member` tables. External implementations must pass
/// `auth_testkit::conformance::run_organization_suite`.
#[async_trait::async_trait]
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait OrganizationRepo: Send + Sync {
    /// Stores a new organization and its first member, its creator, in one transaction.
    ///
    /// # Errors
    /// MUST return `PortError::Conflict` if the id or the slug is taken; nothing is written then.
    async fn create(&self, organization: &Organization, creator: &Member) -> Result<(), PortError>;

    /// The organization with this id.
    async fn find(&self, id: &str) -> Result<Option<Organization>, PortError>;

    /// The organization with this slug.
    async fn find_by_slug(&self, slug: &str) -> Result<Option<Organization>, PortError>;

    /// Writes an organization's name, slug, logo and metadata.
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if it does not exist and `PortError::Conflict` if the
    /// new slug is another organization's.
    async fn update(&self, organization: &Organization) -> Result<(), PortError>;

    /// Deletes an organization with everything that belongs to it (members, invitations, teams,
    /// roles) and returns the users who were its members, in one transaction.
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if it does not exist.
    async fn delete(&self, id: &str) -> Result<Vec<UserId>, PortError>;

    /// The organizations `user_id` is a member of, oldest first.
    async fn list_for_user(&self, user_id: &UserId) -> Result<Vec<Organization>, PortError>;

    /// How many organizations `user_id` is a member of.
    async fn count_for_user(&self, user_id: &UserId) -> Result<u64, PortError>;

    /// The membership of `user_id` in the organization.
    async fn find_member(
        &self,
        organization_id: &str,
        user_id: &UserId,
    ) -> Result<Option<Member>, PortError>;

    /// The membership with this id.
    async fn find_member_by_id(&self, id: &str) -> Result<Option<Member>, PortError>;

    /// A page of an organization's members with their users, and how many match in all.
    async fn list_members(
        &self,
        organization_id: &str,
        query: &MemberQuery,
    ) -> Result<(Vec<(Member, User)>, u64), PortError>;

    /// The organization's members holding `role` (the creator count the last-owner rules need).
    async fn count_with_role(&self, organization_id: &str, role: &str) -> Result<u64, PortError>;

    /// Adds a member unless the organization has `limit` members already. The count and the
    /// insert are atomic: concurrent additions, from any number of connections or processes,
    /// never take it past the limit.
    ///
    /// # Errors
    /// MUST return `PortError::Conflict` if the user is a member already (whether or not the
    /// organization is full), and
    /// `PortError::NotFound` if the organization does not exist; nothing is written then.
    async fn add_member(&self, member: &Member, limit: u64) -> Result<MemberAdded, PortError>;

    /// Gives a member `to` instead of `from`, under the organization's lock: refused, with
    /// nothing written, when its roles are no longer `from` (changed meanwhile) or when no
    /// member would hold `keep` afterwards (the creator role an organization never loses).
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if the member does not exist.
    async fn change_member_role(
        &self,
        id: &str,
        from: &RoleList,
        to: &RoleList,
        keep: &str,
    ) -> Result<MemberChange, PortError>;

    /// Removes a membership (and the member's team seats in that organization) under the
    /// organization's lock, unless no member would hold `keep` afterwards.
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if it does not exist.
    async fn remove_member(&self, id: &str, keep: &str) -> Result<MemberChange, PortError>;
}

/// What a guarded change of a membership did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// Written.
    Done,
    /// The member's roles changed since they were read; nothing was written.
    Changed,
    /// It would leave no member holding the kept role; nothing was written.
    LastHolder,
}

/// What [`InvitationRepo::create_invitation`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invited {
    /// The invitation was stored.
    Created,
    /// The organization already had as many pending invitations as the limit allows; nothing
    /// was written.
    LimitReached,
}

/// What [`InvitationRepo::accept_invitation`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// The invitation went from pending to accepted and the member was added, together.
    Accepted,
    /// The invitation was not pending (answered, by a concurrent request too) or had expired;
    /// nothing was written.
    NotPending,
    /// The organization was full; nothing was written.
    LimitReached,
    /// The user was a member already; the invitation is accepted, no member was added.
    AlreadyMember,
}

/// The `invitation` table. External implementations must pass
/// `auth_testkit::conformance::run_organization_suite`.
#[async_trait::async_trait]
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait InvitationRepo: Send + Sync {
    /// Stores a new invitation unless its organization has `pending_limit` pending invitations
    /// already. The count and the insert are atomic, as for [`OrganizationRepo::add_member`].
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if the organization does not exist, and
    /// `PortError::Conflict` if it has a pending invitation of the same email (checked under
    /// the same lock, so concurrent invitations of one email make one).
    async fn create_invitation(
        &self,
        invitation: &Invitation,
        pending_limit: u64,
    ) -> Result<Invited, PortError>;

    /// The invitation with this id.
    async fn find_invitation(&self, id: &str) -> Result<Option<Invitation>, PortError>;

    /// The organization's pending invitation of `email` (lower-case), if any.
    async fn pending_invitation(
        &self,
        organization_id: &str,
        email: &str,
    ) -> Result<Option<Invitation>, PortError>;

    /// Every invitation of an organization, whatever its status, oldest first.
    async fn list_invitations(&self, organization_id: &str) -> Result<Vec<Invitation>, PortError>;

    /// The pending invitations of `email` (lower-case) with their organizations, oldest first.
    async fn list_user_invitations(
        &self,
        email: &str,
    ) -> Result<Vec<(Invitation, Organization)>, PortError>;

    /// Moves an invitation's expiry (a resend).
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if it does not exist.
    async fn extend_invitation(
        &self,
        id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), PortError>;

    /// Sets a pending invitation's status, only if it is still pending (compare-and-set):
    /// `true` when this call changed it.
    async fn close_invitation(&self, id: &str, status: InvitationStatus)
    -> Result<bool, PortError>;

    /// Accepts a pending, unexpired invitation and adds `member` (unless the organization has
    /// `membership_limit` members), in one transaction: of concurrent accepts of one invitation,
    /// exactly one is `Accepted`.
    async fn accept_invitation(
        &self,
        id: &str,
        member: &Member,
        membership_limit: u64,
        now: OffsetDateTime,
    ) -> Result<Accepted, PortError>;
}

/// What [`RoleRepo::delete_role`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleDeleted {
    /// The role is gone.
    Deleted,
    /// A member holds it; nothing was written.
    Assigned,
}

/// The `organizationRole` table: roles an organization defines for itself (dynamic access
/// control). External implementations must pass
/// `auth_testkit::conformance::run_organization_suite`.
#[async_trait::async_trait]
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait RoleRepo: Send + Sync {
    /// Stores a new role.
    ///
    /// # Errors
    /// MUST return `PortError::Conflict` if the organization has a role of that name (or the id
    /// is taken), and `PortError::NotFound` if the organization does not exist.
    async fn create_role(&self, role: &StoredRole) -> Result<(), PortError>;

    /// The organization's role with this id, or else with this name.
    async fn find_role(
        &self,
        organization_id: &str,
        id_or_name: &str,
    ) -> Result<Option<StoredRole>, PortError>;

    /// Every role of an organization, by name.
    async fn list_roles(&self, organization_id: &str) -> Result<Vec<StoredRole>, PortError>;

    /// Writes a role's name, permissions and `updatedAt`.
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if it does not exist and `PortError::Conflict` if the
    /// new name is another role's of the organization.
    async fn update_role(&self, role: &StoredRole) -> Result<(), PortError>;

    /// Deletes a role unless a member of its organization holds it, under the organization's
    /// lock (no member can be given it meanwhile).
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if it does not exist.
    async fn delete_role(&self, id: &str) -> Result<RoleDeleted, PortError>;
}

/// What [`TeamRepo::delete_team`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamDeleted {
    /// The team is gone.
    Deleted,
    /// It is its organization's last team; nothing was written.
    LastTeam,
}

/// The `team` and `teamMember` tables. External implementations must pass
/// `auth_testkit::conformance::run_organization_suite`.
#[async_trait::async_trait]
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait TeamRepo: Send + Sync {
    /// Stores a new team unless its organization has `limit` teams already (counted and
    /// inserted under the organization's lock).
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if the organization does not exist.
    async fn create_team(&self, team: &Team, limit: u64) -> Result<MemberAdded, PortError>;

    /// The organization's team with this id.
    async fn find_team(&self, organization_id: &str, id: &str) -> Result<Option<Team>, PortError>;

    /// The team with this id, whatever its organization.
    async fn team_by_id(&self, id: &str) -> Result<Option<Team>, PortError>;

    /// Every team of an organization, oldest first.
    async fn list_teams(&self, organization_id: &str) -> Result<Vec<Team>, PortError>;

    /// Writes a team's name and `updatedAt`.
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if it does not exist.
    async fn update_team(&self, team: &Team) -> Result<(), PortError>;

    /// Deletes a team with its members and takes it out of its organization's pending
    /// invitations, unless `keep_one` and it is its organization's last team (checked under the
    /// organization's lock, so concurrent deletions leave one).
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if it does not exist.
    async fn delete_team(&self, id: &str, keep_one: bool) -> Result<TeamDeleted, PortError>;

    /// Adds a user to a team unless it has `limit` members already (counted and inserted
    /// under the team's organization's lock).
    ///
    /// # Errors
    /// MUST return `PortError::Conflict` if the user is in the team already and
    /// `PortError::NotFound` if the team does not exist.
    async fn add_team_member(
        &self,
        member: &TeamMember,
        limit: u64,
    ) -> Result<MemberAdded, PortError>;

    /// A user's membership of a team.
    async fn find_team_member(
        &self,
        team_id: &str,
        user_id: &UserId,
    ) -> Result<Option<TeamMember>, PortError>;

    /// Takes a user out of a team: `true` when they were in it.
    async fn remove_team_member(&self, team_id: &str, user_id: &UserId) -> Result<bool, PortError>;

    /// A team's members, oldest first.
    async fn list_team_members(&self, team_id: &str) -> Result<Vec<TeamMember>, PortError>;

    /// The teams of an organization `user_id` is in, oldest first.
    async fn list_user_teams(
        &self,
        organization_id: &str,
        user_id: &UserId,
    ) -> Result<Vec<Team>, PortError>;
}
