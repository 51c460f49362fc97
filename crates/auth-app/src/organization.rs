//! The organization plugin's composition: its settings from the configuration, and the plugin
//! on an organization store.

use std::sync::Arc;

use anyhow::bail;
use std::collections::BTreeMap;

use auth_core::{OrganizationConfig, Organizations, TeamConfig};
use auth_domain::Permissions;
use auth_domain::organization::AccessControl;
use auth_domain::organization::{
    Invitation, InvitationStatus, Member, Organization, RoleList, StoredRole, Team, TeamMember,
};
use auth_domain::{User, UserId};
use auth_http_poem::organization::OrganizationPlugin;
use auth_ports::{
    Accepted, InvitationRepo, Invited, MemberAdded, MemberChange, MemberQuery, OrganizationRepo,
    PortError, RoleDeleted, RoleRepo, TeamDeleted, TeamRepo,
};
use time::OffsetDateTime;

use crate::AppConfig;
use crate::auth_testkit_free::{NoStore, none};
use crate::plugins::Plugin;

/// Most members an organization may be configured to hold.
const MAX_MEMBERSHIP_LIMIT: u64 = 100_000;

/// Better-Auth's roles with the configured ones (`AUTH_ORGANIZATION_ROLES`, JSON
/// `{"role": {"resource": ["action", ...]}}`) over them, and the creator role.
fn access(config: &AppConfig) -> anyhow::Result<AccessControl> {
    let mut access = AccessControl::better_auth_default();
    if let Some(text) = &config.organization_roles {
        let roles: BTreeMap<String, BTreeMap<String, Vec<String>>> = serde_json::from_str(text)
            .map_err(|error| {
                anyhow::anyhow!(
                    "AUTH_ORGANIZATION_ROLES must be JSON {{\"role\": {{\"resource\": [\"action\"]}}}}: {error}"
                )
            })?;
        for (role, permissions) in roles {
            access = access
                .with_role(&role, Permissions(permissions))
                .map_err(|error| anyhow::anyhow!("AUTH_ORGANIZATION_ROLES: {error}"))?;
        }
    }
    access
        .with_creator_role(&config.organization_creator_role)
        .map_err(|error| anyhow::anyhow!("AUTH_ORGANIZATION_CREATOR_ROLE: {error}"))
}

pub(crate) fn validate(config: &AppConfig) -> anyhow::Result<()> {
    access(config)?;
    if !(1..=MAX_MEMBERSHIP_LIMIT).contains(&config.organization_membership_limit) {
        bail!("AUTH_ORGANIZATION_MEMBERSHIP_LIMIT must be between 1 and {MAX_MEMBERSHIP_LIMIT}");
    }
    if !(60..=31_536_000).contains(&config.organization_invitation_expires_in) {
        bail!("AUTH_ORGANIZATION_INVITATION_EXPIRES_IN must be between 60 and 31536000 seconds");
    }
    if config.organization_invitation_limit == 0 {
        bail!("AUTH_ORGANIZATION_INVITATION_LIMIT must be positive");
    }
    if config
        .organization_invitation_url
        .as_ref()
        .is_some_and(|url| !url.contains("{id}") || !url.starts_with("http"))
    {
        bail!("AUTH_ORGANIZATION_INVITATION_URL must be an http(s) URL holding {{id}}");
    }
    if config.organization_limit == Some(0) {
        bail!("AUTH_ORGANIZATION_LIMIT must be positive (leave it unset for no limit)");
    }
    if config.organization_maximum_teams == Some(0) {
        bail!("AUTH_ORGANIZATION_MAXIMUM_TEAMS must be positive (leave it unset for no limit)");
    }
    if config.organization_maximum_members_per_team == Some(0) {
        bail!(
            "AUTH_ORGANIZATION_MAXIMUM_MEMBERS_PER_TEAM must be positive (leave it unset for no limit)"
        );
    }
    Ok(())
}

fn settings(config: &AppConfig) -> anyhow::Result<OrganizationConfig> {
    Ok(OrganizationConfig {
        access: access(config)?,
        allow_user_to_create: config.organization_allow_create,
        organization_limit: config.organization_limit,
        membership_limit: config.organization_membership_limit,
        disable_deletion: config.organization_disable_deletion,
        invitation_expires_in: time::Duration::seconds(
            i64::try_from(config.organization_invitation_expires_in).unwrap_or(i64::MAX),
        ),
        invitation_limit: config.organization_invitation_limit,
        require_email_verification_on_invitation: config
            .organization_require_email_verification_on_invitation,
        invitation_url: config
            .organization_invitation_url
            .clone()
            .unwrap_or_else(|| {
                format!(
                    "{}/accept-invitation/{{id}}",
                    config.base_url().trim_end_matches('/')
                )
            }),
        ..OrganizationConfig::default()
    })
}

