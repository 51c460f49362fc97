//! Forged, expired, misaddressed and tampered tokens are refused; remote keys are cached.

use std::sync::atomic::{AtomicUsize, Ordering};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{EncodingKey, Header};
use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::now_unix;

const ORIGIN: &str = "http://localhost:3000";

struct Key {
    signing: SigningKey,
    kid: String,
}

impl Key {
    fn new(seed: u8, kid: &str) -> Self {
        Self {
            signing: SigningKey::from_bytes(&[seed; 32]),
            kid: kid.to_owned(),
        }
    }

    fn x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.verifying_key().as_bytes())
    }

    fn jwk(&self) -> Value {
        json!({"alg": "EdDSA", "crv": "Ed25519", "x": self.x(), "kty": "OKP", "kid": self.kid})
    }

    fn sign(&self, claims: &Value) -> String {
        self.sign_with_kid(claims, &self.kid)
    }

    fn sign_with_kid(&self, claims: &Value, kid: &str) -> String {
        let der = self.signing.to_pkcs8_der().expect("der");
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = None;
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(der.as_bytes()))
            .expect("signed")
    }
}

fn claims() -> Value {
    let now = now_unix();
    json!({"iat": now, "sub": "user-1", "email": "a@example.com", "emailVerified": true,
           "exp": now + 900, "iss": ORIGIN, "aud": ORIGIN})
}

fn with(changes: Value) -> Value {
    let mut claims = claims();
    for (name, value) in changes.as_object().expect("object") {
        if value.is_null() {
            claims.as_object_mut().expect("object").remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

fn verifier(keys: &[&Key]) -> JwtVerifier {
    let jwks = json!({ "keys": keys.iter().map(|key| key.jwk()).collect::<Vec<_>>() });
    JwtVerifier::from_jwks(&jwks.to_string(), &VerifierConfig::for_origin(ORIGIN)).expect("jwks")
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn check(verifier: &JwtVerifier, token: &str, expected: Result<(), GuardError>) {
    let result = verifier.verify(token).await.map(|_| ());
    assert_eq!(result, expected, "{token}");
}

#[tokio::test]
async fn a_valid_token_verifies_and_exposes_its_claims() {
    let key = Key::new(7, "k1");
    let claims = verifier(&[&key])
        .verify(&key.sign(&claims()))
        .await
        .expect("valid");
    assert_eq!(claims.subject, "user-1");
    assert_eq!(claims.issuer, ORIGIN);
    assert_eq!(claims.email(), Some("a@example.com"));
    assert!(claims.email_verified());
}

#[tokio::test]
async fn forged_tokens_are_refused() {
    let key = Key::new(7, "k1");
    let verifier = verifier(&[&key]);
    let payload = b64(&claims());
    // alg none, with and without a signature segment.
    let none = b64(&json!({"alg": "none", "kid": "k1"}));
    check(
        &verifier,
        &format!("{none}.{payload}."),
        Err(GuardError::InvalidToken),
    )
    .await;
    check(
        &verifier,
        &format!("{none}.{payload}"),
        Err(GuardError::InvalidToken),
    )
    .await;
    // HS256 keyed with the public key, as raw bytes and as the `x` text.
    for secret in [
        key.signing.verifying_key().as_bytes().to_vec(),
        key.x().into_bytes(),
    ] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".to_owned());
        let forged = jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(&secret))
            .expect("hs256");
        check(&verifier, &forged, Err(GuardError::InvalidToken)).await;
    }
    // Another key, with our kid; an unknown kid; no kid.
    let other = Key::new(9, "k1");
    check(
        &verifier,
        &other.sign(&claims()),
        Err(GuardError::InvalidToken),
    )
    .await;
    check(
        &verifier,
        &key.sign_with_kid(&claims(), "unknown"),
        Err(GuardError::InvalidToken),
    )
    .await;
    let der = key.signing.to_pkcs8_der().expect("der");
    let no_kid = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims(),
        &EncodingKey::from_ed_der(der.as_bytes()),
    )
    .expect("signed");
    check(&verifier, &no_kid, Err(GuardError::InvalidToken)).await;
}

#[tokio::test]
async fn time_issuer_audience_and_subject_are_checked() {
    let key = Key::new(7, "k1");
    let verifier = verifier(&[&key]);
    let now = now_unix();
    let cases = [
        (json!({"exp": now - 60}), Err(GuardError::Expired)),
        (json!({"exp": now - 2}), Ok(())),
        (json!({"nbf": now + 60}), Err(GuardError::InvalidToken)),
        (json!({"nbf": now + 2}), Ok(())),
        (
            json!({"aud": "https://elsewhere.example"}),
            Err(GuardError::InvalidToken),
        ),
        (
            json!({"iss": "https://evil.example"}),
            Err(GuardError::InvalidToken),
        ),
        (json!({"sub": null}), Err(GuardError::InvalidToken)),
        (json!({"exp": null}), Err(GuardError::InvalidToken)),
        (json!({"aud": [ORIGIN, "other"]}), Ok(())),
    ];
    for (changes, expected) in cases {
        let token = key.sign(&with(changes.clone()));
        let result = verifier.verify(&token).await.map(|_| ());
        assert_eq!(result, expected, "{changes}");
    }
}

#[tokio::test]
async fn truncated_and_tampered_tokens_are_refused() {
    let key = Key::new(7, "k1");
    let verifier = verifier(&[&key]);
    let token = key.sign(&claims());
    let (signed, signature) = token.rsplit_once('.').expect("three parts");
    check(&verifier, signed, Err(GuardError::InvalidToken)).await;
    check(
        &verifier,
        &token[..token.len() - 10],
        Err(GuardError::InvalidToken),
    )
    .await;
    check(&verifier, "", Err(GuardError::InvalidToken)).await;
    check(&verifier, "a.b.c", Err(GuardError::InvalidToken)).await;
    let header = signed.split('.').next().expect("header");
    let raised = b64(&with(json!({"sub": "admin"})));
    check(
        &verifier,
        &format!("{header}.{raised}.{signature}"),
        Err(GuardError::InvalidToken),
    )
    .await;
}

#[test]
fn jwks_members_that_are_not_ed25519_eddsa_keys_are_ignored() {
    let good = Key::new(7, "good");
    let short_x = json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "short"});
    let rsa = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": "RS256", "kid": "rsa"});
    let wrong_alg =
        json!({"kty": "OKP", "crv": "Ed25519", "x": good.x(), "alg": "HS256", "kid": "hs"});
    let keys = parse_jwks(&json!({"keys": [good.jwk(), short_x, rsa, wrong_alg]}));
    assert_eq!(keys.keys().collect::<Vec<_>>(), ["good"]);
}

