//! `Ed25519TokenSigner`: Ed25519 key pairs as JWKs (private half sealed with the server secret
//! exactly as Better-Auth seals it), EdDSA JWTs and PASETO `v4.public` tokens.

use auth_domain::date::to_json;
use auth_domain::{ED25519_CRV, Jwk, KeyUse, Secret, StoredPrivateKey, TokenClaims, User};
use auth_ports::{GeneratedKey, Paserk, PortError, TokenSigner, VerifiedToken};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer as _, SigningKey};
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::version4::{PublicToken, V4};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use crate::symmetric::SecretBox;

/// How private keys are kept at rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrivateKeyStorage {
    /// Sealed with the server secret (Better-Auth's default).
    #[default]
    Encrypted,
    /// Plain JWK JSON (Better-Auth's `disablePrivateKeyEncryption`); keys read in either form.
    Plain,
}

/// The token signer keyed by the server secret.
pub struct Ed25519TokenSigner {
    secret_box: SecretBox,
    storage: PrivateKeyStorage,
    /// Unsealed keys by key id, with the stored text they came from: unsealing and checking a
    /// key costs more than signing with it, and `get-session` signs on every call.
    unsealed: std::sync::Mutex<std::collections::HashMap<String, (String, SigningKey)>>,
    /// Tokens already signed this second.
    signed: SignedThisSecond,
}

/// Most unsealed keys kept; rotation adds one key per interval, so this is never reached in
/// practice, and the map is simply cleared when it is.
const UNSEALED_KEYS: usize = 32;

impl std::fmt::Debug for Ed25519TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519TokenSigner")
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

/// The public JWK of an Ed25519 key, members in the order `jose` writes them.
#[derive(Serialize, Deserialize)]
struct PublicJwk {
    crv: String,
    x: String,
    kty: String,
}

/// The private JWK, as `jose` exports it (`{"crv","d","x","kty"}`).
#[derive(Serialize, Deserialize)]
struct PrivateJwk {
    crv: String,
    d: String,
    x: String,
    kty: String,
}

/// The JWT payload: Better-Auth's user object, then the registered claims, in its order.
#[derive(Serialize)]
struct JwtPayload<'a> {
    iat: i64,
    #[serde(flatten)]
    user: UserObject<'a>,
    sub: &'a str,
    exp: i64,
    iss: &'a str,
    aud: &'a str,
}

/// The PASETO payload: registered claims as RFC 3339 strings, then the user object.
#[derive(Serialize)]
struct PasetoPayload<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: String,
    nbf: String,
    exp: String,
    #[serde(flatten)]
    user: UserObject<'a>,
}

/// Better-Auth's user object (the `get-session` user).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserObject<'a> {
    name: &'a str,
    email: &'a str,
    email_verified: bool,
    image: Option<&'a str>,
    created_at: String,
    updated_at: String,
    id: &'a str,
    /// The fields the enabled plugins add, as members of the user object.
    #[serde(flatten)]
    fields: FieldsObject<'a>,
}

/// Plugin fields as members of the object that holds them (`null` when unset).
struct FieldsObject<'a>(&'a auth_domain::Fields);

impl Serialize for FieldsObject<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.0.iter() {
            match value {
                auth_domain::FieldValue::Null => map.serialize_entry(name, &())?,
                auth_domain::FieldValue::Bool(flag) => map.serialize_entry(name, flag)?,
                auth_domain::FieldValue::Text(text) => map.serialize_entry(name, text)?,
            }
        }
        map.end()
    }
}

impl<'a> UserObject<'a> {
    fn new(user: &'a User) -> Self {
        Self {
            name: &user.name,
            email: user.email.as_str(),
            email_verified: user.email_verified,
            image: user.image.as_deref(),
            created_at: to_json(user.created_at),
            updated_at: to_json(user.updated_at),
            id: user.id.as_str(),
            fields: FieldsObject(&user.fields),
        }
    }
}

