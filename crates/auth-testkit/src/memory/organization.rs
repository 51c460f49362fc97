//! `OrganizationRepo` and `InvitationRepo` for [`MemoryStore`]: organizations, members and
//! invitations beside its users.

use auth_domain::organization::{
    Invitation, InvitationStatus, Member, Organization, RoleList, StoredRole, Team, TeamMember,
};
use auth_domain::{User, UserId};
use auth_ports::{
    Accepted, InvitationRepo, Invited, MemberAdded, MemberChange, MemberQuery, MemberSort,
    OrganizationRepo, PortError, RoleDeleted, RoleRepo, TeamDeleted, TeamRepo,
};
use time::OffsetDateTime;

use super::{MemoryStore, State};

/// Adds a member unless the user is one already (`Conflict`) or the organization is full.
fn insert_member(state: &mut State, member: &Member, limit: u64) -> Result<MemberAdded, PortError> {
    let mut count = 0_u64;
    for existing in state.members.values() {
        if existing.organization_id != member.organization_id {
            continue;
        }
        if existing.user_id == member.user_id || existing.id == member.id {
            return Err(PortError::Conflict);
        }
        count += 1;
    }
    if count >= limit {
        return Ok(MemberAdded::LimitReached);
    }
    state.members.insert(member.id.clone(), member.clone());
    Ok(MemberAdded::Added)
}

#[async_trait::async_trait]
impl OrganizationRepo for MemoryStore {
    async fn create(&self, organization: &Organization, creator: &Member) -> Result<(), PortError> {
        let mut state = self.state();
        let taken = state.organizations.contains_key(&organization.id)
            || state
                .organizations
                .values()
                .any(|existing| existing.slug == organization.slug)
            || state.members.contains_key(&creator.id);
        if taken {
            return Err(PortError::Conflict);
        }
        state
            .organizations
            .insert(organization.id.clone(), organization.clone());
        state.members.insert(creator.id.clone(), creator.clone());
        Ok(())
    }

    async fn find(&self, id: &str) -> Result<Option<Organization>, PortError> {
        Ok(self.state().organizations.get(id).cloned())
    }

    async fn find_by_slug(&self, slug: &str) -> Result<Option<Organization>, PortError> {
        let state = self.state();
        Ok(state
            .organizations
            .values()
            .find(|organization| organization.slug == slug)
            .cloned())
    }

