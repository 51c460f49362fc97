//! The use-case side of the plugin seam: sign-in steps, events, rate-limit rules, errors.

use std::sync::Mutex;

use auth_domain::{AuthEvent, FieldKind, FieldSpec, FieldValue, Fields, Model, User};
use auth_ports::RateLimitRule;

use super::*;

/// A session field and a user field, as organizations and two-factor declare theirs.
const ORG: FieldSpec = FieldSpec {
    model: Model::Session,
    name: "activeOrganizationId",
    kind: FieldKind::Text,
};
const TWO_FACTOR: FieldSpec = FieldSpec {
    model: Model::User,
    name: "twoFactorEnabled",
    kind: FieldKind::Bool,
};

/// Records every event and diverts the user it is told to.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
    divert: Option<&'static str>,
}

impl AuthPlugin for Recorder {
    fn id(&self) -> &'static str {
        "recorder"
    }

    fn before_session<'a>(
        &'a self,
        _auth: &'a Auth,
        user: &'a User,
        _client: &'a ClientInfo,
    ) -> PluginFuture<'a, Result<SignInStep, AuthError>> {
        let step = match self.divert {
            Some(email) if user.email.as_str() == email => {
                SignInStep::Divert(Box::new(Diversion {
                    plugin: "recorder",
                    user: user.clone(),
                    remember_me: true,
                    challenge: None,
                    details: vec!["totp".to_owned()],
                    cookies: Vec::new(),
                }))
            }
            _ => SignInStep::Continue,
        };
        Box::pin(std::future::ready(Ok(step)))
    }

    fn on_event<'a>(&'a self, _auth: &'a Auth, event: &'a AuthEvent) -> PluginFuture<'a, ()> {
        let entry = match event {
            AuthEvent::SessionEnded { reason, .. }
            | AuthEvent::UserSessionsEnded { reason, .. } => {
                format!("{}:{}", event.kind(), reason.as_str())
            }
            other => other.kind().to_owned(),
        };
        self.events.lock().expect("lock").push(entry);
        Box::pin(std::future::ready(()))
    }

    fn fields(&self) -> Vec<FieldSpec> {
        vec![ORG, TWO_FACTOR]
    }

    fn rate_limits(&self) -> Vec<RouteLimit> {
        vec![
            RouteLimit::Credential("/two-factor"),
            RouteLimit::Rule(
                "/two-factor/list",
                RateLimitRule {
                    window: Duration::seconds(1),
                    max: 1,
                },
            ),
        ]
    }
}

fn with_plugin(plugin: Arc<Recorder>) -> Fixture {
    let f = fixture();
    let deps = f.auth.deps().clone();
    Fixture {
        auth: Auth::with_plugins(deps, AuthConfig::default(), vec![plugin]),
        ..f
    }
}

#[tokio::test]
async fn a_diverting_step_answers_the_sign_in_without_a_session_even_with_two_factor_on() {
    let plugin = Arc::new(Recorder {
        divert: Some("second@example.com"),
        ..Recorder::default()
    });
    let f = with_plugin(plugin);
    let up = f
        .auth
        .sign_up_email_session(sign_up("second@example.com", "password-1"))
        .await
        .expect("sign-up");
    f.store.set_two_factor_enabled(&up.user.id, true);
    let outcome = f
        .auth
        .sign_in_email(sign_in("second@example.com", "password-1"))
        .await
        .expect("diverted, not refused");
    let SignInOutcome::Diverted(diversion) = outcome else {
        panic!("diverted");
    };
    assert_eq!(diversion.plugin, "recorder");
    assert_eq!(diversion.details, ["totp"]);
    assert_eq!(f.store.session_count(), 1, "the sign-up's session only");
    let wrong = f
        .auth
        .sign_in_email(sign_in("second@example.com", "password-2"))
        .await;
    assert!(
        matches!(wrong, Err(AuthError::InvalidEmailOrPassword)),
        "a step runs only after the password is right"
    );
}

