//! Messages the flows send: templates with `{{name}}` placeholders, rendered with the app name
//! and links built from the base URL; an operator replaces any template from files.

use std::sync::Arc;

use auth_domain::Email;
use auth_ports::{Mail, Mailer};

/// One kind of message: subject, plain text and HTML, each with `{{placeholders}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body (placeholders are HTML-escaped here).
    pub html: String,
}

/// Every message the flows send. `{{app}}`, `{{url}}`, `{{email}}` and `{{name}}` are
/// replaced when a message is rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailTemplates {
    /// `request-password-reset`: the link to set a new password.
    pub reset_password: Template,
    /// `send-verification-email` (and sign-up with `sendOnSignUp`): the link that verifies the
    /// address.
    pub verify_email: Template,
    /// `delete-user` with deletion by link: the link that deletes the account.
    pub delete_account: Template,
    /// `change-email` of a verified user: the link, to the current address, that confirms the
    /// change (`{{email}}` is the new address).
    pub change_email: Template,
    /// `organization/invite-member`: the invitation link, to the invitee (`{{name}}` is the
    /// inviter's name, `{{organization}}` the organization's).
    pub organization_invitation: Template,
    /// `two-factor/send-otp`: a one-time code (`{{otp}}`) for the second factor.
    pub two_factor_otp: Template,
}

impl Default for MailTemplates {
    fn default() -> Self {
        Self {
            reset_password: Template {
                subject: "Reset your {{app}} password".to_owned(),
                text: "Hello {{name}},\n\nSomeone asked to reset the password of your {{app}} account ({{email}}). To choose a new password, open this link within the hour:\n\n{{url}}\n\nIf it was not you, ignore this message: your password stays as it is.\n".to_owned(),
                html: "<p>Hello {{name}},</p><p>Someone asked to reset the password of your {{app}} account ({{email}}). To choose a new password, open this link within the hour:</p><p><a href=\"{{url}}\">Reset your password</a></p><p>If it was not you, ignore this message: your password stays as it is.</p>".to_owned(),
            },
            verify_email: Template {
                subject: "Verify your email for {{app}}".to_owned(),
                text: "Hello {{name}},\n\nTo confirm that {{email}} is your address for {{app}}, open this link within the hour:\n\n{{url}}\n\nIf you did not sign up, ignore this message.\n".to_owned(),
                html: "<p>Hello {{name}},</p><p>To confirm that {{email}} is your address for {{app}}, open this link within the hour:</p><p><a href=\"{{url}}\">Verify your email</a></p><p>If you did not sign up, ignore this message.</p>".to_owned(),
            },
            change_email: Template {
                subject: "Confirm the new email of your {{app}} account".to_owned(),
                text: "Hello {{name}},\n\nSomeone signed in to your {{app}} account asked to change its email to {{email}}. To confirm, open this link within the hour; a verification link will then go to the new address:\n\n{{url}}\n\nIf it was not you, ignore this message and change your password.\n".to_owned(),
                html: "<p>Hello {{name}},</p><p>Someone signed in to your {{app}} account asked to change its email to {{email}}. To confirm, open this link within the hour; a verification link will then go to the new address:</p><p><a href=\"{{url}}\">Confirm the change</a></p><p>If it was not you, ignore this message and change your password.</p>".to_owned(),
            },
            organization_invitation: Template {
                subject: "{{name}} invited you to {{organization}} on {{app}}".to_owned(),
                text: "Hello,\n\n{{name}} invited {{email}} to join {{organization}} on {{app}}. To accept, sign in with this address and open this link:\n\n{{url}}\n\nIf you do not want to join, ignore this message.\n".to_owned(),
                html: "<p>Hello,</p><p>{{name}} invited {{email}} to join {{organization}} on {{app}}. To accept, sign in with this address and open this link:</p><p><a href=\"{{url}}\">Join {{organization}}</a></p><p>If you do not want to join, ignore this message.</p>".to_owned(),
            },
            two_factor_otp: Template {
                subject: "Your {{app}} code: {{otp}}".to_owned(),
                text: "Hello {{name}},\n\nYour code to sign in to {{app}} is {{otp}}. It works once, for three minutes.\n\nIf it was not you, someone knows your password: change it.\n".to_owned(),
                html: "<p>Hello {{name}},</p><p>Your code to sign in to {{app}} is <strong>{{otp}}</strong>. It works once, for three minutes.</p><p>If it was not you, someone knows your password: change it.</p>".to_owned(),
            },
            delete_account: Template {
                subject: "Delete your {{app}} account".to_owned(),
                text: "Hello {{name}},\n\nSomeone signed in as {{email}} asked to delete your {{app}} account. To delete it for good, open this link within a day while signed in:\n\n{{url}}\n\nIf it was not you, ignore this message and change your password.\n".to_owned(),
                html: "<p>Hello {{name}},</p><p>Someone signed in as {{email}} asked to delete your {{app}} account. To delete it for good, open this link within a day while signed in:</p><p><a href=\"{{url}}\">Delete your account</a></p><p>If it was not you, ignore this message and change your password.</p>".to_owned(),
            },
        }
    }
}

