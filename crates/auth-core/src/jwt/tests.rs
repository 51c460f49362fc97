//! Token use cases on the in-memory key table, a manual clock and a transparent fake signer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use auth_domain::{
    Email, Jwk, KeyUse, Session, SessionId, SessionToken, StoredPrivateKey, TokenClaims, User,
    UserId,
};
use auth_ports::{
    GeneratedKey, JwksRepo, MockJwksRepo, Paserk, PortError, TokenSigner, VerifiedToken,
};
use auth_testkit::{ManualClock, MemoryJwksRepo, SeededRandom};
use time::macros::datetime;

use super::*;

/// Signs `"<iss>|<aud>|<kid>|<sub>|<exp>|<iat>"`: enough to see which key signed what, and to
/// verify.
#[derive(Default)]
struct FakeSigner(AtomicU32);

impl TokenSigner for FakeSigner {
    fn generate_key(&self, key_use: KeyUse) -> Result<GeneratedKey, PortError> {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        Ok(GeneratedKey {
            public_key: format!(r#"{{"crv":"Ed25519","x":"x{n}","kty":"OKP"}}"#),
            private_key: StoredPrivateKey::new(format!("\"sealed{n}\"")),
            alg: key_use.alg().to_owned(),
            crv: "Ed25519".to_owned(),
        })
    }

    fn sign(&self, key: &Jwk, claims: &TokenClaims) -> Result<String, PortError> {
        Ok(format!(
            "{}|{}|{}|{}|{}|{}",
            claims.issuer,
            claims.audience,
            key.id,
            claims.subject,
            claims.expires_at.unix_timestamp(),
            claims.issued_at.unix_timestamp()
        ))
    }

    fn verify(&self, keys: &[Jwk], token: &str) -> Option<VerifiedToken> {
        let [issuer, audience, kid, subject, exp, iat] = token.split('|').collect::<Vec<_>>()[..]
        else {
            return None;
        };
        keys.iter().find(|key| key.id.as_str() == kid)?;
        Some(VerifiedToken {
            subject: subject.to_owned(),
            issuer: issuer.to_owned(),
            audiences: vec![audience.to_owned()],
            issued_at: Some(OffsetDateTime::from_unix_timestamp(iat.parse().ok()?).ok()?),
            expires_at: OffsetDateTime::from_unix_timestamp(exp.parse().ok()?).ok()?,
        })
    }

    fn paserk(&self, key: &Jwk) -> Result<Paserk, PortError> {
        Ok(Paserk {
            public: format!("k4.public.{}", key.id),
            id: format!("k4.pid.{}", key.id),
        })
    }
}

struct Fixture {
    tokens: TokenIssuer,
    clock: Arc<ManualClock>,
    jwks: Arc<MemoryJwksRepo>,
}

fn fixture(format: TokenFormat) -> Fixture {
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 0:00 UTC)));
    let jwks = Arc::new(MemoryJwksRepo::new());
    let deps = TokenDeps {
        jwks: jwks.clone(),
        signer: Arc::new(FakeSigner::default()),
        clock: clock.clone(),
        random: Arc::new(SeededRandom::default()),
    };
    let config = TokenConfig {
        format,
        ..TokenConfig::for_origin("http://localhost:3000")
    };
    Fixture {
        tokens: TokenIssuer::new(deps, config),
        clock,
        jwks,
    }
}

fn context() -> AuthContext {
    let at = datetime!(2025-12-01 0:00 UTC);
    AuthContext {
        session: Session {
            id: SessionId::new("s"),
            token: SessionToken::new("t".to_owned()),
            user_id: UserId::new("u1"),
            expires_at: at + Duration::days(7),
            created_at: at,
            updated_at: at,
            ip_address: None,
            user_agent: None,
            fields: Default::default(),
        },
        user: User {
            id: UserId::new("u1"),
            name: "Alice".to_owned(),
            email: Email::from_trusted("alice@example.com".to_owned()),
            email_verified: true,
            two_factor_enabled: false,
            image: None,
            created_at: at,
            updated_at: at,
            fields: Default::default(),
        },
    }
}

fn kid(token: &IssuedToken) -> String {
    token.key_id.as_str().to_owned()
}

