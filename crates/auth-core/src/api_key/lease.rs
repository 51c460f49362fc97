//! Leases: blocks of uses of a key with a large quota, reserved at once from the shared
//! counters and spent in this process one use at a time, so that a hot key costs one call per
//! block rather than per use. The granted uses of every process never exceed the quota. One
//! reservation per key is in flight at a time (requests that find none left meanwhile wait for
//! it, [`Leases::reserved`], and are counted one use at a time only after [`WAITS`] blocks that
//! others spent first, or when a block brought nothing), the next block is reserved ahead when
//! under half of the last is left, a lease lives no longer than the key cache's TTL nor past
//! the key's next refill (its uses were the last interval's), and a change of the key drops it
//! (even one reserved while the change was told). Blocks follow the key's traffic: they double
//! while spent in time and halve when one expires unspent, whose uses are lost from the quota.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::task::{Poll, Waker};

use auth_domain::{ApiKey, ApiKeyUse};
use time::{Duration, OffsetDateTime};

/// A key with fewer uses left than this is counted one use at a time, exactly.
pub(super) const LEASE_FROM: i64 = 10_000;

/// Most uses in one lease.
pub(super) const LEASE_MAX: i64 = 10_000;

/// The first block of a key: blocks then double while they are spent within the lease's
/// lifetime and halve when one expires unspent, so that a busy key reserves seldom and a quiet
/// one loses next to nothing to expired leases (down to one use: counted exactly).
const FIRST_BLOCK: i64 = 16;

/// How many reservations of others a use that finds the lease empty waits for, at most, before
/// it is counted alone (blocks that others spend first).
pub(super) const WAITS: u32 = 8;

/// Most keys with a lease in one process; past it, every lease is dropped.
const MAX_KEYS: usize = 10_000;

/// What a reservation granted, to keep in the lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Grant {
    /// Uses to spend here.
    pub(super) uses: i64,
    /// What the shared counters had left after it.
    pub(super) shared: Option<i64>,
    /// When the key's quota is refilled next ([`Grant::refill_due`]).
    pub(super) refill_due: Option<OffsetDateTime>,
}

impl Grant {
    /// `uses` of `key`, the shared counters being `counters` after the reservation.
    pub(super) fn of(key: &ApiKey, counters: &ApiKeyUse, uses: i64) -> Self {
        Self {
            uses,
            shared: counters.remaining,
            refill_due: Self::refill_due(key, counters),
        }
    }

    /// When the quota of `key` is refilled next, its counters being `counters`: the refill
    /// comes at the first use more than `refillInterval` after the last refill (or the key's
    /// creation); `None` when the key is not refilled.
    fn refill_due(key: &ApiKey, counters: &ApiKeyUse) -> Option<OffsetDateTime> {
        key.refill_amount?;
        let interval = key.refill_interval?;
        let since = counters.last_refill_at.unwrap_or(key.created_at);
        since.checked_add(interval)
    }
}

/// This process's leases.
#[derive(Debug, Default)]
pub(super) struct Leases {
    by_key: Mutex<HashMap<String, Lease>>,
    /// Who waits for a reservation to end ([`Leases::reserved`]); all are woken at each end.
    waiting: Mutex<Vec<Waker>>,
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    /// Uses still to spend here.
    left: i64,
    /// Uses of the last block reserved: under half of it left, the next is reserved ahead.
    block: i64,
    /// The size of the next block (0: not known yet).
    next: i64,
    /// What the shared counters had left after the last reservation.
    shared: Option<i64>,
    /// When the uses were reserved.
    leased_at: OffsetDateTime,
    /// When the key's quota is refilled next, as the reservation left it: uses reserved before
    /// a refill belong to the interval that ends there and are not spent after it.
    refill_due: Option<OffsetDateTime>,
    /// Bumped when the key changes: a reservation started before is not kept.
    generation: u64,
    /// A reservation is in flight.
    reserving: bool,
    /// Reservations of the key ended so far ([`Leases::reserved`]).
    ends: u64,
    /// The last one to end kept uses here.
    granted: bool,
}