#[tokio::test]
async fn plugins_hear_session_events_in_order_with_their_reasons() {
    let plugin = Arc::new(Recorder::default());
    let f = with_plugin(plugin.clone());
    f.auth
        .sign_up_email_session(sign_up("a@example.com", "password-1"))
        .await
        .expect("sign-up");
    let second = f
        .auth
        .sign_in_email_session(sign_in("a@example.com", "password-1"))
        .await
        .expect("sign-in");
    let ctx = context(&f.auth, &second.session.token).await;
    f.auth
        .revoke_other_sessions(&ctx, &ClientInfo::default())
        .await
        .expect("revoke others");
    f.auth
        .sign_out(&second.session.token, &ClientInfo::default())
        .await
        .expect("sign-out");
    let third = f
        .auth
        .sign_in_email_session(sign_in("a@example.com", "password-1"))
        .await
        .expect("sign-in");
    f.clock.advance(Duration::days(8));
    assert!(
        f.auth
            .get_session(lookup(&third.session.token))
            .await
            .expect("lookup")
            .is_none()
    );
    assert_eq!(
        *plugin.events.lock().expect("lock"),
        [
            "session_created",
            "session_created",
            "user_sessions_ended:revoked_others",
            "session_ended:sign_out",
            "session_created",
            "session_ended:expired",
        ]
    );
}

#[test]
fn a_plugin_rule_wins_over_the_built_in_ones_by_the_longest_path() {
    let f = with_plugin(Arc::new(Recorder::default()));
    let rules = RateLimitConfig::default();
    assert_eq!(
        f.auth.rule_for("/two-factor/verify-totp").1,
        rules.credential
    );
    assert_eq!(f.auth.rule_for("/two-factor/list").1.max, 1);
    assert_eq!(f.auth.rule_for("/two-factorx").1, rules.general);
    assert_eq!(f.auth.rule_for("/sign-in/email").1, rules.credential);
    assert_eq!(f.auth.rule_for("/get-session").1, rules.general);
    let names = [
        "/two-factor/verify-totp",
        "/two-factor/list",
        "/get-session",
    ]
    .map(|route| f.auth.rule_for(route).0);
    assert_eq!(
        names,
        ["credential", "plugin", "general"],
        "named in metrics"
    );
}

#[test]
fn a_plugin_error_carries_its_code_and_message() {
    let error = AuthError::Plugin(PluginError {
        kind: PluginErrorKind::Conflict,
        code: "KEY_EXISTS",
        message: "The key exists".into(),
        details: Vec::new(),
    });
    assert_eq!(error.code(), Some("KEY_EXISTS"));
    assert_eq!(error.message(), "The key exists");
}

#[tokio::test]
async fn declared_fields_start_null_and_only_declared_fields_of_their_type_are_written() {
    let f = with_plugin(Arc::new(Recorder::default()));
    let up = f
        .auth
        .sign_up_email_session(sign_up("fields@example.com", "password-1"))
        .await
        .expect("sign-up");
    assert_eq!(
        up.session.fields.get("activeOrganizationId"),
        Some(&FieldValue::Null)
    );
    assert_eq!(
        up.user.fields.get("twoFactorEnabled"),
        Some(&FieldValue::Null)
    );
    let mut org = Fields::default();
    org.set("activeOrganizationId", FieldValue::Text("org-1".to_owned()));
    f.auth
        .update_session_fields(&up.session, &org)
        .await
        .expect("set");
    let ctx = context(&f.auth, &up.session.token).await;
    assert_eq!(
        ctx.session.fields.get("activeOrganizationId"),
        Some(&FieldValue::Text("org-1".to_owned()))
    );
    let mut on = Fields::default();
    on.set("twoFactorEnabled", FieldValue::Bool(true));
    f.auth
        .update_user_fields(&up.user.id, &on)
        .await
        .expect("set");
    let ctx = context(&f.auth, &up.session.token).await;
    assert_eq!(
        ctx.user.fields.get("twoFactorEnabled"),
        Some(&FieldValue::Bool(true))
    );

    let mut undeclared = Fields::default();
    undeclared.set("somethingElse", FieldValue::Null);
    assert!(matches!(
        f.auth.update_session_fields(&up.session, &undeclared).await,
        Err(AuthError::Internal(_))
    ));
    let mut mistyped = Fields::default();
    mistyped.set("twoFactorEnabled", FieldValue::Text("yes".to_owned()));
    assert!(matches!(
        f.auth.update_user_fields(&up.user.id, &mistyped).await,
        Err(AuthError::Internal(_))
    ));
    let mut on_the_wrong_table = Fields::default();
    on_the_wrong_table.set("activeOrganizationId", FieldValue::Null);
    assert!(matches!(
        f.auth
            .update_user_fields(&up.user.id, &on_the_wrong_table)
            .await,
        Err(AuthError::Internal(_))
    ));
}
