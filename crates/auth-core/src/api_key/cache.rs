//! Verified keys kept in process, so that a hot key is not read from the store on every use.
//! Only keys whose uses count nothing exactly (no quota, no counted rate limit) are served from
//! here; an entry lives `ttl` at most and is dropped at once when the key changes anywhere (the
//! `ApiKeyChanged` event). Bounded: when full, expired entries go, then everything.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use auth_domain::{ApiKey, User};
use time::{Duration, OffsetDateTime};

/// One cached key.
#[derive(Debug)]
pub(super) struct Cached {
    pub(super) key: ApiKey,
    /// Its owner, once a session was asked of it.
    pub(super) owner: Option<User>,
    loaded_at: OffsetDateTime,
    /// When its last use was written (`lastRequest`), in Unix seconds.
    touched_at: std::sync::atomic::AtomicI64,
}

impl Cached {
    /// A key just read from the store and used at `now` (which wrote its `lastRequest`).
    pub(super) fn new(key: ApiKey, owner: Option<User>, now: OffsetDateTime) -> Arc<Self> {
        Arc::new(Self {
            key,
            owner,
            loaded_at: now,
            touched_at: std::sync::atomic::AtomicI64::new(now.unix_timestamp()),
        })
    }

    /// The same entry (same load time and last write) with its owner.
    pub(super) fn with_owner(&self, owner: User) -> Arc<Self> {
        use std::sync::atomic::Ordering;
        Arc::new(Self {
            key: self.key.clone(),
            owner: Some(owner),
            loaded_at: self.loaded_at,
            touched_at: std::sync::atomic::AtomicI64::new(self.touched_at.load(Ordering::Relaxed)),
        })
    }

    /// Whether the use at `now` should write `lastRequest` (at most once per `interval`);
    /// claims the write when it should.
    pub(super) fn claim_touch(&self, now: OffsetDateTime, interval: Duration) -> bool {
        use std::sync::atomic::Ordering;
        let now_s = now.unix_timestamp();
        let last = self.touched_at.load(Ordering::Relaxed);
        now_s.saturating_sub(last) >= interval.whole_seconds()
            && self
                .touched_at
                .compare_exchange(last, now_s, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// The cache, keyed by key digest.
#[derive(Debug)]
pub(super) struct KeyCache {
    entries: RwLock<HashMap<String, Arc<Cached>>>,
    ttl: Duration,
    capacity: usize,
}

impl KeyCache {
    pub(super) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: RwLock::default(),
            ttl,
            capacity,
        }
    }

    fn enabled(&self) -> bool {
        self.ttl.is_positive() && self.capacity > 0
    }

    /// The fresh entry for a digest.
    pub(super) fn get(&self, digest: &str, now: OffsetDateTime) -> Option<Arc<Cached>> {
        if !self.enabled() {
            return None;
        }
        let entries = self
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cached = entries.get(digest)?;
        (now - cached.loaded_at < self.ttl).then(|| cached.clone())
    }

    /// Keeps an entry under its key's digest.
    pub(super) fn put(&self, digest: &str, cached: &Arc<Cached>) {
        if !self.enabled() {
            return;
        }
        let now = cached.loaded_at;
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(digest) {
            entries.retain(|_, entry| now - entry.loaded_at < self.ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(digest.to_owned(), cached.clone());
    }

    /// Drops every entry of a key, or of an owner.
    pub(super) fn forget(&self, matches: impl Fn(&ApiKey) -> bool) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.retain(|_, entry| !matches(&entry.key));
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn key(id: &str) -> ApiKey {
        auth_testkit::fixtures::bare_api_key(id, &format!("owner-of-{id}"), T0)
    }

    const T0: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    #[test]
    fn the_cache_is_bounded_expired_entries_go_first_then_everything() {
        let cache = KeyCache::new(Duration::seconds(1), 2);
        cache.put("a", &Cached::new(key("a"), None, T0));
        cache.put("b", &Cached::new(key("b"), None, T0 + Duration::seconds(2)));
        // "a" is stale by now: it makes room.
        cache.put("c", &Cached::new(key("c"), None, T0 + Duration::seconds(2)));
        assert_eq!(cache.len(), 2);
        assert!(cache.get("a", T0 + Duration::seconds(2)).is_none());
        // Both fresh: the next one clears the lot rather than grow.
        cache.put("d", &Cached::new(key("d"), None, T0 + Duration::seconds(2)));
        assert_eq!(cache.len(), 1);
        assert!(cache.get("d", T0 + Duration::seconds(2)).is_some());
        cache.forget(|key| key.reference_id == "owner-of-d");
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = KeyCache::new(Duration::ZERO, 10);
        cache.put("a", &Cached::new(key("a"), None, T0));
        assert_eq!(cache.len(), 0);
        assert!(cache.get("a", T0).is_none());
    }
}
