//! Invitations: sent by a member who may invite, answered once by the invitee (the signed-in
//! user with the invited email), within their lifetime.

use auth_domain::organization::{
    Invitation, InvitationStatus, Member, OrgRefusal, Organization, RoleList, check_invited_roles,
};
use auth_domain::{Email, Permissions};
use auth_ports::{Accepted, Invited, PortError};

use super::{OrgRef, Organizations, org_error, refused};
use crate::{Auth, AuthContext, AuthError};

/// What `/organization/invite-member` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The invitee's email.
    pub email: String,
    /// The roles the invitee will have.
    pub roles: RoleList,
    /// Send a pending invitation of this email again (with a new expiry) instead of refusing.
    pub resend: bool,
    /// Teams the invitee joins on accepting (with teams on; ignored otherwise).
    pub team_ids: Vec<String>,
}

/// An invitation as `get-invitation` answers it: with its organization and inviter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationDetails {
    /// The invitation.
    pub invitation: Invitation,
    /// Its organization.
    pub organization: Organization,
    /// The inviter's email.
    pub inviter_email: Email,
}

/// An organization as `get-full-organization` answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullOrganization {
    /// The organization.
    pub organization: Organization,
    /// Its members with their users, oldest first.
    pub members: Vec<(Member, auth_domain::User)>,
    /// Its invitations, when the caller may see them.
    pub invitations: Vec<Invitation>,
    /// Its teams, with teams on.
    pub teams: Option<Vec<auth_domain::organization::Team>>,
}

impl Organizations {
    /// Invites `email` into the caller's organization (the caller needs `invitation:create`;
    /// only an owner invites owners) and mails the invitee the link.
    ///
    /// # Errors
    /// `MEMBER_NOT_FOUND` (the caller is not a member),
    /// `YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION`, `ROLE_NOT_FOUND`,
    /// `YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE`,
    /// `USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION`,
    /// `USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION`, `INVITATION_LIMIT_REACHED`,
    /// `VALIDATION_ERROR` (a malformed email), `Unavailable`.
    pub async fn invite(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        invite: Invite,
    ) -> Result<Invitation, AuthError> {
        let email = Email::parse(&invite.email).map_err(AuthError::Invalid)?;
        let (organization, inviter) = self
            .membership_or_member_not_found(auth, context, named)
            .await?;
        let create = Permissions::of(&[("invitation", &["create"])]);
        let access = self.access_for(&organization.id).await?;
        if !access.authorize(&inviter.role, &create) {
            return refused(OrgRefusal::NotAllowedToInvite);
        }
        check_invited_roles(&access, &inviter.role, &invite.roles)
            .map_err(|refusal| org_error(&refusal))?;
        let team_ids = self
            .invited_teams(&organization.id, &invite.team_ids)
            .await?;
        if let Some(user) = auth.deps().users.find_by_email(&email).await?
            && self
                .repo
                .find_member(&organization.id, &user.id)
                .await?
                .is_some()
        {
            return refused(OrgRefusal::AlreadyAMember);
        }
        let now = auth.now();
        let expires_at = now + self.config.invitation_expires_in;
        if let Some(pending) = self
            .invitations
            .pending_invitation(&organization.id, email.as_str())
            .await?
        {
            if !invite.resend {
                return refused(OrgRefusal::AlreadyInvited);
            }
            if access.is_creator(&pending.role) && !access.is_creator(&inviter.role) {
                return refused(OrgRefusal::NotAllowedToInviteWithRole);
            }
            self.invitations
                .extend_invitation(&pending.id, expires_at)
                .await?;
            let resent = Invitation {
                expires_at,
                ..pending
            };
            self.mail_invitation(auth, context, &organization, &resent, &email)
                .await;
            crate::metrics::organization_event("invitation_resent");
            return Ok(resent);
        }
        let invitation = Invitation {
            id: auth.new_id(),
            organization_id: organization.id.clone(),
            email: email.as_str().to_owned(),
            role: invite.roles,
            team_ids,
            status: InvitationStatus::Pending,
            expires_at,
            created_at: now,
            inviter_id: context.user.id.clone(),
        };
        match self
            .invitations
            .create_invitation(&invitation, self.config.invitation_limit)
            .await
        {
            Ok(Invited::Created) => {}
            Ok(Invited::LimitReached) => return refused(OrgRefusal::InvitationLimit),
            // A concurrent invitation of the same email won the organization's lock.
            Err(PortError::Conflict) => return refused(OrgRefusal::AlreadyInvited),
            Err(PortError::NotFound) => return refused(OrgRefusal::NotFound),
            Err(error) => return Err(error.into()),
        }
        self.mail_invitation(auth, context, &organization, &invitation, &email)
            .await;
        crate::metrics::organization_event("invitation_sent");
        Ok(invitation)
    }

