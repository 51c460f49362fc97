//! Two-factor authentication over real HTTP, on SQLite and Postgres: enrolment and the first
//! code, a sign-in answered with a challenge and nothing a client could use as a session (every
//! `Set-Cookie` line checked), its completion with a code or a backup code, single-use codes,
//! wrong codes, and turning it off.

use auth_crypto::TwoFactorCipher;
use auth_domain::Secret;
use auth_domain::two_factor::{Totp, totp_key};
use auth_ports::{Clock, TwoFactorCrypto};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, base_config, client, expect_error, start_app};
use auth_store_seaorm::test_db::TestDatabase;

const PASSWORD: &str = "password-123";

async fn apps() -> Vec<TestApp> {
    let mut apps = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => match TestDatabase::postgres().await {
                Some(database) => database,
                None => continue,
            },
        };
        let config = base_config(&database.url);
        apps.push(start_app(config, Some(database)).await);
    }
    apps
}

/// The code of an `otpauth://` URI's secret, `offset` steps from the app's now.
fn code(app: &TestApp, uri: &str, offset: i64) -> String {
    let secret = uri
        .split("secret=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .expect("a secret");
    let key = totp_key(&format!("base32:{secret}")).expect("base32");
    let cipher = TwoFactorCipher::new(&Secret::new("unused-for-codes".to_owned()));
    cipher.totp(&key, Totp::default().step_at(app.clock.now()) + offset, 6)
}

async fn post(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    body: &Value,
) -> reqwest::Response {
    client
        .post(app.url(path))
        .json(body)
        .send()
        .await
        .expect("request")
}

/// Signs up a user in its own cookie jar, enables TOTP and confirms it: the client, the URI
/// and the backup codes.
async fn enrolled(app: &TestApp, email: &str) -> (reqwest::Client, String, Vec<String>) {
    let user = client(true);
    let signed = post(
        &user,
        app,
        "/sign-up/email",
        &json!({"name": "Ada", "email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(signed.status(), 200);
    let enrolment: Value = post(
        &user,
        app,
        "/two-factor/enable",
        &json!({"password": PASSWORD}),
    )
    .await
    .json()
    .await
    .expect("json");
    let uri = enrolment["totpURI"].as_str().expect("uri").to_owned();
    let codes: Vec<String> = enrolment["backupCodes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|code| code.as_str().expect("code").to_owned())
        .collect();
    let verified = post(
        &user,
        app,
        "/two-factor/verify-totp",
        &json!({"code": code(app, &uri, 0)}),
    )
    .await;
    assert_eq!(verified.status(), 200);
    (user, uri, codes)
}

fn set_cookie_lines(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().expect("ascii").to_owned())
        .collect()
}

/// A password sign-in of a user with two-factor on, from a fresh browser: the challenge
/// answer, with nothing usable as a session.
async fn diverted_sign_in(app: &TestApp, email: &str) -> reqwest::Client {
    let browser = client(true);
    let response = post(
        &browser,
        app,
        "/sign-in/email",
        &json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("set-auth-token").is_none());
    assert!(response.headers().get("set-auth-jwt").is_none());
    for line in set_cookie_lines(&response) {
        let spent = line.contains("Max-Age=0");
        let challenge = line.starts_with("better-auth.two_factor=") && line.contains("Max-Age=600");
        assert!(spent || challenge, "no usable session cookie: {line}");
    }
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({"twoFactorRedirect": true, "twoFactorMethods": ["totp", "otp"]}),
        "TOTP, and codes by email (the test server has mail)"
    );
    let session: Value = browser
        .get(app.url("/get-session"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(session.is_null(), "no session after the password alone");
    browser
}

#[tokio::test]
async fn enrolment_turns_on_with_the_first_code_and_shows_in_the_user() {
    for app in apps().await {
        let user = client(true);
        post(
            &user,
            &app,
            "/sign-up/email",
            &json!({"name": "Ada", "email": "ada@example.com", "password": PASSWORD}),
        )
        .await;
        expect_error(
            post(
                &user,
                &app,
                "/two-factor/enable",
                &json!({"password": "wrong-password"}),
            )
            .await,
            400,
            Some("INVALID_PASSWORD"),
        )
        .await;
        expect_error(
            post(&user, &app, "/two-factor/enable", &json!({"password": 7})).await,
            400,
            Some("VALIDATION_ERROR"),
        )
        .await;
        let enrolment: Value = post(
            &user,
            &app,
            "/two-factor/enable",
            &json!({"password": PASSWORD}),
        )
        .await
        .json()
        .await
        .expect("json");
        let uri = enrolment["totpURI"].as_str().expect("uri").to_owned();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert_eq!(enrolment["backupCodes"].as_array().map(Vec::len), Some(10));
        assert!(
            enrolment["totpQRCode"]
                .as_str()
                .is_some_and(|qr| qr.starts_with("data:image/svg+xml;base64,")),
            "the URI as a QR code"
        );
        let session: Value = user
            .get(app.url("/get-session"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(session["user"]["twoFactorEnabled"], false);
        expect_error(
            post(
                &user,
                &app,
                "/two-factor/verify-totp",
                &json!({"code": "000000"}),
            )
            .await,
            401,
            Some("INVALID_CODE"),
        )
        .await;
        let first = code(&app, &uri, 0);
        let verified = post(
            &user,
            &app,
            "/two-factor/verify-totp",
            &json!({"code": first}),
        )
        .await;
        assert_eq!(verified.status(), 200);
        assert!(
            set_cookie_lines(&verified)
                .iter()
                .any(|line| line.starts_with("better-auth.session_token=")
                    && !line.contains("Max-Age=0")),
            "the session is rotated"
        );
        let body: Value = verified.json().await.expect("json");
        assert_eq!(body["user"]["twoFactorEnabled"], true);
        let session: Value = user
            .get(app.url("/get-session"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(session["user"]["twoFactorEnabled"], true);
        assert_eq!(session["session"]["token"], body["token"]);
        expect_error(
            post(
                &user,
                &app,
                "/two-factor/verify-totp",
                &json!({"code": first}),
            )
            .await,
            401,
            Some("INVALID_CODE"),
        )
        .await;
        let uri_again: Value = post(
            &user,
            &app,
            "/two-factor/get-totp-uri",
            &json!({"password": PASSWORD}),
        )
        .await
        .json()
        .await
        .expect("json");
        assert_eq!(uri_again["totpURI"], uri.as_str());
        assert!(uri_again["totpQRCode"].is_string());
        app.stop().await;
    }
}

#[tokio::test]
async fn a_sign_in_asks_for_the_second_factor_and_completes_with_a_code() {
    for app in apps().await {
        let (_, uri, _) = enrolled(&app, "bob@example.com").await;
        let browser = diverted_sign_in(&app, "bob@example.com").await;
        expect_error(
            post(
                &browser,
                &app,
                "/two-factor/verify-totp",
                &json!({"code": "000000"}),
            )
            .await,
            401,
            Some("INVALID_CODE"),
        )
        .await;
        app.clock.advance(time::Duration::seconds(30));
        let done = post(
            &browser,
            &app,
            "/two-factor/verify-totp",
            &json!({"code": code(&app, &uri, 0)}),
        )
        .await;
        assert_eq!(done.status(), 200);
        let lines = set_cookie_lines(&done);
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("better-auth.two_factor=")
                    && line.contains("Max-Age=0"))
        );
        let body: Value = done.json().await.expect("json");
        let session: Value = browser
            .get(app.url("/get-session"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(session["session"]["token"], body["token"]);
        assert_eq!(session["user"]["email"], "bob@example.com");
        let stranger = client(true);
        expect_error(
            post(
                &stranger,
                &app,
                "/two-factor/verify-totp",
                &json!({"code": "123456"}),
            )
            .await,
            401,
            Some("INVALID_TWO_FACTOR_COOKIE"),
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_backup_code_completes_a_sign_in_once_and_turning_off_needs_the_password() {
    for app in apps().await {
        let (user, _, codes) = enrolled(&app, "cy@example.com").await;
        let browser = diverted_sign_in(&app, "cy@example.com").await;
        let done = post(
            &browser,
            &app,
            "/two-factor/verify-backup-code",
            &json!({"code": codes[0]}),
        )
        .await;
        assert_eq!(done.status(), 200);
        // With disableSession the code is spent and no session is made.
        let checking = diverted_sign_in(&app, "cy@example.com").await;
        let checked = post(
            &checking,
            &app,
            "/two-factor/verify-backup-code",
            &json!({"code": codes[1], "disableSession": true}),
        )
        .await;
        assert_eq!(checked.status(), 200);
        let body: Value = checked.json().await.expect("json");
        assert_eq!(body["user"]["email"], "cy@example.com");
        assert!(body.get("token").is_none(), "no session token: {body}");
        let session: Value = checking
            .get(app.url("/get-session"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert!(session.is_null(), "no session was made");
        let again = diverted_sign_in(&app, "cy@example.com").await;
        expect_error(
            post(
                &again,
                &app,
                "/two-factor/verify-backup-code",
                &json!({"code": codes[0]}),
            )
            .await,
            401,
            Some("INVALID_BACKUP_CODE"),
        )
        .await;
        let fresh: Value = post(
            &user,
            &app,
            "/two-factor/generate-backup-codes",
            &json!({"password": PASSWORD}),
        )
        .await
        .json()
        .await
        .expect("json");
        assert_eq!(fresh["status"], true);
        assert_eq!(fresh["backupCodes"].as_array().map(Vec::len), Some(10));
        expect_error(
            post(
                &user,
                &app,
                "/two-factor/disable",
                &json!({"password": "wrong-password"}),
            )
            .await,
            400,
            Some("INVALID_PASSWORD"),
        )
        .await;
        let off = post(
            &user,
            &app,
            "/two-factor/disable",
            &json!({"password": PASSWORD}),
        )
        .await;
        assert_eq!(off.status(), 200);
        let plain = client(true);
        let signed: Value = post(
            &plain,
            &app,
            "/sign-in/email",
            &json!({"email": "cy@example.com", "password": PASSWORD}),
        )
        .await
        .json()
        .await
        .expect("json");
        assert!(
            signed["token"].is_string(),
            "the password alone again: {signed}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_trusted_browser_skips_the_second_factor_until_two_factor_is_turned_off() {
    for app in apps().await {
        let (_, uri, _) = enrolled(&app, "dee@example.com").await;
        let browser = diverted_sign_in(&app, "dee@example.com").await;
        app.clock.advance(time::Duration::seconds(30));
        let done = post(
            &browser,
            &app,
            "/two-factor/verify-totp",
            &json!({"code": code(&app, &uri, 0), "trustDevice": true}),
        )
        .await;
        assert_eq!(done.status(), 200);
        assert!(
            set_cookie_lines(&done).iter().any(|line| {
                line.starts_with("better-auth.trust_device=") && line.contains("Max-Age=2592000")
            }),
            "trusted for 30 days"
        );
        let out = post(&browser, &app, "/sign-out", &json!({})).await;
        assert_eq!(out.status(), 200);
        let again = post(
            &browser,
            &app,
            "/sign-in/email",
            &json!({"email": "dee@example.com", "password": PASSWORD}),
        )
        .await;
        assert_eq!(again.status(), 200);
        assert!(
            set_cookie_lines(&again)
                .iter()
                .any(|line| line.starts_with("better-auth.trust_device=")
                    && !line.contains("Max-Age=0")),
            "the device's token is renewed"
        );
        let body: Value = again.json().await.expect("json");
        assert!(
            body["token"].is_string(),
            "no second factor on a trusted browser: {body}"
        );
        // Another browser is asked for the factor.
        diverted_sign_in(&app, "dee@example.com").await;
        // Turning two-factor off from the trusted browser expires its trust.
        let off = post(
            &browser,
            &app,
            "/two-factor/disable",
            &json!({"password": PASSWORD}),
        )
        .await;
        assert_eq!(off.status(), 200);
        assert!(set_cookie_lines(&off).iter().any(|line| {
            line.starts_with("better-auth.trust_device=") && line.contains("Max-Age=0")
        }));
        app.stop().await;
    }
}

/// The code of the last mail to `email`.
fn mailed_code(app: &TestApp, email: &str) -> String {
    let mail = app.mail.last_to(email).expect("a mail");
    mail.subject
        .rsplit(' ')
        .next()
        .expect("the code ends the subject")
        .to_owned()
}

#[tokio::test]
async fn codes_by_email_turn_two_factor_on_and_complete_a_sign_in_once() {
    for app in apps().await {
        let user = client(true);
        post(
            &user,
            &app,
            "/sign-up/email",
            &json!({"name": "Eve", "email": "eve@example.com", "password": PASSWORD}),
        )
        .await;
        let enabled = post(
            &user,
            &app,
            "/two-factor/enable",
            &json!({"password": PASSWORD, "method": "otp"}),
        )
        .await;
        assert_eq!(enabled.status(), 200);
        let body: Value = enabled.json().await.expect("json");
        assert_eq!(body, json!({"method": "otp"}));
        let browser = client(true);
        let diverted: Value = post(
            &browser,
            &app,
            "/sign-in/email",
            &json!({"email": "eve@example.com", "password": PASSWORD}),
        )
        .await
        .json()
        .await
        .expect("json");
        assert_eq!(diverted["twoFactorMethods"], json!(["otp"]));
        expect_error(
            post(
                &browser,
                &app,
                "/two-factor/verify-otp",
                &json!({"code": "000000"}),
            )
            .await,
            400,
            Some("OTP_HAS_EXPIRED"),
        )
        .await;
        let sent = browser
            .post(app.url("/two-factor/send-otp"))
            .send()
            .await
            .expect("request");
        assert_eq!(sent.status(), 200, "a body is not needed");
        let code = mailed_code(&app, "eve@example.com");
        assert_eq!(code.len(), 6);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        expect_error(
            post(
                &browser,
                &app,
                "/two-factor/verify-otp",
                &json!({"code": wrong}),
            )
            .await,
            401,
            Some("INVALID_CODE"),
        )
        .await;
        let done = post(
            &browser,
            &app,
            "/two-factor/verify-otp",
            &json!({"code": code}),
        )
        .await;
        assert_eq!(done.status(), 200);
        let session: Value = browser
            .get(app.url("/get-session"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(session["user"]["email"], "eve@example.com");
        expect_error(
            post(
                &browser,
                &app,
                "/two-factor/verify-otp",
                &json!({"code": code}),
            )
            .await,
            400,
            Some("OTP_HAS_EXPIRED"),
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn a_mailed_code_allows_five_wrong_answers() {
    for app in apps().await {
        let user = client(true);
        post(
            &user,
            &app,
            "/sign-up/email",
            &json!({"name": "Fay", "email": "fay@example.com", "password": PASSWORD}),
        )
        .await;
        post(&user, &app, "/two-factor/send-otp", &json!({})).await;
        let code = mailed_code(&app, "fay@example.com");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            expect_error(
                post(
                    &user,
                    &app,
                    "/two-factor/verify-otp",
                    &json!({"code": wrong}),
                )
                .await,
                401,
                Some("INVALID_CODE"),
            )
            .await;
        }
        expect_error(
            post(
                &user,
                &app,
                "/two-factor/verify-otp",
                &json!({"code": code}),
            )
            .await,
            400,
            Some("TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE"),
        )
        .await;
        post(&user, &app, "/two-factor/send-otp", &json!({})).await;
        let fresh = mailed_code(&app, "fay@example.com");
        let done: Value = post(
            &user,
            &app,
            "/two-factor/verify-otp",
            &json!({"code": fresh}),
        )
        .await
        .json()
        .await
        .expect("json");
        assert_eq!(
            done["user"]["twoFactorEnabled"], true,
            "the first good code turns it on"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn parallel_answers_to_one_challenge_and_one_backup_code_succeed_once() {
    for app in apps().await {
        let (user, uri, codes) = enrolled(&app, "gus@example.com").await;
        let browser = diverted_sign_in(&app, "gus@example.com").await;
        app.clock.advance(time::Duration::seconds(30));
        let body = json!({"code": code(&app, &uri, 0)});
        let answers = (0..10).map(|_| post(&browser, &app, "/two-factor/verify-totp", &body));
        let statuses: Vec<u16> = futures_util::future::join_all(answers)
            .await
            .iter()
            .map(|response| response.status().as_u16())
            .collect();
        assert!(
            statuses.iter().filter(|status| **status == 200).count() <= 1,
            "ten answers to one challenge mint one session at most: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|status| matches!(status, 200 | 401)),
            "{statuses:?}"
        );

        let redeem = json!({"code": codes[3]});
        let redemptions =
            (0..20).map(|_| post(&user, &app, "/two-factor/verify-backup-code", &redeem));
        let statuses: Vec<u16> = futures_util::future::join_all(redemptions)
            .await
            .iter()
            .map(|response| response.status().as_u16())
            .collect();
        assert_eq!(
            statuses.iter().filter(|status| **status == 200).count(),
            1,
            "one backup code, twenty redemptions: {statuses:?}"
        );
        assert!(
            statuses
                .iter()
                .all(|status| matches!(status, 200 | 401 | 409)),
            "{statuses:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn ten_wrong_codes_lock_the_account_for_fifteen_minutes() {
    for app in apps().await {
        let (_, uri, _) = enrolled(&app, "hal@example.com").await;
        for _ in 0..2 {
            let browser = diverted_sign_in(&app, "hal@example.com").await;
            for _ in 0..5 {
                expect_error(
                    post(
                        &browser,
                        &app,
                        "/two-factor/verify-totp",
                        &json!({"code": "000000"}),
                    )
                    .await,
                    401,
                    Some("INVALID_CODE"),
                )
                .await;
            }
            // The sixth answer to one challenge is refused whatever it is, and spends it.
            let spent = post(
                &browser,
                &app,
                "/two-factor/verify-totp",
                &json!({"code": code(&app, &uri, 0)}),
            )
            .await;
            assert!(
                set_cookie_lines(&spent)
                    .iter()
                    .any(|line| line.starts_with("better-auth.two_factor=")
                        && line.contains("Max-Age=0")),
                "the challenge cookie is expired"
            );
            expect_error(spent, 400, Some("TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE")).await;
        }
        let browser = diverted_sign_in(&app, "hal@example.com").await;
        app.clock.advance(time::Duration::seconds(30));
        let right = json!({"code": code(&app, &uri, 0)});
        expect_error(
            post(&browser, &app, "/two-factor/verify-totp", &right).await,
            429,
            Some("ACCOUNT_TEMPORARILY_LOCKED"),
        )
        .await;
        app.clock.advance(time::Duration::minutes(15));
        let browser = diverted_sign_in(&app, "hal@example.com").await;
        let right = json!({"code": code(&app, &uri, 0)});
        let done = post(&browser, &app, "/two-factor/verify-totp", &right).await;
        assert_eq!(done.status(), 200, "the lock ran out");
        app.stop().await;
    }
}

#[tokio::test]
async fn two_instances_spend_one_backup_code_and_one_challenge_once() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let first = start_app(base_config(&database.url), None).await;
    let second = start_app(base_config(&database.url), None).await;
    let (user, uri, codes) = enrolled(&first, "ivy@example.com").await;
    let redeem = json!({"code": codes[0]});
    let redemptions = (0..20).map(|index| {
        let app = if index % 2 == 0 { &first } else { &second };
        post(&user, app, "/two-factor/verify-backup-code", &redeem)
    });
    let statuses: Vec<u16> = futures_util::future::join_all(redemptions)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        1,
        "one backup code across two instances: {statuses:?}"
    );

    let browser = diverted_sign_in(&first, "ivy@example.com").await;
    first.clock.advance(time::Duration::seconds(30));
    second.clock.advance(time::Duration::seconds(30));
    let answer = json!({"code": code(&first, &uri, 0)});
    let answers = (0..10).map(|index| {
        let app = if index % 2 == 0 { &first } else { &second };
        post(&browser, app, "/two-factor/verify-totp", &answer)
    });
    let statuses: Vec<u16> = futures_util::future::join_all(answers)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    assert!(
        statuses.iter().filter(|status| **status == 200).count() <= 1,
        "one challenge across two instances: {statuses:?}"
    );
    first.stop().await;
    second.stop().await;
    database.cleanup().await;
}

#[tokio::test]
async fn ten_wrong_mailed_codes_lock_an_account_with_codes_by_email_only() {
    for app in apps().await {
        let user = client(true);
        post(
            &user,
            &app,
            "/sign-up/email",
            &json!({"name": "Kim", "email": "kim@example.com", "password": PASSWORD}),
        )
        .await;
        post(
            &user,
            &app,
            "/two-factor/enable",
            &json!({"password": PASSWORD, "method": "otp"}),
        )
        .await;
        expect_error(
            post(
                &user,
                &app,
                "/two-factor/get-totp-uri",
                &json!({"password": PASSWORD}),
            )
            .await,
            400,
            Some("TOTP_NOT_ENABLED"),
        )
        .await;
        for _ in 0..2 {
            let browser = client(true);
            post(
                &browser,
                &app,
                "/sign-in/email",
                &json!({"email": "kim@example.com", "password": PASSWORD}),
            )
            .await;
            post(&browser, &app, "/two-factor/send-otp", &json!({})).await;
            let code = mailed_code(&app, "kim@example.com");
            let wrong = if code == "000000" { "111111" } else { "000000" };
            for _ in 0..5 {
                expect_error(
                    post(
                        &browser,
                        &app,
                        "/two-factor/verify-otp",
                        &json!({"code": wrong}),
                    )
                    .await,
                    401,
                    Some("INVALID_CODE"),
                )
                .await;
            }
        }
        let browser = client(true);
        post(
            &browser,
            &app,
            "/sign-in/email",
            &json!({"email": "kim@example.com", "password": PASSWORD}),
        )
        .await;
        post(&browser, &app, "/two-factor/send-otp", &json!({})).await;
        let code = mailed_code(&app, "kim@example.com");
        expect_error(
            post(
                &browser,
                &app,
                "/two-factor/verify-otp",
                &json!({"code": code}),
            )
            .await,
            429,
            Some("ACCOUNT_TEMPORARILY_LOCKED"),
        )
        .await;
        app.stop().await;
    }
}
