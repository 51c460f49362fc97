//! Teams (Better-Auth's `teams` option): groups of an organization's members, an active team
//! per session, seats given on accepting an invitation, and limits on teams and seats.

use auth_domain::organization::{Member, OrgRefusal, Team, TeamAction, TeamMember};
use auth_domain::{FieldValue, Fields, Permissions, Session, UserId};
use auth_ports::{MemberAdded, PortError, TeamDeleted, TeamRepo};

use super::{OrgRef, Organizations, check_name, clean, refused};
use crate::{Auth, AuthContext, AuthError};

/// The session field that holds the active team.
pub const ACTIVE_TEAM: &str = "activeTeamId";

/// Most teams one invitation may name.
const MAX_INVITED_TEAMS: usize = 100;

/// The teams' settings (Better-Auth's `teams` options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamConfig {
    /// Most teams of one organization (`maximumTeams`; none by default).
    pub maximum_teams: Option<u64>,
    /// Most members of one team (`maximumMembersPerTeam`; none by default).
    pub maximum_members_per_team: Option<u64>,
    /// An organization's last team may be removed (`allowRemovingAllTeams`).
    pub allow_removing_all_teams: bool,
    /// A new organization gets a team of its name with its creator in it (`defaultTeam`).
    pub default_team: bool,
}

impl Default for TeamConfig {
    fn default() -> Self {
        Self {
            maximum_teams: None,
            maximum_members_per_team: None,
            allow_removing_all_teams: false,
            default_team: true,
        }
    }
}

/// The team store with its settings.
pub(super) struct TeamSetup {
    pub(super) repo: std::sync::Arc<dyn TeamRepo>,
    pub(super) config: TeamConfig,
}

impl std::fmt::Debug for TeamSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeamSetup")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Which team a request names: `Keep` the active one (no `teamId`), `Clear` it (`null`), or
/// make `Set` the active one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveTeam<'a> {
    /// No `teamId`: answer the active team, if any.
    Keep,
    /// `teamId: null`: no active team.
    Clear,
    /// Make this team the active one.
    Set(&'a str),
}

fn seats(limit: Option<u64>) -> u64 {
    limit.unwrap_or(u64::MAX)
}

impl Organizations {
    /// The same use cases with teams, stored in `repo`.
    #[must_use]
    pub fn with_teams(mut self, repo: std::sync::Arc<dyn TeamRepo>, config: TeamConfig) -> Self {
        self.teams = Some(std::sync::Arc::new(TeamSetup { repo, config }));
        self
    }

    /// Whether teams are on ([`Self::with_teams`]).
    #[must_use]
    pub fn teams_enabled(&self) -> bool {
        self.teams.is_some()
    }

    fn team_setup(&self) -> Result<&TeamSetup, AuthError> {
        self.teams
            .as_deref()
            .ok_or_else(|| AuthError::Internal("teams are off for these use cases".into()))
    }

    /// The session's active team id, if any.
    #[must_use]
    pub fn active_team_id(session: &Session) -> Option<&str> {
        match session.fields.get(ACTIVE_TEAM) {
            Some(FieldValue::Text(id)) if !id.is_empty() => Some(id),
            _ => None,
        }
    }

    /// The organization's team with this id (`TEAM_NOT_FOUND` when there is none).
    async fn team_in(&self, organization_id: &str, team_id: &str) -> Result<Team, AuthError> {
        let setup = self.team_setup()?;
        if !clean(team_id) {
            return refused(OrgRefusal::TeamNotFound);
        }
        match setup.repo.find_team(organization_id, team_id).await? {
            Some(team) => Ok(team),
            None => refused(OrgRefusal::TeamNotFound),
        }
    }