fn rfc3339_seconds(at: OffsetDateTime) -> Result<String, PortError> {
    at.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(PortError::internal)?
        .format(&Rfc3339)
        .map_err(PortError::internal)
}

impl Ed25519TokenSigner {
    /// A signer whose new keys are kept as `storage` says. `secret` is the server secret
    /// (`AUTH_SECRET`, Better-Auth's `BETTER_AUTH_SECRET`).
    #[must_use]
    pub fn new(secret: &Secret<String>, storage: PrivateKeyStorage) -> Self {
        Self {
            secret_box: SecretBox::new(secret.expose()),
            storage,
            unsealed: std::sync::Mutex::new(std::collections::HashMap::new()),
            signed: SignedThisSecond::default(),
        }
    }

    /// The signing key of a stored row, from the cache of unsealed keys when the row is known.
    fn signing_key(&self, key: &Jwk) -> Result<SigningKey, PortError> {
        let stored = key.private_key.expose();
        let mut cache = self
            .unsealed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((text, signing_key)) = cache.get(key.id.as_str())
            && text == stored
        {
            return Ok(signing_key.clone());
        }
        let signing_key = self.unseal(key)?;
        if cache.len() >= UNSEALED_KEYS {
            cache.clear();
        }
        cache.insert(
            key.id.as_str().to_owned(),
            (stored.to_owned(), signing_key.clone()),
        );
        Ok(signing_key)
    }

    /// The signing key of a stored row: unsealed, parsed, and checked against its public half.
    fn unseal(&self, key: &Jwk) -> Result<SigningKey, PortError> {
        let stored = key.private_key.expose().trim();
        let jwk_text: Zeroizing<Vec<u8>> = if stored.starts_with('{') {
            Zeroizing::new(stored.as_bytes().to_vec())
        } else {
            let sealed: String = serde_json::from_str(stored)
                .map_err(|_| PortError::internal("the stored private key is not a JSON string"))?;
            self.secret_box.decrypt(&sealed).ok_or_else(|| {
                PortError::internal(
                    "the stored private key does not open with this secret (another AUTH_SECRET?)",
                )
            })?
        };
        let jwk: PrivateJwk = serde_json::from_slice(&jwk_text)
            .map_err(|_| PortError::internal("the stored private key is not a JWK"))?;
        if jwk.kty != "OKP" || jwk.crv != ED25519_CRV {
            return Err(PortError::internal(
                "the stored private key is not an Ed25519 key",
            ));
        }
        let seed = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(jwk.d.as_bytes())
                .map_err(|_| PortError::internal("the private key's d is not base64url"))?,
        );
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| PortError::internal("the private key's d is not 32 bytes"))?;
        if seed.iter().all(|b| *b == 0) {
            return Err(PortError::internal("the private key is all zeros"));
        }
        let signing_key = SigningKey::from_bytes(seed);
        let public = URL_SAFE_NO_PAD.encode(signing_key.verifying_key().as_bytes());
        if public != jwk.x || public != public_x(key)? {
            return Err(PortError::internal(
                "the private key does not match its public key",
            ));
        }
        Ok(signing_key)
    }

    fn sign_jwt(&self, key: &Jwk, claims: &TokenClaims) -> Result<String, PortError> {
        if let Some(token) = self.signed.get(MemoFormat::Jwt, key, claims) {
            return Ok(token);
        }
        let header = JwtHeader {
            alg: "EdDSA",
            kid: key.id.as_str(),
        };
        let payload = JwtPayload {
            iat: claims.issued_at.unix_timestamp(),
            user: UserObject::new(&claims.user),
            sub: &claims.subject,
            exp: claims.expires_at.unix_timestamp(),
            iss: &claims.issuer,
            aud: &claims.audience,
        };
        let header = serde_json::to_vec(&header).map_err(PortError::internal)?;
        let payload = serde_json::to_vec(&payload).map_err(PortError::internal)?;
        let mut signing_input =
            String::with_capacity((header.len() + payload.len()) * 4 / 3 + 4 + 88);
        URL_SAFE_NO_PAD.encode_string(&header, &mut signing_input);
        signing_input.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut signing_input);
        let signature = self.signing_key(key)?.sign(signing_input.as_bytes());
        let mut token = signing_input;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.to_bytes(), &mut token);
        self.signed.put(MemoFormat::Jwt, key, claims, &token);
        Ok(token)
    }

    fn sign_paseto(&self, key: &Jwk, claims: &TokenClaims) -> Result<String, PortError> {
        if let Some(token) = self.signed.get(MemoFormat::Paseto, key, claims) {
            return Ok(token);
        }
        let payload = PasetoPayload {
            iss: &claims.issuer,
            sub: &claims.subject,
            aud: &claims.audience,
            iat: rfc3339_seconds(claims.issued_at)?,
            nbf: rfc3339_seconds(claims.issued_at)?,
            exp: rfc3339_seconds(claims.expires_at)?,
            user: UserObject::new(&claims.user),
        };
        let message = serde_json::to_vec(&payload).map_err(PortError::internal)?;
        let signing_key = self.signing_key(key)?;
        let mut keypair = Zeroizing::new([0u8; 64]);
        keypair[..32].copy_from_slice(signing_key.as_bytes());
        keypair[32..].copy_from_slice(signing_key.verifying_key().as_bytes());
        let secret = AsymmetricSecretKey::<V4>::from(keypair.as_slice())
            .map_err(|_| PortError::internal("not a PASETO v4 secret key"))?;
        let footer = serde_json::to_vec(&serde_json::json!({ "kid": self.paserk(key)?.id }))
            .map_err(PortError::internal)?;
        let token = PublicToken::sign(&secret, &message, Some(&footer), None)
            .map_err(|_| PortError::internal("PASETO signing failed"))?;
        self.signed.put(MemoFormat::Paseto, key, claims, &token);
        Ok(token)
    }
}

