use super::*;

fn origins() -> TrustedOrigins {
    TrustedOrigins::new(
        "http://localhost:3000/api/auth",
        &[
            "https://app.example.com".to_owned(),
            "*.trusted.dev".to_owned(),
            "https://*.corp.io".to_owned(),
        ],
    )
}

#[test]
fn the_base_url_origin_and_configured_patterns_are_trusted() {
    let o = origins();
    assert_eq!(o.own(), "http://localhost:3000");
    for ok in [
        "http://localhost:3000",
        "http://localhost:3000/some/path",
        "https://app.example.com",
        "https://APP.example.com:443/x",
        "https://a.trusted.dev",
        "https://team.corp.io",
    ] {
        assert!(o.is_trusted(ok), "{ok}");
    }
    for bad in [
        "http://localhost:3001",
        "https://app.example.com.evil.com",
        "https://evil.com/https://app.example.com",
        "http://app.example.com",
        "https://user@app.example.com",
        "null",
        "",
        "javascript:alert(1)",
    ] {
        assert!(!o.is_trusted(bad), "{bad}");
    }
}

#[test]
fn callback_urls_must_be_safe_relative_paths_or_trusted_origins() {
    let o = origins();
    for ok in ["/dashboard", "/a?b=c", "https://app.example.com/welcome"] {
        assert!(o.is_allowed_callback(ok), "{ok}");
    }
    for bad in [
        "//evil.com",
        "/\\evil.com",
        "/a%2F%2Fevil.com",
        "https://evil.com/",
        "/x\r\nSet-Cookie: a=b",
        "/nul\0",
        "/ünïcode",
        "",
    ] {
        assert!(!o.is_allowed_callback(bad), "{bad:?}");
    }
}
