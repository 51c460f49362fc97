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
            format!("ip:{}|{}", query.client.ip_address, query.route),
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
    use super::is_credential_route;

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
