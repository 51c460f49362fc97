//! The team routes (with `AUTH_ORGANIZATION_TEAMS`): Better-Auth's `/organization/*-team*`.

use std::sync::Arc;

use auth_core::{ActiveTeam, Organizations};
use auth_domain::UserId;
use auth_domain::date::to_json as iso;
use auth_domain::organization::{Team, TeamMember};
use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Object, OpenApi};
use serde::Serialize;

use super::OrganizationTags;
use crate::error::ApiError;
use crate::payload::{BaJson, Reply};
use crate::session_ctx::require;
use crate::state::HttpState;

/// A team on the wire.
#[derive(Debug, Clone, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "Team", rename_all = "camelCase")]
pub struct TeamDto {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The organization.
    pub organization_id: String,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// ISO-8601 time of the last change.
    #[oai(nullable)]
    pub updated_at: Option<String>,
}

impl From<&Team> for TeamDto {
    fn from(team: &Team) -> Self {
        Self {
            id: team.id.clone(),
            name: team.name.clone(),
            organization_id: team.organization_id.clone(),
            created_at: iso(team.created_at),
            updated_at: team.updated_at.map(iso),
        }
    }
}

/// A seat in a team on the wire.
#[derive(Debug, Clone, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "TeamMember", rename_all = "camelCase")]
pub struct TeamMemberDto {
    /// Id.
    pub id: String,
    /// The team.
    pub team_id: String,
    /// The member.
    pub user_id: String,
    /// ISO-8601 time it joined.
    #[oai(nullable)]
    pub created_at: Option<String>,
}

impl From<&TeamMember> for TeamMemberDto {
    fn from(seat: &TeamMember) -> Self {
        Self {
            id: seat.id.clone(),
            team_id: seat.team_id.clone(),
            user_id: seat.user_id.as_str().to_owned(),
            created_at: seat.created_at.map(iso),
        }
    }
}

/// `POST /organization/create-team` body.
#[derive(Debug, Object)]
#[oai(rename = "CreateTeamRequest", rename_all = "camelCase")]
struct CreateTeamBody {
    /// The team's name.
    name: String,
    /// The organization (default: the active one).
    #[oai(nullable)]
    organization_id: Option<String>,
}

/// The changes of `update-team`.
#[derive(Debug, Object)]
#[oai(rename = "TeamChanges", rename_all = "camelCase")]
struct TeamChanges {
    /// New name.
    #[oai(nullable)]
    name: Option<String>,
    /// The team's organization (default: the active one).
    #[oai(nullable)]
    organization_id: Option<String>,
}

/// `POST /organization/update-team` body.
#[derive(Debug, Object)]
#[oai(rename = "UpdateTeamRequest", rename_all = "camelCase")]
struct UpdateTeamBody {
    /// The team.
    team_id: String,
    /// What changes.
    data: TeamChanges,
}

/// `POST /organization/remove-team` body.
#[derive(Debug, Object)]
#[oai(rename = "RemoveTeamRequest", rename_all = "camelCase")]
struct RemoveTeamBody {
    /// The team.
    team_id: String,
    /// The organization (default: the active one).
    #[oai(nullable)]
    organization_id: Option<String>,
}

/// `POST /organization/set-active-team` body.
#[derive(Debug, Object)]
#[oai(rename = "SetActiveTeamRequest", rename_all = "camelCase")]
struct SetActiveTeamBody {
    /// The team; null clears the active team, absent answers it.
    #[oai(nullable)]
    team_id: MaybeUndefined<String>,
}

/// `add-team-member` and `remove-team-member` bodies.
#[derive(Debug, Object)]
#[oai(rename = "TeamMemberRequest", rename_all = "camelCase")]
struct TeamMemberBody {
    /// The team.
    team_id: String,
    /// The member.
    user_id: String,
    /// The organization (default: the active one).
    #[oai(nullable)]
    organization_id: Option<String>,
}

/// `{"message": ...}`.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "TeamMessage")]
struct MessageDto {
    /// What was done.
    message: String,
}

/// The team routes.
pub(super) struct TeamApi {
    pub(super) state: Arc<HttpState>,
    pub(super) orgs: Organizations,
}

#[OpenApi(tag = "OrganizationTags::Organization")]
impl TeamApi {
    /// Create a team in the organization (needs `team:create`).
    #[oai(path = "/organization/create-team", method = "post")]
    async fn create_team(
        &self,
        request: &Request,
        body: BaJson<CreateTeamBody>,
    ) -> Result<Reply<TeamDto>, ApiError> {
        let body = body.0;
        let loaded = require(&self.state, request).await?;
        let team = self
            .orgs
            .create_team(
                self.state.auth(),
                &loaded.context,
                body.organization_id.as_deref(),
                &body.name,
            )
            .await?;
        Ok(Reply::new(TeamDto::from(&team)).cookies(loaded.cookies))
    }