#[tokio::test]
async fn the_first_token_creates_a_key_that_expires_after_the_rotation_interval() {
    let f = fixture(TokenFormat::Jwt);
    let token = f.tokens.get_token(&context()).await.expect("token");
    assert_eq!(token.expires_at, datetime!(2026-01-01 0:15 UTC));
    assert!(
        token
            .token
            .contains(&format!("|u1|{}|", token.expires_at.unix_timestamp()))
    );
    let keys = f.jwks.list_all().await.expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].alg.as_deref(), Some("EdDSA"));
    assert_eq!(keys[0].expires_at, Some(datetime!(2026-04-01 0:00 UTC)));
    let again = f.tokens.get_token(&context()).await.expect("token");
    assert_eq!(
        kid(&again),
        kid(&token),
        "the same key signs until it expires"
    );
}

#[tokio::test]
async fn an_expired_key_is_replaced_at_the_next_signing_and_stays_published_for_the_grace_period() {
    let f = fixture(TokenFormat::Jwt);
    let first = f.tokens.get_token(&context()).await.expect("token");
    f.clock.advance(Duration::days(90));
    let second = f.tokens.get_token(&context()).await.expect("token");
    assert_ne!(kid(&first), kid(&second), "a new key signs after 90 days");
    let published: Vec<String> = f
        .tokens
        .get_jwks()
        .await
        .expect("jwks")
        .iter()
        .map(|key| key.id.as_str().to_owned())
        .collect();
    assert_eq!(published, [kid(&first), kid(&second)], "both are published");
    f.clock.advance(Duration::days(30));
    let published: Vec<String> = f
        .tokens
        .get_jwks()
        .await
        .expect("jwks")
        .iter()
        .map(|key| key.id.as_str().to_owned())
        .collect();
    assert_eq!(
        published,
        [kid(&second)],
        "the old key leaves after the grace period"
    );
}

#[tokio::test]
async fn the_jwks_creates_the_first_key_and_publishes_alg_and_crv() {
    let f = fixture(TokenFormat::Jwt);
    let keys = f.tokens.get_jwks().await.expect("jwks");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].alg, "EdDSA");
    assert_eq!(keys[0].crv.as_deref(), Some("Ed25519"));
    let token = f.tokens.get_token(&context()).await.expect("token");
    assert_eq!(kid(&token), keys[0].id.as_str(), "the published key signs");
    assert!(
        f.tokens
            .get_paseto_keys()
            .await
            .expect("paserks")
            .is_empty(),
        "no PASETO key unless PASETO is the format"
    );
}

#[tokio::test]
async fn a_forced_rotation_switches_signing_and_keeps_the_old_key_published() {
    let f = fixture(TokenFormat::Jwt);
    let before = f.tokens.get_token(&context()).await.expect("token");
    let rotated = f.tokens.rotate_keys().await.expect("rotated");
    assert_eq!(rotated.len(), 1);
    assert_eq!(rotated[0].status, KeyStatus::Signing);
    let after = f.tokens.get_token(&context()).await.expect("token");
    assert_eq!(
        kid(&after),
        rotated[0].id.as_str(),
        "the cache was invalidated"
    );
    assert_ne!(kid(&after), kid(&before));
    let listed = f.tokens.list_keys().await.expect("list");
    let statuses: Vec<(String, KeyStatus)> = listed
        .iter()
        .map(|key| (key.id.as_str().to_owned(), key.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (kid(&before), KeyStatus::Retired),
            (kid(&after), KeyStatus::Signing)
        ]
    );
    f.clock.advance(Duration::days(31));
    let listed = f.tokens.list_keys().await.expect("list");
    assert_eq!(listed[0].status, KeyStatus::Withdrawn);
    assert_eq!(listed[0].age, Duration::days(31));
}

