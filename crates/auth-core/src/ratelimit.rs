//! The rate-limit rules table and the check every request of the auth API goes through.

use auth_ports::{RateLimitDecision, RateLimitRule};
use time::Duration;

use crate::{Auth, AuthError};

/// Rate-limit rules. Credential routes are strict by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Off for test rigs only.
    pub enabled: bool,
    /// Every route, per client address and route: 100 per 10 s.
    pub general: RateLimitRule,
    /// Credential routes (sign-in, sign-up, change-password, change-email, password reset,
    /// the verification mail, verify-password, delete-user), per client address and route:
    /// 5 per 15 minutes.
    pub credential: RateLimitRule,
    /// Failed sign-ins per account and client address: 5 per 15 minutes. Only failures count,
    /// so strangers cannot lock a user out; the client that keeps failing is refused.
    pub account: RateLimitRule,
    /// Failed sign-ins per account from every address together: 50 per 15 minutes. The ceiling
    /// against distributed guessing; past it every client is refused for that account.
    pub account_ceiling: RateLimitRule,
    /// IPv6 clients are counted per network of this prefix length (Better-Auth's
    /// `ipv6Subnet`, 64 by default): one host commonly owns a whole /64.
    pub ipv6_subnet: u8,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            general: RateLimitRule {
                window: Duration::seconds(10),
                max: 100,
            },
            credential: RateLimitRule {
                window: Duration::minutes(15),
                max: 5,
            },
            account: RateLimitRule {
                window: Duration::minutes(15),
                max: 5,
            },
            account_ceiling: RateLimitRule {
                window: Duration::minutes(15),
                max: 50,
            },
            ipv6_subnet: 64,
        }
    }
}

/// One request to count.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitQuery<'a> {
    /// The route's label (`/sign-in/email`, or `other` for a path the API does not serve):
    /// never raw path text, so keys stay bounded.
    pub route: &'a str,
    /// The client: address (after trusted-proxy resolution) and user agent.
    pub client: &'a crate::ClientInfo,
}

/// Most keys whose suppressed refusals are counted between two audit records.
const SUPPRESSED_KEYS: usize = 10_000;

/// Refusals that were not written to the audit log (one record per key and window), counted
/// until the next record of the same key. Bounded: past the cap new keys are not counted.
#[derive(Debug, Default)]
pub(crate) struct SuppressedRefusals {
    counts: std::sync::Mutex<std::collections::HashMap<String, u64>>,
}

impl SuppressedRefusals {
    fn add(&self, key: &str) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let full = counts.len() >= SUPPRESSED_KEYS;
        match counts.get_mut(key) {
            Some(count) => *count = count.saturating_add(1),
            None if !full => {
                counts.insert(key.to_owned(), 1);
            }
            None => {}
        }
    }

    fn take(&self, key: &str) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key)
            .unwrap_or(0)
    }
}

/// The client part of a rate-limit key: an IPv4 address as is, an IPv6 address reduced to its
/// network of `prefix` bits (`2001:db8:1:2::/64`); anything else (no address) as given.
fn client_key(ip_address: &str, prefix: u8) -> std::borrow::Cow<'_, str> {
    let Ok(std::net::IpAddr::V6(address)) = ip_address.parse::<std::net::IpAddr>() else {
        return std::borrow::Cow::Borrowed(ip_address);
    };
    if let Some(v4) = address.to_ipv4_mapped() {
        return std::borrow::Cow::Owned(v4.to_string());
    }
    let prefix = prefix.min(128);
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    let network = std::net::Ipv6Addr::from(u128::from(address) & mask);
    std::borrow::Cow::Owned(format!("{network}/{prefix}"))
}

