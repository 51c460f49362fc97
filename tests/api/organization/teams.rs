//! Teams over real HTTP on SQLite and Postgres (`AUTH_ORGANIZATION_TEAMS`): the default team,
//! the team routes held to the caller's roles, the active team in `get-session`, seats given
//! on accepting an invitation, the team and seat limits under concurrency, and outsiders.

use serde_json::{Value, json};

use super::{User, create_id, worlds_with};
use crate::helpers::{TestApp, expect_error};

fn teams_on(config: &mut auth_app::AppConfig) {
    config.organization_teams = true;
}

async fn team_ids(user: &User, app: &TestApp, path: &str) -> Vec<String> {
    let response = user.get(app, path).await;
    assert_eq!(response.status(), 200, "{path}");
    let teams: Value = response.json().await.expect("json");
    teams
        .as_array()
        .expect("a list")
        .iter()
        .map(|team| team["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_new_organization_has_a_default_team_that_becomes_active() {
    for world in worlds_with(teams_on).await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let session = ada.session(app).await;
        assert!(
            session["session"]["activeTeamId"].is_null()
                && session["session"]
                    .as_object()
                    .expect("session")
                    .contains_key("activeTeamId"),
            "activeTeamId is null before any team: {session}"
        );
        let org = create_id(app, &ada, "acme").await;
        let teams = team_ids(&ada, app, "/organization/list-teams").await;
        assert_eq!(teams.len(), 1, "the default team");
        let session = ada.session(app).await;
        assert_eq!(session["session"]["activeTeamId"], teams[0].as_str());
        let full: Value = ada
            .get(app, "/organization/get-full-organization")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(full["teams"][0]["name"], "Org acme");
        assert_eq!(full["teams"][0]["organizationId"], org.as_str());
        assert!(
            full["teams"][0].get("memberCount").is_none(),
            "memberCount is never answered"
        );
        let seats: Value = ada
            .get(app, "/organization/list-team-members")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(
            seats[0]["userId"],
            ada.id.as_str(),
            "the creator sits in it"
        );
        expect_error(
            ada.post(
                app,
                "/organization/remove-team",
                &json!({"teamId": teams[0]}),
            )
            .await,
            403,
            Some("YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_TEAM"),
        )
        .await;
        let cleared = ada
            .json(
                app,
                "/organization/set-active-team",
                &json!({"teamId": null}),
            )
            .await;
        assert!(cleared.is_null());
        expect_error(
            ada.post(
                app,
                "/organization/remove-team",
                &json!({"teamId": teams[0]}),
            )
            .await,
            400,
            Some("UNABLE_TO_REMOVE_LAST_TEAM"),
        )
        .await;
        world.app.stop().await;
    }
}

#[tokio::test]
async fn teams_are_created_renamed_joined_and_removed_by_those_whose_roles_allow() {
    for world in worlds_with(teams_on).await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let bob = User::sign_up(app, "bob@example.com").await;
        let cy = User::sign_up(app, "cy@example.com").await;
        let org = create_id(app, &ada, "acme").await;
        world.add(&org, &bob, "member").await;
        bob.json(
            app,
            "/organization/set-active",
            &json!({"organizationId": org}),
        )
        .await;

        let core = ada
            .json(app, "/organization/create-team", &json!({"name": "Core"}))
            .await;
        let core_id = core["id"].as_str().expect("id").to_owned();
        assert_eq!(core["organizationId"], org.as_str());
        assert!(core["createdAt"].is_string() && core["updatedAt"].is_string());

        // A plain member holds none of team:create, team:update, team:delete, member:update.
        for (path, body, code) in [
            (
                "/organization/create-team",
                json!({"name": "Mine"}),
                "YOU_ARE_NOT_ALLOWED_TO_CREATE_TEAMS_IN_THIS_ORGANIZATION",
            ),
            (
                "/organization/update-team",
                json!({"teamId": core_id, "data": {"name": "Taken"}}),
                "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_TEAM",
            ),
            (
                "/organization/remove-team",
                json!({"teamId": core_id}),
                "YOU_ARE_NOT_ALLOWED_TO_DELETE_TEAMS_IN_THIS_ORGANIZATION",
            ),
            (
                "/organization/add-team-member",
                json!({"teamId": core_id, "userId": bob.id}),
                "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_TEAM_MEMBER",
            ),
        ] {
            expect_error(bob.post(app, path, &body).await, 403, Some(code)).await;
        }
        // An outsider names the organization by id and gets nothing.
        for (path, body, status, code) in [
            (
                "/organization/create-team",
                json!({"name": "Mine", "organizationId": org}),
                403,
                "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION",
            ),
            (
                "/organization/add-team-member",
                json!({"teamId": core_id, "userId": cy.id, "organizationId": org}),
                400,
                "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION",
            ),
        ] {
            expect_error(cy.post(app, path, &body).await, status, Some(code)).await;
        }
        expect_error(
            cy.get(
                app,
                &format!("/organization/list-teams?organizationId={org}"),
            )
            .await,
            403,
            Some("YOU_ARE_NOT_ALLOWED_TO_ACCESS_THIS_ORGANIZATION"),
        )
        .await;
        expect_error(
            cy.get(
                app,
                &format!("/organization/list-team-members?teamId={core_id}"),
            )
            .await,
            400,
            Some("USER_IS_NOT_A_MEMBER_OF_THE_TEAM"),
        )
        .await;
        // Only members of the organization get seats.
        expect_error(
            ada.post(
                app,
                "/organization/add-team-member",
                &json!({"teamId": core_id, "userId": cy.id}),
            )
            .await,
            400,
            Some("USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"),
        )
        .await;

        let seat = ada
            .json(
                app,
                "/organization/add-team-member",
                &json!({"teamId": core_id, "userId": bob.id}),
            )
            .await;
        assert_eq!(seat["teamId"], core_id.as_str());
        assert_eq!(seat["userId"], bob.id.as_str());
        let again = ada
            .json(
                app,
                "/organization/add-team-member",
                &json!({"teamId": core_id, "userId": bob.id}),
            )
            .await;
        assert_eq!(again["id"], seat["id"], "a seat twice is the same seat");
        assert_eq!(
            team_ids(&bob, app, "/organization/list-user-teams").await,
            std::slice::from_ref(&core_id)
        );
        assert_eq!(
            team_ids(
                &ada,
                app,
                &format!("/organization/list-user-teams?userId={}", bob.id)
            )
            .await,
            std::slice::from_ref(&core_id),
            "an owner lists another member's teams"
        );
        expect_error(
            bob.get(
                app,
                &format!("/organization/list-user-teams?userId={}", ada.id),
            )
            .await,
            403,
            Some("YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER"),
        )
        .await;

        let active = bob
            .json(
                app,
                "/organization/set-active-team",
                &json!({"teamId": core_id}),
            )
            .await;
        assert_eq!(active["id"], core_id.as_str());
        assert_eq!(
            bob.session(app).await["session"]["activeTeamId"],
            core_id.as_str()
        );
        let kept = bob
            .json(app, "/organization/set-active-team", &json!({}))
            .await;
        assert_eq!(
            kept["id"],
            core_id.as_str(),
            "no teamId answers the active team"
        );
        let members: Value = bob
            .get(app, "/organization/list-team-members")
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(members.as_array().map(Vec::len), Some(1));

        let renamed = ada
            .json(
                app,
                "/organization/update-team",
                &json!({"teamId": core_id, "data": {"name": "Core team"}}),
            )
            .await;
        assert_eq!(renamed["name"], "Core team");
        for junk in [
            json!({"teamId": core_id, "data": {"name": ""}}),
            json!({"teamId": core_id, "data": {"name": 7}}),
            json!({"teamId": core_id, "data": {"name": "a\u{0}b"}}),
        ] {
            let response = ada.post(app, "/organization/update-team", &junk).await;
            assert_eq!(response.status(), 400, "{junk}");
        }
        let typed = ada
            .post(
                app,
                "/organization/update-team",
                &json!({"teamId": core_id, "data": {"name": 7}}),
            )
            .await;
        let issue: Value = typed.json().await.expect("json");
        assert_eq!(
            issue["message"], "[body.data.name] Invalid input: expected string, received number",
            "nested fields are type-checked as zod does"
        );
        let listed = team_ids(&ada, app, "/organization/list-teams").await;
        assert!(listed.contains(&core_id));

        let removed = ada
            .json(
                app,
                "/organization/remove-team-member",
                &json!({"teamId": core_id, "userId": bob.id}),
            )
            .await;
        assert_eq!(removed["message"], "Team member removed successfully.");
        assert!(
            bob.session(app).await["session"]["activeTeamId"].is_null(),
            "a member taken out of a team loses it as the active team at once"
        );
        expect_error(
            bob.post(
                app,
                "/organization/set-active-team",
                &json!({"teamId": core_id}),
            )
            .await,
            403,
            Some("USER_IS_NOT_A_MEMBER_OF_THE_TEAM"),
        )
        .await;
        expect_error(
            ada.post(
                app,
                "/organization/remove-team-member",
                &json!({"teamId": core_id, "userId": bob.id}),
            )
            .await,
            400,
            Some("USER_IS_NOT_A_MEMBER_OF_THE_TEAM"),
        )
        .await;

        let gone = ada
            .json(
                app,
                "/organization/remove-team",
                &json!({"teamId": core_id}),
            )
            .await;
        assert_eq!(gone["message"], "Team removed successfully.");
        expect_error(
            ada.post(
                app,
                "/organization/update-team",
                &json!({"teamId": core_id, "data": {"name": "Back"}}),
            )
            .await,
            400,
            Some("TEAM_NOT_FOUND"),
        )
        .await;
        assert_eq!(
            team_ids(&ada, app, "/organization/list-teams").await.len(),
            1,
            "the default team stays"
        );
        world.app.stop().await;
    }
}