/// The organization plugin on a store: its use cases (also its use-case half) and the plugin.
///
/// # Errors
/// Roles that are not valid (checked at startup by [`validate`] already).
pub(crate) fn plugin<S>(
    config: &AppConfig,
    store: Arc<S>,
) -> anyhow::Result<(Organizations, Plugin)>
where
    S: OrganizationRepo + InvitationRepo + RoleRepo + TeamRepo + 'static,
{
    let mut orgs = Organizations::new(store.clone(), store.clone(), settings(config)?);
    if config.organization_dynamic_roles {
        orgs = orgs.with_roles(store.clone());
    }
    if config.organization_teams {
        let teams = TeamConfig {
            maximum_teams: config.organization_maximum_teams,
            maximum_members_per_team: config.organization_maximum_members_per_team,
            allow_removing_all_teams: config.organization_allow_removing_all_teams,
            default_team: config.organization_default_team,
        };
        orgs = orgs.with_teams(store, teams);
    }
    let plugin = Plugin::new(
        Arc::new(orgs.clone()),
        Arc::new(OrganizationPlugin::new(orgs.clone())),
    );
    Ok((orgs, plugin))
}

/// The plugin for `auth-app openapi`, on a store that refuses everything.
pub(crate) fn offline_plugin(config: &AppConfig) -> anyhow::Result<Plugin> {
    Ok(plugin(config, Arc::new(NoStore))?.1)
}

#[async_trait::async_trait]
impl OrganizationRepo for NoStore {
    async fn create(&self, _: &Organization, _: &Member) -> Result<(), PortError> {
        Err(none())
    }
    async fn find(&self, _: &str) -> Result<Option<Organization>, PortError> {
        Err(none())
    }
    async fn find_by_slug(&self, _: &str) -> Result<Option<Organization>, PortError> {
        Err(none())
    }
    async fn update(&self, _: &Organization) -> Result<(), PortError> {
        Err(none())
    }
    async fn delete(&self, _: &str) -> Result<Vec<UserId>, PortError> {
        Err(none())
    }
    async fn list_for_user(&self, _: &UserId) -> Result<Vec<Organization>, PortError> {
        Err(none())
    }
    async fn count_for_user(&self, _: &UserId) -> Result<u64, PortError> {
        Err(none())
    }
    async fn find_member(&self, _: &str, _: &UserId) -> Result<Option<Member>, PortError> {
        Err(none())
    }
    async fn find_member_by_id(&self, _: &str) -> Result<Option<Member>, PortError> {
        Err(none())
    }
    async fn list_members(
        &self,
        _: &str,
        _: &MemberQuery,
    ) -> Result<(Vec<(Member, User)>, u64), PortError> {
        Err(none())
    }
    async fn count_with_role(&self, _: &str, _: &str) -> Result<u64, PortError> {
        Err(none())
    }
    async fn add_member(&self, _: &Member, _: u64) -> Result<MemberAdded, PortError> {
        Err(none())
    }
    async fn change_member_role(
        &self,
        _: &str,
        _: &RoleList,
        _: &RoleList,
        _: &str,
    ) -> Result<MemberChange, PortError> {
        Err(none())
    }
    async fn remove_member(&self, _: &str, _: &str) -> Result<MemberChange, PortError> {
        Err(none())
    }
}

#[async_trait::async_trait]
impl InvitationRepo for NoStore {
    async fn create_invitation(&self, _: &Invitation, _: u64) -> Result<Invited, PortError> {
        Err(none())
    }
    async fn find_invitation(&self, _: &str) -> Result<Option<Invitation>, PortError> {
        Err(none())
    }
    async fn pending_invitation(&self, _: &str, _: &str) -> Result<Option<Invitation>, PortError> {
        Err(none())
    }
    async fn list_invitations(&self, _: &str) -> Result<Vec<Invitation>, PortError> {
        Err(none())
    }
    async fn list_user_invitations(
        &self,
        _: &str,
    ) -> Result<Vec<(Invitation, Organization)>, PortError> {
        Err(none())
    }
    async fn extend_invitation(&self, _: &str, _: OffsetDateTime) -> Result<(), PortError> {
        Err(none())
    }
    async fn close_invitation(&self, _: &str, _: InvitationStatus) -> Result<bool, PortError> {
        Err(none())
    }
    async fn accept_invitation(
        &self,
        _: &str,
        _: &Member,
        _: u64,
        _: OffsetDateTime,
    ) -> Result<Accepted, PortError> {
        Err(none())
    }
}

