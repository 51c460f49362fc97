//! The two-factor plugin's composition: its settings from the configuration, and the plugin on
//! a store with the server secret's cryptography.

use std::sync::Arc;

use auth_core::{TwoFactorConfig, TwoFactors};
use auth_crypto::TwoFactorCipher;
use auth_http_poem::two_factor::TwoFactorPlugin;
use auth_ports::TwoFactorRepo;

use crate::AppConfig;
use crate::plugins::Plugin;

/// The settings: the issuer authenticator apps show is `AUTH_TWO_FACTOR_ISSUER`, else the
/// app's name.
fn settings(config: &AppConfig) -> TwoFactorConfig {
    TwoFactorConfig {
        issuer: config
            .two_factor_issuer
            .clone()
            .unwrap_or_else(|| config.app_name.clone()),
        ..TwoFactorConfig::default()
    }
}

/// The two-factor plugin on a store, its secrets sealed with the server secret (as
/// Better-Auth seals them, so an adopted database keeps working).
pub(crate) fn plugin(config: &AppConfig, store: Arc<dyn TwoFactorRepo>, secret: &str) -> Plugin {
    let cipher = TwoFactorCipher::new(&auth_domain::Secret::new(secret.to_owned()));
    let two_factors = TwoFactors::new(store, Arc::new(cipher), settings(config));
    Plugin::new(
        Arc::new(two_factors.clone()),
        Arc::new(TwoFactorPlugin::new(two_factors)),
    )
}

#[async_trait::async_trait]
impl TwoFactorRepo for crate::auth_testkit_free::NoStore {
    async fn find_two_factor(
        &self,
        _: &auth_domain::UserId,
    ) -> Result<Option<auth_domain::two_factor::TwoFactor>, auth_ports::PortError> {
        Err(crate::auth_testkit_free::none())
    }
    async fn start_two_factor(
        &self,
        _: &auth_domain::two_factor::TwoFactor,
    ) -> Result<bool, auth_ports::PortError> {
        Err(crate::auth_testkit_free::none())
    }
    async fn confirm_two_factor(&self, _: &str) -> Result<bool, auth_ports::PortError> {
        Err(crate::auth_testkit_free::none())
    }
    async fn delete_two_factor(
        &self,
        _: &auth_domain::UserId,
    ) -> Result<bool, auth_ports::PortError> {
        Err(crate::auth_testkit_free::none())
    }
    async fn set_two_factor_enabled(
        &self,
        _: &auth_domain::UserId,
        _: bool,
    ) -> Result<bool, auth_ports::PortError> {
        Err(crate::auth_testkit_free::none())
    }
    async fn swap_backup_codes(
        &self,
        _: &str,
        _: &str,
        _: &str,
    ) -> Result<bool, auth_ports::PortError> {
        Err(crate::auth_testkit_free::none())
    }
    async fn claim_step(&self, _: &str, _: i64) -> Result<bool, auth_ports::PortError> {
        Err(crate::auth_testkit_free::none())
    }
    async fn begin_attempt(
        &self,
        _: &str,
        _: time::OffsetDateTime,
    ) -> Result<Option<i64>, auth_ports::PortError> {
        Err(crate::auth_testkit_free::none())
    }
    async fn lock_until(
        &self,
        _: &str,
        _: time::OffsetDateTime,
    ) -> Result<(), auth_ports::PortError> {
        Err(crate::auth_testkit_free::none())
    }
    async fn reset_failures(&self, _: &str) -> Result<(), auth_ports::PortError> {
        Err(crate::auth_testkit_free::none())
    }
}