#[tokio::test]
async fn an_invitation_seats_the_invitee_in_its_team_which_becomes_active() {
    for world in worlds_with(teams_on).await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let bob = User::sign_up(app, "bob@example.com").await;
        let org = create_id(app, &ada, "acme").await;
        let team = ada
            .json(app, "/organization/create-team", &json!({"name": "Web"}))
            .await;
        let team_id = team["id"].as_str().expect("id").to_owned();
        for (team_id, status, code) in [
            (json!("no-such-team"), 400, "TEAM_NOT_FOUND"),
            (json!(["a,b"]), 400, "INVALID_TEAM_ID"),
        ] {
            expect_error(
                ada.post(
                    app,
                    "/organization/invite-member",
                    &json!({"email": "bob@example.com", "role": "member", "teamId": team_id}),
                )
                .await,
                status,
                Some(code),
            )
            .await;
        }
        let response = ada
            .post(
                app,
                "/organization/invite-member",
                &json!({"email": "bob@example.com", "role": "member", "teamId": [7]}),
            )
            .await;
        assert_eq!(response.status(), 400, "a team id must be a string");
        let invitation = ada
            .json(
                app,
                "/organization/invite-member",
                &json!({"email": "bob@example.com", "role": "member", "teamId": team_id}),
            )
            .await;
        assert_eq!(invitation["teamId"], team_id.as_str());
        bob.json(
            app,
            "/organization/accept-invitation",
            &json!({"invitationId": invitation["id"]}),
        )
        .await;
        let session = bob.session(app).await;
        assert_eq!(session["session"]["activeOrganizationId"], org.as_str());
        assert_eq!(session["session"]["activeTeamId"], team_id.as_str());
        assert_eq!(
            team_ids(&bob, app, "/organization/list-user-teams").await,
            [team_id]
        );
        world.app.stop().await;
    }
}

