//! The organization use cases on the in-memory store: creation and the active organization,
//! reading and changing an organization by members and outsiders, the member and role rules,
//! and deletion with its cleanup.

use auth_domain::organization::RoleList;
use auth_domain::{FieldValue, Permissions};
use auth_ports::{MemberQuery, OrganizationRepo};

use super::*;

struct Orgs {
    auth: Auth,
    orgs: Organizations,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
}

async fn orgs_with(customise: impl FnOnce(&mut OrganizationConfig)) -> Orgs {
    orgs_built(customise, |orgs, _| orgs).await
}

/// The use cases on a new store, their settings customised and then `extend`ed (with teams,
/// say) on the same store.
async fn orgs_built(
    customise: impl FnOnce(&mut OrganizationConfig),
    extend: impl FnOnce(Organizations, Arc<MemoryStore>) -> Organizations,
) -> Orgs {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 0:00 UTC)));
    let mut config = OrganizationConfig::default();
    customise(&mut config);
    let orgs = extend(
        Organizations::new(store.clone(), store.clone(), config),
        store.clone(),
    );
    let auth = Auth::with_plugins(
        deps(&store, &clock),
        AuthConfig::default(),
        vec![Arc::new(orgs.clone())],
    );
    Orgs {
        auth,
        orgs,
        store,
        clock,
    }
}

async fn orgs() -> Orgs {
    orgs_with(|_| {}).await
}

impl Orgs {
    /// A signed-up user's session, read back as a request would see it.
    async fn user(&self, tag: &str) -> AuthContext {
        let signed = self
            .auth
            .sign_up_email_session(sign_up(&format!("{tag}@example.com"), "password-123"))
            .await
            .expect("sign-up");
        self.reload(&signed.session.token).await
    }

    async fn reload(&self, token: &SessionToken) -> AuthContext {
        context(&self.auth, token).await
    }

    async fn try_create(
        &self,
        who: &AuthContext,
        name: &str,
        slug: &str,
    ) -> Result<CreatedOrganization, AuthError> {
        let input = CreateOrganization {
            name: name.to_owned(),
            slug: slug.to_owned(),
            ..CreateOrganization::default()
        };
        self.orgs.create(&self.auth, who, input).await
    }

    async fn create(
        &self,
        who: &AuthContext,
        slug: &str,
    ) -> auth_domain::organization::Organization {
        self.try_create(who, &format!("Org {slug}"), slug)
            .await
            .expect("create")
            .organization
    }

    async fn set_role(
        &self,
        who: &AuthContext,
        org: &str,
        member: &str,
        roles: &str,
    ) -> Result<auth_domain::organization::Member, AuthError> {
        let roles = RoleList::parse(roles);
        self.orgs
            .update_member_role(&self.auth, who, by_id(org), member, &roles)
            .await
    }

    async fn invite(
        &self,
        who: &AuthContext,
        org: &str,
        email: &str,
        roles: &str,
    ) -> Result<auth_domain::organization::Invitation, AuthError> {
        self.orgs
            .invite(&self.auth, who, by_id(org), invite(email, roles))
            .await
    }

    async fn make_role(
        &self,
        who: &AuthContext,
        org: &str,
        name: &str,
        permission: Permissions,
    ) -> Result<auth_domain::organization::StoredRole, AuthError> {
        self.orgs
            .create_role(&self.auth, who, by_id(org), name, permission)
            .await
    }

    async fn join(
        &self,
        org: &str,
        who: &AuthContext,
        roles: &str,
    ) -> auth_domain::organization::Member {
        self.orgs
            .add_member(&self.auth, org, &who.user.id, &RoleList::parse(roles))
            .await
            .expect("add member")
    }
}

fn by_id(id: &str) -> OrgRef<'_> {
    OrgRef {
        id: Some(id),
        slug: None,
    }
}

fn code(result: Result<impl std::fmt::Debug, AuthError>) -> String {
    match result {
        Err(error) => error.code().unwrap_or("none").to_owned(),
        Ok(value) => panic!("expected a refusal, got {value:?}"),
    }
}

