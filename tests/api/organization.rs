//! Organizations over real HTTP with several users, on SQLite and Postgres: creation and the
//! active organization in `get-session`, outsiders and members trying what their roles do not
//! allow, junk roles, the last-owner rules, member lists, and deletion with its cleanup.

use serde_json::{Value, json};

use crate::helpers::{TestApp, base_config, client, expect_error, start_app};
use auth_domain::UserId;
use auth_domain::organization::{Member, RoleList};
use auth_ports::{Clock, MemberAdded, OrganizationRepo};
use auth_store_seaorm::test_db::TestDatabase;
use auth_store_seaorm::{SeaOrmStore, StoreConfig};

const PASSWORD: &str = "password-123";

/// One signed-in user with a cookie jar of its own.
struct User {
    client: reqwest::Client,
    id: String,
}

impl User {
    async fn sign_up(app: &TestApp, email: &str) -> Self {
        let client = client(true);
        let response = client
            .post(app.url("/sign-up/email"))
            .json(&json!({"name": email, "email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("sign-up");
        let body: Value = response.json().await.expect("json");
        let id = body["user"]["id"].as_str().expect("user id").to_owned();
        Self { client, id }
    }

    async fn post(&self, app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(app.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.client
            .get(app.url(path))
            .send()
            .await
            .expect("request")
    }

    async fn json(&self, app: &TestApp, path: &str, body: &Value) -> Value {
        let response = self.post(app, path, body).await;
        assert_eq!(response.status(), 200, "{path} {body}");
        response.json().await.expect("json")
    }

    /// Whether `has-permission` grants `permissions` in organization `org`.
    async fn may(&self, app: &TestApp, org: &str, permissions: Value) -> bool {
        let body = json!({"organizationId": org, "permissions": permissions});
        let answer = self.json(app, "/organization/has-permission", &body).await;
        answer["success"].as_bool().expect("success")
    }

    async fn session(&self, app: &TestApp) -> Value {
        self.get(app, "/get-session")
            .await
            .json()
            .await
            .expect("json")
    }
}

/// An app and a store on the same database, for what only the server may do (`addMember`).
struct World {
    app: TestApp,
    store: SeaOrmStore,
}

async fn worlds() -> Vec<World> {
    worlds_with(|_| {}).await
}

/// A world on each backend, its configuration customised.
async fn worlds_with(customise: impl Fn(&mut auth_app::AppConfig)) -> Vec<World> {
    let mut databases = vec![TestDatabase::sqlite()];
    databases.extend(TestDatabase::postgres().await);
    let mut worlds = Vec::new();
    for database in databases {
        let url = database.url.clone();
        let mut config = base_config(&url);
        customise(&mut config);
        let app = start_app(config, Some(database)).await;
        let store = SeaOrmStore::connect(&StoreConfig::for_url(&url))
            .await
            .expect("store");
        worlds.push(World { app, store });
    }
    worlds
}

impl World {
    /// Adds a member the way a Rust caller of `addMember` does.
    async fn add(&self, organization_id: &str, user: &User, role: &str) -> String {
        let member = Member {
            id: format!("m-{}-{}", organization_id, user.id),
            organization_id: organization_id.to_owned(),
            user_id: UserId::new(user.id.clone()),
            role: RoleList::parse(role),
            created_at: self.app.clock.now() + time::Duration::minutes(1),
        };
        let added = self.store.add_member(&member, 100).await.expect("add");
        assert_eq!(added, MemberAdded::Added);
        member.id
    }
}

async fn create(app: &TestApp, owner: &User, slug: &str) -> Value {
    owner
        .json(
            app,
            "/organization/create",
            &json!({"name": format!("Org {slug}"), "slug": slug, "metadata": {"plan": "pro"}}),
        )
        .await
}

async fn create_id(app: &TestApp, owner: &User, slug: &str) -> String {
    let created = create(app, owner, slug).await;
    created["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn an_owner_creates_an_organization_that_becomes_active_and_listed() {
    for world in worlds().await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let before = ada.session(app).await;
        assert_eq!(
            before["session"]["activeOrganizationId"],
            Value::Null,
            "null until one is active: {before}"
        );
        let created = create(app, &ada, "acme").await;
        let id = created["id"].as_str().expect("id").to_owned();
        assert_eq!(created["slug"], "acme");
        assert_eq!(
            created["metadata"],
            json!({"plan": "pro"}),
            "parsed on create"
        );
        assert_eq!(created["members"][0]["role"], "owner");
        assert_eq!(created["members"][0]["userId"], ada.id.as_str());
        assert_eq!(
            ada.session(app).await["session"]["activeOrganizationId"],
            id.as_str()
        );

        let read: Value = ada
            .get(
                app,
                &format!("/organization/get-organization?organizationId={id}"),
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(read["metadata"], r#"{"plan":"pro"}"#, "as stored elsewhere");
        let listed: Value = ada
            .get(app, "/organization/list")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(listed.as_array().map(Vec::len), Some(1));
        assert_eq!(listed[0]["id"], id.as_str());

        let taken = ada
            .post(app, "/organization/check-slug", &json!({"slug": "acme"}))
            .await;
        expect_error(taken, 400, Some("ORGANIZATION_SLUG_ALREADY_TAKEN")).await;
        let free = ada
            .json(app, "/organization/check-slug", &json!({"slug": "free"}))
            .await;
        assert_eq!(free, json!({"status": true}));
        let again = ada
            .post(
                app,
                "/organization/create",
                &json!({"name": "X", "slug": "acme"}),
            )
            .await;
        expect_error(again, 400, Some("ORGANIZATION_ALREADY_EXISTS")).await;

        let updated = ada
            .json(
                app,
                "/organization/update",
                &json!({"data": {"name": "Acme Ltd", "metadata": {"plan": "team"}}}),
            )
            .await;
        assert_eq!(updated["name"], "Acme Ltd");
        assert_eq!(updated["slug"], "acme");
        assert_eq!(
            updated["metadata"],
            json!({"plan": "team"}),
            "parsed on update"
        );

        let cleared = ada
            .json(
                app,
                "/organization/set-active",
                &json!({"organizationId": null}),
            )
            .await;
        assert_eq!(cleared, Value::Null);
        assert_eq!(
            ada.session(app).await["session"]["activeOrganizationId"],
            Value::Null
        );
        let by_slug = ada
            .json(
                app,
                "/organization/set-active",
                &json!({"organizationSlug": "acme"}),
            )
            .await;
        assert_eq!(by_slug["id"], id.as_str());
        world.app.stop().await;
    }
}

#[tokio::test]
async fn outsiders_and_signed_out_callers_cannot_reach_an_organization() {
    for world in worlds().await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let eve = User::sign_up(app, "eve@example.com").await;
        let id = create_id(app, &ada, "acme").await;
        let read = eve
            .get(
                app,
                &format!("/organization/get-organization?organizationId={id}"),
            )
            .await;
        expect_error(read, 403, Some("USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")).await;
        let activate = eve
            .post(
                app,
                "/organization/set-active",
                &json!({"organizationId": id}),
            )
            .await;
        expect_error(
            activate,
            403,
            Some("USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"),
        )
        .await;
        let update = eve
            .post(
                app,
                "/organization/update",
                &json!({"organizationId": id, "data": {"name": "Pwned"}}),
            )
            .await;
        expect_error(
            update,
            400,
            Some("USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"),
        )
        .await;
        let delete = eve
            .post(app, "/organization/delete", &json!({"organizationId": id}))
            .await;
        expect_error(
            delete,
            400,
            Some("USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"),
        )
        .await;
        let permission = eve
            .post(
                app,
                "/organization/has-permission",
                &json!({"organizationId": id, "permissions": {"member": ["create"]}}),
            )
            .await;
        expect_error(
            permission,
            401,
            Some("USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"),
        )
        .await;
        let members = eve
            .get(
                app,
                &format!("/organization/list-members?organizationId={id}"),
            )
            .await;
        expect_error(
            members,
            403,
            Some("YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION"),
        )
        .await;
        for (path, code) in [
            (
                "/organization/get-organization?organizationId=%00",
                "ORGANIZATION_NOT_FOUND",
            ),
            (
                "/organization/list-members?organizationId=a%00b",
                "ORGANIZATION_NOT_FOUND",
            ),
            (
                "/organization/get-invitation?id=%00",
                "INVITATION_NOT_FOUND",
            ),
        ] {
            let response = eve.get(app, path).await;
            expect_error(response, 400, Some(code)).await;
        }
        let nul_member = ada
            .post(
                app,
                "/organization/remove-member",
                &json!({"organizationId": id, "memberIdOrEmail": "m\u{0}"}),
            )
            .await;
        expect_error(nul_member, 400, Some("MEMBER_NOT_FOUND")).await;
        let nul_logo = ada
            .post(
                app,
                "/organization/update",
                &json!({"organizationId": id, "data": {"logo": "https://x/\u{0}"}}),
            )
            .await;
        expect_error(nul_logo, 400, Some("VALIDATION_ERROR")).await;
        let huge_offset = ada
            .get(
                app,
                &format!(
                    "/organization/list-members?organizationId={id}&offset=18446744073709551615"
                ),
            )
            .await;
        assert_eq!(
            huge_offset.status(),
            200,
            "an offset past the end is an empty page"
        );
        let anonymous = client(false)
            .get(app.url("/organization/list"))
            .send()
            .await
            .expect("request");
        expect_error(anonymous, 401, Some("UNAUTHORIZED")).await;
        let read: Value = ada
            .get(
                app,
                &format!("/organization/get-organization?organizationId={id}"),
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(read["name"], "Org acme", "nothing changed");
        world.app.stop().await;
    }
}

#[tokio::test]
async fn members_are_held_to_their_roles_and_junk_roles_change_nothing() {
    for world in worlds().await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let bob = User::sign_up(app, "bob@example.com").await;
        let cy = User::sign_up(app, "cy@example.com").await;
        let id = create_id(app, &ada, "acme").await;
        let bobs = world.add(&id, &bob, "admin").await;
        let cys = world.add(&id, &cy, "member").await;
        cy.json(
            app,
            "/organization/set-active",
            &json!({"organizationId": id}),
        )
        .await;
        bob.json(
            app,
            "/organization/set-active",
            &json!({"organizationId": id}),
        )
        .await;

        let update = cy
            .post(app, "/organization/update", &json!({"data": {"name": "C"}}))
            .await;
        expect_error(
            update,
            403,
            Some("YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION"),
        )
        .await;
        let delete = bob
            .post(app, "/organization/delete", &json!({"organizationId": id}))
            .await;
        expect_error(
            delete,
            403,
            Some("YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION"),
        )
        .await;
        let remove = cy
            .post(
                app,
                "/organization/remove-member",
                &json!({"memberIdOrEmail": bobs}),
            )
            .await;
        expect_error(
            remove,
            401,
            Some("YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER"),
        )
        .await;
        let promote = cy
            .post(
                app,
                "/organization/update-member-role",
                &json!({"memberId": cys, "role": "admin"}),
            )
            .await;
        expect_error(
            promote,
            403,
            Some("YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER"),
        )
        .await;
        let crown = bob
            .post(
                app,
                "/organization/update-member-role",
                &json!({"memberId": cys, "role": ["member", "owner"]}),
            )
            .await;
        expect_error(
            crown,
            403,
            Some("YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER"),
        )
        .await;

        for junk in [
            json!("superadmin"),
            json!(""),
            json!([]),
            json!(" , "),
            json!("owner\u{0}"),
            json!(["admin", 1]),
            json!({"role": "admin"}),
            json!(7),
        ] {
            let response = bob
                .post(
                    app,
                    "/organization/update-member-role",
                    &json!({"memberId": cys, "role": junk}),
                )
                .await;
            assert_eq!(response.status(), 400, "{junk}");
            let body: Value = response.json().await.expect("json error");
            assert!(body["message"].is_string(), "{body}");
        }
        let role: Value = cy
            .get(app, "/organization/get-active-member-role")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(role, json!({"role": "member"}), "the junk changed nothing");
        let named = bob
            .post(
                app,
                "/organization/update-member-role",
                &json!({"memberId": cys, "role": "superadmin"}),
            )
            .await;
        let body = expect_error(named, 400, Some("ROLE_NOT_FOUND")).await;
        assert_eq!(body["message"], "ROLE_NOT_FOUND: superadmin");

        let promoted = bob
            .json(
                app,
                "/organization/update-member-role",
                &json!({"memberId": cys, "role": ["admin"]}),
            )
            .await;
        assert_eq!(promoted["role"], "admin");
        for (who, action, granted) in [
            (&ada, "delete", true),
            (&bob, "delete", false),
            (&cy, "update", true),
        ] {
            let answer = who
                .json(
                    app,
                    "/organization/has-permission",
                    &json!({"organizationId": id, "permissions": {"organization": [action]}}),
                )
                .await;
            assert_eq!(
                answer,
                json!({"error": null, "success": granted}),
                "{action}"
            );
        }
        let both = ada
            .post(
                app,
                "/organization/has-permission",
                &json!({"permission": {"member": ["create"]}, "permissions": {"member": ["create"]}}),
            )
            .await;
        assert_eq!(both.status(), 400);
        world.app.stop().await;
    }
}

#[tokio::test]
async fn the_last_owner_stays_and_removed_members_lose_the_organization_at_once() {
    for world in worlds().await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let bob = User::sign_up(app, "bob@example.com").await;
        let id = create_id(app, &ada, "acme").await;
        let leave = ada
            .post(app, "/organization/leave", &json!({"organizationId": id}))
            .await;
        expect_error(
            leave,
            400,
            Some("YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER"),
        )
        .await;
        let active: Value = ada
            .get(app, "/organization/get-active-member")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(active["user"]["email"], "ada@example.com");
        let step_down = ada
            .post(
                app,
                "/organization/update-member-role",
                &json!({"memberId": active["id"], "role": "member"}),
            )
            .await;
        expect_error(
            step_down,
            400,
            Some("YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER"),
        )
        .await;

        world.add(&id, &bob, "member").await;
        bob.json(
            app,
            "/organization/set-active",
            &json!({"organizationId": id}),
        )
        .await;
        let page: Value = ada
            .get(app, "/organization/list-members?limit=1&offset=1")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(page["total"], 2);
        assert_eq!(page["members"][0]["user"]["email"], "bob@example.com");
        let filtered: Value = ada
            .get(
                app,
                "/organization/list-members?filterField=role&filterValue=owner",
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(filtered["total"], 1);
        let bad_sort = ada
            .get(app, "/organization/list-members?sortBy=password")
            .await;
        assert_eq!(bad_sort.status(), 400);

        let removed = ada
            .json(
                app,
                "/organization/remove-member",
                &json!({"memberIdOrEmail": "bob@example.com"}),
            )
            .await;
        assert_eq!(removed["member"]["userId"], bob.id.as_str());
        assert_eq!(
            bob.session(app).await["session"]["activeOrganizationId"],
            Value::Null,
            "the removed member's session lost the organization"
        );
        let gone = bob.get(app, "/organization/get-active-member").await;
        expect_error(gone, 400, Some("NO_ACTIVE_ORGANIZATION")).await;
        world.app.stop().await;
    }
}

#[tokio::test]
async fn deleting_an_organization_clears_it_everywhere_and_leaves_the_rest() {
    for world in worlds().await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let bob = User::sign_up(app, "bob@example.com").await;
        let creations = "auth_organization_events_total{event=\"organization_created\"}";
        let deletions = "auth_organization_events_total{event=\"organization_deleted\"}";
        let before = (app.metric(creations).await, app.metric(deletions).await);
        let acme = create_id(app, &ada, "acme").await;
        let other = create_id(app, &bob, "other").await;
        world.add(&acme, &bob, "member").await;
        bob.json(
            app,
            "/organization/set-active",
            &json!({"organizationId": acme}),
        )
        .await;
        let deleted = ada
            .json(
                app,
                "/organization/delete",
                &json!({"organizationId": acme}),
            )
            .await;
        assert_eq!(deleted["id"], acme.as_str());
        for user in [&ada, &bob] {
            assert_eq!(
                user.session(app).await["session"]["activeOrganizationId"],
                Value::Null
            );
        }
        let listed: Value = bob
            .get(app, "/organization/list")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(listed.as_array().map(Vec::len), Some(1));
        assert_eq!(
            listed[0]["id"],
            other.as_str(),
            "the other organization stays"
        );
        let read = ada
            .get(
                app,
                &format!("/organization/get-organization?organizationId={acme}"),
            )
            .await;
        expect_error(read, 400, Some("ORGANIZATION_NOT_FOUND")).await;
        assert!(app.metric(creations).await - before.0 >= 2.0, "two created");
        assert!(app.metric(deletions).await - before.1 >= 1.0, "one deleted");
        world.app.stop().await;
    }
}

#[tokio::test]
async fn an_invitation_is_mailed_and_accepted_once_by_its_recipient() {
    for world in worlds().await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let bob = User::sign_up(app, "bob@example.com").await;
        let eve = User::sign_up(app, "eve@example.com").await;
        let counted =
            |event: &str| format!("auth_organization_events_total{{event=\"invitation_{event}\"}}");
        let mut before = Vec::new();
        for event in ["sent", "accepted", "canceled"] {
            before.push(app.metric(&counted(event)).await);
        }
        create_id(app, &ada, "acme").await;
        let invitation = ada
            .json(
                app,
                "/organization/invite-member",
                &json!({"email": "Bob@Example.com", "role": ["admin"]}),
            )
            .await;
        let id = invitation["id"].as_str().expect("id").to_owned();
        assert_eq!(invitation["email"], "bob@example.com");
        assert_eq!(invitation["status"], "pending");
        assert_eq!(invitation["role"], "admin");
        let link = crate::helpers::mailed_link(app, "bob@example.com");
        assert!(
            link.ends_with(&format!("/accept-invitation/{id}")),
            "{link}"
        );
        let mail = app.mail.last_to("bob@example.com").expect("mail");
        assert!(mail.subject.contains("Org acme"), "{}", mail.subject);

        let twice = ada
            .post(
                app,
                "/organization/invite-member",
                &json!({"email": "bob@example.com", "role": "member"}),
            )
            .await;
        expect_error(
            twice,
            400,
            Some("USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION"),
        )
        .await;
        let peek = eve
            .get(app, &format!("/organization/get-invitation?id={id}"))
            .await;
        expect_error(
            peek,
            403,
            Some("YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION"),
        )
        .await;
        let stolen = eve
            .post(
                app,
                "/organization/accept-invitation",
                &json!({"invitationId": id}),
            )
            .await;
        expect_error(
            stolen,
            403,
            Some("YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION"),
        )
        .await;
        let details: Value = bob
            .get(app, &format!("/organization/get-invitation?id={id}"))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(details["organizationSlug"], "acme");
        assert_eq!(details["inviterEmail"], "ada@example.com");

        let accepted = bob
            .json(
                app,
                "/organization/accept-invitation",
                &json!({"invitationId": id}),
            )
            .await;
        assert_eq!(accepted["invitation"]["status"], "accepted");
        assert_eq!(accepted["member"]["role"], "admin");
        assert_eq!(accepted["member"]["userId"], bob.id.as_str());
        let again = bob
            .post(
                app,
                "/organization/accept-invitation",
                &json!({"invitationId": id}),
            )
            .await;
        expect_error(again, 400, Some("INVITATION_NOT_FOUND")).await;
        let full: Value = ada
            .get(app, "/organization/get-full-organization")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(full["slug"], "acme");
        assert_eq!(full["members"].as_array().map(Vec::len), Some(2));
        let emails: Vec<&str> = full["members"]
            .as_array()
            .expect("members")
            .iter()
            .filter_map(|member| member["user"]["email"].as_str())
            .collect();
        assert!(emails.contains(&"bob@example.com"), "{emails:?}");
        assert_eq!(full["invitations"][0]["id"], id.as_str());
        let as_member: Value = bob
            .get(app, "/organization/get-full-organization")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            as_member["invitations"][0]["id"],
            id.as_str(),
            "bob joined as an admin, who may invite and so sees them"
        );
        let listed: Value = ada
            .get(app, "/organization/list-invitations")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(listed[0]["status"], "accepted", "every status is listed");
        let unverified = bob.get(app, "/organization/list-user-invitations").await;
        expect_error(
            unverified,
            403,
            Some("EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION"),
        )
        .await;
        let server_only = bob
            .get(
                app,
                "/organization/list-user-invitations?email=bob@example.com",
            )
            .await;
        assert_eq!(server_only.status(), 400);

        let cancelled = ada
            .json(
                app,
                "/organization/invite-member",
                &json!({"email": "cy@example.com", "role": "member"}),
            )
            .await;
        let cancelled = ada
            .json(
                app,
                "/organization/cancel-invitation",
                &json!({"invitationId": cancelled["id"]}),
            )
            .await;
        assert_eq!(cancelled["status"], "canceled");
        for (event, (least, before)) in ["sent", "accepted", "canceled"]
            .into_iter()
            .zip([2.0, 1.0, 1.0].into_iter().zip(before))
        {
            let after = app.metric(&counted(event)).await;
            assert!(after - before >= least, "{event}: {before} -> {after}");
        }
        world.app.stop().await;
    }
}

#[tokio::test]
async fn ten_concurrent_accepts_of_one_invitation_make_one_membership() {
    for world in worlds().await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let bob = User::sign_up(app, "bob@example.com").await;
        let org = create_id(app, &ada, "acme").await;
        let invitation = ada
            .json(
                app,
                "/organization/invite-member",
                &json!({"email": "bob@example.com", "role": "member"}),
            )
            .await;
        let id = invitation["id"].as_str().expect("id").to_owned();
        let body = json!({"invitationId": id});
        let attempts = (0..10).map(|_| bob.post(app, "/organization/accept-invitation", &body));
        let statuses: Vec<u16> = futures_util::future::join_all(attempts)
            .await
            .iter()
            .map(|response| response.status().as_u16())
            .collect();
        assert_eq!(
            statuses.iter().filter(|status| **status == 200).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|status| matches!(status, 200 | 400)),
            "{statuses:?}"
        );
        let members: Value = ada
            .get(
                app,
                &format!("/organization/list-members?organizationId={org}"),
            )
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(members["total"], 2);
        world.app.stop().await;
    }
}

