//! Sign-up, sign-in, change password, update user.

use serde_json::{Value, json};

use crate::helpers::{TestApp, both_backends, expect_error, session_of, set_cookies};

both_backends!(
    sign_up_returns_the_user_and_token_and_sets_a_seven_day_signed_cookie,
    async |app: &TestApp| {
        let response = app.sign_up(" New.User@Example.COM ", "password-123").await;
        assert_eq!(response.status(), 200);
        let cookies = set_cookies(&response);
        assert_eq!(cookies.len(), 1, "{cookies:?}");
        let cookie = &cookies[0];
        assert!(cookie.starts_with("better-auth.session_token="), "{cookie}");
        assert!(
            cookie.ends_with("%3D; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"),
            "{cookie}"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["user"]["email"], "new.user@example.com");
        assert_eq!(body["user"]["emailVerified"], false);
        assert_eq!(body["user"]["image"], Value::Null);
        assert_eq!(body["token"].as_str().map(str::len), Some(32));
        let created = body["user"]["createdAt"].as_str().expect("date");
        assert_eq!(created.len(), 24, "Date.toJSON() shape: {created}");
        assert!(created.ends_with('Z'));
        let session = app.session().await;
        assert_eq!(session["user"]["id"], body["user"]["id"]);
        assert_eq!(session["session"]["token"], body["token"]);
        assert_eq!(session["session"]["ipAddress"], "127.0.0.1");
    }
);

both_backends!(
    sign_up_with_a_taken_email_returns_422_and_keeps_the_first_user,
    async |app: &TestApp| {
        assert_eq!(
            app.sign_up("taken@example.com", "password-123")
                .await
                .status(),
            200
        );
        let again = app.sign_up("TAKEN@example.com", "other-password").await;
        expect_error(again, 422, Some("USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL")).await;
        assert_eq!(
            app.sign_in("taken@example.com", "password-123")
                .await
                .status(),
            200
        );
    }
);

both_backends!(
    racing_sign_ups_with_one_email_create_exactly_one_user,
    async |app: &TestApp| {
        let attempts = (0..24).map(|n| {
            let client = crate::helpers::client(false);
            let url = app.url("/sign-up/email");
            async move {
                let body = json!({"name": "Racer", "email": "race@example.com", "password": format!("password-{n}")});
                client.post(url).json(&body).send().await.expect("request").status().as_u16()
            }
        });
        let statuses = futures_join(attempts).await;
        let created = statuses.iter().filter(|s| **s == 200).count();
        let refused = statuses.iter().filter(|s| **s == 422).count();
        assert_eq!((created, refused), (1, 23), "{statuses:?}");
    }
);

async fn futures_join<F: std::future::Future<Output = u16> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<u16> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("join"));
    }
    out
}

both_backends!(
    sign_in_with_a_wrong_password_or_unknown_email_gives_one_identical_401,
    async |app: &TestApp| {
        app.sign_up("known@example.com", "password-123").await;
        let wrong = app.sign_in("known@example.com", "password-124").await;
        let unknown = app.sign_in("unknown@example.com", "password-123").await;
        assert!(set_cookies(&wrong).is_empty());
        let wrong = expect_error(wrong, 401, Some("INVALID_EMAIL_OR_PASSWORD")).await;
        let unknown = expect_error(unknown, 401, Some("INVALID_EMAIL_OR_PASSWORD")).await;
        assert_eq!(wrong, unknown);
        assert_eq!(wrong["message"], "Invalid email or password");
    }
);

both_backends!(
    sign_in_without_remember_me_sets_a_browser_session_cookie_and_dont_remember,
    async |app: &TestApp| {
        app.sign_up("short@example.com", "password-123").await;
        let body =
            json!({"email": "short@example.com", "password": "password-123", "rememberMe": false});
        let response = app.post("/sign-in/email", &body).await;
        assert_eq!(response.status(), 200);
        let cookies = set_cookies(&response);
        assert_eq!(cookies.len(), 2, "{cookies:?}");
        assert!(
            cookies[0].starts_with("better-auth.session_token=") && !cookies[0].contains("Max-Age")
        );
        assert!(
            cookies[1].starts_with("better-auth.dont_remember=true.")
                && !cookies[1].contains("Max-Age")
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["redirect"], false);
        assert!(
            body.get("url").is_none(),
            "url is omitted without callbackURL: {body}"
        );
        let session = app.session().await;
        let expires = session["session"]["expiresAt"]
            .as_str()
            .expect("expiry")
            .to_owned();
        let created = session["session"]["createdAt"]
            .as_str()
            .expect("created")
            .to_owned();
        assert_ne!(expires[..10], created[..10], "one day later");
    }
);

both_backends!(
    sign_in_with_a_callback_url_answers_with_url_and_location,
    async |app: &TestApp| {
        app.sign_up("cb@example.com", "password-123").await;
        let body = json!({"email": "cb@example.com", "password": "password-123", "callbackURL": "/dashboard"});
        let response = app.post("/sign-in/email", &body).await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok()),
            Some("/dashboard")
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["redirect"], true);
        assert_eq!(body["url"], "/dashboard");
    }
);