#[tokio::test]
async fn creating_makes_the_creator_owner_and_the_organization_active() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    let created = o
        .orgs
        .create(
            &o.auth,
            &ada,
            CreateOrganization {
                name: "Acme".into(),
                slug: "acme".into(),
                metadata: Some(r#"{"plan":"pro"}"#.into()),
                ..CreateOrganization::default()
            },
        )
        .await
        .expect("create");
    assert_eq!(created.members.len(), 1);
    assert_eq!(created.members[0].role.joined(), "owner");
    let ada = o.reload(&ada.session.token).await;
    assert_eq!(
        Organizations::active_id(&ada.session),
        Some(created.organization.id.as_str())
    );
    let second = o
        .orgs
        .create(
            &o.auth,
            &ada,
            CreateOrganization {
                name: "Beta".into(),
                slug: "beta".into(),
                keep_current_active: true,
                ..CreateOrganization::default()
            },
        )
        .await
        .expect("create another");
    let ada = o.reload(&ada.session.token).await;
    assert_ne!(
        Organizations::active_id(&ada.session),
        Some(second.organization.id.as_str()),
        "keepCurrentActiveOrganization"
    );
    assert_eq!(o.orgs.list(&ada).await.expect("list").len(), 2);
}

#[tokio::test]
async fn slugs_are_unique_and_names_are_checked() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    o.create(&ada, "acme").await;
    assert_eq!(
        code(o.orgs.check_slug("acme").await),
        "ORGANIZATION_SLUG_ALREADY_TAKEN"
    );
    assert!(o.orgs.check_slug("free").await.is_ok());
    let again = o.try_create(&ada, "Other", "acme").await;
    assert_eq!(code(again), "ORGANIZATION_ALREADY_EXISTS");
    for (name, slug) in [("", "ok"), ("ok", ""), ("ok", "has space"), ("a\0b", "ok2")] {
        let bad = o.try_create(&ada, name, slug).await;
        assert_eq!(code(bad), "VALIDATION_ERROR", "{name:?} {slug:?}");
    }
    let huge = o
        .orgs
        .create(
            &o.auth,
            &ada,
            CreateOrganization {
                name: "Big".into(),
                slug: "big".into(),
                metadata: Some(format!(r#"{{"x":"{}"}}"#, "a".repeat(5000))),
                ..CreateOrganization::default()
            },
        )
        .await;
    assert_eq!(code(huge), "VALIDATION_ERROR");
}

#[tokio::test]
async fn creation_can_be_switched_off_and_limited() {
    let o = orgs_with(|config| config.allow_user_to_create = false).await;
    let ada = o.user("ada").await;
    let refused = o.try_create(&ada, "A", "a").await;
    assert_eq!(
        code(refused),
        "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_ORGANIZATION"
    );

    let o = orgs_with(|config| config.organization_limit = Some(1)).await;
    let ada = o.user("ada").await;
    o.create(&ada, "one").await;
    let refused = o.try_create(&ada, "Two", "two").await;
    assert_eq!(
        code(refused),
        "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS"
    );
}

#[tokio::test]
async fn an_outsider_cannot_read_change_activate_or_delete_an_organization() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    let eve = o.user("eve").await;
    let acme = o.create(&ada, "acme").await;
    let read = o.orgs.get(&o.auth, &eve, by_id(&acme.id)).await;
    assert_eq!(code(read), "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION");
    let by_slug = o
        .orgs
        .get(
            &o.auth,
            &eve,
            OrgRef {
                id: None,
                slug: Some("acme"),
            },
        )
        .await;
    assert!(by_slug.is_err());
    let change = o
        .orgs
        .update(
            &o.auth,
            &eve,
            by_id(&acme.id),
            UpdateOrganization {
                name: Some("Pwned".into()),
                ..UpdateOrganization::default()
            },
        )
        .await;
    assert_eq!(code(change), "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION");
    let activate = o
        .orgs
        .set_active(&o.auth, &eve, Some(by_id(&acme.id)))
        .await;
    assert_eq!(code(activate), "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION");
    let delete = o.orgs.delete(&o.auth, &eve, &acme.id).await;
    assert_eq!(code(delete), "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION");
    let permission = o
        .orgs
        .has_permission(
            &o.auth,
            &eve,
            by_id(&acme.id),
            &Permissions::of(&[("member", &["create"])]),
        )
        .await
        .unwrap_err();
    assert_eq!(
        permission.code(),
        Some("USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
    );
    let unchanged = o.store.find(&acme.id).await.expect("find").expect("exists");
    assert_eq!(unchanged, acme, "nothing changed");
    let missing = o.orgs.get(&o.auth, &eve, by_id("nope")).await;
    assert_eq!(code(missing), "ORGANIZATION_NOT_FOUND");
    assert_eq!(
        o.orgs.get(&o.auth, &eve, OrgRef::default()).await.ok(),
        Some(None)
    );
}

#[tokio::test]
async fn a_session_whose_active_organization_it_no_longer_belongs_to_is_cleared_on_read() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    let bob = o.user("bob").await;
    let acme = o.create(&ada, "acme").await;
    let member = o.join(&acme.id, &bob, "member").await;
    o.orgs
        .set_active(&o.auth, &bob, Some(by_id(&acme.id)))
        .await
        .expect("activate");
    // Removed behind bob's back: his sessions lose the organization at once.
    o.orgs
        .remove_member(&o.auth, &ada, by_id(&acme.id), &member.id)
        .await
        .expect("remove");
    let bob = o.reload(&bob.session.token).await;
    assert_eq!(
        bob.session.fields.get(ACTIVE_ORGANIZATION),
        Some(&FieldValue::Null)
    );
    assert!(
        o.orgs
            .get(&o.auth, &bob, OrgRef::default())
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test]
async fn members_need_the_permissions_of_their_roles() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    let bob = o.user("bob").await;
    let cy = o.user("cy").await;
    let acme = o.create(&ada, "acme").await;
    o.join(&acme.id, &bob, "admin").await;
    let cys = o.join(&acme.id, &cy, "member").await;

    let rename = |name: &str| UpdateOrganization {
        name: Some(name.into()),
        ..UpdateOrganization::default()
    };
    let by_member = o
        .orgs
        .update(&o.auth, &cy, by_id(&acme.id), rename("C"))
        .await;
    assert_eq!(
        code(by_member),
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION"
    );
    let by_admin = o
        .orgs
        .update(&o.auth, &bob, by_id(&acme.id), rename("Acme 2"))
        .await
        .expect("admin updates");
    assert_eq!(by_admin.name, "Acme 2");
    assert_eq!(by_admin.slug, "acme", "absent fields are kept");
    let admin_deletes = o.orgs.delete(&o.auth, &bob, &acme.id).await;
    assert_eq!(
        code(admin_deletes),
        "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION"
    );
    let member_removes = o
        .orgs
        .remove_member(&o.auth, &cy, by_id(&acme.id), &cys.id)
        .await
        .unwrap_err();
    assert_eq!(
        member_removes.code(),
        Some("YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER")
    );
    let member_promotes = o.set_role(&cy, &acme.id, &cys.id, "admin").await;
    assert_eq!(
        code(member_promotes),
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER"
    );
    let admin_crowns = o.set_role(&bob, &acme.id, &cys.id, "owner").await;
    assert_eq!(
        code(admin_crowns),
        "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER"
    );
    let junk = o
        .set_role(&ada, &acme.id, &cys.id, "superadmin")
        .await
        .unwrap_err();
    assert_eq!(junk.to_string(), "ROLE_NOT_FOUND");
    let promoted = o
        .set_role(&ada, &acme.id, &cys.id, "admin")
        .await
        .expect("owner promotes");
    assert_eq!(promoted.role.joined(), "admin");
    let roles = o
        .orgs
        .member_role(&o.auth, &ada, by_id(&acme.id), Some(&cy.user.id))
        .await
        .expect("role");
    assert_eq!(roles.joined(), "admin");
    for (who, action, allowed) in [
        (&ada, "delete", true),
        (&bob, "delete", false),
        (&bob, "update", true),
    ] {
        let granted = o
            .orgs
            .has_permission(
                &o.auth,
                who,
                by_id(&acme.id),
                &Permissions::of(&[("organization", &[action])]),
            )
            .await
            .expect("has-permission");
        assert_eq!(
            granted,
            allowed,
            "{} organization:{action}",
            who.user.email.as_str()
        );
    }
}

