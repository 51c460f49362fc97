//! WebSockets over a real socket (tokio-tungstenite), on SQLite (`AUTH_WEBSOCKET`): the upgrade
//! authenticated by a ticket (query or subprotocol), a bearer token or a cookie from a trusted
//! origin, refused before it happens otherwise; tickets single-use and short-lived; sign-out
//! and revocation closing the socket with their close codes; the per-user limit; the heartbeat.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::helpers::{ORIGIN, TestApp, base_config, start_app};
use auth_store_seaorm::test_db::TestDatabase;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn app_with(customise: impl FnOnce(&mut auth_app::AppConfig)) -> TestApp {
    let database = TestDatabase::sqlite();
    let mut config = base_config(&database.url);
    config.websocket = true;
    customise(&mut config);
    start_app(config, Some(database)).await
}

fn ws_url(app: &TestApp, query: &str) -> String {
    format!("{}/ws{query}", app.address.replacen("http://", "ws://", 1))
}

/// Opens `/ws` with the headers given: the socket, or the refusal's status and JSON body.
async fn open(
    app: &TestApp,
    query: &str,
    headers: &[(&str, &str)],
) -> Result<Socket, (u16, Value)> {
    let mut request = ws_url(app, query).into_client_request().expect("request");
    for (name, value) in headers {
        request.headers_mut().insert(
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).expect("name"),
            value.parse().expect("value"),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(WsError::Http(response)) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_ref()
                .map(|bytes| serde_json::from_slice(bytes).unwrap_or(Value::Null))
                .unwrap_or(Value::Null);
            Err((status, body))
        }
        Err(error) => panic!("unexpected WebSocket error: {error}"),
    }
}

/// The first text message: `/ws` says who the socket is for.
async fn hello(socket: &mut Socket) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message in time")
        {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).expect("json"),
            Some(Ok(_)) => {}
            other => panic!("no hello: {other:?}"),
        }
    }
}

/// The close code the server closes the socket with, within `within`.
async fn closed_with(socket: &mut Socket, within: Duration) -> u16 {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, socket.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => return u16::from(frame.code),
            Ok(Some(Ok(Message::Close(None)))) | Ok(None) => return 1005,
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(error))) => panic!("socket error: {error}"),
            Err(_) => panic!("not closed within {within:?}"),
        }
    }
}

async fn signed_up(app: &TestApp, email: &str) -> String {
    app.sign_up_token(email, "password-123").await
}

async fn sign_out(app: &TestApp, token: &str) {
    let response = reqwest::Client::new()
        .post(app.url("/sign-out"))
        .bearer_auth(token)
        .header("origin", ORIGIN)
        .send()
        .await
        .expect("sign-out");
    assert_eq!(response.status(), 200);
}

async fn revoke_all(app: &TestApp, token: &str) {
    let response = reqwest::Client::new()
        .post(app.url("/revoke-sessions"))
        .bearer_auth(token)
        .header("origin", ORIGIN)
        .json(&json!({}))
        .send()
        .await
        .expect("revoke");
    assert_eq!(response.status(), 200);
}

