//! The two-factor plugin's use cases (Better-Auth's `twoFactor()`): enrolment with a TOTP
//! secret and backup codes, verification with a signed-in session or with the challenge of a
//! diverted sign-in, and the sign-in step that diverts users who have a second factor.
//! Stricter than the reference without breaking its client: a TOTP code is accepted once, a
//! challenge allows five wrong codes and one completion, and failures lock the account.

use std::sync::Arc;

use auth_domain::two_factor::{
    CHALLENGE_ATTEMPTS, Lockout, Totp, TwoFactor, TwoFactorRefusal, decode_backup_codes,
    encode_backup_codes, format_backup_code, same_code, totp_key,
};
use auth_domain::{
    AuditKind, Password, Session, SessionEnd, User, UserId, Verification, VerificationId,
};
use auth_ports::{ALPHANUMERIC, PortError, TwoFactorCrypto, TwoFactorRepo};
use time::Duration;

use crate::plugin::{
    AuthPlugin, Diversion, PluginCookie, PluginError, PluginErrorKind, SignInStep,
};
use crate::{Auth, AuthContext, AuthError, ClientInfo, PluginFuture};

/// The plugin's id.
pub const TWO_FACTOR: &str = "two-factor";

/// The user field that says whether sign-ins ask for a second factor.
pub const TWO_FACTOR_ENABLED: &str = "twoFactorEnabled";

/// `[a-z0-9A-Z-_]`, the alphabet of TOTP secrets and challenge ids (Better-Auth's).
const URL_SAFE: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_";

/// The prefix of a sign-in challenge's id (its `verification` identifier).
const CHALLENGE_PREFIX: &str = "2fa-";

/// The prefix of a challenge's attempt counter.
const ATTEMPTS_PREFIX: &str = "2fa-attempts-";

/// The prefix of a pending one-time code's identifier.
const OTP_PREFIX: &str = "2fa-otp-";

/// The alphabet of one-time codes.
const DIGITS: &[u8] = b"0123456789";

/// The signed cookie of a trusted device: `<token>!<identifier>`.
pub const TRUST_DEVICE_COOKIE: &str = "trust_device";

/// The prefix of a trusted device's `verification` identifier.
const TRUST_PREFIX: &str = "trust-device-";

/// The plugin's settings (Better-Auth's `twoFactor()` options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoFactorConfig {
    /// The issuer in `otpauth://` URIs (`issuer`, else the app's name).
    pub issuer: String,
    /// TOTP digits and period.
    pub totp: Totp,
    /// The account lockout (`None`: off).
    pub lockout: Option<Lockout>,
    /// Backup codes made at once (10).
    pub backup_codes: usize,
    /// Characters of a backup code, without its dash (10).
    pub backup_code_length: usize,
    /// How long a sign-in challenge lasts (`twoFactorCookieMaxAge`, 10 minutes).
    pub challenge_lifetime: Duration,
    /// TOTP counts as on at enrolment, without a first code (`skipVerificationOnEnable`).
    pub skip_verification_on_enable: bool,
    /// Emailed one-time codes (Better-Auth's `otpOptions`), offered when mail is set up.
    pub otp: Otp,
    /// How long a device stays trusted after a verification that asked for it
    /// (`trustDeviceMaxAge`, 30 days); every sign-in it skips the factor for renews it.
    pub trust_device_lifetime: Duration,
}

impl Default for TwoFactorConfig {
    fn default() -> Self {
        Self {
            issuer: "Better Auth".to_owned(),
            totp: Totp::default(),
            lockout: Some(Lockout::default()),
            backup_codes: 10,
            backup_code_length: 10,
            challenge_lifetime: Duration::minutes(10),
            skip_verification_on_enable: false,
            trust_device_lifetime: Duration::days(30),
            otp: Otp::default(),
        }
    }
}

/// Emailed one-time codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Otp {
    /// Digits of a code (6).
    pub digits: usize,
    /// How long a code works (3 minutes).
    pub lifetime: Duration,
    /// Wrong codes before it is spent (5).
    pub attempts: u32,
}

impl Default for Otp {
    fn default() -> Self {
        Self {
            digits: 6,
            lifetime: Duration::minutes(3),
            attempts: 5,
        }
    }
}