#[poem::handler]
fn organization_slug(member: auth_http_poem::organization::OrganizationMember) -> String {
    member.organization.slug
}

#[poem::handler]
fn member_roles(member: auth_http_poem::organization::OrganizationMember) -> String {
    member.member.role.joined()
}

#[tokio::test]
async fn application_routes_are_guarded_by_membership_role_and_permission() {
    use auth_http_poem::organization::RequireOrganization;
    use poem::EndpointExt;
    let mut databases = vec![TestDatabase::sqlite()];
    databases.extend(TestDatabase::postgres().await);
    for database in databases {
        let url = database.url.clone();
        let routes: Vec<(String, auth_app::AppEndpoint)> = vec![
            (
                "/v1/dashboard".to_owned(),
                std::sync::Arc::new(
                    poem::get(organization_slug)
                        .with(RequireOrganization::member())
                        .boxed(),
                ),
            ),
            (
                "/v1/admin".to_owned(),
                std::sync::Arc::new(
                    poem::get(member_roles)
                        .with(RequireOrganization::role("owner"))
                        .boxed(),
                ),
            ),
            (
                "/v1/orgs/:org/projects".to_owned(),
                std::sync::Arc::new(
                    poem::get(member_roles)
                        .with(
                            RequireOrganization::permission(&[("member", &["create"])])
                                .in_path("org"),
                        )
                        .boxed(),
                ),
            ),
        ];
        let app =
            crate::helpers::start_app_customised(base_config(&url), Some(database), |overrides| {
                overrides.routes = routes;
            })
            .await;
        let store = SeaOrmStore::connect(&StoreConfig::for_url(&url))
            .await
            .expect("store");
        let world = World { app, store };
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let bob = User::sign_up(app, "bob@example.com").await;
        let eve = User::sign_up(app, "eve@example.com").await;
        let org = create_id(app, &ada, "acme").await;
        let bobs = world.add(&org, &bob, "member").await;
        let get = |user: &User, path: String| {
            let request = user.client.get(format!("{}{path}", app.address));
            async move { request.send().await.expect("request") }
        };
        let dashboard = get(&ada, "/v1/dashboard".into()).await;
        assert_eq!(dashboard.status(), 200);
        assert_eq!(dashboard.text().await.expect("text"), "acme");
        expect_error(
            get(&bob, "/v1/dashboard".into()).await,
            400,
            Some("NO_ACTIVE_ORGANIZATION"),
        )
        .await;
        let projects = format!("/v1/orgs/{org}/projects");
        assert_eq!(
            get(&ada, projects.clone())
                .await
                .text()
                .await
                .expect("text"),
            "owner"
        );
        expect_error(
            get(&bob, projects.clone()).await,
            403,
            Some("ORGANIZATION_PERMISSION_REQUIRED"),
        )
        .await;
        expect_error(
            get(&eve, projects.clone()).await,
            403,
            Some("USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"),
        )
        .await;
        expect_error(
            get(&ada, "/v1/orgs/nope/projects".into()).await,
            400,
            Some("ORGANIZATION_NOT_FOUND"),
        )
        .await;
        let anonymous = client(false)
            .get(format!("{}/v1/dashboard", app.address))
            .send()
            .await
            .expect("request");
        expect_error(anonymous, 401, Some("UNAUTHORIZED")).await;
        bob.json(
            app,
            "/organization/set-active",
            &json!({"organizationId": org}),
        )
        .await;
        assert_eq!(get(&bob, "/v1/dashboard".into()).await.status(), 200);
        expect_error(
            get(&bob, "/v1/admin".into()).await,
            403,
            Some("ORGANIZATION_ROLE_REQUIRED"),
        )
        .await;
        assert_eq!(
            get(&ada, "/v1/admin".into())
                .await
                .text()
                .await
                .expect("text"),
            "owner"
        );
        ada.json(
            app,
            "/organization/remove-member",
            &json!({"memberIdOrEmail": bobs}),
        )
        .await;
        let removed = get(&bob, "/v1/dashboard".into()).await;
        assert!(
            matches!(removed.status().as_u16(), 400 | 403),
            "a removed member is refused at once: {}",
            removed.status()
        );
        world.app.stop().await;
    }
}