impl MailTemplates {
    /// The template of `kind` (`reset-password`), for operators replacing it from files.
    pub fn by_name_mut(&mut self, kind: &str) -> Option<&mut Template> {
        match kind {
            "reset-password" => Some(&mut self.reset_password),
            "verify-email" => Some(&mut self.verify_email),
            "delete-account" => Some(&mut self.delete_account),
            "change-email" => Some(&mut self.change_email),
            "organization-invitation" => Some(&mut self.organization_invitation),
            "two-factor-otp" => Some(&mut self.two_factor_otp),
            _ => None,
        }
    }

    /// The names of every template.
    pub const NAMES: [&'static str; 6] = [
        "reset-password",
        "verify-email",
        "delete-account",
        "change-email",
        "organization-invitation",
        "two-factor-otp",
    ];
}

/// What the mail flows need: where mail goes, what it says, the links' base, and the
/// email-verification tokens.
pub struct MailSetup {
    /// Where mail goes.
    pub mailer: Arc<dyn Mailer>,
    /// Email-verification tokens (Better-Auth's HS256 JWTs).
    pub tokens: Arc<dyn auth_ports::EmailTokens>,
    /// The messages.
    pub templates: MailTemplates,
    /// The app's name, for the messages.
    pub app_name: String,
    /// The auth API's public URL (`https://auth.example.com/api/auth`), for the links.
    pub api_url: String,
}

impl std::fmt::Debug for MailSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSetup")
            .field("app_name", &self.app_name)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl MailSetup {
    /// Renders `template` for `user` with the link `url` and queues it; a message that cannot
    /// be queued is logged (the flow's answer stays the same, and the user may ask again).
    pub(crate) async fn send(&self, template: &Template, user: &auth_domain::User, url: &str) {
        self.send_to(template, &user.email, &user.email, &user.name, url)
            .await;
    }

    /// Renders `template` for `to`, naming `shown` as `{{email}}`, and queues it.
    pub(crate) async fn send_to(
        &self,
        template: &Template,
        to: &Email,
        shown: &Email,
        name: &str,
        url: &str,
    ) {
        let message = template.render(
            to,
            &Values {
                app: &self.app_name,
                url,
                email: shown.as_str(),
                name,
            },
        );
        if let Err(error) = self.mailer.send(message).await {
            tracing::warn!(target: "auth::mail", %error, subject = template.subject, "mail not queued");
        }
    }
}

/// The values a message is rendered with.
pub(crate) struct Values<'a> {
    pub(crate) app: &'a str,
    pub(crate) url: &'a str,
    pub(crate) email: &'a str,
    pub(crate) name: &'a str,
}

impl Template {
    /// The template with `{{placeholder}}` filled with `value` (escaped in the HTML), for the
    /// placeholders only one message has.
    pub(crate) fn with(&self, placeholder: &str, value: &str) -> Self {
        let key = format!("{{{{{placeholder}}}}}");
        Self {
            subject: self.subject.replace(&key, value),
            text: self.text.replace(&key, value),
            html: self.html.replace(&key, &html_escape(value)),
        }
    }

    pub(crate) fn render(&self, to: &Email, values: &Values<'_>) -> Mail {
        let fill = |text: &str, escape: bool| {
            let value = |raw: &str| {
                if escape {
                    html_escape(raw)
                } else {
                    raw.to_owned()
                }
            };
            text.replace("{{app}}", &value(values.app))
                .replace("{{url}}", &value(values.url))
                .replace("{{email}}", &value(values.email))
                .replace("{{name}}", &value(values.name))
        };
        Mail {
            to: to.clone(),
            subject: fill(&self.subject, false).replace(['\r', '\n'], " "),
            text: fill(&self.text, false),
            html: fill(&self.html, true),
        }
    }
}

fn html_escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_escaped_in_html_only() {
        let template = MailTemplates::default().reset_password;
        let to = Email::parse("ada@example.com").expect("email");
        let mail = template.render(
            &to,
            &Values {
                app: "Acme",
                url: "https://auth.example.com/r?a=1&b=2",
                email: "ada@example.com",
                name: "Ada <script>",
            },
        );
        assert_eq!(mail.subject, "Reset your Acme password");
        assert!(mail.text.contains("https://auth.example.com/r?a=1&b=2"));
        assert!(mail.text.contains("Hello Ada <script>,"));
        assert!(
            mail.html
                .contains("href=\"https://auth.example.com/r?a=1&amp;b=2\"")
        );
        assert!(mail.html.contains("Ada &lt;script&gt;"));
        let mut templates = MailTemplates::default();
        assert!(templates.by_name_mut("reset-password").is_some());
        assert!(templates.by_name_mut("nothing").is_none());
    }

    #[test]
    fn a_subject_never_spans_lines() {
        let template = Template {
            subject: "Hi {{name}}".to_owned(),
            text: String::new(),
            html: String::new(),
        };
        let to = Email::parse("a@example.com").expect("email");
        let values = Values {
            app: "",
            url: "",
            email: "",
            name: "x\r\nBcc: victim@example.com",
        };
        assert_eq!(
            template.render(&to, &values).subject,
            "Hi x  Bcc: victim@example.com"
        );
    }
}