    /// The caller's membership of the organization a team request names (or the active one),
    /// refused with `not_a_member` when the caller is not a member.
    async fn team_membership(
        &self,
        auth: &Auth,
        context: &AuthContext,
        organization_id: Option<&str>,
        not_a_member: OrgRefusal,
    ) -> Result<Member, AuthError> {
        self.team_setup()?;
        let named = OrgRef {
            id: organization_id,
            slug: None,
        };
        Ok(self
            .required_membership(auth, context, named, not_a_member)
            .await?
            .1)
    }

    /// Refuses `refusal` unless `member`'s roles grant `resource:action`.
    async fn require(
        &self,
        member: &Member,
        resource: &str,
        action: &str,
        refusal: OrgRefusal,
    ) -> Result<(), AuthError> {
        if self
            .permits(member, &Permissions::of(&[(resource, &[action])]))
            .await?
        {
            Ok(())
        } else {
            refused(refusal)
        }
    }

    /// Creates a team in the caller's organization (the caller needs `team:create`).
    ///
    /// # Errors
    /// `NO_ACTIVE_ORGANIZATION`, `ORGANIZATION_NOT_FOUND`,
    /// `YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION` (a non-member, as Better-Auth
    /// answers), `YOU_ARE_NOT_ALLOWED_TO_CREATE_TEAMS_IN_THIS_ORGANIZATION`,
    /// `YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_TEAMS`, `VALIDATION_ERROR`, `Unavailable`.
    pub async fn create_team(
        &self,
        auth: &Auth,
        context: &AuthContext,
        organization_id: Option<&str>,
        name: &str,
    ) -> Result<Team, AuthError> {
        check_name("name", name, false)?;
        let member = self
            .team_membership(
                auth,
                context,
                organization_id,
                OrgRefusal::NotAllowedToInvite,
            )
            .await?;
        self.require(
            &member,
            "team",
            "create",
            OrgRefusal::TeamForbidden(TeamAction::Create),
        )
        .await?;
        self.new_team(auth, &member.organization_id, name).await
    }

    /// Stores a new team of an organization within the team limit.
    async fn new_team(
        &self,
        auth: &Auth,
        organization_id: &str,
        name: &str,
    ) -> Result<Team, AuthError> {
        let setup = self.team_setup()?;
        let now = auth.now();
        let team = Team {
            id: auth.new_id(),
            name: name.to_owned(),
            organization_id: organization_id.to_owned(),
            created_at: now,
            updated_at: Some(now),
        };
        match setup
            .repo
            .create_team(&team, seats(setup.config.maximum_teams))
            .await
        {
            Ok(MemberAdded::Added) => Ok(team),
            Ok(MemberAdded::LimitReached) => refused(OrgRefusal::TeamLimit),
            Err(PortError::NotFound) => refused(OrgRefusal::NotFound),
            Err(error) => Err(error.into()),
        }
    }

    /// A new organization's default team, with its creator in it: answers the team.
    pub(super) async fn default_team(
        &self,
        auth: &Auth,
        organization_id: &str,
        name: &str,
        creator: &UserId,
    ) -> Result<Option<Team>, AuthError> {
        match &self.teams {
            Some(setup) if setup.config.default_team => {}
            _ => return Ok(None),
        }
        let team = self.new_team(auth, organization_id, name).await?;
        self.seat(auth, &team, creator).await?;
        Ok(Some(team))
    }

    /// Gives `user_id` a seat in `team` within the seat limit; an existing seat is answered
    /// as it is.
    async fn seat(
        &self,
        auth: &Auth,
        team: &Team,
        user_id: &UserId,
    ) -> Result<TeamMember, AuthError> {
        let setup = self.team_setup()?;
        let seat = TeamMember {
            id: auth.new_id(),
            team_id: team.id.clone(),
            user_id: user_id.clone(),
            created_at: Some(auth.now()),
        };
        let limit = seats(setup.config.maximum_members_per_team);
        match setup.repo.add_team_member(&seat, limit).await {
            Ok(MemberAdded::Added) => Ok(seat),
            Ok(MemberAdded::LimitReached) => refused(OrgRefusal::TeamMemberLimit),
            Err(PortError::Conflict) => match setup.repo.find_team_member(&team.id, user_id).await?
            {
                Some(existing) => Ok(existing),
                None => Err(PortError::Conflict.into()),
            },
            Err(PortError::NotFound) => refused(OrgRefusal::TeamNotFound),
            Err(error) => Err(error.into()),
        }
    }

