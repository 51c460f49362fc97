//! The in-memory `jwks` table.

use std::sync::{Mutex, MutexGuard};

use auth_domain::{Jwk, JwkId};
use auth_ports::{JwksRepo, PortError};
use time::OffsetDateTime;

/// Signing keys in a vector behind a mutex: for tests and single-process demos.
#[derive(Debug, Default)]
pub struct MemoryJwksRepo {
    keys: Mutex<Vec<Jwk>>,
}

impl MemoryJwksRepo {
    /// An empty key table.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn keys(&self) -> MutexGuard<'_, Vec<Jwk>> {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl JwksRepo for MemoryJwksRepo {
    async fn create(&self, key: &Jwk) -> Result<(), PortError> {
        let mut keys = self.keys();
        if keys.iter().any(|existing| existing.id == key.id) {
            return Err(PortError::Conflict);
        }
        keys.push(key.clone());
        Ok(())
    }

    async fn list_all(&self) -> Result<Vec<Jwk>, PortError> {
        let mut keys = self.keys().clone();
        keys.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(keys)
    }

    async fn update_expiry(&self, id: &JwkId, expires_at: OffsetDateTime) -> Result<(), PortError> {
        let mut keys = self.keys();
        let Some(key) = keys.iter_mut().find(|key| &key.id == id) else {
            return Err(PortError::NotFound);
        };
        key.expires_at = Some(expires_at);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_key_table_passes_the_jwks_suite() {
        crate::conformance::run_jwks_suite(&MemoryJwksRepo::new()).await;
    }
}
