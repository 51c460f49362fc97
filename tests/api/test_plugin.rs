//! A plugin that uses every extension point of the seam, standing for the coming plugins: a
//! route in the OpenAPI document with a validated body (all of them), a session resolver that
//! vouches for a session without a stored row (API keys), a sign-in step that diverts with a
//! signed challenge cookie (two-factor), a cookie cleared at sign-out (multi-session,
//! two-factor), event and after-session subscribers (WebSocket, organizations), a session field
//! and a user field (organizations, two-factor), an error code and a rate-limit rule of its own
//! (all). docs/plugins.md walks through it.

use std::sync::{Arc, Mutex};

use auth_app::Plugin;
use auth_core::{
    Auth, AuthContext, AuthError, AuthPlugin, ClientInfo, Diversion, PluginError, PluginErrorKind,
    PluginFuture, RouteLimit, SignInStep,
};
use auth_domain::{
    AuthEvent, FieldKind, FieldSpec, FieldValue, Fields, Model, Secret, Session, SessionId,
    SessionToken, User, UserId,
};
use auth_http_poem::payload::{BaJson, Reply};
use auth_http_poem::{ApiError, HttpPlugin, HttpState, IssuedSession, PluginApi, Resolution};
use auth_ports::RateLimitRule;
use poem::http::{HeaderMap, HeaderValue};
use poem::{IntoResponse, Request, Response};
use poem_openapi::{Object, OpenApi};
use serde::Serialize;
use serde_json::{Value, json};

use crate::helpers::{TestApp, base_config, set_cookies, start_app_with_plugins};

const ID: &str = "test-plugin";
/// The header the resolver reads: `x-test-key: <user id>` (a stand-in for an API key).
const KEY_HEADER: &str = "x-test-key";
/// The cookie of the diverted sign-in.
const CHALLENGE: &str = "test_challenge";
/// A user with this name is asked for a second step at sign-in.
const DIVERTED_NAME: &str = "Needs A Second Step";

/// The plugin's session field: set after every sign-in (as organizations set
/// `activeOrganizationId`).
const NOTE: FieldSpec = FieldSpec {
    model: Model::Session,
    name: "testNote",
    kind: FieldKind::Text,
};
/// The plugin's user field: never set, so it reads `null` (as `twoFactorEnabled` before its
/// first write).
const FLAG: FieldSpec = FieldSpec {
    model: Model::User,
    name: "testFlag",
    kind: FieldKind::Bool,
};

const KEY_REVOKED: PluginError = PluginError {
    kind: PluginErrorKind::Unauthorized,
    code: "TEST_KEY_REVOKED",
    message: std::borrow::Cow::Borrowed("This test key is revoked"),
    details: Vec::new(),
};

/// What the plugin saw, in order.
#[derive(Default)]
pub(crate) struct Seen(Mutex<Vec<String>>);

impl Seen {
    fn push(&self, entry: String) {
        self.0.lock().expect("lock").push(entry);
    }

    pub(crate) fn entries(&self) -> Vec<String> {
        self.0.lock().expect("lock").clone()
    }
}

/// The use-case half.
struct TestRules {
    seen: Arc<Seen>,
}

