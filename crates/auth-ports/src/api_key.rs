//! API keys at rest: only their digest is stored and looked up.

/// The digest an API key is stored and looked up by (Better-Auth's `defaultKeyHasher`:
/// base64url without padding of SHA-256 over the full key, prefix included), so that keys a
/// Better-Auth deployment issued keep working on its adopted database.
pub trait ApiKeyHasher: Send + Sync {
    /// The digest of a full key.
    fn digest(&self, key: &str) -> String;
}
