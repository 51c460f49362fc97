//! Multi-session over real HTTP, on SQLite and Postgres (`AUTH_MULTI_SESSION`): one browser
//! signed in as several users, listed, switched and revoked; signing a user in again replaces
//! that user's older session; the per-browser maximum; sign-out ends every session of the
//! browser; and a sign-in that asks for a second factor sets no multi-session cookie.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, base_config, client, expect_error, start_app};
use auth_store_seaorm::test_db::TestDatabase;

const PASSWORD: &str = "password-123";

async fn apps(maximum: usize) -> Vec<TestApp> {
    let mut apps = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => match TestDatabase::postgres().await {
                Some(database) => database,
                None => continue,
            },
        };
        let mut config = base_config(&database.url);
        config.multi_session = true;
        config.multi_session_maximum = maximum;
        apps.push(start_app(config, Some(database)).await);
    }
    apps
}

async fn post(
    browser: &reqwest::Client,
    app: &TestApp,
    path: &str,
    body: &Value,
) -> reqwest::Response {
    browser
        .post(app.url(path))
        .json(body)
        .send()
        .await
        .expect("request")
}

async fn get(browser: &reqwest::Client, app: &TestApp, path: &str) -> Value {
    browser
        .get(app.url(path))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

fn set_cookie_lines(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().expect("ascii").to_owned())
        .collect()
}

/// Signs `email` up (from a throwaway client), then in from `browser`: the session token.
async fn sign_in(app: &TestApp, browser: &reqwest::Client, email: &str) -> String {
    post(
        &client(true),
        app,
        "/sign-up/email",
        &json!({"name": email, "email": email, "password": PASSWORD}),
    )
    .await;
    let signed = post(
        browser,
        app,
        "/sign-in/email",
        &json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(signed.status(), 200);
    let multi = "better-auth.session_token_multi-";
    let lines = set_cookie_lines(&signed);
    let body: Value = signed.json().await.expect("json");
    let token = body["token"].as_str().expect("token").to_owned();
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with(&format!("{multi}{}=", token.to_lowercase()))),
        "the session's multi-session cookie: {lines:?}"
    );
    token
}

fn emails(list: &Value) -> Vec<String> {
    let mut emails: Vec<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|entry| entry["user"]["email"].as_str().expect("email").to_owned())
        .collect();
    emails.sort();
    emails
}

#[tokio::test]
async fn one_browser_holds_several_users_and_switches_and_revokes_them() {
    for app in apps(5).await {
        let browser = client(true);
        let ada = sign_in(&app, &browser, "ada@example.com").await;
        let bob = sign_in(&app, &browser, "bob@example.com").await;
        let listed = get(&browser, &app, "/multi-session/list-device-sessions").await;
        assert_eq!(emails(&listed), ["ada@example.com", "bob@example.com"]);
        assert_eq!(
            get(&browser, &app, "/get-session").await["user"]["email"],
            "bob@example.com",
            "the last sign-in is active"
        );

        let switched = post(
            &browser,
            &app,
            "/multi-session/set-active",
            &json!({"sessionToken": ada}),
        )
        .await;
        assert_eq!(switched.status(), 200);
        assert_eq!(
            get(&browser, &app, "/get-session").await["user"]["email"],
            "ada@example.com"
        );
        expect_error(
            post(
                &browser,
                &app,
                "/multi-session/set-active",
                &json!({"sessionToken": "not-a-token-of-this-browser"}),
            )
            .await,
            401,
            Some("INVALID_SESSION_TOKEN"),
        )
        .await;
        // Another browser cannot switch to a session it does not hold, token or not.
        let stranger = client(true);
        expect_error(
            post(
                &stranger,
                &app,
                "/multi-session/set-active",
                &json!({"sessionToken": ada}),
            )
            .await,
            401,
            Some("INVALID_SESSION_TOKEN"),
        )
        .await;
        assert_eq!(
            get(&stranger, &app, "/multi-session/list-device-sessions").await,
            json!([])
        );

        // Revoking the active session makes the other one active.
        let revoked = post(
            &browser,
            &app,
            "/multi-session/revoke",
            &json!({"sessionToken": ada}),
        )
        .await;
        assert_eq!(revoked.status(), 200);
        assert_eq!(
            get(&browser, &app, "/get-session").await["user"]["email"],
            "bob@example.com"
        );
        assert_eq!(
            emails(&get(&browser, &app, "/multi-session/list-device-sessions").await),
            ["bob@example.com"]
        );
        // Revoking the last one signs the browser out.
        post(
            &browser,
            &app,
            "/multi-session/revoke",
            &json!({"sessionToken": bob}),
        )
        .await;
        assert!(get(&browser, &app, "/get-session").await.is_null());
        app.stop().await;
    }
}