    async fn update(&self, organization: &Organization) -> Result<(), PortError> {
        let mut state = self.state();
        let clash = state
            .organizations
            .values()
            .any(|other| other.id != organization.id && other.slug == organization.slug);
        let Some(stored) = state.organizations.get_mut(&organization.id) else {
            return Err(PortError::NotFound);
        };
        if clash {
            return Err(PortError::Conflict);
        }
        *stored = Organization {
            created_at: stored.created_at,
            ..organization.clone()
        };
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<Vec<UserId>, PortError> {
        let mut state = self.state();
        if state.organizations.remove(id).is_none() {
            return Err(PortError::NotFound);
        }
        state
            .invitations
            .retain(|_, invitation| invitation.organization_id != id);
        state.roles.retain(|_, role| role.organization_id != id);
        let teams: Vec<String> = state
            .teams
            .values()
            .filter(|team| team.organization_id == id)
            .map(|team| team.id.clone())
            .collect();
        state.teams.retain(|_, team| team.organization_id != id);
        state
            .team_members
            .retain(|_, seat| !teams.contains(&seat.team_id));
        let mut users = Vec::new();
        state.members.retain(|_, member| {
            let keep = member.organization_id != id;
            if !keep {
                users.push(member.user_id.clone());
            }
            keep
        });
        Ok(users)
    }

    async fn list_for_user(&self, user_id: &UserId) -> Result<Vec<Organization>, PortError> {
        let state = self.state();
        let mut organizations: Vec<Organization> = state
            .members
            .values()
            .filter(|member| &member.user_id == user_id)
            .filter_map(|member| state.organizations.get(&member.organization_id).cloned())
            .collect();
        organizations.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(organizations)
    }

    async fn count_for_user(&self, user_id: &UserId) -> Result<u64, PortError> {
        let state = self.state();
        let count = state
            .members
            .values()
            .filter(|member| &member.user_id == user_id)
            .count();
        Ok(u64::try_from(count).unwrap_or(u64::MAX))
    }

    async fn find_member(
        &self,
        organization_id: &str,
        user_id: &UserId,
    ) -> Result<Option<Member>, PortError> {
        let state = self.state();
        Ok(state
            .members
            .values()
            .find(|member| member.organization_id == organization_id && &member.user_id == user_id)
            .cloned())
    }

    async fn find_member_by_id(&self, id: &str) -> Result<Option<Member>, PortError> {
        Ok(self.state().members.get(id).cloned())
    }

    async fn list_members(
        &self,
        organization_id: &str,
        query: &MemberQuery,
    ) -> Result<(Vec<(Member, User)>, u64), PortError> {
        let state = self.state();
        let mut members: Vec<(Member, User)> = state
            .members
            .values()
            .filter(|member| member.organization_id == organization_id)
            .filter(|member| {
                query
                    .role
                    .as_ref()
                    .is_none_or(|role| member.role.joined() == *role)
            })
            .filter_map(|member| {
                let user = state.users.get(&member.user_id)?;
                Some((member.clone(), user.clone()))
            })
            .collect();
        members.sort_by(|(a, _), (b, _)| {
            let order = match query.sort {
                MemberSort::CreatedAt => a.created_at.cmp(&b.created_at),
                MemberSort::Role => a.role.joined().cmp(&b.role.joined()),
                MemberSort::UserId => a.user_id.as_str().cmp(b.user_id.as_str()),
            };
            order.then_with(|| a.id.cmp(&b.id))
        });
        if query.descending {
            members.reverse();
        }
        let total = u64::try_from(members.len()).unwrap_or(u64::MAX);
        let page = members
            .into_iter()
            .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(query.limit).unwrap_or(usize::MAX))
            .collect();
        Ok((page, total))
    }

    async fn count_with_role(&self, organization_id: &str, role: &str) -> Result<u64, PortError> {
        let state = self.state();
        let count = state
            .members
            .values()
            .filter(|member| member.organization_id == organization_id)
            .filter(|member| member.role.contains(role))
            .count();
        Ok(u64::try_from(count).unwrap_or(u64::MAX))
    }

    async fn add_member(&self, member: &Member, limit: u64) -> Result<MemberAdded, PortError> {
        let mut state = self.state();
        if !state.organizations.contains_key(&member.organization_id) {
            return Err(PortError::NotFound);
        }
        insert_member(&mut state, member, limit)
    }

    async fn change_member_role(
        &self,
        id: &str,
        from: &RoleList,
        to: &RoleList,
        keep: &str,
    ) -> Result<MemberChange, PortError> {
        let mut state = self.state();
        let member = state.members.get(id).cloned().ok_or(PortError::NotFound)?;
        if member.role != *from {
            return Ok(MemberChange::Changed);
        }
        if member.role.contains(keep) && !to.contains(keep) && holders(&state, &member, keep) <= 1 {
            return Ok(MemberChange::LastHolder);
        }
        if let Some(stored) = state.members.get_mut(id) {
            stored.role = to.clone();
        }
        Ok(MemberChange::Done)
    }

    async fn remove_member(&self, id: &str, keep: &str) -> Result<MemberChange, PortError> {
        let mut state = self.state();
        let member = state.members.get(id).cloned().ok_or(PortError::NotFound)?;
        if member.role.contains(keep) && holders(&state, &member, keep) <= 1 {
            return Ok(MemberChange::LastHolder);
        }
        state.members.remove(id);
        let teams: Vec<String> = state
            .teams
            .values()
            .filter(|team| team.organization_id == member.organization_id)
            .map(|team| team.id.clone())
            .collect();
        state
            .team_members
            .retain(|_, seat| seat.user_id != member.user_id || !teams.contains(&seat.team_id));
        Ok(MemberChange::Done)
    }
}