    /// The teams of the caller's organization.
    ///
    /// # Errors
    /// `NO_ACTIVE_ORGANIZATION`, `ORGANIZATION_NOT_FOUND`,
    /// `YOU_ARE_NOT_ALLOWED_TO_ACCESS_THIS_ORGANIZATION`, `Unavailable`.
    pub async fn list_teams(
        &self,
        auth: &Auth,
        context: &AuthContext,
        organization_id: Option<&str>,
    ) -> Result<Vec<Team>, AuthError> {
        let member = self
            .team_membership(
                auth,
                context,
                organization_id,
                OrgRefusal::NotAllowedToAccess,
            )
            .await?;
        Ok(self
            .team_setup()?
            .repo
            .list_teams(&member.organization_id)
            .await?)
    }

    /// Renames a team of the caller's organization (the caller needs `team:update`).
    ///
    /// # Errors
    /// `NO_ACTIVE_ORGANIZATION`, `ORGANIZATION_NOT_FOUND`,
    /// `YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_TEAM`, `TEAM_NOT_FOUND`, `VALIDATION_ERROR`,
    /// `Unavailable`.
    pub async fn update_team(
        &self,
        auth: &Auth,
        context: &AuthContext,
        organization_id: Option<&str>,
        team_id: &str,
        name: Option<&str>,
    ) -> Result<Team, AuthError> {
        if let Some(name) = name {
            check_name("name", name, false)?;
        }
        let forbidden = OrgRefusal::TeamForbidden(TeamAction::Update);
        let member = self
            .team_membership(auth, context, organization_id, forbidden.clone())
            .await?;
        self.require(&member, "team", "update", forbidden).await?;
        let team = self.team_in(&member.organization_id, team_id).await?;
        let updated = Team {
            name: name.map_or(team.name, str::to_owned),
            updated_at: Some(auth.now()),
            ..team
        };
        match self.team_setup()?.repo.update_team(&updated).await {
            Ok(()) => Ok(updated),
            Err(PortError::NotFound) => refused(OrgRefusal::TeamNotFound),
            Err(error) => Err(error.into()),
        }
    }

    /// Removes a team of the caller's organization with its seats (the caller needs
    /// `team:delete`, and it may not be the caller's active team); the last team stays unless
    /// the settings allow removing it.
    ///
    /// # Errors
    /// `NO_ACTIVE_ORGANIZATION`, `ORGANIZATION_NOT_FOUND`,
    /// `YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_TEAM`,
    /// `YOU_ARE_NOT_ALLOWED_TO_DELETE_TEAMS_IN_THIS_ORGANIZATION`, `TEAM_NOT_FOUND`,
    /// `UNABLE_TO_REMOVE_LAST_TEAM`, `Unavailable`.
    pub async fn remove_team(
        &self,
        auth: &Auth,
        context: &AuthContext,
        organization_id: Option<&str>,
        team_id: &str,
    ) -> Result<Team, AuthError> {
        let this_team = OrgRefusal::TeamForbidden(TeamAction::DeleteThis);
        let member = self
            .team_membership(auth, context, organization_id, this_team.clone())
            .await?;
        if Self::active_team_id(&context.session) == Some(team_id) {
            return refused(this_team);
        }
        self.require(
            &member,
            "team",
            "delete",
            OrgRefusal::TeamForbidden(TeamAction::Delete),
        )
        .await?;
        let team = self.team_in(&member.organization_id, team_id).await?;
        let setup = self.team_setup()?;
        let keep_one = !setup.config.allow_removing_all_teams;
        match setup.repo.delete_team(&team.id, keep_one).await {
            Ok(TeamDeleted::Deleted) => Ok(team),
            Ok(TeamDeleted::LastTeam) => refused(OrgRefusal::LastTeam),
            Err(PortError::NotFound) => refused(OrgRefusal::TeamNotFound),
            Err(error) => Err(error.into()),
        }
    }

