//! `RedisEventBus`: domain events between instances over Redis pub/sub. Messages are sealed with
//! an HMAC keyed from the server secret over the channel and the message, which carries the
//! time it was sent (whoever can publish to Redis can neither forge an event nor replay an old
//! one, here or on another prefix's channel), carry no session token, and name the instance
//! that sent them so that it does not hear itself.

use std::hash::{BuildHasher as _, Hasher as _};
use std::time::Duration;

use auth_domain::{AuthEvent, SessionEnd, SessionId, UserId};
use std::sync::Arc;

use auth_ports::{Clock, EventBus, EventHandler, PortError};
use base64::Engine as _;
use deadpool_redis::Pool;
use deadpool_redis::redis::{self, AsyncCommands as _};
use futures_util::StreamExt as _;
use hmac::{KeyInit as _, Mac as _};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type Hmac = hmac::Hmac<Sha256>;

/// Events over Redis pub/sub, on the channel `<prefix>:events`.
pub struct RedisEventBus {
    pool: Pool,
    client: redis::Client,
    channel: String,
    timeout: Duration,
    key: Hmac,
    origin: String,
    clock: Arc<dyn Clock>,
}

/// A message older than this (by the receiver's clock) is not heard: a replay, or a clock
/// too far off.
const MAX_AGE_MS: i64 = 60_000;

impl std::fmt::Debug for RedisEventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisEventBus")
            .field("channel", &self.channel)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// An event as it crosses Redis.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Message {
    origin: String,
    /// When it was sent, in Unix milliseconds.
    at: i64,
    kind: String,
    user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// An API key's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    /// An organization's id (with `user`, a membership).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    organization: Option<String>,
}

impl Message {
    fn of(origin: &str, at: i64, event: &AuthEvent) -> Option<Self> {
        if let AuthEvent::ApiKeyChanged {
            owner,
            key_id,
            revoked,
        } = event
        {
            return Some(Self {
                origin: origin.to_owned(),
                at,
                kind: event.kind().to_owned(),
                user: owner.clone(),
                session: None,
                reason: Some(if *revoked { "revoked" } else { "updated" }.to_owned()),
                key: Some(key_id.clone()),
                organization: None,
            });
        }
        if let AuthEvent::OrganizationDeleted { organization_id } = event {
            return Some(Self {
                origin: origin.to_owned(),
                at,
                kind: event.kind().to_owned(),
                user: organization_id.clone(),
                session: None,
                reason: None,
                key: None,
                organization: None,
            });
        }
        if let AuthEvent::MemberRemoved {
            organization_id,
            user_id,
        } = event
        {
            return Some(Self {
                origin: origin.to_owned(),
                at,
                kind: event.kind().to_owned(),
                user: user_id.as_str().to_owned(),
                session: None,
                reason: None,
                key: None,
                organization: Some(organization_id.clone()),
            });
        }
        let (user, session, reason) = match event {
            AuthEvent::SessionEnded {
                user_id,
                session_id,
                reason,
                ..
            } => (user_id, Some(session_id), Some(*reason)),
            AuthEvent::UserSessionsEnded {
                user_id,
                kept,
                reason,
            } => (user_id, kept.as_ref(), Some(*reason)),
            AuthEvent::PasswordChanged { user_id } | AuthEvent::UserDeleted { user_id } => {
                (user_id, None, None)
            }
            // Carries a session token; no other instance needs it.
            _ => return None,
        };
        Some(Self {
            origin: origin.to_owned(),
            at,
            kind: event.kind().to_owned(),
            user: user.as_str().to_owned(),
            session: session.map(|id| id.as_str().to_owned()),
            reason: reason.map(|reason| reason.as_str().to_owned()),
            key: None,
            organization: None,
        })
    }

    fn into_event(self) -> Option<AuthEvent> {
        let user_id = UserId::new(self.user);
        let reason = || self.reason.as_deref().and_then(SessionEnd::parse);
        match self.kind.as_str() {
            "session_ended" => Some(AuthEvent::SessionEnded {
                user_id,
                session_id: SessionId::new(self.session.clone()?),
                token: None,
                reason: reason()?,
            }),
            "user_sessions_ended" => Some(AuthEvent::UserSessionsEnded {
                user_id,
                kept: self.session.clone().map(SessionId::new),
                reason: reason()?,
            }),
            "password_changed" => Some(AuthEvent::PasswordChanged { user_id }),
            "user_deleted" => Some(AuthEvent::UserDeleted { user_id }),
            "organization_deleted" => Some(AuthEvent::OrganizationDeleted {
                organization_id: user_id.as_str().to_owned(),
            }),
            "member_removed" => Some(AuthEvent::MemberRemoved {
                organization_id: self.organization?,
                user_id,
            }),
            "api_key_changed" => Some(AuthEvent::ApiKeyChanged {
                owner: user_id.as_str().to_owned(),
                key_id: self.key?,
                revoked: match self.reason.as_deref()? {
                    "revoked" => true,
                    "updated" => false,
                    _ => return None,
                },
            }),
            _ => None,
        }
    }
}

