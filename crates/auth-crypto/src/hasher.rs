//! argon2id hashing on a bounded blocking pool.

use std::sync::Arc;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash as Phc, PasswordHasher as _, PasswordVerifier as _,
    Version,
};
use auth_domain::{Password, PasswordHash};
use auth_ports::{PasswordHasher, PortError};
use tokio::sync::Semaphore;

use crate::scrypt_compat;

/// Cost and concurrency of password hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HasherConfig {
    /// argon2 memory in KiB (OWASP: 19 MiB).
    pub memory_kib: u32,
    /// argon2 iterations (OWASP: 2).
    pub iterations: u32,
    /// argon2 lanes (OWASP: 1).
    pub parallelism: u32,
    /// How many hashes may run at once; further requests wait for a slot. Bounds memory use
    /// (`max_concurrent * memory_kib`) and keeps blocking threads free for other work.
    pub max_concurrent: usize,
    /// Longest wait for a slot; past it the request is refused as `Unavailable` (a `503` with
    /// `Retry-After`) instead of queueing without end.
    pub queue_timeout: std::time::Duration,
}

/// The default longest wait for a hashing slot.
pub(crate) const DEFAULT_QUEUE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl Default for HasherConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 4,
            queue_timeout: DEFAULT_QUEUE_TIMEOUT,
        }
    }
}

impl HasherConfig {
    /// Cheap parameters for tests only: the same code path, a fraction of the cost.
    #[cfg(any(test, feature = "test-util"))]
    #[must_use]
    pub fn insecure_fast_for_tests() -> Self {
        Self {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 4,
            queue_timeout: DEFAULT_QUEUE_TIMEOUT,
        }
    }
}

/// Hashes new passwords with argon2id and verifies argon2 PHC strings and Better-Auth's scrypt
/// hashes. Every computation runs through `spawn_blocking` behind a semaphore.
#[derive(Debug, Clone)]
pub struct Argon2Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    queue_timeout: std::time::Duration,
}

impl Argon2Hasher {
    /// A hasher with these parameters.
    ///
    /// # Errors
    /// `PortError::Internal` when the argon2 parameters are out of range.
    pub fn new(config: HasherConfig) -> Result<Self, PortError> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|error| PortError::internal(error.to_string()))?;
        // Every series from the first scrape.
        metrics::gauge!("auth_password_hash_in_flight").increment(0.0);
        metrics::counter!("auth_password_hash_saturated_total").increment(0);
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
            queue_timeout: config.queue_timeout,
        })
    }

    async fn run_blocking<T, F>(&self, work: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let waiting = Arc::clone(&self.permits).acquire_owned();
        let queued = std::time::Instant::now();
        let permit = match tokio::time::timeout(self.queue_timeout, waiting).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(error)) => return Err(PortError::Unavailable(Box::new(error))),
            Err(_) => {
                metrics::counter!("auth_password_hash_saturated_total").increment(1);
                tracing::warn!("password hashing is saturated; request refused");
                return Err(PortError::Unavailable(
                    "password hashing is saturated: no slot within the queue timeout".into(),
                ));
            }
        };
        metrics::histogram!("auth_password_hash_queue_wait_seconds")
            .record(queued.elapsed().as_secs_f64());
        let in_flight = metrics::gauge!("auth_password_hash_in_flight");
        in_flight.increment(1.0);
        let span = tracing::Span::current();
        let joined = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let started = std::time::Instant::now();
            let result = work();
            metrics::histogram!("auth_password_hash_duration_seconds")
                .record(started.elapsed().as_secs_f64());
            drop(permit);
            result
        })
        .await;
        in_flight.decrement(1.0);
        joined.map_err(|error| PortError::internal(error.to_string()))
    }
}

#[async_trait::async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, PortError> {
        let plaintext = zeroize::Zeroizing::new(password.expose().to_owned());
        let params = self.params.clone();
        let salt: [u8; 16] = {
            let mut salt = [0u8; 16];
            rand::fill(&mut salt[..]);
            salt
        };
        let encoded = self
            .run_blocking(move || {
                Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                    .hash_password_with_salt(plaintext.as_bytes(), &salt)
                    .map(|phc| phc.to_string())
            })
            .await?
            .map_err(|error| PortError::internal(error.to_string()))?;
        Ok(PasswordHash::new(encoded))
    }

    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, PortError> {
        let plaintext = zeroize::Zeroizing::new(password.expose().to_owned());
        let stored = hash.as_str().to_owned();
        self.run_blocking(move || verify_blocking(&plaintext, &stored))
            .await
    }
}

fn verify_blocking(plaintext: &str, stored: &str) -> bool {
    if scrypt_compat::is_scrypt_hash(stored) {
        return scrypt_compat::verify(plaintext, stored);
    }
    let Ok(phc) = Phc::new(stored) else {
        return false;
    };
    // The parameters come from the stored string; the default instance only supplies the code.
    Argon2::default()
        .verify_password(plaintext.as_bytes(), &phc)
        .is_ok()
}

#[cfg(test)]
mod tests;
