use proptest::prelude::*;

use super::*;

fn codec() -> CookieCodec {
    CookieCodec::new(
        CookieConfig::default(),
        Secret::new("a-test-secret-that-is-long-enough!!".to_owned()),
    )
}

#[test]
fn signatures_match_better_auths_format() {
    // Value and signature produced by Node: HMAC-SHA256 keyed by the secret's UTF-8 bytes,
    // standard base64 with padding.
    //   crypto.createHmac("sha256", "a-test-secret-that-is-long-enough!!")
    //         .update("abc").digest("base64")
    let signed = codec().sign("abc");
    assert_eq!(signed, "abc.lcUreNAj8u6vwCjLGqaSHGoZrTnNVEjsbzwiC942Xrk=");
    assert_eq!(codec().verify(&signed), Some("abc"));
}

#[test]
fn set_cookie_lines_follow_better_auths_attribute_order() {
    let line = codec().set_signed(SESSION_TOKEN, "tok", Some(604_800));
    assert!(line.starts_with("better-auth.session_token=tok."), "{line}");
    assert!(
        line.ends_with("; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"),
        "{line}"
    );
    assert!(
        line.contains("%3D;"),
        "the padded signature is URI-encoded: {line}"
    );
    assert_eq!(
        codec().expire(SESSION_TOKEN),
        "better-auth.session_token=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
    );
}

#[test]
fn secure_cookies_get_the_prefix_and_attribute() {
    let secure = CookieCodec::new(
        CookieConfig {
            secure: true,
            ..CookieConfig::default()
        },
        Secret::new("s".repeat(32)),
    );
    let line = secure.set_signed(DONT_REMEMBER, "true", None);
    assert!(
        line.starts_with("__Secure-better-auth.dont_remember=true."),
        "{line}"
    );
    assert!(
        line.ends_with("; Path=/; HttpOnly; Secure; SameSite=Lax"),
        "{line}"
    );
}

#[test]
fn reading_takes_the_first_occurrence_and_decodes() {
    let c = codec();
    let signed = encode_uri_component(&c.sign("first"));
    let header =
        format!("other=1; better-auth.session_token={signed}; better-auth.session_token=x.y");
    assert_eq!(
        c.read_signed(&header, SESSION_TOKEN).as_deref(),
        Some("first")
    );
    let quoted = format!("better-auth.session_token=\"{signed}\"");
    assert_eq!(
        c.read_signed(&quoted, SESSION_TOKEN).as_deref(),
        Some("first")
    );
}

#[test]
fn a_signed_cookie_is_read_under_its_exact_full_name_only() {
    for secure in [false, true] {
        let c = CookieCodec::new(
            CookieConfig {
                secure,
                prefix: "app".to_owned(),
                ..CookieConfig::default()
            },
            Secret::new("s".repeat(32)),
        );
        let signed = encode_uri_component(&c.sign("tok.with.dots"));
        let full = c.name(SESSION_TOKEN);
        let read = |name: &str| c.read_signed(&format!("{name}={signed}"), SESSION_TOKEN);
        assert_eq!(read(&full).as_deref(), Some("tok.with.dots"), "{full}");
        let other = if secure {
            "app.session_token"
        } else {
            "__Secure-app.session_token"
        };
        for wrong in [
            other,
            "app.session_tokens",
            "app.session_toke",
            "app2.session_token",
            "ap.session_token",
            "appsession_token",
            "better-auth.session_token",
            "__Secure-",
            "",
        ] {
            assert_eq!(read(wrong), None, "{wrong} (secure: {secure})");
        }
        assert_eq!(
            c.read_signed(&format!("{full}={signed}"), DONT_REMEMBER),
            None
        );
    }
}

#[test]
fn a_signature_from_another_secret_or_malformed_is_refused() {
    let other = CookieCodec::new(
        CookieConfig::default(),
        Secret::new("another-secret-another-secret!!!".to_owned()),
    );
    assert_eq!(codec().verify(&other.sign("tok")), None);
    for bad in [
        "",
        "tok",
        ".sig",
        "tok.",
        "tok.short=",
        &format!("tok.{}", "A".repeat(44)),
    ] {
        assert_eq!(codec().verify(bad), None, "{bad:?}");
    }
}

#[test]
fn encode_uri_component_matches_javascript() {
    assert_eq!(
        encode_uri_component("a+b/c=d e.-_!~*'()é"),
        "a%2Bb%2Fc%3Dd%20e.-_!~*'()%C3%A9"
    );
}

#[test]
fn a_signature_in_the_url_safe_alphabet_is_accepted_and_a_mixed_one_is_not() {
    let c = codec();
    // A value whose signature has both characters that differ between the alphabets.
    let (value, signed) = (0..1000)
        .map(|n| format!("v{n}"))
        .map(|value| {
            let signed = c.sign(&value);
            (value, signed)
        })
        .find(|(_, signed)| signed.contains('+') && signed.contains('/'))
        .expect("a signature with + and /");
    let url_safe = signed.replace('+', "-").replace('/', "_");
    assert_eq!(c.verify(&url_safe), Some(value.as_str()));
    let mixed = signed.replacen('+', "-", 1);
    assert_eq!(c.verify(&mixed), None, "{mixed}");
}

proptest! {
    #[test]
    fn signed_values_round_trip(value in "[a-zA-Z0-9]{1,64}") {
        let c = codec();
        let header = format!("better-auth.session_token={}", encode_uri_component(&c.sign(&value)));
        prop_assert_eq!(c.read_signed(&header, SESSION_TOKEN), Some(value));
    }

    #[test]
    fn any_changed_byte_is_refused(value in "[a-zA-Z0-9]{1,40}", index in 0usize..200, replacement in any::<u8>()) {
        let c = codec();
        let mut signed = c.sign(&value).into_bytes();
        let index = index % signed.len();
        prop_assume!(signed[index] != replacement);
        // The same signature character in the other base64 alphabet is the same signature.
        prop_assume!(!matches!((signed[index], replacement), (b'+', b'-') | (b'/', b'_')));
        signed[index] = replacement;
        if let Ok(tampered) = String::from_utf8(signed) {
            prop_assert_eq!(c.verify(&tampered), None);
        }
    }

    #[test]
    fn percent_decoding_inverts_encoding(value in "\\PC{0,40}") {
        prop_assert_eq!(percent_decode(&encode_uri_component(&value)), Some(value));
    }
}