#[async_trait::async_trait]
impl TeamRepo for NoStore {
    async fn create_team(&self, _: &Team, _: u64) -> Result<MemberAdded, PortError> {
        Err(none())
    }
    async fn find_team(&self, _: &str, _: &str) -> Result<Option<Team>, PortError> {
        Err(none())
    }
    async fn team_by_id(&self, _: &str) -> Result<Option<Team>, PortError> {
        Err(none())
    }
    async fn list_teams(&self, _: &str) -> Result<Vec<Team>, PortError> {
        Err(none())
    }
    async fn update_team(&self, _: &Team) -> Result<(), PortError> {
        Err(none())
    }
    async fn delete_team(&self, _: &str, _: bool) -> Result<TeamDeleted, PortError> {
        Err(none())
    }
    async fn add_team_member(&self, _: &TeamMember, _: u64) -> Result<MemberAdded, PortError> {
        Err(none())
    }
    async fn find_team_member(&self, _: &str, _: &UserId) -> Result<Option<TeamMember>, PortError> {
        Err(none())
    }
    async fn remove_team_member(&self, _: &str, _: &UserId) -> Result<bool, PortError> {
        Err(none())
    }
    async fn list_team_members(&self, _: &str) -> Result<Vec<TeamMember>, PortError> {
        Err(none())
    }
    async fn list_user_teams(&self, _: &str, _: &UserId) -> Result<Vec<Team>, PortError> {
        Err(none())
    }
}

#[async_trait::async_trait]
impl RoleRepo for NoStore {
    async fn create_role(&self, _: &StoredRole) -> Result<(), PortError> {
        Err(none())
    }
    async fn find_role(&self, _: &str, _: &str) -> Result<Option<StoredRole>, PortError> {
        Err(none())
    }
    async fn list_roles(&self, _: &str) -> Result<Vec<StoredRole>, PortError> {
        Err(none())
    }
    async fn update_role(&self, _: &StoredRole) -> Result<(), PortError> {
        Err(none())
    }
    async fn delete_role(&self, _: &str) -> Result<RoleDeleted, PortError> {
        Err(none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_roles_join_the_defaults_and_junk_roles_are_refused_at_start() {
        let config = AppConfig {
            organization_roles: Some(r#"{"auditor": {"report": ["read"]}}"#.into()),
            organization_creator_role: "owner".into(),
            ..AppConfig::default()
        };
        let access = access(&config).expect("valid roles");
        assert!(access.has_role("auditor") && access.has_role("owner"));
        for (roles, creator) in [
            (Some("not json"), "owner"),
            (Some(r#"{"bad role": {"report": ["read"]}}"#), "owner"),
            (Some(r#"{"auditor": ["read"]}"#), "owner"),
            (None, "superadmin"),
        ] {
            let bad = AppConfig {
                organization_roles: roles.map(str::to_owned),
                organization_creator_role: creator.into(),
                ..AppConfig::default()
            };
            assert!(validate(&bad).is_err(), "{roles:?} {creator}");
        }
    }

    #[test]
    fn organization_settings_are_checked() {
        let config = AppConfig::default();
        assert!(validate(&config).is_ok());
        let zero_members = AppConfig {
            organization_membership_limit: 0,
            ..AppConfig::default()
        };
        assert!(validate(&zero_members).is_err());
        let zero_orgs = AppConfig {
            organization_limit: Some(0),
            ..AppConfig::default()
        };
        assert!(validate(&zero_orgs).is_err());
        for bad in [
            AppConfig {
                organization_invitation_expires_in: 0,
                ..AppConfig::default()
            },
            AppConfig {
                organization_invitation_limit: 0,
                ..AppConfig::default()
            },
            AppConfig {
                organization_invitation_url: Some("https://app.example.com/join".into()),
                ..AppConfig::default()
            },
        ] {
            assert!(validate(&bad).is_err(), "{bad:?}");
        }
        let link = AppConfig {
            organization_invitation_url: Some("https://app.example.com/join/{id}".into()),
            ..AppConfig::default()
        };
        assert!(validate(&link).is_ok());
        assert_eq!(
            settings(&link).expect("settings").invitation_url,
            "https://app.example.com/join/{id}"
        );
        assert!(
            settings(&AppConfig::default())
                .expect("settings")
                .invitation_url
                .ends_with("/accept-invitation/{id}")
        );
    }
}
