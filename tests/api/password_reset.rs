//! Password reset by email over real HTTP: the link read from the captured mail and followed,
//! single use under concurrency on both backends, no enumeration, open-redirect safety.

use serde_json::{Value, json};

use crate::helpers::{
    Backend, ORIGIN, TestApp, base_config, both_backends, expect_error, mailed_link, no_redirects,
    spawn_app, start_app_customised,
};
use auth_store_seaorm::test_db::TestDatabase;

const MESSAGE: &str = "If this email exists in our system, check your email for the reset link";

/// The token at the end of a link's path.
fn token_of(link: &str) -> String {
    let path = link.split('?').next().expect("path");
    path.rsplit('/').next().expect("token").to_owned()
}

async fn ask(app: &TestApp, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/request-password-reset"))
        .json(body)
        .send()
        .await
        .expect("request")
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/reset-password"))
        .json(&json!({"token": token, "newPassword": password}))
        .send()
        .await
        .expect("request")
}

both_backends!(
    a_reset_link_from_the_mail_sets_a_new_password_once_and_ends_every_session,
    async |app: &TestApp| {
        app.sign_up("forgot@example.com", "old-password-1").await;
        let before = app.session().await;
        assert!(before.is_object(), "signed in");

        let asked = ask(
            app,
            &json!({"email": "Forgot@Example.com", "redirectTo": "/reset"}),
        )
        .await;
        assert_eq!(asked.status(), 200);
        let body: Value = asked.json().await.expect("json");
        assert_eq!(body, json!({"status": true, "message": MESSAGE}));

        let link = mailed_link(app, "forgot@example.com");
        assert!(
            link.starts_with(&format!("{ORIGIN}/api/auth/reset-password/")),
            "{link}"
        );
        assert!(link.ends_with("?callbackURL=%2Freset"), "{link}");
        let token = token_of(&link);
        assert_eq!(token.len(), 24);

        // The link, followed against this server, redirects to the app with the token.
        let followed = no_redirects()
            .get(app.url(&format!("/reset-password/{token}?callbackURL=%2Freset")))
            .send()
            .await
            .expect("request");
        assert_eq!(followed.status(), 302);
        let location = followed.headers()["location"].to_str().expect("location");
        assert_eq!(location, format!("/reset?token={token}"));

        let done = reset(app, &token, "new-password-2").await;
        assert_eq!(done.status(), 200);
        assert_eq!(
            done.json::<Value>().await.expect("json"),
            json!({"status": true})
        );

        assert_eq!(app.session().await, Value::Null, "every session ended");
        assert_eq!(
            app.sign_in("forgot@example.com", "old-password-1")
                .await
                .status(),
            401
        );
        assert_eq!(
            app.sign_in("forgot@example.com", "new-password-2")
                .await
                .status(),
            200
        );
        // Used once.
        expect_error(
            reset(app, &token, "another-password-3").await,
            400,
            Some("INVALID_TOKEN"),
        )
        .await;
        let again = no_redirects()
            .get(app.url(&format!("/reset-password/{token}?callbackURL=%2Freset")))
            .send()
            .await
            .expect("request");
        assert_eq!(
            again.headers()["location"].to_str().expect("location"),
            "/reset?error=INVALID_TOKEN"
        );
    }
);

