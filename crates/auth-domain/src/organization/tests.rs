use time::macros::datetime;

use super::access::is_valid_role_name;
use super::*;

fn ask(resource: &str, action: &str) -> Permissions {
    Permissions::of(&[(resource, &[action])])
}

fn member(id: &str, org: &str, role: &str) -> Member {
    Member {
        id: id.into(),
        organization_id: org.into(),
        user_id: UserId::new(format!("user-{id}")),
        role: RoleList::parse(role),
        created_at: datetime!(2026-12-01 00:00 UTC),
    }
}

/// Section 8.2's table: what each default role may do, resource by resource.
const MATRIX: &[(&str, &str, &[&str])] = &[
    ("owner", "organization", &["update", "delete"]),
    ("owner", "member", &["create", "update", "delete"]),
    ("owner", "invitation", &["create", "cancel"]),
    ("owner", "team", &["create", "update", "delete"]),
    ("owner", "ac", &["create", "read", "update", "delete"]),
    ("admin", "organization", &["update"]),
    ("admin", "member", &["create", "update", "delete"]),
    ("admin", "invitation", &["create", "cancel"]),
    ("admin", "team", &["create", "update", "delete"]),
    ("admin", "ac", &["create", "read", "update", "delete"]),
    ("member", "ac", &["read"]),
];