/// Serves a JWKS and counts how often it was fetched.
pub(crate) async fn jwks_server(document: Value) -> (String, Arc<AtomicUsize>) {
    use poem::listener::{Acceptor, Listener};
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = poem::endpoint::make_sync(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        poem::web::Json(document.clone())
    });
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .expect("bind");
    let port = acceptor.local_addr()[0]
        .as_socket_addr()
        .expect("tcp")
        .port();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (format!("http://127.0.0.1:{port}/jwks"), hits)
}

#[tokio::test]
async fn remote_keys_are_cached_and_unknown_kids_refetch_at_most_once_per_floor() {
    let key = Key::new(7, "k1");
    let (url, hits) = jwks_server(json!({"keys": [key.jwk()]})).await;
    let cache = RemoteKeysConfig {
        min_refetch_interval: std::time::Duration::from_secs(60),
        ..RemoteKeysConfig::default()
    };
    let verifier = JwtVerifier::remote_with(&url, &VerifierConfig::for_origin(ORIGIN), cache, None);
    for _ in 0..3 {
        verifier.verify(&key.sign(&claims())).await.expect("valid");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "fetched once, then cached");
    for _ in 0..5 {
        let unknown = key.sign_with_kid(&claims(), "rotated-away");
        assert_eq!(
            verifier.verify(&unknown).await,
            Err(GuardError::InvalidToken)
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "unknown kids do not refetch within the floor"
    );
    let eager = JwtVerifier::remote_with(
        &url,
        &VerifierConfig::for_origin(ORIGIN),
        RemoteKeysConfig {
            min_refetch_interval: std::time::Duration::ZERO,
            ..RemoteKeysConfig::default()
        },
        None,
    );
    eager.verify(&key.sign(&claims())).await.expect("valid");
    let unknown = key.sign_with_kid(&claims(), "new-key");
    assert_eq!(eager.verify(&unknown).await, Err(GuardError::InvalidToken));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "one refetch for the unknown kid"
    );
}

#[tokio::test]
async fn an_unreachable_key_set_is_503_not_401() {
    let verifier = JwtVerifier::remote(
        "http://127.0.0.1:1/jwks",
        &VerifierConfig::for_origin(ORIGIN),
    );
    let key = Key::new(7, "k1");
    // The second call falls inside the refetch floor and is not retried: still 503.
    for _ in 0..2 {
        assert_eq!(
            verifier.verify(&key.sign(&claims())).await,
            Err(GuardError::KeysUnavailable)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_changed_character_never_yields_different_claims(
        position in any::<usize>(),
        replacement in proptest::sample::select(b"AZaz09-_.".to_vec()),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let key = Key::new(7, "k1");
        let verifier = verifier(&[&key]);
        let token = key.sign(&claims());
        let mut bytes = token.clone().into_bytes();
        let index = position % bytes.len();
        bytes[index] = replacement;
        let mutated = String::from_utf8(bytes).expect("ascii");
        let original = runtime.block_on(verifier.verify(&token)).expect("valid");
        if let Ok(claims) = runtime.block_on(verifier.verify(&mutated)) {
            // Only changes in unused trailing bits of a segment survive.
            prop_assert_eq!(claims, original);
        }
    }
}
