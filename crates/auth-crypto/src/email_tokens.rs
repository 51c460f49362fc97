//! `Hs256EmailTokens`: Better-Auth's email-verification JWTs (HS256, key = the secret's UTF-8
//! bytes, header `{"alg":"HS256"}`, claims `email`, `updateTo`?, `userId`?, `requestType`?,
//! `iat`, `exp`).

use auth_domain::{EmailClaims, Secret};
use auth_ports::{EmailTokenError, EmailTokens, PortError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

type Hmac = hmac::Hmac<sha2::Sha256>;

/// HS256 email-verification tokens keyed by the server secret.
pub struct Hs256EmailTokens {
    key: Hmac,
}

impl std::fmt::Debug for Hs256EmailTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hs256EmailTokens").finish_non_exhaustive()
    }
}

impl Hs256EmailTokens {
    /// Tokens keyed by `secret` (its UTF-8 bytes, as Better-Auth keys them).
    #[must_use]
    pub fn new(secret: &Secret<String>) -> Self {
        // HMAC takes keys of any length.
        let key = Hmac::new_from_slice(secret.expose().as_bytes())
            .unwrap_or_else(|_| Hmac::new(&Default::default()));
        Self { key }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Claims {
    email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    update_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_type: Option<String>,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

const HEADER: &str = r#"{"alg":"HS256"}"#;

impl EmailTokens for Hs256EmailTokens {
    fn sign(&self, claims: &EmailClaims) -> Result<String, PortError> {
        let payload = serde_json::to_vec(&Claims {
            email: claims.email.clone(),
            update_to: claims.update_to.clone(),
            user_id: claims.user_id.clone(),
            request_type: claims.request_type.clone(),
            iat: claims.issued_at.unix_timestamp(),
            exp: claims.expires_at.unix_timestamp(),
        })
        .map_err(PortError::internal)?;
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let mut mac = self.key.clone();
        mac.update(input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        Ok(format!("{input}.{signature}"))
    }

    fn verify(&self, token: &str, now: OffsetDateTime) -> Result<EmailClaims, EmailTokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(EmailTokenError::Invalid);
        };
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| EmailTokenError::Invalid)?;
        let mut mac = self.key.clone();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| EmailTokenError::Invalid)?;
        let header: Header = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(EmailTokenError::Invalid)?;
        if header.alg != "HS256" {
            return Err(EmailTokenError::Invalid);
        }
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(EmailTokenError::Invalid)?;
        let at = |seconds| {
            OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| EmailTokenError::Invalid)
        };
        let expires_at = at(claims.exp)?;
        if expires_at <= now {
            return Err(EmailTokenError::Expired);
        }
        Ok(EmailClaims {
            email: claims.email,
            update_to: claims.update_to,
            user_id: claims.user_id,
            request_type: claims.request_type,
            issued_at: at(claims.iat)?,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn tokens(secret: &str) -> Hs256EmailTokens {
        Hs256EmailTokens::new(&Secret::new(secret.to_owned()))
    }

    fn claims() -> EmailClaims {
        EmailClaims {
            email: "ada@example.com".to_owned(),
            update_to: None,
            user_id: Some("user-1".to_owned()),
            request_type: None,
            issued_at: datetime!(2026-01-01 0:00 UTC),
            expires_at: datetime!(2026-01-01 1:00 UTC),
        }
    }

    #[test]
    fn a_token_verifies_until_it_expires_and_only_under_its_secret() {
        let ours = tokens("secret-0123456789-0123456789-abcdef");
        let token = ours.sign(&claims()).expect("signed");
        assert!(
            token.starts_with("eyJhbGciOiJIUzI1NiJ9."),
            "header {{\"alg\":\"HS256\"}}"
        );
        let before = datetime!(2026-01-01 0:59:59 UTC);
        assert_eq!(ours.verify(&token, before), Ok(claims()));
        assert_eq!(
            ours.verify(&token, datetime!(2026-01-01 1:00 UTC)),
            Err(EmailTokenError::Expired)
        );
        let theirs = tokens("another-secret-0123456789-0123456789");
        assert_eq!(theirs.verify(&token, before), Err(EmailTokenError::Invalid));
        let tampered = token.replacen('.', ".x", 1);
        assert_eq!(
            ours.verify(&tampered, before),
            Err(EmailTokenError::Invalid)
        );
        assert_eq!(ours.verify("a.b", before), Err(EmailTokenError::Invalid));
    }

    /// A token Better-Auth 1.7.25 made: `createEmailVerificationToken(
    /// "better-auth-secret-12345678901234567890", "Ada@Example.com", undefined, 3600,
    /// { userId: "u1" })`, run with the npm package (iat 1796462364).
    #[test]
    fn a_token_better_auth_made_verifies() {
        const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJlbWFpbCI6ImFkYUBleGFtcGxlLmNvbSIsInVzZXJJZCI6InUxIiwiaWF0IjoxNzk2NDYyMzY0LCJleHAiOjE3OTY0NjU5NjR9.K_vdyPE_Im6rvZvji5Hj-CtE0wCb63x6XJMy_YJjhM4";
        let ours = tokens("better-auth-secret-12345678901234567890");
        let now = OffsetDateTime::from_unix_timestamp(1_796_462_364 + 60).expect("time");
        let verified = ours.verify(TOKEN, now).expect("verified");
        assert_eq!(verified.email, "ada@example.com");
        assert_eq!(verified.user_id.as_deref(), Some("u1"));
        assert_eq!(verified.expires_at.unix_timestamp(), 1_796_465_964);
        // And ours, for the same claims, is byte for byte the same token.
        assert_eq!(ours.sign(&verified).expect("signed"), TOKEN);
    }
}
