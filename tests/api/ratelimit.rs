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
    let refusals = "auth_rate_limited_total{rule=\"credential\"}";
    let before = app.metric(refusals).await;
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
    let after = app.metric(refusals).await;
    assert!(
        after - before >= 2.0,
        "two refusals counted: {before} -> {after}"
    );
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

/// Signs `email` up from `client` (through the trusted proxy) with `password-123`.
async fn sign_up_from(app: &TestApp, email: &str, client: &str) {
    let response = reqwest::Client::new()
        .post(app.url("/sign-up/email"))
        .header("x-forwarded-for", client)
        .json(&json!({"name": "Owner", "email": email, "password": "password-123"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}

async fn sign_in_from(
    app: &TestApp,
    email: &str,
    password: &str,
    client: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/sign-in/email"))
        .header("x-forwarded-for", client)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn strangers_who_fail_on_an_account_are_refused_but_never_lock_its_owner_out() {
    let Some(app) = limited_app(&["127.0.0.1"]).await else {
        return;
    };
    sign_up_from(&app, "owner@example.com", "198.51.100.200").await;
    // The same account however the address is cased or padded, from four clients.
    let spellings = [
        "owner@example.com",
        "Owner@Example.com",
        " owner@example.com ",
        "OWNER@EXAMPLE.COM",
    ];
    for (n, email) in spellings.iter().enumerate() {
        let client = format!("198.51.100.{n}");
        for attempt in 0..5 {
            let response = sign_in_from(&app, email, "guess-guess", &client).await;
            assert_eq!(response.status(), 401, "client {n}, attempt {attempt}");
        }
        // That client is refused now, whatever it sends.
        assert_limited(sign_in_from(&app, email, "password-123", &client).await).await;
    }
    // Twenty failures on the account, four times the per-client limit: the owner, who never
    // failed, still signs in.
    let owner = sign_in_from(&app, "owner@example.com", "password-123", "198.51.100.99").await;
    assert_eq!(owner.status(), 200, "the owner is not locked out");
    app.stop().await;
}

#[tokio::test]
async fn distributed_guessing_on_one_account_reaches_its_ceiling() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |config| {
        config.rate_limit_enabled = true;
        config.trusted_proxies = vec!["127.0.0.1".to_owned()];
        config.rate_limit_account_ceiling = 3;
    })
    .await
    else {
        return;
    };
    sign_up_from(&app, "target@example.com", "198.51.100.200").await;
    let refusals = "auth_rate_limited_total{rule=\"account_ceiling\"}";
    let before = app.metric(refusals).await;
    for n in 0..3 {
        let client = format!("203.0.113.{n}");
        let response = sign_in_from(&app, "target@example.com", "guess-guess", &client).await;
        assert_eq!(response.status(), 401, "client {n}");
    }
    // Every client is refused on that account now, the owner too, until the window passes...
    assert_limited(sign_in_from(&app, "target@example.com", "password-123", "198.51.100.99").await)
        .await;
    assert!(
        app.metric(refusals).await - before >= 1.0,
        "the ceiling's refusal"
    );
    // ...while other accounts are untouched.
    let other = sign_in_from(&app, "other@example.com", "guess-guess", "198.51.100.98").await;
    assert_eq!(other.status(), 401);
    app.clock.advance(Duration::minutes(15));
    let owner = sign_in_from(&app, "target@example.com", "password-123", "198.51.100.99").await;
    assert_eq!(owner.status(), 200);
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
