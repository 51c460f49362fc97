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

#[tokio::test]
async fn remote_paserks_are_fetched_and_entries_that_are_not_v4_public_keys_are_ignored() {
    let key = Key::new();
    let document = json!({"keys": [
        {"kid": key.pid, "paserk": key.paserk},
        {"kid": "k4.pid.junk", "paserk": "k3.public.AAAA"},
        {"kid": 5, "paserk": key.paserk},
        {"paserk": key.paserk},
    ]});
    let parsed = parse_paserks(&document);
    assert_eq!(parsed.keys().collect::<Vec<_>>(), [&key.pid]);
    let (url, hits) = crate::jwt::tests::jwks_server(document).await;
    let verifier = PasetoVerifier::remote(&url, &VerifierConfig::for_origin(ORIGIN));
    let claims = verifier
        .verify(&key.sign(&payload(Duration::minutes(15), Duration::ZERO)))
        .await
        .expect("verified through the fetched key");
    assert_eq!(claims.subject, "user-1");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    let printed = format!("{verifier:?}");
    assert!(printed.contains("PasetoVerifier"), "{printed}");
    assert!(!printed.contains(&key.paserk), "no key material in Debug");
}

#[tokio::test]
async fn an_unreachable_paserk_list_is_503_not_401() {
    let verifier = PasetoVerifier::remote(
        "http://127.0.0.1:1/api/auth/paseto-keys",
        &VerifierConfig::for_origin(ORIGIN),
    );
    let key = Key::new();
    let token = key.sign(&payload(Duration::minutes(15), Duration::ZERO));
    assert_eq!(
        verifier.verify(&token).await,
        Err(GuardError::KeysUnavailable)
    );
}

#[tokio::test]
async fn registered_times_that_are_not_rfc_3339_strings_are_refused() {
    let key = Key::new();
    let verifier = key.verifier();
    for bad in [json!(1_900_000_000), json!("tomorrow"), json!(null)] {
        let mut claims = payload(Duration::minutes(15), Duration::ZERO);
        claims["exp"] = bad.clone();
        assert_eq!(
            verifier.verify(&key.sign(&claims)).await,
            Err(GuardError::InvalidToken),
            "exp = {bad}"
        );
    }
    assert!(
        PasetoVerifier::from_paserk(
            &key.pid,
            "k4.public.not-a-key",
            &VerifierConfig::for_origin(ORIGIN)
        )
        .is_err()
    );
}

#[tokio::test]
async fn the_claims_extractor_verifies_with_a_paseto_verifier_given_as_data() {
    use poem::test::TestClient;
    use poem::{EndpointExt, Route, get, handler};

    #[handler]
    fn whoami(crate::JwtClaims(claims): crate::JwtClaims) -> String {
        claims.subject
    }

    let key = Key::new();
    let verifier: Arc<dyn crate::TokenVerifier> = Arc::new(key.verifier());
    let client = TestClient::new(Route::new().at("/whoami", get(whoami).data(verifier)));
    let valid = key.sign(&payload(Duration::minutes(15), Duration::ZERO));
    let answer = client
        .get("/whoami")
        .header("authorization", format!("Bearer {valid}"))
        .send()
        .await;
    answer.assert_status_is_ok();
    answer.assert_text("user-1").await;

    let missing = client.get("/whoami").send().await;
    missing.assert_status(poem::http::StatusCode::UNAUTHORIZED);
    missing.assert_header("www-authenticate", "Bearer");
    missing
        .assert_json(json!({"code": "MISSING_TOKEN", "message": "A bearer token is required"}))
        .await;

    let expired = key.sign(&payload(Duration::minutes(-1), Duration::minutes(-16)));
    let refused = client
        .get("/whoami")
        .header("authorization", format!("Bearer {expired}"))
        .send()
        .await;
    refused.assert_status(poem::http::StatusCode::UNAUTHORIZED);
    refused.assert_header("www-authenticate", "Bearer error=\"invalid_token\"");
    refused
        .assert_json(json!({"code": "TOKEN_EXPIRED", "message": "Token expired"}))
        .await;

    // Mounted without a verifier: a misconfiguration, answered 503 rather than let through.
    let bare = TestClient::new(Route::new().at("/whoami", get(whoami)));
    let unconfigured = bare
        .get("/whoami")
        .header("authorization", format!("Bearer {valid}"))
        .send()
        .await;
    unconfigured.assert_status(poem::http::StatusCode::SERVICE_UNAVAILABLE);
    unconfigured
        .assert_json(json!({"code": "KEYS_UNAVAILABLE", "message": "Signing keys are unavailable"}))
        .await;
}