#[tokio::test]
async fn the_last_owner_can_neither_leave_nor_step_down() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    let bob = o.user("bob").await;
    let acme = o.create(&ada, "acme").await;
    let adas = o
        .orgs
        .active_member(&o.auth, &ada, by_id(&acme.id))
        .await
        .expect("member");
    assert_eq!(
        code(o.orgs.leave(&o.auth, &ada, &acme.id).await),
        "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER"
    );
    let down = o.set_role(&ada, &acme.id, &adas.id, "member").await;
    assert_eq!(
        code(down),
        "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER"
    );
    o.join(&acme.id, &bob, "owner").await;
    let left = o.orgs.leave(&o.auth, &ada, &acme.id).await.expect("leave");
    assert_eq!(left.id, adas.id);
    let ada = o.reload(&ada.session.token).await;
    assert_eq!(
        ada.session.fields.get(ACTIVE_ORGANIZATION),
        Some(&FieldValue::Null),
        "leaving clears the active organization"
    );
    assert_eq!(
        code(o.orgs.leave(&o.auth, &ada, &acme.id).await),
        "MEMBER_NOT_FOUND"
    );
}

#[tokio::test]
async fn members_are_added_within_the_limit_and_once() {
    let o = orgs_with(|config| config.membership_limit = 2).await;
    let ada = o.user("ada").await;
    let bob = o.user("bob").await;
    let cy = o.user("cy").await;
    let acme = o.create(&ada, "acme").await;
    o.join(&acme.id, &bob, "member").await;
    let twice = o
        .orgs
        .add_member(&o.auth, &acme.id, &bob.user.id, &RoleList::parse("member"))
        .await;
    assert_eq!(
        code(twice),
        "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION",
        "even when full"
    );
    let full = o
        .orgs
        .add_member(&o.auth, &acme.id, &cy.user.id, &RoleList::parse("member"))
        .await;
    assert_eq!(code(full), "ORGANIZATION_MEMBERSHIP_LIMIT_REACHED");
    let junk = o
        .orgs
        .add_member(&o.auth, &acme.id, &cy.user.id, &RoleList::parse(""))
        .await;
    assert_eq!(code(junk), "ROLE_NOT_FOUND");
    let nowhere = o
        .orgs
        .add_member(&o.auth, "nope", &cy.user.id, &RoleList::parse("member"))
        .await;
    assert_eq!(code(nowhere), "ORGANIZATION_NOT_FOUND");
    let (members, total) = o
        .orgs
        .list_members(&o.auth, &ada, by_id(&acme.id), &MemberQuery::default())
        .await
        .expect("list");
    assert_eq!(total, 2);
    assert_eq!(members[0].1.id, ada.user.id);
}

