//! Response bodies are written with `serde`; the OpenAPI document describes them through
//! poem-openapi's `ToJSON`. These tests hold the two to the same JSON.

use auth_domain::{Email, Session, SessionId, SessionToken, User, UserId};
use poem_openapi::types::ToJSON;
use serde::Serialize;
use time::macros::datetime;

use super::*;

fn user(image: Option<&str>) -> User {
    User {
        id: UserId::new("u".repeat(32)),
        name: "Ada \"the\" <Countess>".to_owned(),
        email: Email::from_trusted("ada@example.com".to_owned()),
        email_verified: true,
        two_factor_enabled: false,
        image: image.map(str::to_owned),
        created_at: datetime!(2026-01-02 03:04:05.678 UTC),
        updated_at: datetime!(2026-01-03 0:00 UTC),
        fields: Default::default(),
    }
}

fn session(ip: Option<&str>) -> Session {
    Session {
        id: SessionId::new("s".repeat(32)),
        token: SessionToken::new("t".repeat(32)),
        user_id: UserId::new("u".repeat(32)),
        expires_at: datetime!(2026-01-09 0:00 UTC),
        created_at: datetime!(2026-01-02 0:00 UTC),
        updated_at: datetime!(2026-01-02 0:00 UTC),
        ip_address: ip.map(str::to_owned),
        user_agent: None,
        fields: Default::default(),
    }
}

fn assert_same_json<T: ToJSON + Serialize>(body: &T) {
    let written = serde_json::to_value(body).expect("serialisable");
    assert_eq!(Some(written), body.to_json());
}

#[test]
fn session_and_user_bodies_match_their_openapi_shape_with_and_without_nulls() {
    for (image, ip) in [
        (None, None),
        (Some("https://x.test/a.png"), Some("10.0.0.1")),
    ] {
        let body = SessionWithUser {
            session: SessionDto::from(&session(ip)),
            user: UserDto::from(&user(image)),
        };
        assert_same_json(&Some(body));
        assert_same_json(&vec![SessionDto::from(&session(ip))]);
    }
    assert_same_json(&None::<SessionWithUser>);
}

#[test]
fn sign_in_and_other_bodies_match_their_openapi_shape() {
    for url in [None, Some("https://app.test/next".to_owned())] {
        assert_same_json(&SignInEmailResponse {
            redirect: url.is_some(),
            token: "t".repeat(32),
            url,
            user: UserDto::from(&user(None)),
        });
    }
    assert_same_json(&SignUpEmailResponse {
        token: None,
        user: UserDto::from(&user(None)),
    });
    assert_same_json(&ChangePasswordResponse {
        token: Some("t".repeat(32)),
        user: UserDto::from(&user(None)),
    });
    assert_same_json(&SuccessResponse { success: true });
    assert_same_json(&StatusResponse { status: true });
}

#[test]
fn a_session_body_carries_javascript_dates_and_camel_case_names() {
    let body = serde_json::to_value(SessionDto::from(&session(None))).expect("json");
    assert_eq!(body["expiresAt"], "2026-01-09T00:00:00.000Z");
    assert_eq!(body["userId"], "u".repeat(32));
    assert_eq!(body["ipAddress"], serde_json::Value::Null);
}

/// What `serde` writes of the DTOs, the reference for the hand-written `get-session` body.
fn serde_bytes(session: &Session, user: &User) -> Vec<u8> {
    serde_json::to_vec(&SessionWithUser {
        session: SessionDto::from(session),
        user: UserDto::from(user),
    })
    .expect("serialisable")
}

#[test]
fn the_hand_written_session_body_is_byte_for_byte_what_serde_writes() {
    let mut user = user(Some("https://x.test/a \"b\".png"));
    user.name = "Ada\n\t\u{1}\\ \u{7f} é 😀 </script>".to_owned();
    user.email_verified = false;
    user.fields
        .set("twoFactorEnabled", auth_domain::FieldValue::Bool(true));
    user.fields.set(
        "role",
        auth_domain::FieldValue::Text("a\"\u{1f}b".to_owned()),
    );
    user.fields.set("banned", auth_domain::FieldValue::Null);
    let mut session = session(Some("::1"));
    session.user_agent = Some("curl/8.0 \"quoted\" \\ back".to_owned());
    session
        .fields
        .set("activeOrganizationId", auth_domain::FieldValue::Null);
    session.fields.set(
        "impersonatedBy",
        auth_domain::FieldValue::Text("x".to_owned()),
    );
    session.expires_at = datetime!(-0001-12-31 23:59:59.999 UTC);
    for (session, user) in [
        (session.clone(), user.clone()),
        (self::session(None), self::user(None)),
    ] {
        let written = session_with_user_json(&session, &user);
        assert_eq!(
            String::from_utf8(written).expect("UTF-8"),
            String::from_utf8(serde_bytes(&session, &user)).expect("UTF-8")
        );
    }
}

proptest::proptest! {
    #[test]
    fn any_strings_are_written_as_serde_writes_them(
        name in ".{0,40}",
        agent in proptest::option::of(".{0,40}"),
        image in proptest::option::of("[\\x00-\\x7f]{0,20}"),
        field in ".{0,10}",
        verified: bool,
    ) {
        let mut user = user(image.as_deref());
        user.name = name;
        user.email_verified = verified;
        user.fields.set("note", auth_domain::FieldValue::Text(field));
        let mut session = session(None);
        session.user_agent = agent;
        proptest::prop_assert_eq!(
            session_with_user_json(&session, &user),
            serde_bytes(&session, &user)
        );
    }
}