impl Lease {
    fn empty() -> Self {
        Self {
            left: 0,
            block: 0,
            next: 0,
            shared: None,
            leased_at: OffsetDateTime::UNIX_EPOCH,
            refill_due: None,
            generation: 0,
            reserving: false,
            ends: 0,
            granted: false,
        }
    }
}

impl Leases {
    fn by_key(&self) -> std::sync::MutexGuard<'_, HashMap<String, Lease>> {
        self.by_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// One use from this process's lease of the key, if it holds one younger than `ttl`, and
    /// whether the lease runs low (under half of its last block left, and no reservation in
    /// flight): then the caller reserves the next block ahead, so that requests seldom find the
    /// lease empty and fall back to counting one use at a time.
    pub(super) fn take(
        &self,
        key: &ApiKey,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Option<(ApiKeyUse, bool)> {
        let mut by_key = self.by_key();
        let lease = by_key.get_mut(&key.id)?;
        if lease.refill_due.is_some_and(|due| now > due) {
            // The quota was refilled (or is at the next use): what is left of the lease was
            // the last interval's, and spending it now would exceed the new one's amount. So
            // is what the shared counters had left then: the next block is sized afresh.
            lease.left = 0;
            lease.shared = None;
            lease.refill_due = None;
            return None;
        }
        if now - lease.leased_at >= ttl {
            if lease.left > 0 {
                // Expired unspent: the key is quieter than its blocks; the uses are lost.
                lease.next = (lease.block / 2).max(1);
            }
            lease.left = 0;
            return None;
        }
        if lease.left <= 0 {
            // Spent within its lifetime: the key is busier than its blocks.
            lease.next = lease.block.saturating_mul(2).max(FIRST_BLOCK);
            return None;
        }
        lease.left -= 1;
        let low = !lease.reserving && lease.left.saturating_mul(2) < lease.block;
        if low {
            lease.next = lease.block.saturating_mul(2).max(FIRST_BLOCK);
        }
        let used = ApiKeyUse {
            // What is left everywhere, as far as this process knows.
            remaining: lease.shared.map(|shared| shared + lease.left),
            last_refill_at: key.last_refill_at,
            request_count: key.request_count,
            last_request: now,
        };
        Some((used, low))
    }

    /// How many uses to reserve next: one near the end of the quota; else the key's next
    /// block (see [`FIRST_BLOCK`]), at most a hundredth of what is left and [`LEASE_MAX`].
    pub(super) fn size_for(&self, key_id: &str, stored_remaining: Option<i64>) -> i64 {
        let by_key = self.by_key();
        let lease = by_key.get(key_id);
        let known = lease.and_then(|lease| lease.shared).or(stored_remaining);
        let next = lease
            .map(|lease| lease.next)
            .filter(|next| *next > 0)
            .unwrap_or(FIRST_BLOCK);
        match known {
            Some(left) if left >= LEASE_FROM => next.min(left / 100).min(LEASE_MAX),
            _ => 1,
        }
    }

    /// Claims the key's reservation: a claim to [`Claim::end`], or `None` when another
    /// request is reserving already. A claim dropped without ending (the request was
    /// cancelled) releases the reservation.
    pub(super) fn claim<'a>(&'a self, key_id: &str) -> Option<Claim<'a>> {
        let generation = self.begin(key_id)?;
        Some(Claim {
            leases: self,
            key_id: key_id.to_owned(),
            generation,
            ended: false,
        })
    }

    /// Claims the key's reservation: its generation, or `None` when another request is
    /// reserving already.
    fn begin(&self, key_id: &str) -> Option<u64> {
        let mut by_key = self.by_key();
        let full = by_key.len() >= MAX_KEYS && !by_key.contains_key(key_id);
        if full {
            // Reservations in flight go too: who waits for them looks again.
            by_key.clear();
        }
        let lease = by_key.entry(key_id.to_owned()).or_insert_with(Lease::empty);
        let generation = (!lease.reserving).then_some(lease.generation);
        if generation.is_some() {
            lease.reserving = true;
        }
        drop(by_key);
        if full {
            self.wake_waiting();
        }
        generation
    }

    /// Ends the reservation claimed by [`Leases::begin`]: keeps `uses` more uses (the shared
    /// counters having `shared` left) unless the key changed meanwhile.
    fn end(&self, key_id: &str, generation: u64, granted: Option<Grant>, now: OffsetDateTime) {
        if let Some(lease) = self.by_key().get_mut(key_id) {
            lease.reserving = false;
            lease.ends += 1;
            lease.granted = false;
            if let Some(grant) = granted
                && lease.generation == generation
            {
                lease.granted = grant.uses > 0;
                if grant.refill_due != lease.refill_due {
                    // A refill happened since the last block: what was left of it is spent.
                    lease.left = 0;
                }
                lease.left += grant.uses.max(0);
                lease.block = grant.uses.max(0);
                lease.shared = grant.shared;
                lease.leased_at = now;
                lease.refill_due = grant.refill_due;
            }
        }
        self.wake_waiting();
    }

    /// Tells whoever waits for a reservation ([`Leases::reserved`]) to look again.
    fn wake_waiting(&self) {
        let waiting = std::mem::take(
            &mut *self
                .waiting
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for waker in waiting {
            waker.wake();
        }
    }

    #[cfg(test)]
    fn claimed(&self, key_id: &str) -> bool {
        self.by_key()
            .get(key_id)
            .is_some_and(|lease| lease.reserving)
    }

    /// Ready once the key's reservation in flight, if any, has ended: a request that found the
    /// lease empty waits for the block being reserved rather than count its one use against
    /// the same row (many such writes at once would queue before the block's own). True when
    /// that reservation kept uses here (or none was in flight): worth looking at the lease
    /// again; false when it brought none (refused, failed, or dropped with a full table), so
    /// that the next ones do not wait in turn for a store that fails. Bounded by the
    /// reservation's own store call: a claim ends when its call does, or when it is dropped.
    pub(super) fn reserved<'a>(&'a self, key_id: &'a str) -> impl Future<Output = bool> + 'a {
        let seen = self
            .by_key()
            .get(key_id)
            .filter(|lease| lease.reserving)
            .map(|lease| lease.ends);
        futures_util::future::poll_fn(move |cx| {
            let Some(seen) = seen else {
                return Poll::Ready(true);
            };
            if let Some(granted) = self.outcome(key_id, seen) {
                return Poll::Ready(granted);
            }
            self.waiting
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(cx.waker().clone());
            // An end between the look above and the push woke the list before the push.
            match self.outcome(key_id, seen) {
                Some(granted) => Poll::Ready(granted),
                None => Poll::Pending,
            }
        })
    }

    /// How the key's reservation that was in flight when it had ended `seen` reservations
    /// ended: whether it kept uses here; `None` while it is still in flight.
    fn outcome(&self, key_id: &str, seen: u64) -> Option<bool> {
        match self.by_key().get(key_id) {
            // Dropped with the whole table.
            None => Some(false),
            Some(lease) if lease.ends != seen || !lease.reserving => Some(lease.granted),
            Some(_) => None,
        }
    }

    /// Drops the lease of a key that changed (its uses are lost), and any reservation of it
    /// in flight.
    pub(super) fn drop_key(&self, key_id: &str) {
        if let Some(lease) = self.by_key().get_mut(key_id) {
            lease.left = 0;
            lease.shared = None;
            lease.generation += 1;
        }
    }
}

