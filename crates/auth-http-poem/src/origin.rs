//! Trusted origins: the CSRF origin check and the validation of callback URLs.

/// The origins allowed to send cookie-authenticated state changes and to be redirected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedOrigins {
    own: String,
    patterns: Vec<String>,
}

impl TrustedOrigins {
    /// The base URL's origin plus configured patterns: exact origins (`https://app.example.com`),
    /// globs (`https://*.example.com`, `*` not crossing `/`), or host-only globs
    /// (`*.example.com`).
    #[must_use]
    pub fn new(base_url: &str, patterns: &[String]) -> Self {
        Self {
            own: origin_of(base_url).unwrap_or_else(|| base_url.trim_end_matches('/').to_owned()),
            patterns: patterns
                .iter()
                .map(|p| p.trim().trim_end_matches('/').to_owned())
                .collect(),
        }
    }

    /// The server's own origin.
    #[must_use]
    pub fn own(&self) -> &str {
        &self.own
    }

    /// Whether an absolute URL's origin is trusted.
    #[must_use]
    pub fn is_trusted(&self, url: &str) -> bool {
        let Some(origin) = origin_of(url) else {
            return false;
        };
        if origin == self.own {
            return true;
        }
        let host = origin.split_once("://").map_or("", |(_, host)| host);
        self.patterns.iter().any(|pattern| {
            if pattern.contains("://") {
                glob(pattern, &origin)
            } else {
                glob(pattern, host)
            }
        })
    }

    /// Whether a callback URL may be used: a safe relative path, or an absolute URL on a
    /// trusted origin. Anything with characters that could break a header is refused.
    #[must_use]
    pub fn is_allowed_callback(&self, url: &str) -> bool {
        if url.is_empty() || !url.bytes().all(|b| b.is_ascii_graphic()) {
            return false;
        }
        if url.starts_with('/') {
            return is_safe_relative(url);
        }
        self.is_trusted(url)
    }
}

/// `scheme://host[:port]` of an absolute http(s) URL, lower-cased; `None` otherwise.
#[must_use]
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || authority.contains('\\') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}"))
}

fn is_safe_relative(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let lower = path.to_ascii_lowercase();
    !url.starts_with("//")
        && !url.contains('\\')
        && !lower.contains("%2f")
        && !lower.contains("%5c")
}

/// `*` matches any run of characters except `/`; `?` matches one such character.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == t[ti] || (p[pi] == '?' && t[ti] != '/')) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((star_p, star_t)) = star {
            if t[star_t] == '/' {
                return false;
            }
            pi = star_p + 1;
            ti = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests;
