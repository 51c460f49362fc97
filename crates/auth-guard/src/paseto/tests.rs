//! `PasetoVerifier` against tokens signed here with pasetors, shaped as the auth server signs
//! them (RFC 3339 times, `{"kid": "k4.pid..."}` footer).

use pasetors::keys::{AsymmetricKeyPair, Generate};
use pasetors::paserk::{FormatAsPaserk, Id};
use serde_json::json;
use time::Duration;

use super::*;

const ORIGIN: &str = "http://localhost:3000";

struct Key {
    pair: AsymmetricKeyPair<V4>,
    pid: String,
    paserk: String,
}

impl Key {
    fn new() -> Self {
        let pair = AsymmetricKeyPair::<V4>::generate().expect("key pair");
        let mut pid = String::new();
        Id::from(&pair.public).fmt(&mut pid).expect("pid");
        let mut paserk = String::new();
        pair.public.fmt(&mut paserk).expect("paserk");
        Self { pair, pid, paserk }
    }

    fn sign(&self, payload: &Value) -> String {
        let footer = json!({ "kid": self.pid }).to_string();
        PublicToken::sign(
            &self.pair.secret,
            payload.to_string().as_bytes(),
            Some(footer.as_bytes()),
            None,
        )
        .expect("signed")
    }

    fn verifier(&self) -> PasetoVerifier {
        PasetoVerifier::from_paserk(&self.pid, &self.paserk, &VerifierConfig::for_origin(ORIGIN))
            .expect("verifier")
    }
}

fn rfc3339(offset: Duration) -> String {
    (OffsetDateTime::from_unix_timestamp(now_unix()).expect("now") + offset)
        .format(&Rfc3339)
        .expect("formatted")
}

/// The server's payload: registered claims as RFC 3339 strings, then the user.
fn payload(exp: Duration, nbf: Duration) -> Value {
    json!({
        "iss": ORIGIN,
        "sub": "user-1",
        "aud": ORIGIN,
        "iat": rfc3339(Duration::ZERO),
        "nbf": rfc3339(nbf),
        "exp": rfc3339(exp),
        "email": "a@example.com",
    })
}

#[tokio::test]
async fn a_token_from_the_key_verifies_with_its_claims() {
    let key = Key::new();
    let claims = key
        .verifier()
        .verify(&key.sign(&payload(Duration::minutes(15), Duration::ZERO)))
        .await
        .expect("verified");
    assert_eq!(claims.subject, "user-1");
    assert_eq!(claims.issuer, ORIGIN);
    let expires_in = claims.expires_at - now_unix();
    assert!((890..=900).contains(&expires_in), "{expires_in}");
    assert!(claims.issued_at.is_some());
    assert_eq!(claims.all["email"], "a@example.com");
    // The payload is handed over as signed: times stay RFC 3339 strings.
    assert!(claims.all["exp"].is_string());
}

#[tokio::test]
async fn expired_not_yet_valid_and_foreign_tokens_are_refused() {
    let key = Key::new();
    let verifier = key.verifier();
    let expired = key.sign(&payload(Duration::minutes(-1), Duration::minutes(-16)));
    assert_eq!(verifier.verify(&expired).await, Err(GuardError::Expired));
    let early = key.sign(&payload(Duration::minutes(30), Duration::minutes(10)));
    assert_eq!(verifier.verify(&early).await, Err(GuardError::InvalidToken));
    let mut other_audience = payload(Duration::minutes(15), Duration::ZERO);
    other_audience["aud"] = json!("https://elsewhere.example");
    assert_eq!(
        verifier.verify(&key.sign(&other_audience)).await,
        Err(GuardError::InvalidToken)
    );
    let mut no_subject = payload(Duration::minutes(15), Duration::ZERO);
    no_subject.as_object_mut().expect("object").remove("sub");
    assert_eq!(
        verifier.verify(&key.sign(&no_subject)).await,
        Err(GuardError::InvalidToken)
    );
    // Signed by another key under the same kid: the signature does not verify.
    let impostor = Key::new();
    let forged = PublicToken::sign(
        &impostor.pair.secret,
        payload(Duration::minutes(15), Duration::ZERO)
            .to_string()
            .as_bytes(),
        Some(json!({ "kid": key.pid }).to_string().as_bytes()),
        None,
    )
    .expect("signed");
    assert_eq!(
        verifier.verify(&forged).await,
        Err(GuardError::InvalidToken)
    );
    // An unknown kid, and a token of another version or purpose.
    assert_eq!(
        verifier
            .verify(&impostor.sign(&payload(Duration::minutes(15), Duration::ZERO)))
            .await,
        Err(GuardError::InvalidToken)
    );
    assert_eq!(
        verifier.verify("v4.local.AAAA").await,
        Err(GuardError::InvalidToken)
    );
}