#[tokio::test]
async fn team_and_seat_limits_hold_under_concurrent_requests() {
    let limits = |config: &mut auth_app::AppConfig| {
        teams_on(config);
        config.organization_maximum_teams = Some(3);
        config.organization_maximum_members_per_team = Some(2);
    };
    for world in worlds_with(limits).await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let org = create_id(app, &ada, "acme").await;
        let bodies: Vec<Value> = (0..6)
            .map(|index| json!({"name": format!("Team {index}")}))
            .collect();
        let attempts = bodies
            .iter()
            .map(|body| ada.post(app, "/organization/create-team", body));
        let statuses: Vec<u16> = futures_util::future::join_all(attempts)
            .await
            .iter()
            .map(|response| response.status().as_u16())
            .collect();
        assert_eq!(
            statuses.iter().filter(|status| **status == 200).count(),
            2,
            "three teams with the default one: {statuses:?}"
        );
        assert_eq!(
            team_ids(&ada, app, "/organization/list-teams").await.len(),
            3
        );
        expect_error(
            ada.post(app, "/organization/create-team", &json!({"name": "More"}))
                .await,
            400,
            Some("YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_TEAMS"),
        )
        .await;

        let session = ada.session(app).await;
        let default_team = session["session"]["activeTeamId"]
            .as_str()
            .expect("the default team is active")
            .to_owned();
        let mut joiners = Vec::new();
        for index in 0..5 {
            let user = User::sign_up(app, &format!("user{index}@example.com")).await;
            world.add(&org, &user, "member").await;
            joiners.push(user);
        }
        let bodies: Vec<Value> = joiners
            .iter()
            .map(|user| json!({"teamId": default_team, "userId": user.id}))
            .collect();
        let seats = bodies
            .iter()
            .map(|body| ada.post(app, "/organization/add-team-member", body));
        let responses = futures_util::future::join_all(seats).await;
        let mut added = 0;
        for response in responses {
            match response.status().as_u16() {
                200 => added += 1,
                403 => {
                    expect_error(response, 403, Some("TEAM_MEMBER_LIMIT_REACHED")).await;
                }
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(added, 1, "two seats, the creator holds one");
        world.app.stop().await;
    }
}

#[tokio::test]
async fn without_teams_the_team_routes_are_absent() {
    for world in worlds_with(|_| {}).await {
        let app = &world.app;
        let ada = User::sign_up(app, "ada@example.com").await;
        let response = ada
            .post(app, "/organization/create-team", &json!({"name": "Core"}))
            .await;
        assert_eq!(response.status(), 404);
        let session = ada.session(app).await;
        assert!(
            session["session"].get("activeTeamId").is_none(),
            "no activeTeamId without teams: {session}"
        );
        world.app.stop().await;
    }
}
