//! Sessions over HTTP: cookie round trips, sliding refresh and expiry under a controlled clock,
//! listing and revocation, sign-out.

use base64::Engine as _;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use time::Duration;

use crate::helpers::{
    SECRET, TestApp, both_backends, client, expect_error, session_of, set_cookies,
};

both_backends!(
    sign_out_deletes_the_session_and_expires_every_session_cookie,
    async |app: &TestApp| {
        let token = app.sign_up_token("out@example.com", "password-123").await;
        let response = app.post("/sign-out", &json!({})).await;
        assert_eq!(response.status(), 200);
        let cookies = set_cookies(&response);
        for name in ["session_token", "session_data", "dont_remember"] {
            let expected =
                format!("better-auth.{name}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax");
            assert!(cookies.contains(&expected), "{expected} in {cookies:?}");
        }
        assert_eq!(
            response.json::<Value>().await.expect("json"),
            json!({"success": true})
        );
        assert_eq!(app.session().await, Value::Null);
        // The row is gone: the old signed cookie no longer works either.
        let replay = client(false)
            .get(app.url("/get-session"))
            .header("cookie", better_auth_cookie(&token))
            .send()
            .await
            .expect("request");
        assert_eq!(replay.json::<Value>().await.expect("json"), Value::Null);
    }
);

/// The cookie exactly as Better-Auth (Node) builds it: HMAC-SHA256 keyed by the secret's bytes,
/// standard padded base64, `encodeURIComponent` of `token.signature`. Computed here with the
/// crypto crates directly, not with the server's codec.
fn better_auth_cookie(token: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(token.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let encoded = format!("{token}.{signature}")
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!("better-auth.session_token={encoded}")
}

both_backends!(
    a_cookie_signed_the_way_better_auth_signs_it_is_accepted_and_a_forged_one_is_not,
    async |app: &TestApp| {
        let token = app
            .sign_up_token("signed@example.com", "password-123")
            .await;
        let anonymous = client(false);
        let ours = anonymous
            .get(app.url("/get-session"))
            .header("cookie", better_auth_cookie(&token))
            .send()
            .await
            .expect("r");
        let ours: Value = ours.json().await.expect("json");
        assert_eq!(ours["user"]["email"], "signed@example.com");

        let forged_signature = format!(
            "better-auth.session_token={token}.{}",
            "A".repeat(43) + "%3D"
        );
        let unsigned = format!("better-auth.session_token={token}");
        for cookie in [forged_signature, unsigned] {
            let response = anonymous
                .get(app.url("/get-session"))
                .header("cookie", cookie)
                .send()
                .await
                .expect("r");
            assert_eq!(response.status(), 200);
            assert_eq!(response.json::<Value>().await.expect("json"), Value::Null);
        }
    }
);

both_backends!(
    get_session_slides_the_expiry_after_a_day_and_reissues_the_cookie,
    async |app: &TestApp| {
        app.sign_up("slide@example.com", "password-123").await;
        let first = app.session().await;
        let first_expiry = first["session"]["expiresAt"]
            .as_str()
            .expect("expiry")
            .to_owned();

        app.clock.advance(Duration::hours(12));
        let early = app.get("/get-session").await;
        assert!(
            set_cookies(&early).is_empty(),
            "no refresh before a day has passed"
        );
        assert_eq!(
            early
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok()),
            Some("no-store")
        );

        app.clock.advance(Duration::hours(13));
        let due = app.get("/get-session").await;
        let cookies = set_cookies(&due);
        assert_eq!(cookies.len(), 1, "the refreshed cookie: {cookies:?}");
        assert!(cookies[0].contains("Max-Age=604800"));
        let body: Value = due.json().await.expect("json");
        let second_expiry = body["session"]["expiresAt"].as_str().expect("expiry");
        assert!(
            second_expiry > first_expiry.as_str(),
            "{second_expiry} after {first_expiry}"
        );

        let no_refresh = app
            .client
            .get(app.url("/get-session?disableRefresh=true"))
            .send()
            .await
            .expect("r");
        assert!(set_cookies(&no_refresh).is_empty());
    }
);

both_backends!(
    an_expired_session_reads_as_null_and_its_cookies_are_expired,
    async |app: &TestApp| {
        app.sign_up("expire@example.com", "password-123").await;
        app.clock.advance(Duration::days(8));
        let response = app.get("/get-session").await;
        let cookies = set_cookies(&response);
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("better-auth.session_token=; Max-Age=0")),
            "{cookies:?}"
        );
        assert_eq!(response.json::<Value>().await.expect("json"), Value::Null);
    }
);

