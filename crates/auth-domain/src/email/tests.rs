use proptest::prelude::*;

use super::*;

fn check(raw: &str, expected: Option<&str>) {
    let parsed = Email::parse(raw).ok();
    assert_eq!(
        parsed.as_ref().map(Email::as_str),
        expected,
        "input {raw:?}"
    );
}

#[test]
fn valid_addresses_are_trimmed_and_lower_cased() {
    check("  Alice@Example.COM ", Some("alice@example.com"));
    check("a.b+tag@sub.example.org", Some("a.b+tag@sub.example.org"));
}

#[test]
fn invalid_addresses_are_refused() {
    for raw in [
        "",
        "plain",
        "@example.com",
        "a@",
        "a@b",
        "a@b.c",
        "a..b@example.com",
        ".a@example.com",
        "a@-example.com",
        "a@exa mple.com",
        "a\0@example.com",
        "a\r\n@example.com",
        "ü@example.com",
        "a@exämple.com",
        "a@example.c0m",
    ] {
        check(raw, None);
    }
}

#[test]
fn addresses_longer_than_254_characters_are_refused() {
    let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(190));
    assert!(long.len() > MAX_EMAIL_LENGTH);
    check(&long, None);
}

proptest! {
    #[test]
    fn normalisation_is_idempotent(raw in "\\PC{0,80}") {
        if let Ok(email) = Email::parse(&raw) {
            let again = Email::parse(email.as_str()).expect("a normalised email parses again");
            prop_assert_eq!(again, email);
        }
    }

    #[test]
    fn parsed_addresses_are_lower_case_printable_ascii(raw in "[ -~]{0,80}") {
        if let Ok(email) = Email::parse(&raw) {
            prop_assert!(email.as_str().bytes().all(|b| b.is_ascii_graphic()));
            prop_assert_eq!(email.as_str().to_ascii_lowercase(), email.as_str());
            prop_assert!(email.as_str().len() <= MAX_EMAIL_LENGTH);
        }
    }

    #[test]
    fn well_formed_addresses_always_parse(local in "[a-z0-9]{1,20}", domain in "[a-z0-9]{1,20}", tld in "[a-z]{2,6}") {
        let raw = format!("{local}@{domain}.{tld}");
        prop_assert_eq!(Email::parse(&raw).map(|e| e.as_str().to_owned()), Ok(raw));
    }
}
