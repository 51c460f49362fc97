//! Verification cost of a JWT in a guard, in process: one Ed25519 key, one token shaped like the
//! auth server's, `JwtVerifier::verify` timed one call at a time. Prints p50/p95/p99 in
//! microseconds. Run: `cargo run --release -p auth-guard --example verify_bench [iterations]`.
#![allow(
    clippy::print_stdout,
    clippy::expect_used,
    reason = "a benchmark program"
)]

use std::time::Instant;

use auth_guard::{JwtVerifier, VerifierConfig};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let origin = "http://localhost:3000";
    let signing = SigningKey::from_bytes(&[7; 32]);
    let x = URL_SAFE_NO_PAD.encode(signing.verifying_key().as_bytes());
    let jwks =
        json!({"keys": [{"alg": "EdDSA", "crv": "Ed25519", "x": x, "kty": "OKP", "kid": "bench"}]});
    let verifier = JwtVerifier::from_jwks(&jwks.to_string(), &VerifierConfig::for_origin(origin))
        .expect("jwks");
    let claims = json!({
        "iat": 1_800_000_000, "name": "Bench", "email": "bench@example.com",
        "emailVerified": false, "image": null, "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-01T00:00:00.000Z", "id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "sub": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "exp": 4_000_000_000_i64, "iss": origin, "aud": origin,
    });
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = None;
    header.kid = Some("bench".to_owned());
    let der = signing.to_pkcs8_der().expect("der");
    let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(der.as_bytes()))
        .expect("token");
    for _ in 0..1_000 {
        verifier.verify(&token).await.expect("valid");
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        let claims = verifier.verify(&token).await.expect("valid");
        samples.push(started.elapsed().as_nanos());
        std::hint::black_box(claims);
    }
    samples.sort_unstable();
    let at = |p: f64| {
        let index =
            ((samples.len() as f64 * p / 100.0).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[index] as f64 / 1000.0
    };
    println!(
        "verify_bench: JwtVerifier::verify (EdDSA, {iterations} calls): p50 {:.1} us  p95 {:.1} us  p99 {:.1} us",
        at(50.0),
        at(95.0),
        at(99.0)
    );
}
