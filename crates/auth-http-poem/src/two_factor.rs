//! The two-factor plugin (Better-Auth's `twoFactor()`): the `/two-factor/*` routes, and the
//! answer to a sign-in it diverts: `{"twoFactorRedirect": true, "twoFactorMethods": [...]}`
//! with the signed `two_factor` challenge cookie and no session.

use std::sync::Arc;

use auth_core::{AuthContext, Completion, Proof, TwoFactors};
use auth_domain::Password;
use poem::{IntoResponse, Request, Response};
use poem_openapi::{Object, OpenApi, Tags};
use serde::Serialize;

use crate::api::client_info;
use crate::cookies::{DONT_REMEMBER, SESSION_DATA, SESSION_TOKEN};
use crate::dto::UserDto;
use crate::error::ApiError;
use crate::payload::{BaJson, Reply};
use crate::plugin::{HttpPlugin, PluginApi};
use crate::session_ctx::{load, require, session_cookies};
use crate::state::HttpState;

/// The challenge cookie of a diverted sign-in.
pub const TWO_FACTOR_COOKIE: &str = "two_factor";

/// The two-factor plugin over its use cases.
#[derive(Debug, Clone)]
pub struct TwoFactorPlugin {
    two_factors: TwoFactors,
}

impl TwoFactorPlugin {
    /// The plugin.
    #[must_use]
    pub fn new(two_factors: TwoFactors) -> Self {
        Self { two_factors }
    }
}

/// The answer to a diverted sign-in.
#[derive(Debug, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "TwoFactorRedirect", rename_all = "camelCase")]
struct RedirectDto {
    /// Always `true`: a second factor is asked for.
    two_factor_redirect: bool,
    /// The factors on offer (`totp`).
    two_factor_methods: Vec<String>,
}

impl HttpPlugin for TwoFactorPlugin {
    fn id(&self) -> &'static str {
        auth_core::TWO_FACTOR
    }

    fn cookies(&self) -> &'static [&'static str] {
        &[TWO_FACTOR_COOKIE]
    }

    fn request_cookies(&self) -> &'static [&'static str] {
        &[auth_core::TRUST_DEVICE_COOKIE]
    }

    /// The challenge cookie, the session cookies expired, `dont_remember` kept for the
    /// completion, and no token.
    fn diverted(&self, state: &HttpState, diversion: &auth_core::Diversion) -> Option<Response> {
        let challenge = diversion.challenge.as_ref()?;
        let cookies = state.cookies();
        let lifetime = self.two_factors.config().challenge_lifetime.whole_seconds();
        let mut lines = vec![
            cookies.expire(SESSION_TOKEN),
            cookies.expire(SESSION_DATA),
            cookies.set_signed(TWO_FACTOR_COOKIE, challenge.expose(), Some(lifetime)),
        ];
        if !diversion.remember_me {
            lines.push(cookies.set_signed(DONT_REMEMBER, "true", None));
        }
        lines.extend(crate::plugin::plugin_cookie_lines(
            state,
            &diversion.cookies,
        ));
        let body = RedirectDto {
            two_factor_redirect: true,
            two_factor_methods: diversion.details.clone(),
        };
        Some(Reply::new(body).cookies(lines).into_response())
    }

    fn api(&self, state: &Arc<HttpState>) -> Option<PluginApi> {
        Some(PluginApi::new(TwoFactorApi {
            state: state.clone(),
            two_factors: self.two_factors.clone(),
        }))
    }

    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(self)
    }
}

/// The plugin's OpenAPI tag.
#[derive(Tags)]
enum TwoFactorTags {
    /// Two-factor authentication: TOTP, backup codes, and sign-ins that ask for them.
    TwoFactor,
}

/// A body holding the password. No `Debug`: it holds a password.
#[derive(Object)]
#[oai(rename = "TwoFactorPasswordRequest", rename_all = "camelCase")]
struct PasswordBody {
    /// The user's password.
    #[oai(validator(max_length = 4096), nullable)]
    password: Option<poem_openapi::types::Password>,
}

