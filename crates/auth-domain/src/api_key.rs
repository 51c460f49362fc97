//! API keys (Better-Auth's `@better-auth/api-key`): the `apikey` row, permissions, and the
//! rules of one use of a key (enabled, expiry, quota with refill, per-key rate limit), in the
//! order Better-Auth checks them. Pure: the use cases load the row, apply [`ApiKey::use_at`],
//! and write the counters it returns with a compare-and-set.

use time::{Duration, OffsetDateTime};

use crate::Permissions;

/// An API key as stored (`apikey` table); the key itself is stored hashed, elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Primary key.
    pub id: String,
    /// The configuration it belongs to (`default`).
    pub config_id: String,
    /// Display name.
    pub name: Option<String>,
    /// The first characters of the full key, prefix included.
    pub start: Option<String>,
    /// The prefix the key was made with.
    pub prefix: Option<String>,
    /// The owner (a user id, or an organization id for organization keys).
    pub reference_id: String,
    /// A disabled key authenticates nothing.
    pub enabled: bool,
    /// The per-key rate limit is on.
    pub rate_limit_enabled: bool,
    /// Its window.
    pub rate_limit_time_window: Option<Duration>,
    /// Most uses per window.
    pub rate_limit_max: Option<i64>,
    /// Uses in the current window.
    pub request_count: i64,
    /// Uses left (`None`: no quota).
    pub remaining: Option<i64>,
    /// Uses given back at each refill.
    pub refill_amount: Option<i64>,
    /// Time between refills.
    pub refill_interval: Option<Duration>,
    /// Last refill.
    pub last_refill_at: Option<OffsetDateTime>,
    /// Last allowed use.
    pub last_request: Option<OffsetDateTime>,
    /// Expiry (`None`: never).
    pub expires_at: Option<OffsetDateTime>,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last update time.
    pub updated_at: OffsetDateTime,
    /// What the key may do.
    pub permissions: Option<Permissions>,
    /// Free JSON text, as Better-Auth stores it.
    pub metadata: Option<String>,
}

/// Why a use of a key is refused, with Better-Auth's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    /// `401 KEY_DISABLED`.
    Disabled,
    /// `401 KEY_EXPIRED` (the row is deleted).
    Expired,
    /// `401 KEY_NOT_FOUND`: it lacks a permission asked for.
    MissingPermission,
    /// `429 USAGE_EXCEEDED` (the row is deleted when it can never be refilled).
    UsageExceeded {
        /// The key can never be used again (no refill): delete it.
        spent: bool,
    },
    /// `429 RATE_LIMITED`, with how long to wait.
    RateLimited {
        /// Until the window lets another use through.
        try_again_in: Duration,
    },
}

impl KeyRefusal {
    /// Better-Auth's code.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            Self::Disabled => "KEY_DISABLED",
            Self::Expired => "KEY_EXPIRED",
            Self::MissingPermission => "KEY_NOT_FOUND",
            Self::UsageExceeded { .. } => "USAGE_EXCEEDED",
            Self::RateLimited { .. } => "RATE_LIMITED",
        }
    }
}

/// The counters an allowed use leaves, to be written with a compare-and-set on the ones read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiKeyUse {
    /// New `remaining`.
    pub remaining: Option<i64>,
    /// New `lastRefillAt`.
    pub last_refill_at: Option<OffsetDateTime>,
    /// New `requestCount`.
    pub request_count: i64,
    /// New `lastRequest` (always now).
    pub last_request: OffsetDateTime,
}

impl ApiKey {
    /// One use of the key at `now`, asking for `required` permissions when given: Better-Auth's
    /// steps 2 to 7 (the lookup by hash is the caller's).
    ///
    /// # Errors
    /// The first rule the use breaks.
    pub fn use_at(
        &self,
        now: OffsetDateTime,
        required: Option<&Permissions>,
        limits_enabled: bool,
    ) -> Result<ApiKeyUse, KeyRefusal> {
        self.admit(now, required)?;
        self.count(now, limits_enabled)
    }

    /// Steps 2 to 4: whether the key may be used at all (enabled, not expired, holding the
    /// permissions asked for). Reads no counter.
    ///
    /// # Errors
    /// The first rule the use breaks.
    pub fn admit(
        &self,
        now: OffsetDateTime,
        required: Option<&Permissions>,
    ) -> Result<(), KeyRefusal> {
        if !self.enabled {
            return Err(KeyRefusal::Disabled);
        }
        if self.expires_at.is_some_and(|expires_at| expires_at < now) {
            return Err(KeyRefusal::Expired);
        }
        if let Some(required) = required {
            let granted = self
                .permissions
                .as_ref()
                .is_some_and(|permissions| permissions.satisfy(required));
            if !granted {
                return Err(KeyRefusal::MissingPermission);
            }
        }
        Ok(())
    }