impl AuthPlugin for TestRules {
    fn id(&self) -> &'static str {
        ID
    }

    fn before_session<'a>(
        &'a self,
        _auth: &'a Auth,
        user: &'a User,
        _client: &'a ClientInfo,
    ) -> PluginFuture<'a, Result<SignInStep, AuthError>> {
        Box::pin(async move {
            if user.name != DIVERTED_NAME {
                return Ok(SignInStep::Continue);
            }
            Ok(SignInStep::Divert(Box::new(Diversion {
                plugin: ID,
                user: user.clone(),
                remember_me: true,
                challenge: Some(Secret::new(format!("challenge-of-{}", user.id))),
                details: vec!["test".to_owned()],
                cookies: Vec::new(),
            })))
        })
    }

    fn after_session<'a>(
        &'a self,
        auth: &'a Auth,
        context: &'a AuthContext,
    ) -> PluginFuture<'a, Result<(), AuthError>> {
        self.seen
            .push(format!("after_session:{}", context.user.email.as_str()));
        Box::pin(async move {
            let mut fields = Fields::default();
            fields.set(NOTE.name, FieldValue::Text("noted".to_owned()));
            auth.update_session_fields(&context.session, &fields).await
        })
    }

    fn fields(&self) -> Vec<FieldSpec> {
        vec![NOTE, FLAG]
    }

    fn on_event<'a>(&'a self, _auth: &'a Auth, event: &'a AuthEvent) -> PluginFuture<'a, ()> {
        let entry = match event {
            AuthEvent::SessionEnded { reason, .. } => format!("session_ended:{}", reason.as_str()),
            AuthEvent::UserSessionsEnded { reason, .. } => {
                format!("user_sessions_ended:{}", reason.as_str())
            }
            other => other.kind().to_owned(),
        };
        self.seen.push(entry);
        Box::pin(std::future::ready(()))
    }

    fn rate_limits(&self) -> Vec<RouteLimit> {
        vec![RouteLimit::Rule(
            "/test-plugin/echo",
            RateLimitRule {
                window: time::Duration::minutes(1),
                max: 3,
            },
        )]
    }
}

/// The HTTP half.
struct TestHttp;

impl HttpPlugin for TestHttp {
    fn id(&self) -> &'static str {
        ID
    }

    fn resolve<'a>(
        &'a self,
        state: &'a HttpState,
        request: &'a Request,
    ) -> PluginFuture<'a, Resolution> {
        // No allocation when the request has no key: resolvers run on every session read.
        let Some(key) = request
            .headers()
            .get(KEY_HEADER)
            .and_then(|v| v.to_str().ok())
        else {
            return auth_http_poem::pass();
        };
        Box::pin(async move {
            if key == "revoked" {
                return Resolution::Refuse(AuthError::Plugin(KEY_REVOKED).into());
            }
            match state.auth().user(&UserId::new(key)).await {
                Ok(Some(user)) => {
                    let fields = Fields::declared(state.auth().field_specs(), Model::Session);
                    Resolution::Session(Box::new(mock_session(user, fields)))
                }
                Ok(None) => Resolution::Refuse(AuthError::Unauthorized.into()),
                Err(error) => Resolution::Refuse(error.into()),
            }
        })
    }

    fn security_scheme(&self, _state: &HttpState) -> Option<(&'static str, Value)> {
        Some((
            "testKey",
            json!({"type": "apiKey", "in": "header", "name": KEY_HEADER}),
        ))
    }

    fn session_issued(&self, _state: &HttpState, issued: &IssuedSession, headers: &mut HeaderMap) {
        if let Ok(value) = HeaderValue::from_str(issued.session().id.as_str()) {
            headers.insert("x-test-issued", value);
        }
    }

    fn cookies(&self) -> &'static [&'static str] {
        &[CHALLENGE]
    }

    fn diverted(&self, state: &HttpState, diversion: &Diversion) -> Option<Response> {
        let challenge = diversion.challenge.as_ref()?;
        let cookie = state
            .cookies()
            .set_signed(CHALLENGE, challenge.expose(), Some(600));
        let body = json!({ "testRedirect": true, "methods": diversion.details });
        Some(Reply::new(body).cookies(vec![cookie]).into_response())
    }

    fn api(&self, _state: &Arc<HttpState>) -> Option<PluginApi> {
        Some(PluginApi::new(TestApi))
    }
}

/// The session the resolver vouches for: never stored.
fn mock_session(user: User, fields: Fields) -> AuthContext {
    let now = user.created_at;
    AuthContext {
        session: Session {
            id: SessionId::new(format!("key-{}", user.id)),
            token: SessionToken::new(format!("key-{}", user.id)),
            user_id: user.id.clone(),
            expires_at: now + time::Duration::days(1),
            created_at: now,
            updated_at: now,
            ip_address: None,
            user_agent: None,
            fields,
        },
        user,
    }
}