both_backends!(
    change_password_checks_the_current_password_and_can_revoke_other_sessions,
    async |app: &TestApp| {
        app.sign_up("change@example.com", "password-123").await;
        let other = crate::helpers::client(true);
        let body = json!({"email": "change@example.com", "password": "password-123"});
        other
            .post(app.url("/sign-in/email"))
            .json(&body)
            .send()
            .await
            .expect("second session");

        let wrong = json!({"currentPassword": "nope-nope-nope", "newPassword": "password-456"});
        expect_error(
            app.post("/change-password", &wrong).await,
            400,
            Some("INVALID_PASSWORD"),
        )
        .await;
        let short = json!({"currentPassword": "password-123", "newPassword": "short"});
        expect_error(
            app.post("/change-password", &short).await,
            400,
            Some("PASSWORD_TOO_SHORT"),
        )
        .await;

        let change = json!({"currentPassword": "password-123", "newPassword": "password-456", "revokeOtherSessions": true});
        let response = app.post("/change-password", &change).await;
        assert_eq!(response.status(), 200);
        assert_eq!(set_cookies(&response).len(), 1, "a new session cookie");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["token"].as_str().map(str::len), Some(32));
        assert_eq!(body["user"]["email"], "change@example.com");

        assert_eq!(
            app.session().await["session"]["token"],
            body["token"],
            "the new session works"
        );
        let stale = session_of(&other, app).await;
        assert_eq!(stale, Value::Null, "the other session was revoked");
        expect_error(
            app.sign_in("change@example.com", "password-123").await,
            401,
            Some("INVALID_EMAIL_OR_PASSWORD"),
        )
        .await;
        assert_eq!(
            app.sign_in("change@example.com", "password-456")
                .await
                .status(),
            200
        );
    }
);

both_backends!(
    update_user_changes_the_name_and_image_and_refuses_email,
    async |app: &TestApp| {
        app.sign_up("update@example.com", "password-123").await;
        let response = app
            .post(
                "/update-user",
                &json!({"name": "Zoë 山田", "image": "https://example.com/z.png", "unknownKey": 1}),
            )
            .await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.json::<Value>().await.expect("json"),
            json!({"status": true})
        );
        let session = app.session().await;
        assert_eq!(session["user"]["name"], "Zoë 山田");
        assert_eq!(session["user"]["image"], "https://example.com/z.png");
        assert_eq!(
            app.post("/update-user", &json!({"image": null}))
                .await
                .status(),
            200
        );
        assert_eq!(app.session().await["user"]["image"], Value::Null);

        let email = app
            .post("/update-user", &json!({"email": "other@example.com"}))
            .await;
        expect_error(email, 400, Some("EMAIL_CAN_NOT_BE_UPDATED")).await;
        let empty = expect_error(app.post("/update-user", &json!({})).await, 400, None).await;
        assert_eq!(empty["message"], "No fields to update");
    }
);

both_backends!(
    routes_that_need_a_session_answer_401_without_one,
    async |app: &TestApp| {
        let anonymous = crate::helpers::client(false);
        for (path, body) in [
            ("/update-user", json!({"name": "x"})),
            (
                "/change-password",
                json!({"currentPassword": "a", "newPassword": "password-1"}),
            ),
            ("/revoke-session", json!({"token": "x"})),
            ("/revoke-sessions", json!({})),
            ("/revoke-other-sessions", json!({})),
        ] {
            let response = anonymous
                .post(app.url(path))
                .json(&body)
                .send()
                .await
                .expect("request");
            let body = expect_error(response, 401, Some("UNAUTHORIZED")).await;
            assert_eq!(body["message"], "Unauthorized", "{path}");
        }
        let list = anonymous
            .get(app.url("/list-sessions"))
            .send()
            .await
            .expect("request");
        expect_error(list, 401, Some("UNAUTHORIZED")).await;
    }
);

#[tokio::test]
async fn an_https_base_url_gives_secure_prefixed_cookies() {
    let https = |config: &mut auth_app::AppConfig| {
        config.base_url = Some("https://auth.example.com".to_owned())
    };
    let Some(app) = crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, https).await
    else {
        return;
    };
    let body = json!({"name": "Secure", "email": "secure@example.com", "password": "password-123"});
    let response = reqwest::Client::new()
        .post(app.url("/sign-up/email"))
        .header("origin", "https://auth.example.com")
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let cookies = set_cookies(&response);
    assert!(
        cookies[0].starts_with("__Secure-better-auth.session_token="),
        "{cookies:?}"
    );
    assert!(
        cookies[0].ends_with("; Max-Age=604800; Path=/; HttpOnly; Secure; SameSite=Lax"),
        "{cookies:?}"
    );
    let cookie = cookies[0].split(';').next().expect("pair").to_owned();
    let session: Value = reqwest::Client::new()
        .get(app.url("/get-session"))
        .header("cookie", cookie)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(session["user"]["email"], "secure@example.com");
    app.stop().await;
}
