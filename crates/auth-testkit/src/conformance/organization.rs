//! The `OrganizationRepo` conformance cases.
#![allow(
    clippy::expect_used,
    reason = "a conformance case panics on the first port call that fails, naming it"
)]

use std::sync::Arc;

use auth_domain::Permissions;
use auth_domain::organization::{Invitation, InvitationStatus, StoredRole, Team, TeamMember};
use auth_domain::organization::{Member, Organization, RoleList};
use auth_domain::{User, UserId};
use auth_ports::{
    Accepted, InvitationRepo, Invited, MemberAdded, MemberChange, MemberQuery, MemberSort,
    OrganizationRepo, PortError, RoleDeleted, RoleRepo, TeamDeleted, TeamRepo, UserRepo,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

fn organization(tag: &str) -> Organization {
    Organization {
        id: format!("org-{tag}"),
        name: format!("Org {tag}"),
        slug: format!("slug-{tag}"),
        logo: None,
        metadata: Some(r#"{"plan":"pro"}"#.to_owned()),
        created_at: T0,
    }
}

fn member(org: &Organization, user: &UserId, role: &str, minutes: i64) -> Member {
    Member {
        id: format!("member-{}-{}", org.id, user),
        organization_id: org.id.clone(),
        user_id: user.clone(),
        role: RoleList::parse(role),
        created_at: T0 + Duration::minutes(minutes),
    }
}

async fn user(users: &dyn UserRepo, tag: &str) -> UserId {
    let user = super::user(&format!("org-{tag}"));
    users
        .create_with_account(&user, &super::credential(&user))
        .await
        .expect("create a user");
    user.id
}

/// Runs every case against a store with no organizations. `users` must be the same store.
///
/// # Panics
/// When a case fails, with its name.
pub async fn run_organization_suite<S>(store: Arc<S>)
where
    S: OrganizationRepo + InvitationRepo + RoleRepo + TeamRepo + UserRepo + 'static,
{
    let users: &dyn UserRepo = store.as_ref();
    let repo: &dyn OrganizationRepo = store.as_ref();
    create_find_update_and_delete(repo, users).await;
    members_are_listed_sorted_paged_and_filtered(repo, users).await;
    the_member_limit_holds_under_concurrency(store.clone()).await;
    invitations_are_stored_listed_and_closed_once(store.as_ref()).await;
    one_of_concurrent_accepts_wins_and_the_pending_limit_holds(store.clone()).await;
    stored_roles_are_unique_per_organization_and_kept_while_assigned(store.as_ref()).await;
    teams_hold_members_once_within_their_limits(store.clone()).await;
    team_limits_hold_under_concurrency(store.clone()).await;
}

async fn create_find_update_and_delete(repo: &dyn OrganizationRepo, users: &dyn UserRepo) {
    let ada = user(users, "ada").await;
    let bob = user(users, "bob").await;
    let acme = organization("acme");
    repo.create(&acme, &member(&acme, &ada, "owner", 0))
        .await
        .expect("create");
    assert_eq!(repo.find(&acme.id).await.expect("find"), Some(acme.clone()));
    assert_eq!(
        repo.find_by_slug("slug-acme").await.expect("by slug"),
        Some(acme.clone())
    );
    assert_eq!(repo.find("org-none").await.expect("find"), None);

    let mut clash = organization("clash");
    clash.slug = acme.slug.clone();
    assert!(
        matches!(
            repo.create(&clash, &member(&clash, &bob, "owner", 0)).await,
            Err(PortError::Conflict)
        ),
        "a taken slug conflicts"
    );
    assert_eq!(
        repo.find(&clash.id).await.expect("find"),
        None,
        "nothing written"
    );
    assert_eq!(repo.count_for_user(&bob).await.expect("count"), 0);

    let other = organization("other");
    repo.create(&other, &member(&other, &bob, "owner", 0))
        .await
        .expect("create other");
    let mut renamed = acme.clone();
    renamed.name = "Acme Ltd".into();
    renamed.slug = "acme-ltd".into();
    renamed.created_at = T0 + Duration::days(9);
    repo.update(&renamed).await.expect("update");
    let read = repo.find(&acme.id).await.expect("find").expect("exists");
    assert_eq!(read.name, "Acme Ltd");
    assert_eq!(read.created_at, T0, "the creation time is never rewritten");
    let mut taken = read.clone();
    taken.slug = other.slug.clone();
    assert!(matches!(
        repo.update(&taken).await,
        Err(PortError::Conflict)
    ));
    assert!(matches!(
        repo.update(&organization("ghost")).await,
        Err(PortError::NotFound)
    ));

    let added = repo
        .add_member(&member(&acme, &bob, "admin, member", 1), 100)
        .await
        .expect("add");
    assert_eq!(added, MemberAdded::Added);
    assert!(matches!(
        repo.add_member(&member(&acme, &bob, "member", 2), 100)
            .await,
        Err(PortError::Conflict)
    ));
    assert!(matches!(
        repo.add_member(&member(&organization("ghost"), &bob, "member", 2), 100)
            .await,
        Err(PortError::NotFound)
    ));
    let bobs = repo
        .find_member(&acme.id, &bob)
        .await
        .expect("find member")
        .expect("is a member");
    assert_eq!(bobs.role.joined(), "admin,member", "stored normalised");
    assert_eq!(
        repo.find_member_by_id(&bobs.id).await.expect("by id"),
        Some(bobs.clone())
    );
    let orgs: Vec<String> = repo
        .list_for_user(&bob)
        .await
        .expect("list")
        .into_iter()
        .map(|org| org.id)
        .collect();
    assert_eq!(orgs, [acme.id.clone(), other.id.clone()]);
    assert_eq!(repo.count_for_user(&bob).await.expect("count"), 2);

    let owner = RoleList::parse("owner");
    let adas = repo
        .find_member(&acme.id, &ada)
        .await
        .expect("find")
        .expect("the creator");
    assert_eq!(
        repo.change_member_role(&adas.id, &owner, &RoleList::parse("admin"), "owner")
            .await
            .expect("step down"),
        MemberChange::LastHolder,
        "the last owner keeps the role"
    );
    assert_eq!(
        repo.remove_member(&adas.id, "owner").await.expect("remove"),
        MemberChange::LastHolder,
        "and stays"
    );
    assert_eq!(
        repo.change_member_role(&bobs.id, &owner, &owner, "owner")
            .await
            .expect("stale"),
        MemberChange::Changed,
        "bob's roles are no longer what the caller read"
    );
    assert_eq!(
        repo.change_member_role(&bobs.id, &bobs.role, &owner, "owner")
            .await
            .expect("update role"),
        MemberChange::Done
    );
    assert_eq!(repo.count_with_role(&acme.id, "owner").await.expect("n"), 2);
    assert!(matches!(
        repo.change_member_role("member-none", &owner, &owner, "owner")
            .await,
        Err(PortError::NotFound)
    ));
    assert_eq!(
        repo.change_member_role(&adas.id, &owner, &RoleList::parse("admin"), "owner")
            .await
            .expect("step down"),
        MemberChange::Done,
        "with a second owner, the first may step down"
    );
    assert_eq!(
        repo.remove_member(&bobs.id, "owner").await.expect("remove"),
        MemberChange::LastHolder,
        "bob is now the only owner"
    );
    repo.change_member_role(&adas.id, &RoleList::parse("admin"), &owner, "owner")
        .await
        .expect("back to owner");
    assert_eq!(
        repo.remove_member(&bobs.id, "owner").await.expect("remove"),
        MemberChange::Done
    );
    assert_eq!(repo.find_member(&acme.id, &bob).await.expect("find"), None);
    assert!(matches!(
        repo.remove_member(&bobs.id, "owner").await,
        Err(PortError::NotFound)
    ));

    let members = repo.delete(&other.id).await.expect("delete");
    assert_eq!(members, std::slice::from_ref(&bob));
    assert_eq!(repo.find(&other.id).await.expect("find"), None);
    assert_eq!(repo.find_member(&other.id, &bob).await.expect("find"), None);
    assert_eq!(repo.count_for_user(&bob).await.expect("count"), 0);
    assert!(
        repo.find(&acme.id).await.expect("find").is_some(),
        "others stay"
    );
    assert!(matches!(
        repo.delete(&other.id).await,
        Err(PortError::NotFound)
    ));
}

async fn members_are_listed_sorted_paged_and_filtered(
    repo: &dyn OrganizationRepo,
    users: &dyn UserRepo,
) {
    let org = organization("list");
    let first = user(users, "list-0").await;
    repo.create(&org, &member(&org, &first, "owner", 0))
        .await
        .expect("create");
    for index in 1..5 {
        let id = user(users, &format!("list-{index}")).await;
        let role = if index % 2 == 0 { "admin" } else { "member" };
        repo.add_member(&member(&org, &id, role, index), 100)
            .await
            .expect("add");
    }
    let ids = |page: &[(Member, User)]| -> Vec<String> {
        page.iter().map(|(m, _)| m.user_id.to_string()).collect()
    };
    let (all, total) = repo
        .list_members(&org.id, &MemberQuery::default())
        .await
        .expect("list");
    assert_eq!(total, 5);
    assert_eq!(ids(&all)[0], first.to_string(), "oldest first");
    assert_eq!(all[0].1.id, first, "each member with its user");
    let (page, total) = repo
        .list_members(
            &org.id,
            &MemberQuery {
                limit: 2,
                offset: 1,
                descending: true,
                ..MemberQuery::default()
            },
        )
        .await
        .expect("page");
    assert_eq!(total, 5, "the total ignores the page");
    assert_eq!(ids(&page), ["user-org-list-3", "user-org-list-2"]);
    let (admins, total) = repo
        .list_members(
            &org.id,
            &MemberQuery {
                role: Some("admin".into()),
                sort: MemberSort::UserId,
                ..MemberQuery::default()
            },
        )
        .await
        .expect("filter");
    assert_eq!(total, 2);
    assert_eq!(ids(&admins), ["user-org-list-2", "user-org-list-4"]);
    let (by_role, _) = repo
        .list_members(
            &org.id,
            &MemberQuery {
                sort: MemberSort::Role,
                limit: 1,
                ..MemberQuery::default()
            },
        )
        .await
        .expect("by role");
    assert_eq!(by_role[0].0.role.joined(), "admin");
}

async fn the_member_limit_holds_under_concurrency<S>(store: Arc<S>)
where
    S: OrganizationRepo + UserRepo + 'static,
{
    let org = organization("race");
    let owner = user(store.as_ref(), "race-owner").await;
    store
        .create(&org, &member(&org, &owner, "owner", 0))
        .await
        .expect("create");
    let mut joiners = Vec::new();
    for index in 0..12 {
        joiners.push(user(store.as_ref(), &format!("race-{index}")).await);
    }
    let tasks: Vec<_> = joiners
        .into_iter()
        .map(|id| {
            let store = store.clone();
            let member = member(&org, &id, "member", 1);
            tokio::spawn(async move { store.add_member(&member, 5).await })
        })
        .collect();
    let mut added = 0;
    for task in tasks {
        if matches!(task.await.expect("task"), Ok(MemberAdded::Added)) {
            added += 1;
        }
    }
    assert_eq!(added, 4, "a limit of 5 with the owner admits four more");
    assert!(
        matches!(
            store
                .add_member(&member(&org, &owner, "member", 2), 5)
                .await,
            Err(PortError::Conflict)
        ),
        "a member again is a conflict, even in a full organization"
    );

    // Two owners step down at once: one of them stays owner.
    let second = user(store.as_ref(), "race-second").await;
    let other = organization("race-owners");
    store
        .create(&other, &member(&other, &owner, "owner", 0))
        .await
        .expect("create");
    let seconds = member(&other, &second, "owner", 1);
    store.add_member(&seconds, 5).await.expect("add");
    let firsts = member(&other, &owner, "owner", 0);
    let tasks: Vec<_> = [firsts.id, seconds.id]
        .into_iter()
        .map(|id| {
            let store = store.clone();
            tokio::spawn(async move {
                let owner = RoleList::parse("owner");
                store
                    .change_member_role(&id, &owner, &RoleList::parse("member"), "owner")
                    .await
            })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        if matches!(task.await.expect("task"), Ok(MemberChange::Done)) {
            done += 1;
        }
    }
    assert_eq!(done, 1, "one owner steps down, the other is the last");
    assert_eq!(
        store.count_with_role(&other.id, "owner").await.expect("n"),
        1
    );
    let (_, total) = store
        .list_members(&org.id, &MemberQuery::default())
        .await
        .expect("list");
    assert_eq!(total, 5);
}

fn invitation(org: &Organization, inviter: &UserId, email: &str, minutes: i64) -> Invitation {
    Invitation {
        id: format!("inv-{}-{email}", org.id),
        organization_id: org.id.clone(),
        email: email.to_owned(),
        role: RoleList::parse("admin,member"),
        team_ids: vec!["t1".to_owned(), "t2".to_owned()],
        status: InvitationStatus::Pending,
        expires_at: T0 + Duration::hours(48),
        created_at: T0 + Duration::minutes(minutes),
        inviter_id: inviter.clone(),
    }
}

async fn invitations_are_stored_listed_and_closed_once<S>(store: &S)
where
    S: OrganizationRepo + InvitationRepo + UserRepo,
{
    let owner = user(store, "inv-owner").await;
    let org = organization("inv");
    store
        .create(&org, &member(&org, &owner, "owner", 0))
        .await
        .expect("create");
    let first = invitation(&org, &owner, "first@example.com", 1);
    let second = invitation(&org, &owner, "second@example.com", 2);
    for one in [&first, &second] {
        assert_eq!(
            store.create_invitation(one, 100).await.expect("invite"),
            Invited::Created
        );
    }
    assert!(matches!(
        store
            .create_invitation(
                &invitation(&organization("ghost"), &owner, "x@example.com", 0),
                100
            )
            .await,
        Err(PortError::NotFound)
    ));
    let mut twin = first.clone();
    twin.id = "inv-twin".to_owned();
    assert!(
        matches!(
            store.create_invitation(&twin, 100).await,
            Err(PortError::Conflict)
        ),
        "one pending invitation per email"
    );
    assert_eq!(
        store.find_invitation(&first.id).await.expect("find"),
        Some(first.clone()),
        "read back whole, roles and teams included"
    );
    assert_eq!(
        store
            .pending_invitation(&org.id, "second@example.com")
            .await
            .expect("pending"),
        Some(second.clone())
    );
    let later = T0 + Duration::hours(96);
    store
        .extend_invitation(&second.id, later)
        .await
        .expect("extend");
    assert!(matches!(
        store.extend_invitation("inv-none", later).await,
        Err(PortError::NotFound)
    ));
    let mine = store
        .list_user_invitations("second@example.com")
        .await
        .expect("mine");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].0.expires_at, later);
    assert_eq!(mine[0].1.id, org.id, "with its organization");

    assert!(
        store
            .close_invitation(&first.id, InvitationStatus::Rejected)
            .await
            .expect("close")
    );
    assert!(
        !store
            .close_invitation(&first.id, InvitationStatus::Canceled)
            .await
            .expect("close again"),
        "an answered invitation is not answered again"
    );
    let statuses: Vec<InvitationStatus> = store
        .list_invitations(&org.id)
        .await
        .expect("list")
        .into_iter()
        .map(|one| one.status)
        .collect();
    assert_eq!(
        statuses,
        [InvitationStatus::Rejected, InvitationStatus::Pending],
        "every status, oldest first"
    );
    assert!(
        store
            .list_user_invitations("first@example.com")
            .await
            .expect("mine")
            .is_empty(),
        "only pending ones are the user's"
    );
    assert_eq!(
        store
            .pending_invitation(&org.id, "first@example.com")
            .await
            .expect("pending"),
        None
    );

    let invitee = user(store, "inv-invitee").await;
    let joining = member(&org, &invitee, "admin", 3);
    let expired = T0 + Duration::hours(48);
    assert_eq!(
        store
            .accept_invitation(&second.id, &joining, 100, later)
            .await
            .expect("accept expired"),
        Accepted::NotPending,
        "expired at its expiry"
    );
    assert_eq!(
        store
            .accept_invitation(&second.id, &joining, 1, expired)
            .await
            .expect("accept full"),
        Accepted::LimitReached
    );
    assert_eq!(
        store
            .find_invitation(&second.id)
            .await
            .expect("find")
            .map(|one| one.status),
        Some(InvitationStatus::Pending),
        "a refused accept leaves it pending"
    );
    assert_eq!(
        store
            .accept_invitation(&second.id, &joining, 100, expired)
            .await
            .expect("accept"),
        Accepted::Accepted
    );
    assert!(
        store
            .find_member(&org.id, &invitee)
            .await
            .expect("member")
            .is_some()
    );
    assert_eq!(
        store
            .accept_invitation(&second.id, &joining, 100, expired)
            .await
            .expect("accept again"),
        Accepted::NotPending
    );
    let again = invitation(&org, &owner, "again@example.com", 4);
    store.create_invitation(&again, 100).await.expect("invite");
    let already = member(&org, &owner, "member", 5);
    assert_eq!(
        store
            .accept_invitation(&again.id, &already, 100, T0)
            .await
            .expect("accept by a member"),
        Accepted::AlreadyMember
    );

    OrganizationRepo::delete(store, &org.id)
        .await
        .expect("delete");
    assert_eq!(
        store.find_invitation(&again.id).await.expect("find"),
        None,
        "gone with it"
    );
}

async fn one_of_concurrent_accepts_wins_and_the_pending_limit_holds<S>(store: Arc<S>)
where
    S: OrganizationRepo + InvitationRepo + UserRepo + 'static,
{
    let owner = user(store.as_ref(), "acc-owner").await;
    let invitee = user(store.as_ref(), "acc-invitee").await;
    let org = organization("acc");
    store
        .create(&org, &member(&org, &owner, "owner", 0))
        .await
        .expect("create");
    let one = invitation(&org, &owner, "acc@example.com", 1);
    store.create_invitation(&one, 100).await.expect("invite");
    let tasks: Vec<_> = (0..10)
        .map(|attempt| {
            let store = store.clone();
            let id = one.id.clone();
            let mut joining = member(&org, &invitee, "member", 2);
            joining.id = format!("{}-{attempt}", joining.id);
            tokio::spawn(async move { store.accept_invitation(&id, &joining, 100, T0).await })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        match task.await.expect("task").expect("accept") {
            Accepted::Accepted => accepted += 1,
            Accepted::NotPending => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted, 1, "ten accepts of one invitation, one membership");
    let (_, total) = store
        .list_members(&org.id, &MemberQuery::default())
        .await
        .expect("list");
    assert_eq!(total, 2);

    let tasks: Vec<_> = (0..12)
        .map(|index| {
            let store = store.clone();
            let invitation = invitation(&org, &owner, &format!("n{index}@example.com"), 3);
            tokio::spawn(async move { store.create_invitation(&invitation, 5).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        if matches!(task.await.expect("task"), Ok(Invited::Created)) {
            created += 1;
        }
    }
    assert_eq!(created, 5, "a limit of five pending invitations");
}

fn stored_role(org: &Organization, id: &str, name: &str) -> StoredRole {
    StoredRole {
        id: id.to_owned(),
        organization_id: org.id.clone(),
        role: name.to_owned(),
        permission: Permissions::of(&[("report", &["read", "export"]), ("member", &["create"])]),
        created_at: T0,
        updated_at: None,
    }
}

async fn stored_roles_are_unique_per_organization_and_kept_while_assigned<S>(store: &S)
where
    S: OrganizationRepo + RoleRepo + UserRepo,
{
    let owner = user(store, "roles-owner").await;
    let org = organization("roles");
    let other = organization("roles-other");
    for one in [&org, &other] {
        store
            .create(one, &member(one, &owner, "owner", 0))
            .await
            .expect("create");
    }
    let auditor = stored_role(&org, "role-1", "auditor");
    store.create_role(&auditor).await.expect("create role");
    assert!(
        matches!(
            store
                .create_role(&stored_role(&org, "role-2", "auditor"))
                .await,
            Err(PortError::Conflict)
        ),
        "one role of a name per organization"
    );
    store
        .create_role(&stored_role(&other, "role-3", "auditor"))
        .await
        .expect("the same name in another organization");
    assert!(matches!(
        store
            .create_role(&stored_role(&organization("ghost"), "role-4", "x"))
            .await,
        Err(PortError::NotFound)
    ));
    assert_eq!(
        store.find_role(&org.id, "auditor").await.expect("by name"),
        Some(auditor.clone()),
        "read back whole, permissions included"
    );
    assert_eq!(
        store.find_role(&org.id, "role-1").await.expect("by id"),
        Some(auditor.clone())
    );
    assert_eq!(
        store
            .find_role(&other.id, "role-1")
            .await
            .expect("elsewhere"),
        None,
        "another organization's role is not found by id"
    );
    let mut renamed = auditor.clone();
    renamed.role = "reviewer".to_owned();
    renamed.permission = Permissions::of(&[("report", &["read"])]);
    renamed.updated_at = Some(T0 + Duration::minutes(1));
    store.update_role(&renamed).await.expect("update");
    assert_eq!(
        store.list_roles(&org.id).await.expect("list"),
        [renamed.clone()]
    );
    store
        .create_role(&stored_role(&org, "role-5", "auditor"))
        .await
        .expect("the old name is free again");
    let mut clash = renamed.clone();
    clash.role = "auditor".to_owned();
    assert!(matches!(
        store.update_role(&clash).await,
        Err(PortError::Conflict)
    ));
    let holder = user(store, "roles-holder").await;
    store
        .add_member(&member(&org, &holder, "member,reviewer", 1), 100)
        .await
        .expect("add");
    assert_eq!(
        store.delete_role(&renamed.id).await.expect("delete"),
        RoleDeleted::Assigned,
        "a role a member holds stays"
    );
    assert_eq!(
        store.delete_role("role-5").await.expect("delete"),
        RoleDeleted::Deleted
    );
    assert!(matches!(
        store.delete_role("role-5").await,
        Err(PortError::NotFound)
    ));
    OrganizationRepo::delete(store, &org.id)
        .await
        .expect("delete the organization");
    assert_eq!(
        store.find_role(&org.id, "reviewer").await.expect("find"),
        None,
        "gone with its organization"
    );
}

fn team(org: &Organization, id: &str, minutes: i64) -> Team {
    Team {
        id: id.to_owned(),
        name: format!("Team {id}"),
        organization_id: org.id.clone(),
        created_at: T0 + Duration::minutes(minutes),
        updated_at: None,
    }
}

fn seat(team_id: &str, user: &UserId, tag: &str) -> TeamMember {
    TeamMember {
        id: format!("seat-{team_id}-{user}-{tag}"),
        team_id: team_id.to_owned(),
        user_id: user.clone(),
        created_at: Some(T0),
    }
}

async fn teams_hold_members_once_within_their_limits<S>(store: Arc<S>)
where
    S: OrganizationRepo + InvitationRepo + TeamRepo + UserRepo + 'static,
{
    let owner = user(store.as_ref(), "teams-owner").await;
    let other = user(store.as_ref(), "teams-other").await;
    let org = organization("teams");
    store
        .create(&org, &member(&org, &owner, "owner", 0))
        .await
        .expect("create");
    let core = team(&org, "team-core", 1);
    let web = team(&org, "team-web", 2);
    for one in [&core, &web] {
        assert_eq!(
            store.create_team(one, 2).await.expect("team"),
            MemberAdded::Added
        );
    }
    assert_eq!(
        store
            .create_team(&team(&org, "team-third", 3), 2)
            .await
            .expect("team"),
        MemberAdded::LimitReached
    );
    assert!(matches!(
        store
            .create_team(&team(&organization("ghost"), "team-ghost", 0), 2)
            .await,
        Err(PortError::NotFound)
    ));
    assert_eq!(
        store.find_team(&org.id, "team-core").await.expect("find"),
        Some(core.clone())
    );
    assert_eq!(
        store.team_by_id("team-core").await.expect("by id"),
        Some(core.clone())
    );
    assert_eq!(store.team_by_id("team-none").await.expect("by id"), None);
    assert_eq!(
        store
            .find_team("org-elsewhere", "team-core")
            .await
            .expect("find"),
        None,
        "a team is found in its own organization only"
    );
    let mut renamed = core.clone();
    renamed.name = "Core team".to_owned();
    renamed.updated_at = Some(T0 + Duration::minutes(9));
    store.update_team(&renamed).await.expect("update");
    assert_eq!(
        store.list_teams(&org.id).await.expect("list"),
        [renamed.clone(), web.clone()]
    );
    assert!(matches!(
        store.update_team(&team(&org, "team-none", 0)).await,
        Err(PortError::NotFound)
    ));

    assert_eq!(
        store
            .add_team_member(&seat(&core.id, &owner, "a"), 5)
            .await
            .expect("seat"),
        MemberAdded::Added
    );
    assert!(matches!(
        store.add_team_member(&seat(&core.id, &owner, "b"), 5).await,
        Err(PortError::Conflict)
    ));
    assert_eq!(
        store
            .add_team_member(&seat(&core.id, &other, "a"), 1)
            .await
            .expect("seat"),
        MemberAdded::LimitReached
    );
    assert!(matches!(
        store
            .add_team_member(&seat("team-none", &other, "a"), 5)
            .await,
        Err(PortError::NotFound)
    ));
    store
        .add_team_member(&seat(&web.id, &owner, "a"), 5)
        .await
        .expect("seat");
    assert_eq!(
        store
            .list_user_teams(&org.id, &owner)
            .await
            .expect("mine")
            .len(),
        2
    );
    assert_eq!(
        store
            .list_team_members(&core.id)
            .await
            .expect("members")
            .len(),
        1
    );
    assert_eq!(
        store
            .find_team_member(&web.id, &owner)
            .await
            .expect("seat")
            .map(|found| found.id),
        Some(seat(&web.id, &owner, "a").id)
    );
    assert_eq!(
        store.find_team_member(&web.id, &other).await.expect("seat"),
        None
    );
    assert!(
        store
            .remove_team_member(&web.id, &owner)
            .await
            .expect("remove")
    );
    assert!(
        !store
            .remove_team_member(&web.id, &owner)
            .await
            .expect("remove again")
    );
    let mut invited = invitation(&org, &owner, "teams@example.com", 0);
    invited.team_ids = vec![core.id.clone(), web.id.clone()];
    assert_eq!(
        store.create_invitation(&invited, 10).await.expect("invite"),
        Invited::Created
    );
    assert_eq!(
        store
            .delete_team(&core.id, true)
            .await
            .expect("delete team"),
        TeamDeleted::Deleted
    );
    assert!(
        store
            .list_team_members(&core.id)
            .await
            .expect("members")
            .is_empty(),
        "its members went with it"
    );
    assert_eq!(
        store
            .find_invitation(&invited.id)
            .await
            .expect("find")
            .map(|found| found.team_ids),
        Some(vec![web.id.clone()]),
        "a pending invitation no longer names it"
    );
    assert!(matches!(
        store.delete_team(&core.id, false).await,
        Err(PortError::NotFound)
    ));
    assert_eq!(
        store.delete_team(&web.id, true).await.expect("last team"),
        TeamDeleted::LastTeam,
        "the last team is kept when asked"
    );
    assert_eq!(
        store.list_teams(&org.id).await.expect("list"),
        std::slice::from_ref(&web)
    );
    assert_eq!(
        store.delete_team(&web.id, false).await.expect("last team"),
        TeamDeleted::Deleted
    );
    assert_eq!(
        store
            .find_invitation(&invited.id)
            .await
            .expect("find")
            .map(|found| found.team_ids),
        Some(Vec::new())
    );
    let kept = team(&org, "team-kept", 4);
    store.create_team(&kept, 2).await.expect("team");
    store
        .add_team_member(&seat(&kept.id, &owner, "c"), 5)
        .await
        .expect("seat");
    OrganizationRepo::delete(store.as_ref(), &org.id)
        .await
        .expect("delete the organization");
    assert!(
        store.list_teams(&org.id).await.expect("list").is_empty(),
        "teams go with their organization"
    );
    assert_eq!(store.team_by_id(&kept.id).await.expect("by id"), None);
    assert!(
        store
            .list_team_members(&kept.id)
            .await
            .expect("members")
            .is_empty(),
        "and their seats with them"
    );
    assert!(
        store
            .list_user_teams(&org.id, &owner)
            .await
            .expect("mine")
            .is_empty()
    );
}

/// Twelve users join a team of four seats at once, and two deletions of an organization's two
/// teams race while one must stay.
async fn team_limits_hold_under_concurrency<S>(store: Arc<S>)
where
    S: OrganizationRepo + TeamRepo + UserRepo + 'static,
{
    let owner = user(store.as_ref(), "seats-owner").await;
    let org = organization("seats");
    store
        .create(&org, &member(&org, &owner, "owner", 0))
        .await
        .expect("create");
    let first = team(&org, "seats-a", 1);
    let second = team(&org, "seats-b", 2);
    for one in [&first, &second] {
        store.create_team(one, 10).await.expect("team");
    }
    let mut joiners = Vec::new();
    for index in 0..12 {
        joiners.push(user(store.as_ref(), &format!("seats-{index}")).await);
    }
    let tasks: Vec<_> = joiners
        .iter()
        .map(|id| {
            let store = store.clone();
            let seat = seat(&first.id, id, "race");
            tokio::spawn(async move { store.add_team_member(&seat, 4).await })
        })
        .collect();
    let mut added = 0;
    for task in tasks {
        if matches!(task.await.expect("task"), Ok(MemberAdded::Added)) {
            added += 1;
        }
    }
    assert_eq!(added, 4, "four seats, four members");
    assert_eq!(
        store
            .list_team_members(&first.id)
            .await
            .expect("members")
            .len(),
        4
    );
    let deletions: Vec<_> = [first.id.clone(), second.id.clone()]
        .into_iter()
        .map(|id| {
            let store = store.clone();
            tokio::spawn(async move { store.delete_team(&id, true).await })
        })
        .collect();
    let mut deleted = 0;
    for task in deletions {
        if matches!(task.await.expect("task"), Ok(TeamDeleted::Deleted)) {
            deleted += 1;
        }
    }
    assert_eq!(
        deleted, 1,
        "one of two racing deletions keeps the last team"
    );
    assert_eq!(store.list_teams(&org.id).await.expect("list").len(), 1);
}
