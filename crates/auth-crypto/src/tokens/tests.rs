use auth_domain::{Email, JwkId, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use proptest::prelude::*;
use serde_json::Value;
use time::macros::datetime;

use super::*;

const SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";

/// A `jwks` row written by better-auth 1.7.25 (`jwt()` plugin, secret [`SECRET`]) and a token it
/// signed with that key.
const BA_PUBLIC: &str =
    r#"{"crv":"Ed25519","x":"lpIAaXgbIJienbuqscG1BEjRo9Jtzi2ku0wvfqPaK80","kty":"OKP"}"#;
const BA_PRIVATE: &str = r#""2b612e8a12303fae24fc239fe25d720f550d9978c14a74eb29aa44f9f41c6a00297bbeef9673af7b5dba1c6b394cfaa163fc64e6d861a401cb59aae4931fcc9177a5c19b7a2257c6956267ad697c52bda3ed5943ed225a0ee0223c4a053cfa8c871465bdd83508f885d2e72939d1f9b8e2f26616d847f1b16678ae74afc8804dcd1d9187c39c8424e3cf41bba4865866b7cc61d022a513ecb4a6c67b388339b65bf706ba63e3de4878""#;
const BA_KID: &str = "iFyMLshrmwPpSf33lGLPoDS9DOek3taw";
const BA_TOKEN: &str = "eyJhbGciOiJFZERTQSIsImtpZCI6ImlGeU1Mc2hybXdQcFNmMzNsR0xQb0RTOURPZWszdGF3In0.eyJpYXQiOjE3OTU2MDMwNjUsIm5hbWUiOiJBbGljZSIsImVtYWlsIjoiYWxpY2VAZXhhbXBsZS5jb20iLCJlbWFpbFZlcmlmaWVkIjpmYWxzZSwiY3JlYXRlZEF0IjoiMjAyNi0xMS0yNVQxMDozNzo0NS43MzRaIiwidXBkYXRlZEF0IjoiMjAyNi0xMS0yNVQxMDozNzo0NS43MzRaIiwiaWQiOiI5YlptMWNuaExLZzJSSHF2Qmhhb3pUTHN0NUhwQTdBNSIsInN1YiI6IjliWm0xY25oTEtnMlJIcXZCaGFvelRMc3Q1SHBBN0E1IiwiZXhwIjoxNzk1NjAzOTY1LCJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAiLCJhdWQiOiJodHRwOi8vbG9jYWxob3N0OjMwMDAifQ.pOLtxU8yTnVh90TffTd2IikJ9kql4edphEvH7W2_pCXLR9HRCusedVmhPK_78J1284gkCBrb0F70fcM-sEGuAA";

fn signer() -> Ed25519TokenSigner {
    Ed25519TokenSigner::new(
        &Secret::new(SECRET.to_owned()),
        PrivateKeyStorage::Encrypted,
    )
}

fn row(id: &str, generated: &GeneratedKey) -> Jwk {
    Jwk {
        id: JwkId::new(id),
        public_key: generated.public_key.clone(),
        private_key: generated.private_key.clone(),
        created_at: datetime!(2026-01-01 0:00 UTC),
        expires_at: None,
        alg: Some(generated.alg.clone()),
        crv: Some(generated.crv.clone()),
    }
}

fn better_auth_row() -> Jwk {
    Jwk {
        id: JwkId::new(BA_KID),
        public_key: BA_PUBLIC.to_owned(),
        private_key: StoredPrivateKey::new(BA_PRIVATE.to_owned()),
        created_at: datetime!(2026-11-25 10:37:45.810 UTC),
        expires_at: None,
        alg: Some("EdDSA".to_owned()),
        crv: Some("Ed25519".to_owned()),
    }
}

fn claims(name: &str) -> TokenClaims {
    let at = datetime!(2026-11-25 10:37:45.734 UTC);
    TokenClaims {
        user: User {
            id: UserId::new("9bZm1cnhLKg2RHqvBhaozTLst5HpA7A5"),
            name: name.to_owned(),
            email: Email::from_trusted("alice@example.com".to_owned()),
            email_verified: false,
            two_factor_enabled: false,
            image: None,
            created_at: at,
            updated_at: at,
            fields: Default::default(),
        },
        subject: "9bZm1cnhLKg2RHqvBhaozTLst5HpA7A5".to_owned(),
        issuer: "http://localhost:3000".to_owned(),
        audience: "http://localhost:3000".to_owned(),
        issued_at: datetime!(2026-11-25 10:37:45 UTC),
        expires_at: datetime!(2026-11-25 10:52:45 UTC),
    }
}

fn decoding_key(key: &Jwk) -> DecodingKey {
    DecodingKey::from_ed_components(&public_x(key).expect("x")).expect("key")
}

fn validation_ignoring_time() -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.set_audience(&["http://localhost:3000"]);
    validation.set_issuer(&["http://localhost:3000"]);
    validation
}