    /// Mails the invitee the link, when mail is set up (an invitation is made either way).
    async fn mail_invitation(
        &self,
        auth: &Auth,
        context: &AuthContext,
        organization: &Organization,
        invitation: &Invitation,
        to: &Email,
    ) {
        let Some(mail) = auth.deps().mail.as_ref() else {
            tracing::debug!("no mail set up: the invitation is not mailed");
            return;
        };
        let url = self.config.invitation_url.replace("{id}", &invitation.id);
        let template = mail
            .templates
            .organization_invitation
            .with("organization", &organization.name);
        mail.send_to(&template, to, to, &context.user.name, &url)
            .await;
    }

    /// An open invitation addressed to the caller, whose email must be verified when the
    /// settings say so (refused with `unverified`).
    async fn own_open_invitation(
        &self,
        auth: &Auth,
        context: &AuthContext,
        id: &str,
        unverified: OrgRefusal,
    ) -> Result<Invitation, AuthError> {
        let invitation = self.invitation(id).await?;
        invitation
            .check_answer(context.user.email.as_str(), auth.now())
            .map_err(|refusal| org_error(&refusal))?;
        self.check_verified(context, unverified)?;
        Ok(invitation)
    }

    /// With `require_email_verification_on_invitation`, refuses a caller whose email is not
    /// verified.
    fn check_verified(&self, context: &AuthContext, refusal: OrgRefusal) -> Result<(), AuthError> {
        if self.config.require_email_verification_on_invitation && !context.user.email_verified {
            return refused(refusal);
        }
        Ok(())
    }

    /// The invitation with this id (`INVITATION_NOT_FOUND` when there is none).
    async fn invitation(&self, id: &str) -> Result<Invitation, AuthError> {
        if !super::clean(id) {
            return refused(OrgRefusal::InvitationNotFound);
        }
        match self.invitations.find_invitation(id).await? {
            Some(invitation) => Ok(invitation),
            None => refused(OrgRefusal::InvitationNotFound),
        }
    }

    /// An invitation addressed to the caller, with its organization and inviter.
    ///
    /// # Errors
    /// `INVITATION_NOT_FOUND` (unknown, answered or expired),
    /// `YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION`, `ORGANIZATION_NOT_FOUND`,
    /// `INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION`, `Unavailable`.
    pub async fn get_invitation(
        &self,
        auth: &Auth,
        context: &AuthContext,
        id: &str,
    ) -> Result<InvitationDetails, AuthError> {
        let invitation = self
            .own_open_invitation(auth, context, id, OrgRefusal::EmailVerificationRequired)
            .await?;
        let Some(organization) = self.repo.find(&invitation.organization_id).await? else {
            return refused(OrgRefusal::NotFound);
        };
        let inviter = self
            .repo
            .find_member(&organization.id, &invitation.inviter_id)
            .await?;
        let inviter_user = match inviter {
            Some(_) => auth.deps().users.find_by_id(&invitation.inviter_id).await?,
            None => None,
        };
        let Some(inviter_user) = inviter_user else {
            return refused(OrgRefusal::InviterGone);
        };
        Ok(InvitationDetails {
            invitation,
            organization,
            inviter_email: inviter_user.email,
        })
    }