both_backends!(
    a_dont_remember_session_is_never_slid_while_the_cookie_is_sent,
    async |app: &TestApp| {
        app.sign_up("dont@example.com", "password-123").await;
        let body =
            json!({"email": "dont@example.com", "password": "password-123", "rememberMe": false});
        app.post("/sign-in/email", &body).await;
        app.clock.advance(Duration::hours(23));
        let response = app.get("/get-session").await;
        assert!(set_cookies(&response).is_empty());
        assert_eq!(
            response.json::<Value>().await.expect("json")["user"]["email"],
            "dont@example.com"
        );
        app.clock.advance(Duration::hours(2));
        assert_eq!(app.session().await, Value::Null, "expired after one day");
    }
);

both_backends!(
    list_sessions_shows_active_sessions_and_needs_a_fresh_one,
    async |app: &TestApp| {
        app.sign_up("list@example.com", "password-123").await;
        let other = client(true);
        let body = json!({"email": "list@example.com", "password": "password-123"});
        other
            .post(app.url("/sign-in/email"))
            .json(&body)
            .send()
            .await
            .expect("second");
        let list: Value = app.get("/list-sessions").await.json().await.expect("json");
        assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
        assert!(list[0]["token"].is_string());

        app.clock.advance(Duration::hours(25));
        expect_error(
            app.get("/list-sessions").await,
            403,
            Some("SESSION_NOT_FRESH"),
        )
        .await;
    }
);

both_backends!(
    revoke_routes_end_the_chosen_sessions_only,
    async |app: &TestApp| {
        let alice: Value = app
            .sign_up("alice@example.com", "password-123")
            .await
            .json()
            .await
            .expect("json");
        let bob_client = client(true);
        let bob_body =
            json!({"name": "Bob", "email": "bob@example.com", "password": "password-123"});
        let bob: Value = bob_client
            .post(app.url("/sign-up/email"))
            .json(&bob_body)
            .send()
            .await
            .expect("r")
            .json()
            .await
            .expect("j");

        // Alice cannot revoke Bob's session by its token.
        let response = app
            .post("/revoke-session", &json!({"token": bob["token"]}))
            .await;
        assert_eq!(
            response.json::<Value>().await.expect("json"),
            json!({"status": true})
        );
        let bob_session = session_of(&bob_client, app).await;
        assert_eq!(bob_session["user"]["email"], "bob@example.com");

        // A second session for Alice, revoked from the first.
        let second = client(true);
        let login = json!({"email": "alice@example.com", "password": "password-123"});
        let second_body: Value = second
            .post(app.url("/sign-in/email"))
            .json(&login)
            .send()
            .await
            .expect("r")
            .json()
            .await
            .expect("j");
        assert_eq!(
            app.post("/revoke-session", &json!({"token": second_body["token"]}))
                .await
                .status(),
            200
        );
        let gone = session_of(&second, app).await;
        assert_eq!(gone, Value::Null);

        // revoke-other-sessions keeps the caller's.
        let third = client(true);
        third
            .post(app.url("/sign-in/email"))
            .json(&login)
            .send()
            .await
            .expect("third");
        assert_eq!(
            app.post("/revoke-other-sessions", &json!({}))
                .await
                .status(),
            200
        );
        assert_eq!(app.session().await["session"]["token"], alice["token"]);
        let third_session = session_of(&third, app).await;
        assert_eq!(third_session, Value::Null);

        // revoke-sessions ends them all, the caller's included.
        let response = app.post("/revoke-sessions", &json!({})).await;
        assert!(
            set_cookies(&response)
                .iter()
                .any(|c| c.contains("session_token=; Max-Age=0"))
        );
        assert_eq!(app.session().await, Value::Null);
    }
);

both_backends!(
    a_session_cookie_on_a_second_cookie_line_is_read,
    async |app: &TestApp| {
        let response = app
            .sign_up("split-cookie@example.com", "password-123")
            .await;
        let cookie = crate::helpers::set_cookies(&response)
            .into_iter()
            .find(|line| line.starts_with("better-auth.session_token="))
            .expect("session cookie");
        let pair = cookie.split(';').next().expect("pair").to_owned();
        // HTTP/2 clients send each cookie on its own line; HTTP/1.1 proxies may too.
        let body: serde_json::Value = crate::helpers::client(false)
            .get(app.url("/get-session"))
            .header("cookie", "theme=dark")
            .header("cookie", pair)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(body["user"]["email"], "split-cookie@example.com", "{body}");
    }
);

#[tokio::test]
async fn a_session_never_outlives_the_absolute_lifetime_however_often_it_is_used() {
    let Some(app) = crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, |config| {
        config.session_absolute_lifetime = 3 * 24 * 3600;
    })
    .await
    else {
        return;
    };
    app.sign_up("absolute@example.com", "password-123").await;
    for _ in 0..2 {
        app.clock.advance(Duration::hours(30));
        assert_eq!(
            app.session().await["user"]["email"],
            "absolute@example.com",
            "slides while in use"
        );
    }
    app.clock.advance(Duration::hours(12));
    assert_eq!(app.session().await, Value::Null, "72 hours after creation");
    app.stop().await;
}
