//! Conversions between table rows and domain values. Nothing else converts.

use auth_domain::organization::{Invitation, InvitationStatus, Member, Organization, RoleList};
use auth_domain::{
    Account, AccountId, Email, PasswordHash, Session, SessionId, SessionToken, User, UserId,
    Verification, VerificationId,
};
use sea_orm::ActiveValue::Set;

use crate::entity::{account, invitation, member, organization, session, user, verification};

pub(crate) fn user_from_row(row: user::Model) -> User {
    User {
        id: UserId::new(row.id),
        name: row.name,
        email: Email::from_trusted(row.email),
        email_verified: row.email_verified,
        two_factor_enabled: row.two_factor_enabled.unwrap_or(false),
        image: row.image,
        created_at: row.created_at,
        updated_at: row.updated_at,
        fields: Default::default(),
    }
}

pub(crate) fn user_to_row(user: &User) -> user::ActiveModel {
    user::ActiveModel {
        id: Set(user.id.as_str().to_owned()),
        name: Set(user.name.clone()),
        email: Set(user.email.as_str().to_owned()),
        email_verified: Set(user.email_verified),
        two_factor_enabled: Set(Some(user.two_factor_enabled)),
        image: Set(user.image.clone()),
        created_at: Set(user.created_at),
        updated_at: Set(user.updated_at),
    }
}

pub(crate) fn account_from_row(row: account::Model) -> Account {
    Account {
        id: AccountId::new(row.id),
        account_id: row.account_id,
        provider_id: row.provider_id,
        user_id: UserId::new(row.user_id),
        password: row.password.map(PasswordHash::new),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

pub(crate) fn account_to_row(account: &Account) -> account::ActiveModel {
    account::ActiveModel {
        id: Set(account.id.as_str().to_owned()),
        account_id: Set(account.account_id.clone()),
        provider_id: Set(account.provider_id.clone()),
        user_id: Set(account.user_id.as_str().to_owned()),
        password: Set(account
            .password
            .as_ref()
            .map(|hash| hash.as_str().to_owned())),
        created_at: Set(account.created_at),
        updated_at: Set(account.updated_at),
    }
}

pub(crate) fn session_from_row(row: session::Model) -> Session {
    Session {
        id: SessionId::new(row.id),
        token: SessionToken::new(row.token),
        user_id: UserId::new(row.user_id),
        expires_at: row.expires_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
        ip_address: row.ip_address,
        user_agent: row.user_agent,
        fields: Default::default(),
    }
}

pub(crate) fn session_to_row(session: &Session) -> session::ActiveModel {
    session::ActiveModel {
        id: Set(session.id.as_str().to_owned()),
        expires_at: Set(session.expires_at),
        token: Set(session.token.expose().to_owned()),
        created_at: Set(session.created_at),
        updated_at: Set(session.updated_at),
        ip_address: Set(session.ip_address.clone()),
        user_agent: Set(session.user_agent.clone()),
        user_id: Set(session.user_id.as_str().to_owned()),
    }
}

pub(crate) fn verification_from_row(row: verification::Model) -> Verification {
    Verification {
        id: VerificationId::new(row.id),
        identifier: row.identifier,
        value: row.value,
        expires_at: row.expires_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

pub(crate) fn verification_to_row(record: &Verification) -> verification::ActiveModel {
    verification::ActiveModel {
        id: Set(record.id.as_str().to_owned()),
        identifier: Set(record.identifier.clone()),
        value: Set(record.value.clone()),
        expires_at: Set(record.expires_at),
        created_at: Set(record.created_at),
        updated_at: Set(record.updated_at),
    }
}

pub(crate) fn organization_from_row(row: organization::Model) -> Organization {
    Organization {
        id: row.id,
        name: row.name,
        slug: row.slug,
        logo: row.logo,
        metadata: row.metadata,
        created_at: row.created_at,
    }
}

pub(crate) fn organization_to_row(organization: &Organization) -> organization::ActiveModel {
    organization::ActiveModel {
        id: Set(organization.id.clone()),
        name: Set(organization.name.clone()),
        slug: Set(organization.slug.clone()),
        logo: Set(organization.logo.clone()),
        created_at: Set(organization.created_at),
        metadata: Set(organization.metadata.clone()),
    }
}

pub(crate) fn member_from_row(row: member::Model) -> Member {
    Member {
        id: row.id,
        organization_id: row.organization_id,
        user_id: UserId::new(row.user_id),
        role: RoleList::parse(&row.role),
        created_at: row.created_at,
    }
}

pub(crate) fn member_to_row(member: &Member) -> member::ActiveModel {
    member::ActiveModel {
        id: Set(member.id.clone()),
        organization_id: Set(member.organization_id.clone()),
        user_id: Set(member.user_id.as_str().to_owned()),
        role: Set(member.role.joined()),
        created_at: Set(member.created_at),
    }
}

pub(crate) fn invitation_from_row(row: invitation::Model) -> Invitation {
    Invitation {
        id: row.id,
        organization_id: row.organization_id,
        email: row.email.to_lowercase(),
        role: RoleList::parse(row.role.as_deref().unwrap_or_default()),
        team_ids: row
            .team_id
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect(),
        status: InvitationStatus::from_stored(&row.status),
        expires_at: row.expires_at,
        created_at: row.created_at,
        inviter_id: UserId::new(row.inviter_id),
    }
}

pub(crate) fn invitation_to_row(invitation: &Invitation) -> invitation::ActiveModel {
    invitation::ActiveModel {
        id: Set(invitation.id.clone()),
        organization_id: Set(invitation.organization_id.clone()),
        email: Set(invitation.email.clone()),
        role: Set(Some(invitation.role.joined())),
        team_id: Set((!invitation.team_ids.is_empty()).then(|| invitation.team_ids.join(","))),
        status: Set(invitation.status.as_str().to_owned()),
        expires_at: Set(invitation.expires_at),
        created_at: Set(invitation.created_at),
        inviter_id: Set(invitation.inviter_id.as_str().to_owned()),
    }
}
