//! Key sets fetched from the auth server and cached by key id: refreshed after a TTL, refetched
//! once on an unknown key id (but never more often than a floor), and kept when a refresh fails.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{Mutex, RwLock};

use crate::GuardError;

/// Caching of a remote key set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteKeysConfig {
    /// Keys are fetched again after this long (5 minutes).
    pub ttl: Duration,
    /// An unknown key id triggers a refetch at most this often (10 seconds), so forged `kid`s
    /// cannot make the verifier hammer the auth server.
    pub min_refetch_interval: Duration,
    /// Timeout of one fetch (5 seconds).
    pub timeout: Duration,
}

impl Default for RemoteKeysConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            min_refetch_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
        }
    }
}

/// Turns a key-set document into keys by id; members that are not acceptable keys are skipped.
pub(crate) type ParseKeys<K> = fn(&Value) -> HashMap<String, Arc<K>>;

/// Where a verifier's keys come from.
pub(crate) enum KeySource<K> {
    /// Given once, never refreshed.
    Static(HashMap<String, Arc<K>>),
    /// Fetched from a URL and cached.
    Remote(Box<RemoteKeys<K>>),
}

impl<K> KeySource<K> {
    pub(crate) async fn get(&self, kid: &str) -> Result<Arc<K>, GuardError> {
        match self {
            Self::Static(keys) => keys.get(kid).cloned().ok_or(GuardError::InvalidToken),
            Self::Remote(remote) => remote.get(kid).await,
        }
    }
}

/// A key set at a URL, cached.
pub(crate) struct RemoteKeys<K> {
    url: String,
    client: reqwest::Client,
    config: RemoteKeysConfig,
    parse: ParseKeys<K>,
    state: RwLock<CacheState<K>>,
    fetching: Mutex<()>,
}

struct CacheState<K> {
    keys: HashMap<String, Arc<K>>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
}

impl<K> RemoteKeys<K> {
    pub(crate) fn new(
        url: &str,
        config: RemoteKeysConfig,
        client: Option<reqwest::Client>,
        parse: ParseKeys<K>,
    ) -> Self {
        let client = client.unwrap_or_else(|| {
            reqwest::Client::builder()
                .timeout(config.timeout)
                .build()
                .unwrap_or_default()
        });
        Self {
            url: url.to_owned(),
            client,
            config,
            parse,
            state: RwLock::new(CacheState {
                keys: HashMap::new(),
                fetched_at: None,
                attempted_at: None,
            }),
            fetching: Mutex::new(()),
        }
    }

    async fn get(&self, kid: &str) -> Result<Arc<K>, GuardError> {
        {
            let state = self.state.read().await;
            let fresh = self.is_fresh(&state);
            match state.keys.get(kid) {
                Some(key) if fresh => return Ok(key.clone()),
                None if fresh && !self.may_refetch(&state) => {
                    return Err(GuardError::InvalidToken);
                }
                _ => {}
            }
        }
        let _fetching = self.fetching.lock().await;
        {
            // Another request may have refreshed the keys while this one waited.
            let state = self.state.read().await;
            if let Some(key) = state.keys.get(kid)
                && self.is_fresh(&state)
            {
                return Ok(key.clone());
            }
            if !self.may_refetch(&state) {
                return match state.keys.get(kid) {
                    Some(key) => Ok(key.clone()),
                    // No key set was ever fetched: the key server is down, the token may be fine.
                    None if state.fetched_at.is_none() => Err(GuardError::KeysUnavailable),
                    None => Err(GuardError::InvalidToken),
                };
            }
        }
        let fetched = self.fetch().await;
        let mut state = self.state.write().await;
        state.attempted_at = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                state.keys = keys;
                state.fetched_at = Some(Instant::now());
            }
            Err(()) if state.keys.is_empty() => return Err(GuardError::KeysUnavailable),
            Err(()) => {
                tracing::warn!(url = %self.url, "key set refresh failed; keeping the cached keys");
            }
        }
        state.keys.get(kid).cloned().ok_or(GuardError::InvalidToken)
    }

    fn is_fresh(&self, state: &CacheState<K>) -> bool {
        state
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.config.ttl)
    }

    fn may_refetch(&self, state: &CacheState<K>) -> bool {
        state
            .attempted_at
            .is_none_or(|at| at.elapsed() >= self.config.min_refetch_interval)
    }

    async fn fetch(&self) -> Result<HashMap<String, Arc<K>>, ()> {
        let response = self.client.get(&self.url).send().await.map_err(|error| {
            tracing::warn!(url = %self.url, error = %error, "key set fetch failed");
        })?;
        if !response.status().is_success() {
            tracing::warn!(url = %self.url, status = %response.status(), "key set fetch refused");
            return Err(());
        }
        let document: Value = response.json().await.map_err(|error| {
            tracing::warn!(url = %self.url, error = %error, "key set is not JSON");
        })?;
        Ok((self.parse)(&document))
    }
}