async fn ticket(app: &TestApp, token: &str) -> String {
    let answer: Value = reqwest::Client::new()
        .post(app.url("/ws-ticket"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(answer["expiresAt"].is_string(), "{answer}");
    answer["ticket"].as_str().expect("ticket").to_owned()
}

#[tokio::test]
async fn a_ticket_opens_one_socket_once_and_sign_out_closes_it() {
    let app = app_with(|_| {}).await;
    let token = signed_up(&app, "ada@example.com").await;
    let first = ticket(&app, &token).await;
    let mut socket = open(&app, &format!("?ticket={first}"), &[])
        .await
        .expect("upgrade");
    let who = hello(&mut socket).await;
    assert_eq!(who["type"], "session");
    let (status, body) = open(&app, &format!("?ticket={first}"), &[])
        .await
        .expect_err("a ticket works once");
    assert_eq!(status, 401);
    assert_eq!(body["code"], "INVALID_TICKET");

    sign_out(&app, &token).await;
    assert_eq!(closed_with(&mut socket, Duration::from_secs(2)).await, 4001);

    // The metrics count what happened (the recorder is the process's, shared by the tests).
    let metrics = reqwest::get(format!("{}/metrics", app.address))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    let value = |series: &str| -> f64 {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{series} missing from\n{metrics}"))
    };
    assert!(value("auth_ws_opened_total ") >= 1.0);
    assert!(value("auth_ws_refused_total{reason=\"invalid_ticket\"} ") >= 1.0);
    assert!(value("auth_ws_closed_total{reason=\"signed_out\"} ") >= 1.0);
    assert!(value("auth_ws_messages_total{direction=\"out\"} ") >= 1.0);
    value("auth_ws_closed_total{reason=\"heartbeat_timeout\"} ");
    value("auth_ws_connections ");
    app.stop().await;
}

#[tokio::test]
async fn a_ticket_in_the_subprotocol_works_and_an_expired_one_does_not() {
    let app = app_with(|_| {}).await;
    let token = signed_up(&app, "bob@example.com").await;
    let value = ticket(&app, &token).await;
    let protocol = format!("ticket.{value}");
    let mut socket = open(&app, "", &[("sec-websocket-protocol", protocol.as_str())])
        .await
        .expect("upgrade");
    hello(&mut socket).await;
    let late = ticket(&app, &token).await;
    app.clock.advance(time::Duration::seconds(31));
    let (status, _) = open(&app, &format!("?ticket={late}"), &[])
        .await
        .expect_err("expired");
    assert_eq!(status, 401);
    let (status, _) = open(&app, "?ticket=forged0000000000000000000000000", &[])
        .await
        .expect_err("forged");
    assert_eq!(status, 401);
    app.stop().await;
}

#[tokio::test]
async fn a_cookie_opens_a_socket_only_from_a_trusted_origin_and_a_bearer_from_anywhere() {
    let app = app_with(|_| {}).await;
    let token = signed_up(&app, "cy@example.com").await;
    let signed = reqwest::Client::new()
        .post(app.url("/sign-in/email"))
        .header("origin", ORIGIN)
        .json(&json!({"email": "cy@example.com", "password": "password-123"}))
        .send()
        .await
        .expect("sign-in");
    let session_cookie = signed
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|line| line.starts_with("better-auth.session_token="))
        .and_then(|line| line.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let cookie = session_cookie.as_str();
    let (status, body) = open(
        &app,
        "",
        &[("cookie", cookie), ("origin", "https://evil.example")],
    )
    .await
    .expect_err("cross-site cookie");
    assert_eq!(status, 403);
    assert_eq!(body["code"], "INVALID_ORIGIN");
    let (status, _) = open(&app, "", &[("cookie", cookie)])
        .await
        .expect_err("a cookie without an origin");
    assert_eq!(status, 403);
    let mut trusted = open(&app, "", &[("cookie", cookie), ("origin", ORIGIN)])
        .await
        .expect("a trusted origin");
    hello(&mut trusted).await;
    let bearer = format!("Bearer {token}");
    let mut anywhere = open(
        &app,
        "",
        &[
            ("authorization", bearer.as_str()),
            ("origin", "https://evil.example"),
        ],
    )
    .await
    .expect("a bearer token from any origin");
    hello(&mut anywhere).await;
    let (status, _) = open(&app, "", &[("authorization", "Bearer forged")])
        .await
        .expect_err("forged bearer");
    assert_eq!(status, 401);
    let (status, _) = open(&app, "", &[]).await.expect_err("no credential");
    assert_eq!(status, 401);
    app.stop().await;
}

#[tokio::test]
async fn revoking_all_sessions_closes_every_socket_and_the_limit_refuses_the_newest() {
    let app = app_with(|config| config.websocket_max_per_user = 2).await;
    let token = signed_up(&app, "dee@example.com").await;
    let bearer = format!("Bearer {token}");
    let headers = [("authorization", bearer.as_str())];
    let mut first = open(&app, "", &headers).await.expect("first");
    let mut second = open(&app, "", &headers).await.expect("second");
    hello(&mut first).await;
    hello(&mut second).await;
    let (status, body) = open(&app, "", &headers).await.expect_err("third");
    assert_eq!(status, 429);
    assert_eq!(body["code"], "TOO_MANY_CONNECTIONS");
    revoke_all(&app, &token).await;
    assert_eq!(closed_with(&mut first, Duration::from_secs(2)).await, 4002);
    assert_eq!(closed_with(&mut second, Duration::from_secs(2)).await, 4002);
    app.stop().await;
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_closed() {
    let app = app_with(|config| {
        config.websocket_ping_interval_ms = 100;
        config.websocket_pong_timeout_ms = 200;
    })
    .await;
    let token = signed_up(&app, "eve@example.com").await;
    let bearer = format!("Bearer {token}");
    let mut socket = open(&app, "", &[("authorization", bearer.as_str())])
        .await
        .expect("upgrade");
    hello(&mut socket).await;
    // Reading answers pings; a peer that stops reading stops answering them. The server's
    // close frame may be read, or the pongs queued meanwhile may meet a closed connection.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let outcome = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map(|frame| u16::from(frame.code));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
    .expect("the server closed the socket");
    assert!(matches!(outcome, None | Some(4010)), "{outcome:?}");
    app.stop().await;
}

#[tokio::test]
async fn shutting_down_closes_every_socket_cleanly() {
    let app = app_with(|_| {}).await;
    let token = signed_up(&app, "fay@example.com").await;
    let bearer = format!("Bearer {token}");
    let mut socket = open(&app, "", &[("authorization", bearer.as_str())])
        .await
        .expect("upgrade");
    hello(&mut socket).await;
    let stopping = tokio::spawn(app.stop());
    assert_eq!(closed_with(&mut socket, Duration::from_secs(5)).await, 1001);
    drop(socket);
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("the server stops")
        .expect("task");
}

#[tokio::test]
async fn signing_out_on_one_instance_closes_the_socket_on_another() {
    let Some(redis) = crate::helpers::redis_url().await else {
        return;
    };
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let prefix = auth_testkit::services::unique_prefix();
    let config = || {
        let mut config = base_config(&database.url);
        config.websocket = true;
        config.redis_url = Some(redis.clone());
        config.redis_prefix = prefix.clone();
        config
    };
    let first = start_app(config(), None).await;
    let second = start_app(config(), None).await;
    let token = signed_up(&first, "gus@example.com").await;
    let bearer = format!("Bearer {token}");
    let mut socket = open(&second, "", &[("authorization", bearer.as_str())])
        .await
        .expect("upgrade on the second instance");
    hello(&mut socket).await;
    sign_out(&first, &token).await;
    assert_eq!(closed_with(&mut socket, Duration::from_secs(3)).await, 4001);
    first.stop().await;
    second.stop().await;
    database.cleanup().await;
}

/// An application's own endpoint (`auth_ws::websocket`) on the server's hub: each text is
/// answered with the sender's name; `bye` ends the handler, which closes the socket (1000).
async fn echo_app(customise: impl FnOnce(&mut auth_app::AppConfig)) -> TestApp {
    use auth_ws::{Authenticated, Incoming, Outgoing};
    use poem::web::websocket::Message as PoemMessage;

    async fn echo(who: Authenticated, mut incoming: Incoming, outgoing: Outgoing) {
        while let Some(message) = incoming.next().await {
            match message {
                PoemMessage::Text(text) if text == "bye" => return,
                PoemMessage::Text(text) => {
                    let answer = format!("{}: {text}", who.context.user.name);
                    outgoing.send(PoemMessage::Text(answer)).await;
                }
                PoemMessage::Binary(bytes) => {
                    outgoing.send(PoemMessage::Binary(bytes)).await;
                }
                _ => {}
            }
        }
    }

    app_serving(echo, customise, |settings| settings).await
}

/// A server with `handler` as an application's socket endpoint at `/echo`, its settings those
/// of the configuration changed by `settings`.
async fn app_serving<F, Fut>(
    handler: F,
    customise: impl FnOnce(&mut auth_app::AppConfig),
    settings: impl FnOnce(auth_ws::WsConfig) -> auth_ws::WsConfig,
) -> TestApp
where
    F: Fn(auth_ws::Authenticated, auth_ws::Incoming, auth_ws::Outgoing) -> Fut
        + Send
        + Sync
        + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let database = TestDatabase::sqlite();
    let mut config = base_config(&database.url);
    config.websocket = true;
    customise(&mut config);
    let hub = std::sync::Arc::new(auth_ws::Hub::new());
    let settings = settings(auth_app::websocket_settings(&config));
    let route = auth_ws::websocket(hub.clone(), settings, handler);
    crate::helpers::start_app_customised(config, Some(database), move |overrides| {
        overrides.routes = vec![(
            "/echo".to_owned(),
            std::sync::Arc::new(poem::EndpointExt::boxed(route)),
        )];
        overrides.websocket_hub = Some(hub);
    })
    .await
}

#[tokio::test]
async fn an_application_that_does_not_take_its_messages_has_the_socket_closed_with_1008() {
    use futures_util::SinkExt;

    // Holds its messages without ever reading them.
    async fn deaf(_: auth_ws::Authenticated, incoming: auth_ws::Incoming, _: auth_ws::Outgoing) {
        let _held = incoming;
        std::future::pending::<()>().await;
    }
    let app = app_serving(
        deaf,
        |_| {},
        |settings| auth_ws::WsConfig {
            send_timeout: Duration::from_millis(200),
            ..settings
        },
    )
    .await;
    let token = signed_up(&app, "deaf@example.com").await;
    let mut socket = open_echo(&app, &format!("Bearer {token}")).await;
    // The first messages wait in the application's queue; the one after has nowhere to go.
    for n in 0..40 {
        if socket.send(Message::text(format!("{n}"))).await.is_err() {
            break;
        }
    }
    assert_eq!(closed_with(&mut socket, Duration::from_secs(5)).await, 1008);
    app.stop().await;
}

async fn open_echo(app: &TestApp, bearer: &str) -> Socket {
    let url = format!("{}/echo", app.address.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("request");
    request
        .headers_mut()
        .insert("authorization", bearer.parse().expect("value"));
    tokio_tungstenite::connect_async(request)
        .await
        .expect("upgrade")
        .0
}

async fn next_data(socket: &mut Socket) -> Message {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a message in time")
        {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(message)) => return message,
            other => panic!("no message: {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_applications_endpoint_gets_its_user_and_messages_and_closes_with_the_session() {
    use futures_util::SinkExt;

    let app = echo_app(|_| {}).await;
    let token = signed_up(&app, "hal@example.com").await;
    let bearer = format!("Bearer {token}");
    let mut socket = open_echo(&app, &bearer).await;
    socket
        .send(Message::Ping(vec![1].into()))
        .await
        .expect("ping");
    socket.send(Message::text("hello")).await.expect("send");
    let Message::Text(answer) = next_data(&mut socket).await else {
        panic!("a text answer");
    };
    assert!(answer.ends_with(": hello"), "{answer}");
    socket
        .send(Message::binary(vec![7_u8; 3]))
        .await
        .expect("send");
    assert_eq!(next_data(&mut socket).await, Message::binary(vec![7_u8; 3]));

    // The handler returning closes the socket normally.
    socket.send(Message::text("bye")).await.expect("send");
    assert_eq!(closed_with(&mut socket, Duration::from_secs(2)).await, 1000);

    // A message over 64 KiB closes the socket (1009) before the application sees it.
    let mut socket = open_echo(&app, &bearer).await;
    let big = "x".repeat(64 * 1024 + 1);
    socket.send(Message::text(big)).await.expect("send");
    assert_eq!(closed_with(&mut socket, Duration::from_secs(2)).await, 1009);

    // Signing out closes the application's socket as it closes /ws.
    let mut socket = open_echo(&app, &bearer).await;
    sign_out(&app, &token).await;
    assert_eq!(closed_with(&mut socket, Duration::from_secs(2)).await, 4001);
    app.stop().await;
}

#[tokio::test]
async fn at_the_limit_close_oldest_replaces_the_oldest_socket() {
    let app = app_with(|config| {
        config.websocket_max_per_user = 1;
        config.websocket_close_oldest = true;
    })
    .await;
    let token = signed_up(&app, "ida@example.com").await;
    let bearer = format!("Bearer {token}");
    let headers = [("authorization", bearer.as_str())];
    let mut first = open(&app, "", &headers).await.expect("first");
    hello(&mut first).await;
    let mut second = open(&app, "", &headers)
        .await
        .expect("the newest is let in");
    hello(&mut second).await;
    assert_eq!(closed_with(&mut first, Duration::from_secs(2)).await, 4008);
    app.stop().await;
}

#[tokio::test]
async fn a_plain_request_to_the_endpoint_is_a_json_400() {
    let app = app_with(|_| {}).await;
    let token = signed_up(&app, "jo@example.com").await;
    let response = reqwest::Client::new()
        .get(format!("{}/ws", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["code"], "NOT_A_WEBSOCKET_UPGRADE");
    let response = reqwest::Client::new()
        .get(format!("{}/ws", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401, "refused before the upgrade check");
    app.stop().await;
}

#[tokio::test]
async fn removal_from_the_active_organization_closes_the_members_socket() {
    use auth_domain::UserId;
    use auth_domain::organization::{Member, RoleList};
    use auth_ports::{Clock, OrganizationRepo};

    let database = TestDatabase::sqlite();
    let url = database.url.clone();
    let mut config = base_config(&url);
    config.websocket = true;
    let app = start_app(config, Some(database)).await;
    let store =
        auth_store_seaorm::SeaOrmStore::connect(&auth_store_seaorm::StoreConfig::for_url(&url))
            .await
            .expect("store");
    let ada = signed_up(&app, "kim@example.com").await;
    let bob = signed_up(&app, "lee@example.com").await;
    let post = |token: &str, path: &str, body: Value| {
        reqwest::Client::new()
            .post(app.url(path))
            .bearer_auth(token)
            .header("origin", ORIGIN)
            .json(&body)
            .send()
    };
    let created: Value = post(
        &ada,
        "/organization/create",
        json!({"name": "Acme", "slug": "acme"}),
    )
    .await
    .expect("create")
    .json()
    .await
    .expect("json");
    let acme = created["id"].as_str().expect("id").to_owned();
    let session: Value = reqwest::Client::new()
        .get(app.url("/get-session"))
        .bearer_auth(&bob)
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("json");
    let member = Member {
        id: "m-bob".to_owned(),
        organization_id: acme.clone(),
        user_id: UserId::new(session["user"]["id"].as_str().expect("id")),
        role: RoleList::parse("member"),
        created_at: app.clock.now(),
    };
    store.add_member(&member, 100).await.expect("add");
    let active = post(
        &bob,
        "/organization/set-active",
        json!({"organizationId": acme}),
    )
    .await
    .expect("set-active");
    assert_eq!(active.status(), 200);

    let bearer = format!("Bearer {bob}");
    let mut socket = open(&app, "", &[("authorization", bearer.as_str())])
        .await
        .expect("upgrade");
    hello(&mut socket).await;
    let removed = post(
        &ada,
        "/organization/remove-member",
        json!({"memberIdOrEmail": "lee@example.com"}),
    )
    .await
    .expect("remove");
    assert_eq!(removed.status(), 200);
    assert_eq!(closed_with(&mut socket, Duration::from_secs(2)).await, 4007);
    app.stop().await;
}

#[tokio::test]
async fn the_per_user_limit_counts_sockets_on_every_instance_sharing_redis() {
    let Some(redis) = crate::helpers::redis_url().await else {
        return;
    };
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let prefix = auth_testkit::services::unique_prefix();
    let config = |close_oldest: bool| {
        let mut config = base_config(&database.url);
        config.websocket = true;
        config.websocket_max_per_user = 1;
        config.websocket_close_oldest = close_oldest;
        config.websocket_ping_interval_ms = 150;
        config.redis_url = Some(redis.clone());
        config.redis_prefix = prefix.clone();
        config
    };
    let first = start_app(config(false), None).await;
    let second = start_app(config(false), None).await;
    let token = signed_up(&first, "max@example.com").await;
    let bearer = format!("Bearer {token}");
    let headers = [("authorization", bearer.as_str())];
    let mut held = open(&first, "", &headers).await.expect("the first socket");
    hello(&mut held).await;
    let (status, body) = open(&second, "", &headers)
        .await
        .expect_err("the user's one socket is open on the other instance");
    assert_eq!(status, 429);
    assert_eq!(body["code"], "TOO_MANY_CONNECTIONS");

    // Closing gives the slot back at once.
    drop(held);
    let mut moved = None;
    for _ in 0..50 {
        if let Ok(socket) = open(&second, "", &headers).await {
            moved = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut moved = moved.expect("the slot came back");
    hello(&mut moved).await;

    // With close_oldest, a third instance takes the oldest socket's place: its instance finds
    // out at its next heartbeat and closes it (4008).
    let third = start_app(config(true), None).await;
    let mut newest = open(&third, "", &headers)
        .await
        .expect("the newest is let in");
    hello(&mut newest).await;
    assert_eq!(closed_with(&mut moved, Duration::from_secs(3)).await, 4008);
    first.stop().await;
    second.stop().await;
    third.stop().await;
    database.cleanup().await;
}

#[tokio::test]
async fn an_api_key_opens_a_socket_that_closes_when_the_key_is_disabled() {
    // Keys need not stand for sessions on the HTTP routes to open sockets.
    let app = app_with(|config| config.api_key_sessions = false).await;
    app.sign_up("kay@example.com", "password-123").await;
    let created: Value = app
        .post("/api-key/create", &json!({"name": "socket"}))
        .await
        .json()
        .await
        .expect("json");
    let key = created["key"].as_str().expect("key").to_owned();
    let mut socket = open(&app, "", &[("x-api-key", key.as_str())])
        .await
        .expect("an API key opens a socket");
    let who = hello(&mut socket).await;
    assert_eq!(who["userId"], created["referenceId"]);
    assert_eq!(
        who["apiKeyId"], created["id"],
        "the application sees the key"
    );
    let forged = "f".repeat(64);
    let (status, body) = open(&app, "", &[("x-api-key", forged.as_str())])
        .await
        .expect_err("a forged key");
    assert_eq!((status, &body["code"]), (401, &json!("INVALID_API_KEY")));
    let disabled = app
        .post(
            "/api-key/update",
            &json!({"keyId": created["id"], "enabled": false}),
        )
        .await;
    assert_eq!(disabled.status(), 200);
    assert_eq!(closed_with(&mut socket, Duration::from_secs(2)).await, 4006);
    let (status, body) = open(&app, "", &[("x-api-key", key.as_str())])
        .await
        .expect_err("a disabled key");
    assert_eq!((status, &body["code"]), (401, &json!("KEY_DISABLED")));
    app.stop().await;
}

#[tokio::test]
async fn a_socket_closes_when_its_session_expires_and_a_signed_out_token_is_refused() {
    // Sessions of two seconds: the socket's timer is real time, the server's clock the test's.
    let app = app_with(|config| config.session_expires_in = 2).await;
    let token = signed_up(&app, "lou@example.com").await;
    let bearer = format!("Bearer {token}");
    let mut socket = open(&app, "", &[("authorization", bearer.as_str())])
        .await
        .expect("upgrade");
    hello(&mut socket).await;
    assert_eq!(closed_with(&mut socket, Duration::from_secs(5)).await, 4003);

    sign_out(&app, &token).await;
    let (status, _) = open(&app, "", &[("authorization", bearer.as_str())])
        .await
        .expect_err("a signed-out token");
    assert_eq!(status, 401);
    app.stop().await;
}

/// A signed token (`GET /token`) for the session `token`.
async fn signed_token(app: &TestApp, token: &str) -> String {
    let body: Value = reqwest::Client::new()
        .get(app.url("/token"))
        .bearer_auth(token)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    body["token"].as_str().expect("a signed token").to_owned()
}

#[tokio::test]
async fn a_jwt_or_a_paseto_opens_a_socket_that_revoking_every_session_closes() {
    for format in [
        auth_app::config::TokenFormatSetting::Jwt,
        auth_app::config::TokenFormatSetting::Paseto,
    ] {
        let app = app_with(|config| config.token_format = format).await;
        let session = signed_up(&app, "mo@example.com").await;
        let signed = signed_token(&app, &session).await;
        let bearer = format!("Bearer {signed}");
        let mut socket = open(&app, "", &[("authorization", bearer.as_str())])
            .await
            .expect("a signed token opens a socket");
        let who = hello(&mut socket).await;
        assert!(
            who["sessionId"]
                .as_str()
                .is_some_and(|id| id.starts_with("token:")),
            "{who}"
        );

        let middle = signed.len() / 2;
        let flipped = if &signed[middle..=middle] == "A" {
            "B"
        } else {
            "A"
        };
        let mut altered = signed.clone();
        altered.replace_range(middle..=middle, flipped);
        let forged = format!("Bearer {altered}");
        let (status, body) = open(&app, "", &[("authorization", forged.as_str())])
            .await
            .expect_err("an altered token");
        assert_eq!((status, &body["code"]), (401, &json!("INVALID_TOKEN")));
        revoke_all(&app, &session).await;
        // Revoking every session ends what the user's tokens opened too.
        assert_eq!(closed_with(&mut socket, Duration::from_secs(2)).await, 4002);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_closed_after_the_idle_timeout() {
    let app = app_with(|config| {
        config.websocket_ping_interval_ms = 100;
        config.websocket_idle_timeout_ms = 300;
    })
    .await;
    let token = signed_up(&app, "ola@example.com").await;
    let bearer = format!("Bearer {token}");
    let mut socket = open(&app, "", &[("authorization", bearer.as_str())])
        .await
        .expect("upgrade");
    hello(&mut socket).await;
    // Reading answers the pings: the peer is alive, only idle.
    assert_eq!(closed_with(&mut socket, Duration::from_secs(3)).await, 4011);
    app.stop().await;
}

#[tokio::test]
async fn upgrades_are_rate_limited_per_client() {
    let app = app_with(|config| {
        config.rate_limit_enabled = true;
        config.rate_limit_max = 2;
        config.rate_limit_window = 60;
    })
    .await;
    for _ in 0..2 {
        let (status, _) = open(&app, "", &[]).await.expect_err("no credential");
        assert_eq!(status, 401);
    }
    let (status, body) = open(&app, "", &[]).await.expect_err("limited");
    assert_eq!(status, 429);
    assert!(
        body["message"].is_string(),
        "the API's JSON refusal: {body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_server_whose_sockets_would_never_close_does_not_start() {
    let database = TestDatabase::sqlite();
    let mut config = base_config(&database.url);
    config.websocket = true;
    config.plugins = Some(vec!["bearer".to_owned()]);
    let without_plugin = auth_app::Application::build(config, auth_app::Overrides::default())
        .await
        .err()
        .expect("refused");
    assert!(
        without_plugin.to_string().contains("`websocket` plugin"),
        "{without_plugin}"
    );
    let overrides = auth_app::Overrides {
        websocket_hub: Some(std::sync::Arc::new(auth_ws::Hub::new())),
        ..auth_app::Overrides::default()
    };
    let without_sockets = auth_app::Application::build(base_config(&database.url), overrides)
        .await
        .err()
        .expect("refused");
    assert!(
        without_sockets
            .to_string()
            .contains("AUTH_WEBSOCKET is off"),
        "{without_sockets}"
    );
}
