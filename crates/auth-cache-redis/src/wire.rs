//! The private form of a cached lookup in Redis: JSON, sealed with an HMAC bound to its key. The
//! session token is not in it: the key is the token's digest, and the token comes back from the
//! caller's lookup. Anyone who can write to Redis can delete entries, but cannot plant or move
//! one: a value whose MAC does not verify for its key is a miss.

use auth_domain::{Email, FieldValue, Fields, Session, SessionId, SessionToken, User, UserId};
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

/// The key that seals entries, derived from the server secret.
#[derive(Clone)]
pub(crate) struct SealKey(Hmac);

type Hmac = hmac::Hmac<Sha256>;

impl SealKey {
    /// Derives the sealing key from the server secret (never the secret itself).
    pub(crate) fn derive(secret: &[u8]) -> Option<Self> {
        let mut derive = Hmac::new_from_slice(secret).ok()?;
        derive.update(b"auth-cache-redis: session entries v1");
        let key = derive.finalize().into_bytes();
        Hmac::new_from_slice(&key).ok().map(Self)
    }

    fn mac(&self, redis_key: &str, json: &str) -> Hmac {
        let mut mac = self.0.clone();
        mac.update(redis_key.as_bytes());
        mac.update(b"\n");
        mac.update(json.as_bytes());
        mac
    }

    /// `v1.<mac>.<json>`, the MAC covering the Redis key and the JSON.
    pub(crate) fn seal(&self, redis_key: &str, lookup: &CachedLookup) -> Option<String> {
        let json = serde_json::to_string(lookup).ok()?;
        let tag = self.mac(redis_key, &json).finalize().into_bytes();
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag);
        Some(format!("v1.{tag}.{json}"))
    }

    /// The lookup in a sealed value, if its MAC verifies for `redis_key`.
    pub(crate) fn open(&self, redis_key: &str, value: &str) -> Result<CachedLookup, Unsealed> {
        let Some((tag, json)) = value
            .strip_prefix("v1.")
            .and_then(|rest| rest.split_once('.'))
        else {
            return Err(Unsealed::Forged);
        };
        let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tag) else {
            return Err(Unsealed::Forged);
        };
        if self.mac(redis_key, json).verify_slice(&tag).is_err() {
            return Err(Unsealed::Forged);
        }
        serde_json::from_str(json).map_err(|_| Unsealed::Unreadable)
    }
}

/// Why a value could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unsealed {
    /// Not sealed by a server with our secret, or not for this key.
    Forged,
    /// Sealed, but not in the form this version reads.
    Unreadable,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct CachedLookup {
    session_id: String,
    user_id: String,
    expires_at_ms: i64,
    created_at_ms: i64,
    updated_at_ms: i64,
    ip_address: Option<String>,
    user_agent: Option<String>,
    name: String,
    email: String,
    email_verified: bool,
    #[serde(default)]
    two_factor_enabled: bool,
    image: Option<String>,
    user_created_at_ms: i64,
    user_updated_at_ms: i64,
    /// Redis's clock when the lookup behind this entry was made: an entry older than the L2
    /// lifetime is not used, even if someone wrote it back without its TTL.
    pub(crate) filled_at_ms: i64,
    /// Plugin fields of the session and the user; absent in entries written before there were
    /// any, which read as no fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    session_fields: Vec<(String, WireValue)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    user_fields: Vec<(String, WireValue)>,
}

/// A plugin field's value in an entry.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum WireValue {
    Bool(bool),
    Text(String),
    Null(()),
}

fn to_wire(fields: &Fields) -> Vec<(String, WireValue)> {
    fields
        .iter()
        .map(|(name, value)| {
            let value = match value {
                FieldValue::Null => WireValue::Null(()),
                FieldValue::Bool(flag) => WireValue::Bool(*flag),
                FieldValue::Text(text) => WireValue::Text(text.clone()),
            };
            (name.to_owned(), value)
        })
        .collect()
}

fn from_wire(wire: Vec<(String, WireValue)>) -> Fields {
    let mut fields = Fields::default();
    for (name, value) in wire {
        let value = match value {
            WireValue::Null(()) => FieldValue::Null,
            WireValue::Bool(flag) => FieldValue::Bool(flag),
            WireValue::Text(text) => FieldValue::Text(text),
        };
        fields.set(&name, value);
    }
    fields
}