/// `route` is `prefix` or a route below it (`/sign-in/email` is under `/sign-in`, `/sign-inx`
/// is not).
fn is_under(route: &str, prefix: &str) -> bool {
    route
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn is_credential_route(route: &str) -> bool {
    [
        "/sign-in",
        "/sign-up",
        "/change-password",
        "/change-email",
        "/reset-password",
        "/request-password-reset",
        "/send-verification-email",
        "/verify-password",
        "/delete-user",
    ]
    .iter()
    .any(|prefix| is_under(route, prefix))
}

impl Auth {
    /// The rule of a route: a plugin's rule for it (the longest matching path), else the
    /// credential rule for the built-in credential routes, else the general one.
    /// It comes with its name in `auth_rate_limited_total`.
    pub(crate) fn rule_for(&self, route: &str) -> (&'static str, RateLimitRule) {
        let rules = self.config().rate_limit;
        let plugin = self
            .route_limits()
            .iter()
            .find(|limit| is_under(route, limit.path()));
        match plugin {
            Some(crate::RouteLimit::Rule(_, rule)) => ("plugin", *rule),
            Some(crate::RouteLimit::Credential(_)) => ("credential", rules.credential),
            None if is_credential_route(route) => ("credential", rules.credential),
            None => ("general", rules.general),
        }
    }

    /// Counts a request against the rules; refuses it when a limit is reached. A limiter that
    /// fails lets the request through (the Redis limiter falls back to memory before that).
    ///
    /// # Errors
    /// `RateLimited` with the seconds to wait.
    pub async fn check_rate_limit(&self, query: RateLimitQuery<'_>) -> Result<(), AuthError> {
        let rules = self.config().rate_limit;
        if !rules.enabled {
            return Ok(());
        }
        let (name, rule) = self.rule_for(query.route);
        let key = format!(
            "ip:{}|{}",
            client_key(&query.client.ip_address, rules.ipv6_subnet),
            query.route
        );
        let now = self.deps().clock.now();
        match self.deps().rate_limiter.check(&key, rule, now).await {
            Ok(RateLimitDecision::Allowed) => Ok(()),
            // Boxed: the refusal (an audit event) would make the check, which every request
            // awaits, larger by most of its size.
            Ok(RateLimitDecision::Limited { retry_after }) => Err(Box::pin(self.refused(
                &key,
                (name, rule),
                query.route,
                query.client,
                retry_after,
            ))
            .await),
            Err(error) => {
                tracing::warn!(error = %error, "rate limiter failed; request allowed");
                Ok(())
            }
        }
    }

    /// The failed-sign-in limits of `email` for `client`: refused while this client, or every
    /// client together, has failed too often on this account. Counts nothing.
    pub(crate) async fn check_sign_in_failures(
        &self,
        email: &auth_domain::Email,
        client: &crate::ClientInfo,
    ) -> Result<(), AuthError> {
        let rules = self.config().rate_limit;
        if !rules.enabled {
            return Ok(());
        }
        let now = self.deps().clock.now();
        for (key, (name, rule)) in self.sign_in_failure_keys(email, client) {
            match self.deps().rate_limiter.peek(&key, rule, now).await {
                Ok(RateLimitDecision::Allowed) => {}
                Ok(RateLimitDecision::Limited { retry_after }) => {
                    return Err(self
                        .refused(&key, (name, rule), SIGN_IN_ROUTE, client, retry_after)
                        .await);
                }
                Err(error) => {
                    tracing::warn!(error = %error, "rate limiter failed; sign-in allowed");
                }
            }
        }
        Ok(())
    }

    /// Counts one failed sign-in on `email` from `client`.
    pub(crate) async fn record_sign_in_failure(
        &self,
        email: &auth_domain::Email,
        client: &crate::ClientInfo,
    ) {
        if !self.config().rate_limit.enabled {
            return;
        }
        let now = self.deps().clock.now();
        for (key, (_, rule)) in self.sign_in_failure_keys(email, client) {
            if let Err(error) = self.deps().rate_limiter.check(&key, rule, now).await {
                tracing::warn!(error = %error, "rate limiter failed; sign-in failure not counted");
            }
        }
    }

    fn sign_in_failure_keys(
        &self,
        email: &auth_domain::Email,
        client: &crate::ClientInfo,
    ) -> [(String, (&'static str, RateLimitRule)); 2] {
        let rules = self.config().rate_limit;
        let client = client_key(&client.ip_address, rules.ipv6_subnet);
        [
            (
                format!("fail:{}|{client}", email.as_str()),
                ("account", rules.account),
            ),
            (
                format!("fail:{}", email.as_str()),
                ("account_ceiling", rules.account_ceiling),
            ),
        ]
    }

    /// The refusal of a request over `rule` (with its name) on `key`: counted in
    /// `auth_rate_limited_total{rule}`, logged and audited once per key and window (a flood of
    /// refusals writes nothing more; the next record says how many were left out).
    async fn refused(
        &self,
        key: &str,
        (name, rule): (&'static str, RateLimitRule),
        route: &str,
        client: &crate::ClientInfo,
        retry_after: Duration,
    ) -> AuthError {
        crate::metrics::rate_limited(name);
        if key.starts_with("fail:") {
            crate::metrics::signed_in(crate::metrics::SignIn::Locked);
        } else if is_under(route, "/sign-in") {
            crate::metrics::signed_in(crate::metrics::SignIn::RateLimited);
        }
        let millis = retry_after.whole_milliseconds().max(1);
        let seconds = u64::try_from((millis + 999) / 1000).unwrap_or(1);
        let once = RateLimitRule {
            window: rule.window,
            max: 1,
        };
        let now = self.deps().clock.now();
        let first = matches!(
            self.deps()
                .rate_limiter
                .check(&format!("refused:{key}"), once, now)
                .await,
            Ok(RateLimitDecision::Allowed) | Err(_)
        );
        if !first {
            self.suppressed_refusals().add(key);
            return AuthError::RateLimited {
                retry_after_seconds: seconds,
            };
        }
        let left_out = self.suppressed_refusals().take(key);
        let reason = match left_out {
            0 => route.to_owned(),
            n => format!("{route} ({n} more refused since the last record)"),
        };
        self.audit(
            auth_domain::AuditKind::RateLimited,
            None,
            Some(&reason),
            client,
        )
        .await;
        AuthError::RateLimited {
            retry_after_seconds: seconds,
        }
    }
}

/// The route whose failures the per-account limits count.
const SIGN_IN_ROUTE: &str = "/sign-in/email";

#[cfg(test)]
mod tests {
    use super::{client_key, is_credential_route};

    #[test]
    fn ipv6_clients_are_keyed_by_their_subnet_and_ipv4_as_is() {
        assert_eq!(client_key("203.0.113.9", 64), "203.0.113.9");
        assert_eq!(
            client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            client_key("2001:db8:1:2:ffff::1", 64),
            client_key("2001:db8:1:2::9", 64),
            "one /64, one key"
        );
        assert_ne!(
            client_key("2001:db8:1:3::1", 64),
            client_key("2001:db8:1:2::1", 64)
        );
        assert_eq!(client_key("2001:db8::1", 128), "2001:db8::1/128");
        assert_eq!(client_key("2001:db8::1", 0), "::/0");
        assert_eq!(client_key("::ffff:198.51.100.7", 64), "198.51.100.7");
        assert_eq!(client_key("", 64), "");
    }

    #[test]
    fn credential_routes_are_recognised_by_prefix() {
        for route in [
            "/sign-in/email",
            "/sign-up/email",
            "/change-password",
            "/sign-in/social",
            "/send-verification-email",
            "/verify-password",
            "/delete-user",
        ] {
            assert!(is_credential_route(route), "{route}");
        }
        for route in ["/get-session", "/sign-out", "/sign-inx", "/ok"] {
            assert!(!is_credential_route(route), "{route}");
        }
    }
}
