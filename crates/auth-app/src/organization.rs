//! The organization plugin's composition: its settings from the configuration, and the plugin
//! on an organization store.

use std::sync::Arc;

use anyhow::bail;
use auth_core::{OrganizationConfig, Organizations};
use auth_domain::organization::{Invitation, InvitationStatus, Member, Organization, RoleList};
use auth_domain::{User, UserId};
use auth_http_poem::organization::OrganizationPlugin;
use auth_ports::{
    Accepted, InvitationRepo, Invited, MemberAdded, MemberQuery, OrganizationRepo, PortError,
};
use time::OffsetDateTime;

use crate::AppConfig;
use crate::auth_testkit_free::{NoStore, none};
use crate::plugins::Plugin;

/// Most members an organization may be configured to hold.
const MAX_MEMBERSHIP_LIMIT: u64 = 100_000;

pub(crate) fn validate(config: &AppConfig) -> anyhow::Result<()> {
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
    Ok(())
}

fn settings(config: &AppConfig) -> OrganizationConfig {
    OrganizationConfig {
        allow_user_to_create: config.organization_allow_create,
        organization_limit: config.organization_limit,
        membership_limit: config.organization_membership_limit,
        disable_deletion: config.organization_disable_deletion,
        invitation_expires_in: time::Duration::seconds(
            i64::try_from(config.organization_invitation_expires_in).unwrap_or(i64::MAX),
        ),
        invitation_limit: config.organization_invitation_limit,
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
    }
}

/// The organization plugin on a store: its use cases (also its use-case half) and the plugin.
pub(crate) fn plugin<S>(config: &AppConfig, store: Arc<S>) -> (Organizations, Plugin)
where
    S: OrganizationRepo + InvitationRepo + 'static,
{
    let orgs = Organizations::new(store.clone(), store, settings(config));
    let plugin = Plugin::new(
        Arc::new(orgs.clone()),
        Arc::new(OrganizationPlugin::new(orgs.clone())),
    );
    (orgs, plugin)
}

/// The plugin for `auth-app openapi`, on a store that refuses everything.
pub(crate) fn offline_plugin(config: &AppConfig) -> Plugin {
    plugin(config, Arc::new(NoStore)).1
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
    async fn update_member_role(&self, _: &str, _: &RoleList) -> Result<(), PortError> {
        Err(none())
    }
    async fn remove_member(&self, _: &str) -> Result<(), PortError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
            settings(&link).invitation_url,
            "https://app.example.com/join/{id}"
        );
        assert!(
            settings(&AppConfig::default())
                .invitation_url
                .ends_with("/accept-invitation/{id}")
        );
    }
}