fn ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn at(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

impl CachedLookup {
    pub(crate) fn new(session: &Session, user: &User, filled_at_ms: i64) -> Self {
        Self {
            session_id: session.id.to_string(),
            user_id: session.user_id.to_string(),
            expires_at_ms: ms(session.expires_at),
            created_at_ms: ms(session.created_at),
            updated_at_ms: ms(session.updated_at),
            ip_address: session.ip_address.clone(),
            user_agent: session.user_agent.clone(),
            name: user.name.clone(),
            email: user.email.to_string(),
            email_verified: user.email_verified,
            two_factor_enabled: user.two_factor_enabled,
            image: user.image.clone(),
            user_created_at_ms: ms(user.created_at),
            user_updated_at_ms: ms(user.updated_at),
            filled_at_ms,
            session_fields: to_wire(&session.fields),
            user_fields: to_wire(&user.fields),
        }
    }

    /// The lookup, with the token it was found by (never stored in Redis).
    pub(crate) fn into_domain(self, token: &SessionToken) -> Option<(Session, User)> {
        let user_id = UserId::new(self.user_id);
        let session = Session {
            id: SessionId::new(self.session_id),
            token: token.clone(),
            user_id: user_id.clone(),
            expires_at: at(self.expires_at_ms)?,
            created_at: at(self.created_at_ms)?,
            updated_at: at(self.updated_at_ms)?,
            ip_address: self.ip_address,
            user_agent: self.user_agent,
            fields: from_wire(self.session_fields),
        };
        let user = User {
            id: user_id,
            name: self.name,
            email: Email::from_trusted(self.email),
            email_verified: self.email_verified,
            two_factor_enabled: self.two_factor_enabled,
            image: self.image,
            created_at: at(self.user_created_at_ms)?,
            updated_at: at(self.user_updated_at_ms)?,
            fields: from_wire(self.user_fields),
        };
        Some((session, user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CachedLookup {
        serde_json::from_value(serde_json::json!({
            "session_id": "s", "user_id": "victim", "expires_at_ms": 1, "created_at_ms": 1,
            "updated_at_ms": 1, "ip_address": null, "user_agent": null, "name": "n",
            "email": "victim@example.com", "email_verified": true, "image": null,
            "user_created_at_ms": 1, "user_updated_at_ms": 1, "filled_at_ms": 1
        }))
        .expect("sample")
    }

    #[test]
    fn only_values_sealed_with_our_secret_for_their_key_open() {
        let key = SealKey::derive(b"server-secret-0123456789abcdefghij").expect("key");
        let sealed = key.seal("auth:sess:abc", &sample()).expect("seal");
        assert!(key.open("auth:sess:abc", &sealed).is_ok());
        // Moved to another token's key.
        assert_eq!(
            key.open("auth:sess:other", &sealed).err(),
            Some(Unsealed::Forged)
        );
        // Planted without a MAC, or with a MAC under another secret.
        let json = serde_json::to_string(&sample()).expect("json");
        assert_eq!(
            key.open("auth:sess:abc", &json).err(),
            Some(Unsealed::Forged)
        );
        let other = SealKey::derive(b"another-secret-0123456789abcdefgh").expect("key");
        let planted = other.seal("auth:sess:abc", &sample()).expect("seal");
        assert_eq!(
            key.open("auth:sess:abc", &planted).err(),
            Some(Unsealed::Forged)
        );
        // One changed character of the JSON.
        let tampered = sealed.replace("victim@example.com", "victim@example.org");
        assert_eq!(
            key.open("auth:sess:abc", &tampered).err(),
            Some(Unsealed::Forged)
        );
    }

    #[test]
    fn plugin_fields_round_trip_and_old_entries_read_as_none() {
        let old = sample();
        assert!(old.session_fields.is_empty() && old.user_fields.is_empty());
        let token = SessionToken::new("t".to_owned());
        let (mut session, mut user) = old.into_domain(&token).expect("domain");
        session
            .fields
            .set("activeOrganizationId", FieldValue::Text("org-1".to_owned()));
        session.fields.set("activeTeamId", FieldValue::Null);
        user.fields.set("twoFactorEnabled", FieldValue::Bool(true));
        let json = serde_json::to_string(&CachedLookup::new(&session, &user, 1)).expect("json");
        let back: CachedLookup = serde_json::from_str(&json).expect("entry");
        let (session_back, user_back) = back.into_domain(&token).expect("domain");
        assert_eq!(session_back.fields, session.fields);
        assert_eq!(user_back.fields, user.fields);
    }
}
