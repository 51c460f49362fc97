//! auth-core: the use cases of the auth server (sign-up, sign-in, sessions, user updates,
//! password changes) behind one façade, `Auth`.
//! Depends on: auth-domain, auth-ports.
//! Must not depend on: adapters, tokio, sea-orm, redis, poem.
//! Invariant: every public method on `Auth` is one use case and returns `AuthError`; rules that
//! span several ports (one user per email, hash even for unknown users, sliding expiry) live here.
#![warn(missing_docs)]

mod api_key;
mod audit;
mod auth;
mod delete_user;
mod email_password;
mod email_verification;
mod error;
mod jwt;
mod mail;
pub mod metrics;
mod organization;
mod password_reset;
mod plugin;
mod ratelimit;
mod session;
mod two_factor;
mod user;
mod ws_ticket;

pub use api_key::{
    ApiKeyConfig, ApiKeys, Caller, CreateApiKey, CreatedApiKey, DEFAULT_CONFIG_ID, KeyOwner,
    KeyPage, KeyRateLimit, KeySession, KeySort, ListApiKeys, MAX_KEY_NUMBER, OrganizationKeys,
    UpdateApiKey, refusal_error, unauthorized_session,
};
pub use auth::{
    Auth, AuthConfig, AuthDeps, ClientInfo, EXPIRED_VERIFICATION_GRACE, EmailRules, WeakAuth,
};
pub use delete_user::{DeleteOutcome, DeleteUser};
pub use email_password::{
    ChangePassword, ChangedPassword, SignInEmail, SignInOutcome, SignUpEmail, SignedIn,
};
pub use email_verification::{Verified, VerifiedEmail};
pub use error::{AuthError, VerificationRefusal};
pub use jwt::{
    IssuedToken, JWKS_FRESHNESS, KeyInfo, KeyStatus, PublishedJwk, PublishedPaserk, TokenConfig,
    TokenDeps, TokenFormat, TokenIssuer,
};
pub use mail::{MailSetup, MailTemplates, Template};
pub use organization::{
    ACTIVE_ORGANIZATION, ACTIVE_TEAM, ActiveTeam, CreateOrganization, CreatedOrganization,
    FullOrganization, InvitationDetails, Invite, MAX_ORGANIZATION_NAME, MAX_ROLES_PER_ORGANIZATION,
    MemberQuery, MemberSort, OrgRef, OrganizationConfig, Organizations, RoleUpdate, TeamConfig,
    UpdateOrganization, org_error,
};
pub use password_reset::ResetPassword;
pub use plugin::{
    AuthPlugin, Diversion, PluginCookie, PluginError, PluginErrorKind, PluginFuture,
    RequestCookies, RouteLimit, SignInStep,
};
pub use ratelimit::{RateLimitConfig, RateLimitQuery};
pub use session::{AuthContext, GetSession, SessionLookup};
pub use two_factor::{
    Completion, Enrolment, Proof, TRUST_DEVICE_COOKIE, TWO_FACTOR, TWO_FACTOR_ENABLED,
    TwoFactorConfig, TwoFactors, two_factor_error,
};
pub use user::UpdateUser;
pub use ws_ticket::{WS_TICKET_LIFETIME, WsTicket};

#[cfg(test)]
mod tests;