    /// Sets, clears or re-reads the session's active team: a team of the active organization
    /// the caller is in. Answers the active team, `None` when there is none.
    ///
    /// # Errors
    /// `NO_ACTIVE_ORGANIZATION`, `TEAM_NOT_FOUND`, `USER_IS_NOT_A_MEMBER_OF_THE_TEAM` (403),
    /// `Unavailable`.
    pub async fn set_active_team(
        &self,
        auth: &Auth,
        context: &AuthContext,
        wanted: ActiveTeam<'_>,
    ) -> Result<Option<Team>, AuthError> {
        let setup = self.team_setup()?;
        let current = Self::active_team_id(&context.session);
        let team_id = match wanted {
            ActiveTeam::Clear => {
                if current.is_some() {
                    self.write_session(auth, &context.session, &[(ACTIVE_TEAM, None)])
                        .await?;
                }
                return Ok(None);
            }
            ActiveTeam::Keep => match current {
                Some(id) => id,
                None => return Ok(None),
            },
            ActiveTeam::Set(id) => id,
        };
        let Some(organization_id) = Self::active_id(&context.session) else {
            return refused(OrgRefusal::NoActiveOrganization);
        };
        let team = self.team_in(organization_id, team_id).await?;
        if setup
            .repo
            .find_team_member(&team.id, &context.user.id)
            .await?
            .is_none()
        {
            return refused(OrgRefusal::NotInTeam(403));
        }
        if current != Some(team.id.as_str()) {
            self.write_session(auth, &context.session, &[(ACTIVE_TEAM, Some(&team.id))])
                .await?;
        }
        Ok(Some(team))
    }

    /// The teams a user is in. The caller's own: in the organization named, or (none named)
    /// in every organization the caller belongs to. Another member's (the caller needs
    /// `member:update`): in the organization named or the active one.
    ///
    /// # Errors
    /// `NO_ACTIVE_ORGANIZATION`, `ORGANIZATION_NOT_FOUND`,
    /// `YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION`, `YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER`,
    /// `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION`, `Unavailable`.
    pub async fn list_user_teams(
        &self,
        auth: &Auth,
        context: &AuthContext,
        user_id: Option<&UserId>,
        organization_id: Option<&str>,
    ) -> Result<Vec<Team>, AuthError> {
        let setup = self.team_setup()?;
        let target = user_id.filter(|id| **id != context.user.id);
        if target.is_none() && organization_id.is_none() {
            let mut teams = Vec::new();
            for organization in self.repo.list_for_user(&context.user.id).await? {
                teams.extend(
                    setup
                        .repo
                        .list_user_teams(&organization.id, &context.user.id)
                        .await?,
                );
            }
            return Ok(teams);
        }
        let member = self
            .team_membership(auth, context, organization_id, OrgRefusal::NotAMemberHere)
            .await?;
        let Some(target) = target else {
            return Ok(setup
                .repo
                .list_user_teams(&member.organization_id, &context.user.id)
                .await?);
        };
        self.require(
            &member,
            "member",
            "update",
            OrgRefusal::NotAllowedToUpdateMember,
        )
        .await?;
        self.org_member(&member.organization_id, target).await?;
        Ok(setup
            .repo
            .list_user_teams(&member.organization_id, target)
            .await?)
    }

    /// `user_id`'s membership of an organization (`400 USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION`
    /// when there is none).
    async fn org_member(&self, organization_id: &str, user_id: &UserId) -> Result<(), AuthError> {
        if !clean(user_id.as_str())
            || self
                .repo
                .find_member(organization_id, user_id)
                .await?
                .is_none()
        {
            return refused(OrgRefusal::NotAMember(400));
        }
        Ok(())
    }