#[tokio::test]
async fn paseto_format_signs_with_its_own_key_and_publishes_paserks() {
    let f = fixture(TokenFormat::Paseto);
    let token = f.tokens.get_token(&context()).await.expect("token");
    assert_eq!(token.format, TokenFormat::Paseto);
    let keys = f.jwks.list_all().await.expect("keys");
    assert_eq!(keys[0].alg.as_deref(), Some("v4.public"));
    let paserks = f.tokens.get_paseto_keys().await.expect("paserks");
    assert_eq!(paserks.len(), 1);
    assert_eq!(paserks[0].pid, format!("k4.pid.{}", kid(&token)));
    let jwks = f.tokens.get_jwks().await.expect("jwks");
    assert!(
        jwks.iter().all(|key| key.alg == "EdDSA"),
        "PASETO keys are not in the JWKS"
    );
    let rotated = f.tokens.rotate_keys().await.expect("rotated");
    assert_eq!(rotated.len(), 2, "both kinds rotate");
}

#[tokio::test]
async fn a_store_outage_is_reported_as_unavailable() {
    let mut jwks = MockJwksRepo::new();
    jwks.expect_list_all()
        .returning(|| Err(PortError::Unavailable("down".into())));
    let deps = TokenDeps {
        jwks: Arc::new(jwks),
        signer: Arc::new(FakeSigner::default()),
        clock: Arc::new(ManualClock::new(datetime!(2026-01-01 0:00 UTC))),
        random: Arc::new(SeededRandom::default()),
    };
    let tokens = TokenIssuer::new(deps, TokenConfig::for_origin("http://localhost:3000"));
    let result = tokens.get_token(&context()).await;
    assert!(
        matches!(result, Err(AuthError::Unavailable(_))),
        "{result:?}"
    );
}

/// The in-memory key table, yielding to the scheduler before every call as a real store does
/// while it waits on the database.
struct YieldingJwks(MemoryJwksRepo);

#[async_trait::async_trait]
impl JwksRepo for YieldingJwks {
    async fn create(&self, jwk: &Jwk) -> Result<(), PortError> {
        tokio::task::yield_now().await;
        self.0.create(jwk).await
    }
    async fn list_all(&self) -> Result<Vec<Jwk>, PortError> {
        tokio::task::yield_now().await;
        self.0.list_all().await
    }
    async fn update_expiry(&self, id: &JwkId, at: OffsetDateTime) -> Result<(), PortError> {
        tokio::task::yield_now().await;
        self.0.update_expiry(id, at).await
    }
}

#[tokio::test]
async fn concurrent_first_calls_create_one_key_between_them() {
    let jwks = Arc::new(YieldingJwks(MemoryJwksRepo::new()));
    let deps = TokenDeps {
        jwks: jwks.clone(),
        signer: Arc::new(FakeSigner::default()),
        clock: Arc::new(ManualClock::new(datetime!(2026-01-01 0:00 UTC))),
        random: Arc::new(SeededRandom::default()),
    };
    let tokens = TokenIssuer::new(deps, TokenConfig::for_origin("http://localhost:3000"));
    let context = context();
    let signing = futures_util::future::join_all((0..16).map(|_| tokens.get_token(&context)));
    let publishing = futures_util::future::join_all((0..4).map(|_| tokens.get_jwks()));
    let (issued, published) = futures_util::future::join(signing, publishing).await;
    let stored = jwks.list_all().await.expect("keys");
    assert_eq!(stored.len(), 1, "one key, not one per caller");
    for token in issued {
        assert_eq!(kid(&token.expect("signed")), stored[0].id.as_str());
    }
    for keys in published {
        let keys = keys.expect("published");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].id, stored[0].id);
    }
}

#[tokio::test]
async fn a_key_added_elsewhere_signs_here_once_the_key_cache_has_expired() {
    let f = fixture(TokenFormat::Jwt);
    let first = f.tokens.get_token(&context()).await.expect("token");
    // Another instance rotates: its newer key lands in the shared table.
    f.clock.advance(Duration::seconds(1));
    let newer = Jwk {
        id: JwkId::new("added-elsewhere"),
        public_key: r#"{"crv":"Ed25519","x":"other","kty":"OKP"}"#.to_owned(),
        private_key: StoredPrivateKey::new("\"sealed-other\"".to_owned()),
        created_at: f.clock.now(),
        expires_at: Some(f.clock.now() + Duration::days(90)),
        alg: Some("EdDSA".to_owned()),
        crv: Some("Ed25519".to_owned()),
    };
    f.jwks.create(&newer).await.expect("stored");
    f.clock.advance(Duration::seconds(20));
    let cached = f.tokens.get_token(&context()).await.expect("token");
    assert_eq!(
        kid(&cached),
        kid(&first),
        "within 30 s the cached key signs"
    );
    f.clock.advance(Duration::seconds(10));
    let reloaded = f.tokens.get_token(&context()).await.expect("token");
    assert_eq!(
        kid(&reloaded),
        "added-elsewhere",
        "after 30 s the table is read again"
    );
}

