//! Shared key counters in process memory: for tests and a single process.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use auth_domain::{ApiKey, ApiKeyUse};
use auth_ports::{Counted, KeyCounters, PortError, Reserved};
use time::OffsetDateTime;

/// A key's counters as held.
#[derive(Debug, Clone, Copy)]
struct Held {
    remaining: Option<i64>,
    last_refill_at: Option<OffsetDateTime>,
    request_count: i64,
    last_request: Option<OffsetDateTime>,
}

impl Held {
    fn of(key: &ApiKey) -> Self {
        Self {
            remaining: key.remaining,
            last_refill_at: key.last_refill_at,
            request_count: key.request_count,
            last_request: key.last_request,
        }
    }

    fn on(self, key: &ApiKey) -> ApiKey {
        ApiKey {
            remaining: self.remaining,
            last_refill_at: self.last_refill_at,
            request_count: self.request_count,
            last_request: self.last_request,
            ..key.clone()
        }
    }
}

#[derive(Debug, Default)]
struct State {
    counters: HashMap<String, Held>,
    changed: BTreeSet<String>,
    gone: BTreeSet<String>,
}

/// `KeyCounters` behind a mutex. Passes the same conformance suite as the Redis counters.
#[derive(Debug, Default)]
pub struct MemoryKeyCounters {
    state: Mutex<State>,
}

impl MemoryKeyCounters {
    /// No counters yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl KeyCounters for MemoryKeyCounters {
    async fn count(
        &self,
        key: &ApiKey,
        now: OffsetDateTime,
        limits_enabled: bool,
    ) -> Result<Counted, PortError> {
        let mut state = self.state();
        if state.gone.contains(&key.id) {
            return Ok(Counted::Gone);
        }
        let held = state
            .counters
            .get(&key.id)
            .copied()
            .unwrap_or_else(|| Held::of(key));
        Ok(match held.on(key).count(now, limits_enabled) {
            Ok(used) => {
                let after = Held::of(&held.on(key).with_use(&used));
                state.counters.insert(key.id.clone(), after);
                state.changed.insert(key.id.clone());
                Counted::Allowed(used)
            }
            Err(refusal) => Counted::Refused(refusal),
        })
    }

    async fn reserve(
        &self,
        key: &ApiKey,
        now: OffsetDateTime,
        wanted: i64,
    ) -> Result<Reserved, PortError> {
        let mut state = self.state();
        if state.gone.contains(&key.id) {
            return Ok(Reserved::Gone);
        }
        let held = state
            .counters
            .get(&key.id)
            .copied()
            .unwrap_or_else(|| Held::of(key));
        Ok(match held.on(key).reserve(now, wanted) {
            Ok((counters, uses)) => {
                let after = Held::of(&held.on(key).with_use(&counters));
                state.counters.insert(key.id.clone(), after);
                state.changed.insert(key.id.clone());
                Reserved::Granted { counters, uses }
            }
            Err(refusal) => Reserved::Refused(refusal),
        })
    }

    async fn reset(&self, key: &ApiKey) -> Result<(), PortError> {
        let mut state = self.state();
        if let Some(held) = state.counters.get_mut(&key.id) {
            held.remaining = key.remaining;
        }
        Ok(())
    }

    async fn revoke(&self, key_id: &str) -> Result<(), PortError> {
        let mut state = self.state();
        state.counters.remove(key_id);
        state.changed.remove(key_id);
        state.gone.insert(key_id.to_owned());
        Ok(())
    }

    async fn take_changed(&self, max: usize) -> Result<Vec<(String, ApiKeyUse)>, PortError> {
        let mut state = self.state();
        let ids: Vec<String> = state.changed.iter().take(max).cloned().collect();
        let mut taken = Vec::new();
        for id in ids {
            state.changed.remove(&id);
            if let Some(held) = state.counters.get(&id)
                && let Some(last_request) = held.last_request
            {
                taken.push((
                    id,
                    ApiKeyUse {
                        remaining: held.remaining,
                        last_refill_at: held.last_refill_at,
                        request_count: held.request_count,
                        last_request,
                    },
                ));
            }
        }
        Ok(taken)
    }

    async fn mark_changed(&self, key_ids: &[String]) -> Result<(), PortError> {
        self.state().changed.extend(key_ids.iter().cloned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::MemoryKeyCounters;

    #[tokio::test]
    async fn the_memory_counters_pass_the_key_counters_suite() {
        crate::conformance::run_key_counters_suite(&MemoryKeyCounters::new()).await;
    }
}