    /// Accepts an invitation addressed to the caller: the caller becomes a member with its
    /// roles, and the organization the session's active one. Of concurrent accepts, one wins.
    ///
    /// # Errors
    /// `INVITATION_NOT_FOUND`, `YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION`,
    /// `ORGANIZATION_MEMBERSHIP_LIMIT_REACHED`, `Unavailable`.
    pub async fn accept_invitation(
        &self,
        auth: &Auth,
        context: &AuthContext,
        id: &str,
    ) -> Result<(Invitation, Member), AuthError> {
        let invitation = self
            .own_open_invitation(
                auth,
                context,
                id,
                OrgRefusal::EmailVerificationRequiredToAnswer,
            )
            .await?;
        let now = auth.now();
        let member = Member {
            id: auth.new_id(),
            organization_id: invitation.organization_id.clone(),
            user_id: context.user.id.clone(),
            role: invitation.role.clone(),
            created_at: now,
        };
        let member = match self
            .invitations
            .accept_invitation(&invitation.id, &member, self.config.membership_limit, now)
            .await?
        {
            Accepted::Accepted => member,
            Accepted::AlreadyMember => self
                .repo
                .find_member(&invitation.organization_id, &context.user.id)
                .await?
                .unwrap_or(member),
            Accepted::NotPending => return refused(OrgRefusal::InvitationNotFound),
            Accepted::LimitReached => return refused(OrgRefusal::MembershipLimit),
        };
        let joined = self
            .join_invited_teams(
                auth,
                &invitation.organization_id,
                &invitation.team_ids,
                &context.user.id,
            )
            .await?;
        let mut active = vec![(
            super::ACTIVE_ORGANIZATION,
            Some(invitation.organization_id.as_str()),
        )];
        // As in Better-Auth, an invitation into one team makes it the active team.
        if let ([team], [_]) = (joined.as_slice(), invitation.team_ids.as_slice()) {
            active.push((super::ACTIVE_TEAM, Some(team.as_str())));
        } else if self.teams_enabled() && Self::active_id(&context.session) != active[0].1 {
            active.push((super::ACTIVE_TEAM, None));
        }
        self.write_session(auth, &context.session, &active).await?;
        let accepted = Invitation {
            status: InvitationStatus::Accepted,
            ..invitation
        };
        crate::metrics::organization_event("invitation_accepted");
        Ok((accepted, member))
    }

    /// Declines a pending invitation addressed to the caller (expired or not).
    ///
    /// # Errors
    /// `INVITATION_NOT_FOUND` (`Invitation not found!`),
    /// `YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION`,
    /// `EMAIL_VERIFICATION_REQUIRED_BEFORE_ACCEPTING_OR_REJECTING_INVITATION`, `Unavailable`.
    pub async fn reject_invitation(
        &self,
        context: &AuthContext,
        id: &str,
    ) -> Result<Invitation, AuthError> {
        // As in Better-Auth, a pending invitation can be declined after it expired, and one
        // that is not pending is `Invitation not found!`.
        let not_found = || {
            let mut error = org_error(&OrgRefusal::InvitationNotFound);
            if let AuthError::Plugin(plugin) = &mut error {
                plugin.message = "Invitation not found!".into();
            }
            error
        };
        let invitation = match self.invitation(id).await {
            Err(AuthError::Plugin(_)) => return Err(not_found()),
            other => other?,
        };
        match invitation.check_decline(context.user.email.as_str()) {
            Ok(()) => {}
            Err(OrgRefusal::InvitationNotFound) => return Err(not_found()),
            Err(refusal) => return Err(org_error(&refusal)),
        }
        self.check_verified(context, OrgRefusal::EmailVerificationRequiredToAnswer)?;
        match self.close(invitation, InvitationStatus::Rejected).await {
            Err(AuthError::Plugin(_)) => Err(not_found()),
            other => other,
        }
    }

    /// Withdraws an invitation of the caller's organization (the caller needs
    /// `invitation:cancel`).
    ///
    /// # Errors
    /// `INVITATION_NOT_FOUND`, `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION`,
    /// `YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION`, `Unavailable`.
    pub async fn cancel_invitation(
        &self,
        auth: &Auth,
        context: &AuthContext,
        id: &str,
    ) -> Result<Invitation, AuthError> {
        let invitation = self.invitation(id).await?;
        let named = OrgRef {
            id: Some(&invitation.organization_id),
            slug: None,
        };
        let (_, member) = self
            .required_membership(auth, context, named, OrgRefusal::MemberNotFound)
            .await?;
        let cancel = Permissions::of(&[("invitation", &["cancel"])]);
        if !self.permits(&member, &cancel).await? {
            return refused(OrgRefusal::NotAllowedToCancel);
        }
        self.close(invitation, InvitationStatus::Canceled).await
    }

