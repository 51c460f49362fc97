//! Values for tests.

use auth_domain::ApiKey;
use time::OffsetDateTime;

/// An enabled API key of `owner` with nothing optional set: no quota, no rate limit, no
/// expiry, no permissions; created and updated at `at`.
#[must_use]
pub fn bare_api_key(id: &str, owner: &str, at: OffsetDateTime) -> ApiKey {
    ApiKey {
        id: id.to_owned(),
        config_id: "default".to_owned(),
        name: None,
        start: None,
        prefix: None,
        reference_id: owner.to_owned(),
        enabled: true,
        rate_limit_enabled: false,
        rate_limit_time_window: None,
        rate_limit_max: None,
        request_count: 0,
        remaining: None,
        refill_amount: None,
        refill_interval: None,
        last_refill_at: None,
        last_request: None,
        expires_at: None,
        created_at: at,
        updated_at: at,
        permissions: None,
        metadata: None,
    }
}
