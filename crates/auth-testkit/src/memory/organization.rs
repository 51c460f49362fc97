//! `OrganizationRepo` for [`MemoryStore`]: organizations and members beside its users.

use auth_domain::organization::{Member, Organization, RoleList};
use auth_domain::{User, UserId};
use auth_ports::{MemberAdded, MemberQuery, MemberSort, OrganizationRepo, PortError};

use super::MemoryStore;

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

    async fn update_member_role(&self, id: &str, role: &RoleList) -> Result<(), PortError> {
        let mut state = self.state();
        let member = state.members.get_mut(id).ok_or(PortError::NotFound)?;
        member.role = role.clone();
        Ok(())
    }

    async fn remove_member(&self, id: &str) -> Result<(), PortError> {
        self.state()
            .members
            .remove(id)
            .map(|_| ())
            .ok_or(PortError::NotFound)
    }
}