#[derive(Debug, Object)]
struct EchoRequest {
    /// Said back.
    message: String,
    /// How often.
    times: Option<u32>,
}

#[derive(Debug, Object, Serialize)]
struct EchoResponse {
    /// The message, repeated.
    echo: String,
}

struct TestApi;

#[OpenApi]
impl TestApi {
    /// Says the message back (a plugin route with a validated body).
    #[oai(path = "/test-plugin/echo", method = "post")]
    async fn echo(&self, body: BaJson<EchoRequest>) -> Result<Reply<EchoResponse>, ApiError> {
        let body = body.0;
        if body.message == "forbidden" {
            return Err(AuthError::Plugin(PluginError {
                kind: PluginErrorKind::Forbidden,
                code: "TEST_MESSAGE_FORBIDDEN",
                message: "This message is not said back".into(),
                details: Vec::new(),
            })
            .into());
        }
        let times = usize::try_from(body.times.unwrap_or(1).min(3)).unwrap_or(1);
        Ok(Reply::new(EchoResponse {
            echo: body.message.repeat(times),
        }))
    }

    /// Names the item of the path (a plugin route with a path parameter).
    #[oai(path = "/test-plugin/items/:id", method = "get")]
    async fn item(&self, id: poem_openapi::param::Path<String>) -> Reply<EchoResponse> {
        Reply::new(EchoResponse { echo: id.0 })
    }
}

/// The plugin, and what it saw.
pub(crate) fn test_plugin() -> (Plugin, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let rules = TestRules { seen: seen.clone() };
    (Plugin::new(Arc::new(rules), Arc::new(TestHttp)), seen)
}

async fn app_with_test_plugin(rate_limits: bool) -> (TestApp, Arc<Seen>) {
    app_on(
        auth_store_seaorm::test_db::TestDatabase::sqlite(),
        rate_limits,
    )
    .await
}

async fn app_on(
    database: auth_store_seaorm::test_db::TestDatabase,
    rate_limits: bool,
) -> (TestApp, Arc<Seen>) {
    let mut config = base_config(&database.url);
    config.rate_limit_enabled = rate_limits;
    let (plugin, seen) = test_plugin();
    let app = start_app_with_plugins(config, Some(database), vec![plugin]).await;
    (app, seen)
}

#[tokio::test]
async fn a_plugin_route_is_documented_validated_and_refuses_with_its_own_code() {
    let (app, _) = app_with_test_plugin(false).await;
    let spec: Value = app.get("/openapi.json").await.json().await.expect("json");
    assert!(spec["paths"]["/test-plugin/echo"]["post"].is_object());
    assert!(spec["components"]["schemas"]["EchoRequest"].is_object());
    assert_eq!(
        spec["components"]["securitySchemes"]["testKey"]["name"],
        KEY_HEADER
    );
    assert!(
        spec["security"]
            .as_array()
            .is_some_and(|any| any.contains(&json!({"testKey": []}))),
        "a request may carry the plugin's credential: {}",
        spec["security"]
    );

    let ok = app
        .post("/test-plugin/echo", &json!({"message": "hi", "times": 2}))
        .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.json::<Value>().await.expect("json"),
        json!({"echo": "hihi"})
    );

    // A route with a path parameter has no label of its own, and is still found.
    let item = app.get("/test-plugin/items/abc").await;
    assert_eq!(item.status(), 200);
    assert_eq!(
        item.json::<Value>().await.expect("json"),
        json!({"echo": "abc"})
    );
    assert!(spec["paths"]["/test-plugin/items/{id}"]["get"].is_object());
    let nowhere = app.get("/test-plugin/items/abc/more").await;
    assert_eq!(nowhere.status(), 404);

    let wrong = app.post("/test-plugin/echo", &json!({"message": 5})).await;
    assert_eq!(wrong.status(), 400);
    let body: Value = wrong.json().await.expect("json");
    assert_eq!(body["code"], "VALIDATION_ERROR", "{body}");

    let refused = app
        .post("/test-plugin/echo", &json!({"message": "forbidden"}))
        .await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["code"], "TEST_MESSAGE_FORBIDDEN");
    assert_eq!(body["message"], "This message is not said back");
    app.stop().await;
}

