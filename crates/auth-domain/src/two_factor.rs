//! Two-factor authentication (Better-Auth's `twoFactor()`): the `twoFactor` row, TOTP time
//! steps and the `otpauth://` URI, backup codes, the account lockout, and the refusals with
//! Better-Auth's codes. The secrets stay sealed here; sealing, HMAC and randomness are ports.

use time::{Duration, OffsetDateTime};

use crate::UserId;

/// A user's second factor (`twoFactor` table). `sealed_secret` and `sealed_backup_codes` are
/// as stored: Better-Auth's `symmetricEncrypt` of the TOTP secret and of the JSON array of
/// backup codes.
#[derive(Clone, PartialEq, Eq)]
pub struct TwoFactor {
    /// Primary key.
    pub id: String,
    /// The user.
    pub user_id: UserId,
    /// The sealed TOTP secret.
    pub sealed_secret: String,
    /// The sealed backup codes.
    pub sealed_backup_codes: String,
    /// False between enabling and the first good code.
    pub verified: bool,
    /// Failed verifications in a row, across challenges (the account lockout).
    pub failed_verification_count: i64,
    /// Verifications are refused until then.
    pub locked_until: Option<OffsetDateTime>,
    /// The last TOTP time step accepted (ours): a code is accepted once.
    pub last_used_step: Option<i64>,
}

impl std::fmt::Debug for TwoFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactor")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("verified", &self.verified)
            .field("failed_verification_count", &self.failed_verification_count)
            .field("locked_until", &self.locked_until)
            .field("last_used_step", &self.last_used_step)
            .finish_non_exhaustive()
    }
}

impl TwoFactor {
    /// Whether verifications are refused at `now` (`429 ACCOUNT_TEMPORARILY_LOCKED`).
    #[must_use]
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// TOTP parameters (RFC 6238 with HMAC-SHA1; Better-Auth's `totpOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totp {
    /// Digits of a code (6).
    pub digits: u32,
    /// Length of a time step (30 s).
    pub period: Duration,
}

impl Default for Totp {
    fn default() -> Self {
        Self {
            digits: 6,
            period: Duration::seconds(30),
        }
    }
}

impl Totp {
    /// The time step `now` falls in.
    #[must_use]
    pub fn step_at(&self, now: OffsetDateTime) -> i64 {
        let period = self.period.whole_seconds().max(1);
        now.unix_timestamp().div_euclid(period)
    }

    /// The steps a code may be from at `now`: the previous, the current and the next, oldest
    /// first (Better-Auth's window of one step each way).
    #[must_use]
    pub fn window(&self, now: OffsetDateTime) -> [i64; 3] {
        let step = self.step_at(now);
        [step - 1, step, step + 1]
    }

    /// The `otpauth://` URI an authenticator app reads, as Better-Auth writes it: the label
    /// `issuer:account` percent-encoded, the secret's UTF-8 bytes in base32 without padding,
    /// and the issuer form-encoded in the query.
    #[must_use]
    pub fn uri(&self, issuer: &str, account: &str, secret: &str) -> String {
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&digits={}&period={}",
            uri_component(issuer),
            uri_component(account),
            base32(secret.as_bytes()),
            form_component(issuer),
            self.digits,
            self.period.whole_seconds()
        )
    }
}

/// RFC 4648 base32 without padding.
#[must_use]
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// JavaScript's `encodeURIComponent`.
fn uri_component(text: &str) -> String {
    percent(
        text,
        |byte| byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte),
        false,
    )
}

/// `URLSearchParams` form encoding: a space is `+`.
fn form_component(text: &str) -> String {
    percent(
        text,
        |byte| byte.is_ascii_alphanumeric() || b"*-._".contains(&byte),
        true,
    )
}

