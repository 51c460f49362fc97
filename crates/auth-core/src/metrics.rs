//! Counters of the auth operations, for `/metrics`: `auth_sign_ups_total`,
//! `auth_sign_ins_total{outcome}`, `auth_session_ends_total{reason}` (sign-outs and
//! revocations by cause), `auth_api_key_verifications_total{outcome}`,
//! `auth_two_factor_verifications_total{method, outcome}`, `auth_tokens_issued_total{format}`,
//! `auth_token_verifications_total{format, outcome}`, `auth_session_checks_total{source}`,
//! `auth_organization_events_total{event}` and `auth_rate_limited_total{rule}`. Every label
//! comes from a fixed set, and [`register`] creates every series at zero so that a dashboard
//! shows them from the first scrape.

use std::sync::OnceLock;

use auth_domain::{AuditKind, SessionEnd};

/// How a password sign-in ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignIn {
    /// A session was issued (after the second factor, when one was asked for).
    Success,
    /// Unknown email, no password, or a wrong one.
    WrongCredentials,
    /// The email is not verified and verification is required.
    EmailNotVerified,
    /// A second factor was asked for.
    TwoFactorRequired,
    /// The user has a second factor this server cannot check.
    TwoFactorUnavailable,
    /// Too many failures for the account.
    Locked,
    /// Too many requests from the client.
    RateLimited,
}