#[tokio::test]
async fn deleting_clears_the_organization_from_every_members_session() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    let bob = o.user("bob").await;
    let acme = o.create(&ada, "acme").await;
    o.join(&acme.id, &bob, "member").await;
    o.orgs
        .set_active(&o.auth, &bob, Some(by_id(&acme.id)))
        .await
        .expect("activate");
    let deleted = o
        .orgs
        .delete(&o.auth, &ada, &acme.id)
        .await
        .expect("delete");
    assert_eq!(deleted.id, acme.id);
    for token in [&ada.session.token, &bob.session.token] {
        let context = o.reload(token).await;
        assert_eq!(
            context.session.fields.get(ACTIVE_ORGANIZATION),
            Some(&FieldValue::Null)
        );
    }
    assert!(o.orgs.list(&bob).await.expect("list").is_empty());
    assert_eq!(o.store.find(&acme.id).await.expect("find"), None);

    let o = orgs_with(|config| config.disable_deletion = true).await;
    let ada = o.user("ada").await;
    let acme = o.create(&ada, "acme").await;
    assert_eq!(
        code(o.orgs.delete(&o.auth, &ada, &acme.id).await),
        "ORGANIZATION_DELETION_DISABLED"
    );
}

#[tokio::test]
async fn set_active_takes_an_id_or_a_slug_and_none_clears_it() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    let acme = o.create(&ada, "acme").await;
    let cleared = o.orgs.set_active(&o.auth, &ada, None).await.expect("clear");
    assert!(cleared.is_none());
    let ada = o.reload(&ada.session.token).await;
    assert_eq!(Organizations::active_id(&ada.session), None);
    let by_slug = o
        .orgs
        .set_active(
            &o.auth,
            &ada,
            Some(OrgRef {
                id: None,
                slug: Some("acme"),
            }),
        )
        .await
        .expect("by slug");
    assert_eq!(by_slug.map(|org| org.id), Some(acme.id.clone()));
    let ada = o.reload(&ada.session.token).await;
    assert_eq!(
        Organizations::active_id(&ada.session),
        Some(acme.id.as_str())
    );
    let member = o
        .orgs
        .active_member(&o.auth, &ada, OrgRef::default())
        .await
        .expect("active member");
    assert_eq!(member.user_id, ada.user.id);
    let none = o
        .orgs
        .active_member(&o.auth, &o.user("zed").await, OrgRef::default())
        .await;
    assert_eq!(code(none), "NO_ACTIVE_ORGANIZATION");
}

