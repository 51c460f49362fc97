//! Better-Auth's cookies: names, attributes, and the signed-value format
//! (`<value>.<base64 HMAC-SHA256>`, then `encodeURIComponent`).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use auth_domain::Secret;

type HmacSha256 = Hmac<Sha256>;

/// How cookies are named and which attributes they carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieConfig {
    /// `advanced.cookiePrefix`: `better-auth` by default.
    pub prefix: String,
    /// Use `__Secure-` names and the `Secure` attribute (on for an https base URL).
    pub secure: bool,
    /// The `SameSite` attribute.
    pub same_site: SameSite,
    /// The `Domain` attribute, when cookies are shared by subdomains.
    pub domain: Option<String>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        Self {
            prefix: "better-auth".to_owned(),
            secure: false,
            same_site: SameSite::Lax,
            domain: None,
        }
    }
}

/// The `SameSite` attribute of the cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// Sent on top-level navigations from other sites, not on their subrequests (the default).
    #[default]
    Lax,
    /// Never sent from other sites.
    Strict,
    /// Sent from every site; needs `Secure` (an https base URL): for apps on another site.
    None,
}

impl SameSite {
    /// Parses `lax`, `strict` or `none` (any case).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "lax" => Some(Self::Lax),
            "strict" => Some(Self::Strict),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    fn attribute(self) -> &'static str {
        match self {
            Self::Lax => "; SameSite=Lax",
            Self::Strict => "; SameSite=Strict",
            Self::None => "; SameSite=None",
        }
    }
}

/// The session cookie (signed token).
pub const SESSION_TOKEN: &str = "session_token";
/// The cookie cache (never written by this server; expired when seen).
pub const SESSION_DATA: &str = "session_data";
/// Set (signed `true`) when the user signed in with remember-me off.
pub const DONT_REMEMBER: &str = "dont_remember";

/// Signs, verifies, reads and writes cookies with the server secret.
pub struct CookieCodec {
    config: CookieConfig,
    /// What every cookie's full name starts with: `[__Secure-]<prefix>.`.
    name_prefix: String,
    /// HMAC-SHA256 keyed with the secret, cloned for each signature: keying hashes the key's
    /// two pads, which every signature would otherwise do again.
    keyed: HmacSha256,
}

impl std::fmt::Debug for CookieCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieCodec")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl CookieCodec {
    /// A codec keyed by the server secret (the UTF-8 bytes of the string, as Better-Auth does).
    #[must_use]
    pub fn new(config: CookieConfig, secret: Secret<String>) -> Self {
        // HMAC accepts keys of any length, so this cannot fail; fall back to an empty key
        // rather than panic, which would only make every signature invalid.
        let keyed = HmacSha256::new_from_slice(secret.expose().as_bytes())
            .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
        let secure = if config.secure { "__Secure-" } else { "" };
        let name_prefix = format!("{secure}{}.", config.prefix);
        Self {
            config,
            name_prefix,
            keyed,
        }
    }

    /// The full name of a cookie: `[__Secure-]<prefix>.<name>`.
    #[must_use]
    pub fn name(&self, name: &str) -> String {
        format!("{}{name}", self.name_prefix)
    }

    /// `value.signature`, not yet URI-encoded (the form `set-auth-token` carries).
    #[must_use]
    pub fn sign(&self, value: &str) -> String {
        format!("{value}.{}", STANDARD.encode(self.mac(value)))
    }

    /// Verifies a decoded `value.signature` string and returns the value. Signatures must be 44
    /// characters ending in `=`; standard and URL-safe alphabets are both accepted. Comparison is
    /// constant-time.
    #[must_use]
    pub fn verify<'a>(&self, signed: &'a str) -> Option<&'a str> {
        let (value, signature) = signed.rsplit_once('.')?;
        if value.is_empty() || signature.len() != 44 || !signature.ends_with('=') {
            return None;
        }
        let decoded = STANDARD
            .decode(signature)
            .or_else(|_| URL_SAFE.decode(signature))
            .ok()?;
        let mut mac = self.keyed();
        mac.update(value.as_bytes());
        mac.verify_slice(&decoded).ok()?;
        Some(value)
    }

    /// Whether `full` is the full name of cookie `name` (as [`CookieCodec::name`] writes it).
    fn is_named(&self, full: &str, name: &str) -> bool {
        full.strip_prefix(self.name_prefix.as_str()) == Some(name)
    }

    /// Reads a signed cookie from a `Cookie` header and returns its verified value.
    #[must_use]
    pub fn read_signed(&self, cookie_header: &str, name: &str) -> Option<String> {
        let mut raw = read_cookie_where(cookie_header, |key| self.is_named(key, name))?;
        let value = self.verify(&raw)?.len();
        // The value is the signed text up to its last `.`.
        raw.truncate(value);
        Some(raw)
    }

    /// A `Set-Cookie` line for a signed value. `max_age: None` makes a browser-session cookie.
    #[must_use]
    pub fn set_signed(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
        self.line(name, &encode_uri_component(&self.sign(value)), max_age)
    }

    /// A `Set-Cookie` line that deletes a cookie.
    #[must_use]
    pub fn expire(&self, name: &str) -> String {
        self.line(name, "", Some(0))
    }

    fn line(&self, name: &str, encoded_value: &str, max_age: Option<i64>) -> String {
        let mut line = format!("{}={encoded_value}", self.name(name));
        if let Some(seconds) = max_age {
            line.push_str(&format!("; Max-Age={seconds}"));
        }
        line.push_str("; Path=/; HttpOnly");
        if let Some(domain) = &self.config.domain {
            line.push_str(&format!("; Domain={domain}"));
        }
        if self.config.secure {
            line.push_str("; Secure");
        }
        line.push_str(self.config.same_site.attribute());
        line
    }

    fn keyed(&self) -> HmacSha256 {
        self.keyed.clone()
    }

    fn mac(&self, value: &str) -> Vec<u8> {
        let mut mac = self.keyed();
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

/// The `Set-Cookie` lines of one response, as the codec wrote them, and the session they
/// issue, if any (which plugins see typed, through [`crate::IssuedSession`]).
#[derive(Debug, Default)]
pub struct ResponseCookies {
    pub(crate) lines: Vec<String>,
    pub(crate) issued: Option<crate::IssuedSession>,
}

impl ResponseCookies {
    /// Adds the lines (and the issued session) of `other`.
    pub fn extend(&mut self, other: Self) {
        self.lines.extend(other.lines);
        if other.issued.is_some() {
            self.issued = other.issued;
        }
    }

    /// Whether nothing is set or cleared.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

impl From<Vec<String>> for ResponseCookies {
    fn from(lines: Vec<String>) -> Self {
        Self {
            lines,
            issued: None,
        }
    }
}

/// Reads one cookie from a `Cookie` header the way better-call does: split on `;`, trim, the
/// first occurrence wins, surrounding quotes stripped, percent-decoded when it holds `%`.
#[must_use]
pub fn read_cookie(header: &str, name: &str) -> Option<String> {
    read_cookie_where(header, |key| key == name)
}

/// [`read_cookie`] of the first cookie whose (trimmed) name `is_name` accepts.
fn read_cookie_where(header: &str, is_name: impl Fn(&str) -> bool) -> Option<String> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        if !is_name(key.trim()) {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        if value.contains('%') {
            Some(percent_decode(value).unwrap_or_else(|| value.to_owned()))
        } else {
            Some(value.to_owned())
        }
    })
}

pub use auth_domain::text::encode_uri_component;

/// Percent-decoding; `None` when an escape is malformed or the result is not UTF-8.
#[must_use]
pub fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = value.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;
