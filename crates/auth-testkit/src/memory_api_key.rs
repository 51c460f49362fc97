//! The in-memory `apikey` table.

use std::sync::{Mutex, MutexGuard};

use auth_domain::{ApiKey, ApiKeyUse, Permissions};
use auth_ports::{ApiKeyRepo, KeyUse, PortError, Reserved};
use time::OffsetDateTime;

/// API keys (with their digests) in a vector behind a mutex: for tests and single-process
/// demos. Passes the same conformance suite as the SQL store.
#[derive(Debug, Default)]
pub struct MemoryApiKeyRepo {
    keys: Mutex<Vec<(ApiKey, String)>>,
    /// How `write_counters` answers ([`CounterWrites`] as a number).
    counter_writes: std::sync::atomic::AtomicU8,
    /// `find_by_digest` answers `Unavailable` ([`MemoryApiKeyRepo::fail_reads`]).
    reads_fail: std::sync::atomic::AtomicBool,
    /// Calls of `find_by_digest` so far.
    digest_reads: std::sync::atomic::AtomicUsize,
    /// Calls of `reserve` so far, and those for more than one use.
    reservations: std::sync::atomic::AtomicUsize,
    block_reservations: std::sync::atomic::AtomicUsize,
    /// `reserve` answers `Unavailable` ([`MemoryApiKeyRepo::fail_reservations`]).
    reservations_fail: std::sync::atomic::AtomicBool,
}

/// How [`MemoryApiKeyRepo::write_counters`] answers, to test what callers do with failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterWrites {
    /// It writes.
    Work = 0,
    /// `Unavailable`, as a database that is down.
    Unavailable = 1,
    /// `Internal`, as a row the database will never take.
    Broken = 2,
}

impl MemoryApiKeyRepo {
    /// An empty key table.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `write_counters` answer as `answer` says.
    pub fn counter_writes(&self, answer: CounterWrites) {
        self.counter_writes
            .store(answer as u8, std::sync::atomic::Ordering::SeqCst);
    }

