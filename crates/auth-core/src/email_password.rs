//! Email and password: sign-up, sign-in, change password.

use auth_domain::{
    Account, AccountId, AuditKind, AuthEvent, DomainError, Email, Password, Session, SessionEnd,
    User, UserId, text::check_text,
};
use auth_ports::PortError;

use crate::{Auth, AuthContext, AuthError, ClientInfo, SignInStep};

/// `POST /sign-up/email`.
#[derive(Debug)]
pub struct SignUpEmail {
    /// Display name.
    pub name: String,
    /// Raw email as sent.
    pub email: String,
    /// New password.
    pub password: Password,
    /// Avatar URL.
    pub image: Option<String>,
    /// Long-lived session (7 days) or a 1-day one.
    pub remember_me: bool,
    /// Where the verification link leads (when sign-up mails one).
    pub callback_url: Option<String>,
    /// Who is asking.
    pub client: ClientInfo,
}

/// `POST /sign-in/email`.
#[derive(Debug)]
pub struct SignInEmail {
    /// Raw email as sent.
    pub email: String,
    /// Password to check.
    pub password: Password,
    /// Long-lived session (7 days) or a 1-day one.
    pub remember_me: bool,
    /// Who is asking.
    pub client: ClientInfo,
}

/// A user with the session just created for them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The user.
    pub user: User,
    /// The new session.
    pub session: Session,
    /// Cookies the sign-in's plugins set or expire.
    pub cookies: Vec<crate::plugin::PluginCookie>,
}

/// A new user, signed in unless sign-up needs a verified email first.
#[derive(Debug, Clone)]
pub struct SignedUp {
    /// The user (with `requireEmailVerification`, a taken email answers a user made up on the
    /// spot, so that the answer says nothing about who has an account).
    pub user: User,
    /// The new session; `None` with `requireEmailVerification`.
    pub session: Option<Session>,
}

/// How a password sign-in ended.
#[derive(Debug, Clone)]
pub enum SignInOutcome {
    /// A session was issued.
    SignedIn(SignedIn),
    /// A plugin answered without a session (a second factor is asked for).
    Diverted(crate::Diversion),
}

/// `POST /change-password`.
#[derive(Debug)]
pub struct ChangePassword {
    /// The password in force, to confirm.
    pub current_password: Password,
    /// The replacement.
    pub new_password: Password,
    /// Delete every session and issue a new one.
    pub revoke_other_sessions: bool,
    /// Who is asking.
    pub client: ClientInfo,
}

/// Result of a password change.
#[derive(Debug, Clone)]
pub struct ChangedPassword {
    /// The user.
    pub user: User,
    /// The new session when the others were revoked.
    pub new_session: Option<Session>,
}

