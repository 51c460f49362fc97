//! Leases: blocks of uses of a key with a large quota, reserved at once from the shared
//! counters and spent in this process one use at a time, so that a hot key costs one Redis call
//! per block rather than per use. The granted uses of every process never exceed the quota;
//! uses leased and never spent (a process stops, the key changes) are lost from the quota, at
//! most one block per process, a hundredth of what was left when it was leased.

use std::collections::HashMap;
use std::sync::Mutex;

use auth_domain::{ApiKey, ApiKeyUse};
use time::OffsetDateTime;

/// A key with fewer uses left than this is counted one use at a time, exactly.
pub(super) const LEASE_FROM: i64 = 10_000;

/// Most uses in one lease.
pub(super) const LEASE_MAX: i64 = 1_000;

/// This process's leases.
#[derive(Debug, Default)]
pub(super) struct Leases {
    by_key: Mutex<HashMap<String, Lease>>,
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    /// Uses still to spend here.
    left: i64,
    /// What the shared counters had left after the last reservation.
    shared: Option<i64>,
}

impl Leases {
    fn by_key(&self) -> std::sync::MutexGuard<'_, HashMap<String, Lease>> {
        self.by_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One use from this process's lease of the key, if it holds any.
    pub(super) fn take(
        &self,
        key_id: &str,
        key: &ApiKey,
        now: OffsetDateTime,
    ) -> Option<ApiKeyUse> {
        let mut by_key = self.by_key();
        let lease = by_key.get_mut(key_id)?;
        if lease.left <= 0 {
            return None;
        }
        lease.left -= 1;
        Some(ApiKeyUse {
            // What is left everywhere, as far as this process knows.
            remaining: lease.shared.map(|shared| shared + lease.left),
            last_refill_at: key.last_refill_at,
            request_count: key.request_count,
            last_request: now,
        })
    }

    /// How many uses to reserve next: one near the end of the quota, else a hundredth of what
    /// is left (at most [`LEASE_MAX`]).
    pub(super) fn size_for(&self, key_id: &str, stored_remaining: Option<i64>) -> i64 {
        let known = self
            .by_key()
            .get(key_id)
            .and_then(|lease| lease.shared)
            .or(stored_remaining);
        match known {
            Some(left) if left >= LEASE_FROM => (left / 100).min(LEASE_MAX),
            _ => 1,
        }
    }

    /// Keeps `uses` more uses of the key, the shared counters having `shared` left.
    pub(super) fn add(&self, key_id: &str, uses: i64, shared: Option<i64>) {
        let mut by_key = self.by_key();
        let lease = by_key.entry(key_id.to_owned()).or_insert(Lease {
            left: 0,
            shared: None,
        });
        lease.left += uses.max(0);
        lease.shared = shared;
    }

    /// Forgets the lease of a key that changed (its uses are lost).
    pub(super) fn drop_key(&self, key_id: &str) {
        self.by_key().remove(key_id);
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    #[test]
    fn leases_are_a_hundredth_of_what_is_left_and_single_uses_near_the_end() {
        let leases = Leases::default();
        assert_eq!(leases.size_for("k", Some(LEASE_FROM - 1)), 1);
        assert_eq!(leases.size_for("k", Some(50_000)), 500);
        assert_eq!(leases.size_for("k", Some(1_000_000_000)), LEASE_MAX);
        assert_eq!(leases.size_for("k", None), 1);
        leases.add("k", 2, Some(20_000));
        assert_eq!(
            leases.size_for("k", Some(1_000_000)),
            200,
            "the last known share wins"
        );
        let key = auth_testkit::fixtures::bare_api_key("k", "o", T0);
        let first = leases.take("k", &key, T0).expect("leased");
        assert_eq!(first.remaining, Some(20_001));
        assert!(leases.take("k", &key, T0).is_some());
        assert!(leases.take("k", &key, T0).is_none(), "spent");
        leases.add("k", 5, Some(100));
        leases.drop_key("k");
        assert!(leases.take("k", &key, T0).is_none(), "dropped with the key");
    }
}