fn invite(email: &str, roles: &str) -> Invite {
    Invite {
        email: email.to_owned(),
        roles: RoleList::parse(roles),
        resend: false,
        team_ids: Vec::new(),
    }
}

#[tokio::test]
async fn an_invitation_is_accepted_once_by_its_recipient_only() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    let bob = o.user("bob").await;
    let eve = o.user("eve").await;
    let acme = o.create(&ada, "acme").await;
    let invitation = o
        .invite(&ada, &acme.id, "BOB@example.com", "admin")
        .await
        .expect("invite");
    assert_eq!(invitation.email, "bob@example.com", "lower-cased");
    assert_eq!(
        invitation.expires_at - invitation.created_at,
        time::Duration::hours(48)
    );
    let details = o
        .orgs
        .get_invitation(&o.auth, &bob, &invitation.id)
        .await
        .expect("details");
    assert_eq!(details.organization.slug, "acme");
    assert_eq!(details.inviter_email.as_str(), "ada@example.com");
    let stolen = o
        .orgs
        .accept_invitation(&o.auth, &eve, &invitation.id)
        .await;
    assert_eq!(code(stolen), "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION");
    let peek = o.orgs.get_invitation(&o.auth, &eve, &invitation.id).await;
    assert_eq!(code(peek), "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION");
    let (accepted, member) = o
        .orgs
        .accept_invitation(&o.auth, &bob, &invitation.id)
        .await
        .expect("accept");
    assert_eq!(
        accepted.status,
        auth_domain::organization::InvitationStatus::Accepted
    );
    assert_eq!(member.role.joined(), "admin");
    let bob = o.reload(&bob.session.token).await;
    assert_eq!(
        Organizations::active_id(&bob.session),
        Some(acme.id.as_str())
    );
    let again = o
        .orgs
        .accept_invitation(&o.auth, &bob, &invitation.id)
        .await;
    assert_eq!(code(again), "INVITATION_NOT_FOUND", "one use");
    let rejected = o.orgs.reject_invitation(&bob, &invitation.id).await;
    match rejected {
        Err(error) => {
            assert_eq!(error.code(), Some("INVITATION_NOT_FOUND"));
            assert_eq!(
                error.message(),
                "Invitation not found!",
                "Better-Auth's words"
            );
        }
        Ok(value) => panic!("expected a refusal, got {value:?}"),
    }
    assert_eq!(
        code(o.orgs.reject_invitation(&bob, "no-such-invitation").await),
        "INVITATION_NOT_FOUND"
    );
    let member_again = o.invite(&ada, &acme.id, "bob@example.com", "member").await;
    assert_eq!(
        code(member_again),
        "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION"
    );
}

