//! Verified keys kept in process, so that a hot key is not read from the store on every use.
//! A key whose uses count nothing (no quota, no counted rate limit) is served from here whole;
//! a key that counts keeps only its settings here, its uses being counted by the shared
//! counters or spent from leases. An entry lives `ttl` at most and is dropped at once when the
//! key changes anywhere (the `ApiKeyChanged` event). Bounded: when full, expired entries go,
//! then everything.
//!
//! A hot entry does not expire under its users: once three quarters of its `ttl` have passed,
//! the first use to see it claims its reload (one per entry) and reads the row again, while the
//! others go on with the entry, which is still fresh. Without it, every use in flight when a hot
//! entry expires would read the store at once, once a `ttl`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
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
    touched_at: AtomicI64,
    /// A use has claimed this entry's reload ([`KeyCache::claim_reload`]).
    reloading: AtomicBool,
}

impl Cached {
    /// A key just read from the store and used at `now` (which wrote its `lastRequest`).
    pub(super) fn new(key: ApiKey, owner: Option<User>, now: OffsetDateTime) -> Arc<Self> {
        Self::loaded(key, owner, now, now.unix_timestamp())
    }

    fn loaded(key: ApiKey, owner: Option<User>, now: OffsetDateTime, touched_at: i64) -> Arc<Self> {
        Arc::new(Self {
            key,
            owner,
            loaded_at: now,
            touched_at: AtomicI64::new(touched_at),
            reloading: AtomicBool::new(false),
        })
    }

    /// This entry's key and owner read again from the store at `now`: a fresh entry, which
    /// keeps when the last use was written.
    pub(super) fn reloaded(
        &self,
        key: ApiKey,
        owner: Option<User>,
        now: OffsetDateTime,
    ) -> Arc<Self> {
        Self::loaded(key, owner, now, self.touched_at.load(Ordering::Relaxed))
    }

    /// The same entry (same load time and last write) with its owner.
    pub(super) fn with_owner(&self, owner: User) -> Arc<Self> {
        Arc::new(Self {
            key: self.key.clone(),
            owner: Some(owner),
            loaded_at: self.loaded_at,
            touched_at: AtomicI64::new(self.touched_at.load(Ordering::Relaxed)),
            reloading: AtomicBool::new(self.reloading.load(Ordering::Relaxed)),
        })
    }

    /// Whether the use at `now` should write `lastRequest` (at most once per `interval`);
    /// claims the write when it should.
    pub(super) fn claim_touch(&self, now: OffsetDateTime, interval: Duration) -> bool {
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
    /// Bumped by every [`KeyCache::forget`]: a fill read from the store before a key changed
    /// must not put back what the change dropped ([`KeyCache::put`]).
    generation: AtomicU64,
}

impl KeyCache {
    pub(super) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: RwLock::default(),
            ttl,
            capacity,
            generation: AtomicU64::new(0),
        }
    }

    /// To be read before the store is, and handed to [`KeyCache::put`].
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Whether the use at `now` should read `cached` from the store again, ahead of its
    /// expiry; claims that reload (one use per entry) when it should.
    pub(super) fn claim_reload(&self, cached: &Cached, now: OffsetDateTime) -> bool {
        now - cached.loaded_at >= self.ttl * 3 / 4
            && !cached.reloading.load(Ordering::Relaxed)
            && !cached.reloading.swap(true, Ordering::Relaxed)
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

    /// Keeps an entry under its key's digest, unless a key changed since `generation` was read
    /// (what was read before may be what the change dropped).
    pub(super) fn put(&self, digest: &str, cached: &Arc<Cached>, generation: u64) {
        if !self.enabled() {
            return;
        }
        let now = cached.loaded_at;
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Checked under the lock that `forget` takes too.
        if self.generation() != generation {
            return;
        }
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
        self.generation.fetch_add(1, Ordering::SeqCst);
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
        cache.put("a", &Cached::new(key("a"), None, T0), cache.generation());
        cache.put(
            "b",
            &Cached::new(key("b"), None, T0 + Duration::seconds(2)),
            cache.generation(),
        );
        // "a" is stale by now: it makes room.
        cache.put(
            "c",
            &Cached::new(key("c"), None, T0 + Duration::seconds(2)),
            cache.generation(),
        );
        assert_eq!(cache.len(), 2);
        assert!(cache.get("a", T0 + Duration::seconds(2)).is_none());
        // Both fresh: the next one clears the lot rather than grow.
        cache.put(
            "d",
            &Cached::new(key("d"), None, T0 + Duration::seconds(2)),
            cache.generation(),
        );
        assert_eq!(cache.len(), 1);
        assert!(cache.get("d", T0 + Duration::seconds(2)).is_some());
        cache.forget(|key| key.reference_id == "owner-of-d");
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn one_use_reloads_an_entry_once_three_quarters_of_its_ttl_have_passed() {
        let cache = KeyCache::new(Duration::seconds(1), 10);
        let entry = Cached::new(key("a"), None, T0);
        cache.put("a", &entry, cache.generation());
        assert!(!cache.claim_reload(&entry, T0 + Duration::milliseconds(749)));
        assert!(cache.claim_reload(&entry, T0 + Duration::milliseconds(750)));
        // Claimed: the other uses go on with the entry, which is still fresh.
        assert!(!cache.claim_reload(&entry, T0 + Duration::milliseconds(800)));
        assert!(cache.get("a", T0 + Duration::milliseconds(800)).is_some());
        // The reloaded entry is fresh and unclaimed, and keeps the last write's time.
        entry.claim_touch(T0 + Duration::seconds(1), Duration::seconds(1));
        let reloaded = entry.reloaded(key("a"), None, T0 + Duration::milliseconds(800));
        assert!(!cache.claim_reload(&reloaded, T0 + Duration::milliseconds(1500)));
        assert!(cache.claim_reload(&reloaded, T0 + Duration::milliseconds(1550)));
        assert!(!reloaded.claim_touch(T0 + Duration::milliseconds(1999), Duration::seconds(1)));
    }

    #[test]
    fn a_fill_read_before_a_key_changed_is_not_kept() {
        let cache = KeyCache::new(Duration::seconds(1), 10);
        let read_before = cache.generation();
        cache.forget(|key| key.id == "a");
        cache.put("a", &Cached::new(key("a"), None, T0), read_before);
        assert!(cache.get("a", T0).is_none());
        cache.put("a", &Cached::new(key("a"), None, T0), cache.generation());
        assert!(cache.get("a", T0).is_some());
    }

    #[test]
    fn a_zero_ttl_keeps_nothing() {
        let cache = KeyCache::new(Duration::ZERO, 10);
        cache.put("a", &Cached::new(key("a"), None, T0), cache.generation());
        assert_eq!(cache.len(), 0);
        assert!(cache.get("a", T0).is_none());
    }
}
