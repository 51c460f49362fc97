//! Bad and hostile input: always a 4xx JSON error (or a bare 404), never a 5xx, nothing written.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{Backend, TestApp, both_backends, expect_error, spawn_app};

/// After a refused sign-up, the same email can still sign up: the refusal wrote nothing.
async fn assert_nothing_written(app: &TestApp, email: &str) {
    let response = app.sign_up(email, "password-123").await;
    assert_eq!(response.status(), 200, "{email} must still be free");
}

async fn raw_post(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    crate::helpers::client(false)
        .post(app.url(path))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request")
}

both_backends!(malformed_json_is_400_bad_request, async |app: &TestApp| {
    let response = raw_post(app, "/sign-up/email", "application/json", "{\"name\":").await;
    let body = expect_error(response, 400, Some("BAD_REQUEST")).await;
    assert_eq!(body["message"], "Invalid JSON in request body");
});

both_backends!(
    wrong_types_missing_fields_and_non_objects_are_validation_errors,
    async |app: &TestApp| {
        for body in [
            json!({"name": 5, "email": "types@example.com", "password": "password-123"}),
            json!({"name": "x", "email": ["types@example.com"], "password": "password-123"}),
            json!({"name": "x", "email": "types@example.com"}),
            json!({"name": "x", "email": "types@example.com", "password": "password-123", "rememberMe": "yes"}),
            json!([1, 2, 3]),
            json!("just a string"),
        ] {
            expect_error(
                app.post("/sign-up/email", &body).await,
                400,
                Some("VALIDATION_ERROR"),
            )
            .await;
        }
        let empty = raw_post(app, "/sign-up/email", "application/json", "").await;
        let body = expect_error(empty, 400, Some("VALIDATION_ERROR")).await;
        assert_eq!(
            body["message"],
            "[body] Invalid input: expected object, received undefined"
        );
        assert_nothing_written(app, "types@example.com").await;
    }
);

both_backends!(unsupported_media_types_are_415, async |app: &TestApp| {
    let response = raw_post(app, "/sign-up/email", "text/plain;charset=UTF-8", "{}").await;
    let body = expect_error(response, 415, Some("UNSUPPORTED_MEDIA_TYPE")).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("text/plain;charset=UTF-8")
    );
    let form_elsewhere = raw_post(
        app,
        "/update-user",
        "application/x-www-form-urlencoded",
        "name=x",
    )
    .await;
    expect_error(form_elsewhere, 415, Some("UNSUPPORTED_MEDIA_TYPE")).await;
});

both_backends!(
    sign_up_and_sign_in_accept_url_encoded_forms_with_string_values,
    async |app: &TestApp| {
        let form = "name=Form+User&email=form%40example.com&password=password-123";
        let response = raw_post(
            app,
            "/sign-up/email",
            "application/x-www-form-urlencoded",
            form,
        )
        .await;
        assert_eq!(response.status(), 200);
        let remember = "email=form%40example.com&password=password-123&rememberMe=false";
        let response = raw_post(
            app,
            "/sign-in/email",
            "application/x-www-form-urlencoded",
            remember,
        )
        .await;
        expect_error(response, 400, Some("VALIDATION_ERROR")).await;
    }
);

both_backends!(
    a_two_mebibyte_body_is_refused_with_413,
    async |app: &TestApp| {
        let big = format!(
            "{{\"name\":\"{}\",\"email\":\"big@example.com\",\"password\":\"password-123\"}}",
            "a".repeat(2 * 1024 * 1024)
        );
        let response = raw_post(app, "/sign-up/email", "application/json", big).await;
        expect_error(response, 413, Some("PAYLOAD_TOO_LARGE")).await;
        assert_nothing_written(app, "big@example.com").await;
    }
);

both_backends!(
    invalid_emails_are_refused_on_sign_up_and_sign_in,
    async |app: &TestApp| {
        for email in [
            "not-an-email",
            "nul\u{0}@example.com",
            "crlf\r\n@example.com",
            "ünï@example.com",
            "",
        ] {
            let sign_up = json!({"name": "x", "email": email, "password": "password-123"});
            expect_error(
                app.post("/sign-up/email", &sign_up).await,
                400,
                Some("VALIDATION_ERROR"),
            )
            .await;
            let sign_in = json!({"email": email, "password": "password-123"});
            expect_error(
                app.post("/sign-in/email", &sign_in).await,
                400,
                Some("INVALID_EMAIL"),
            )
            .await;
        }
    }
);