/// `POST /two-factor/enable` body. No `Debug`: it holds a password.
#[derive(Object)]
#[oai(rename = "EnableTwoFactorRequest", rename_all = "camelCase")]
struct EnableBody {
    /// The user's password.
    #[oai(validator(max_length = 4096), nullable)]
    password: Option<poem_openapi::types::Password>,
    /// The issuer shown by authenticator apps (default: the configured one).
    #[oai(nullable)]
    issuer: Option<String>,
    /// `totp` (the default) or `otp` (codes by email, on at once; needs mail).
    #[oai(nullable)]
    method: Option<String>,
}

/// `enable`'s answer. No `Debug`: it holds the secret and the backup codes.
#[derive(Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "TwoFactorEnrolment", rename_all = "camelCase")]
struct EnrolmentDto {
    /// `totp` or `otp`.
    method: String,
    /// The `otpauth://` URI for an authenticator app (`totp`).
    #[serde(rename = "totpURI", skip_serializing_if = "Option::is_none")]
    #[oai(rename = "totpURI", skip_serializing_if_is_none, nullable)]
    totp_uri: Option<String>,
    /// Ten single-use backup codes (`totp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none, nullable)]
    backup_codes: Option<Vec<String>>,
    /// Ours: the URI as a QR code, an SVG `data:` URL to show in an `<img>` (`totp`).
    #[serde(rename = "totpQRCode", skip_serializing_if = "Option::is_none")]
    #[oai(rename = "totpQRCode", skip_serializing_if_is_none, nullable)]
    totp_qr_code: Option<String>,
}

/// `get-totp-uri`'s answer. No `Debug`: it holds the secret.
#[derive(Object, Serialize)]
#[oai(rename = "TotpUri")]
struct UriDto {
    /// The `otpauth://` URI.
    #[serde(rename = "totpURI")]
    #[oai(rename = "totpURI")]
    totp_uri: String,
    /// Ours: the URI as a QR code, an SVG `data:` URL.
    #[serde(rename = "totpQRCode")]
    #[oai(rename = "totpQRCode")]
    totp_qr_code: String,
}

