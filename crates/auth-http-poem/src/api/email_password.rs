//! `/sign-up/email`, `/sign-in/email`, `/change-password`.

use std::sync::Arc;

use auth_core::{ChangePassword, SignInEmail, SignInOutcome, SignUpEmail};
use auth_domain::Password;
use poem::Request;
use poem::http::header;
use poem_openapi::OpenApi;

use super::{ApiTags, check_callback, client_info};
use crate::dto::{
    ChangePasswordRequest, ChangePasswordResponse, SignInEmailRequest, SignInEmailResponse,
    SignUpEmailRequest, SignUpEmailResponse, UserDto,
};
use crate::error::ApiError;
use crate::payload::{Answer, BaJson, Reply};
use crate::session_ctx::{require, session_cookies};
use crate::state::HttpState;

pub(crate) struct EmailPasswordApi {
    pub(crate) state: Arc<HttpState>,
}

#[OpenApi(tag = "ApiTags::EmailPassword")]
impl EmailPasswordApi {
    /// Sign up with email and password; signs the new user in (unless the email must be
    /// verified first: then no session, and `token` is null).
    #[oai(path = "/sign-up/email", method = "post")]
    async fn sign_up_email(
        &self,
        request: &Request,
        body: BaJson<SignUpEmailRequest>,
    ) -> Result<Reply<SignUpEmailResponse>, ApiError> {
        let body = body.0;
        let password = Password::new(body.password.0);
        check_callback(&self.state, body.callback_url.as_ref())?;
        let remember_me = body.remember_me.unwrap_or(true);
        let command = SignUpEmail {
            name: body.name,
            email: body.email,
            password,
            image: body.image,
            remember_me,
            callback_url: body.callback_url,
            client: client_info(request),
        };
        let signed = self.state.auth().sign_up_email(command).await?;
        let response = SignUpEmailResponse {
            token: signed
                .session
                .as_ref()
                .map(|session| session.token.expose().to_owned()),
            user: UserDto::from(&signed.user),
        };
        let reply = Reply::new(response);
        Ok(match &signed.session {
            Some(session) => reply.cookies(session_cookies(&self.state, session, remember_me)),
            None => reply,
        })
    }

    /// Sign in with email and password. A plugin may answer instead without a session (a
    /// second factor is asked for: `{"twoFactorRedirect": true, ...}`).
    #[oai(path = "/sign-in/email", method = "post")]
    async fn sign_in_email(
        &self,
        request: &Request,
        body: BaJson<SignInEmailRequest>,
    ) -> Result<Answer<SignInEmailResponse>, ApiError> {
        let body = body.0;
        let password = Password::new(body.password.0);
        check_callback(&self.state, body.callback_url.as_ref())?;
        let remember_me = body.remember_me.unwrap_or(true);
        let command = SignInEmail {
            email: body.email,
            password,
            remember_me,
            client: client_info(request),
        };
        let signed = match self.state.auth().sign_in_email(command).await? {
            SignInOutcome::SignedIn(signed) => signed,
            SignInOutcome::Diverted(diversion) => {
                return crate::plugin::render_diversion(&self.state, &diversion).map(Answer::Raw);
            }
        };
        let mut cookies = session_cookies(&self.state, &signed.session, remember_me);
        cookies.extend(crate::plugin::plugin_cookie_lines(&self.state, &signed.cookies).into());
        let response = SignInEmailResponse {
            redirect: body.callback_url.is_some(),
            token: signed.session.token.expose().to_owned(),
            url: body.callback_url.clone(),
            user: UserDto::from(&signed.user),
        };
        let reply = Reply::new(response).cookies(cookies);
        Ok(Answer::Reply(match body.callback_url {
            Some(url) => reply.header(header::LOCATION, url),
            None => reply,
        }))
    }

    /// Change the password; optionally revoke every session and start a new one.
    #[oai(path = "/change-password", method = "post")]
    async fn change_password(
        &self,
        request: &Request,
        body: BaJson<ChangePasswordRequest>,
    ) -> Result<Reply<ChangePasswordResponse>, ApiError> {
        let body = body.0;
        let command = ChangePassword {
            current_password: Password::new(body.current_password.0),
            new_password: Password::new(body.new_password.0),
            revoke_other_sessions: body.revoke_other_sessions.unwrap_or(false),
            client: client_info(request),
        };
        let loaded = require(&self.state, request).await?;
        let changed = self
            .state
            .auth()
            .change_password(&loaded.context, command)
            .await?;
        let mut cookies = loaded.cookies;
        let token = changed.new_session.as_ref().map(|session| {
            let remember_me = self.state.auth().config().session.is_remembered(session);
            cookies = session_cookies(&self.state, session, remember_me);
            session.token.expose().to_owned()
        });
        let response = ChangePasswordResponse {
            token,
            user: UserDto::from(&changed.user),
        };
        Ok(Reply::new(response).cookies(cookies))
    }
}