impl Auth {
    /// Creates a user with a credential account and signs them in.
    ///
    /// # Errors
    /// `Invalid` for a bad name, email or password; `UserAlreadyExists` when the email is taken
    /// (also under racing sign-ups); `Unavailable` when a dependency is down.
    #[tracing::instrument(skip_all)]
    pub async fn sign_up_email(&self, command: SignUpEmail) -> Result<SignedUp, AuthError> {
        let Ok(email) = Email::parse(&command.email) else {
            return Err(AuthError::Invalid(DomainError::InvalidField {
                field: "email",
            }));
        };
        check_text("name", &command.name)?;
        if let Some(image) = &command.image {
            check_text("image", image)?;
        }
        self.config().password.check_new(&command.password)?;
        let rules = self.config().email;
        let now = self.now();
        let user = User {
            id: UserId::new(self.new_id()),
            name: command.name,
            email,
            email_verified: false,
            two_factor_enabled: false,
            image: command.image,
            created_at: now,
            updated_at: now,
            fields: auth_domain::Fields::declared(self.field_specs(), auth_domain::Model::User),
        };
        if self
            .deps()
            .users
            .find_by_email(&user.email)
            .await?
            .is_some()
        {
            // Hash anyway so that a taken email costs the same time as a new one.
            self.deps().hasher.hash(&command.password).await?;
            if rules.require_email_verification {
                // Better-Auth's enumeration protection: the user that would have been made, with
                // no session; nothing is stored.
                return Ok(SignedUp {
                    user,
                    session: None,
                });
            }
            return Err(AuthError::UserAlreadyExists);
        }
        let hash = self.deps().hasher.hash(&command.password).await?;
        let account = Account::credential(AccountId::new(self.new_id()), &user.id, hash, now);
        match self.deps().users.create_with_account(&user, &account).await {
            Ok(()) => {}
            Err(PortError::Conflict) => return Err(AuthError::UserAlreadyExists),
            Err(other) => return Err(other.into()),
        }
        self.audit(AuditKind::SignUp, Some(&user.id), None, &command.client)
            .await;
        if rules.send_verification_on_sign_up || rules.require_email_verification {
            self.mail_verification(&user, command.callback_url.as_deref())
                .await?;
        }
        if rules.require_email_verification {
            return Ok(SignedUp {
                user,
                session: None,
            });
        }
        let session = self
            .create_session(&user.id, command.remember_me, &command.client)
            .await?;
        let signed = self.after_session(user, session).await?;
        Ok(SignedUp {
            user: signed.user,
            session: Some(signed.session),
        })
    }