#[tokio::test]
async fn only_a_verified_email_answers_an_invitation_when_the_settings_say_so() {
    let o = orgs_with(|config| config.require_email_verification_on_invitation = true).await;
    let ada = o.user("ada").await;
    let bob = o.user("bob").await;
    let acme = o.create(&ada, "acme").await;
    let invitation = o
        .invite(&ada, &acme.id, "bob@example.com", "member")
        .await
        .expect("invite");
    assert_eq!(
        code(o.orgs.get_invitation(&o.auth, &bob, &invitation.id).await),
        "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION"
    );
    for answer in [
        o.orgs
            .accept_invitation(&o.auth, &bob, &invitation.id)
            .await
            .map(|(invitation, _)| invitation),
        o.orgs.reject_invitation(&bob, &invitation.id).await,
    ] {
        assert_eq!(
            code(answer),
            "EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION"
        );
    }
    let mut bob = bob;
    bob.user.email_verified = true;
    o.orgs
        .accept_invitation(&o.auth, &bob, &invitation.id)
        .await
        .expect("a verified invitee accepts");
}

#[tokio::test]
async fn invitations_expire_and_are_rejected_or_cancelled_once() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    let cy = o.user("cy").await;
    let acme = o.create(&ada, "acme").await;
    let first = o
        .invite(&ada, &acme.id, "cy@example.com", "member")
        .await
        .expect("invite");
    let twice = o.invite(&ada, &acme.id, "cy@example.com", "member").await;
    assert_eq!(code(twice), "USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION");
    let resent = o
        .orgs
        .invite(
            &o.auth,
            &ada,
            by_id(&acme.id),
            Invite {
                resend: true,
                ..invite("cy@example.com", "member")
            },
        )
        .await
        .expect("resend");
    assert_eq!(resent.id, first.id, "the same invitation, sent again");
    let rejected = o
        .orgs
        .reject_invitation(&cy, &first.id)
        .await
        .expect("reject");
    assert_eq!(
        rejected.status,
        auth_domain::organization::InvitationStatus::Rejected
    );
    assert!(o.orgs.list(&cy).await.expect("list").is_empty());

    let second = o
        .invite(&ada, &acme.id, "cy@example.com", "member")
        .await
        .expect("invite again");
    let cancelled = o
        .orgs
        .cancel_invitation(&o.auth, &ada, &second.id)
        .await
        .expect("cancel");
    assert_eq!(
        cancelled.status,
        auth_domain::organization::InvitationStatus::Canceled
    );
    assert_eq!(
        code(o.orgs.accept_invitation(&o.auth, &cy, &second.id).await),
        "INVITATION_NOT_FOUND"
    );

    let third = o
        .invite(&ada, &acme.id, "cy@example.com", "member")
        .await
        .expect("invite a third time");
    o.clock.advance(time::Duration::hours(48));
    assert_eq!(
        code(o.orgs.accept_invitation(&o.auth, &cy, &third.id).await),
        "INVITATION_NOT_FOUND",
        "expired"
    );
    let declined = o
        .orgs
        .reject_invitation(&cy, &third.id)
        .await
        .expect("an expired pending invitation can still be declined");
    assert_eq!(
        declined.status,
        auth_domain::organization::InvitationStatus::Rejected
    );
}

#[tokio::test]
async fn only_members_who_may_invite_do_and_only_owners_invite_owners() {
    let o = orgs_with(|config| config.invitation_limit = 2).await;
    let ada = o.user("ada").await;
    let bob = o.user("bob").await;
    let cy = o.user("cy").await;
    let eve = o.user("eve").await;
    let acme = o.create(&ada, "acme").await;
    o.join(&acme.id, &bob, "admin").await;
    o.join(&acme.id, &cy, "member").await;
    let by_member = o.invite(&cy, &acme.id, "x@example.com", "member").await;
    assert_eq!(
        code(by_member),
        "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION"
    );
    let by_outsider = o.invite(&eve, &acme.id, "x@example.com", "member").await;
    assert_eq!(code(by_outsider), "MEMBER_NOT_FOUND");
    let crown = o.invite(&bob, &acme.id, "x@example.com", "owner").await;
    assert_eq!(
        code(crown),
        "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE"
    );
    let junk = o
        .invite(&bob, &acme.id, "x@example.com", "superadmin")
        .await;
    assert_eq!(code(junk), "ROLE_NOT_FOUND");
    let bad_email = o.invite(&bob, &acme.id, "not an email", "member").await;
    assert_eq!(code(bad_email), "INVALID_EMAIL");
    let owners = o
        .invite(&ada, &acme.id, "boss@example.com", "owner")
        .await
        .expect("an owner invites an owner");
    o.invite(&bob, &acme.id, "x@example.com", "member")
        .await
        .expect("an admin invites a member");
    let full = o.invite(&bob, &acme.id, "y@example.com", "member").await;
    assert_eq!(code(full), "INVITATION_LIMIT_REACHED");
    let listed_by_admin = o
        .orgs
        .list_invitations(&o.auth, &bob, by_id(&acme.id))
        .await
        .expect("list");
    assert!(
        listed_by_admin.iter().all(|one| one.id != owners.id),
        "invitations granting the owner role are hidden from non-owners"
    );
    assert_eq!(
        o.orgs
            .list_invitations(&o.auth, &ada, by_id(&acme.id))
            .await
            .expect("list")
            .len(),
        2
    );
    let by_member = o.orgs.list_invitations(&o.auth, &cy, by_id(&acme.id)).await;
    assert_eq!(code(by_member), "YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS");
    let cancel_by_member = o.orgs.cancel_invitation(&o.auth, &cy, &owners.id).await;
    assert_eq!(
        code(cancel_by_member),
        "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION"
    );
}

