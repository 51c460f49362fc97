//! `TwoFactorRepo` in memory: every check and write under the store's one lock.

use auth_domain::UserId;
use auth_domain::two_factor::TwoFactor;
use auth_ports::{PortError, TwoFactorRepo};
use time::OffsetDateTime;

use super::MemoryStore;

#[async_trait::async_trait]
impl TwoFactorRepo for MemoryStore {
    async fn find_two_factor(&self, user_id: &UserId) -> Result<Option<TwoFactor>, PortError> {
        Ok(self
            .state()
            .two_factors
            .values()
            .find(|row| &row.user_id == user_id)
            .cloned())
    }

    async fn start_two_factor(&self, row: &TwoFactor) -> Result<bool, PortError> {
        let mut state = self.state();
        if !state.users.contains_key(&row.user_id) {
            return Err(PortError::NotFound);
        }
        if state
            .two_factors
            .values()
            .any(|existing| existing.user_id == row.user_id && existing.verified)
        {
            return Ok(false);
        }
        state
            .two_factors
            .retain(|_, existing| existing.user_id != row.user_id);
        state.two_factors.insert(
            row.id.clone(),
            TwoFactor {
                failed_verification_count: 0,
                locked_until: None,
                ..row.clone()
            },
        );
        Ok(true)
    }

    async fn confirm_two_factor(&self, id: &str) -> Result<bool, PortError> {
        let mut state = self.state();
        let Some(row) = state.two_factors.get_mut(id) else {
            return Ok(false);
        };
        row.verified = true;
        let user_id = row.user_id.clone();
        if let Some(user) = state.users.get_mut(&user_id) {
            user.two_factor_enabled = true;
        }
        Ok(true)
    }

    async fn set_two_factor_enabled(
        &self,
        user_id: &UserId,
        enabled: bool,
    ) -> Result<bool, PortError> {
        match self.state().users.get_mut(user_id) {
            Some(user) => {
                user.two_factor_enabled = enabled;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn delete_two_factor(&self, user_id: &UserId) -> Result<bool, PortError> {
        let mut state = self.state();
        if let Some(user) = state.users.get_mut(user_id) {
            user.two_factor_enabled = false;
        }
        let before = state.two_factors.len();
        state.two_factors.retain(|_, row| &row.user_id != user_id);
        Ok(state.two_factors.len() < before)
    }

    async fn swap_backup_codes(&self, id: &str, from: &str, to: &str) -> Result<bool, PortError> {
        let mut state = self.state();
        match state.two_factors.get_mut(id) {
            Some(row) if row.sealed_backup_codes == from => {
                to.clone_into(&mut row.sealed_backup_codes);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn claim_step(&self, id: &str, step: i64) -> Result<bool, PortError> {
        let mut state = self.state();
        match state.two_factors.get_mut(id) {
            Some(row) if row.last_used_step.is_none_or(|last| last < step) => {
                row.last_used_step = Some(step);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn begin_attempt(&self, id: &str, now: OffsetDateTime) -> Result<Option<i64>, PortError> {
        let mut state = self.state();
        let Some(row) = state.two_factors.get_mut(id) else {
            return Ok(None);
        };
        if row.locked_until.is_some_and(|until| until <= now) {
            row.locked_until = None;
            row.failed_verification_count = 0;
        }
        if row.locked_until.is_some() {
            return Ok(None);
        }
        row.failed_verification_count += 1;
        Ok(Some(row.failed_verification_count))
    }

    async fn lock_until(&self, id: &str, until: OffsetDateTime) -> Result<(), PortError> {
        if let Some(row) = self.state().two_factors.get_mut(id) {
            row.locked_until = Some(until);
        }
        Ok(())
    }

    async fn reset_failures(&self, id: &str) -> Result<(), PortError> {
        if let Some(row) = self.state().two_factors.get_mut(id) {
            row.failed_verification_count = 0;
            row.locked_until = None;
        }
        Ok(())
    }
}
