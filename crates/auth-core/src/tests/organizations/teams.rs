//! The team use cases on the in-memory store: the default team, the active team and its
//! checks, listing a user's teams, seats from invitations, limits, and teams turned off.

use auth_domain::organization::RoleList;
use auth_ports::TeamRepo;

use super::*;
use crate::{ACTIVE_TEAM, ActiveTeam, TeamConfig};

async fn teams_with(teams: TeamConfig) -> Orgs {
    orgs_built(|_| {}, |orgs, store| orgs.with_teams(store, teams)).await
}

async fn teams() -> Orgs {
    teams_with(TeamConfig::default()).await
}

fn active_team(who: &AuthContext) -> Option<String> {
    match who.session.fields.get(ACTIVE_TEAM) {
        Some(FieldValue::Text(id)) => Some(id.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn the_plugin_declares_the_active_team_only_with_teams_on() {
    let with = teams().await;
    let names: Vec<&str> = with.orgs.fields().iter().map(|field| field.name).collect();
    assert_eq!(names, ["activeOrganizationId", "activeTeamId"]);
    let without = orgs().await;
    let names: Vec<&str> = without
        .orgs
        .fields()
        .iter()
        .map(|field| field.name)
        .collect();
    assert_eq!(names, ["activeOrganizationId"]);
    let ada = without.user("ada").await;
    let refused = without
        .orgs
        .list_teams(&without.auth, &ada, None)
        .await
        .expect_err("teams are off");
    assert!(matches!(refused, AuthError::Internal(_)), "{refused:?}");
}

#[tokio::test]
async fn without_a_default_team_an_organization_starts_with_none() {
    let o = teams_with(TeamConfig {
        default_team: false,
        ..TeamConfig::default()
    })
    .await;
    let ada = o.user("ada").await;
    let created = o.try_create(&ada, "Acme", "acme").await.expect("create");
    assert_eq!(created.team, None);
    let ada = o.reload(&ada.session.token).await;
    assert_eq!(active_team(&ada), None);
    assert!(
        o.orgs
            .list_teams(&o.auth, &ada, None)
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn the_active_team_is_kept_cleared_and_checked() {
    let o = teams().await;
    let ada = o.user("ada").await;
    let created = o.try_create(&ada, "Acme", "acme").await.expect("create");
    let default = created.team.expect("a default team");
    let ada = o.reload(&ada.session.token).await;
    assert_eq!(active_team(&ada).as_deref(), Some(default.id.as_str()));

    let kept = o
        .orgs
        .set_active_team(&o.auth, &ada, ActiveTeam::Keep)
        .await
        .expect("keep");
    assert_eq!(kept.map(|team| team.id), Some(default.id.clone()));
    o.orgs
        .set_active_team(&o.auth, &ada, ActiveTeam::Clear)
        .await
        .expect("clear");
    let ada = o.reload(&ada.session.token).await;
    assert_eq!(active_team(&ada), None);
    assert_eq!(
        o.orgs
            .set_active_team(&o.auth, &ada, ActiveTeam::Keep)
            .await
            .expect("keep nothing"),
        None
    );
    assert_eq!(
        o.orgs
            .set_active_team(&o.auth, &ada, ActiveTeam::Clear)
            .await
            .expect("clear nothing"),
        None
    );
    assert_eq!(
        code(
            o.orgs
                .set_active_team(&o.auth, &ada, ActiveTeam::Set("nope\u{0}"))
                .await
        ),
        "TEAM_NOT_FOUND"
    );
    assert_eq!(
        code(o.orgs.list_team_members(&ada, None).await),
        "YOU_DO_NOT_HAVE_AN_ACTIVE_TEAM"
    );

    // Switching organizations drops the active team of the old one.
    o.orgs
        .set_active(&o.auth, &ada, None)
        .await
        .expect("no active organization");
    let ada = o.reload(&ada.session.token).await;
    assert_eq!(
        code(
            o.orgs
                .set_active_team(&o.auth, &ada, ActiveTeam::Set(&default.id))
                .await
        ),
        "NO_ACTIVE_ORGANIZATION"
    );
    o.orgs
        .set_active(&o.auth, &ada, Some(by_id(&created.organization.id)))
        .await
        .expect("active again");
    let ada = o.reload(&ada.session.token).await;
    o.orgs
        .set_active_team(&o.auth, &ada, ActiveTeam::Set(&default.id))
        .await
        .expect("set");
    let ada = o.reload(&ada.session.token).await;
    let other = o.create(&ada, "other").await;
    let ada = o.reload(&ada.session.token).await;
    assert_eq!(
        Organizations::active_id(&ada.session),
        Some(other.id.as_str())
    );
    assert_ne!(
        active_team(&ada).as_deref(),
        Some(default.id.as_str()),
        "a team of the old organization is not active in the new one"
    );
}

#[tokio::test]
async fn a_users_teams_are_listed_across_organizations_or_in_one() {
    let o = teams().await;
    let ada = o.user("ada").await;
    let bob = o.user("bob").await;
    let acme = o.try_create(&ada, "Acme", "acme").await.expect("acme");
    let globex = o
        .try_create(&ada, "Globex", "globex")
        .await
        .expect("globex");
    let ada = o.reload(&ada.session.token).await;
    let all = o
        .orgs
        .list_user_teams(&o.auth, &ada, None, None)
        .await
        .expect("all");
    assert_eq!(all.len(), 2, "one default team in each organization");
    let one = o
        .orgs
        .list_user_teams(&o.auth, &ada, None, Some(&acme.organization.id))
        .await
        .expect("one");
    assert_eq!(one, [acme.team.clone().expect("team")]);
    assert_eq!(
        code(
            o.orgs
                .list_user_teams(&o.auth, &bob, None, Some(&globex.organization.id))
                .await
        ),
        "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION"
    );
    assert_eq!(
        code(
            o.orgs
                .list_user_teams(
                    &o.auth,
                    &ada,
                    Some(&bob.user.id),
                    Some(&acme.organization.id)
                )
                .await
        ),
        "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"
    );
    o.join(&acme.organization.id, &bob, "member").await;
    assert!(
        o.orgs
            .list_user_teams(
                &o.auth,
                &ada,
                Some(&bob.user.id),
                Some(&acme.organization.id)
            )
            .await
            .expect("bob's")
            .is_empty()
    );
}

#[tokio::test]
async fn an_invitation_into_a_team_removed_since_still_makes_a_member() {
    let o = teams_with(TeamConfig {
        allow_removing_all_teams: true,
        ..TeamConfig::default()
    })
    .await;
    let ada = o.user("ada").await;
    let bob = o.user("bob").await;
    let acme = o.try_create(&ada, "Acme", "acme").await.expect("acme");
    let ada = o.reload(&ada.session.token).await;
    let org = acme.organization.id.clone();
    let web = o
        .orgs
        .create_team(&o.auth, &ada, None, "Web")
        .await
        .expect("web");
    let too_many = Invite {
        team_ids: (0..101).map(|index| format!("t{index}")).collect(),
        ..invite("bob@example.com", "member")
    };
    assert_eq!(
        code(o.orgs.invite(&o.auth, &ada, by_id(&org), too_many).await),
        "VALIDATION_ERROR"
    );
    let twice = Invite {
        team_ids: vec![web.id.clone(), web.id.clone()],
        ..invite("bob@example.com", "member")
    };
    let invitation = o
        .orgs
        .invite(&o.auth, &ada, by_id(&org), twice)
        .await
        .expect("invite");
    assert_eq!(
        invitation.team_ids,
        std::slice::from_ref(&web.id),
        "named once"
    );
    o.orgs
        .remove_team(&o.auth, &ada, None, &web.id)
        .await
        .expect("remove web");
    let (_, member) = o
        .orgs
        .accept_invitation(&o.auth, &bob, &invitation.id)
        .await
        .expect("accept");
    assert_eq!(member.role, RoleList::parse("member"));
    assert!(
        o.store
            .list_user_teams(&org, &bob.user.id)
            .await
            .expect("teams")
            .is_empty()
    );
    // The default team goes too when the settings allow removing every team.
    let default = acme.team.expect("default");
    o.orgs
        .set_active_team(&o.auth, &ada, ActiveTeam::Clear)
        .await
        .expect("clear");
    let ada = o.reload(&ada.session.token).await;
    o.orgs
        .remove_team(&o.auth, &ada, None, &default.id)
        .await
        .expect("remove the last team");
}

#[tokio::test]
async fn without_teams_an_invitations_teams_are_ignored() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    let org = o.create(&ada, "acme").await;
    let with_teams = Invite {
        team_ids: vec!["t1".to_owned()],
        ..invite("bob@example.com", "member")
    };
    let invitation = o
        .orgs
        .invite(&o.auth, &ada, by_id(&org.id), with_teams)
        .await
        .expect("invite");
    assert!(invitation.team_ids.is_empty());
}

#[tokio::test]
async fn a_team_is_renamed_only_to_a_valid_name_and_kept_as_is_without_one() {
    let o = teams().await;
    let ada = o.user("ada").await;
    o.try_create(&ada, "Acme", "acme").await.expect("acme");
    let ada = o.reload(&ada.session.token).await;
    let team = o
        .orgs
        .create_team(&o.auth, &ada, None, "Web")
        .await
        .expect("web");
    o.clock.advance(time::Duration::minutes(5));
    let same = o
        .orgs
        .update_team(&o.auth, &ada, None, &team.id, None)
        .await
        .expect("touch");
    assert_eq!(same.name, "Web");
    assert!(same.updated_at > team.updated_at);
    assert_eq!(
        code(
            o.orgs
                .update_team(&o.auth, &ada, None, &team.id, Some(" \u{7}"))
                .await
        ),
        "VALIDATION_ERROR"
    );
    assert_eq!(
        code(o.orgs.create_team(&o.auth, &ada, None, "").await),
        "VALIDATION_ERROR"
    );
}
