//! Tests for the tidy rules on in-memory files.

use super::check_file;

const GOOD_LIB: &str = "//! The domain.\n//!\n//! Must not depend on: tokio.\n\npub fn f() {}\n";

#[test]
fn a_documented_lib_passes() {
    assert_eq!(
        check_file("crates/auth-domain/src/lib.rs", GOOD_LIB),
        Vec::<String>::new()
    );
}

#[test]
fn a_lib_without_doc_or_boundary_is_reported() {
    let problems = check_file("crates/auth-domain/src/lib.rs", "pub fn f() {}\n");
    assert_eq!(problems.len(), 2, "{problems:?}");
    let problems = check_file("crates/auth-domain/src/main.rs", "//! placeholder\n");
    assert_eq!(
        problems,
        vec!["crates/auth-domain/src/main.rs: has no `//! Must not depend on:` line".to_string()]
    );
}

#[test]
fn other_modules_need_no_boundary_line() {
    assert_eq!(
        check_file("crates/auth-domain/src/email.rs", "pub fn f() {}\n"),
        Vec::<String>::new()
    );
}

#[test]
fn leftover_macros_are_reported_outside_tests_only() {
    let text = format!("fn f() {{\n    {}\"x\");\n}}\n", concat!("todo", "!("));
    let problems = check_file("crates/auth-core/src/a.rs", &text);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("crates/auth-core/src/a.rs:2:"));
    assert_eq!(
        check_file("crates/auth-core/src/a/tests.rs", &text),
        Vec::<String>::new()
    );
    assert_eq!(
        check_file(
            "crates/auth-store-seaorm/tests/it/main.rs",
            &format!("{GOOD_LIB}{text}")
        ),
        Vec::<String>::new()
    );
    assert_eq!(check_file("tests/api/x.rs", &text), Vec::<String>::new());
}

#[test]
fn comments_may_mention_macros() {
    let text = format!("// no {}) here\n", concat!("dbg", "!("));
    assert_eq!(
        check_file("crates/auth-core/src/a.rs", &text),
        Vec::<String>::new()
    );
}