/// What enrolment hands out, once.
pub struct Enrolment {
    /// The `otpauth://` URI for an authenticator app.
    pub totp_uri: String,
    /// The backup codes.
    pub backup_codes: Vec<String>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

/// Who proves the second factor: a signed-in session, or the challenge of a diverted sign-in
/// (the id the `two_factor` cookie carries).
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    /// A signed-in session (enrolment, or checking a code).
    Session(&'a AuthContext),
    /// A pending sign-in.
    Challenge {
        /// The challenge's id.
        id: &'a str,
        /// The sign-in asked for a long-lived session.
        remember_me: bool,
        /// Trust this device from now on (`trustDevice`).
        trust_device: bool,
        /// The client, for the new session.
        client: &'a ClientInfo,
    },
}

/// A successful verification: the user, and the session to answer with.
#[derive(Debug, Clone)]
pub struct Completion {
    /// The user after the verification.
    pub user: User,
    /// The session: the caller's own, or a new one.
    pub session: Session,
    /// The session is new: its cookies must be set (a completed sign-in, or the rotation of
    /// the first verification).
    pub issued: bool,
    /// The `trust_device` cookie to set, when the verification asked to trust the device.
    pub trusted_device: Option<PluginCookie>,
}

/// The refusal as the error the HTTP side renders.
#[must_use]
pub fn two_factor_error(refusal: TwoFactorRefusal) -> AuthError {
    let kind = match refusal.status() {
        401 => PluginErrorKind::Unauthorized,
        429 => PluginErrorKind::TooManyRequests,
        _ => PluginErrorKind::BadRequest,
    };
    AuthError::Plugin(PluginError::new(kind, refusal.code(), refusal.message()))
}

/// `409`: a concurrent change of the backup codes won.
fn conflict() -> AuthError {
    AuthError::Plugin(PluginError::new(
        PluginErrorKind::Conflict,
        "CONFLICT",
        "Failed to verify backup code. Please try again.",
    ))
}

fn refused<T>(refusal: TwoFactorRefusal) -> Result<T, AuthError> {
    Err(two_factor_error(refusal))
}

/// A redeemed backup code: proved by the session, or by a challenge still to complete.
enum Redeemed {
    BySession,
    ByChallenge(Box<Challenge>, TwoFactor),
}

/// The challenge being answered: its record, its user, and its attempt counter taken.
struct Challenge {
    record: Verification,
    user: User,
    attempts: u32,
}

/// The two-factor use cases over their store and cryptography.
#[derive(Clone)]
pub struct TwoFactors {
    repo: Arc<dyn TwoFactorRepo>,
    crypto: Arc<dyn TwoFactorCrypto>,
    config: Arc<TwoFactorConfig>,
}

impl std::fmt::Debug for TwoFactors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactors")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl TwoFactors {
    /// The use cases.
    #[must_use]
    pub fn new(
        repo: Arc<dyn TwoFactorRepo>,
        crypto: Arc<dyn TwoFactorCrypto>,
        config: TwoFactorConfig,
    ) -> Self {
        Self {
            repo,
            crypto,
            config: Arc::new(config),
        }
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &TwoFactorConfig {
        &self.config
    }

    /// A password is needed (Better-Auth answers a missing one `400 INVALID_PASSWORD`).
    async fn check_password(
        auth: &Auth,
        context: &AuthContext,
        password: Option<&Password>,
    ) -> Result<(), AuthError> {
        match password {
            Some(password) => auth.verify_password(context, password).await,
            None => Err(AuthError::InvalidPassword),
        }
    }

    fn new_backup_codes(&self, auth: &Auth) -> Vec<String> {
        (0..self.config.backup_codes)
            .map(|_| {
                format_backup_code(
                    &auth
                        .deps()
                        .random
                        .string(ALPHANUMERIC, self.config.backup_code_length),
                )
            })
            .collect()
    }

    fn uri(&self, issuer: Option<&str>, user: &User, secret: &str) -> String {
        let issuer = issuer
            .filter(|issuer| !issuer.trim().is_empty())
            .unwrap_or(&self.config.issuer);
        self.config.totp.uri(issuer, user.email.as_str(), secret)
    }

    /// Starts TOTP for the signed-in user: a new secret and backup codes, in waiting until
    /// the first good code (unless the settings skip that). A pending enrolment is replaced.
    ///
    /// # Errors
    /// `INVALID_PASSWORD`, `TOTP_ALREADY_ENABLED`, `Unavailable`.
    pub async fn enable(
        &self,
        auth: &Auth,
        context: &AuthContext,
        password: Option<&Password>,
        issuer: Option<&str>,
    ) -> Result<Enrolment, AuthError> {
        Self::check_password(auth, context, password).await?;
        let secret = auth.deps().random.string(URL_SAFE, 32);
        let backup_codes = self.new_backup_codes(auth);
        let row = TwoFactor {
            id: auth.new_id(),
            user_id: context.user.id.clone(),
            sealed_secret: self.crypto.seal(&secret)?,
            sealed_backup_codes: self.crypto.seal(&encode_backup_codes(&backup_codes))?,
            verified: false,
            failed_verification_count: 0,
            locked_until: None,
            last_used_step: None,
        };
        if !self.repo.start_two_factor(&row).await? {
            return refused(TwoFactorRefusal::TotpAlreadyEnabled);
        }
        if self.config.skip_verification_on_enable {
            self.repo.confirm_two_factor(&row.id).await?;
            auth.invalidate_cached_user(&context.user.id).await;
        }
        Ok(Enrolment {
            totp_uri: self.uri(issuer, &context.user, &secret),
            backup_codes,
        })
    }

    /// The signed-in user's `otpauth://` URI again.
    ///
    /// # Errors
    /// `INVALID_PASSWORD`, `TOTP_NOT_ENABLED`, `Unavailable`.
    pub async fn totp_uri(
        &self,
        auth: &Auth,
        context: &AuthContext,
        password: Option<&Password>,
    ) -> Result<String, AuthError> {
        Self::check_password(auth, context, password).await?;
        let row = match self.repo.find_two_factor(&context.user.id).await? {
            Some(row) if !row.sealed_secret.is_empty() => row,
            _ => return refused(TwoFactorRefusal::TotpNotEnabled),
        };
        let secret = self.crypto.open(&row.sealed_secret)?;
        Ok(self.uri(None, &context.user, secret.expose()))
    }

    /// The time step `code` is the code of (in the window around now), if any; never for a
    /// row without a TOTP secret (two-factor by email only).
    fn matching_step(
        &self,
        auth: &Auth,
        row: &TwoFactor,
        code: &str,
    ) -> Result<Option<i64>, AuthError> {
        if row.sealed_secret.is_empty() {
            return Ok(None);
        }
        let secret = self.crypto.open(&row.sealed_secret)?;
        let Some(key) = totp_key(secret.expose()) else {
            return Err(AuthError::Internal(
                "a stored TOTP secret is not valid base32".into(),
            ));
        };
        let totp = self.config.totp;
        let mut matched = None;
        for step in totp.window(auth.now()) {
            // Every step is computed, so the time taken does not tell which matched.
            if same_code(code.trim(), &self.crypto.totp(&key, step, totp.digits)) {
                matched = Some(step);
            }
        }
        Ok(matched)
    }

    /// Verifies a TOTP code. With a session: the first good code turns two-factor on (and the
    /// session is rotated); later ones only check. With a challenge: the sign-in is completed.
    /// A code is accepted once.
    ///
    /// # Errors
    /// `INVALID_TWO_FACTOR_COOKIE`, `TOTP_NOT_ENABLED`, `ACCOUNT_TEMPORARILY_LOCKED`,
    /// `TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE`, `INVALID_CODE`, `Unavailable`.
    pub async fn verify_totp(
        &self,
        auth: &Auth,
        proof: Proof<'_>,
        code: &str,
    ) -> Result<Completion, AuthError> {
        let result = self.verify_totp_uncounted(auth, proof, code).await;
        crate::metrics::second_factor("totp", &result);
        result
    }

    async fn verify_totp_uncounted(
        &self,
        auth: &Auth,
        proof: Proof<'_>,
        code: &str,
    ) -> Result<Completion, AuthError> {
        match proof {
            Proof::Session(context) => {
                let Some(row) = self.repo.find_two_factor(&context.user.id).await? else {
                    return refused(TwoFactorRefusal::TotpNotEnabled);
                };
                let accepted = match self.matching_step(auth, &row, code)? {
                    Some(step) => self.repo.claim_step(&row.id, step).await?,
                    None => false,
                };
                if !accepted {
                    return refused(TwoFactorRefusal::InvalidCode);
                }
                if row.verified {
                    return Ok(Completion {
                        user: context.user.clone(),
                        session: context.session.clone(),
                        issued: false,
                        trusted_device: None,
                    });
                }
                if !self.repo.confirm_two_factor(&row.id).await? {
                    return refused(TwoFactorRefusal::TotpNotEnabled);
                }
                self.rotate(auth, context, true).await
            }
            Proof::Challenge {
                id,
                remember_me,
                trust_device,
                client,
            } => {
                let challenge = self.open_challenge(auth, id).await?;
                let row = match self.repo.find_two_factor(&challenge.user.id).await? {
                    Some(row) if row.verified => row,
                    _ => {
                        self.rearm(auth, &challenge, challenge.attempts).await;
                        return refused(TwoFactorRefusal::TotpNotEnabled);
                    }
                };
                let attempt = self.account_attempt(auth, Some(&row), &challenge).await?;
                let accepted = match self.matching_step(auth, &row, code) {
                    Ok(Some(step)) => self.repo.claim_step(&row.id, step).await?,
                    Ok(None) => false,
                    Err(error) => {
                        self.rearm(auth, &challenge, challenge.attempts).await;
                        return Err(error);
                    }
                };
                if !accepted {
                    return self
                        .failed(
                            auth,
                            Some(&row),
                            attempt,
                            &challenge,
                            TwoFactorRefusal::InvalidCode,
                        )
                        .await;
                }
                self.complete(
                    auth,
                    Some(&row),
                    challenge,
                    remember_me,
                    trust_device,
                    client,
                )
                .await
            }
        }
    }

    /// The challenge with this id and its user, with its attempt counter taken (so
    /// concurrent answers to one challenge are refused but one): refused when unknown,
    /// expired, answered, or out of attempts (then it is spent).
    async fn open_challenge(&self, auth: &Auth, id: &str) -> Result<Challenge, AuthError> {
        let verifications = &auth.deps().verifications;
        let now = auth.now();
        if !id.starts_with(CHALLENGE_PREFIX) || id.chars().any(char::is_control) {
            return refused(TwoFactorRefusal::InvalidChallenge);
        }
        let record = match verifications.find_latest(id).await? {
            Some(record) if record.expires_at > now => record,
            _ => return refused(TwoFactorRefusal::InvalidChallenge),
        };
        let counter = verifications
            .find_latest(&format!("{ATTEMPTS_PREFIX}{id}"))
            .await?;
        let taken = match &counter {
            Some(counter) => verifications.delete(&counter.id).await?,
            None => false,
        };
        let Some(counter) = counter.filter(|_| taken) else {
            return refused(TwoFactorRefusal::InvalidChallenge);
        };
        let attempts = counter.value.parse::<u32>().unwrap_or(CHALLENGE_ATTEMPTS);
        if attempts >= CHALLENGE_ATTEMPTS {
            verifications.delete(&record.id).await?;
            return refused(TwoFactorRefusal::TooManyAttempts);
        }
        let user = match auth
            .deps()
            .users
            .find_by_id(&UserId::new(record.value.clone()))
            .await?
        {
            Some(user) => user,
            None => return refused(TwoFactorRefusal::InvalidChallenge),
        };
        Ok(Challenge {
            record,
            user,
            attempts,
        })
    }

    /// Puts a challenge's attempt counter back with `attempts` (a failure to store it spends
    /// the challenge, which fails closed).
    async fn rearm(&self, auth: &Auth, challenge: &Challenge, attempts: u32) {
        let now = auth.now();
        let counter = Verification {
            id: VerificationId::new(auth.new_id()),
            identifier: format!("{ATTEMPTS_PREFIX}{}", challenge.record.identifier),
            value: attempts.to_string(),
            expires_at: challenge.record.expires_at,
            created_at: now,
            updated_at: now,
        };
        if let Err(error) = auth.deps().verifications.create(&counter).await {
            tracing::warn!(error = %error, "a two-factor challenge's counter was not stored");
        }
    }

    /// Counts an answer against the account before its code is checked (so concurrent answers
    /// cannot slip past the lockout): refused while the account is locked, and past the
    /// allowed failures. Answers the count, `None` without a lockout.
    async fn account_attempt(
        &self,
        auth: &Auth,
        row: Option<&TwoFactor>,
        challenge: &Challenge,
    ) -> Result<Option<i64>, AuthError> {
        let (Some(lockout), Some(row)) = (&self.config.lockout, row) else {
            return Ok(None);
        };
        let now = auth.now();
        match self.repo.begin_attempt(&row.id, now).await? {
            Some(count) if count <= lockout.max_failed => Ok(Some(count)),
            counted => {
                if counted.is_some() {
                    self.repo
                        .lock_until(&row.id, now + lockout.duration)
                        .await?;
                }
                self.rearm(auth, challenge, challenge.attempts).await;
                refused(TwoFactorRefusal::Locked)
            }
        }
    }

    /// Counts a wrong code against the challenge and the account, and refuses it.
    /// The failure that spends the allowed ones locks the account.
    async fn failed<T>(
        &self,
        auth: &Auth,
        row: Option<&TwoFactor>,
        attempt: Option<i64>,
        challenge: &Challenge,
        refusal: TwoFactorRefusal,
    ) -> Result<T, AuthError> {
        self.rearm(auth, challenge, challenge.attempts + 1).await;
        if let (Some(lockout), Some(row), Some(count)) = (&self.config.lockout, row, attempt)
            && count >= lockout.max_failed
        {
            self.repo
                .lock_until(&row.id, auth.now() + lockout.duration)
                .await?;
        }
        tracing::info!(target: "auth::audit", event = "second_factor_refused", user_id = %challenge.user.id, code = refusal.code(), "second factor refused");
        refused(refusal)
    }

    /// Completes a diverted sign-in: the challenge is spent (once, whoever races), the
    /// account's failures cleared, and a session issued.
    async fn complete(
        &self,
        auth: &Auth,
        row: Option<&TwoFactor>,
        challenge: Challenge,
        remember_me: bool,
        trust_device: bool,
        client: &ClientInfo,
    ) -> Result<Completion, AuthError> {
        if !auth
            .deps()
            .verifications
            .delete(&challenge.record.id)
            .await?
        {
            return refused(TwoFactorRefusal::InvalidChallenge);
        }
        if let (Some(_), Some(row)) = (&self.config.lockout, row) {
            self.repo.reset_failures(&row.id).await?;
        }
        let user = challenge.user;
        let session = auth.create_session(&user.id, remember_me, client).await?;
        auth.audit(AuditKind::SignIn, Some(&user.id), None, client)
            .await;
        let signed = auth.after_session(user, session).await?;
        let trusted_device = if trust_device {
            Some(self.trust(auth, &signed.user.id).await?)
        } else {
            None
        };
        Ok(Completion {
            user: signed.user,
            session: signed.session,
            issued: true,
            trusted_device,
        })
    }

    /// Replaces the caller's session with a new one (after two-factor changed): the old one
    /// ends. `enabled` is the user's new `twoFactorEnabled`.
    async fn rotate(
        &self,
        auth: &Auth,
        context: &AuthContext,
        enabled: bool,
    ) -> Result<Completion, AuthError> {
        auth.invalidate_cached_user(&context.user.id).await;
        let remember_me = auth.config().session.is_remembered(&context.session);
        let client = ClientInfo {
            ip_address: context.session.ip_address.clone().unwrap_or_default(),
            user_agent: context.session.user_agent.clone().unwrap_or_default(),
            ..ClientInfo::default()
        };
        let session = auth
            .create_session(&context.user.id, remember_me, &client)
            .await?;
        auth.end_session(&context.session, SessionEnd::Revoked, &client)
            .await?;
        let mut user = User {
            two_factor_enabled: enabled,
            ..context.user.clone()
        };
        user.fields
            .set(TWO_FACTOR_ENABLED, auth_domain::FieldValue::Bool(enabled));
        Ok(Completion {
            user,
            session,
            issued: true,
            trusted_device: None,
        })
    }

    /// Turns two-factor off for the signed-in user: the secret and backup codes are deleted
    /// and the session rotated. Answers the new session.
    ///
    /// # Errors
    /// `INVALID_PASSWORD`, `Unavailable`.
    pub async fn disable(
        &self,
        auth: &Auth,
        context: &AuthContext,
        password: Option<&Password>,
        client: &ClientInfo,
    ) -> Result<Completion, AuthError> {
        Self::check_password(auth, context, password).await?;
        self.repo.delete_two_factor(&context.user.id).await?;
        // The device this request comes from stops being trusted.
        if let Some(cookie) = client.cookies.get(TRUST_DEVICE_COOKIE)
            && let Some(record) = self.trusted(auth, &context.user.id, cookie).await?
        {
            auth.deps().verifications.delete(&record.id).await?;
        }
        tracing::info!(target: "auth::audit", event = "two_factor_disabled", user_id = %context.user.id, "two-factor turned off");
        self.rotate(auth, context, false).await
    }

    /// New backup codes for the signed-in user, replacing the old ones.
    ///
    /// # Errors
    /// `INVALID_PASSWORD`, `TWO_FACTOR_NOT_ENABLED`, `Unavailable`.
    pub async fn generate_backup_codes(
        &self,
        auth: &Auth,
        context: &AuthContext,
        password: Option<&Password>,
    ) -> Result<Vec<String>, AuthError> {
        Self::check_password(auth, context, password).await?;
        let row = match self.repo.find_two_factor(&context.user.id).await? {
            Some(row) if context.user.two_factor_enabled => row,
            _ => return refused(TwoFactorRefusal::NotEnabled),
        };
        let codes = self.new_backup_codes(auth);
        let sealed = self.crypto.seal(&encode_backup_codes(&codes))?;
        if !self
            .repo
            .swap_backup_codes(&row.id, &row.sealed_backup_codes, &sealed)
            .await?
        {
            return Err(conflict());
        }
        Ok(codes)
    }

    /// Redeems a backup code (once: it is removed). With a challenge, the sign-in is
    /// completed.
    ///
    /// # Errors
    /// `INVALID_TWO_FACTOR_COOKIE`, `BACKUP_CODES_NOT_ENABLED`, `ACCOUNT_TEMPORARILY_LOCKED`,
    /// `TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE`, `INVALID_BACKUP_CODE`, `Unavailable`.
    pub async fn verify_backup_code(
        &self,
        auth: &Auth,
        proof: Proof<'_>,
        code: &str,
    ) -> Result<Completion, AuthError> {
        let result = self.verify_backup_code_uncounted(auth, proof, code).await;
        crate::metrics::second_factor("backup_code", &result);
        result
    }

    async fn verify_backup_code_uncounted(
        &self,
        auth: &Auth,
        proof: Proof<'_>,
        code: &str,
    ) -> Result<Completion, AuthError> {
        match self.redeem_with(auth, &proof, code).await? {
            Redeemed::BySession => match proof {
                Proof::Session(context) => Ok(Completion {
                    user: context.user.clone(),
                    session: context.session.clone(),
                    issued: false,
                    trusted_device: None,
                }),
                Proof::Challenge { .. } => Err(AuthError::Internal(
                    "a challenge's code was redeemed as a session's".into(),
                )),
            },
            Redeemed::ByChallenge(challenge, row) => {
                let Proof::Challenge {
                    remember_me,
                    trust_device,
                    client,
                    ..
                } = proof
                else {
                    return Err(AuthError::Internal(
                        "a session's code was redeemed as a challenge's".into(),
                    ));
                };
                self.complete(
                    auth,
                    Some(&row),
                    *challenge,
                    remember_me,
                    trust_device,
                    client,
                )
                .await
            }
        }
    }

    /// Redeems a backup code without a session (Better-Auth's `disableSession`): the code is
    /// spent and, with a challenge, so is the challenge; no session is made. Answers the user.
    ///
    /// # Errors
    /// As [`Self::verify_backup_code`].
    pub async fn check_backup_code(
        &self,
        auth: &Auth,
        proof: Proof<'_>,
        code: &str,
    ) -> Result<User, AuthError> {
        match (self.redeem_with(auth, &proof, code).await?, proof) {
            (Redeemed::ByChallenge(challenge, row), _) => {
                auth.deps()
                    .verifications
                    .delete(&challenge.record.id)
                    .await?;
                if self.config.lockout.is_some() {
                    self.repo.reset_failures(&row.id).await?;
                }
                Ok(challenge.user)
            }
            (Redeemed::BySession, Proof::Session(context)) => Ok(context.user.clone()),
            (Redeemed::BySession, Proof::Challenge { .. }) => Err(AuthError::Internal(
                "a challenge's code was redeemed as a session's".into(),
            )),
        }
    }

    /// Redeems a backup code for a session, or for a challenge (its attempts and the account
    /// lockout applied).
    async fn redeem_with(
        &self,
        auth: &Auth,
        proof: &Proof<'_>,
        code: &str,
    ) -> Result<Redeemed, AuthError> {
        match proof {
            Proof::Session(context) => {
                let Some(row) = self.repo.find_two_factor(&context.user.id).await? else {
                    return refused(TwoFactorRefusal::BackupCodesNotEnabled);
                };
                if !self.redeem(&row, code).await? {
                    return refused(TwoFactorRefusal::InvalidBackupCode);
                }
                Ok(Redeemed::BySession)
            }
            Proof::Challenge { id, .. } => {
                let challenge = self.open_challenge(auth, id).await?;
                let Some(row) = self.repo.find_two_factor(&challenge.user.id).await? else {
                    self.rearm(auth, &challenge, challenge.attempts).await;
                    return refused(TwoFactorRefusal::BackupCodesNotEnabled);
                };
                let attempt = self.account_attempt(auth, Some(&row), &challenge).await?;
                let redeemed = match self.redeem(&row, code).await {
                    Ok(redeemed) => redeemed,
                    Err(error) => {
                        self.rearm(auth, &challenge, challenge.attempts).await;
                        return Err(error);
                    }
                };
                if !redeemed {
                    return self
                        .failed(
                            auth,
                            Some(&row),
                            attempt,
                            &challenge,
                            TwoFactorRefusal::InvalidBackupCode,
                        )
                        .await;
                }
                Ok(Redeemed::ByChallenge(Box::new(challenge), row))
            }
        }
    }

    /// One-time codes go by mail: without mail, `OTP_NOT_CONFIGURED`.
    fn otp_available(auth: &Auth) -> bool {
        auth.deps().mail.is_some()
    }

    /// The pending code's identifier for a proof: the challenge's, or the signed-in session's.
    fn otp_identifier(proof: &Proof<'_>) -> String {
        match proof {
            Proof::Session(context) => format!(
                "{OTP_PREFIX}{}!{}",
                context.user.id.as_str(),
                context.session.id.as_str()
            ),
            Proof::Challenge { id, .. } => format!("{OTP_PREFIX}{id}"),
        }
    }

    /// The challenge's record and user, without taking its attempt counter.
    async fn challenge_user(&self, auth: &Auth, id: &str) -> Result<User, AuthError> {
        if !id.starts_with(CHALLENGE_PREFIX) || id.chars().any(char::is_control) {
            return refused(TwoFactorRefusal::InvalidChallenge);
        }
        let record = match auth.deps().verifications.find_latest(id).await? {
            Some(record) if record.expires_at > auth.now() => record,
            _ => return refused(TwoFactorRefusal::InvalidChallenge),
        };
        match auth
            .deps()
            .users
            .find_by_id(&UserId::new(record.value))
            .await?
        {
            Some(user) => Ok(user),
            None => refused(TwoFactorRefusal::InvalidChallenge),
        }
    }

    /// Mails a one-time code to the user of the session or of the sign-in's challenge,
    /// replacing any pending one. Only its HMAC is stored.
    ///
    /// # Errors
    /// `OTP_NOT_CONFIGURED`, `INVALID_TWO_FACTOR_COOKIE`, `Unavailable`.
    pub async fn send_otp(&self, auth: &Auth, proof: Proof<'_>) -> Result<(), AuthError> {
        let Some(mail) = auth.deps().mail.as_ref() else {
            return refused(TwoFactorRefusal::OtpNotConfigured);
        };
        let user = match proof {
            Proof::Session(context) => context.user.clone(),
            Proof::Challenge { id, .. } => self.challenge_user(auth, id).await?,
        };
        let identifier = Self::otp_identifier(&proof);
        let verifications = &auth.deps().verifications;
        if let Some(pending) = verifications.find_latest(&identifier).await? {
            verifications.delete(&pending.id).await?;
        }
        let otp = self.config.otp;
        let code = auth.deps().random.string(DIGITS, otp.digits);
        let now = auth.now();
        let record = Verification {
            id: VerificationId::new(auth.new_id()),
            identifier,
            value: format!("{}:0", self.crypto.sign(&format!("otp!{code}"))),
            expires_at: now + otp.lifetime,
            created_at: now,
            updated_at: now,
        };
        verifications.create(&record).await?;
        let template = mail.templates.two_factor_otp.with("otp", &code);
        mail.send(&template, &user, "").await;
        Ok(())
    }

    /// Spends the pending code of `identifier` if `code` is it; a wrong code counts against
    /// it, and it is spent after the allowed attempts.
    async fn check_otp(&self, auth: &Auth, identifier: &str, code: &str) -> Result<(), AuthError> {
        let verifications = &auth.deps().verifications;
        let record = match verifications.find_latest(identifier).await? {
            Some(record) if record.expires_at > auth.now() => record,
            _ => return refused(TwoFactorRefusal::OtpExpired),
        };
        let (digest, count) = record.value.rsplit_once(':').unwrap_or((&record.value, ""));
        let count = count.parse::<u32>().unwrap_or(u32::MAX);
        // Taken first: of concurrent answers, one reads this record.
        if !verifications.delete(&record.id).await? {
            return refused(TwoFactorRefusal::InvalidCode);
        }
        if count >= self.config.otp.attempts {
            return refused(TwoFactorRefusal::TooManyAttempts);
        }
        if same_code(&self.crypto.sign(&format!("otp!{}", code.trim())), digest) {
            return Ok(());
        }
        let now = auth.now();
        let counted = Verification {
            id: VerificationId::new(auth.new_id()),
            value: format!("{digest}:{}", count + 1),
            created_at: now,
            updated_at: now,
            ..record
        };
        verifications.create(&counted).await?;
        refused(TwoFactorRefusal::InvalidCode)
    }

    /// Checks an emailed code. With a session: the first good code turns two-factor on (by
    /// email) and rotates the session. With a challenge: the sign-in is completed.
    ///
    /// # Errors
    /// `OTP_NOT_CONFIGURED`, `INVALID_TWO_FACTOR_COOKIE`, `OTP_HAS_EXPIRED`, `INVALID_CODE`,
    /// `TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE`, `ACCOUNT_TEMPORARILY_LOCKED`, `Unavailable`.
    pub async fn verify_otp(
        &self,
        auth: &Auth,
        proof: Proof<'_>,
        code: &str,
    ) -> Result<Completion, AuthError> {
        let result = self.verify_otp_uncounted(auth, proof, code).await;
        crate::metrics::second_factor("otp", &result);
        result
    }

    async fn verify_otp_uncounted(
        &self,
        auth: &Auth,
        proof: Proof<'_>,
        code: &str,
    ) -> Result<Completion, AuthError> {
        if !Self::otp_available(auth) {
            return refused(TwoFactorRefusal::OtpNotConfigured);
        }
        let identifier = Self::otp_identifier(&proof);
        match proof {
            Proof::Session(context) => {
                self.check_otp(auth, &identifier, code).await?;
                if context.user.two_factor_enabled {
                    return Ok(Completion {
                        user: context.user.clone(),
                        session: context.session.clone(),
                        issued: false,
                        trusted_device: None,
                    });
                }
                self.repo
                    .set_two_factor_enabled(&context.user.id, true)
                    .await?;
                self.rotate(auth, context, true).await
            }
            Proof::Challenge {
                id,
                remember_me,
                trust_device,
                client,
            } => {
                let challenge = self.open_challenge(auth, id).await?;
                let row = self.repo.find_two_factor(&challenge.user.id).await?;
                let attempt = self.account_attempt(auth, row.as_ref(), &challenge).await?;
                match self.check_otp(auth, &identifier, code).await {
                    Ok(()) => {}
                    Err(AuthError::Plugin(error)) if error.code == "INVALID_CODE" => {
                        return self
                            .failed(
                                auth,
                                row.as_ref(),
                                attempt,
                                &challenge,
                                TwoFactorRefusal::InvalidCode,
                            )
                            .await;
                    }
                    Err(error) => {
                        self.rearm(auth, &challenge, challenge.attempts).await;
                        return Err(error);
                    }
                }
                self.complete(
                    auth,
                    row.as_ref(),
                    challenge,
                    remember_me,
                    trust_device,
                    client,
                )
                .await
            }
        }
    }

    /// Turns two-factor on by emailed codes for the signed-in user (Better-Auth's `enable`
    /// with `method: "otp"`): on at once, the session rotated.
    ///
    /// # Errors
    /// `INVALID_PASSWORD`, `OTP_NOT_CONFIGURED`, `Unavailable`.
    pub async fn enable_otp(
        &self,
        auth: &Auth,
        context: &AuthContext,
        password: Option<&Password>,
    ) -> Result<Completion, AuthError> {
        Self::check_password(auth, context, password).await?;
        if !Self::otp_available(auth) {
            return refused(TwoFactorRefusal::OtpNotConfigured);
        }
        // A row without a TOTP secret holds the account's lockout count and backup codes; a
        // user's existing row stays as it is.
        if self.repo.find_two_factor(&context.user.id).await?.is_none() {
            let row = TwoFactor {
                id: auth.new_id(),
                user_id: context.user.id.clone(),
                sealed_secret: String::new(),
                sealed_backup_codes: self.crypto.seal(&encode_backup_codes(&[]))?,
                verified: false,
                failed_verification_count: 0,
                locked_until: None,
                last_used_step: None,
            };
            self.repo.start_two_factor(&row).await?;
        }
        self.repo
            .set_two_factor_enabled(&context.user.id, true)
            .await?;
        tracing::info!(target: "auth::audit", event = "two_factor_email_enabled", user_id = %context.user.id, "two-factor by email turned on");
        self.rotate(auth, context, true).await
    }

    /// Removes `code` from the row's backup codes with a compare-and-set: `false` when it is
    /// not one of them; `409` when a concurrent change of the codes won (try again).
    async fn redeem(&self, row: &TwoFactor, code: &str) -> Result<bool, AuthError> {
        let opened = self.crypto.open(&row.sealed_backup_codes)?;
        let Some(codes) = decode_backup_codes(opened.expose()) else {
            return Err(AuthError::Internal(
                "stored backup codes are not a list".into(),
            ));
        };
        let code = code.trim();
        let mut found = false;
        let mut kept = Vec::with_capacity(codes.len());
        for candidate in codes {
            if !found && same_code(code, &candidate) {
                found = true;
            } else {
                kept.push(candidate);
            }
        }
        if !found {
            return Ok(false);
        }
        let sealed = self.crypto.seal(&encode_backup_codes(&kept))?;
        if self
            .repo
            .swap_backup_codes(&row.id, &row.sealed_backup_codes, &sealed)
            .await?
        {
            Ok(true)
        } else {
            Err(conflict())
        }
    }

    /// Trusts a device of the user for the configured lifetime: a `verification` row
    /// `trust-device-<id>` and the cookie that names it, signed with the server secret.
    async fn trust(&self, auth: &Auth, user_id: &UserId) -> Result<PluginCookie, AuthError> {
        let now = auth.now();
        let lifetime = self.config.trust_device_lifetime;
        let identifier = format!("{TRUST_PREFIX}{}", auth.deps().random.string(URL_SAFE, 32));
        let record = Verification {
            id: VerificationId::new(auth.new_id()),
            identifier: identifier.clone(),
            value: user_id.as_str().to_owned(),
            expires_at: now + lifetime,
            created_at: now,
            updated_at: now,
        };
        auth.deps().verifications.create(&record).await?;
        let token = self
            .crypto
            .sign(&format!("{}!{identifier}", user_id.as_str()));
        Ok(PluginCookie::set(
            TRUST_DEVICE_COOKIE,
            auth_domain::Secret::new(format!("{token}!{identifier}")),
            lifetime,
        ))
    }

    /// The trust record a device's cookie names, when its token is the user's and the record
    /// is the user's and unexpired.
    async fn trusted(
        &self,
        auth: &Auth,
        user_id: &UserId,
        cookie: &auth_domain::Secret<String>,
    ) -> Result<Option<Verification>, AuthError> {
        let Some((token, identifier)) = cookie.expose().split_once('!') else {
            return Ok(None);
        };
        if !identifier.starts_with(TRUST_PREFIX) || identifier.chars().any(char::is_control) {
            return Ok(None);
        }
        let expected = self
            .crypto
            .sign(&format!("{}!{identifier}", user_id.as_str()));
        if !same_code(token, &expected) {
            return Ok(None);
        }
        Ok(auth
            .deps()
            .verifications
            .find_latest(identifier)
            .await?
            .filter(|record| record.value == user_id.as_str() && record.expires_at > auth.now()))
    }

    /// A trusted device skips the factor once: its record is spent (concurrent sign-ins with
    /// one token: one skips) and a new one issued. `None` when the device is not trusted.
    async fn skip_for_trusted(
        &self,
        auth: &Auth,
        user: &User,
        client: &ClientInfo,
    ) -> Result<Option<PluginCookie>, AuthError> {
        let Some(cookie) = client.cookies.get(TRUST_DEVICE_COOKIE) else {
            return Ok(None);
        };
        let Some(record) = self.trusted(auth, &user.id, cookie).await? else {
            return Ok(None);
        };
        if !auth.deps().verifications.delete(&record.id).await? {
            return Ok(None);
        }
        tracing::info!(target: "auth::audit", event = "second_factor_trusted_device", user_id = %user.id, "second factor skipped on a trusted device");
        Ok(Some(self.trust(auth, &user.id).await?))
    }

    /// The methods a diverted sign-in offers the user.
    async fn methods(&self, auth: &Auth, user: &User) -> Result<Vec<String>, PortError> {
        let mut methods = Vec::new();
        if self
            .repo
            .find_two_factor(&user.id)
            .await?
            .is_some_and(|row| row.verified)
        {
            methods.push("totp".to_owned());
        }
        if Self::otp_available(auth) {
            methods.push("otp".to_owned());
        }
        Ok(methods)
    }

    /// Opens a challenge for a user whose password was right: its record (the user's id) and
    /// its attempt counter, both expiring with it. Answers its id.
    async fn open_new_challenge(&self, auth: &Auth, user: &User) -> Result<String, AuthError> {
        let now = auth.now();
        let id = format!(
            "{CHALLENGE_PREFIX}{}",
            auth.deps().random.string(URL_SAFE, 20)
        );
        let expires_at = now + self.config.challenge_lifetime;
        for (identifier, value) in [
            (id.clone(), user.id.as_str().to_owned()),
            (format!("{ATTEMPTS_PREFIX}{id}"), "0".to_owned()),
        ] {
            let record = Verification {
                id: VerificationId::new(auth.new_id()),
                identifier,
                value,
                expires_at,
                created_at: now,
                updated_at: now,
            };
            auth.deps().verifications.create(&record).await?;
        }
        Ok(id)
    }
}

impl AuthPlugin for TwoFactors {
    fn id(&self) -> &'static str {
        TWO_FACTOR
    }