fn decode(token: &str, key: &Jwk) -> jsonwebtoken::errors::Result<Value> {
    jsonwebtoken::decode::<Value>(token, &decoding_key(key), &validation_ignoring_time())
        .map(|data| data.claims)
}

#[test]
fn the_stored_private_key_is_sealed_not_the_raw_key_and_opens_to_it() {
    let generated = signer().generate_key(KeyUse::Jwt).expect("key");
    let stored = generated.private_key.expose();
    assert!(stored.starts_with('"') && stored.ends_with('"'), "{stored}");
    assert!(!stored.contains("\"d\""), "not plain JSON");
    let public: Value = serde_json::from_str(&generated.public_key).expect("json");
    let x = public["x"].as_str().expect("x");
    assert!(!stored.contains(x));
    let hex: String = serde_json::from_str(stored).expect("string literal");
    let opened = SecretBox::new(SECRET).decrypt(&hex).expect("opens");
    let private: Value = serde_json::from_slice(&opened).expect("jwk");
    assert_eq!(private["x"], x);
    assert_eq!(private["kty"], "OKP");
    assert_eq!(private["crv"], "Ed25519");
    assert_eq!(
        serde_json::from_str::<Value>(&generated.public_key).expect("json"),
        serde_json::json!({"crv": "Ed25519", "x": x, "kty": "OKP"})
    );
    let plain = Ed25519TokenSigner::new(&Secret::new(SECRET.to_owned()), PrivateKeyStorage::Plain)
        .generate_key(KeyUse::Jwt)
        .expect("key");
    assert!(
        plain
            .private_key
            .expose()
            .starts_with("{\"crv\":\"Ed25519\",\"d\":")
    );
}

#[test]
fn a_key_made_by_better_auth_signs_tokens_that_verify_like_its_own() {
    let key = better_auth_row();
    let theirs = decode(BA_TOKEN, &key).expect("Better-Auth's token verifies");
    let ours = signer().sign(&key, &claims("Alice")).expect("signed");
    let mut decoded = decode(&ours, &key).expect("ours verifies");
    // Better-Auth's memory adapter leaves an unset image out; SQL adapters (and we) write null.
    assert_eq!(decoded["image"], Value::Null);
    decoded.as_object_mut().expect("object").remove("image");
    assert_eq!(decoded, theirs, "same claims");
    let header = jsonwebtoken::decode_header(&ours).expect("header");
    assert_eq!(header.kid.as_deref(), Some(BA_KID));
    assert_eq!(header.typ, None);
    let header_json = URL_SAFE_NO_PAD
        .decode(ours.split('.').next().expect("header"))
        .expect("b64");
    assert_eq!(
        header_json,
        br#"{"alg":"EdDSA","kid":"iFyMLshrmwPpSf33lGLPoDS9DOek3taw"}"#
    );
    assert_eq!(
        ours.split('.').next(),
        BA_TOKEN.split('.').next(),
        "same header bytes"
    );
}

#[test]
fn signing_the_same_claims_again_in_the_same_second_returns_what_a_fresh_signer_signs() {
    let key = better_auth_row();
    let warm = signer();
    let first = warm.sign(&key, &claims("Alice")).expect("signed");
    let again = warm.sign(&key, &claims("Alice")).expect("memoised");
    let fresh = signer()
        .sign(&key, &claims("Alice"))
        .expect("signed afresh");
    assert_eq!(first, again);
    assert_eq!(
        again, fresh,
        "a memoised token is byte for byte the signed one"
    );
    // The second call did not sign: the same key row with a private half that cannot be
    // opened still yields the memoised token this second, and fails once the second is over.
    let mut unopenable = better_auth_row();
    unopenable.private_key = StoredPrivateKey::new("\"00\"".to_owned());
    assert_eq!(
        warm.sign(&unopenable, &claims("Alice")).expect("memoised"),
        first
    );
    let mut next_second = claims("Alice");
    next_second.issued_at += time::Duration::seconds(1);
    assert!(warm.sign(&unopenable, &next_second).is_err());
}