    /// The members of a team the caller is in (the active team by default).
    ///
    /// # Errors
    /// `YOU_DO_NOT_HAVE_AN_ACTIVE_TEAM`, `TEAM_NOT_FOUND`, `USER_IS_NOT_A_MEMBER_OF_THE_TEAM`,
    /// `Unavailable`.
    pub async fn list_team_members(
        &self,
        context: &AuthContext,
        team_id: Option<&str>,
    ) -> Result<Vec<TeamMember>, AuthError> {
        let setup = self.team_setup()?;
        let Some(team_id) = team_id.or_else(|| Self::active_team_id(&context.session)) else {
            return refused(OrgRefusal::NoActiveTeam);
        };
        if !clean(team_id) {
            return refused(OrgRefusal::TeamNotFound);
        }
        let Some(team) = setup.repo.team_by_id(team_id).await? else {
            return refused(OrgRefusal::TeamNotFound);
        };
        let in_organization = self
            .repo
            .find_member(&team.organization_id, &context.user.id)
            .await?
            .is_some();
        let in_team = in_organization
            && setup
                .repo
                .find_team_member(&team.id, &context.user.id)
                .await?
                .is_some();
        if !in_team {
            return refused(OrgRefusal::NotInTeam(400));
        }
        Ok(setup.repo.list_team_members(&team.id).await?)
    }

    /// Puts a member of the caller's organization in one of its teams (the caller needs
    /// `member:update`); a member in it already is answered as they are.
    ///
    /// # Errors
    /// `NO_ACTIVE_ORGANIZATION`, `ORGANIZATION_NOT_FOUND`,
    /// `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION` (the caller or the user),
    /// `YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_TEAM_MEMBER`, `TEAM_NOT_FOUND`,
    /// `TEAM_MEMBER_LIMIT_REACHED`, `Unavailable`.
    pub async fn add_team_member(
        &self,
        auth: &Auth,
        context: &AuthContext,
        organization_id: Option<&str>,
        team_id: &str,
        user_id: &UserId,
    ) -> Result<TeamMember, AuthError> {
        let member = self
            .team_membership(auth, context, organization_id, OrgRefusal::NotAMember(400))
            .await?;
        self.require(
            &member,
            "member",
            "update",
            OrgRefusal::TeamForbidden(TeamAction::AddMember),
        )
        .await?;
        self.org_member(&member.organization_id, user_id).await?;
        let team = self.team_in(&member.organization_id, team_id).await?;
        self.seat(auth, &team, user_id).await
    }

    /// Takes a member of the caller's organization out of one of its teams (the caller needs
    /// `member:delete`), and clears it as the active team of their sessions.
    ///
    /// # Errors
    /// `NO_ACTIVE_ORGANIZATION`, `ORGANIZATION_NOT_FOUND`,
    /// `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION` (the caller or the user),
    /// `YOU_ARE_NOT_ALLOWED_TO_REMOVE_A_TEAM_MEMBER`, `TEAM_NOT_FOUND`,
    /// `USER_IS_NOT_A_MEMBER_OF_THE_TEAM`, `Unavailable`.
    pub async fn remove_team_member(
        &self,
        auth: &Auth,
        context: &AuthContext,
        organization_id: Option<&str>,
        team_id: &str,
        user_id: &UserId,
    ) -> Result<(), AuthError> {
        let member = self
            .team_membership(auth, context, organization_id, OrgRefusal::NotAMember(400))
            .await?;
        self.require(
            &member,
            "member",
            "delete",
            OrgRefusal::TeamForbidden(TeamAction::RemoveMember),
        )
        .await?;
        self.org_member(&member.organization_id, user_id).await?;
        let team = self.team_in(&member.organization_id, team_id).await?;
        if !self
            .team_setup()?
            .repo
            .remove_team_member(&team.id, user_id)
            .await?
        {
            return refused(OrgRefusal::NotInTeam(400));
        }
        self.clear_for(auth, user_id, ACTIVE_TEAM, &team.id).await
    }