    /// Steps 5 to 7: the counters after one more use (quota with refill, then the rate limit).
    ///
    /// # Errors
    /// `UsageExceeded` or `RateLimited`.
    pub fn count(
        &self,
        now: OffsetDateTime,
        limits_enabled: bool,
    ) -> Result<ApiKeyUse, KeyRefusal> {
        let (remaining, last_refill_at) = self.quota_at(now)?;
        let request_count = self.rate_at(now, limits_enabled)?;
        Ok(ApiKeyUse {
            remaining,
            last_refill_at,
            request_count,
            last_request: now,
        })
    }

    /// Up to `wanted` uses at once from the quota of a key whose rate limit is not counted
    /// (leased to one process, which then uses them without asking again): the quota after
    /// them, with its refill, and how many were granted (at least one). One use
    /// (`wanted == 1`) gives what [`ApiKey::count`] gives.
    ///
    /// # Errors
    /// `UsageExceeded` when none is left.
    pub fn reserve(
        &self,
        now: OffsetDateTime,
        wanted: i64,
    ) -> Result<(ApiKeyUse, i64), KeyRefusal> {
        let Some(remaining) = self.remaining else {
            let unlimited = ApiKeyUse {
                remaining: None,
                last_refill_at: self.last_refill_at,
                request_count: self.request_count,
                last_request: now,
            };
            return Ok((unlimited, wanted.max(1)));
        };
        if remaining <= 0 && self.refill_amount.is_none() {
            return Err(KeyRefusal::UsageExceeded { spent: true });
        }
        let (available, last_refill_at) = match (self.refill_amount, self.refill_interval) {
            (Some(amount), Some(interval))
                if now - self.last_refill_at.unwrap_or(self.created_at) > interval =>
            {
                (amount, Some(now))
            }
            _ => (remaining, self.last_refill_at),
        };
        if available <= 0 {
            return Err(KeyRefusal::UsageExceeded { spent: false });
        }
        let granted = wanted.clamp(1, available);
        let used = ApiKeyUse {
            remaining: Some(available - granted),
            last_refill_at,
            request_count: self.request_count,
            last_request: now,
        };
        Ok((used, granted))
    }

    /// Whether a use changes a counter that must be exact: a quota, or a rate limit that is
    /// counted. Uses of other keys only move `lastRequest`.
    #[must_use]
    pub fn counts(&self, limits_enabled: bool) -> bool {
        self.remaining.is_some() || self.counts_rate(limits_enabled)
    }

    /// Whether its rate limit is counted (on for every key, on for this one, with a window
    /// and a maximum).
    #[must_use]
    pub fn counts_rate(&self, limits_enabled: bool) -> bool {
        limits_enabled
            && self.rate_limit_enabled
            && self.rate_limit_time_window.is_some()
            && self.rate_limit_max.is_some()
    }

    /// The quota after one more use (steps 5 and 6).
    fn quota_at(
        &self,
        now: OffsetDateTime,
    ) -> Result<(Option<i64>, Option<OffsetDateTime>), KeyRefusal> {
        let Some(remaining) = self.remaining else {
            return Ok((None, self.last_refill_at));
        };
        if remaining <= 0 && self.refill_amount.is_none() {
            return Err(KeyRefusal::UsageExceeded { spent: true });
        }
        if let (Some(amount), Some(interval)) = (self.refill_amount, self.refill_interval) {
            let since = now - self.last_refill_at.unwrap_or(self.created_at);
            if since > interval {
                return Ok((Some(amount - 1), Some(now)));
            }
        }
        if remaining > 0 {
            Ok((Some(remaining - 1), self.last_refill_at))
        } else {
            Err(KeyRefusal::UsageExceeded { spent: false })
        }
    }

    /// The request count after one more use (step 7); unchanged when the limit is off.
    fn rate_at(&self, now: OffsetDateTime, limits_enabled: bool) -> Result<i64, KeyRefusal> {
        let (Some(window), Some(max)) = (self.rate_limit_time_window, self.rate_limit_max) else {
            return Ok(self.request_count);
        };
        if !limits_enabled || !self.rate_limit_enabled {
            return Ok(self.request_count);
        }
        let Some(last) = self.last_request else {
            return Ok(1);
        };
        let elapsed = now - last;
        if elapsed > window {
            return Ok(1);
        }
        if self.request_count >= max {
            return Err(KeyRefusal::RateLimited {
                try_again_in: window - elapsed,
            });
        }
        Ok(self.request_count + 1)
    }
}

impl ApiKey {
    /// The key after an allowed use: its counters as `used` leaves them, updated at its time.
    #[must_use]
    pub fn with_use(mut self, used: &ApiKeyUse) -> Self {
        self.remaining = used.remaining;
        self.last_refill_at = used.last_refill_at;
        self.request_count = used.request_count;
        self.last_request = Some(used.last_request);
        self.updated_at = used.last_request;
        self
    }
}

/// The first characters of a full key (prefix included) that Better-Auth keeps as `start`.
#[must_use]
pub fn start_of(full_key: &str, length: usize) -> String {
    full_key.chars().take(length).collect()
}

#[cfg(test)]
mod tests;