/// The JWT header, as `jose` writes Better-Auth's: `{"alg":"EdDSA","kid":"..."}`.
#[derive(Serialize)]
struct JwtHeader<'a> {
    alg: &'a str,
    kid: &'a str,
}

/// Which kind of token a memo entry holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum MemoFormat {
    Jwt,
    Paseto,
}

/// A token and everything it was signed from.
struct Memo {
    format: MemoFormat,
    key_id: String,
    public_key: String,
    claims: TokenClaims,
    token: String,
}

impl Memo {
    fn is_for(&self, format: MemoFormat, key: &Jwk, claims: &TokenClaims) -> bool {
        self.format == format
            && self.key_id == key.id.as_str()
            && self.public_key == key.public_key
            && self.claims == *claims
    }
}

/// Tokens signed during the current second (the `iat` of what is being signed). Ed25519
/// signatures are deterministic, so signing the same claims with the same key again yields the
/// same token: a hit returns exactly what signing would have returned, compared claim by claim.
/// The claims of one second never match the next second's, so the memo is emptied when the
/// second moves on, and it stops growing at [`SIGNED_PER_SECOND`] entries.
#[derive(Default)]
struct SignedThisSecond {
    hasher: std::hash::RandomState,
    /// The second, and the tokens signed in it by (format, key id, subject).
    inner: std::sync::Mutex<(i64, std::collections::HashMap<u64, Memo>)>,
}

/// Most tokens memoised within one second.
const SIGNED_PER_SECOND: usize = 4096;

impl SignedThisSecond {
    fn slot(&self, format: MemoFormat, key: &Jwk, claims: &TokenClaims) -> u64 {
        use std::hash::BuildHasher as _;
        self.hasher
            .hash_one((format, key.id.as_str(), claims.subject.as_str()))
    }

    fn get(&self, format: MemoFormat, key: &Jwk, claims: &TokenClaims) -> Option<String> {
        let slot = self.slot(format, key, claims);
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if inner.0 != claims.issued_at.unix_timestamp() {
            return None;
        }
        let memo = inner.1.get(&slot)?;
        memo.is_for(format, key, claims).then(|| memo.token.clone())
    }