impl RedisEventBus {
    /// A bus on `pool` (for publishing) and `url` (for the subscription), on the channel
    /// `<prefix>:events`, its messages sealed with a key derived from `secret`.
    ///
    /// # Errors
    /// `Internal` for a malformed URL or an empty secret.
    pub fn new(
        pool: Pool,
        url: &str,
        prefix: &str,
        secret: &[u8],
        timeout: Duration,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, PortError> {
        if secret.is_empty() {
            return Err(PortError::internal("the event bus needs the secret"));
        }
        let mut derive = Hmac::new_from_slice(secret).map_err(PortError::internal)?;
        derive.update(b"auth-cache-redis: events v1");
        let key =
            Hmac::new_from_slice(&derive.finalize().into_bytes()).map_err(PortError::internal)?;
        let client = redis::Client::open(url).map_err(|e| PortError::internal(e.to_string()))?;
        let origin = {
            // Random per process (std seeds its hasher keys from the OS).
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u32(std::process::id());
            format!("{:016x}", hasher.finish())
        };
        Ok(Self {
            pool,
            client,
            channel: format!("{prefix}:events"),
            timeout,
            key,
            origin,
            clock,
        })
    }

    fn seal(&self, json: &str) -> String {
        let mut mac = self.key.clone();
        mac.update(self.channel.as_bytes());
        mac.update(b"\n");
        mac.update(json.as_bytes());
        let tag =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("v1.{tag}.{json}")
    }

    /// The message in a payload, if it is sealed with our key for this channel, recent at
    /// `now_ms`, and from another instance.
    fn open(
        key: &Hmac,
        channel: &str,
        origin: &str,
        now_ms: i64,
        payload: &str,
    ) -> Option<Message> {
        let (tag, json) = payload.strip_prefix("v1.")?.split_once('.')?;
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(tag)
            .ok()?;
        let mut mac = key.clone();
        mac.update(channel.as_bytes());
        mac.update(b"\n");
        mac.update(json.as_bytes());
        mac.verify_slice(&tag).ok()?;
        let message: Message = serde_json::from_str(json).ok()?;
        let recent = (now_ms - message.at).abs() <= MAX_AGE_MS;
        (recent && message.origin != origin).then_some(message)
    }
}

#[async_trait::async_trait]
impl EventBus for RedisEventBus {
    async fn publish(&self, event: &AuthEvent) -> Result<(), PortError> {
        let Some(message) = Message::of(&self.origin, unix_ms(self.clock.now()), event) else {
            return Ok(());
        };
        let json = serde_json::to_string(&message).map_err(PortError::internal)?;
        let payload = self.seal(&json);
        let publish = async {
            let mut connection = self
                .pool
                .get()
                .await
                .map_err(|e| crate::redis_error("events", e))?;
            connection
                .publish::<_, _, ()>(&self.channel, payload)
                .await
                .map_err(|e| crate::redis_error("events", e))
        };
        crate::within(self.timeout, "events", publish).await
    }