fn ids(keys: &[PublishedJwk]) -> Vec<String> {
    keys.iter().map(|key| key.id.as_str().to_owned()).collect()
}

#[tokio::test]
async fn the_published_snapshot_is_shared_until_the_keys_change_here() {
    let f = fixture(TokenFormat::Jwt);
    let first = f.tokens.published_jwks().await.expect("jwks");
    assert_eq!(first.len(), 1, "the first key is created");
    f.clock.advance(Duration::hours(1));
    let same = f.tokens.published_jwks().await.expect("jwks");
    assert!(
        Arc::ptr_eq(&first, &same),
        "unchanged keys keep the snapshot, even after the table is read again"
    );
    let rotated = f.tokens.rotate_keys().await.expect("rotate");
    let after = f.tokens.published_jwks().await.expect("jwks");
    assert!(
        !Arc::ptr_eq(&first, &after),
        "a rotation here is seen at once"
    );
    assert_eq!(after.len(), 2);
    assert!(ids(&after).contains(&rotated[0].id.as_str().to_owned()));
}

#[tokio::test]
async fn a_key_made_elsewhere_is_published_within_the_freshness_and_an_old_one_leaves_on_time() {
    let f = fixture(TokenFormat::Jwt);
    // The call that creates the first key does not trust its own load; the next one does.
    let _ = f.tokens.published_jwks().await.expect("jwks");
    let first = f.tokens.published_jwks().await.expect("jwks");
    let mut elsewhere = f.jwks.list_all().await.expect("keys")[0].clone();
    elsewhere.id = auth_domain::JwkId::new("made-elsewhere".to_owned());
    elsewhere.expires_at = Some(f.clock.now() + Duration::days(1));
    f.jwks.create(&elsewhere).await.expect("insert");
    let stale = f.tokens.published_jwks().await.expect("jwks");
    assert!(Arc::ptr_eq(&first, &stale), "served from the snapshot");
    f.clock.advance(JWKS_FRESHNESS);
    let fresh = f.tokens.published_jwks().await.expect("jwks");
    assert!(ids(&fresh).contains(&"made-elsewhere".to_owned()));
    // Its expiry plus the grace period ends its publication, however fresh the snapshot.
    f.clock.advance(Duration::days(31) - JWKS_FRESHNESS);
    let _ = f.tokens.published_jwks().await.expect("jwks");
    f.clock.advance(Duration::milliseconds(1));
    let later = f.tokens.published_jwks().await.expect("jwks");
    assert!(!ids(&later).contains(&"made-elsewhere".to_owned()));
}

#[tokio::test]
async fn a_load_that_overlaps_a_key_creation_here_is_not_kept() {
    let f = fixture(TokenFormat::Jwt);
    let _ = f.tokens.published_jwks().await.expect("jwks");
    f.clock.advance(JWKS_FRESHNESS);
    // Rotation bumps the generation and marks the snapshot stale, so the next call reads the
    // table again and sees the new key.
    let generation = f.tokens.inner.jwks_generation.load(Ordering::Acquire);
    f.tokens.rotate_keys().await.expect("rotate");
    assert!(f.tokens.inner.jwks_generation.load(Ordering::Acquire) > generation);
    let stale = f.tokens.jwks_snapshot().as_ref().map(|s| s.fresh_until);
    assert!(stale.is_some_and(|until| until <= f.clock.now()));
    let after = f.tokens.published_jwks().await.expect("jwks");
    assert_eq!(after.len(), 2);
}