#[tokio::test]
async fn an_unknown_email_gets_the_same_answer_and_no_mail() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    app.sign_up("known@example.com", "password-123").await;
    let known = ask(&app, &json!({"email": "known@example.com"})).await;
    let unknown = ask(&app, &json!({"email": "nobody@example.com"})).await;
    assert_eq!(known.status(), unknown.status());
    let known: Value = known.json().await.expect("json");
    let unknown: Value = unknown.json().await.expect("json");
    assert_eq!(known, unknown);
    assert!(app.mail.last_to("nobody@example.com").is_none());
    assert!(app.mail.last_to("known@example.com").is_some());
    expect_error(
        ask(&app, &json!({"email": "not an email"})).await,
        400,
        Some("VALIDATION_ERROR"),
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn bad_tokens_and_passwords_are_refused_and_a_too_short_password_spends_no_token() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    app.sign_up("rules@example.com", "password-123").await;
    ask(&app, &json!({"email": "rules@example.com"})).await;
    let token = token_of(&mailed_link(&app, "rules@example.com"));
    expect_error(
        reset(&app, "", "new-password-2").await,
        400,
        Some("INVALID_TOKEN"),
    )
    .await;
    expect_error(
        reset(&app, "unknown-token", "new-password-2").await,
        400,
        Some("INVALID_TOKEN"),
    )
    .await;
    expect_error(
        reset(&app, &token, "short").await,
        400,
        Some("PASSWORD_TOO_SHORT"),
    )
    .await;
    // The token as a query parameter works too, and was not spent by the refusal above.
    let by_query = reqwest::Client::new()
        .post(app.url(&format!("/reset-password?token={token}")))
        .json(&json!({"newPassword": "new-password-2"}))
        .send()
        .await
        .expect("request");
    assert_eq!(by_query.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_link_older_than_an_hour_no_longer_works() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    app.sign_up("late@example.com", "password-123").await;
    ask(&app, &json!({"email": "late@example.com"})).await;
    let token = token_of(&mailed_link(&app, "late@example.com"));
    app.clock.advance(time::Duration::minutes(61));
    expect_error(
        reset(&app, &token, "new-password-2").await,
        400,
        Some("INVALID_TOKEN"),
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn redirect_targets_are_relative_paths_or_trusted_origins_only() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    app.sign_up("redirect@example.com", "password-123").await;
    for accepted in ["/reset", "/a/b?c=d", "http://localhost:3000/reset"] {
        let response = ask(
            &app,
            &json!({"email": "redirect@example.com", "redirectTo": accepted}),
        )
        .await;
        assert_eq!(response.status(), 200, "{accepted}");
    }
    for refused in [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://localhost:3000@evil.example",
        "http://localhost:3000.evil.example",
        "/%2F%2Fevil.example",
        "http://user@localhost:3000/",
    ] {
        let response = ask(
            &app,
            &json!({"email": "redirect@example.com", "redirectTo": refused}),
        )
        .await;
        expect_error(response, 403, Some("INVALID_REDIRECT_URL")).await;
        let encoded = auth_domain::text::encode_uri_component(refused);
        let link = no_redirects()
            .get(app.url(&format!("/reset-password/any-token?callbackURL={encoded}")))
            .send()
            .await
            .expect("request");
        assert_eq!(link.status(), 403, "{refused}");
        let body: Value = link.json().await.expect("json");
        assert_eq!(body["code"], "INVALID_CALLBACK_URL", "{refused}");
    }
    app.stop().await;
}

/// Twenty uses of one token at once: exactly one sets the password.
async fn one_of_twenty_wins(database: TestDatabase) {
    let mut config = base_config(&database.url);
    config.hash_concurrency = 4;
    let app = start_app_customised(config, Some(database), |overrides| {
        overrides.hasher = Some(auth_crypto::HasherConfig {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 4,
            queue_timeout: std::time::Duration::from_secs(60),
        });
    })
    .await;
    app.sign_up("race@example.com", "password-123").await;
    ask(&app, &json!({"email": "race@example.com"})).await;
    let token = token_of(&mailed_link(&app, "race@example.com"));
    let attempts = (0..20).map(|n| {
        let (app, token) = (&app, token.clone());
        async move {
            reset(app, &token, &format!("new-password-{n:02}"))
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let wins = statuses.iter().filter(|status| **status == 200).count();
    let spent = statuses.iter().filter(|status| **status == 400).count();
    assert_eq!((wins, spent), (1, 19), "{statuses:?}");
    app.stop().await;
}

#[tokio::test]
async fn twenty_concurrent_uses_of_one_reset_token_make_one_success_on_sqlite() {
    one_of_twenty_wins(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn twenty_concurrent_uses_of_one_reset_token_make_one_success_on_postgres() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    one_of_twenty_wins(database).await;
}

#[tokio::test]
async fn sessions_can_be_kept_on_reset_when_configured() {
    let database = TestDatabase::sqlite();
    let mut config = base_config(&database.url);
    config.revoke_sessions_on_password_reset = false;
    let app = start_app_customised(config, Some(database), |_| {}).await;
    app.sign_up("keep@example.com", "password-123").await;
    ask(&app, &json!({"email": "keep@example.com"})).await;
    let token = token_of(&mailed_link(&app, "keep@example.com"));
    assert_eq!(reset(&app, &token, "new-password-2").await.status(), 200);
    assert!(app.session().await.is_object(), "the session was kept");
    app.stop().await;
}

#[tokio::test]
async fn a_silent_smtp_server_neither_holds_the_answer_nor_goes_unnoticed() {
    // A server that accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let database = TestDatabase::sqlite();
    let mut config = base_config(&database.url);
    config.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
    config.smtp_timeout_ms = 200;
    let app =
        start_app_customised(config, Some(database), |overrides| overrides.mailer = None).await;
    app.sign_up("smtp-down@example.com", "password-123").await;
    // The answer never waits for the server: a client that gives up after 3 s still gets it.
    let answer = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()
        .expect("client")
        .post(app.url("/request-password-reset"))
        .json(&json!({"email": "smtp-down@example.com"}))
        .send()
        .await
        .expect("answered without waiting for SMTP");
    assert_eq!(answer.status(), 200);
    // The delivery fails in the background, and /metrics says so.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let metrics = reqwest::get(format!("{}/metrics", app.address))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        if metrics.lines().any(|line| {
            line.starts_with("auth_mail_failed_total{transport=\"smtp\"} ") && !line.ends_with(" 0")
        }) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no failure counted:\n{metrics}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    silent.abort();
    app.stop().await;
}

#[tokio::test]
async fn an_operator_template_replaces_the_built_in_one() {
    let dir = std::env::temp_dir().join(format!("auth-templates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("reset-password.subject"), "New {{app}} password\n").expect("subject");
    std::fs::write(dir.join("reset-password.txt"), "Go to {{url}} now.").expect("text");
    let database = TestDatabase::sqlite();
    let mut config = base_config(&database.url);
    config.mail_templates = Some(dir.clone());
    config.app_name = "Acme".to_owned();
    let app = start_app_customised(config, Some(database), |_| {}).await;
    app.sign_up("template@example.com", "password-123").await;
    ask(&app, &json!({"email": "template@example.com"})).await;
    let mail = app.mail.last_to("template@example.com").expect("mailed");
    assert_eq!(mail.subject, "New Acme password");
    assert!(
        mail.text
            .starts_with("Go to http://localhost:3000/api/auth/reset-password/"),
        "{}",
        mail.text
    );
    assert!(
        mail.html.contains("Reset your password"),
        "the HTML stays built-in"
    );
    let _ = std::fs::remove_dir_all(&dir);
    app.stop().await;
}