    /// Checks the teams an invitation names: teams on, ids without `,`, each a team of the
    /// organization with a free seat. Answers the ids to store.
    pub(super) async fn invited_teams(
        &self,
        organization_id: &str,
        team_ids: &[String],
    ) -> Result<Vec<String>, AuthError> {
        let Some(setup) = &self.teams else {
            // As in Better-Auth: without teams, `teamId` is ignored.
            return Ok(Vec::new());
        };
        if team_ids.len() > MAX_INVITED_TEAMS {
            return Err(AuthError::Invalid(auth_domain::DomainError::InvalidField {
                field: "teamId",
            }));
        }
        if team_ids.iter().any(|id| id.contains(',')) {
            return refused(OrgRefusal::InvalidTeamId);
        }
        let mut unique: Vec<String> = Vec::with_capacity(team_ids.len());
        for id in team_ids {
            if !unique.contains(id) {
                unique.push(id.clone());
            }
        }
        for team_id in &unique {
            let team = self.team_in(organization_id, team_id).await?;
            if let Some(limit) = setup.config.maximum_members_per_team {
                let seated = setup.repo.list_team_members(&team.id).await?.len();
                if u64::try_from(seated).unwrap_or(u64::MAX) >= limit {
                    return refused(OrgRefusal::TeamMemberLimit);
                }
            }
        }
        Ok(unique)
    }

    /// Seats a new member in the teams of the invitation they accepted. A team removed or
    /// filled since the invitation is skipped: the membership stands. Answers the teams joined.
    pub(super) async fn join_invited_teams(
        &self,
        auth: &Auth,
        organization_id: &str,
        team_ids: &[String],
        user_id: &UserId,
    ) -> Result<Vec<String>, AuthError> {
        if self.teams.is_none() {
            return Ok(Vec::new());
        }
        let mut joined = Vec::new();
        for team_id in team_ids {
            let team = match self.team_in(organization_id, team_id).await {
                Ok(team) => team,
                Err(AuthError::Plugin(_)) => continue,
                Err(error) => return Err(error),
            };
            match self.seat(auth, &team, user_id).await {
                Ok(_) => joined.push(team.id),
                Err(AuthError::Plugin(refusal)) => {
                    tracing::info!(code = refusal.code, "an invited team was not joined");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(joined)
    }

    /// Writes session fields (`None` clears one) and drops the session's cached copies.
    pub(super) async fn write_session(
        &self,
        auth: &Auth,
        session: &Session,
        values: &[(&'static str, Option<&str>)],
    ) -> Result<(), AuthError> {
        let mut fields = Fields::default();
        for (name, value) in values {
            let value = value.map_or(FieldValue::Null, |id| FieldValue::Text(id.to_owned()));
            fields.set(name, value);
        }
        match auth
            .deps()
            .sessions
            .update_session_fields(&session.id, &fields)
            .await
        {
            Ok(()) | Err(PortError::NotFound) => {}
            Err(error) => return Err(error.into()),
        }
        auth.invalidate_cached(&session.token).await;
        Ok(())
    }

    /// Clears `field` in the user's sessions where it holds `value`.
    pub(super) async fn clear_for(
        &self,
        auth: &Auth,
        user_id: &UserId,
        field: &'static str,
        value: &str,
    ) -> Result<(), AuthError> {
        let sessions = auth
            .deps()
            .sessions
            .list_active(user_id, auth.now())
            .await?;
        for session in sessions {
            let holds = match session.fields.get(field) {
                Some(FieldValue::Text(held)) => held == value,
                _ => false,
            };
            if holds {
                self.write_session(auth, &session, &[(field, None)]).await?;
            }
        }
        Ok(())
    }
}
