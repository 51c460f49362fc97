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
    /// Credential routes (sign-in, sign-up, change-password), per client address and route:
    /// 5 per 15 minutes.
    pub credential: RateLimitRule,
    /// Sign-in per account (the email given), whatever the address: 5 per 15 minutes.
    pub account: RateLimitRule,
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
            ipv6_subnet: 64,
        }
    }
}

/// One request to count.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitQuery<'a> {
    /// The normalised route below the base path (`/sign-in/email`).
    pub route: &'a str,
    /// The client: address (after trusted-proxy resolution) and user agent.
    pub client: &'a crate::ClientInfo,
    /// The email of a sign-in attempt, normalised.
    pub email: Option<&'a str>,
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
    ]
    .iter()
    .any(|prefix| is_under(route, prefix))
}

impl Auth {
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
        let rule = if is_credential_route(query.route) {
            rules.credential
        } else {
            rules.general
        };
        let mut checks = vec![(
            format!(
                "ip:{}|{}",
                client_key(&query.client.ip_address, rules.ipv6_subnet),
                query.route
            ),
            rule,
        )];
        if let (Some(email), true) = (query.email, is_under(query.route, "/sign-in")) {
            checks.push((format!("account:{email}|{}", query.route), rules.account));
        }
        let now = self.deps().clock.now();
        for (key, rule) in checks {
            match self.deps().rate_limiter.check(&key, rule, now).await {
                Ok(RateLimitDecision::Allowed) => {}
                Ok(RateLimitDecision::Limited { retry_after }) => {
                    let millis = retry_after.whole_milliseconds().max(1);
                    let seconds = u64::try_from((millis + 999) / 1000).unwrap_or(1);
                    tracing::warn!(target: "auth::audit", route = query.route, "rate limit reached");
                    self.audit(
                        auth_domain::AuditKind::RateLimited,
                        None,
                        Some(query.route),
                        query.client,
                    )
                    .await;
                    return Err(AuthError::RateLimited {
                        retry_after_seconds: seconds,
                    });
                }
                Err(error) => {
                    tracing::warn!(error = %error, "rate limiter failed; request allowed")
                }
            }
        }
        Ok(())
    }
}

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
        ] {
            assert!(is_credential_route(route), "{route}");
        }
        for route in ["/get-session", "/sign-out", "/sign-inx", "/ok"] {
            assert!(!is_credential_route(route), "{route}");
        }
    }
}