#[tokio::test]
async fn configured_roles_are_given_and_checked_like_the_defaults() {
    let roles = r#"{"auditor": {"report": ["read"]}}"#;
    for world in worlds_with(|config| config.organization_roles = Some(roles.to_owned())).await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let bob = User::sign_up(app, "bob@example.com").await;
        let org = create_id(app, &ada, "acme").await;
        let bobs = world.add(&org, &bob, "member").await;
        let audited = ada
            .json(
                app,
                "/organization/update-member-role",
                &json!({"memberId": bobs, "role": "auditor"}),
            )
            .await;
        assert_eq!(audited["role"], "auditor");
        assert!(bob.may(app, &org, json!({"report": ["read"]})).await);
        assert!(!bob.may(app, &org, json!({"report": ["write"]})).await);
        assert!(
            !ada.may(app, &org, json!({"report": ["read"]})).await,
            "a configured role grants only its own"
        );
        world.app.stop().await;
    }
}

#[tokio::test]
async fn a_deleted_user_leaves_every_organization_and_nothing_else_goes() {
    for world in worlds_with(|config| config.delete_user_enabled = true).await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let bob = User::sign_up(app, "bob@example.com").await;
        let org = create_id(app, &ada, "acme").await;
        world.add(&org, &bob, "admin").await;
        let invited = bob
            .json(
                app,
                "/organization/invite-member",
                &json!({"organizationId": org, "email": "cy@example.com", "role": "member"}),
            )
            .await;
        bob.json(app, "/delete-user", &json!({"password": PASSWORD}))
            .await;
        let members: Value = ada
            .get(app, "/organization/list-members")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(members["total"], 1, "bob's membership went with him");
        let invitations: Value = ada
            .get(app, "/organization/list-invitations")
            .await
            .json()
            .await
            .expect("json");
        assert!(
            invitations
                .as_array()
                .expect("list")
                .iter()
                .all(|one| one["id"] != invited["id"]),
            "and the invitations he sent (the foreign key cascades, as in Better-Auth)"
        );
        let read = ada
            .get(
                app,
                &format!("/organization/get-organization?organizationId={org}"),
            )
            .await;
        assert_eq!(read.status(), 200, "the organization stays");
        world.app.stop().await;
    }
}