fn percent(text: &str, keep: impl Fn(u8) -> bool, plus_for_space: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if keep(byte) {
            out.push(char::from(byte));
        } else if plus_for_space && byte == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A backup code as handed out: ten characters with a dash after the fifth (`AbCdE-fGhIj`).
#[must_use]
pub fn format_backup_code(raw: &str) -> String {
    let split = raw.char_indices().nth(5).map_or(raw.len(), |(at, _)| at);
    format!("{}-{}", &raw[..split], &raw[split..])
}

/// The backup codes as Better-Auth stores them (inside the seal): a JSON array of strings.
#[must_use]
pub fn encode_backup_codes(codes: &[String]) -> String {
    let quoted: Vec<String> = codes.iter().map(|code| format!("\"{code}\"")).collect();
    format!("[{}]", quoted.join(","))
}

/// Reads [`encode_backup_codes`]' text (white space allowed); `None` for anything else,
/// including escapes, which no backup code holds.
#[must_use]
pub fn decode_backup_codes(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
    if inner.is_empty() {
        return Some(Vec::new());
    }
    inner
        .split(',')
        .map(|item| {
            let code = item.trim().strip_prefix('"')?.strip_suffix('"')?;
            code.bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
                .then(|| code.to_owned())
        })
        .collect()
}

/// The HMAC key of a TOTP secret: its UTF-8 bytes (Better-Auth's own secrets), or the bytes
/// of `base32:<BASE32>` (secrets imported from elsewhere); `None` for bad base32.
#[must_use]
pub fn totp_key(secret: &str) -> Option<Vec<u8>> {
    match secret.strip_prefix("base32:") {
        Some(encoded) => base32_decode(encoded),
        None => Some(secret.as_bytes().to_vec()),
    }
}

/// RFC 4648 base32, padding and case ignored.
fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in text.bytes().filter(|byte| *byte != b'=') {
        let value = match byte.to_ascii_uppercase() {
            upper @ b'A'..=b'Z' => upper - b'A',
            digit @ b'2'..=b'7' => digit - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// Compares two codes in time that depends on their length only.
#[must_use]
pub fn same_code(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0_u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// The account lockout (Better-Auth's `accountLockout`): after `max_failed` failed
/// verifications in a row, across challenges and factors, verifications are refused for
/// `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Failures that lock (10).
    pub max_failed: i64,
    /// How long (15 minutes).
    pub duration: Duration,
}

impl Default for Lockout {
    fn default() -> Self {
        Self {
            max_failed: 10,
            duration: Duration::minutes(15),
        }
    }
}

/// Wrong codes one sign-in challenge allows before it is spent.
pub const CHALLENGE_ATTEMPTS: u32 = 5;

/// The refusals of the two-factor routes, with Better-Auth's codes and statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoFactorRefusal {
    /// `400 OTP_NOT_ENABLED`.
    OtpNotEnabled,
    /// `400 OTP_NOT_CONFIGURED`.
    OtpNotConfigured,
    /// `400 OTP_HAS_EXPIRED`.
    OtpExpired,
    /// `400 TOTP_NOT_ENABLED`.
    TotpNotEnabled,
    /// `400 TOTP_ALREADY_ENABLED`.
    TotpAlreadyEnabled,
    /// `400 TWO_FACTOR_NOT_ENABLED`.
    NotEnabled,
    /// `400 BACKUP_CODES_NOT_ENABLED`.
    BackupCodesNotEnabled,
    /// `401 INVALID_BACKUP_CODE`.
    InvalidBackupCode,
    /// `401 INVALID_CODE`.
    InvalidCode,
    /// `400 TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE`.
    TooManyAttempts,
    /// `429 ACCOUNT_TEMPORARILY_LOCKED`.
    Locked,
    /// `401 INVALID_TWO_FACTOR_COOKIE`.
    InvalidChallenge,
}

impl TwoFactorRefusal {
    /// Better-Auth's code.
    #[must_use]
    pub fn code(self) -> &'static str {
        self.parts().1
    }

    /// The message clients see.
    #[must_use]
    pub fn message(self) -> &'static str {
        self.parts().2
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(self) -> u16 {
        self.parts().0
    }

    fn parts(self) -> (u16, &'static str, &'static str) {
        match self {
            Self::OtpNotEnabled => (400, "OTP_NOT_ENABLED", "OTP not enabled"),
            Self::OtpNotConfigured => (400, "OTP_NOT_CONFIGURED", "OTP is not available"),
            Self::OtpExpired => (400, "OTP_HAS_EXPIRED", "OTP has expired"),
            Self::TotpNotEnabled => (400, "TOTP_NOT_ENABLED", "TOTP not enabled"),
            Self::TotpAlreadyEnabled => (400, "TOTP_ALREADY_ENABLED", "TOTP is already enabled"),
            Self::NotEnabled => (400, "TWO_FACTOR_NOT_ENABLED", "Two factor isn't enabled"),
            Self::BackupCodesNotEnabled => (
                400,
                "BACKUP_CODES_NOT_ENABLED",
                "Backup codes aren't enabled",
            ),
            Self::InvalidBackupCode => (401, "INVALID_BACKUP_CODE", "Invalid backup code"),
            Self::InvalidCode => (401, "INVALID_CODE", "Invalid code"),
            Self::TooManyAttempts => (
                400,
                "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE",
                "Too many attempts. Please request a new code.",
            ),
            Self::Locked => (
                429,
                "ACCOUNT_TEMPORARILY_LOCKED",
                "Too many failed verification attempts. Your account is temporarily locked. Please try again later.",
            ),
            Self::InvalidChallenge => (
                401,
                "INVALID_TWO_FACTOR_COOKIE",
                "Invalid two factor cookie",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn the_uri_is_better_auths() {
        // Better-Auth 1.7.25 for issuer "Better Auth", bob@example.com and this secret.
        let uri = Totp::default().uri("Better Auth", "bob@example.com", "hello");
        assert_eq!(
            uri,
            "otpauth://totp/Better%20Auth:bob%40example.com?secret=NBSWY3DP&issuer=Better+Auth&digits=6&period=30"
        );
    }

    #[test]
    fn base32_matches_rfc_4648() {
        for (input, expected) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), expected, "{input}");
        }
    }

    #[test]
    fn steps_and_the_window_follow_the_period() {
        let totp = Totp::default();
        let now = datetime!(2026-12-05 12:00:29 UTC);
        let step = now.unix_timestamp() / 30;
        assert_eq!(totp.step_at(now), step);
        assert_eq!(totp.step_at(now + Duration::seconds(1)), step + 1);
        assert_eq!(totp.window(now), [step - 1, step, step + 1]);
    }

    #[test]
    fn backup_codes_read_back_as_better_auth_writes_them() {
        let codes = vec!["AbCdE-fGhIj".to_owned(), "KlMnO-pQrSt".to_owned()];
        let text = encode_backup_codes(&codes);
        assert_eq!(text, r#"["AbCdE-fGhIj","KlMnO-pQrSt"]"#);
        assert_eq!(decode_backup_codes(&text), Some(codes));
        assert_eq!(
            decode_backup_codes(r#"[ "a1-b2" , "c3" ]"#),
            Some(vec!["a1-b2".to_owned(), "c3".to_owned()])
        );
        assert_eq!(decode_backup_codes("[]"), Some(Vec::new()));
        for junk in ["", "[", r#"["a\"b"]"#, r#"{"a":1}"#, r#"[1]"#, r#"["a b"]"#] {
            assert_eq!(decode_backup_codes(junk), None, "{junk}");
        }
    }

    #[test]
    fn a_totp_key_is_the_secret_or_its_base32() {
        assert_eq!(totp_key("abc"), Some(b"abc".to_vec()));
        assert_eq!(totp_key("base32:MZXW6YTBOI"), Some(b"foobar".to_vec()));
        assert_eq!(
            totp_key("base32:mzxw6ytboi======"),
            Some(b"foobar".to_vec())
        );
        assert_eq!(totp_key("base32:M1"), None);
    }

    #[test]
    fn codes_compare_whole() {
        assert!(same_code("123456", "123456"));
        assert!(!same_code("123456", "123457"));
        assert!(!same_code("12345", "123456"));
    }

    #[test]
    fn backup_codes_have_a_dash_after_the_fifth_character() {
        assert_eq!(format_backup_code("AbCdEfGhIj"), "AbCdE-fGhIj");
        assert_eq!(format_backup_code("abc"), "abc-");
    }

    #[test]
    fn a_lock_holds_until_its_time() {
        let now = datetime!(2026-12-05 12:00 UTC);
        let mut row = TwoFactor {
            id: "t".into(),
            user_id: UserId::new("u"),
            sealed_secret: "s".into(),
            sealed_backup_codes: "b".into(),
            verified: true,
            failed_verification_count: 0,
            locked_until: None,
            last_used_step: None,
        };
        assert!(!row.is_locked(now));
        row.locked_until = Some(now + Duration::minutes(1));
        assert!(row.is_locked(now));
        assert!(!row.is_locked(now + Duration::minutes(1)));
        assert!(!format!("{row:?}").contains("sealed"), "no secret in Debug");
    }

    #[test]
    fn every_refusal_has_a_distinct_code_and_a_client_status() {
        let all = [
            TwoFactorRefusal::OtpNotEnabled,
            TwoFactorRefusal::OtpNotConfigured,
            TwoFactorRefusal::OtpExpired,
            TwoFactorRefusal::TotpNotEnabled,
            TwoFactorRefusal::TotpAlreadyEnabled,
            TwoFactorRefusal::NotEnabled,
            TwoFactorRefusal::BackupCodesNotEnabled,
            TwoFactorRefusal::InvalidBackupCode,
            TwoFactorRefusal::InvalidCode,
            TwoFactorRefusal::TooManyAttempts,
            TwoFactorRefusal::Locked,
            TwoFactorRefusal::InvalidChallenge,
        ];
        let mut codes: Vec<&str> = all.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for refusal in all {
            assert!((400..500).contains(&refusal.status()));
            assert!(!refusal.message().is_empty());
        }
    }
}