    /// Checks an email and password and creates a session.
    ///
    /// # Errors
    /// `Invalid(InvalidEmail)` for a malformed email, `Invalid(PasswordTooLong)`,
    /// `InvalidEmailOrPassword` for every other refusal (unknown email included, after hashing
    /// anyway so that timing reveals nothing); `Unavailable` when a dependency is down.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in_email(&self, command: SignInEmail) -> Result<SignInOutcome, AuthError> {
        let email = Email::parse(&command.email)?;
        self.config().password.check_max(&command.password)?;
        self.check_sign_in_failures(&email, &command.client).await?;
        let refusal = match self.check_credentials(&email, &command.password).await? {
            Ok(user) => return self.finish_sign_in(user, &command).await,
            Err(refusal) => refusal,
        };
        // Failures are counted per account and client (an unknown email too, so that the
        // limits say nothing about which accounts exist); a correct password never is.
        self.record_sign_in_failure(&email, &command.client).await;
        let (user_id, reason) = refusal;
        self.audit(
            AuditKind::SignInFailed,
            user_id.as_ref(),
            Some(reason),
            &command.client,
        )
        .await;
        Err(AuthError::InvalidEmailOrPassword)
    }

    /// The user whose password this is, or why not (the user when known, and the audit
    /// reason). Hashes once in every case, so timing tells nothing.
    async fn check_credentials(
        &self,
        email: &Email,
        password: &Password,
    ) -> Result<Result<User, (Option<UserId>, &'static str)>, AuthError> {
        let Some(user) = self.deps().users.find_by_email(email).await? else {
            self.deps().hasher.hash(password).await?;
            return Ok(Err((None, "unknown_email")));
        };
        let account = self.deps().accounts.find_credential(&user.id).await?;
        let Some(hash) = account.and_then(|account| account.password) else {
            self.deps().hasher.hash(password).await?;
            return Ok(Err((Some(user.id), "no_credential")));
        };
        if !self.deps().hasher.verify(password, &hash).await? {
            return Ok(Err((Some(user.id), "wrong_password")));
        }
        Ok(Ok(user))
    }

    /// Issues the session of a verified first factor, unless a second one is required.
    async fn finish_sign_in(
        &self,
        user: User,
        command: &SignInEmail,
    ) -> Result<SignInOutcome, AuthError> {
        if self.config().email.require_email_verification && !user.email_verified {
            self.audit(
                AuditKind::SignInFailed,
                Some(&user.id),
                Some("email_not_verified"),
                &command.client,
            )
            .await;
            return Err(AuthError::EmailNotVerified);
        }
        let mut cookies = Vec::new();
        let mut vouched = false;
        for plugin in self.plugins() {
            match plugin.before_session(self, &user, &command.client).await? {
                SignInStep::Continue => {}
                SignInStep::Vouch(set) => {
                    vouched = true;
                    cookies.extend(set);
                }
                SignInStep::Divert(mut diversion) => {
                    crate::metrics::signed_in(crate::metrics::SignIn::TwoFactorRequired);
                    tracing::info!(target: "auth::audit", event = "sign_in_diverted", user_id = %user.id, plugin = diversion.plugin, "sign-in diverted");
                    diversion.remember_me = command.remember_me;
                    return Ok(SignInOutcome::Diverted(*diversion));
                }
            }
        }
        if user.two_factor_enabled && !vouched {
            // Fail closed: the password alone never opens an account that has a second factor,
            // and no plugin asked for it or vouched for it.
            self.audit(
                AuditKind::SignInFailed,
                Some(&user.id),
                Some("two_factor_not_available"),
                &command.client,
            )
            .await;
            return Err(AuthError::TwoFactorNotAvailable);
        }
        let session = self
            .create_session(&user.id, command.remember_me, &command.client)
            .await?;
        self.audit(AuditKind::SignIn, Some(&user.id), None, &command.client)
            .await;
        let mut signed = self.after_session(user, session).await?;
        signed.cookies = cookies;
        Ok(SignInOutcome::SignedIn(signed))
    }

    /// Runs every plugin's step after a session was issued.
    pub(crate) async fn after_session(
        &self,
        user: User,
        session: Session,
    ) -> Result<SignedIn, AuthError> {
        if self.plugins().is_empty() {
            return Ok(SignedIn {
                user,
                session,
                cookies: Vec::new(),
            });
        }
        let context = AuthContext { session, user };
        for plugin in self.plugins() {
            plugin.after_session(self, &context).await?;
        }
        Ok(SignedIn {
            user: context.user,
            session: context.session,
            cookies: Vec::new(),
        })
    }

    /// Changes the password of the signed-in user.
    ///
    /// # Errors
    /// `Invalid` for a new password outside the policy, `CredentialAccountNotFound`,
    /// `InvalidPassword` when the current password is wrong, `Unavailable`.
    #[tracing::instrument(skip_all, fields(user_id = %context.user.id))]
    pub async fn change_password(
        &self,
        context: &AuthContext,
        command: ChangePassword,
    ) -> Result<ChangedPassword, AuthError> {
        self.config().password.check_new(&command.new_password)?;
        let account = self
            .deps()
            .accounts
            .find_credential(&context.user.id)
            .await?;
        let Some((account, hash)) =
            account.and_then(|account| account.password.clone().map(|hash| (account, hash)))
        else {
            return Err(AuthError::CredentialAccountNotFound);
        };
        if !self
            .deps()
            .hasher
            .verify(&command.current_password, &hash)
            .await?
        {
            return Err(AuthError::InvalidPassword);
        }
        let new_hash = self.deps().hasher.hash(&command.new_password).await?;
        self.deps()
            .accounts
            .update_password(&account.id, &new_hash, self.now())
            .await?;
        self.emit(
            AuthEvent::PasswordChanged {
                user_id: context.user.id.clone(),
            },
            &command.client,
        )
        .await;
        if !command.revoke_other_sessions {
            return Ok(ChangedPassword {
                user: context.user.clone(),
                new_session: None,
            });
        }
        self.deps()
            .sessions
            .delete_for_user(&context.user.id, None)
            .await?;
        self.emit(
            AuthEvent::UserSessionsEnded {
                user_id: context.user.id.clone(),
                kept: None,
                reason: SessionEnd::PasswordChanged,
            },
            &command.client,
        )
        .await;
        let remember_me = self.config().session.is_remembered(&context.session);
        let session = self
            .create_session(&context.user.id, remember_me, &command.client)
            .await?;
        Ok(ChangedPassword {
            user: context.user.clone(),
            new_session: Some(session),
        })
    }
}