    /// The organization's teams (members only).
    #[oai(path = "/organization/list-teams", method = "get")]
    async fn list_teams(
        &self,
        request: &Request,
        #[oai(name = "organizationId")] organization_id: Query<Option<String>>,
    ) -> Result<Reply<Vec<TeamDto>>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let teams = self
            .orgs
            .list_teams(
                self.state.auth(),
                &loaded.context,
                organization_id.0.as_deref(),
            )
            .await?;
        Ok(Reply::new(teams.iter().map(TeamDto::from).collect()).cookies(loaded.cookies))
    }

    /// Rename a team (needs `team:update`).
    #[oai(path = "/organization/update-team", method = "post")]
    async fn update_team(
        &self,
        request: &Request,
        body: BaJson<UpdateTeamBody>,
    ) -> Result<Reply<TeamDto>, ApiError> {
        let body = body.0;
        let loaded = require(&self.state, request).await?;
        let team = self
            .orgs
            .update_team(
                self.state.auth(),
                &loaded.context,
                body.data.organization_id.as_deref(),
                &body.team_id,
                body.data.name.as_deref(),
            )
            .await?;
        Ok(Reply::new(TeamDto::from(&team)).cookies(loaded.cookies))
    }

    /// Remove a team with its seats (needs `team:delete`; never the caller's active team, nor
    /// the organization's last one unless the settings allow it).
    #[oai(path = "/organization/remove-team", method = "post")]
    async fn remove_team(
        &self,
        request: &Request,
        body: BaJson<RemoveTeamBody>,
    ) -> Result<Reply<MessageDto>, ApiError> {
        let body = body.0;
        let loaded = require(&self.state, request).await?;
        self.orgs
            .remove_team(
                self.state.auth(),
                &loaded.context,
                body.organization_id.as_deref(),
                &body.team_id,
            )
            .await?;
        Ok(Reply::new(MessageDto {
            message: "Team removed successfully.".to_owned(),
        })
        .cookies(loaded.cookies))
    }

    /// Make a team of the active organization the caller is in the session's active team;
    /// `teamId: null` clears it, no `teamId` answers it.
    #[oai(path = "/organization/set-active-team", method = "post")]
    async fn set_active_team(
        &self,
        request: &Request,
        body: BaJson<SetActiveTeamBody>,
    ) -> Result<Reply<Option<TeamDto>>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let wanted = match &body.0.team_id {
            MaybeUndefined::Null => ActiveTeam::Clear,
            MaybeUndefined::Undefined => ActiveTeam::Keep,
            MaybeUndefined::Value(id) if id.is_empty() => ActiveTeam::Keep,
            MaybeUndefined::Value(id) => ActiveTeam::Set(id),
        };
        let team = self
            .orgs
            .set_active_team(self.state.auth(), &loaded.context, wanted)
            .await?;
        Ok(Reply::new(team.as_ref().map(TeamDto::from)).cookies(loaded.cookies))
    }

    /// The teams a user is in: the caller's own (in every organization, or the one named), or
    /// another member's (needs `member:update`).
    #[oai(path = "/organization/list-user-teams", method = "get")]
    async fn list_user_teams(
        &self,
        request: &Request,
        #[oai(name = "userId")] user_id: Query<Option<String>>,
        #[oai(name = "organizationId")] organization_id: Query<Option<String>>,
    ) -> Result<Reply<Vec<TeamDto>>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let user_id = user_id.0.filter(|id| !id.is_empty()).map(UserId::new);
        let teams = self
            .orgs
            .list_user_teams(
                self.state.auth(),
                &loaded.context,
                user_id.as_ref(),
                organization_id.0.as_deref().filter(|id| !id.is_empty()),
            )
            .await?;
        Ok(Reply::new(teams.iter().map(TeamDto::from).collect()).cookies(loaded.cookies))
    }

    /// The members of a team the caller is in (the active team by default).
    #[oai(path = "/organization/list-team-members", method = "get")]
    async fn list_team_members(
        &self,
        request: &Request,
        #[oai(name = "teamId")] team_id: Query<Option<String>>,
    ) -> Result<Reply<Vec<TeamMemberDto>>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let seats = self
            .orgs
            .list_team_members(
                &loaded.context,
                team_id.0.as_deref().filter(|id| !id.is_empty()),
            )
            .await?;
        Ok(Reply::new(seats.iter().map(TeamMemberDto::from).collect()).cookies(loaded.cookies))
    }

    /// Put a member of the organization in a team (needs `member:update`).
    #[oai(path = "/organization/add-team-member", method = "post")]
    async fn add_team_member(
        &self,
        request: &Request,
        body: BaJson<TeamMemberBody>,
    ) -> Result<Reply<TeamMemberDto>, ApiError> {
        let body = body.0;
        let loaded = require(&self.state, request).await?;
        let seat = self
            .orgs
            .add_team_member(
                self.state.auth(),
                &loaded.context,
                body.organization_id.as_deref(),
                &body.team_id,
                &UserId::new(body.user_id),
            )
            .await?;
        Ok(Reply::new(TeamMemberDto::from(&seat)).cookies(loaded.cookies))
    }

    /// Take a member out of a team (needs `member:delete`).
    #[oai(path = "/organization/remove-team-member", method = "post")]
    async fn remove_team_member(
        &self,
        request: &Request,
        body: BaJson<TeamMemberBody>,
    ) -> Result<Reply<MessageDto>, ApiError> {
        let body = body.0;
        let loaded = require(&self.state, request).await?;
        self.orgs
            .remove_team_member(
                self.state.auth(),
                &loaded.context,
                body.organization_id.as_deref(),
                &body.team_id,
                &UserId::new(body.user_id),
            )
            .await?;
        Ok(Reply::new(MessageDto {
            message: "Team member removed successfully.".to_owned(),
        })
        .cookies(loaded.cookies))
    }
}