#[tokio::test]
async fn a_user_lists_their_pending_invitations_once_their_email_is_verified() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    let dan = o.user("dan").await;
    let acme = o.create(&ada, "acme").await;
    o.invite(&ada, &acme.id, "dan@example.com", "member")
        .await
        .expect("invite");
    let unverified = o.orgs.list_user_invitations(&o.auth, &dan).await;
    assert_eq!(
        code(unverified),
        "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION"
    );
    let mut verified = dan.clone();
    verified.user.email_verified = true;
    let mine = o
        .orgs
        .list_user_invitations(&o.auth, &verified)
        .await
        .expect("mine");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].1.name, "Org acme");
}

#[tokio::test]
async fn the_full_organization_shows_invitations_only_to_who_may_invite() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    let bob = o.user("bob").await;
    let cy = o.user("cy").await;
    let acme = o.create(&ada, "acme").await;
    o.join(&acme.id, &bob, "admin").await;
    o.join(&acme.id, &cy, "member").await;
    o.invite(&ada, &acme.id, "boss@example.com", "owner")
        .await
        .expect("invite an owner");
    o.invite(&bob, &acme.id, "dev@example.com", "member")
        .await
        .expect("invite a member");
    let count = |full: Option<FullOrganization>| {
        let full = full.expect("found");
        (full.members.len(), full.invitations.len())
    };
    let as_owner = o.orgs.full(&o.auth, &ada, by_id(&acme.id), None).await;
    assert_eq!(count(as_owner.expect("full")), (3, 2));
    let as_admin = o.orgs.full(&o.auth, &bob, by_id(&acme.id), Some(1)).await;
    assert_eq!(
        count(as_admin.expect("full")),
        (1, 1),
        "no owner invitation; one member"
    );
    let as_member = o.orgs.full(&o.auth, &cy, by_id(&acme.id), None).await;
    assert_eq!(count(as_member.expect("full")), (3, 0));
    let none = o.orgs.full(&o.auth, &cy, OrgRef::default(), None).await;
    assert_eq!(none.expect("nothing active"), None);
    let outsider = o.user("eve").await;
    let refused = o.orgs.full(&o.auth, &outsider, by_id(&acme.id), None).await;
    assert_eq!(code(refused), "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION");
}