/// How many members of `member`'s organization hold `role`.
fn holders(state: &State, member: &Member, role: &str) -> usize {
    state
        .members
        .values()
        .filter(|other| {
            other.organization_id == member.organization_id && other.role.contains(role)
        })
        .count()
}

fn oldest_first(invitations: &mut [Invitation]) {
    invitations.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
}

#[async_trait::async_trait]
impl InvitationRepo for MemoryStore {
    async fn create_invitation(
        &self,
        invitation: &Invitation,
        pending_limit: u64,
    ) -> Result<Invited, PortError> {
        let mut state = self.state();
        if !state
            .organizations
            .contains_key(&invitation.organization_id)
        {
            return Err(PortError::NotFound);
        }
        let open: Vec<&Invitation> = state
            .invitations
            .values()
            .filter(|other| other.organization_id == invitation.organization_id)
            .filter(|other| other.status == InvitationStatus::Pending)
            .collect();
        if open.iter().any(|other| other.email == invitation.email) {
            return Err(PortError::Conflict);
        }
        let open = open.len();
        if u64::try_from(open).unwrap_or(u64::MAX) >= pending_limit {
            return Ok(Invited::LimitReached);
        }
        if state.invitations.contains_key(&invitation.id) {
            return Err(PortError::Conflict);
        }
        state
            .invitations
            .insert(invitation.id.clone(), invitation.clone());
        Ok(Invited::Created)
    }

    async fn find_invitation(&self, id: &str) -> Result<Option<Invitation>, PortError> {
        Ok(self.state().invitations.get(id).cloned())
    }

    async fn pending_invitation(
        &self,
        organization_id: &str,
        email: &str,
    ) -> Result<Option<Invitation>, PortError> {
        let state = self.state();
        Ok(state
            .invitations
            .values()
            .find(|invitation| {
                invitation.organization_id == organization_id
                    && invitation.email == email
                    && invitation.status == InvitationStatus::Pending
            })
            .cloned())
    }

    async fn list_invitations(&self, organization_id: &str) -> Result<Vec<Invitation>, PortError> {
        let state = self.state();
        let mut invitations: Vec<Invitation> = state
            .invitations
            .values()
            .filter(|invitation| invitation.organization_id == organization_id)
            .cloned()
            .collect();
        oldest_first(&mut invitations);
        Ok(invitations)
    }

    async fn list_user_invitations(
        &self,
        email: &str,
    ) -> Result<Vec<(Invitation, Organization)>, PortError> {
        let state = self.state();
        let mut invitations: Vec<Invitation> = state
            .invitations
            .values()
            .filter(|invitation| {
                invitation.email == email && invitation.status == InvitationStatus::Pending
            })
            .cloned()
            .collect();
        oldest_first(&mut invitations);
        Ok(invitations
            .into_iter()
            .filter_map(|invitation| {
                let organization = state.organizations.get(&invitation.organization_id)?;
                Some((invitation, organization.clone()))
            })
            .collect())
    }

