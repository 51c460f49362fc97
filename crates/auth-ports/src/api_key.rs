//! API keys: their digest (only the digest is stored and looked up) and the `apikey` store.

use auth_domain::{ApiKey, ApiKeyUse, KeyRefusal, Permissions};
use time::OffsetDateTime;

use crate::PortError;

/// The digest an API key is stored and looked up by (Better-Auth's `defaultKeyHasher`:
/// base64url without padding of SHA-256 over the full key, prefix included), so that keys a
/// Better-Auth deployment issued keep working on its adopted database.
pub trait ApiKeyHasher: Send + Sync {
    /// The digest of a full key.
    fn digest(&self, key: &str) -> String;
}

/// What one use of a presented key came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyUse {
    /// No key has that digest.
    Missing,
    /// Allowed: the key with its counters after this use (already stored).
    Allowed(ApiKey),
    /// Refused by the first rule it broke; nothing was written.
    Refused(ApiKey, KeyRefusal),
}

/// The `apikey` table. External implementations must pass
/// `auth_testkit::conformance::run_api_key_suite`
/// (`auth_testkit::MemoryApiKeyRepo` is the in-memory one, for use-case tests).
#[async_trait::async_trait]
pub trait ApiKeyRepo: Send + Sync {
    /// Stores a new key under its digest.
    ///
    /// # Errors
    /// MUST return `PortError::Conflict` if a key with the same id exists; nothing is written
    /// then.
    async fn create(&self, key: &ApiKey, digest: &str) -> Result<(), PortError>;

    /// The key with this id.
    async fn find(&self, id: &str) -> Result<Option<ApiKey>, PortError>;

    /// The key stored under this digest.
    async fn find_by_digest(&self, digest: &str) -> Result<Option<ApiKey>, PortError>;

    /// Every key of an owner (in one configuration when given), oldest first.
    async fn list(
        &self,
        reference_id: &str,
        config_id: Option<&str>,
    ) -> Result<Vec<ApiKey>, PortError>;

    /// Writes a key's settings: name, enabled, expiry, permissions, metadata, the refill and
    /// rate-limit settings and `updatedAt`. The counters that uses keep (`remaining`,
    /// `requestCount`, `lastRequest`, `lastRefillAt`) are left as they are, so an update never
    /// undoes a concurrent use.
    ///
    /// # Errors
    /// MUST return `PortError::NotFound` if the key does not exist.
    async fn update(&self, key: &ApiKey) -> Result<(), PortError>;

    /// One use of the key stored under `digest` at `now` ([`ApiKey::use_at`]), read and
    /// written atomically: concurrent uses, from any number of connections or processes, see
    /// each other's counters, so a quota of n admits exactly n uses.
    async fn use_key(
        &self,
        digest: &str,
        now: OffsetDateTime,
        required: Option<&Permissions>,
        limits_enabled: bool,
    ) -> Result<KeyUse, PortError>;

    /// Sets a key's quota (`remaining`), as the server decides; `false` when there is no such
    /// key.
    async fn set_remaining(&self, id: &str, remaining: Option<i64>) -> Result<bool, PortError>;

    /// Writes a key's use counters as counted elsewhere ([`KeyCounters`]): `remaining`,
    /// `lastRefillAt`, `requestCount`, `lastRequest` and `updatedAt` (= `lastRequest`). A
    /// missing key is not an error.
    async fn write_counters(&self, id: &str, counters: &ApiKeyUse) -> Result<(), PortError>;

    /// Records a use that needed no counter (`lastRequest` and `updatedAt` set to `at`), written
    /// late and in bulk by callers that cache keys. A missing key is not an error.
    async fn touch(&self, id: &str, at: OffsetDateTime) -> Result<(), PortError>;

    /// Up to `wanted` uses at once of the key with this id, whose rate limit is not counted
    /// ([`ApiKey::reserve`]), read and written atomically like [`ApiKeyRepo::use_key`]: the
    /// granted uses of all callers never exceed the quota. [`Reserved::Gone`] when there is no
    /// such key.
    async fn reserve(
        &self,
        id: &str,
        now: OffsetDateTime,
        wanted: i64,
    ) -> Result<Reserved, PortError>;

    /// Deletes a key; `false` when there was none.
    async fn delete(&self, id: &str) -> Result<bool, PortError>;

    /// Deletes every key of an owner (a deleted user's); how many there were.
    async fn delete_by_reference(&self, reference_id: &str) -> Result<u64, PortError>;

    /// Deletes every key that expired before `now`; how many there were.
    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, PortError>;
}

/// What the shared counters made of one use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Allowed, with the counters it left.
    Allowed(ApiKeyUse),
    /// Refused by the quota or the rate limit; nothing was counted.
    Refused(KeyRefusal),
    /// The key was revoked ([`KeyCounters::revoke`]): whoever still holds a copy of it holds a
    /// stale one.
    Gone,
}

/// What the shared counters made of a reservation of several uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// `uses` uses (at least one) are the caller's, with the counters they left.
    Granted {
        /// The counters after the reservation.
        counters: ApiKeyUse,
        /// How many uses were granted.
        uses: i64,
    },
    /// None is left; nothing was counted.
    Refused(KeyRefusal),
    /// The key was revoked.
    Gone,
}

/// The counters of keys whose uses count (a quota, a counted rate limit), kept outside the
/// database and shared by every instance (Redis), so that a use costs no database write; the
/// database is brought up to date later from [`KeyCounters::take_changed`]. External
/// implementations must pass `auth_testkit::conformance::run_key_counters_suite`.
#[async_trait::async_trait]
pub trait KeyCounters: Send + Sync {
    /// One use at `now` of the key whose settings are `key`: [`ApiKey::count`] applied
    /// atomically to the shared counters, which start from `key`'s stored counters when none
    /// are held. Concurrent uses from any number of processes see each other's counters. A
    /// revoked key is [`Counted::Gone`], whatever `key` says.
    async fn count(
        &self,
        key: &ApiKey,
        now: OffsetDateTime,
        limits_enabled: bool,
    ) -> Result<Counted, PortError>;

    /// Up to `wanted` uses at once of a key whose rate limit is not counted
    /// ([`ApiKey::reserve`]), applied atomically like [`KeyCounters::count`]: the caller spends
    /// them without asking again, so the granted uses of all callers never exceed the quota.
    async fn reserve(
        &self,
        key: &ApiKey,
        now: OffsetDateTime,
        wanted: i64,
    ) -> Result<Reserved, PortError>;

    /// Sets a key's shared quota (`remaining`) to `key`'s, the server having set it, and keeps
    /// its other counters; counters not held yet start from the row at their next use.
    async fn reset(&self, key: &ApiKey) -> Result<(), PortError>;

    /// Marks a key gone (deleted, expired, spent) for longer than any copy of it is kept: no
    /// copy can start its counters again.
    async fn revoke(&self, key_id: &str) -> Result<(), PortError>;

    /// Up to `max` keys whose counters changed since they were last taken, with those
    /// counters; the caller writes them to the database.
    async fn take_changed(&self, max: usize) -> Result<Vec<(String, ApiKeyUse)>, PortError>;

    /// Marks keys changed again, so that a later [`KeyCounters::take_changed`] takes them
    /// with their counters then: what a write-back took and could not write is given back.
    async fn mark_changed(&self, key_ids: &[String]) -> Result<(), PortError>;
}
