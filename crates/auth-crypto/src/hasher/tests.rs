use super::*;
use crate::scrypt_compat::{derive, encode_hex};

fn hasher(config: HasherConfig) -> Argon2Hasher {
    Argon2Hasher::new(config).expect("valid parameters")
}

fn password(plaintext: &str) -> Password {
    Password::new(plaintext.to_owned())
}

#[tokio::test]
async fn new_hashes_are_argon2id_with_owasp_parameters_and_verify() {
    let hasher = hasher(HasherConfig::default());
    let hash = hasher.hash(&password("correct horse")).await.expect("hash");
    assert!(
        hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        hash.as_str()
    );
    assert!(
        hasher
            .verify(&password("correct horse"), &hash)
            .await
            .expect("verify")
    );
    assert!(
        !hasher
            .verify(&password("correct horsE"), &hash)
            .await
            .expect("verify")
    );
}

#[tokio::test]
async fn two_hashes_of_one_password_use_different_salts() {
    let hasher = hasher(HasherConfig::insecure_fast_for_tests());
    let a = hasher.hash(&password("same")).await.expect("hash");
    let b = hasher.hash(&password("same")).await.expect("hash");
    assert_ne!(a, b);
}

/// Made by better-auth 1.7.25's own `hashPassword("password123")`.
const BETTER_AUTH_HASH: &str = "6b3e4c2ce234ce08658e3e17a3116bf6:b2dff4d0148592195012ba86d4e6a995c858cfa4fdaae3a659a19760dcd3c4ac75943b9974a1c5ba2530b9d630edc31915965ef7dd3f741424804e109e4c7e68";
/// Made by better-auth 1.7.25's own `hashPassword("\u{FB01}ne-password")`.
const BETTER_AUTH_LIGATURE_HASH: &str = "d907cd2f6f6d28343cca8807a3873647:0ed1fcbf7d428540e7e0c09a4ddca452d29e3b648b8de66359479cb198ae5defddbac91f07802cbbc35c1502c253e449134c18816fadce9dacbfd397f9132944";

#[tokio::test]
async fn hashes_made_by_better_auth_verify() {
    let hasher = hasher(HasherConfig::insecure_fast_for_tests());
    let stored = PasswordHash::new(BETTER_AUTH_HASH.to_owned());
    assert!(
        hasher
            .verify(&password("password123"), &stored)
            .await
            .expect("verify")
    );
    assert!(
        !hasher
            .verify(&password("password124"), &stored)
            .await
            .expect("verify")
    );
    let ligature = PasswordHash::new(BETTER_AUTH_LIGATURE_HASH.to_owned());
    assert!(
        hasher
            .verify(&password("fine-password"), &ligature)
            .await
            .expect("verify")
    );
}

#[tokio::test]
async fn our_scrypt_derivation_reproduces_better_auths_format() {
    let salt = "65bb3900aa11bb22cc33dd44ee55ff66";
    let key = derive("password123", salt).expect("derive");
    let stored = PasswordHash::new(format!("{salt}:{}", encode_hex(&key)));
    let hasher = hasher(HasherConfig::insecure_fast_for_tests());
    assert!(
        hasher
            .verify(&password("password123"), &stored)
            .await
            .expect("verify")
    );
    assert!(
        !hasher
            .verify(&password("password124"), &stored)
            .await
            .expect("verify")
    );
}

#[tokio::test]
async fn scrypt_verification_normalises_the_password_with_nfkc() {
    // U+FB01 (the "fi" ligature) normalises to "fi" under NFKC.
    let salt = "00112233445566778899aabbccddeeff";
    let key = derive("fine-password", salt).expect("derive");
    let stored = PasswordHash::new(format!("{salt}:{}", encode_hex(&key)));
    let hasher = hasher(HasherConfig::insecure_fast_for_tests());
    assert!(
        hasher
            .verify(&password("\u{FB01}ne-password"), &stored)
            .await
            .expect("verify")
    );
}

#[tokio::test]
async fn malformed_or_unknown_hashes_verify_as_false() {
    let hasher = hasher(HasherConfig::insecure_fast_for_tests());
    for stored in [
        "",
        "nonsense",
        "$argon2id$v=19$broken",
        "zz:zz",
        "$2b$10$bcryptlooking",
    ] {
        let stored = PasswordHash::new(stored.to_owned());
        assert!(
            !hasher
                .verify(&password("anything"), &stored)
                .await
                .expect("verify")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_hashing_is_bounded_by_the_semaphore() {
    let config = HasherConfig {
        max_concurrent: 2,
        ..HasherConfig::insecure_fast_for_tests()
    };
    let hasher = hasher(config);
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.hash(&password(&format!("pw-{n}"))).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.expect("join").is_ok());
    }
    assert_eq!(
        hasher.permits.available_permits(),
        2,
        "every permit is returned"
    );
}

#[tokio::test]
async fn a_request_that_waits_too_long_for_a_slot_is_refused_as_unavailable() {
    let config = HasherConfig {
        max_concurrent: 1,
        queue_timeout: std::time::Duration::from_millis(50),
        ..HasherConfig::insecure_fast_for_tests()
    };
    let hasher = hasher(config);
    let held = Arc::clone(&hasher.permits)
        .acquire_owned()
        .await
        .expect("the only slot");
    let refused = hasher.hash(&password("queued")).await;
    assert!(
        matches!(refused, Err(PortError::Unavailable(_))),
        "{refused:?}"
    );
    drop(held);
    assert!(
        hasher.hash(&password("queued")).await.is_ok(),
        "a free slot is used"
    );
}