#[test]
fn a_changed_claim_a_later_second_or_another_format_signs_anew() {
    let key = better_auth_row();
    let warm = signer();
    let alice = warm.sign(&key, &claims("Alice")).expect("signed");
    let renamed = warm.sign(&key, &claims("Alicia")).expect("signed");
    assert_ne!(alice, renamed);
    assert_eq!(decode(&renamed, &key).expect("verifies")["name"], "Alicia");
    let mut later = claims("Alicia");
    later.issued_at += time::Duration::seconds(1);
    later.expires_at += time::Duration::seconds(1);
    let next_second = warm.sign(&key, &later).expect("signed");
    assert_eq!(
        decode(&next_second, &key).expect("verifies")["iat"],
        later.issued_at.unix_timestamp()
    );
    // The earlier second is gone from the memo; signing it again still gives its own token.
    assert_eq!(warm.sign(&key, &claims("Alice")).expect("signed"), alice);
    let mut paseto_key = better_auth_row();
    paseto_key.alg = Some(auth_domain::PASETO_V4_PUBLIC.to_owned());
    let paseto = warm.sign(&paseto_key, &claims("Alice")).expect("signed");
    assert!(paseto.starts_with("v4.public."), "{paseto}");
}

#[test]
fn a_key_sealed_with_another_secret_or_mismatched_halves_does_not_sign() {
    let key = better_auth_row();
    let other = Ed25519TokenSigner::new(
        &Secret::new("another-secret-0123456789-abcdefghij".to_owned()),
        PrivateKeyStorage::Encrypted,
    );
    assert!(other.sign(&key, &claims("A")).is_err());
    let mut swapped = key;
    swapped.public_key = signer().generate_key(KeyUse::Jwt).expect("key").public_key;
    assert!(signer().sign(&swapped, &claims("A")).is_err());
}

#[test]
fn paseto_keys_sign_v4_public_tokens_with_the_paserk_id_in_the_footer() {
    let signer = signer();
    let generated = signer.generate_key(KeyUse::PasetoPublic).expect("key");
    assert_eq!(generated.alg, "v4.public");
    let key = row("paseto-key", &generated);
    let token = signer.sign(&key, &claims("Alice")).expect("signed");
    assert!(token.starts_with("v4.public."), "{token}");
    let paserk = signer.paserk(&key).expect("paserk");
    assert!(paserk.public.starts_with("k4.public."));
    assert!(paserk.id.starts_with("k4.pid."));
    let public = AsymmetricPublicKey::<V4>::try_from(paserk.public.as_str()).expect("paserk");
    let untrusted =
        pasetors::token::UntrustedToken::<pasetors::Public, V4>::try_from(&token).expect("token");
    let trusted = PublicToken::verify(&public, &untrusted, None, None).expect("verifies");
    let payload: Value = serde_json::from_str(trusted.payload()).expect("json");
    assert_eq!(payload["sub"], "9bZm1cnhLKg2RHqvBhaozTLst5HpA7A5");
    assert_eq!(payload["exp"], "2026-11-25T10:52:45Z");
    assert_eq!(payload["email"], "alice@example.com");
    let footer: Value = serde_json::from_slice(trusted.footer()).expect("footer");
    assert_eq!(footer["kid"], paserk.id.as_str());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn jwts_round_trip_and_any_changed_character_is_refused(
        name in "[ -~]{0,40}",
        position in any::<usize>(),
    ) {
        let signer = signer();
        let key = row("k", &signer.generate_key(KeyUse::Jwt).expect("key"));
        let token = signer.sign(&key, &claims(&name)).expect("signed");
        let decoded = decode(&token, &key).expect("verifies");
        prop_assert_eq!(decoded["name"].as_str(), Some(name.as_str()));
        let original = decoded;
        let mut bytes = token.into_bytes();
        let index = position % bytes.len();
        let replacement = if bytes[index] == b'A' { b'B' } else { b'A' };
        bytes[index] = replacement;
        let tampered = String::from_utf8(bytes).expect("ascii");
        // The last character of a segment may carry unused bits; any change elsewhere is fatal.
        let decoded_again = decode(&tampered, &key);
        if let Ok(claims) = decoded_again {
            prop_assert_eq!(claims, original, "a token that still verifies says the same");
        }
    }

    #[test]
    fn paseto_tokens_round_trip_and_tampering_is_refused(
        name in "[ -~]{0,40}",
        position in any::<usize>(),
    ) {
        let signer = signer();
        let key = row("p", &signer.generate_key(KeyUse::PasetoPublic).expect("key"));
        let token = signer.sign(&key, &claims(&name)).expect("signed");
        let paserk = signer.paserk(&key).expect("paserk");
        let public = AsymmetricPublicKey::<V4>::try_from(paserk.public.as_str()).expect("paserk");
        let verify = |token: &str| {
            pasetors::token::UntrustedToken::<pasetors::Public, V4>::try_from(token)
                .ok()
                .and_then(|untrusted| PublicToken::verify(&public, &untrusted, None, None).ok())
                .and_then(|trusted| serde_json::from_str::<Value>(trusted.payload()).ok())
        };
        let original = verify(&token).expect("verifies");
        prop_assert_eq!(original["name"].as_str(), Some(name.as_str()));
        let body_start = "v4.public.".len();
        let mut bytes = token.into_bytes();
        let index = body_start + position % (bytes.len() - body_start);
        bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).expect("ascii");
        if let Some(payload) = verify(&tampered) {
            prop_assert_eq!(payload, original, "a token that still verifies says the same");
        }
    }
}