    /// A user with two-factor on is answered with a challenge instead of a session.
    fn before_session<'a>(
        &'a self,
        auth: &'a Auth,
        user: &'a User,
        client: &'a ClientInfo,
    ) -> PluginFuture<'a, Result<SignInStep, AuthError>> {
        Box::pin(async move {
            if !user.two_factor_enabled {
                return Ok(SignInStep::Continue);
            }
            if let Some(renewed) = self.skip_for_trusted(auth, user, client).await? {
                return Ok(SignInStep::Vouch(vec![renewed]));
            }
            // A cookie that does not (or no longer) vouch for the device is expired.
            let cookies = if client.cookies.get(TRUST_DEVICE_COOKIE).is_some() {
                vec![PluginCookie::expire(TRUST_DEVICE_COOKIE)]
            } else {
                Vec::new()
            };
            let challenge = self.open_new_challenge(auth, user).await?;
            Ok(SignInStep::Divert(Box::new(Diversion {
                plugin: TWO_FACTOR,
                user: user.clone(),
                remember_me: true,
                challenge: Some(auth_domain::Secret::new(challenge)),
                details: self.methods(auth, user).await?,
                cookies,
            })))
        })
    }

    /// `twoFactorEnabled` in every user object, cached, and in token claims.
    fn fields(&self) -> Vec<auth_domain::FieldSpec> {
        vec![auth_domain::FieldSpec {
            model: auth_domain::Model::User,
            name: TWO_FACTOR_ENABLED,
            kind: auth_domain::FieldKind::Flag,
        }]
    }

    /// Better-Auth's rule: three requests per ten seconds on every `/two-factor/` route.
    fn rate_limits(&self) -> Vec<crate::RouteLimit> {
        vec![crate::RouteLimit::Rule(
            "/two-factor",
            auth_ports::RateLimitRule {
                window: Duration::seconds(10),
                max: 3,
            },
        )]
    }

    /// A deleted user's second factor goes with them (the store's foreign key also does it).
    fn on_event<'a>(
        &'a self,
        _auth: &'a Auth,
        event: &'a auth_domain::AuthEvent,
    ) -> PluginFuture<'a, ()> {
        Box::pin(async move {
            if let auth_domain::AuthEvent::UserDeleted { user_id } = event
                && let Err(error) = self.repo.delete_two_factor(user_id).await
            {
                tracing::warn!(error = %error, "a deleted user's second factor was not deleted");
            }
        })
    }
}