/// An `Auth` on an in-memory store sharing the fixture's clock, with Alice signed up: her
/// session, as a context to sign tokens for.
async fn signed_up(f: &Fixture) -> (crate::Auth, AuthContext) {
    let store = Arc::new(auth_testkit::MemoryStore::new());
    let auth = crate::Auth::new(
        crate::tests::deps(&store, &f.clock),
        crate::AuthConfig::default(),
    );
    let signed_up = auth
        .sign_up_email(crate::SignUpEmail {
            name: "Alice".to_owned(),
            email: "alice@example.com".to_owned(),
            password: auth_domain::Password::new("password-123".to_owned()),
            image: None,
            remember_me: true,
            callback_url: None,
            client: crate::ClientInfo::default(),
        })
        .await
        .expect("sign-up");
    let context = AuthContext {
        session: signed_up.session.expect("a session"),
        user: signed_up.user,
    };
    (auth, context)
}

#[tokio::test]
async fn a_token_stands_for_its_user_until_it_expires_and_nothing_else_does() {
    let f = fixture(TokenFormat::Jwt);
    let (auth, context) = signed_up(&f).await;
    let issued = f.tokens.get_token(&context).await.expect("token");

    let found = f
        .tokens
        .context_for(&auth, &issued.token)
        .await
        .expect("ok")
        .expect("the token's user");
    assert_eq!(found.user.id, context.user.id);
    assert_eq!(found.session.expires_at, issued.expires_at);
    assert_eq!(
        found.session.id.as_str(),
        format!("token:{}", context.user.id)
    );
    assert_ne!(found.session.id, context.session.id, "no stored session");

    let forged = issued
        .token
        .replace(context.user.id.as_str(), "someone-else");
    let elsewhere = issued
        .token
        .replacen("http://localhost:3000", "https://evil.example", 1);
    for token in [forged.as_str(), elsewhere.as_str(), "junk"] {
        let none = f.tokens.context_for(&auth, token).await.expect("ok");
        assert!(none.is_none(), "{token}");
    }
    f.clock.advance(Duration::minutes(16));
    let expired = f
        .tokens
        .context_for(&auth, &issued.token)
        .await
        .expect("ok");
    assert!(expired.is_none(), "an expired token");
}

#[tokio::test]
async fn a_token_issued_ahead_of_this_clock_is_refused_past_the_leeway() {
    let f = fixture(TokenFormat::Jwt);
    let (auth, context) = signed_up(&f).await;
    let issued = f.tokens.get_token(&context).await.expect("token");
    // Read by an instance whose clock is behind: within the leeway, the token holds.
    f.clock.advance(-ISSUED_AT_LEEWAY);
    let within = f
        .tokens
        .context_for(&auth, &issued.token)
        .await
        .expect("ok");
    assert!(within.is_some(), "issued a leeway ahead");
    // Further behind, the token was issued in this clock's future: refused.
    f.clock.advance(-Duration::seconds(1));
    let ahead = f
        .tokens
        .context_for(&auth, &issued.token)
        .await
        .expect("ok");
    assert!(ahead.is_none(), "issued past the leeway ahead");
}

#[tokio::test]
async fn presented_tokens_read_the_key_table_at_most_once_per_freshness_window() {
    let f = fixture(TokenFormat::Jwt);
    let (auth, context) = signed_up(&f).await;
    // Junk read the (empty) key table once; it is not read again for each token presented.
    let junk = f.tokens.context_for(&auth, "junk").await.expect("ok");
    assert!(junk.is_none());
    // Another instance on the same table signs with a key of its own.
    let elsewhere = TokenIssuer::new(
        TokenDeps {
            jwks: f.jwks.clone(),
            signer: Arc::new(FakeSigner::default()),
            clock: f.clock.clone(),
            random: Arc::new(SeededRandom::default()),
        },
        TokenConfig::for_origin("http://localhost:3000"),
    );
    let issued = elsewhere.get_token(&context).await.expect("token");
    let cached = f
        .tokens
        .context_for(&auth, &issued.token)
        .await
        .expect("ok");
    assert!(
        cached.is_none(),
        "the table as read a moment ago has no key for it"
    );
    f.clock.advance(JWKS_FRESHNESS);
    let reread = f
        .tokens
        .context_for(&auth, &issued.token)
        .await
        .expect("ok");
    assert!(reread.is_some(), "read again once the window has passed");
}