    /// Closes a pending invitation once: a concurrent answer that got there first wins.
    async fn close(
        &self,
        invitation: Invitation,
        status: InvitationStatus,
    ) -> Result<Invitation, AuthError> {
        if !self
            .invitations
            .close_invitation(&invitation.id, status)
            .await?
        {
            return refused(OrgRefusal::InvitationNotFound);
        }
        crate::metrics::organization_event(if status == InvitationStatus::Rejected {
            "invitation_rejected"
        } else {
            "invitation_canceled"
        });
        Ok(Invitation {
            status,
            ..invitation
        })
    }

    /// The organization a request names (or the active one) with its members and the
    /// invitations the caller may see (those `list-invitations` shows, else none); `None` when
    /// nothing is named and none is active.
    ///
    /// # Errors
    /// As for [`Organizations::get`].
    pub async fn full(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
        members_limit: Option<u64>,
    ) -> Result<Option<FullOrganization>, AuthError> {
        let Some((organization, member)) = self
            .membership(auth, context, named, OrgRefusal::NotAMember(403))
            .await?
        else {
            return Ok(None);
        };
        let query = auth_ports::MemberQuery {
            limit: members_limit
                .unwrap_or(self.config.membership_limit)
                .min(self.config.membership_limit),
            ..auth_ports::MemberQuery::default()
        };
        let (members, _) = self.repo.list_members(&organization.id, &query).await?;
        let invitations = self.visible_invitations(&organization, &member).await?;
        let teams = match &self.teams {
            Some(setup) => Some(setup.repo.list_teams(&organization.id).await?),
            None => None,
        };
        Ok(Some(FullOrganization {
            organization,
            members,
            invitations: invitations.unwrap_or_default(),
            teams,
        }))
    }

    /// The invitations `member` may see: `None` without `invitation:create`; those granting
    /// the creator role only to its holders.
    async fn visible_invitations(
        &self,
        organization: &Organization,
        member: &Member,
    ) -> Result<Option<Vec<Invitation>>, AuthError> {
        let create = Permissions::of(&[("invitation", &["create"])]);
        if !self.permits(member, &create).await? {
            return Ok(None);
        }
        let creator = self.access().is_creator(&member.role);
        let mut invitations = self.invitations.list_invitations(&organization.id).await?;
        invitations.retain(|invitation| creator || !self.access().is_creator(&invitation.role));
        Ok(Some(invitations))
    }

    /// The invitations of the caller's organization, every status (the caller needs
    /// `invitation:create`; invitations granting the creator role only for its holders).
    ///
    /// # Errors
    /// `NO_ACTIVE_ORGANIZATION`, `USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION` (403),
    /// `YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS`, `Unavailable`.
    pub async fn list_invitations(
        &self,
        auth: &Auth,
        context: &AuthContext,
        named: OrgRef<'_>,
    ) -> Result<Vec<Invitation>, AuthError> {
        let (organization, member) = self
            .required_membership(auth, context, named, OrgRefusal::NotAMember(403))
            .await?;
        match self.visible_invitations(&organization, &member).await? {
            Some(invitations) => Ok(invitations),
            None => refused(OrgRefusal::NotAllowedToListInvitations),
        }
    }

    /// The pending invitations addressed to the caller, with their organizations; the caller's
    /// email must be verified.
    ///
    /// # Errors
    /// `EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION`, `Unavailable`.
    pub async fn list_user_invitations(
        &self,
        auth: &Auth,
        context: &AuthContext,
    ) -> Result<Vec<(Invitation, Organization)>, AuthError> {
        if !context.user.email_verified {
            return refused(OrgRefusal::EmailVerificationRequired);
        }
        let now = auth.now();
        let mut invitations = self
            .invitations
            .list_user_invitations(context.user.email.as_str())
            .await?;
        invitations.retain(|(invitation, _)| invitation.is_open(now));
        Ok(invitations)
    }
}