#[test]
fn a_better_auth_jwt_verifies_and_any_change_or_unknown_key_does_not() {
    let signer = signer();
    let keys = [better_auth_row()];
    let verified = signer
        .verify(&keys, BA_TOKEN)
        .expect("Better-Auth's own token");
    assert_eq!(verified.subject, "9bZm1cnhLKg2RHqvBhaozTLst5HpA7A5");
    assert_eq!(verified.issuer, "http://localhost:3000");
    assert_eq!(verified.audiences, ["http://localhost:3000"]);
    assert_eq!(verified.expires_at.unix_timestamp(), 1_795_603_965);
    assert_eq!(
        verified.issued_at.map(|at| at.unix_timestamp()),
        Some(1_795_603_065)
    );

    let (head, rest) = BA_TOKEN.split_once('.').expect("parts");
    let (payload, signature) = rest.split_once('.').expect("parts");
    let mut altered = payload.to_owned();
    altered.replace_range(10..11, if &payload[10..11] == "A" { "B" } else { "A" });
    let forged = [
        format!("{head}.{altered}.{signature}"),
        format!("{head}.{payload}.{}", &signature[1..]),
        format!("{head}.{payload}"),
        // `alg: none`, and a header naming another key.
        format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","kid":"x"}"#)
        ),
        format!(
            "{}.{payload}.{signature}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","kid":"another"}"#)
        ),
        "not a token".to_owned(),
    ];
    for token in &forged {
        assert_eq!(signer.verify(&keys, token), None, "{token}");
    }
    assert_eq!(signer.verify(&[], BA_TOKEN), None, "no published key");
}

#[test]
fn our_paseto_verifies_with_its_key_only() {
    let signer = signer();
    let key = row(
        "paseto-key",
        &signer.generate_key(KeyUse::PasetoPublic).expect("key"),
    );
    let other = row(
        "other-key",
        &signer.generate_key(KeyUse::PasetoPublic).expect("key"),
    );
    let token = signer.sign(&key, &claims("Alice")).expect("token");
    let verified = signer
        .verify(&[other.clone(), key.clone()], &token)
        .expect("verified");
    assert_eq!(verified.subject, "9bZm1cnhLKg2RHqvBhaozTLst5HpA7A5");
    assert_eq!(verified.expires_at, datetime!(2026-11-25 10:52:45 UTC));
    assert_eq!(signer.verify(&[other], &token), None, "another key");
    let mut altered = token.clone();
    let at = altered.len() - 60;
    let swapped = if &altered[at..=at] == "A" { "B" } else { "A" };
    altered.replace_range(at..=at, swapped);
    assert_eq!(signer.verify(std::slice::from_ref(&key), &altered), None);
    // A JWT key does not verify a PASETO, nor a PASETO key a JWT.
    let jwt_key = row("jwt-key", &signer.generate_key(KeyUse::Jwt).expect("key"));
    let jwt = signer.sign(&jwt_key, &claims("Alice")).expect("jwt");
    assert!(
        signer
            .verify(std::slice::from_ref(&jwt_key), &jwt)
            .is_some()
    );
    assert_eq!(signer.verify(&[key], &jwt), None);
    assert_eq!(signer.verify(&[jwt_key], &token), None);
}