both_backends!(
    passwords_outside_the_policy_are_refused,
    async |app: &TestApp| {
        let short = json!({"name": "x", "email": "pw@example.com", "password": "1234567"});
        expect_error(
            app.post("/sign-up/email", &short).await,
            400,
            Some("PASSWORD_TOO_SHORT"),
        )
        .await;
        let long = json!({"name": "x", "email": "pw@example.com", "password": "x".repeat(129)});
        expect_error(
            app.post("/sign-up/email", &long).await,
            400,
            Some("PASSWORD_TOO_LONG"),
        )
        .await;
        let long_sign_in = json!({"email": "pw@example.com", "password": "x".repeat(129)});
        expect_error(
            app.post("/sign-in/email", &long_sign_in).await,
            400,
            Some("PASSWORD_TOO_LONG"),
        )
        .await;
        assert_nothing_written(app, "pw@example.com").await;
    }
);

both_backends!(
    control_characters_in_values_that_reach_storage_or_headers_are_refused,
    async |app: &TestApp| {
        let nul_name =
            json!({"name": "Eve\u{0}", "email": "ctl@example.com", "password": "password-123"});
        expect_error(
            app.post("/sign-up/email", &nul_name).await,
            400,
            Some("VALIDATION_ERROR"),
        )
        .await;
        for callback in [
            "/next\r\nSet-Cookie: owned=1",
            "/nul\u{0}",
            "/ünïcode",
            "https://evil.example/",
            "//evil.example",
        ] {
            let body = json!({"name": "x", "email": "ctl@example.com", "password": "password-123", "callbackURL": callback});
            expect_error(
                app.post("/sign-up/email", &body).await,
                403,
                Some("INVALID_CALLBACK_URL"),
            )
            .await;
        }
        assert_nothing_written(app, "ctl@example.com").await;
        let body = json!({"email": "ctl@example.com", "password": "password-123", "callbackURL": "/x\r\nLocation: https://evil"});
        let response = app.post("/sign-in/email", &body).await;
        assert!(response.headers().get("location").is_none());
        expect_error(response, 403, Some("INVALID_CALLBACK_URL")).await;
    }
);

both_backends!(
    unknown_routes_wrong_methods_and_odd_paths_are_bare_404s,
    async |app: &TestApp| {
        let client = crate::helpers::client(false);
        for (method, path) in [
            ("GET", "/api/auth/nope"),
            ("POST", "/api/auth/ok"),
            ("TRACE", "/api/auth/ok"),
            ("FOO", "/api/auth/ok"),
            ("OPTIONS", "/api/auth/sign-in/email"),
            ("GET", "/api/auth/ok/"),
            ("GET", "/api/auth//ok"),
            ("GET", "/api/auth/forget-password"),
            ("POST", "/api/auth/sign-in/email/"),
            // The base path itself, and paths that only start like it.
            ("GET", "/api/auth"),
            ("GET", "/api/auth/"),
            ("GET", "/api/authx/ok"),
            ("GET", "/api/auth-ok"),
            ("GET", "/api/auth?ok"),
        ] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let response = client
                .request(method.clone(), format!("{}{path}", app.address))
                .send()
                .await
                .expect("request");
            assert_eq!(response.status(), 404, "{method} {path}");
            assert_eq!(response.text().await.expect("body"), "", "{method} {path}");
        }
    }
);

/// Sends raw bytes and reads until the server closes the connection (or 5 s pass).
async fn raw_exchange(app: &TestApp, request: &str) -> (String, bool) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut buffer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buffer))
        .await
        .is_ok();
    (String::from_utf8_lossy(&buffer).into_owned(), closed)
}

#[tokio::test]
async fn header_values_with_non_latin1_characters_never_cause_a_server_error() {
    let Some(app) = spawn_app(Backend::Sqlite).await else {
        return;
    };
    // A raw UTF-8 byte sequence in a header value and in a cookie.
    let request = "GET /api/auth/get-session HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Zoë/山田\r\n\
                   Cookie: better-auth.session_token=ü.ö\r\nConnection: close\r\n\r\n";
    let (response, _) = raw_exchange(&app, request).await;
    assert!(
        response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.1 4"),
        "{response}"
    );
    assert!(response.ends_with("null"), "{response}");
    app.stop().await;
}

both_backends!(
    a_forged_or_garbage_session_cookie_reads_as_no_session,
    async |app: &TestApp| {
        let client = crate::helpers::client(false);
        for cookie in [
            "better-auth.session_token=abc",
            "better-auth.session_token=abc.def",
            "better-auth.session_token=%E0%A4%A",
            "better-auth.session_token=\"\"",
            "better-auth.session_token=x.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D",
        ] {
            let response = client
                .get(app.url("/get-session"))
                .header("cookie", cookie)
                .send()
                .await
                .expect("r");
            assert_eq!(response.status(), 200, "{cookie}");
            assert_eq!(
                response.json::<Value>().await.expect("json"),
                Value::Null,
                "{cookie}"
            );
        }
    }
);