impl SignIn {
    const ALL: [Self; 7] = [
        Self::Success,
        Self::WrongCredentials,
        Self::EmailNotVerified,
        Self::TwoFactorRequired,
        Self::TwoFactorUnavailable,
        Self::Locked,
        Self::RateLimited,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::WrongCredentials => "wrong_credentials",
            Self::EmailNotVerified => "email_not_verified",
            Self::TwoFactorRequired => "two_factor_required",
            Self::TwoFactorUnavailable => "two_factor_unavailable",
            Self::Locked => "locked",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// Creates every series of the auth operations at zero (after the metrics recorder is
/// installed).
pub fn register() {
    metrics::counter!("auth_sign_ups_total").increment(0);
    for outcome in SignIn::ALL {
        metrics::counter!("auth_sign_ins_total", "outcome" => outcome.label()).increment(0);
    }
    for reason in SessionEnd::ALL {
        metrics::counter!("auth_session_ends_total", "reason" => reason.as_str()).increment(0);
    }
    KEY_VERIFICATIONS.keep();
    for rule in RATE_LIMIT_RULES {
        metrics::counter!("auth_rate_limited_total", "rule" => rule).increment(0);
    }
    for event in ORGANIZATION_EVENTS {
        metrics::counter!("auth_organization_events_total", "event" => event).increment(0);
    }
    SESSION_CHECKS.keep();
    TOKENS_ISSUED.keep();
    for format in TOKEN_FORMATS {
        for outcome in TOKEN_OUTCOMES {
            metrics::counter!("auth_token_verifications_total", "format" => format, "outcome" => outcome)
                .increment(0);
        }
    }
    for method in SECOND_FACTORS {
        for outcome in SECOND_FACTOR_OUTCOMES {
            metrics::counter!("auth_two_factor_verifications_total", "method" => method, "outcome" => outcome)
                .increment(0);
        }
    }
}

/// The series of one counter over a fixed set of label values, with their handles kept by
/// [`register`] (which runs once the recorder is installed). The `metrics` macros build a
/// series' key, hash it and look it up in the recorder on every call, which the counters of every
/// request (a session check, a key's use, a token) would pay on every request. Before `register`
/// has run (no recorder, or a test's own), and for a value outside the set, the macro counts.
struct Kept<const N: usize> {
    values: [&'static str; N],
    /// The series of a value (the macro).
    series: fn(&'static str) -> metrics::Counter,
    handles: [OnceLock<metrics::Counter>; N],
}

impl<const N: usize> Kept<N> {
    const fn new(values: [&'static str; N], series: fn(&'static str) -> metrics::Counter) -> Self {
        Self {
            values,
            series,
            handles: [const { OnceLock::new() }; N],
        }
    }

    /// Creates each value's series at zero and keeps its handle (the first kept stays).
    fn keep(&self) {
        for (value, handle) in self.values.iter().zip(&self.handles) {
            let counter = (self.series)(value);
            counter.increment(0);
            let _ = handle.set(counter);
        }
    }

    /// Counts one for `value`, by its kept handle when there is one.
    fn increment(&self, value: &'static str) {
        let kept = self
            .values
            .iter()
            .position(|known| *known == value)
            .and_then(|index| self.handles[index].get());
        match kept {
            Some(counter) => counter.increment(1),
            None => (self.series)(value).increment(1),
        }
    }
}

/// Where a session check found its session.
const SESSION_SOURCES: [&str; 4] = ["l1", "l2", "database", "none"];

static SESSION_CHECKS: Kept<4> = Kept::new(SESSION_SOURCES, session_check);

fn session_check(source: &'static str) -> metrics::Counter {
    metrics::counter!("auth_session_checks_total", "source" => source)
}

/// Counts a session check by where the session came from: `l1` (in process), `l2` (Redis),
/// `database`, or `none` (no session).
pub(crate) fn session_checked(source: &'static str) {
    SESSION_CHECKS.increment(source);
}

/// The rate-limit rules, by name: `general` (every route), `credential` (the credential
/// routes), `plugin` (a plugin's own rule for its routes), `account` (failed sign-ins on one
/// account from one client), `account_ceiling` (from every client together).
const RATE_LIMIT_RULES: [&str; 5] = [
    "general",
    "credential",
    "plugin",
    "account",
    "account_ceiling",
];

/// Counts a request refused by a rate-limit rule (one of [`RATE_LIMIT_RULES`]).
pub(crate) fn rate_limited(rule: &'static str) {
    metrics::counter!("auth_rate_limited_total", "rule" => rule).increment(1);
}

/// What happens to organizations and their invitations.
const ORGANIZATION_EVENTS: [&str; 9] = [
    "organization_created",
    "organization_deleted",
    "member_added",
    "member_removed",
    "invitation_sent",
    "invitation_resent",
    "invitation_accepted",
    "invitation_rejected",
    "invitation_canceled",
];

/// Counts an organization event (one of [`ORGANIZATION_EVENTS`]).
pub(crate) fn organization_event(event: &'static str) {
    metrics::counter!("auth_organization_events_total", "event" => event).increment(1);
}

/// The formats of signed tokens: JWT and PASETO tokens, and the bearer plugin's signed session
/// tokens (`set-auth-token`, `Authorization: Bearer`).
pub const TOKEN_FORMATS: [&str; 3] = ["jwt", "paseto", "bearer"];

/// The outcomes of checking a presented signed token (a bearer token is `valid` or `invalid`:
/// its session's own state is counted in `auth_session_checks_total`).
pub const TOKEN_OUTCOMES: [&str; 4] = ["valid", "invalid", "expired", "unknown_user"];

static TOKENS_ISSUED: Kept<3> = Kept::new(TOKEN_FORMATS, token_issue);

fn token_issue(format: &'static str) -> metrics::Counter {
    metrics::counter!("auth_tokens_issued_total", "format" => format)
}

/// Counts a signed token issued, of one of [`TOKEN_FORMATS`].
pub fn token_issued(format: &'static str) {
    TOKENS_ISSUED.increment(format);
}

/// Counts a presented signed token checked: `format` is one of [`TOKEN_FORMATS`], `outcome`
/// one of [`TOKEN_OUTCOMES`].
pub fn token_checked(format: &'static str, outcome: &'static str) {
    metrics::counter!("auth_token_verifications_total", "format" => format, "outcome" => outcome)
        .increment(1);
}

/// The methods of a second factor.
const SECOND_FACTORS: [&str; 3] = ["totp", "backup_code", "otp"];

/// The outcomes of a second factor's check.
const SECOND_FACTOR_OUTCOMES: [&str; 5] = ["success", "invalid", "locked", "expired", "other"];

/// Counts one check of a second factor by method and outcome.
pub(crate) fn second_factor<T>(method: &'static str, result: &Result<T, crate::AuthError>) {
    let outcome = match result {
        Ok(_) => "success",
        Err(error) => match error.code() {
            Some("INVALID_CODE" | "INVALID_BACKUP_CODE") => "invalid",
            Some("ACCOUNT_TEMPORARILY_LOCKED" | "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE") => "locked",
            Some("OTP_HAS_EXPIRED" | "INVALID_TWO_FACTOR_COOKIE") => "expired",
            _ => "other",
        },
    };
    metrics::counter!("auth_two_factor_verifications_total", "method" => method, "outcome" => outcome)
        .increment(1);
}

/// The outcomes of presenting an API key.
const KEY_OUTCOMES: [&str; 9] = [
    "valid",
    "invalid",
    "disabled",
    "expired",
    "usage_exceeded",
    "rate_limited",
    "not_permitted",
    "unavailable",
    "other",
];

static KEY_VERIFICATIONS: Kept<9> = Kept::new(KEY_OUTCOMES, key_verification);

fn key_verification(outcome: &'static str) -> metrics::Counter {
    metrics::counter!("auth_api_key_verifications_total", "outcome" => outcome)
}

/// Counts one presented API key by how its use ended (quota refusals are `usage_exceeded`).
pub(crate) fn key_verified<T>(result: &Result<T, crate::AuthError>) {
    let outcome = match result {
        Ok(_) => "valid",
        Err(crate::AuthError::Unavailable(_)) => "unavailable",
        Err(error) => {
            use auth_domain::api_key::KeyRefusal;
            let code = error.code().unwrap_or_default();
            let refused = |refusal: KeyRefusal| code == refusal.code();
            if crate::api_key::is_invalid_key_code(code) {
                "invalid"
            } else if refused(KeyRefusal::Disabled) {
                "disabled"
            } else if refused(KeyRefusal::Expired) {
                "expired"
            } else if refused(KeyRefusal::UsageExceeded { spent: false }) {
                "usage_exceeded"
            } else if refused(KeyRefusal::RateLimited {
                try_again_in: time::Duration::ZERO,
            }) {
                "rate_limited"
            } else if refused(KeyRefusal::MissingPermission) {
                "not_permitted"
            } else {
                "other"
            }
        }
    };
    KEY_VERIFICATIONS.increment(outcome);
}

/// Counts what an audited event says about sign-ups and sign-ins.
pub(crate) fn audited(kind: AuditKind, reason: Option<&str>) {
    match (kind, reason) {
        (AuditKind::SignUp, _) => metrics::counter!("auth_sign_ups_total").increment(1),
        (AuditKind::SignIn, _) => signed_in(SignIn::Success),
        (AuditKind::SignInFailed, Some("email_not_verified")) => {
            signed_in(SignIn::EmailNotVerified);
        }
        (AuditKind::SignInFailed, Some("two_factor_not_available")) => {
            signed_in(SignIn::TwoFactorUnavailable);
        }
        (AuditKind::SignInFailed, _) => signed_in(SignIn::WrongCredentials),
        _ => {}
    }
}

pub(crate) fn signed_in(outcome: SignIn) {
    metrics::counter!("auth_sign_ins_total", "outcome" => outcome.label()).increment(1);
}

pub(crate) fn sessions_ended(reason: SessionEnd) {
    metrics::counter!("auth_session_ends_total", "reason" => reason.as_str()).increment(1);
}

#[cfg(test)]
mod tests {
    use auth_testkit::metrics::CountingRecorder;

    use super::{Kept, session_check};

    #[test]
    fn a_kept_series_is_registered_once_and_counts_through_its_handle() {
        let recorder = CountingRecorder::default();
        let kept = Kept::new(["l1", "database"], session_check);
        metrics::with_local_recorder(&recorder, || {
            // Before its handles are kept, each count registers the series anew.
            kept.increment("l1");
            kept.increment("l1");
            assert_eq!(recorder.registered(), 2);
            kept.keep();
            assert_eq!(
                recorder.registered(),
                4,
                "each series once, created at zero"
            );
            for _ in 0..5 {
                kept.increment("database");
                kept.increment("l1");
            }
            assert_eq!(recorder.registered(), 4, "counted through the kept handles");
            // A value outside the set is still counted, by the macro.
            kept.increment("l2");
            assert_eq!(recorder.registered(), 5);
        });
        let total =
            |source: &str| recorder.total(&format!("auth_session_checks_total{{source={source}}}"));
        assert_eq!((total("l1"), total("database"), total("l2")), (7, 5, 1));
    }
}
