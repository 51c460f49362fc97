//! API keys over real HTTP, on SQLite and Postgres: the five routes and their errors, keys as
//! sessions (`x-api-key`), the verification order and its codes, exact counters under
//! concurrency (one instance and two), near-miss keys, and a key written by Better-Auth.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, base_config, expect_error, redis_url, start_app};
use auth_store_seaorm::test_db::TestDatabase;

const PASSWORD: &str = "password-123";

async fn app_on(
    database: TestDatabase,
    customise: impl FnOnce(&mut auth_app::AppConfig),
) -> TestApp {
    let mut config = base_config(&database.url);
    customise(&mut config);
    start_app(config, Some(database)).await
}

/// Both backends (Postgres only when it answers).
async fn databases() -> Vec<TestDatabase> {
    let mut databases = vec![TestDatabase::sqlite()];
    databases.extend(TestDatabase::postgres().await);
    databases
}

async fn create(app: &TestApp, body: &Value) -> Value {
    let response = app.post("/api-key/create", body).await;
    assert_eq!(response.status(), 200, "create {body}");
    response.json().await.expect("json")
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    app.get(path).await.json().await.expect("json")
}

async fn post_json(app: &TestApp, path: &str, body: &Value) -> Value {
    app.post(path, body).await.json().await.expect("json")
}