#[tokio::test]
async fn stored_roles_grant_what_their_makers_hold_and_nothing_more() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(datetime!(2026-01-01 0:00 UTC)));
    let orgs = Organizations::new(store.clone(), store.clone(), OrganizationConfig::default())
        .with_roles(store.clone());
    let auth = Auth::with_plugins(
        deps(&store, &clock),
        AuthConfig::default(),
        vec![Arc::new(orgs.clone())],
    );
    let o = Orgs {
        auth,
        orgs,
        store,
        clock,
    };
    let ada = o.user("ada").await;
    let bob = o.user("bob").await;
    let cy = o.user("cy").await;
    let eve = o.user("eve").await;
    let acme = o.create(&ada, "acme").await;
    o.join(&acme.id, &bob, "admin").await;
    let support = Permissions::of(&[("member", &["update"])]);
    let made = o
        .make_role(&ada, &acme.id, "support", support.clone())
        .await
        .expect("an owner makes a role");
    assert_eq!(made.permission, support);
    assert_eq!(
        code(
            o.make_role(&ada, &acme.id, "support", support.clone())
                .await
        ),
        "ROLE_NAME_IS_ALREADY_TAKEN"
    );
    assert_eq!(
        code(o.make_role(&ada, &acme.id, "admin", support.clone()).await),
        "ROLE_NAME_IS_ALREADY_TAKEN"
    );
    assert_eq!(
        code(
            o.make_role(&ada, &acme.id, "bad name", support.clone())
                .await
        ),
        "VALIDATION_ERROR"
    );
    let billing = Permissions::of(&[("billing", &["read"])]);
    assert_eq!(
        code(o.make_role(&ada, &acme.id, "billing", billing).await),
        "INVALID_RESOURCE"
    );
    let delete_org = Permissions::of(&[("organization", &["delete"])]);
    assert_eq!(
        code(o.make_role(&bob, &acme.id, "deleter", delete_org).await),
        "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_ROLE",
        "an admin cannot grant what admins lack"
    );
    assert_eq!(
        code(o.make_role(&eve, &acme.id, "x", support.clone()).await),
        "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION"
    );

    // The stored role is a role like the configured ones.
    o.join(&acme.id, &cy, "support").await;
    let update = Permissions::of(&[("member", &["update"])]);
    assert!(
        o.orgs
            .has_permission(&o.auth, &cy, by_id(&acme.id), &update)
            .await
            .expect("check")
    );
    let by_member = o.make_role(&cy, &acme.id, "mine", support.clone()).await;
    assert_eq!(
        code(by_member),
        "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_ROLE",
        "no ac:create"
    );
    let listed = o
        .orgs
        .list_roles(&o.auth, &bob, by_id(&acme.id))
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);

    let renamed = o
        .orgs
        .update_role(
            &o.auth,
            &ada,
            by_id(&acme.id),
            "support",
            RoleUpdate {
                permission: Some(Permissions::of(&[("member", &["update", "delete"])])),
                ..RoleUpdate::default()
            },
        )
        .await
        .expect("update");
    assert_eq!(renamed.id, made.id);
    let remove = Permissions::of(&[("member", &["delete"])]);
    assert!(
        o.orgs
            .has_permission(&o.auth, &cy, by_id(&acme.id), &remove)
            .await
            .expect("check"),
        "the change applies at once"
    );
    let assigned = o
        .orgs
        .delete_role(&o.auth, &ada, by_id(&acme.id), "support")
        .await;
    assert_eq!(code(assigned), "ROLE_IS_ASSIGNED_TO_MEMBERS");
    let predefined = o
        .orgs
        .delete_role(&o.auth, &ada, by_id(&acme.id), "admin")
        .await;
    assert_eq!(code(predefined), "CANNOT_DELETE_A_PRE_DEFINED_ROLE");
    let missing = o
        .orgs
        .get_role(&o.auth, &ada, by_id(&acme.id), "nope")
        .await;
    assert_eq!(code(missing), "ROLE_NOT_FOUND");
    let spare = o
        .make_role(&ada, &acme.id, "spare", support.clone())
        .await
        .expect("spare");
    o.orgs
        .delete_role(&o.auth, &ada, by_id(&acme.id), &spare.id)
        .await
        .expect("an unassigned role is deleted");
    let gone = o
        .orgs
        .get_role(&o.auth, &ada, by_id(&acme.id), &spare.id)
        .await;
    assert_eq!(code(gone), "ROLE_NOT_FOUND");
}

#[tokio::test]
async fn role_management_is_refused_without_dynamic_roles() {
    let o = orgs().await;
    let ada = o.user("ada").await;
    let acme = o.create(&ada, "acme").await;
    let refused = o.orgs.list_roles(&o.auth, &ada, by_id(&acme.id)).await;
    assert!(matches!(refused, Err(AuthError::Internal(_))));
}

mod teams;
