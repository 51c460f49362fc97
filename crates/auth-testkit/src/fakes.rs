//! Fast, deterministic stand-ins for the clock, the random source and the hasher.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use auth_domain::{Password, PasswordHash};
use auth_ports::{Clock, PasswordHasher, PortError, Random};
use time::{Duration, OffsetDateTime};

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    /// A clock standing at `start`.
    #[must_use]
    pub fn new(start: OffsetDateTime) -> Self {
        Self(Mutex::new(start))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A deterministic random source (a counter through SplitMix64). Never for production.
#[derive(Debug, Default)]
pub struct SeededRandom(AtomicU64);

impl SeededRandom {
    fn next(&self) -> u64 {
        let mut z = self.0.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Random for SeededRandom {
    fn string(&self, alphabet: &'static [u8], length: usize) -> String {
        (0..length)
            .map(|_| {
                let index = usize::try_from(self.next() % alphabet.len() as u64).unwrap_or(0);
                char::from(alphabet[index])
            })
            .collect()
    }

    fn bytes(&self, length: usize) -> Vec<u8> {
        (0..length).map(|_| self.next().to_le_bytes()[0]).collect()
    }
}

/// A hasher that only tags the plaintext: instant, for use-case tests. Never for production.
#[derive(Debug, Default)]
pub struct FastHasher;

#[async_trait::async_trait]
impl PasswordHasher for FastHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, PortError> {
        Ok(PasswordHash::new(format!("fast:{}", password.expose())))
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, PortError> {
        Ok(hash.as_str().strip_prefix("fast:") == Some(password.expose()))
    }
}

/// An exact sliding-window limiter in one mutex, for use-case tests (the production limiters
/// live in `auth-ratelimit`). Unbounded: never for production.
#[derive(Debug, Default)]
pub struct FakeRateLimiter(Mutex<std::collections::HashMap<String, Vec<OffsetDateTime>>>);

impl FakeRateLimiter {
    fn decide(
        &self,
        key: &str,
        rule: auth_ports::RateLimitRule,
        now: OffsetDateTime,
        count: bool,
    ) -> auth_ports::RateLimitDecision {
        let mut logs = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let log = logs.entry(key.to_owned()).or_default();
        log.retain(|at| *at > now - rule.window);
        if log.len() >= rule.max as usize {
            let oldest = log.first().copied().unwrap_or(now);
            return auth_ports::RateLimitDecision::Limited {
                retry_after: (oldest + rule.window - now).max(Duration::milliseconds(1)),
            };
        }
        if count {
            log.push(now);
        }
        auth_ports::RateLimitDecision::Allowed
    }
}

#[async_trait::async_trait]
impl auth_ports::RateLimiter for FakeRateLimiter {
    async fn check(
        &self,
        key: &str,
        rule: auth_ports::RateLimitRule,
        now: OffsetDateTime,
    ) -> Result<auth_ports::RateLimitDecision, PortError> {
        Ok(self.decide(key, rule, now, true))
    }

    async fn peek(
        &self,
        key: &str,
        rule: auth_ports::RateLimitRule,
        now: OffsetDateTime,
    ) -> Result<auth_ports::RateLimitDecision, PortError> {
        Ok(self.decide(key, rule, now, false))
    }
}

/// A mailer that keeps every message, for tests that read the link a flow sent.
#[derive(Debug, Default)]
pub struct MemoryMailer(Mutex<Vec<auth_ports::Mail>>);

impl MemoryMailer {
    /// An empty mailbox.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message sent, oldest first.
    #[must_use]
    pub fn messages(&self) -> Vec<auth_ports::Mail> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The newest message to `address`, if any.
    #[must_use]
    pub fn last_to(&self, address: &str) -> Option<auth_ports::Mail> {
        self.messages()
            .into_iter()
            .rev()
            .find(|mail| mail.to.as_str() == address)
    }
}

#[async_trait::async_trait]
impl auth_ports::Mailer for MemoryMailer {
    async fn send(&self, mail: auth_ports::Mail) -> Result<(), PortError> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(mail);
        Ok(())
    }
}

#[cfg(test)]
mod mailer_tests {
    use auth_ports::Mailer as _;

    use super::MemoryMailer;

    #[tokio::test]
    async fn the_memory_mailer_keeps_every_message_and_finds_the_newest_per_address() {
        let mailer = MemoryMailer::new();
        for (to, subject) in [
            ("a@example.com", "1"),
            ("b@example.com", "2"),
            ("a@example.com", "3"),
        ] {
            let mail = auth_ports::Mail {
                to: auth_domain::Email::parse(to).expect("email"),
                subject: subject.to_owned(),
                text: String::new(),
                html: String::new(),
            };
            mailer.send(mail).await.expect("kept");
        }
        assert_eq!(mailer.messages().len(), 3);
        assert_eq!(
            mailer.last_to("a@example.com").map(|m| m.subject),
            Some("3".to_owned())
        );
        assert!(mailer.last_to("c@example.com").is_none());
    }
}

/// Email-verification tokens in the clear (`email|userId|exp|updateTo|requestType`), for
/// use-case tests: anything else is invalid.
#[derive(Debug, Default)]
pub struct PlainEmailTokens;

impl auth_ports::EmailTokens for PlainEmailTokens {
    fn sign(&self, claims: &auth_domain::EmailClaims) -> Result<String, PortError> {
        Ok(format!(
            "{}|{}|{}|{}|{}",
            claims.email,
            claims.user_id.as_deref().unwrap_or_default(),
            claims.expires_at.unix_timestamp(),
            claims.update_to.as_deref().unwrap_or_default(),
            claims.request_type.as_deref().unwrap_or_default()
        ))
    }

    fn verify(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<auth_domain::EmailClaims, auth_ports::EmailTokenError> {
        let invalid = auth_ports::EmailTokenError::Invalid;
        let parts: Vec<&str> = token.split('|').collect();
        let [email, user_id, exp, update_to, request_type] = parts[..] else {
            return Err(invalid);
        };
        let given = |part: &str| (!part.is_empty()).then(|| part.to_owned());
        let expires_at = exp
            .parse()
            .ok()
            .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
            .ok_or(invalid)?;
        if expires_at <= now {
            return Err(auth_ports::EmailTokenError::Expired);
        }
        Ok(auth_domain::EmailClaims {
            email: email.to_owned(),
            update_to: given(update_to),
            user_id: given(user_id),
            request_type: given(request_type),
            issued_at: expires_at - Duration::hours(1),
            expires_at,
        })
    }
}