#[tokio::test]
async fn a_user_signing_in_again_replaces_their_older_session_and_sign_out_ends_all() {
    for app in apps(5).await {
        let browser = client(true);
        let first = sign_in(&app, &browser, "cy@example.com").await;
        let other = sign_in(&app, &browser, "dee@example.com").await;
        let again = post(
            &browser,
            &app,
            "/sign-in/email",
            &json!({"email": "cy@example.com", "password": PASSWORD}),
        )
        .await;
        let lines = set_cookie_lines(&again);
        assert!(
            lines.iter().any(|line| {
                line.starts_with(&format!(
                    "better-auth.session_token_multi-{}=",
                    first.to_lowercase()
                )) && line.contains("Max-Age=0")
            }),
            "the older session's cookie is expired: {lines:?}"
        );
        let listed = get(&browser, &app, "/multi-session/list-device-sessions").await;
        assert_eq!(emails(&listed), ["cy@example.com", "dee@example.com"]);
        let tokens: Vec<&str> = listed
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|entry| entry["session"]["token"].as_str())
            .collect();
        assert!(!tokens.contains(&first.as_str()), "the older session ended");

        let out = post(&browser, &app, "/sign-out", &json!({})).await;
        assert_eq!(out.status(), 200);
        let bearer = reqwest::Client::new()
            .get(app.url("/get-session"))
            .bearer_auth(&other)
            .send()
            .await
            .expect("request")
            .json::<Value>()
            .await
            .expect("json");
        assert!(
            bearer.is_null(),
            "sign-out ended every session of the browser"
        );
        assert_eq!(
            get(&browser, &app, "/multi-session/list-device-sessions").await,
            json!([])
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_browser_keeps_at_most_the_maximum_and_a_second_factor_sets_no_cookie() {
    for app in apps(2).await {
        let browser = client(true);
        sign_in(&app, &browser, "e1@example.com").await;
        sign_in(&app, &browser, "e2@example.com").await;
        post(
            &client(true),
            &app,
            "/sign-up/email",
            &json!({"name": "E3", "email": "e3@example.com", "password": PASSWORD}),
        )
        .await;
        let third = post(
            &browser,
            &app,
            "/sign-in/email",
            &json!({"email": "e3@example.com", "password": PASSWORD}),
        )
        .await;
        assert_eq!(third.status(), 200, "the sign-in itself works");
        assert!(
            !set_cookie_lines(&third)
                .iter()
                .any(|line| line.contains("_multi-")),
            "no third multi-session cookie"
        );
        assert_eq!(
            get(&browser, &app, "/multi-session/list-device-sessions")
                .await
                .as_array()
                .map(Vec::len),
            Some(2)
        );

        // A user with two-factor on: the diverted sign-in sets no multi-session cookie.
        let user = client(true);
        post(
            &user,
            &app,
            "/sign-up/email",
            &json!({"name": "F", "email": "f@example.com", "password": PASSWORD}),
        )
        .await;
        post(
            &user,
            &app,
            "/two-factor/enable",
            &json!({"password": PASSWORD, "method": "otp"}),
        )
        .await;
        let fresh = client(true);
        let diverted = post(
            &fresh,
            &app,
            "/sign-in/email",
            &json!({"email": "f@example.com", "password": PASSWORD}),
        )
        .await;
        let lines = set_cookie_lines(&diverted);
        assert!(
            !lines.iter().any(|line| line.contains("_multi-")),
            "{lines:?}"
        );
        app.stop().await;
    }
}