    /// Makes `find_by_digest` answer `Unavailable` (a database that is down), or answer again.
    pub fn fail_reads(&self, fail: bool) {
        self.reads_fail
            .store(fail, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many times `find_by_digest` was called.
    pub fn digest_reads(&self) -> usize {
        self.digest_reads.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many times `reserve` was called.
    pub fn reservations(&self) -> usize {
        self.reservations.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many times `reserve` was called for more than one use (a lease's block).
    pub fn block_reservations(&self) -> usize {
        self.block_reservations
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Makes `reserve` answer `Unavailable` (a database that is down), or answer again.
    pub fn fail_reservations(&self, fail: bool) {
        self.reservations_fail
            .store(fail, std::sync::atomic::Ordering::SeqCst);
    }

    fn keys(&self) -> MutexGuard<'_, Vec<(ApiKey, String)>> {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl ApiKeyRepo for MemoryApiKeyRepo {
    async fn create(&self, key: &ApiKey, digest: &str) -> Result<(), PortError> {
        let mut keys = self.keys();
        if keys.iter().any(|(stored, _)| stored.id == key.id) {
            return Err(PortError::Conflict);
        }
        keys.push((key.clone(), digest.to_owned()));
        Ok(())
    }

    async fn find(&self, id: &str) -> Result<Option<ApiKey>, PortError> {
        Ok(self
            .keys()
            .iter()
            .find(|(key, _)| key.id == id)
            .map(|(key, _)| key.clone()))
    }

    async fn find_by_digest(&self, digest: &str) -> Result<Option<ApiKey>, PortError> {
        self.digest_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.reads_fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(PortError::Unavailable("the key table is down".into()));
        }
        Ok(self
            .keys()
            .iter()
            .find(|(_, stored)| stored == digest)
            .map(|(key, _)| key.clone()))
    }

    async fn list(
        &self,
        reference_id: &str,
        config_id: Option<&str>,
    ) -> Result<Vec<ApiKey>, PortError> {
        let mut keys: Vec<ApiKey> = self
            .keys()
            .iter()
            .map(|(key, _)| key)
            .filter(|key| key.reference_id == reference_id)
            .filter(|key| config_id.is_none_or(|config_id| key.config_id == config_id))
            .cloned()
            .collect();
        keys.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(keys)
    }

    async fn update(&self, key: &ApiKey) -> Result<(), PortError> {
        let mut keys = self.keys();
        let (stored, _) = keys
            .iter_mut()
            .find(|(stored, _)| stored.id == key.id)
            .ok_or(PortError::NotFound)?;
        *stored = ApiKey {
            id: stored.id.clone(),
            config_id: stored.config_id.clone(),
            start: stored.start.clone(),
            prefix: stored.prefix.clone(),
            reference_id: stored.reference_id.clone(),
            created_at: stored.created_at,
            remaining: stored.remaining,
            request_count: stored.request_count,
            last_request: stored.last_request,
            last_refill_at: stored.last_refill_at,
            ..key.clone()
        };
        Ok(())
    }

    async fn use_key(
        &self,
        digest: &str,
        now: OffsetDateTime,
        required: Option<&Permissions>,
        limits_enabled: bool,
    ) -> Result<KeyUse, PortError> {
        let mut keys = self.keys();
        let Some((key, _)) = keys.iter_mut().find(|(_, stored)| stored == digest) else {
            return Ok(KeyUse::Missing);
        };
        match key.use_at(now, required, limits_enabled) {
            Ok(used) => {
                *key = key.clone().with_use(&used);
                Ok(KeyUse::Allowed(key.clone()))
            }
            Err(refusal) => Ok(KeyUse::Refused(key.clone(), refusal)),
        }
    }

    async fn reserve(
        &self,
        id: &str,
        now: OffsetDateTime,
        wanted: i64,
    ) -> Result<Reserved, PortError> {
        self.reservations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if wanted > 1 {
            self.block_reservations
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        // Other requests run meanwhile, as during a database's round trip.
        tokio::task::yield_now().await;
        if self
            .reservations_fail
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(PortError::Unavailable("the key table is down".into()));
        }
        let mut keys = self.keys();
        let Some((key, _)) = keys.iter_mut().find(|(key, _)| key.id == id) else {
            return Ok(Reserved::Gone);
        };
        Ok(match key.reserve(now, wanted) {
            Ok((counters, uses)) => {
                *key = key.clone().with_use(&counters);
                Reserved::Granted { counters, uses }
            }
            Err(refusal) => Reserved::Refused(refusal),
        })
    }

    async fn set_remaining(&self, id: &str, remaining: Option<i64>) -> Result<bool, PortError> {
        let mut keys = self.keys();
        let Some((key, _)) = keys.iter_mut().find(|(key, _)| key.id == id) else {
            return Ok(false);
        };
        key.remaining = remaining;
        Ok(true)
    }

    async fn write_counters(&self, id: &str, counters: &ApiKeyUse) -> Result<(), PortError> {
        let answer = self
            .counter_writes
            .load(std::sync::atomic::Ordering::SeqCst);
        if answer == CounterWrites::Unavailable as u8 {
            return Err(PortError::Unavailable("the key table is down".into()));
        }
        if answer == CounterWrites::Broken as u8 {
            return Err(PortError::Internal("the counters do not fit".into()));
        }
        if let Some((key, _)) = self.keys().iter_mut().find(|(key, _)| key.id == id) {
            *key = key.clone().with_use(counters);
        }
        Ok(())
    }

    async fn touch(&self, id: &str, at: OffsetDateTime) -> Result<(), PortError> {
        if let Some((key, _)) = self.keys().iter_mut().find(|(key, _)| key.id == id) {
            key.last_request = Some(at);
            key.updated_at = at;
        }
        Ok(())
    }

    async fn delete(&self, id: &str) -> Result<bool, PortError> {
        let mut keys = self.keys();
        let before = keys.len();
        keys.retain(|(key, _)| key.id != id);
        Ok(keys.len() < before)
    }

    async fn delete_by_reference(&self, reference_id: &str) -> Result<u64, PortError> {
        let mut keys = self.keys();
        let before = keys.len();
        keys.retain(|(key, _)| key.reference_id != reference_id);
        Ok((before - keys.len()) as u64)
    }

    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, PortError> {
        let mut keys = self.keys();
        let before = keys.len();
        keys.retain(|(key, _)| key.expires_at.is_none_or(|at| at >= now));
        Ok((before - keys.len()) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryApiKeyRepo;

    #[tokio::test]
    async fn the_memory_repo_passes_the_api_key_suite() {
        crate::conformance::run_api_key_suite(&MemoryApiKeyRepo::new()).await;
    }
}