    fn listen(&self, handler: EventHandler) {
        let (client, channel, key, origin, clock) = (
            self.client.clone(),
            self.channel.clone(),
            self.key.clone(),
            self.origin.clone(),
            self.clock.clone(),
        );
        tokio::spawn(async move {
            loop {
                match client.get_async_pubsub().await {
                    Ok(mut pubsub) => {
                        if pubsub.subscribe(&channel).await.is_ok() {
                            let mut messages = pubsub.on_message();
                            while let Some(message) = messages.next().await {
                                let Ok(payload) = message.get_payload::<String>() else {
                                    continue;
                                };
                                let now = unix_ms(clock.now());
                                let event = Self::open(&key, &channel, &origin, now, &payload)
                                    .and_then(Message::into_event);
                                match event {
                                    Some(event) => handler(event).await,
                                    None => tracing::debug!("event bus: message ignored"),
                                }
                            }
                        }
                        let _ = crate::redis_error("events", "the subscription was lost");
                        tracing::warn!("event bus: channel lost; reconnecting");
                    }
                    Err(error) => {
                        let _ = crate::redis_error("events", &error);
                        tracing::debug!(error = %error, "event bus: cannot subscribe yet")
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

fn unix_ms(at: time::OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &[u8]) -> Hmac {
        let mut derive = Hmac::new_from_slice(secret).expect("key");
        derive.update(b"auth-cache-redis: events v1");
        Hmac::new_from_slice(&derive.finalize().into_bytes()).expect("key")
    }

    const CHANNEL: &str = "auth:events";

    fn sealed(key: &Hmac, message: &Message) -> String {
        let json = serde_json::to_string(message).expect("json");
        let mut mac = key.clone();
        mac.update(CHANNEL.as_bytes());
        mac.update(b"\n");
        mac.update(json.as_bytes());
        let tag =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("v1.{tag}.{json}")
    }

    #[test]
    fn events_cross_without_tokens_and_come_back_the_same() {
        let ended = AuthEvent::SessionEnded {
            user_id: UserId::new("u"),
            session_id: SessionId::new("s"),
            token: Some(auth_domain::SessionToken::new("secret-token".to_owned())),
            reason: SessionEnd::SignOut,
        };
        let message = Message::of("a", 1, &ended).expect("published");
        let json = serde_json::to_string(&message).expect("json");
        assert!(!json.contains("secret-token"), "{json}");
        let back = message.into_event().expect("event");
        assert_eq!(
            back,
            AuthEvent::SessionEnded {
                user_id: UserId::new("u"),
                session_id: SessionId::new("s"),
                token: None,
                reason: SessionEnd::SignOut,
            }
        );
        let all = AuthEvent::UserSessionsEnded {
            user_id: UserId::new("u"),
            kept: Some(SessionId::new("k")),
            reason: SessionEnd::RevokedOthers,
        };
        let back = Message::of("a", 1, &all).expect("published").into_event();
        assert_eq!(back, Some(all));
        for event in [
            AuthEvent::PasswordChanged {
                user_id: UserId::new("u"),
            },
            AuthEvent::UserDeleted {
                user_id: UserId::new("u"),
            },
            AuthEvent::ApiKeyChanged {
                owner: "u".to_owned(),
                key_id: "k".to_owned(),
                revoked: true,
            },
            AuthEvent::ApiKeyChanged {
                owner: "u".to_owned(),
                key_id: "k".to_owned(),
                revoked: false,
            },
            AuthEvent::OrganizationDeleted {
                organization_id: "o".to_owned(),
            },
            AuthEvent::MemberRemoved {
                organization_id: "o".to_owned(),
                user_id: UserId::new("u"),
            },
        ] {
            let back = Message::of("a", 1, &event).expect("published").into_event();
            assert_eq!(back, Some(event));
        }
    }

    #[test]
    fn forged_foreign_or_own_messages_are_not_heard() {
        let ours = key(b"server-secret-0123456789abcdefghij");
        let theirs = key(b"another-secret-0123456789abcdefgh");
        let now = 1_000_000;
        let message = Message {
            origin: "other".to_owned(),
            at: now,
            kind: "password_changed".to_owned(),
            user: "u".to_owned(),
            session: None,
            reason: None,
            key: None,
            organization: None,
        };
        let open = |key: &Hmac, channel: &str, origin: &str, at: i64, payload: &str| {
            RedisEventBus::open(key, channel, origin, at, payload)
        };
        let payload = sealed(&ours, &message);
        assert!(open(&ours, CHANNEL, "me", now, &payload).is_some());
        assert!(open(&ours, CHANNEL, "me", now, &sealed(&theirs, &message)).is_none());
        assert!(
            open(&ours, CHANNEL, "other", now, &payload).is_none(),
            "not our own"
        );
        assert!(
            open(&ours, "other:events", "me", now, &payload).is_none(),
            "not replayed on another prefix's channel"
        );
        assert!(
            open(&ours, CHANNEL, "me", now + MAX_AGE_MS + 1, &payload).is_none(),
            "not replayed later"
        );
        let tampered = payload.replace("\"u\"", "\"v\"");
        assert!(open(&ours, CHANNEL, "me", now, &tampered).is_none());
        assert!(open(&ours, CHANNEL, "me", now, "not a message").is_none());
        let unknown = Message {
            kind: "something_else".to_owned(),
            ..message
        };
        let keyless = Message {
            kind: "api_key_changed".to_owned(),
            reason: Some("revoked".to_owned()),
            key: None,
            origin: String::new(),
            at: now,
            user: "u".to_owned(),
            session: None,
            organization: None,
        };
        let orgless = Message {
            kind: "member_removed".to_owned(),
            ..keyless.clone()
        };
        assert_eq!(
            orgless.into_event(),
            None,
            "a membership names its organization"
        );
        let odd_reason = Message {
            key: Some("k".to_owned()),
            reason: Some("exploded".to_owned()),
            ..keyless.clone()
        };
        assert_eq!(unknown.into_event(), None);
        assert_eq!(keyless.into_event(), None, "a key event names its key");
        assert_eq!(odd_reason.into_event(), None);
    }
}