/// An `otpauth://` URI as a QR code: an SVG image in a `data:` URL (authenticator apps scan
/// it); empty if the URI were too long for a QR code, which no URI made here is.
fn qr_code(uri: &str) -> String {
    use base64::Engine as _;
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

/// `verify-totp`, `verify-backup-code` and `verify-otp` bodies. No `Debug`: it holds a code.
#[derive(Object)]
#[oai(rename = "VerifyTwoFactorRequest", rename_all = "camelCase")]
struct VerifyBody {
    /// The code.
    code: String,
    /// Trust this device for 30 days: its sign-ins skip the second factor (with the
    /// `two_factor` cookie only).
    #[oai(nullable)]
    trust_device: Option<bool>,
    /// `verify-backup-code`: no session cookies.
    #[oai(nullable)]
    disable_session: Option<bool>,
}

/// A verification's answer: the session's token and the user.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "TwoFactorVerified")]
struct VerifiedDto {
    /// The session token (absent after `disableSession` without a session).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none, nullable)]
    token: Option<String>,
    /// The user.
    user: UserDto,
}

/// `{"status": true}`.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "TwoFactorStatus")]
struct StatusDto {
    /// Always `true`.
    status: bool,
}

/// `generate-backup-codes`' answer. No `Debug`: it holds the codes.
#[derive(Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "BackupCodes", rename_all = "camelCase")]
struct BackupCodesDto {
    /// Always `true`.
    status: bool,
    /// The new codes.
    backup_codes: Vec<String>,
}

fn password(value: Option<poem_openapi::types::Password>) -> Option<Password> {
    value.map(|password| Password::new(password.0))
}

/// The two-factor routes.
struct TwoFactorApi {
    state: Arc<HttpState>,
    two_factors: TwoFactors,
}

/// Who proves the factor in a request: its session, else its signed challenge cookie.
enum Prover {
    Session(Box<crate::session_ctx::Loaded>),
    Challenge { id: String, remember_me: bool },
}

impl TwoFactorApi {
    async fn prover(&self, request: &Request) -> Result<Prover, ApiError> {
        if let (Some(loaded), _) = load(&self.state, request, false).await? {
            return Ok(Prover::Session(Box::new(loaded)));
        }
        let header = request
            .headers()
            .get(poem::http::header::COOKIE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let cookies = self.state.cookies();
        let Some(id) = cookies.read_signed(header, TWO_FACTOR_COOKIE) else {
            return Err(auth_core::two_factor_error(
                auth_domain::two_factor::TwoFactorRefusal::InvalidChallenge,
            )
            .into());
        };
        let remember_me = cookies
            .read_signed(header, DONT_REMEMBER)
            .is_none_or(|value| value != "true");
        Ok(Prover::Challenge { id, remember_me })
    }

    /// Runs a verification with the request's prover and answers it: a new session's
    /// cookies (the challenge cookie expired), or the caller's session as it is.
    async fn verify(
        &self,
        request: &Request,
        trust_device: bool,
        run: impl AsyncFnOnce(Proof<'_>) -> Result<Completion, auth_core::AuthError>,
    ) -> Result<Reply<VerifiedDto>, ApiError> {
        let client = client_info(request);
        let prover = self.prover(request).await?;
        let (completion, mut cookies) = match &prover {
            Prover::Session(loaded) => {
                let done = run(Proof::Session(&loaded.context)).await?;
                (done, crate::cookies::ResponseCookies::default())
            }
            Prover::Challenge { id, remember_me } => {
                let proof = Proof::Challenge {
                    id,
                    remember_me: *remember_me,
                    trust_device,
                    client: &client,
                };
                match run(proof).await {
                    Ok(done) => (
                        done,
                        vec![self.state.cookies().expire(TWO_FACTOR_COOKIE)].into(),
                    ),
                    Err(error) => {
                        let spent = matches!(
                            error.code(),
                            Some(
                                "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE" | "INVALID_TWO_FACTOR_COOKIE"
                            )
                        );
                        let error = ApiError::from(error);
                        return Err(if spent {
                            error.with_cookies(vec![self.state.cookies().expire(TWO_FACTOR_COOKIE)])
                        } else {
                            error
                        });
                    }
                }
            }
        };
        if completion.issued {
            let remember_me = match &prover {
                Prover::Challenge { remember_me, .. } => *remember_me,
                Prover::Session(_) => self
                    .state
                    .auth()
                    .config()
                    .session
                    .is_remembered(&completion.session),
            };
            cookies.extend(session_cookies(
                &self.state,
                &completion.session,
                remember_me,
            ));
        } else if let Prover::Session(loaded) = prover {
            cookies.extend(loaded.cookies);
        }
        if let Some(trusted) = &completion.trusted_device {
            // A trusted device keeps its session: `dont_remember` goes, as in Better-Auth.
            let mut lines =
                crate::plugin::plugin_cookie_lines(&self.state, std::slice::from_ref(trusted));
            lines.push(self.state.cookies().expire(DONT_REMEMBER));
            cookies.extend(lines.into());
        }
        Ok(Reply::new(VerifiedDto {
            token: Some(completion.session.token.expose().to_owned()),
            user: UserDto::from(&completion.user),
        })
        .cookies(cookies))
    }

    /// `verify-backup-code` with `disableSession`: the code (and a challenge) spent, no session
    /// made; the caller's own token answered when there is a session.
    async fn check_backup_code(
        &self,
        request: &Request,
        code: &str,
    ) -> Result<Reply<VerifiedDto>, ApiError> {
        let client = client_info(request);
        let auth = self.state.auth();
        match self.prover(request).await? {
            Prover::Session(loaded) => {
                let user = self
                    .two_factors
                    .check_backup_code(auth, Proof::Session(&loaded.context), code)
                    .await?;
                Ok(Reply::new(VerifiedDto {
                    token: Some(loaded.context.session.token.expose().to_owned()),
                    user: UserDto::from(&user),
                })
                .cookies(loaded.cookies))
            }
            Prover::Challenge { id, remember_me } => {
                let proof = Proof::Challenge {
                    id: &id,
                    remember_me,
                    trust_device: false,
                    client: &client,
                };
                let user = self
                    .two_factors
                    .check_backup_code(auth, proof, code)
                    .await?;
                let expired = vec![self.state.cookies().expire(TWO_FACTOR_COOKIE)];
                Ok(Reply::new(VerifiedDto {
                    token: None,
                    user: UserDto::from(&user),
                })
                .cookies(expired))
            }
        }
    }

    /// Answers a completion that rotated the caller's session: the new session's cookies.
    fn rotated<T: poem_openapi::types::ToJSON + Send>(
        &self,
        body: T,
        context: &AuthContext,
        completion: &Completion,
    ) -> Reply<T> {
        let remember_me = self
            .state
            .auth()
            .config()
            .session
            .is_remembered(&context.session);
        Reply::new(body).cookies(session_cookies(
            &self.state,
            &completion.session,
            remember_me,
        ))
    }
}

#[OpenApi(tag = "TwoFactorTags::TwoFactor")]
impl TwoFactorApi {
    /// Start TOTP: answers the `otpauth://` URI and ten backup codes. Two-factor is on after
    /// the first good code (`verify-totp`).
    #[oai(path = "/two-factor/enable", method = "post")]
    async fn enable(
        &self,
        request: &Request,
        body: BaJson<EnableBody>,
    ) -> Result<Reply<EnrolmentDto>, ApiError> {
        let body = body.0;
        match body.method.as_deref() {
            None | Some("totp") => {}
            Some("otp") => {
                let loaded = require(&self.state, request).await?;
                let done = self
                    .two_factors
                    .enable_otp(
                        self.state.auth(),
                        &loaded.context,
                        password(body.password).as_ref(),
                    )
                    .await?;
                let answer = EnrolmentDto {
                    method: "otp".to_owned(),
                    totp_uri: None,
                    backup_codes: None,
                    totp_qr_code: None,
                };
                return Ok(self.rotated(answer, &loaded.context, &done));
            }
            Some(_) => {
                return Err(ApiError::validation(
                    "[body.method] Invalid option: expected one of \"otp\"|\"totp\"",
                ));
            }
        }
        let loaded = require(&self.state, request).await?;
        let enrolment = self
            .two_factors
            .enable(
                self.state.auth(),
                &loaded.context,
                password(body.password).as_ref(),
                body.issuer.as_deref(),
            )
            .await?;
        Ok(Reply::new(EnrolmentDto {
            method: "totp".to_owned(),
            totp_qr_code: Some(qr_code(&enrolment.totp_uri)),
            totp_uri: Some(enrolment.totp_uri),
            backup_codes: Some(enrolment.backup_codes),
        })
        .header(poem::http::header::CACHE_CONTROL, "no-store")
        .cookies(loaded.cookies))
    }

    /// The `otpauth://` URI again (the password is needed).
    #[oai(path = "/two-factor/get-totp-uri", method = "post")]
    async fn get_totp_uri(
        &self,
        request: &Request,
        body: BaJson<PasswordBody>,
    ) -> Result<Reply<UriDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let totp_uri = self
            .two_factors
            .totp_uri(
                self.state.auth(),
                &loaded.context,
                password(body.0.password).as_ref(),
            )
            .await?;
        Ok(Reply::new(UriDto {
            totp_qr_code: qr_code(&totp_uri),
            totp_uri,
        })
        .header(poem::http::header::CACHE_CONTROL, "no-store")
        .cookies(loaded.cookies))
    }

    /// Check a TOTP code: with a session (the first good code turns two-factor on), or with
    /// the `two_factor` cookie of a diverted sign-in, which it completes.
    #[oai(path = "/two-factor/verify-totp", method = "post")]
    async fn verify_totp(
        &self,
        request: &Request,
        body: BaJson<VerifyBody>,
    ) -> Result<Reply<VerifiedDto>, ApiError> {
        let body = body.0;
        let auth = self.state.auth();
        let trust = body.trust_device.unwrap_or(false);
        self.verify(request, trust, async |proof| {
            self.two_factors.verify_totp(auth, proof, &body.code).await
        })
        .await
    }

    /// Redeem a backup code (once), with a session or the `two_factor` cookie.
    #[oai(path = "/two-factor/verify-backup-code", method = "post")]
    async fn verify_backup_code(
        &self,
        request: &Request,
        body: BaJson<VerifyBody>,
    ) -> Result<Reply<VerifiedDto>, ApiError> {
        let body = body.0;
        let auth = self.state.auth();
        if body.disable_session.unwrap_or(false) {
            return self.check_backup_code(request, &body.code).await;
        }
        let trust = body.trust_device.unwrap_or(false);
        self.verify(request, trust, async |proof| {
            self.two_factors
                .verify_backup_code(auth, proof, &body.code)
                .await
        })
        .await
    }

    /// Turn two-factor off (the password is needed); the session is rotated.
    #[oai(path = "/two-factor/disable", method = "post")]
    async fn disable(
        &self,
        request: &Request,
        body: BaJson<PasswordBody>,
    ) -> Result<Reply<StatusDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let done = self
            .two_factors
            .disable(
                self.state.auth(),
                &loaded.context,
                password(body.0.password).as_ref(),
                &client_info(request),
            )
            .await?;
        let expired = vec![self.state.cookies().expire(auth_core::TRUST_DEVICE_COOKIE)];
        Ok(self
            .rotated(StatusDto { status: true }, &loaded.context, &done)
            .cookies(expired))
    }

    /// Replace the backup codes (the password is needed).
    #[oai(path = "/two-factor/generate-backup-codes", method = "post")]
    async fn generate_backup_codes(
        &self,
        request: &Request,
        body: BaJson<PasswordBody>,
    ) -> Result<Reply<BackupCodesDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let backup_codes = self
            .two_factors
            .generate_backup_codes(
                self.state.auth(),
                &loaded.context,
                password(body.0.password).as_ref(),
            )
            .await?;
        Ok(Reply::new(BackupCodesDto {
            status: true,
            backup_codes,
        })
        .header(poem::http::header::CACHE_CONTROL, "no-store")
        .cookies(loaded.cookies))
    }

    /// Mail a one-time code to the user of the session or of the `two_factor` cookie's
    /// sign-in (`400 OTP_NOT_CONFIGURED` without mail). A new code replaces a pending one. The
    /// body, if any, is ignored (trust is asked for when verifying).
    #[oai(path = "/two-factor/send-otp", method = "post")]
    async fn send_otp(&self, request: &Request) -> Result<Reply<StatusDto>, ApiError> {
        let client = client_info(request);
        match self.prover(request).await? {
            Prover::Session(loaded) => {
                self.two_factors
                    .send_otp(self.state.auth(), Proof::Session(&loaded.context))
                    .await?;
                Ok(Reply::new(StatusDto { status: true }).cookies(loaded.cookies))
            }
            Prover::Challenge { id, remember_me } => {
                let proof = Proof::Challenge {
                    id: &id,
                    remember_me,
                    trust_device: false,
                    client: &client,
                };
                self.two_factors.send_otp(self.state.auth(), proof).await?;
                Ok(Reply::new(StatusDto { status: true }))
            }
        }
    }

    /// Check a mailed code: with a session (the first good code turns two-factor by email on),
    /// or with the `two_factor` cookie of a diverted sign-in, which it completes.
    #[oai(path = "/two-factor/verify-otp", method = "post")]
    async fn verify_otp(
        &self,
        request: &Request,
        body: BaJson<VerifyBody>,
    ) -> Result<Reply<VerifiedDto>, ApiError> {
        let body = body.0;
        let auth = self.state.auth();
        let trust = body.trust_device.unwrap_or(false);
        self.verify(request, trust, async |proof| {
            self.two_factors.verify_otp(auth, proof, &body.code).await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_qr_code_is_an_svg_data_url() {
        use base64::Engine as _;
        let url = super::qr_code("otpauth://totp/Acme:ada%40example.com?secret=MZXW6&issuer=Acme");
        let encoded = url
            .strip_prefix("data:image/svg+xml;base64,")
            .expect("a data URL");
        let svg = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64");
        let svg = String::from_utf8(svg).expect("text");
        assert!(svg.contains("<svg"), "{svg}");
        assert!(
            svg.contains("<path") || svg.contains("<rect"),
            "modules drawn"
        );
    }
}