/// `GET` with an `x-api-key` header and no cookie.
async fn with_key(app: &TestApp, path: &str, key: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url(path))
        .header("x-api-key", key)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn a_signed_in_user_creates_reads_lists_updates_and_deletes_keys() {
    for database in databases().await {
        let app = app_on(database, |_| {}).await;
        app.sign_up("keys@example.com", PASSWORD).await;
        let user_id = app.session().await["user"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let created = create(&app, &json!({"name": "ci", "prefix": "ba_"})).await;
        let key = created["key"].as_str().expect("the key, once");
        let random = key.strip_prefix("ba_").expect("the prefix first");
        assert_eq!(random.len(), 64);
        assert!(random.bytes().all(|b| b.is_ascii_alphabetic()), "{key}");
        assert_eq!(created["start"], key[..6]);
        assert_eq!(created["prefix"], "ba_");
        assert_eq!(created["referenceId"], user_id.as_str());
        assert_eq!(created["configId"], "default");
        assert_eq!(created["enabled"], true);
        assert_eq!(created["rateLimitEnabled"], true);
        assert_eq!(created["rateLimitTimeWindow"], 86_400_000);
        assert_eq!(created["rateLimitMax"], 10);
        assert_eq!(created["requestCount"], 0);
        for null in [
            "remaining",
            "refillAmount",
            "refillInterval",
            "lastRefillAt",
            "lastRequest",
            "expiresAt",
            "permissions",
            "metadata",
        ] {
            assert!(created[null].is_null(), "{null} in {created}");
        }
        let id = created["id"].as_str().expect("id");

        let got: Value = get_json(&app, &format!("/api-key/get?id={id}")).await;
        assert_eq!(got["name"], "ci");
        assert!(got.get("key").is_none(), "the key is never sent again");

        create(&app, &json!({"name": "second"})).await;
        let list: Value =
            get_json(&app, "/api-key/list?sortBy=name&sortDirection=desc&limit=1").await;
        assert_eq!(list["total"], 2);
        assert_eq!(list["limit"], 1);
        assert!(
            list.get("offset").is_none(),
            "offset echoed only when given"
        );
        assert_eq!(list["apiKeys"].as_array().map(Vec::len), Some(1));
        assert_eq!(list["apiKeys"][0]["name"], "second");
        assert!(list["apiKeys"][0].get("key").is_none());

        let updated: Value = post_json(
            &app,
            "/api-key/update",
            &json!({"keyId": id, "name": "renamed", "enabled": false, "expiresIn": 86_400 * 2}),
        )
        .await;
        assert_eq!(updated["name"], "renamed");
        assert_eq!(updated["enabled"], false);
        assert!(updated["expiresAt"].is_string(), "{updated}");
        let never: Value = post_json(
            &app,
            "/api-key/update",
            &json!({"keyId": id, "expiresIn": null}),
        )
        .await;
        assert!(never["expiresAt"].is_null(), "null: never expires");

        let deleted: Value = post_json(&app, "/api-key/delete", &json!({"keyId": id})).await;
        assert_eq!(deleted, json!({"success": true}));
        expect_error(
            app.get(&format!("/api-key/get?id={id}")).await,
            404,
            Some("KEY_NOT_FOUND"),
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn every_create_and_update_refusal_has_its_code_and_changes_nothing() {
    let app = app_on(TestDatabase::sqlite(), |_| {}).await;
    // Without a session.
    expect_error(
        app.post("/api-key/create", &json!({})).await,
        401,
        Some("UNAUTHORIZED_SESSION"),
    )
    .await;
    expect_error(app.get("/api-key/list").await, 401, Some("UNAUTHORIZED")).await;
    app.sign_up("rules@example.com", PASSWORD).await;
    for field in [
        json!({"permissions": {"files": ["read"]}}),
        json!({"remaining": 5}),
        json!({"refillAmount": 5, "refillInterval": 1000}),
        json!({"rateLimitMax": 5}),
        json!({"rateLimitTimeWindow": 5}),
        json!({"rateLimitEnabled": false}),
    ] {
        expect_error(
            app.post("/api-key/create", &field).await,
            400,
            Some("SERVER_ONLY_PROPERTY"),
        )
        .await;
    }
    expect_error(
        app.post("/api-key/create", &json!({"userId": "someone-else"}))
            .await,
        401,
        Some("UNAUTHORIZED_SESSION"),
    )
    .await;
    for (body, code) in [
        (json!({"metadata": {"a": 1}}), "METADATA_DISABLED"),
        (json!({"expiresIn": 3600}), "EXPIRES_IN_IS_TOO_SMALL"),
        (
            json!({"expiresIn": 366 * 86_400}),
            "EXPIRES_IN_IS_TOO_LARGE",
        ),
        (json!({"prefix": "p".repeat(33)}), "INVALID_PREFIX_LENGTH"),
        (json!({"name": "n".repeat(33)}), "INVALID_NAME_LENGTH"),
        (json!({"name": ""}), "INVALID_NAME_LENGTH"),
        (json!({"prefix": "no spaces"}), "VALIDATION_ERROR"),
        (json!({"expiresIn": 0}), "VALIDATION_ERROR"),
        (json!({"name": 5}), "VALIDATION_ERROR"),
    ] {
        expect_error(app.post("/api-key/create", &body).await, 400, Some(code)).await;
    }
    let list: Value = get_json(&app, "/api-key/list").await;
    assert_eq!(list["total"], 0, "no refused create made a key");

    let created = create(&app, &json!({"name": "k"})).await;
    let id = created["id"].as_str().expect("id");
    for (body, code) in [
        (json!({"keyId": id}), "NO_VALUES_TO_UPDATE"),
        (json!({"keyId": id, "remaining": 3}), "SERVER_ONLY_PROPERTY"),
        (
            json!({"keyId": id, "permissions": null}),
            "SERVER_ONLY_PROPERTY",
        ),
        (json!({"keyId": id, "name": ""}), "INVALID_NAME_LENGTH"),
        (
            json!({"keyId": id, "expiresIn": 60}),
            "EXPIRES_IN_IS_TOO_SMALL",
        ),
        (json!({"keyId": id, "enabled": "no"}), "VALIDATION_ERROR"),
    ] {
        expect_error(app.post("/api-key/update", &body).await, 400, Some(code)).await;
    }
    expect_error(
        app.post(
            "/api-key/update",
            &json!({"keyId": id, "userId": "other", "name": "x"}),
        )
        .await,
        401,
        Some("UNAUTHORIZED_SESSION"),
    )
    .await;
    // Metadata is ignored by update while it is off, as Better-Auth does.
    expect_error(
        app.post(
            "/api-key/update",
            &json!({"keyId": id, "metadata": {"a": 1}}),
        )
        .await,
        400,
        Some("NO_VALUES_TO_UPDATE"),
    )
    .await;
    expect_error(
        app.get("/api-key/list?sortBy=secret").await,
        400,
        Some("VALIDATION_ERROR"),
    )
    .await;
    expect_error(
        app.get("/api-key/list?limit=-1").await,
        400,
        Some("VALIDATION_ERROR"),
    )
    .await;
    expect_error(app.get("/api-key/get").await, 400, Some("VALIDATION_ERROR")).await;
    let got: Value = get_json(&app, &format!("/api-key/get?id={id}")).await;
    assert_eq!(got["name"], "k", "refused updates changed nothing");
    app.stop().await;
}

#[tokio::test]
async fn nul_characters_in_names_and_ids_are_4xx_on_both_backends() {
    for database in databases().await {
        let app = app_on(database, |_| {}).await;
        app.sign_up("nul@example.com", PASSWORD).await;
        expect_error(
            app.post("/api-key/create", &json!({"name": "a\u{0}b"}))
                .await,
            400,
            Some("VALIDATION_ERROR"),
        )
        .await;
        expect_error(
            app.get("/api-key/get?id=%00").await,
            404,
            Some("KEY_NOT_FOUND"),
        )
        .await;
        expect_error(
            app.post("/api-key/delete", &json!({"keyId": "x\u{0}"}))
                .await,
            404,
            Some("KEY_NOT_FOUND"),
        )
        .await;
        app.stop().await;
    }
}

#[tokio::test]
async fn metadata_round_trips_when_enabled_and_oversized_or_non_object_metadata_is_refused() {
    let app = app_on(TestDatabase::sqlite(), |config| {
        config.api_key_metadata = true
    })
    .await;
    app.sign_up("meta@example.com", PASSWORD).await;
    let created = create(&app, &json!({"metadata": {"plan": "pro", "seats": 3}})).await;
    assert_eq!(created["metadata"], json!({"plan": "pro", "seats": 3}));
    let id = created["id"].as_str().expect("id");
    let got: Value = get_json(&app, &format!("/api-key/get?id={id}")).await;
    assert_eq!(got["metadata"], json!({"plan": "pro", "seats": 3}));
    expect_error(
        app.post("/api-key/create", &json!({"metadata": "text"}))
            .await,
        400,
        Some("INVALID_METADATA_TYPE"),
    )
    .await;
    expect_error(
        app.post(
            "/api-key/create",
            &json!({"metadata": {"blob": "x".repeat(5000)}}),
        )
        .await,
        400,
        Some("METADATA_TOO_LARGE"),
    )
    .await;
    let cleared: Value = post_json(
        &app,
        "/api-key/update",
        &json!({"keyId": id, "metadata": null}),
    )
    .await;
    assert!(cleared["metadata"].is_null(), "{cleared}");
    app.stop().await;
}

#[tokio::test]
async fn another_users_key_cannot_be_read_updated_or_deleted() {
    for database in databases().await {
        let app = app_on(database, |_| {}).await;
        app.sign_up("owner@example.com", PASSWORD).await;
        let created = create(&app, &json!({"name": "mine"})).await;
        let id = created["id"].as_str().expect("id").to_owned();
        let intruder = crate::helpers::client(true);
        let post = |path: &str, body: Value| intruder.post(app.url(path)).json(&body).send();
        post(
            "/sign-up/email",
            json!({"name": "I", "email": "intruder@example.com", "password": PASSWORD}),
        )
        .await
        .expect("sign-up");
        let get = |path: &str| intruder.get(app.url(path)).send();
        expect_error(
            get(&format!("/api-key/get?id={id}")).await.expect("get"),
            404,
            Some("KEY_NOT_FOUND"),
        )
        .await;
        expect_error(
            post("/api-key/update", json!({"keyId": id, "name": "stolen"}))
                .await
                .expect("update"),
            404,
            Some("KEY_NOT_FOUND"),
        )
        .await;
        expect_error(
            post("/api-key/delete", json!({"keyId": id}))
                .await
                .expect("delete"),
            404,
            Some("KEY_NOT_FOUND"),
        )
        .await;
        let list: Value = get("/api-key/list")
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        assert_eq!(list["total"], 0);
        let got: Value = get_json(&app, &format!("/api-key/get?id={id}")).await;
        assert_eq!(got["name"], "mine", "untouched");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_key_header_is_a_session_of_its_owner_counted_against_its_daily_limit() {
    for database in databases().await {
        let app = app_on(database, |config| config.api_key_sessions = true).await;
        app.sign_up("session@example.com", PASSWORD).await;
        let created = create(&app, &json!({"name": "bot"})).await;
        let key = created["key"].as_str().expect("key");
        let response = with_key(&app, "/get-session", key).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("set-auth-jwt").is_none());
        assert!(response.headers().get("set-cookie").is_none());
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["user"]["email"], "session@example.com");
        assert_eq!(body["session"]["id"], created["id"]);
        assert_eq!(body["session"]["token"], key);
        assert_eq!(body["session"]["userId"], body["user"]["id"]);
        // Better-Auth's default budget: 10 uses a day, this was the first.
        for _ in 1..10 {
            assert_eq!(with_key(&app, "/get-session", key).await.status(), 200);
        }
        let refused = expect_error(
            with_key(&app, "/get-session", key).await,
            429,
            Some("RATE_LIMITED"),
        )
        .await;
        let wait = refused["details"]["tryAgainIn"]
            .as_i64()
            .expect("tryAgainIn");
        assert!(wait > 0 && wait <= 86_400_000, "{refused}");
        app.clock
            .advance(time::Duration::days(1) + time::Duration::seconds(1));
        assert_eq!(
            with_key(&app, "/get-session", key).await.status(),
            200,
            "a new window"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn near_miss_forged_disabled_and_expired_keys_never_authenticate() {
    let app = app_on(TestDatabase::sqlite(), |config| {
        config.api_key_sessions = true
    })
    .await;
    app.sign_up("forged@example.com", PASSWORD).await;
    let counted =
        |outcome: &str| format!("auth_api_key_verifications_total{{outcome=\"{outcome}\"}}");
    let outcomes = ["valid", "invalid", "disabled", "expired"];
    let mut before = Vec::new();
    for outcome in outcomes {
        before.push(app.metric(&counted(outcome)).await);
    }
    let created = create(&app, &json!({"expiresIn": 86_400})).await;
    let key = created["key"].as_str().expect("key").to_owned();
    let flipped: String = key
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 10 {
                if c.is_ascii_uppercase() {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            } else {
                c
            }
        })
        .collect();
    let near_misses = [
        (flipped, 401),
        (format!("{key}a"), 401),
        (key[..63].to_owned(), 403),
        ("A".repeat(10_000), 401),
        // Not a visible-ASCII header value: no key at all.
        (format!("{}é", &key[..63]), 403),
        (
            "' OR 1=1 -- aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_owned(),
            401,
        ),
        (String::new(), 403),
    ];
    for (presented, status) in near_misses {
        let response = reqwest::Client::new()
            .get(app.url("/get-session"))
            .header("x-api-key", presented.as_bytes())
            .send()
            .await
            .expect("request");
        expect_error(response, status, Some("INVALID_API_KEY")).await;
    }
    let id = created["id"].as_str().expect("id");
    app.post("/api-key/update", &json!({"keyId": id, "enabled": false}))
        .await;
    expect_error(
        with_key(&app, "/get-session", &key).await,
        401,
        Some("KEY_DISABLED"),
    )
    .await;
    app.post("/api-key/update", &json!({"keyId": id, "enabled": true}))
        .await;
    assert_eq!(with_key(&app, "/get-session", &key).await.status(), 200);
    app.clock
        .advance(time::Duration::days(1) + time::Duration::seconds(1));
    expect_error(
        with_key(&app, "/get-session", &key).await,
        401,
        Some("KEY_EXPIRED"),
    )
    .await;
    expect_error(
        app.get(&format!("/api-key/get?id={id}")).await,
        404,
        Some("KEY_NOT_FOUND"),
    )
    .await;
    // Each refusal is counted by its own outcome (the metrics are the process's, shared with
    // the tests running beside this one: at least these many).
    for ((outcome, least), before) in outcomes.into_iter().zip([1.0, 7.0, 1.0, 1.0]).zip(before) {
        let after = app.metric(&counted(outcome)).await;
        assert!(after - before >= least, "{outcome}: {before} -> {after}");
    }
    app.stop().await;
}

#[tokio::test]
async fn keys_are_no_session_unless_switched_on_and_rotation_is_delete_and_create() {
    let app = app_on(TestDatabase::sqlite(), |_| {}).await;
    app.sign_up("rotate@example.com", PASSWORD).await;
    let old = create(&app, &json!({"name": "v1"})).await;
    let body: Value = with_key(&app, "/get-session", old["key"].as_str().expect("key"))
        .await
        .json()
        .await
        .expect("json");
    assert!(body.is_null(), "a key is no session by default: {body}");
    let new = create(&app, &json!({"name": "v2"})).await;
    app.post("/api-key/delete", &json!({"keyId": old["id"]}))
        .await;
    let list: Value = get_json(&app, "/api-key/list").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["apiKeys"][0]["id"], new["id"]);
    app.stop().await;
}

/// Inserts a key with a quota and no rate limit, as the server side would make it, and returns
/// its plaintext.
async fn insert_quota_key(database: &TestDatabase, user_id: &str, remaining: i32) -> String {
    let key = format!("qk_{}", "Q".repeat(64));
    let digest = auth_ports::ApiKeyHasher::digest(&auth_crypto::Sha256KeyHasher, &key);
    database
        .execute(&format!(
        r#"INSERT INTO "apikey" ("id","configId","referenceId","key","enabled","rateLimitEnabled","requestCount","remaining","createdAt","updatedAt")
           VALUES ('quota-key','default','{user_id}','{digest}',true,false,0,{remaining},'2026-01-01T00:00:00.000Z','2026-01-01T00:00:00.000Z')"#
        ))
        .await;
    key
}

/// How many of `uses` concurrent requests with `key` succeeded, and how many were refused
/// because the quota is spent (`429 USAGE_EXCEEDED`, then `401 INVALID_API_KEY` once the spent
/// key is deleted, as Better-Auth does).
async fn concurrent_uses(apps: &[&TestApp], key: &str, uses: usize) -> (usize, usize) {
    let client = reqwest::Client::new();
    let requests = (0..uses).map(|n| {
        let app = apps[n % apps.len()];
        let request = client
            .get(app.url("/get-session"))
            .header("x-api-key", key)
            .send();
        async move { request.await.expect("request").status().as_u16() }
    });
    let statuses = futures_util::future::join_all(requests).await;
    let ok = statuses.iter().filter(|status| **status == 200).count();
    let exceeded = statuses
        .iter()
        .filter(|status| matches!(**status, 429 | 401))
        .count();
    let others: Vec<&u16> = statuses
        .iter()
        .filter(|status| !matches!(**status, 200 | 429 | 401))
        .collect();
    assert!(
        others.is_empty(),
        "answers other than 200, 429 and 401: {others:?}"
    );
    (ok, exceeded)
}

#[tokio::test]
async fn two_hundred_concurrent_uses_of_fifty_remaining_give_exactly_fifty() {
    for database in databases().await {
        let mut config = base_config(&database.url);
        config.api_key_sessions = true;
        let app = start_app(config, None).await;
        app.sign_up("quota@example.com", PASSWORD).await;
        let user_id = app.session().await["user"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let key = insert_quota_key(&database, &user_id, 50).await;
        assert_eq!(
            concurrent_uses(&[&app], &key, 200).await,
            (50, 150),
            "{}",
            database.url
        );
        app.stop().await;
        database.cleanup().await;
    }
}

/// Two instances with keys as sessions on one fresh Postgres database and one Redis prefix,
/// with `customise` applied to both; `None` when a service is absent.
async fn pair(
    customise: impl Fn(&mut auth_app::AppConfig),
) -> Option<(TestApp, TestApp, TestDatabase)> {
    let redis = redis_url().await?;
    let database = TestDatabase::postgres().await?;
    let prefix = auth_testkit::services::unique_prefix();
    let config = || {
        let mut config = base_config(&database.url);
        config.redis_url = Some(redis.clone());
        config.redis_prefix = prefix.clone();
        config.api_key_sessions = true;
        // These tests are about what two instances share, not about Redis's speed: on a
        // loaded machine a short wait would turn bursts into 503s.
        config.redis_timeout_ms = 5_000;
        customise(&mut config);
        config
    };
    let first = start_app(config(), None).await;
    let second = start_app(config(), None).await;
    Some((first, second, database))
}

/// Waits (a second at most) until `app` refuses `key` with 401.
async fn refused_within_a_second(app: &TestApp, key: &str, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    while with_key(app, "/get-session", key).await.status() != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "the other instance still accepts {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_instances_share_the_quota_and_a_revoked_key_is_refused_by_both() {
    let Some((first, second, database)) = pair(|_| {}).await else {
        return;
    };
    first.sign_up("pair@example.com", PASSWORD).await;
    let user_id = first.session().await["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let key = insert_quota_key(&database, &user_id, 50).await;
    assert_eq!(
        concurrent_uses(&[&first, &second], &key, 200).await,
        (50, 150)
    );
    let created = create(&first, &json!({"name": "revoke-me"})).await;
    let fresh = created["key"].as_str().expect("key");
    assert_eq!(with_key(&second, "/get-session", fresh).await.status(), 200);
    first
        .post("/api-key/delete", &json!({"keyId": created["id"]}))
        .await;
    refused_within_a_second(&second, fresh, "a revoked key").await;
    first.stop().await;
    second.stop().await;
    database.cleanup().await;
}

#[tokio::test]
async fn a_key_cached_on_another_instance_is_dropped_there_when_deleted_or_disabled() {
    // Keys count nothing, so they are served from memory; only the event can stop them within
    // the test's second.
    let Some((first, second, database)) = pair(|config| {
        config.api_key_rate_limit_enabled = false;
        config.api_key_cache_ttl_ms = 60_000;
    })
    .await
    else {
        return;
    };
    first.sign_up("cached@example.com", PASSWORD).await;
    for change in [json!({"enabled": false}), Value::Null] {
        let created = create(&first, &json!({"name": "cached"})).await;
        let key = created["key"].as_str().expect("key");
        for _ in 0..3 {
            assert_eq!(with_key(&second, "/get-session", key).await.status(), 200);
        }
        let response = if change.is_null() {
            first
                .post("/api-key/delete", &json!({"keyId": created["id"]}))
                .await
        } else {
            let mut body = change.clone();
            body["keyId"] = created["id"].clone();
            first.post("/api-key/update", &body).await
        };
        assert_eq!(response.status(), 200);
        refused_within_a_second(&second, key, &format!("a changed key ({change})")).await;
    }
    first.stop().await;
    second.stop().await;
    database.cleanup().await;
}

/// A server on `database_url` counting key uses in Redis (`None` without a Redis), with a user
/// of `email` and a key of theirs: the server, the key and its id.
async fn counting_in_redis(
    database_url: &str,
    email: &str,
    customise: impl FnOnce(&mut auth_app::AppConfig),
) -> Option<(TestApp, String, String)> {
    let redis = redis_url().await?;
    let mut config = base_config(database_url);
    config.redis_url = Some(redis);
    config.redis_prefix = auth_testkit::services::unique_prefix();
    config.api_key_sessions = true;
    customise(&mut config);
    let app = start_app(config, None).await;
    app.sign_up(email, PASSWORD).await;
    let created = create(&app, &json!({"name": "counted"})).await;
    let key = created["key"].as_str().expect("key").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    Some((app, key, id))
}

/// The `requestCount` of key `id` as the database holds it.
async fn stored_request_count(database: &TestDatabase, id: &str) -> i64 {
    database
        .query_count(&format!(
            r#"SELECT CAST("requestCount" AS BIGINT) AS n FROM "apikey" WHERE "id" = '{id}'"#
        ))
        .await
}

#[tokio::test]
async fn with_redis_uses_are_counted_there_and_written_back_to_the_database() {
    let database = TestDatabase::sqlite();
    let Some((app, key, id)) =
        counting_in_redis(&database.url, "redis-counts@example.com", |_| {}).await
    else {
        return;
    };
    let key = key.as_str();
    for _ in 0..3 {
        assert_eq!(with_key(&app, "/get-session", key).await.status(), 200);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let row = get_json(&app, &format!("/api-key/get?id={id}")).await;
        if row["requestCount"] == 3 {
            assert!(row["lastRequest"].is_string(), "{row}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the counts never reached the database: {row}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
    database.cleanup().await;
}

/// The `requestCount` of key `id` in the database, once it reaches `count` (within five
/// seconds; the write-back runs every second).
async fn request_count_reaches(database: &TestDatabase, id: &str, count: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let stored = stored_request_count(database, id).await;
        if stored == count {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the database holds {stored} uses, not {count}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn uses_counted_while_the_database_is_down_reach_it_once_it_is_back() {
    // Redis first: a database made before a skip would be left behind.
    if redis_url().await.is_none() {
        return;
    }
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let (proxy, url) = crate::helpers::proxied(&database).await;
    let Some((app, key, id)) = counting_in_redis(&url, "outage-counts@example.com", |config| {
        config.database_max_connections = Some(2);
    })
    .await
    else {
        return;
    };
    let (key, id) = (key.as_str(), id.as_str());
    assert_eq!(with_key(&app, "/get-session", key).await.status(), 200);
    request_count_reaches(&database, id, 1).await;

    proxy.down();
    // The key and its owner are in memory and its uses are counted in Redis: it keeps working.
    for _ in 0..3 {
        assert_eq!(with_key(&app, "/get-session", key).await.status(), 200);
    }
    // Write-backs take the key and fail meanwhile; each gives it back.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    proxy.up();
    request_count_reaches(&database, id, 4).await;
    app.stop().await;
    database.cleanup().await;
}

#[tokio::test]
async fn uses_counted_in_redis_reach_the_database_when_the_server_stops() {
    let database = TestDatabase::sqlite();
    let Some((app, key, id)) =
        counting_in_redis(&database.url, "stop-counts@example.com", |_| {}).await
    else {
        return;
    };
    for _ in 0..3 {
        assert_eq!(with_key(&app, "/get-session", &key).await.status(), 200);
    }
    // Stopped well before the next write-back tick: only the one at shutdown writes them.
    app.stop().await;
    let stored = stored_request_count(&database, &id).await;
    assert_eq!(stored, 3, "the uses were written back at shutdown");
    database.cleanup().await;
}

#[poem::handler]
fn reports(principal: auth_http_poem::api_key::ApiKeyPrincipal) -> poem::web::Json<Value> {
    poem::web::Json(json!({"owner": principal.owner_id(), "remaining": principal.key.remaining}))
}

#[tokio::test]
async fn an_application_route_beside_the_api_is_guarded_by_a_key_with_a_permission() {
    use poem::EndpointExt;
    let database = TestDatabase::sqlite();
    let config = base_config(&database.url);
    let guarded = poem::get(reports)
        .with(auth_http_poem::api_key::RequireApiKey::with(&[(
            "reports",
            &["read"],
        )]))
        .boxed();
    let app = crate::helpers::start_app_customised(config, None, |overrides| {
        overrides.routes = vec![("/v1/reports".to_owned(), std::sync::Arc::new(guarded))];
    })
    .await;
    app.sign_up("reports@example.com", PASSWORD).await;
    let user_id = app.session().await["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // A key with the permission (made on the server's side), and one without.
    let with_permission = format!("rp_{}", "R".repeat(64));
    let digest = auth_ports::ApiKeyHasher::digest(&auth_crypto::Sha256KeyHasher, &with_permission);
    database
        .execute(&format!(
            r#"INSERT INTO "apikey" ("id","configId","referenceId","key","enabled","rateLimitEnabled","requestCount","remaining","createdAt","updatedAt","permissions")
               VALUES ('reports-key','default','{user_id}','{digest}',true,false,0,3,'2026-01-01T00:00:00.000Z','2026-01-01T00:00:00.000Z','{{"reports":["read"]}}')"#
        ))
        .await;
    let without = create(&app, &json!({"name": "plain"})).await;
    let get_reports = |key: &str| {
        reqwest::Client::new()
            .get(format!("{}/v1/reports", app.address))
            .header("x-api-key", key)
            .send()
    };
    let allowed = get_reports(&with_permission).await.expect("request");
    assert_eq!(allowed.status(), 200);
    let body: Value = allowed.json().await.expect("json");
    assert_eq!(body, json!({"owner": user_id, "remaining": 2}));
    expect_error(
        get_reports(without["key"].as_str().expect("key"))
            .await
            .expect("request"),
        401,
        Some("KEY_NOT_FOUND"),
    )
    .await;
    expect_error(
        reqwest::Client::new()
            .get(format!("{}/v1/reports", app.address))
            .send()
            .await
            .expect("request"),
        401,
        Some("INVALID_API_KEY"),
    )
    .await;
    app.stop().await;
    database.cleanup().await;
}

/// A key row exactly as `@better-auth/api-key` writes it on SQLite; its plaintext is
/// `ba_ZSdtUglEiNKDHAyVBZvZAPbHDQecufFPXYGcwjQflGlrOYfhSAHqylmtTyujKfxV`.
const BETTER_AUTH_KEY: &str = "ba_ZSdtUglEiNKDHAyVBZvZAPbHDQecufFPXYGcwjQflGlrOYfhSAHqylmtTyujKfxV";

#[tokio::test]
async fn a_key_written_by_better_auth_verifies_after_its_database_is_adopted() {
    let database = TestDatabase::sqlite();
    let mut config = base_config(&database.url);
    config.api_key_sessions = true;
    let app = start_app(config, None).await;
    app.sign_up("adopted@example.com", PASSWORD).await;
    let user_id = app.session().await["user"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    database
        .execute(&format!(
        r#"INSERT INTO "apikey" ("id","configId","name","start","referenceId","prefix","key","refillInterval","refillAmount",
             "lastRefillAt","enabled","rateLimitEnabled","rateLimitTimeWindow","rateLimitMax","requestCount","remaining",
             "lastRequest","expiresAt","createdAt","updatedAt","permissions","metadata")
           VALUES ('BaKey00000000000000000000000001','default','ci','ba_ZSd','{user_id}','ba_',
             'z-gz-VM_knyz8N_SZ3l9SJQjnXRfEzzBFQYSt-ngfhM',NULL,NULL,NULL,1,1,86400000,10,0,NULL,NULL,NULL,
             '2026-11-25T08:31:47.755Z','2026-11-25T08:31:47.755Z','{{"files":["read"]}}',NULL)"#
        ))
        .await;
    let body: Value = with_key(&app, "/get-session", BETTER_AUTH_KEY)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["session"]["id"], "BaKey00000000000000000000000001");
    assert_eq!(body["user"]["email"], "adopted@example.com");
    let got: Value = get_json(&app, "/api-key/get?id=BaKey00000000000000000000000001").await;
    assert_eq!(got["requestCount"], 1, "the use was counted");
    assert_eq!(got["permissions"], json!({"files": ["read"]}));
    app.stop().await;
    database.cleanup().await;
}