/// A reservation in flight, released when dropped.
pub(super) struct Claim<'a> {
    leases: &'a Leases,
    key_id: String,
    generation: u64,
    ended: bool,
}

impl Claim<'_> {
    /// Keeps the granted uses, when granted, unless the key changed meanwhile; releases the
    /// reservation.
    pub(super) fn end(mut self, granted: Option<Grant>, now: OffsetDateTime) {
        self.ended = true;
        self.leases.end(&self.key_id, self.generation, granted, now);
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if !self.ended {
            self.leases.end(
                &self.key_id,
                self.generation,
                None,
                OffsetDateTime::UNIX_EPOCH,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);
    const TTL: Duration = Duration::seconds(1);

    fn grant(uses: i64, shared: Option<i64>) -> Grant {
        Grant {
            uses,
            shared,
            refill_due: None,
        }
    }

    /// A waker that records being woken.
    struct Flag(std::sync::atomic::AtomicBool);

    impl std::task::Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    impl Flag {
        fn woken(&self) -> bool {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    /// Polls once: what it answered, if ready, and the waker it was given.
    fn poll_once(
        future: std::pin::Pin<&mut impl Future<Output = bool>>,
    ) -> (Poll<bool>, std::sync::Arc<Flag>) {
        let flag = std::sync::Arc::new(Flag(std::sync::atomic::AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let answer = future.poll(&mut std::task::Context::from_waker(&waker));
        (answer, flag)
    }

    #[test]
    fn a_wait_for_the_keys_reservation_ends_with_it_and_says_whether_it_brought_uses() {
        let leases = Leases::default();
        let mut idle = std::pin::pin!(leases.reserved("k"));
        assert_eq!(
            poll_once(idle.as_mut()).0,
            Poll::Ready(true),
            "none in flight"
        );
        let claim = leases.claim("k").expect("claimed");
        let mut waiting = std::pin::pin!(leases.reserved("k"));
        let (answer, woken) = poll_once(waiting.as_mut());
        assert_eq!(answer, Poll::Pending, "a block is on its way");
        // Another key's reservation wakes it, and it waits on.
        leases
            .claim("j")
            .expect("another key")
            .end(Some(grant(8, None)), T0);
        assert!(woken.woken());
        let (answer, woken) = poll_once(waiting.as_mut());
        assert_eq!(answer, Poll::Pending, "not its key's");
        claim.end(Some(grant(32, None)), T0);
        assert!(woken.woken(), "woken when its key's ends");
        assert_eq!(poll_once(waiting.as_mut()).0, Poll::Ready(true));
        // Refused, failed or cancelled (a claim dropped without ending): it brought nothing.
        let claim = leases.claim("k").expect("claimed again");
        let mut waiting = std::pin::pin!(leases.reserved("k"));
        let (_, woken) = poll_once(waiting.as_mut());
        drop(claim);
        assert!(woken.woken());
        assert_eq!(poll_once(waiting.as_mut()).0, Poll::Ready(false));
    }

    #[test]
    fn a_wait_ends_when_the_full_table_drops_the_reservation() {
        let leases = Leases::default();
        let claim = leases.claim("k").expect("claimed");
        let mut waiting = std::pin::pin!(leases.reserved("k"));
        let (_, woken) = poll_once(waiting.as_mut());
        // Others' reservations, still in flight, fill the table.
        let others: Vec<_> = (1..MAX_KEYS)
            .map(|n| leases.claim(&format!("other-{n}")))
            .collect();
        assert!(!woken.woken());
        let last = leases.claim("one-too-many");
        assert!(woken.woken());
        assert_eq!(
            poll_once(waiting.as_mut()).0,
            Poll::Ready(false),
            "the table was cleared: nothing to wait for"
        );
        drop((others, last, claim));
    }

    #[test]
    fn leases_are_a_hundredth_of_what_is_left_and_single_uses_near_the_end() {
        let leases = Leases::default();
        assert_eq!(leases.size_for("k", Some(LEASE_FROM - 1)), 1);
        assert_eq!(leases.size_for("k", Some(1_000)), 1, "under LEASE_FROM");
        assert_eq!(leases.size_for("k", Some(1_000_000_000)), FIRST_BLOCK);
        assert_eq!(
            leases.size_for("k", Some(LEASE_FROM)),
            FIRST_BLOCK.min(LEASE_FROM / 100)
        );
        assert_eq!(leases.size_for("k", None), 1);
        let claim = leases.claim("k").expect("first");
        assert!(leases.claim("k").is_none(), "one reservation at a time");
        claim.end(Some(grant(2, Some(1_000))), T0);
        assert_eq!(
            leases.size_for("k", Some(1_000_000)),
            1,
            "the last known share wins: 1 000 left is counted one use at a time"
        );
        let key = auth_testkit::fixtures::bare_api_key("k", "o", T0);
        let (first, low) = leases.take(&key, T0, TTL).expect("leased");
        assert_eq!(first.remaining, Some(1_001));
        assert!(!low, "one of two left: half, not under");
        let (_, low) = leases.take(&key, T0, TTL).expect("leased");
        assert!(low, "none of two left");
        assert!(leases.take(&key, T0, TTL).is_none(), "spent");
    }

    #[test]
    fn a_lease_asks_for_the_next_block_once_under_half_and_not_while_reserving() {
        let leases = Leases::default();
        let key = auth_testkit::fixtures::bare_api_key("k", "o", T0);
        leases
            .claim("k")
            .expect("claimed")
            .end(Some(grant(4, Some(50_000))), T0);
        let low = |leases: &Leases| leases.take(&key, T0, TTL).expect("leased").1;
        assert!(!low(&leases), "three of four left");
        assert!(!low(&leases), "two of four left: half");
        let ahead = leases.claim("k").expect("the next block is claimed");
        assert!(!low(&leases), "under half, but a reservation is in flight");
        ahead.end(Some(grant(4, Some(49_000))), T0);
        assert_eq!(
            leases.take(&key, T0, TTL).map(|(used, _)| used.remaining),
            Some(Some(49_004)),
            "the next block adds to the one left: 5, then 4 after this use"
        );
    }

    #[test]
    fn blocks_double_while_spent_in_time_and_halve_when_they_expire_unspent() {
        let leases = Leases::default();
        let key = auth_testkit::fixtures::bare_api_key("k", "o", T0);
        let plenty = Some(1_000_000_000);
        let grant = |size: i64| {
            leases
                .claim("k")
                .expect("claimed")
                .end(Some(grant(size, Some(900_000_000))), T0);
        };
        let mut size = leases.size_for("k", plenty);
        assert_eq!(size, FIRST_BLOCK);
        for _ in 0..12 {
            grant(size);
            while leases.take(&key, T0, TTL).is_some() {}
            let next = leases.size_for("k", plenty);
            assert!(next == (size * 2).min(LEASE_MAX), "{size} then {next}");
            size = next;
        }
        assert_eq!(size, LEASE_MAX, "a busy key's blocks grow to the most");
        grant(size);
        assert!(leases.take(&key, T0, TTL).is_some());
        assert!(
            leases.take(&key, T0 + TTL, TTL).is_none(),
            "expired unspent"
        );
        assert_eq!(leases.size_for("k", plenty), LEASE_MAX / 2);
        let mut quiet = LEASE_MAX / 2;
        while quiet > 1 {
            grant(quiet);
            assert!(leases.take(&key, T0 + TTL, TTL).is_none());
            quiet = leases.size_for("k", plenty);
        }
        assert_eq!(quiet, 1, "a quiet key ends up counted one use at a time");
    }

    #[test]
    fn a_lease_expires_with_the_cache_and_a_change_drops_it_even_in_flight() {
        let leases = Leases::default();
        let key = auth_testkit::fixtures::bare_api_key("k", "o", T0);
        leases
            .claim("k")
            .expect("claimed")
            .end(Some(grant(5, Some(50_000))), T0);
        assert!(
            leases.take(&key, T0 + TTL, TTL).is_none(),
            "no older than the TTL"
        );
        leases
            .claim("k")
            .expect("claimed")
            .end(Some(grant(5, Some(50_000))), T0);
        leases.drop_key("k");
        assert!(leases.take(&key, T0, TTL).is_none(), "dropped with the key");
        let in_flight = leases.claim("k").expect("claimed");
        leases.drop_key("k");
        in_flight.end(Some(grant(5, Some(50_000))), T0);
        assert!(
            leases.take(&key, T0, TTL).is_none(),
            "a reservation that raced the change is not kept"
        );
        let cancelled = leases.claim("k").expect("the claim was released");
        assert!(leases.claimed("k"));
        drop(cancelled);
        assert!(
            !leases.claimed("k"),
            "a cancelled reservation releases its claim"
        );
    }

    #[test]
    fn a_lease_reserved_before_a_refill_is_not_spent_after_it() {
        let leases = Leases::default();
        let key = ApiKey {
            refill_amount: Some(1_000_000),
            refill_interval: Some(Duration::minutes(1)),
            ..auth_testkit::fixtures::bare_api_key("k", "o", T0)
        };
        let counters = ApiKeyUse {
            remaining: Some(500_000),
            last_refill_at: Some(T0),
            request_count: 0,
            last_request: T0,
        };
        let granted = Grant::of(&key, &counters, 100);
        assert_eq!(granted.refill_due, Some(T0 + Duration::minutes(1)));
        let ttl = Duration::minutes(5);
        leases.claim("k").expect("claim").end(Some(granted), T0);
        let at_the_refill = T0 + Duration::minutes(1);
        assert!(
            leases.take(&key, at_the_refill, ttl).is_some(),
            "still this interval"
        );
        assert!(
            leases
                .take(&key, at_the_refill + Duration::milliseconds(1), ttl)
                .is_none(),
            "past the refill the rest of the block is not spent"
        );
        // The next block, reserved after the refill, is spent.
        let refilled = ApiKeyUse {
            last_refill_at: Some(at_the_refill + Duration::seconds(1)),
            ..counters
        };
        let next = Grant::of(&key, &refilled, 10);
        leases
            .claim("k")
            .expect("claim")
            .end(Some(next), at_the_refill);
        assert!(
            leases
                .take(&key, at_the_refill + Duration::seconds(2), ttl)
                .is_some()
        );
        let unrefilled = ApiKey {
            refill_interval: None,
            ..key.clone()
        };
        assert_eq!(Grant::of(&unrefilled, &counters, 1).refill_due, None);
    }

    #[test]
    fn a_key_spent_down_before_its_refill_is_leased_in_blocks_again_after_it() {
        let leases = Leases::default();
        let key = ApiKey {
            refill_amount: Some(1_000_000),
            refill_interval: Some(Duration::minutes(1)),
            ..auth_testkit::fixtures::bare_api_key("k", "o", T0)
        };
        // The last block left the shared counters near the end of the quota.
        let spent = ApiKeyUse {
            remaining: Some(50),
            last_refill_at: Some(T0),
            request_count: 0,
            last_request: T0,
        };
        leases
            .claim("k")
            .expect("claim")
            .end(Some(Grant::of(&key, &spent, 10)), T0);
        assert_eq!(leases.size_for("k", Some(1_000_000)), 1, "near the end");
        let after = T0 + Duration::minutes(1) + Duration::milliseconds(1);
        assert!(leases.take(&key, after, Duration::minutes(5)).is_none());
        assert!(
            leases.size_for("k", Some(1_000_000)) > 1,
            "the refilled quota is reserved in blocks, not one use at a time"
        );
    }
}