#[test]
fn every_default_role_may_do_exactly_what_the_contract_table_grants() {
    let ac = AccessControl::better_auth_default();
    let mut checked = 0;
    for role in ["owner", "admin", "member"] {
        for (resource, actions) in &ac.statements().0 {
            for action in actions {
                let granted = MATRIX.iter().any(|(r, res, acts)| {
                    *r == role && res == resource && acts.contains(&action.as_str())
                });
                let roles = RoleList::parse(role);
                assert_eq!(
                    ac.authorize(&roles, &ask(resource, action)),
                    granted,
                    "{role} {resource}:{action}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(
        checked,
        3 * 14,
        "three roles times the fourteen default actions"
    );
}

#[test]
fn any_one_role_must_grant_every_action_asked() {
    let ac = AccessControl::better_auth_default();
    let both = Permissions::of(&[("organization", &["update", "delete"])]);
    assert!(
        !ac.authorize(&RoleList::parse("admin"), &both),
        "admin lacks delete"
    );
    assert!(ac.authorize(&RoleList::parse("member, owner"), &both));
    let across = Permissions::of(&[("organization", &["delete"]), ("ac", &["read"])]);
    assert!(ac.authorize(&RoleList::parse("owner"), &across));
    assert!(
        !ac.authorize(&RoleList::parse("member,admin"), &across),
        "member reads ac and admin does not delete: no one role grants both"
    );
}

#[test]
fn empty_unknown_and_actionless_requests_are_refused() {
    let ac = AccessControl::better_auth_default();
    let owner = RoleList::parse("owner");
    assert!(!ac.authorize(&owner, &Permissions::default()));
    assert!(!ac.authorize(&owner, &ask("billing", "read")));
    assert!(!ac.authorize(&owner, &ask("organization", "transfer")));
    assert!(!ac.authorize(&owner, &Permissions::of(&[("organization", &[])])));
}

#[test]
fn junk_roles_grant_nothing_and_are_named_unknown() {
    let ac = AccessControl::better_auth_default();
    for junk in [
        "superadmin",
        "",
        " , ",
        "Owner",
        "owner\0",
        "\0",
        "admin;owner",
        "'owner'",
    ] {
        let roles = RoleList::parse(junk);
        assert!(
            !ac.authorize(&roles, &ask("ac", "read")),
            "{junk:?} grants nothing"
        );
        let refusal = check_invited_roles(&ac, &RoleList::parse("owner"), &roles);
        assert!(
            matches!(refusal, Err(OrgRefusal::RoleNotFound(_))),
            "{junk:?}: {refusal:?}"
        );
    }
    let refusal = check_invited_roles(
        &ac,
        &RoleList::parse("owner"),
        &RoleList::from_list(&["admin", "superadmin", "root"]),
    )
    .unwrap_err();
    assert_eq!(refusal.message(), "ROLE_NOT_FOUND: superadmin, root");
    assert_eq!(refusal.code(), "ROLE_NOT_FOUND");
    assert_eq!(refusal.status(), 400);
    assert_eq!(
        check_invited_roles(&ac, &RoleList::parse("owner"), &RoleList::parse(""))
            .unwrap_err()
            .message(),
        "Role not found"
    );
}

#[test]
fn role_lists_are_trimmed_split_deduplicated_and_stored_joined() {
    let roles = RoleList::parse(" admin, owner,,admin ");
    assert_eq!(roles.names(), ["admin", "owner"]);
    assert_eq!(roles.joined(), "admin,owner");
    assert_eq!(
        RoleList::from_list(&["member", " admin,owner "]).joined(),
        "member,admin,owner"
    );
    assert!(RoleList::parse(" ,, ").is_empty());
}

#[test]
fn role_names_are_bounded_and_free_of_separators_and_controls() {
    assert!(is_valid_role_name("billing-admin"));
    assert!(is_valid_role_name("team:lead.v2"));
    for bad in ["", "a,b", "a b", "a\0", "a\n", &"r".repeat(65)] {
        assert!(!is_valid_role_name(bad), "{bad:?}");
    }
}

#[test]
fn only_a_creator_invites_with_the_creator_role() {
    let ac = AccessControl::better_auth_default();
    let owner = RoleList::parse("owner");
    let admin = RoleList::parse("admin");
    assert_eq!(
        check_invited_roles(&ac, &admin, &RoleList::parse("member,owner")),
        Err(OrgRefusal::NotAllowedToInviteWithRole)
    );
    assert_eq!(
        check_invited_roles(&ac, &owner, &RoleList::parse("owner")),
        Ok(())
    );
    assert_eq!(
        check_invited_roles(&ac, &admin, &RoleList::parse("admin")),
        Ok(())
    );
}

#[test]
fn custom_roles_join_the_statements_and_a_custom_creator_role_must_exist() {
    let ac = AccessControl::better_auth_default()
        .with_role("auditor", Permissions::of(&[("report", &["read"])]))
        .unwrap();
    assert!(ac.authorize(&RoleList::parse("auditor"), &ask("report", "read")));
    assert!(!ac.authorize(&RoleList::parse("owner"), &ask("report", "read")));
    assert!(ac.statements().satisfy(&ask("report", "read")));
    assert!(ac.has_role("auditor") && !ac.has_role("superadmin"));
    assert_eq!(ac.role("auditor"), Some(&ask("report", "read")));
    assert_eq!(AccessControl::default().role("auditor"), None);
    assert!(
        ac.clone()
            .with_role("bad role", Permissions::default())
            .is_err()
    );
    assert!(ac.clone().with_creator_role("nobody").is_err());
    let ac = ac.with_creator_role("auditor").unwrap();
    assert_eq!(ac.creator_role(), "auditor");
    assert!(ac.authorize_creator_all(&RoleList::parse("auditor"), &ask("organization", "delete")));
}

#[test]
fn stored_roles_add_to_configured_ones_and_stand_alone() {
    let ac = AccessControl::better_auth_default();
    let extra = Permissions::of(&[("organization", &["delete"])]);
    let support = Permissions::of(&[("member", &["update"])]);
    let merged = ac.merged([("admin", &extra), ("support", &support)]);
    assert!(merged.authorize(&RoleList::parse("admin"), &ask("organization", "delete")));
    assert!(merged.authorize(&RoleList::parse("admin"), &ask("member", "create")));
    assert!(merged.authorize(&RoleList::parse("support"), &ask("member", "update")));
    assert!(!ac.authorize(&RoleList::parse("support"), &ask("member", "update")));
    assert!(merged.unknown(&RoleList::parse("support")).is_empty());
}

#[test]
fn a_role_maker_grants_only_known_actions_it_holds_itself() {
    let ac = AccessControl::better_auth_default();
    let admin = RoleList::parse("admin");
    assert!(ac.may_grant(
        &admin,
        &Permissions::of(&[("member", &["create", "delete"])])
    ));
    assert!(
        !ac.may_grant(&admin, &ask("organization", "delete")),
        "admin lacks it"
    );
    assert!(
        !ac.may_grant(&RoleList::parse("owner"), &ask("billing", "read")),
        "unknown"
    );
    assert!(!ac.may_grant(&RoleList::parse("member"), &ask("member", "create")));
}

#[test]
fn an_invitation_is_answered_only_while_open_and_only_by_its_recipient() {
    let now = datetime!(2026-12-05 12:00 UTC);
    let invitation = Invitation {
        id: "inv".into(),
        organization_id: "org".into(),
        email: "ada@example.com".into(),
        role: RoleList::parse("member"),
        team_ids: Vec::new(),
        status: InvitationStatus::Pending,
        expires_at: now + time::Duration::hours(48),
        created_at: now,
        inviter_id: UserId::new("u1"),
    };
    assert_eq!(invitation.check_answer("ADA@example.com", now), Ok(()));
    assert_eq!(
        invitation.check_answer("bob@example.com", now),
        Err(OrgRefusal::NotTheRecipient)
    );
    assert_eq!(invitation.check_decline("ada@example.com"), Ok(()));
    assert_eq!(
        invitation.check_decline("bob@example.com"),
        Err(OrgRefusal::NotTheRecipient)
    );
    let later = invitation.expires_at;
    assert_eq!(
        invitation.check_answer("ada@example.com", later),
        Err(OrgRefusal::InvitationNotFound),
        "expired at its expiry instant"
    );
    for status in [
        InvitationStatus::Accepted,
        InvitationStatus::Rejected,
        InvitationStatus::Canceled,
    ] {
        let answered = Invitation {
            status,
            ..invitation.clone()
        };
        assert_eq!(
            answered.check_answer("ada@example.com", now),
            Err(OrgRefusal::InvitationNotFound)
        );
        assert_eq!(
            answered.check_decline("ada@example.com"),
            Err(OrgRefusal::InvitationNotFound)
        );
        assert_eq!(InvitationStatus::from_stored(status.as_str()), status);
    }
    assert_eq!(
        InvitationStatus::from_stored("pending"),
        InvitationStatus::Pending
    );
    assert_eq!(
        InvitationStatus::from_stored("expired"),
        InvitationStatus::Canceled
    );
}

#[test]
fn role_updates_follow_the_creator_rules_in_order() {
    let ac = AccessControl::better_auth_default();
    let owner = member("m1", "org", "owner");
    let admin = member("m2", "org", "admin");
    let plain = member("m3", "org", "member");
    let elsewhere = member("m4", "other", "member");
    let set = |roles: &str| RoleList::parse(roles);
    assert_eq!(
        check_role_update(&ac, &owner, &plain, &set("admin"), 1),
        Ok(())
    );
    assert_eq!(
        check_role_update(&ac, &admin, &plain, &set("admin"), 1),
        Ok(())
    );
    assert_eq!(
        check_role_update(&ac, &admin, &owner, &set("member"), 1),
        Err(OrgRefusal::NotAllowedToUpdateMember),
        "a non-creator changes a creator"
    );
    assert_eq!(
        check_role_update(&ac, &admin, &plain, &set("owner"), 1),
        Err(OrgRefusal::NotAllowedToUpdateMember),
        "a non-creator gives the creator role"
    );
    assert_eq!(
        check_role_update(&ac, &owner, &owner, &set("admin"), 1),
        Err(OrgRefusal::WithoutAnOwner)
    );
    assert_eq!(
        check_role_update(&ac, &owner, &owner, &set("admin"), 2),
        Ok(())
    );
    assert_eq!(
        check_role_update(&ac, &plain, &admin, &set("member"), 1),
        Err(OrgRefusal::NotAllowedToUpdateMember),
        "member:update is needed"
    );
    assert_eq!(
        check_role_update(&ac, &owner, &elsewhere, &set("admin"), 1),
        Err(OrgRefusal::NotAllowedToUpdateMember)
    );
    assert_eq!(
        check_role_update(&ac, &owner, &plain, &set("superadmin"), 1),
        Err(OrgRefusal::RoleNotFound(vec!["superadmin".into()]))
    );
    assert_eq!(
        check_role_update(&ac, &owner, &plain, &set(" , "), 1),
        Err(OrgRefusal::RoleNotFound(Vec::new()))
    );
}

#[test]
fn removals_and_leaving_keep_a_creator() {
    let ac = AccessControl::better_auth_default();
    let owner = member("m1", "org", "owner");
    let second_owner = member("m5", "org", "owner,admin");
    let admin = member("m2", "org", "admin");
    let plain = member("m3", "org", "member");
    let elsewhere = member("m4", "other", "member");
    assert_eq!(check_removal(&ac, &admin, &plain, 1), Ok(()));
    assert_eq!(
        check_removal(&ac, &admin, &owner, 2),
        Err(OrgRefusal::OnlyOwner)
    );
    assert_eq!(
        check_removal(&ac, &owner, &second_owner, 1),
        Err(OrgRefusal::OnlyOwner)
    );
    assert_eq!(check_removal(&ac, &owner, &second_owner, 2), Ok(()));
    let refusal = check_removal(&ac, &plain, &admin, 1).unwrap_err();
    assert_eq!(refusal, OrgRefusal::NotAllowedToDeleteMember);
    assert_eq!(
        refusal.status(),
        401,
        "Better-Auth answers this one with 401"
    );
    assert_eq!(
        check_removal(&ac, &owner, &elsewhere, 1),
        Err(OrgRefusal::MemberNotFound)
    );
    assert_eq!(check_leave(&ac, &owner, 1), Err(OrgRefusal::OnlyOwner));
    assert_eq!(check_leave(&ac, &owner, 2), Ok(()));
    assert_eq!(check_leave(&ac, &plain, 1), Ok(()));
}

#[test]
fn every_refusal_has_a_distinct_code_and_a_client_status() {
    let all = [
        OrgRefusal::NotAllowedToCreate,
        OrgRefusal::OrganizationLimit,
        OrgRefusal::AlreadyExists,
        OrgRefusal::SlugTaken,
        OrgRefusal::NotFound,
        OrgRefusal::NoActiveOrganization,
        OrgRefusal::NotAMember(403),
        OrgRefusal::NotAllowedToUpdate,
        OrgRefusal::NotAllowedToDelete,
        OrgRefusal::DeletionDisabled,
        OrgRefusal::AlreadyAMember,
        OrgRefusal::MemberNotFound,
        OrgRefusal::RoleNotFound(Vec::new()),
        OrgRefusal::OnlyOwner,
        OrgRefusal::WithoutAnOwner,
        OrgRefusal::NotAllowedToDeleteMember,
        OrgRefusal::NotAllowedToUpdateMember,
        OrgRefusal::NotAllowedToInvite,
        OrgRefusal::NotAllowedToInviteWithRole,
        OrgRefusal::AlreadyInvited,
        OrgRefusal::InvitationNotFound,
        OrgRefusal::NotTheRecipient,
        OrgRefusal::NotAllowedToCancel,
        OrgRefusal::InvitationLimit,
        OrgRefusal::MembershipLimit,
        OrgRefusal::NotAllowedToListInvitations,
        OrgRefusal::EmailVerificationRequired,
        OrgRefusal::EmailVerificationRequiredToAnswer,
        OrgRefusal::InviterGone,
        OrgRefusal::NotAMemberHere,
        OrgRefusal::RoleForbidden(RoleAction::Create),
        OrgRefusal::RoleForbidden(RoleAction::Update),
        OrgRefusal::RoleForbidden(RoleAction::Delete),
        OrgRefusal::RoleForbidden(RoleAction::Read),
        OrgRefusal::RoleForbidden(RoleAction::List),
        OrgRefusal::TooManyRoles,
        OrgRefusal::InvalidResource,
        OrgRefusal::RoleNameTaken,
        OrgRefusal::PredefinedRole,
        OrgRefusal::RoleAssigned,
        OrgRefusal::TeamNotFound,
        OrgRefusal::InvalidTeamId,
        OrgRefusal::TeamLimit,
        OrgRefusal::LastTeam,
        OrgRefusal::TeamMemberLimit,
        OrgRefusal::NotInTeam(400),
        OrgRefusal::NoActiveTeam,
        OrgRefusal::NotAllowedToAccess,
        OrgRefusal::TeamForbidden(TeamAction::Create),
        OrgRefusal::TeamForbidden(TeamAction::Update),
        OrgRefusal::TeamForbidden(TeamAction::Delete),
        OrgRefusal::TeamForbidden(TeamAction::DeleteThis),
        OrgRefusal::TeamForbidden(TeamAction::AddMember),
        OrgRefusal::TeamForbidden(TeamAction::RemoveMember),
    ];
    let mut codes: Vec<&str> = all.iter().map(OrgRefusal::code).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), all.len());
    for refusal in &all {
        assert!((400..500).contains(&refusal.status()), "{refusal:?}");
        assert!(!refusal.message().is_empty());
    }
    assert_eq!(OrgRefusal::NotAMember(401).status(), 401);
}
