//! Checking the signature of a token this server signed: a JWT (`EdDSA`) or a `v4.public`
//! PASETO, against the published keys. Only the signature and the shape are checked here; the
//! times, issuer and audience are the caller's rules.

use auth_domain::{Jwk, KeyUse};
use auth_ports::{TokenSigner as _, VerifiedToken};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use pasetors::keys::AsymmetricPublicKey;
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Ed25519TokenSigner, public_x};

/// The verifying half of a stored key.
fn verifying_key(key: &Jwk) -> Option<VerifyingKey> {
    let x = URL_SAFE_NO_PAD.decode(public_x(key).ok()?).ok()?;
    VerifyingKey::from_bytes(&x.try_into().ok()?).ok()
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: String,
}

/// `aud`: a string, or a list of strings (every one of them).
fn audiences(value: Option<&Value>) -> Option<Vec<String>> {
    match value? {
        Value::String(audience) => Some(vec![audience.clone()]),
        Value::Array(list) => list
            .iter()
            .map(|audience| audience.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

fn text(payload: &Value, name: &str) -> Option<String> {
    payload.get(name)?.as_str().map(str::to_owned)
}

/// A JWT signed by one of `keys` (a JWT key named by its `kid`), with `EdDSA` only.
pub(super) fn jwt(keys: &[Jwk], token: &str) -> Option<VerifiedToken> {
    let mut parts = token.split('.');
    let (Some(encoded_header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let signed = &token[..encoded_header.len() + 1 + payload.len()];
    let header: Header =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded_header).ok()?).ok()?;
    if header.alg != "EdDSA" {
        return None;
    }
    let key = keys
        .iter()
        .find(|key| key.id.as_str() == header.kid && key.key_use() == Some(KeyUse::Jwt))?;
    let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?).ok()?;
    verifying_key(key)?
        .verify_strict(signed.as_bytes(), &signature)
        .ok()?;
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    let seconds = |name: &str| {
        let at = payload.get(name)?.as_i64()?;
        OffsetDateTime::from_unix_timestamp(at).ok()
    };
    Some(VerifiedToken {
        subject: text(&payload, "sub")?,
        issuer: text(&payload, "iss")?,
        audiences: audiences(payload.get("aud"))?,
        issued_at: seconds("iat"),
        expires_at: seconds("exp")?,
    })
}

#[derive(Deserialize)]
struct Footer {
    kid: String,
}

/// A `v4.public` PASETO signed by one of `keys` (a PASETO key whose PASERK id is the footer's
/// `kid`).
pub(super) fn paseto(
    signer: &Ed25519TokenSigner,
    keys: &[Jwk],
    token: &str,
) -> Option<VerifiedToken> {
    let untrusted = UntrustedToken::<pasetors::token::Public, V4>::try_from(token).ok()?;
    let footer: Footer = serde_json::from_slice(untrusted.untrusted_footer()).ok()?;
    let key = keys.iter().find(|key| {
        key.key_use() == Some(KeyUse::PasetoPublic)
            && signer
                .paserk(key)
                .is_ok_and(|paserk| paserk.id == footer.kid)
    })?;
    let x = URL_SAFE_NO_PAD.decode(public_x(key).ok()?).ok()?;
    let public = AsymmetricPublicKey::<V4>::from(&x).ok()?;
    let trusted = PublicToken::verify(
        &public,
        &untrusted,
        Some(untrusted.untrusted_footer()),
        None,
    )
    .ok()?;
    let payload: Value = serde_json::from_str(trusted.payload()).ok()?;
    let instant = |name: &str| OffsetDateTime::parse(payload.get(name)?.as_str()?, &Rfc3339).ok();
    Some(VerifiedToken {
        subject: text(&payload, "sub")?,
        issuer: text(&payload, "iss")?,
        audiences: audiences(payload.get("aud"))?,
        issued_at: instant("iat"),
        expires_at: instant("exp")?,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::audiences;

    #[test]
    fn every_audience_of_a_list_is_kept_and_anything_else_is_refused() {
        let list = json!(["https://other.example", "http://localhost:3000"]);
        assert_eq!(
            audiences(Some(&list)),
            Some(vec![
                "https://other.example".to_owned(),
                "http://localhost:3000".to_owned()
            ])
        );
        assert_eq!(
            audiences(Some(&json!("http://localhost:3000"))),
            Some(vec!["http://localhost:3000".to_owned()])
        );
        assert_eq!(audiences(Some(&json!(["a", 1]))), None, "not all strings");
        assert_eq!(audiences(Some(&json!(7))), None);
        assert_eq!(audiences(None), None);
    }
}
