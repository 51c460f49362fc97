//! Organization-owned API keys over real HTTP on SQLite and Postgres
//! (`AUTH_API_KEY_ORGANIZATION_CONFIG_ID`): members manage the organization's keys as their
//! roles grant `apiKey:*` (the owner everything), outsiders and plain members are refused, a
//! key authenticates application routes as its organization and never as a session, and the
//! keys go with their organization.

use poem::EndpointExt as _;
use serde_json::{Value, json};

use super::{User, create_id};
use crate::helpers::{TestApp, base_config, expect_error, start_app_customised};
use auth_store_seaorm::test_db::TestDatabase;

const CONFIG_ID: &str = "org-keys";

#[poem::handler]
fn whoami(principal: auth_http_poem::api_key::ApiKeyPrincipal) -> poem::web::Json<Value> {
    poem::web::Json(json!({
        "owner": principal.owner_id(),
        "organization": principal.organization_id(),
    }))
}

/// An app on each backend with organization keys, a role that may create and read keys, and
/// an application route a key authenticates.
async fn apps() -> Vec<TestApp> {
    let mut databases = vec![TestDatabase::sqlite()];
    databases.extend(TestDatabase::postgres().await);
    let mut apps = Vec::new();
    for database in databases {
        let mut config = base_config(&database.url);
        config.api_key_organization_config_id = Some(CONFIG_ID.to_owned());
        config.api_key_sessions = true;
        config.organization_roles =
            Some(r#"{"keymaster": {"apiKey": ["create", "read"]}}"#.to_owned());
        let route = poem::get(whoami)
            .with(auth_http_poem::api_key::RequireApiKey::any())
            .boxed();
        let app = start_app_customised(config, Some(database), |overrides| {
            overrides.routes = vec![("/v1/whoami".to_owned(), std::sync::Arc::new(route))];
        })
        .await;
        apps.push(app);
    }
    apps
}

async fn whoami_with(app: &TestApp, key: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/v1/whoami", app.address))
        .header("x-api-key", key)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn members_manage_an_organizations_keys_as_their_roles_allow() {
    for running in apps().await {
        let app = &running;
        let ada = User::sign_up(app, "ada@example.com").await;
        let bob = User::sign_up(app, "bob@example.com").await;
        let cy = User::sign_up(app, "cy@example.com").await;
        let dan = User::sign_up(app, "dan@example.com").await;
        let org = create_id(app, &ada, "acme").await;
        for (user, email, role) in [
            (&bob, "bob@example.com", "member"),
            (&dan, "dan@example.com", "keymaster"),
        ] {
            let invitation = ada
                .json(
                    app,
                    "/organization/invite-member",
                    &json!({"email": email, "role": role}),
                )
                .await;
            user.json(
                app,
                "/organization/accept-invitation",
                &json!({"invitationId": invitation["id"]}),
            )
            .await;
        }

        expect_error(
            ada.post(app, "/api-key/create", &json!({"configId": CONFIG_ID}))
                .await,
            400,
            Some("ORGANIZATION_ID_REQUIRED"),
        )
        .await;
        for (user, code) in [
            (&cy, "USER_NOT_MEMBER_OF_ORGANIZATION"),
            (&bob, "INSUFFICIENT_API_KEY_PERMISSIONS"),
        ] {
            expect_error(
                user.post(app, "/api-key/create", &json!({"organizationId": org}))
                    .await,
                403,
                Some(code),
            )
            .await;
        }
        let owners = ada
            .json(
                app,
                "/api-key/create",
                &json!({"organizationId": org, "name": "ci"}),
            )
            .await;
        assert_eq!(owners["referenceId"], org.as_str());
        assert_eq!(owners["configId"], CONFIG_ID);
        let owners_id = owners["id"].as_str().expect("id").to_owned();
        let keymasters = dan
            .json(
                app,
                "/api-key/create",
                &json!({"configId": CONFIG_ID, "organizationId": org}),
            )
            .await;
        let mine = ada
            .json(app, "/api-key/create", &json!({"name": "mine"}))
            .await;
        assert_eq!(
            mine["referenceId"],
            ada.id.as_str(),
            "no organization: a user key"
        );

        let listed: Value = ada
            .get(app, &format!("/api-key/list?organizationId={org}"))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(listed["total"], 2);
        let own: Value = ada
            .get(app, "/api-key/list")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(own["total"], 1, "a user's list holds the user's keys only");
        for (user, code) in [
            (&bob, "INSUFFICIENT_API_KEY_PERMISSIONS"),
            (&cy, "USER_NOT_MEMBER_OF_ORGANIZATION"),
        ] {
            expect_error(
                user.get(app, &format!("/api-key/list?organizationId={org}"))
                    .await,
                403,
                Some(code),
            )
            .await;
            expect_error(
                user.get(app, &format!("/api-key/get?id={owners_id}")).await,
                403,
                Some(code),
            )
            .await;
        }
        let read = dan.get(app, &format!("/api-key/get?id={owners_id}")).await;
        assert_eq!(
            read.status(),
            200,
            "a keymaster reads the organization's keys"
        );
        expect_error(
            dan.post(
                app,
                "/api-key/update",
                &json!({"keyId": owners_id, "name": "renamed"}),
            )
            .await,
            403,
            Some("INSUFFICIENT_API_KEY_PERMISSIONS"),
        )
        .await;
        let renamed = ada
            .json(
                app,
                "/api-key/update",
                &json!({"keyId": owners_id, "name": "renamed"}),
            )
            .await;
        assert_eq!(renamed["name"], "renamed");
        expect_error(
            ada.get(app, "/api-key/get?id=no-such-key").await,
            404,
            Some("KEY_NOT_FOUND"),
        )
        .await;

        // The key authenticates an application route as its organization, never a session.
        let key = keymasters["key"].as_str().expect("key");
        let seen: Value = whoami_with(app, key).await.json().await.expect("json");
        assert_eq!(seen, json!({"owner": org, "organization": org}));
        let user_key = mine["key"].as_str().expect("key");
        let seen: Value = whoami_with(app, user_key).await.json().await.expect("json");
        assert_eq!(seen, json!({"owner": ada.id, "organization": null}));
        expect_error(
            reqwest::Client::new()
                .get(app.url("/get-session"))
                .header("x-api-key", key)
                .send()
                .await
                .expect("request"),
            401,
            Some("INVALID_REFERENCE_ID_FROM_API_KEY"),
        )
        .await;

        expect_error(
            dan.post(app, "/api-key/delete", &json!({"keyId": owners_id}))
                .await,
            403,
            Some("INSUFFICIENT_API_KEY_PERMISSIONS"),
        )
        .await;
        ada.json(app, "/api-key/delete", &json!({"keyId": owners_id}))
            .await;
        // The organization's remaining key goes with it.
        ada.json(app, "/organization/delete", &json!({"organizationId": org}))
            .await;
        expect_error(whoami_with(app, key).await, 401, Some("INVALID_API_KEY")).await;
        let seen = whoami_with(app, user_key).await;
        assert_eq!(seen.status(), 200, "the user's own key stays");
        running.stop().await;
    }
}
