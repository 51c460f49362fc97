use time::macros::datetime;

use super::*;

const T0: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

fn key(id: &str, created_days: i64, expires_days: Option<i64>, alg: Option<&str>) -> Jwk {
    Jwk {
        id: JwkId::new(id),
        public_key: "{}".to_owned(),
        private_key: StoredPrivateKey::new("\"00\"".to_owned()),
        created_at: T0 + Duration::days(created_days),
        expires_at: expires_days.map(|days| T0 + Duration::days(days)),
        alg: alg.map(str::to_owned),
        crv: None,
    }
}

#[test]
fn the_newest_live_key_of_the_use_signs() {
    let policy = KeyRotationPolicy::default();
    let keys = [
        key("old", 0, Some(90), Some(EDDSA)),
        key("legacy-null-alg", 10, None, None),
        key("newer-but-expired", 20, Some(30), Some(EDDSA)),
        key("paseto", 40, None, Some(PASETO_V4_PUBLIC)),
        key("rsa-from-better-auth", 50, None, Some("RS256")),
    ];
    let now = T0 + Duration::days(35);
    let chosen = policy
        .signing_key(&keys, KeyUse::Jwt, now)
        .map(|k| k.id.as_str());
    assert_eq!(chosen, Some("legacy-null-alg"));
    let paseto = policy.signing_key(&keys, KeyUse::PasetoPublic, now);
    assert_eq!(paseto.map(|k| k.id.as_str()), Some("paseto"));
    let later = T0 + Duration::days(10_000);
    let only_expiring = [key("a", 0, Some(90), None)];
    assert!(
        policy
            .signing_key(&only_expiring, KeyUse::Jwt, later)
            .is_none()
    );
}

#[test]
fn expired_keys_stay_published_for_the_grace_period_then_leave() {
    let policy = KeyRotationPolicy::default();
    let keys = [
        key("a", 0, Some(90), None),
        key("b", 90, Some(180), Some(EDDSA)),
        key("p", 0, None, Some(PASETO_V4_PUBLIC)),
        key("rsa", 1, None, Some("RS256")),
    ];
    let ids = |now| {
        policy
            .published(&keys, KeyUse::Jwt, now)
            .iter()
            .map(|k| k.id.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(T0 + Duration::days(100)), ["a", "rsa", "b"]);
    assert_eq!(ids(T0 + Duration::days(119)), ["a", "rsa", "b"]);
    assert_eq!(ids(T0 + Duration::days(120)), ["rsa", "b"]);
    assert_eq!(
        policy
            .published(&keys, KeyUse::PasetoPublic, T0)
            .iter()
            .map(|k| k.id.as_str())
            .collect::<Vec<_>>(),
        ["p"]
    );
}

#[test]
fn new_keys_expire_after_the_rotation_interval() {
    let policy = KeyRotationPolicy::default();
    assert_eq!(policy.expiry_for_new(T0), Some(T0 + Duration::days(90)));
    let never = KeyRotationPolicy {
        rotation_interval: None,
        ..policy
    };
    assert_eq!(never.expiry_for_new(T0), None);
}

#[test]
fn debug_output_never_shows_the_private_key() {
    let printed = format!("{:?}", key("a", 0, None, None));
    assert!(!printed.contains("\"00\""), "{printed}");
}