    fn put(&self, format: MemoFormat, key: &Jwk, claims: &TokenClaims, token: &str) {
        let slot = self.slot(format, key, claims);
        let second = claims.issued_at.unix_timestamp();
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if second > inner.0 {
            inner.0 = second;
            inner.1.clear();
        }
        if inner.0 != second || inner.1.len() >= SIGNED_PER_SECOND {
            return;
        }
        inner.1.insert(
            slot,
            Memo {
                format,
                key_id: key.id.as_str().to_owned(),
                public_key: key.public_key.clone(),
                claims: claims.clone(),
                token: token.to_owned(),
            },
        );
    }
}

/// The `x` member of a stored public JWK.
fn public_x(key: &Jwk) -> Result<String, PortError> {
    let public: PublicJwk = serde_json::from_str(&key.public_key)
        .map_err(|_| PortError::internal("the stored public key is not an OKP JWK"))?;
    if public.kty != "OKP" || public.crv != ED25519_CRV {
        return Err(PortError::internal(
            "the stored public key is not an Ed25519 key",
        ));
    }
    Ok(public.x)
}

impl TokenSigner for Ed25519TokenSigner {
    fn generate_key(&self, key_use: KeyUse) -> Result<GeneratedKey, PortError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::fill(&mut seed[..]);
        let signing_key = SigningKey::from_bytes(&seed);
        let x = URL_SAFE_NO_PAD.encode(signing_key.verifying_key().as_bytes());
        let public = PublicJwk {
            crv: ED25519_CRV.to_owned(),
            x: x.clone(),
            kty: "OKP".to_owned(),
        };
        let private = PrivateJwk {
            crv: ED25519_CRV.to_owned(),
            d: URL_SAFE_NO_PAD.encode(seed.as_slice()),
            x,
            kty: "OKP".to_owned(),
        };
        let private_json =
            Zeroizing::new(serde_json::to_string(&private).map_err(PortError::internal)?);
        let stored = match self.storage {
            PrivateKeyStorage::Plain => private_json.to_string(),
            PrivateKeyStorage::Encrypted => {
                let sealed = self
                    .secret_box
                    .encrypt(private_json.as_bytes())
                    .ok_or_else(|| PortError::internal("sealing the private key failed"))?;
                serde_json::to_string(&sealed).map_err(PortError::internal)?
            }
        };
        Ok(GeneratedKey {
            public_key: serde_json::to_string(&public).map_err(PortError::internal)?,
            private_key: StoredPrivateKey::new(stored),
            alg: key_use.alg().to_owned(),
            crv: ED25519_CRV.to_owned(),
        })
    }

    fn sign(&self, key: &Jwk, claims: &TokenClaims) -> Result<String, PortError> {
        match key.key_use() {
            Some(KeyUse::Jwt) => self.sign_jwt(key, claims),
            Some(KeyUse::PasetoPublic) => self.sign_paseto(key, claims),
            None => Err(PortError::internal(format!(
                "keys with alg {} cannot sign here",
                key.jose_alg()
            ))),
        }
    }

    fn verify(&self, keys: &[Jwk], token: &str) -> Option<VerifiedToken> {
        if token.starts_with("v4.public.") {
            verify::paseto(self, keys, token)
        } else {
            verify::jwt(keys, token)
        }
    }

    fn paserk(&self, key: &Jwk) -> Result<Paserk, PortError> {
        let x = URL_SAFE_NO_PAD
            .decode(public_x(key)?.as_bytes())
            .map_err(|_| PortError::internal("the public key's x is not base64url"))?;
        let public = AsymmetricPublicKey::<V4>::from(&x)
            .map_err(|_| PortError::internal("the public key's x is not 32 bytes"))?;
        let mut paserk = String::new();
        public.fmt(&mut paserk).map_err(PortError::internal)?;
        let mut id = String::new();
        Id::from(&public)
            .fmt(&mut id)
            .map_err(PortError::internal)?;
        Ok(Paserk { public: paserk, id })
    }
}

mod verify;

#[cfg(test)]
mod tests;