#[tokio::test]
async fn a_plugin_rate_limit_rule_holds_for_its_route_only() {
    let (app, _) = app_with_test_plugin(true).await;
    for _ in 0..3 {
        let ok = app
            .post("/test-plugin/echo", &json!({"message": "x"}))
            .await;
        assert_eq!(ok.status(), 200);
    }
    let limited = app
        .post("/test-plugin/echo", &json!({"message": "x"}))
        .await;
    assert_eq!(limited.status(), 429, "the plugin's rule: 3 a minute");
    assert_eq!(
        app.get("/ok").await.status(),
        200,
        "other routes keep theirs"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_plugin_resolver_vouches_for_a_session_without_a_row_and_refuses_with_its_code() {
    let (app, _) = app_with_test_plugin(false).await;
    let signed: Value = app
        .sign_up("key.owner@example.com", "password-123")
        .await
        .json()
        .await
        .expect("json");
    let user_id = signed["user"]["id"].as_str().expect("id").to_owned();
    let with_key = |path: &str, key: &str| {
        crate::helpers::client(false)
            .get(app.url(path))
            .header(KEY_HEADER, key)
            .send()
    };
    let session: Value = with_key("/get-session", &user_id)
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(session["user"]["email"], "key.owner@example.com");
    assert_eq!(session["session"]["id"], format!("key-{user_id}"));
    // The vouched-for session has no row: it is not among the user's sessions, and listing
    // them with it works like any session.
    let listed: Value = with_key("/list-sessions", &user_id)
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let ids: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 1, "only the sign-up's stored session: {listed}");
    assert_ne!(ids[0], format!("key-{user_id}"));

    let revoked = with_key("/get-session", "revoked").await.expect("request");
    assert_eq!(revoked.status(), 401);
    let body: Value = revoked.json().await.expect("json");
    assert_eq!(body["code"], "TEST_KEY_REVOKED");
    app.stop().await;
}

#[tokio::test]
async fn a_diverted_sign_in_answers_the_plugin_body_and_challenge_cookie_and_no_session() {
    let (app, seen) = app_with_test_plugin(false).await;
    let up = app
        .post(
            "/sign-up/email",
            &json!({"name": DIVERTED_NAME, "email": "second@example.com", "password": "password-123"}),
        )
        .await;
    assert_eq!(up.status(), 200);
    let client = crate::helpers::client(true);
    let response = client
        .post(app.url("/sign-in/email"))
        .header("origin", crate::helpers::ORIGIN)
        .json(&json!({"email": "second@example.com", "password": "password-123"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let cookies = set_cookies(&response);
    assert_eq!(cookies.len(), 1, "only the challenge cookie: {cookies:?}");
    assert!(
        cookies[0].starts_with("better-auth.test_challenge="),
        "{cookies:?}"
    );
    for header in ["set-auth-token", "set-auth-jwt", "x-test-issued"] {
        assert!(response.headers().get(header).is_none(), "no {header}");
    }
    let body: Value = response.json().await.expect("json");
    assert_eq!(body, json!({"testRedirect": true, "methods": ["test"]}));
    let session = crate::helpers::session_of(&client, &app).await;
    assert_eq!(session, Value::Null, "no session came of it");
    let created = seen
        .entries()
        .iter()
        .filter(|entry| *entry == "session_created")
        .count();
    assert_eq!(
        created,
        1,
        "the sign-up's session only: {:?}",
        seen.entries()
    );

    // Sign-out clears the plugin's cookie with the session's.
    let out = client
        .post(app.url("/sign-out"))
        .header("origin", crate::helpers::ORIGIN)
        .send()
        .await
        .expect("request");
    let cleared = set_cookies(&out);
    assert!(
        cleared
            .iter()
            .any(|line| line.starts_with("better-auth.test_challenge=;")
                && line.contains("Max-Age=0")),
        "{cleared:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn plugins_hear_every_session_event_and_see_each_issued_session() {
    let (app, seen) = app_with_test_plugin(false).await;
    let up = app.sign_up("events@example.com", "password-123").await;
    assert!(
        up.headers().get("x-test-issued").is_some(),
        "session_issued ran"
    );
    let signed_in = app.sign_in("events@example.com", "password-123").await;
    assert!(signed_in.headers().get("x-test-issued").is_some());
    let out = app
        .client
        .post(app.url("/sign-out"))
        .header("origin", crate::helpers::ORIGIN)
        .send()
        .await
        .expect("request");
    assert_eq!(out.status(), 200);
    assert_eq!(
        seen.entries(),
        [
            "session_created",
            "after_session:events@example.com",
            "session_created",
            "after_session:events@example.com",
            "session_ended:sign_out",
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn plugin_fields_get_their_columns_and_reach_sessions_users_and_tokens_on_both_backends() {
    let mut databases = vec![auth_store_seaorm::test_db::TestDatabase::sqlite()];
    databases.extend(auth_store_seaorm::test_db::TestDatabase::postgres().await);
    for database in databases {
        let (app, _) = app_on(database, false).await;
        app.sign_up("fields@example.com", "password-123").await;
        // Set after the sign-up's session was issued; the cache shows it at once.
        let session = app.session().await;
        assert_eq!(session["session"]["testNote"], "noted", "{session}");
        assert_eq!(
            session["user"]["testFlag"],
            Value::Null,
            "declared, unset: null"
        );
        assert!(session["user"].get("testFlag").is_some(), "present as null");
        let listed: Value = app.get("/list-sessions").await.json().await.expect("json");
        assert_eq!(listed[0]["testNote"], "noted", "{listed}");
        let token: Value = app.get("/token").await.json().await.expect("json");
        let jwt = token["token"].as_str().expect("jwt");
        let payload = jwt.split('.').nth(1).expect("payload");
        use base64::Engine as _;
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .expect("base64"),
        )
        .expect("claims");
        assert!(
            claims.get("testFlag").is_some(),
            "user fields are claims: {claims}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_plugin_on_another_instance_hears_session_events_over_redis_without_tokens() {
    let Some(redis) = crate::helpers::redis_url().await else {
        return;
    };
    let Some(database) = auth_store_seaorm::test_db::TestDatabase::postgres().await else {
        return;
    };
    let prefix = auth_testkit::services::unique_prefix();
    let config = || {
        let mut config = base_config(&database.url);
        config.redis_url = Some(redis.clone());
        config.redis_prefix = prefix.clone();
        config
    };
    let (first_plugin, _) = test_plugin();
    let (second_plugin, heard) = test_plugin();
    let first = start_app_with_plugins(config(), None, vec![first_plugin]).await;
    let second = start_app_with_plugins(config(), None, vec![second_plugin]).await;
    // The second instance subscribes in the background: sign in and out until it hears one.
    first.sign_up("across@example.com", "password-123").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !heard
        .entries()
        .contains(&"session_ended:sign_out".to_owned())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the second instance heard: {:?}",
            heard.entries()
        );
        let out = first
            .client
            .post(first.url("/sign-out"))
            .header("origin", crate::helpers::ORIGIN)
            .send()
            .await
            .expect("request");
        assert_eq!(out.status(), 200);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        first.sign_in("across@example.com", "password-123").await;
    }
    assert!(
        !heard.entries().contains(&"session_created".to_owned()),
        "session creations stay local (they carry a token)"
    );
    first.stop().await;
    second.stop().await;
    database.cleanup().await;
}
