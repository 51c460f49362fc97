//! Rate limits over HTTP: 429 with the contract's headers, normalised routes, spoofed forwarding
//! headers, per-account limits, exact window edges under a controlled clock.

use serde_json::{Value, json};
use time::Duration;

use crate::helpers::{Backend, TestApp, spawn_app_with};

async fn limited_app(trusted_proxies: &[&str]) -> Option<TestApp> {
    let proxies: Vec<String> = trusted_proxies.iter().map(|p| (*p).to_owned()).collect();
    spawn_app_with(Backend::Sqlite, move |config| {
        config.rate_limit_enabled = true;
        config.trusted_proxies = proxies;
    })
    .await
}

async fn attempt(
    app: &TestApp,
    path: &str,
    email: &str,
    forwarded: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}/api/auth{path}", app.address))
        .json(&json!({"email": email, "password": "wrong-password"}));
    if let Some(forwarded) = forwarded {
        request = request.header("x-forwarded-for", forwarded);
    }
    request.send().await.expect("request")
}

async fn assert_limited(response: reqwest::Response) -> u64 {
    assert_eq!(response.status(), 429);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    let retry = header("x-retry-after").expect("X-Retry-After");
    assert_eq!(header("retry-after"), Some(retry), "Retry-After too");
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({"message": "Too many requests. Please try again later."})
    );
    retry
}

#[tokio::test]
async fn sign_in_is_limited_to_five_per_fifteen_minutes_per_client_exactly_at_the_edge() {
    let Some(app) = limited_app(&[]).await else {
        return;
    };
    for n in 0..5 {
        let response = attempt(&app, "/sign-in/email", &format!("u{n}@example.com"), None).await;
        assert_eq!(response.status(), 401, "attempt {n} reaches the handler");
    }
    let retry = assert_limited(attempt(&app, "/sign-in/email", "x@example.com", None).await).await;
    assert_eq!(retry, 15 * 60);
    app.clock
        .advance(Duration::minutes(15) - Duration::seconds(1));
    assert_eq!(
        assert_limited(attempt(&app, "/sign-in/email", "x@example.com", None).await).await,
        1
    );
    app.clock.advance(Duration::seconds(1));
    assert_eq!(
        attempt(&app, "/sign-in/email", "x@example.com", None)
            .await
            .status(),
        401
    );
    // Other routes have their own, looser rule.
    assert_eq!(app.get("/ok").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn no_path_variant_escapes_the_sign_in_limit() {
    let Some(app) = limited_app(&[]).await else {
        return;
    };
    for variant in [
        "//sign-in/email",
        "/SIGN-IN/email",
        "/sign-in/email/",
        "/sign-in%2Femail",
        "/sign-in/Email",
    ] {
        let response = attempt(&app, variant, "v@example.com", None).await;
        assert_ne!(
            response.status(),
            429,
            "{variant} counted but not yet limited"
        );
    }
    assert_limited(attempt(&app, "/sign-in/email", "v@example.com", None).await).await;
    app.stop().await;
}

#[tokio::test]
async fn a_spoofed_forwarded_header_from_an_untrusted_peer_changes_nothing() {
    let Some(app) = limited_app(&[]).await else {
        return;
    };
    for n in 0..5 {
        let spoofed = format!("203.0.113.{n}");
        let response = attempt(
            &app,
            "/sign-in/email",
            &format!("s{n}@example.com"),
            Some(&spoofed),
        )
        .await;
        assert_eq!(response.status(), 401);
    }
    assert_limited(
        attempt(
            &app,
            "/sign-in/email",
            "s9@example.com",
            Some("198.51.100.99"),
        )
        .await,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_clients_are_counted_apart_and_one_account_is_limited_across_clients()
 {
    let Some(app) = limited_app(&["127.0.0.1"]).await else {
        return;
    };
    // The same account however the address is cased or padded.
    let spellings = [
        "target@example.com",
        "Target@Example.com",
        " target@example.com ",
        "TARGET@EXAMPLE.COM",
        "target@EXAMPLE.com",
    ];
    for (n, email) in spellings.iter().enumerate() {
        let client = format!("198.51.100.{n}");
        let response = attempt(&app, "/sign-in/email", email, Some(&client)).await;
        assert_eq!(response.status(), 401, "client {n}");
    }
    // Five clients, one account: the account limit refuses the sixth attempt on it...
    assert_limited(
        attempt(
            &app,
            "/sign-in/email",
            "tarGET@example.com",
            Some("198.51.100.77"),
        )
        .await,
    )
    .await;
    // ...while that client may still try another account.
    let other = attempt(
        &app,
        "/sign-in/email",
        "other@example.com",
        Some("198.51.100.77"),
    )
    .await;
    assert_eq!(other.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn a_forged_first_forwarded_line_cannot_choose_the_client_address() {
    let Some(app) = limited_app(&["127.0.0.1"]).await else {
        return;
    };
    // The client writes its own `X-Forwarded-For` line; the trusted proxy appends another line
    // with the address it saw. Both lines are one list: the proxy's entry decides.
    let send = |forged: String, email: String| {
        let url = app.url("/sign-in/email");
        async move {
            reqwest::Client::new()
                .post(url)
                .header("x-forwarded-for", forged)
                .header("x-forwarded-for", "198.51.100.7")
                .json(&json!({"email": email, "password": "wrong-password"}))
                .send()
                .await
                .expect("request")
        }
    };
    for n in 0..5 {
        let response = send(format!("203.0.113.{n}"), format!("f{n}@example.com")).await;
        assert_eq!(response.status(), 401, "attempt {n}");
    }
    assert_limited(send("203.0.113.99".to_owned(), "f9@example.com".to_owned()).await).await;
    app.stop().await;
}

#[tokio::test]
async fn ipv6_clients_are_limited_per_64_network() {
    let Some(app) = limited_app(&["127.0.0.1"]).await else {
        return;
    };
    for n in 1..=5 {
        let host = format!("2001:db8:1:2::{n:x}");
        let response = attempt(
            &app,
            "/sign-in/email",
            &format!("v{n}@example.com"),
            Some(&host),
        )
        .await;
        assert_eq!(response.status(), 401, "attempt {n}");
    }
    // Another address of the same /64 is the same client...
    assert_limited(
        attempt(
            &app,
            "/sign-in/email",
            "v9@example.com",
            Some("2001:db8:1:2:ffff:ffff:ffff:ffff"),
        )
        .await,
    )
    .await;
    // ...while the next /64 is another one.
    let neighbour = attempt(
        &app,
        "/sign-in/email",
        "v9@example.com",
        Some("2001:db8:1:3::1"),
    )
    .await;
    assert_eq!(neighbour.status(), 401);
    app.stop().await;
}