    async fn extend_invitation(
        &self,
        id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<(), PortError> {
        let mut state = self.state();
        let invitation = state.invitations.get_mut(id).ok_or(PortError::NotFound)?;
        invitation.expires_at = expires_at;
        Ok(())
    }

    async fn close_invitation(
        &self,
        id: &str,
        status: InvitationStatus,
    ) -> Result<bool, PortError> {
        let mut state = self.state();
        match state.invitations.get_mut(id) {
            Some(invitation) if invitation.status == InvitationStatus::Pending => {
                invitation.status = status;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn accept_invitation(
        &self,
        id: &str,
        member: &Member,
        membership_limit: u64,
        now: OffsetDateTime,
    ) -> Result<Accepted, PortError> {
        let mut state = self.state();
        let open = state
            .invitations
            .get(id)
            .is_some_and(|invitation| invitation.is_open(now));
        if !open || !state.organizations.contains_key(&member.organization_id) {
            return Ok(Accepted::NotPending);
        }
        let accepted = match insert_member(&mut state, member, membership_limit) {
            Ok(MemberAdded::Added) => Accepted::Accepted,
            Ok(MemberAdded::LimitReached) => return Ok(Accepted::LimitReached),
            Err(PortError::Conflict) => Accepted::AlreadyMember,
            Err(error) => return Err(error),
        };
        if let Some(invitation) = state.invitations.get_mut(id) {
            invitation.status = InvitationStatus::Accepted;
        }
        Ok(accepted)
    }
}

#[async_trait::async_trait]
impl RoleRepo for MemoryStore {
    async fn create_role(&self, role: &StoredRole) -> Result<(), PortError> {
        let mut state = self.state();
        if !state.organizations.contains_key(&role.organization_id) {
            return Err(PortError::NotFound);
        }
        let taken = state.roles.contains_key(&role.id)
            || state.roles.values().any(|other| {
                other.organization_id == role.organization_id && other.role == role.role
            });
        if taken {
            return Err(PortError::Conflict);
        }
        state.roles.insert(role.id.clone(), role.clone());
        Ok(())
    }

    async fn find_role(
        &self,
        organization_id: &str,
        id_or_name: &str,
    ) -> Result<Option<StoredRole>, PortError> {
        let state = self.state();
        let of_organization = |role: &&StoredRole| role.organization_id == organization_id;
        let by_id = state
            .roles
            .values()
            .filter(of_organization)
            .find(|role| role.id == id_or_name);
        let by_name = || {
            state
                .roles
                .values()
                .filter(of_organization)
                .find(|role| role.role == id_or_name)
        };
        Ok(by_id.or_else(by_name).cloned())
    }

    async fn list_roles(&self, organization_id: &str) -> Result<Vec<StoredRole>, PortError> {
        let state = self.state();
        let mut roles: Vec<StoredRole> = state
            .roles
            .values()
            .filter(|role| role.organization_id == organization_id)
            .cloned()
            .collect();
        roles.sort_by(|a, b| a.role.cmp(&b.role));
        Ok(roles)
    }

    async fn update_role(&self, role: &StoredRole) -> Result<(), PortError> {
        let mut state = self.state();
        let clash = state.roles.values().any(|other| {
            other.id != role.id
                && other.organization_id == role.organization_id
                && other.role == role.role
        });
        let stored = state.roles.get_mut(&role.id).ok_or(PortError::NotFound)?;
        if clash {
            return Err(PortError::Conflict);
        }
        stored.role.clone_from(&role.role);
        stored.permission = role.permission.clone();
        stored.updated_at = role.updated_at;
        Ok(())
    }

    async fn delete_role(&self, id: &str) -> Result<RoleDeleted, PortError> {
        let mut state = self.state();
        let role = state.roles.get(id).cloned().ok_or(PortError::NotFound)?;
        let assigned = state.members.values().any(|member| {
            member.organization_id == role.organization_id && member.role.contains(&role.role)
        });
        if assigned {
            return Ok(RoleDeleted::Assigned);
        }
        state.roles.remove(id);
        Ok(RoleDeleted::Deleted)
    }
}

fn oldest_teams(teams: &mut [Team]) {
    teams.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
}

#[async_trait::async_trait]
impl TeamRepo for MemoryStore {
    async fn create_team(&self, team: &Team, limit: u64) -> Result<MemberAdded, PortError> {
        let mut state = self.state();
        if !state.organizations.contains_key(&team.organization_id) {
            return Err(PortError::NotFound);
        }
        let count = state
            .teams
            .values()
            .filter(|other| other.organization_id == team.organization_id)
            .count();
        if u64::try_from(count).unwrap_or(u64::MAX) >= limit {
            return Ok(MemberAdded::LimitReached);
        }
        state.teams.insert(team.id.clone(), team.clone());
        Ok(MemberAdded::Added)
    }

    async fn find_team(&self, organization_id: &str, id: &str) -> Result<Option<Team>, PortError> {
        let state = self.state();
        Ok(state
            .teams
            .get(id)
            .filter(|team| team.organization_id == organization_id)
            .cloned())
    }

    async fn team_by_id(&self, id: &str) -> Result<Option<Team>, PortError> {
        Ok(self.state().teams.get(id).cloned())
    }

    async fn list_teams(&self, organization_id: &str) -> Result<Vec<Team>, PortError> {
        let state = self.state();
        let mut teams: Vec<Team> = state
            .teams
            .values()
            .filter(|team| team.organization_id == organization_id)
            .cloned()
            .collect();
        oldest_teams(&mut teams);
        Ok(teams)
    }

    async fn update_team(&self, team: &Team) -> Result<(), PortError> {
        let mut state = self.state();
        let stored = state.teams.get_mut(&team.id).ok_or(PortError::NotFound)?;
        stored.name.clone_from(&team.name);
        stored.updated_at = team.updated_at;
        Ok(())
    }

    async fn delete_team(&self, id: &str, keep_one: bool) -> Result<TeamDeleted, PortError> {
        let mut state = self.state();
        let organization_id = state
            .teams
            .get(id)
            .ok_or(PortError::NotFound)?
            .organization_id
            .clone();
        let teams = state
            .teams
            .values()
            .filter(|team| team.organization_id == organization_id)
            .count();
        if keep_one && teams <= 1 {
            return Ok(TeamDeleted::LastTeam);
        }
        state.teams.remove(id);
        state.team_members.retain(|_, seat| seat.team_id != id);
        for invitation in state.invitations.values_mut() {
            if invitation.organization_id == organization_id
                && invitation.status == InvitationStatus::Pending
            {
                invitation.team_ids.retain(|team| team != id);
            }
        }
        Ok(TeamDeleted::Deleted)
    }

    async fn add_team_member(
        &self,
        member: &TeamMember,
        limit: u64,
    ) -> Result<MemberAdded, PortError> {
        let mut state = self.state();
        if !state.teams.contains_key(&member.team_id) {
            return Err(PortError::NotFound);
        }
        let seats: Vec<&TeamMember> = state
            .team_members
            .values()
            .filter(|seat| seat.team_id == member.team_id)
            .collect();
        if seats.iter().any(|seat| seat.user_id == member.user_id) {
            return Err(PortError::Conflict);
        }
        if u64::try_from(seats.len()).unwrap_or(u64::MAX) >= limit {
            return Ok(MemberAdded::LimitReached);
        }
        state.team_members.insert(member.id.clone(), member.clone());
        Ok(MemberAdded::Added)
    }

    async fn find_team_member(
        &self,
        team_id: &str,
        user_id: &UserId,
    ) -> Result<Option<TeamMember>, PortError> {
        Ok(self
            .state()
            .team_members
            .values()
            .find(|seat| seat.team_id == team_id && &seat.user_id == user_id)
            .cloned())
    }

    async fn remove_team_member(&self, team_id: &str, user_id: &UserId) -> Result<bool, PortError> {
        let mut state = self.state();
        let before = state.team_members.len();
        state
            .team_members
            .retain(|_, seat| seat.team_id != team_id || &seat.user_id != user_id);
        Ok(state.team_members.len() < before)
    }

    async fn list_team_members(&self, team_id: &str) -> Result<Vec<TeamMember>, PortError> {
        let state = self.state();
        let mut seats: Vec<TeamMember> = state
            .team_members
            .values()
            .filter(|seat| seat.team_id == team_id)
            .cloned()
            .collect();
        seats.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(seats)
    }

    async fn list_user_teams(
        &self,
        organization_id: &str,
        user_id: &UserId,
    ) -> Result<Vec<Team>, PortError> {
        let state = self.state();
        let mut teams: Vec<Team> = state
            .team_members
            .values()
            .filter(|seat| &seat.user_id == user_id)
            .filter_map(|seat| state.teams.get(&seat.team_id))
            .filter(|team| team.organization_id == organization_id)
            .cloned()
            .collect();
        oldest_teams(&mut teams);
        Ok(teams)
    }
}