#[tokio::test]
async fn organizations_define_roles_of_their_own_with_dynamic_access_control() {
    for world in worlds_with(|config| config.organization_dynamic_roles = true).await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let bob = User::sign_up(app, "bob@example.com").await;
        let org = create_id(app, &ada, "acme").await;
        let bobs = world.add(&org, &bob, "admin").await;
        let made = ada
            .json(
                app,
                "/organization/create-role",
                &json!({"role": "support", "permission": {"member": ["update"]}}),
            )
            .await;
        assert_eq!(made["success"], true);
        assert_eq!(made["roleData"]["role"], "support");
        assert_eq!(
            made["roleData"]["permission"],
            json!({"member": ["update"]})
        );
        let taken = ada
            .post(
                app,
                "/organization/create-role",
                &json!({"role": "support", "permission": {"member": ["update"]}}),
            )
            .await;
        expect_error(taken, 400, Some("ROLE_NAME_IS_ALREADY_TAKEN")).await;
        bob.json(
            app,
            "/organization/set-active",
            &json!({"organizationId": org}),
        )
        .await;
        let beyond = bob
            .post(
                app,
                "/organization/create-role",
                &json!({"role": "deleter", "permission": {"organization": ["delete"]}}),
            )
            .await;
        expect_error(beyond, 403, Some("YOU_ARE_NOT_ALLOWED_TO_CREATE_A_ROLE")).await;
        let unknown = ada
            .post(
                app,
                "/organization/create-role",
                &json!({"role": "biller", "permission": {"billing": ["read"]}}),
            )
            .await;
        expect_error(unknown, 400, Some("INVALID_RESOURCE")).await;

        let given = ada
            .json(
                app,
                "/organization/update-member-role",
                &json!({"memberId": bobs, "role": "support"}),
            )
            .await;
        assert_eq!(given["role"], "support");
        assert!(bob.may(app, &org, json!({"member": ["update"]})).await);
        assert!(!bob.may(app, &org, json!({"member": ["delete"]})).await);
        let listed: Value = ada
            .get(app, "/organization/list-roles")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(listed.as_array().map(Vec::len), Some(1));
        let read: Value = ada
            .get(app, "/organization/get-role?roleName=support")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(read["id"], made["roleData"]["id"]);
        let changed = ada
            .json(
                app,
                "/organization/update-role",
                &json!({"roleName": "support", "data": {"permission": {"member": ["update", "delete"]}}}),
            )
            .await;
        assert_eq!(
            changed["roleData"]["permission"]["member"],
            json!(["update", "delete"])
        );
        assert!(
            bob.may(app, &org, json!({"member": ["delete"]})).await,
            "a changed role applies at once"
        );
        let assigned = ada
            .post(
                app,
                "/organization/delete-role",
                &json!({"roleName": "support"}),
            )
            .await;
        expect_error(assigned, 400, Some("ROLE_IS_ASSIGNED_TO_MEMBERS")).await;
        let predefined = ada
            .post(
                app,
                "/organization/delete-role",
                &json!({"roleName": "admin"}),
            )
            .await;
        expect_error(predefined, 400, Some("CANNOT_DELETE_A_PRE_DEFINED_ROLE")).await;
        world.app.stop().await;
    }
}

mod api_keys;
mod teams;
