//! Wire types: request and response bodies, camelCase JSON exactly as Better-Auth sends them.

use auth_domain::date::to_json as iso;
use auth_domain::{Session, User};
use poem_openapi::Object;
use poem_openapi::types::MaybeUndefined;
use serde::Serialize;
use serde_json::Value;

/// A user.
#[derive(Debug, Clone, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename_all = "camelCase")]
pub struct UserDto {
    /// Id (32 characters).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Lower-cased email.
    pub email: String,
    /// Whether the email was verified.
    pub email_verified: bool,
    /// Avatar URL or null.
    #[oai(nullable)]
    pub image: Option<String>,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// ISO-8601 update time.
    pub updated_at: String,
    /// The fields the enabled plugins add (`twoFactorEnabled`, ...), as members of this object.
    #[serde(flatten)]
    #[oai(skip)]
    pub fields: PluginFields,
}

/// Plugin fields, written as members of the object that holds them (`null` when unset).
#[derive(Debug, Clone, Default)]
pub struct PluginFields(pub auth_domain::Fields);

impl Serialize for PluginFields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.0.iter() {
            match value {
                auth_domain::FieldValue::Null => map.serialize_entry(name, &())?,
                auth_domain::FieldValue::Bool(flag) => map.serialize_entry(name, flag)?,
                auth_domain::FieldValue::Text(text) => map.serialize_entry(name, text)?,
            }
        }
        map.end()
    }
}

impl From<&User> for UserDto {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.to_string(),
            name: user.name.clone(),
            email: user.email.to_string(),
            email_verified: user.email_verified,
            image: user.image.clone(),
            created_at: iso(user.created_at),
            updated_at: iso(user.updated_at),
            fields: PluginFields(user.fields.clone()),
        }
    }
}

/// A session (the token included, as Better-Auth returns it).
#[derive(Debug, Clone, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename_all = "camelCase")]
pub struct SessionDto {
    /// Id.
    pub id: String,
    /// The session token.
    pub token: String,
    /// Owner.
    pub user_id: String,
    /// ISO-8601 expiry.
    pub expires_at: String,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// ISO-8601 update time.
    pub updated_at: String,
    /// Client address at creation (`""` when unknown).
    #[oai(nullable)]
    pub ip_address: Option<String>,
    /// Client user agent at creation (`""` when unknown).
    #[oai(nullable)]
    pub user_agent: Option<String>,
    /// The fields the enabled plugins add (`activeOrganizationId`, ...), as members of this
    /// object.
    #[serde(flatten)]
    #[oai(skip)]
    pub fields: PluginFields,
}

impl From<&Session> for SessionDto {
    fn from(session: &Session) -> Self {
        Self {
            id: session.id.to_string(),
            token: session.token.expose().to_owned(),
            user_id: session.user_id.to_string(),
            expires_at: iso(session.expires_at),
            created_at: iso(session.created_at),
            updated_at: iso(session.updated_at),
            ip_address: session.ip_address.clone(),
            user_agent: session.user_agent.clone(),
            fields: PluginFields(session.fields.clone()),
        }
    }
}

/// `POST /sign-up/email` body. Unknown keys are ignored.
/// No `Debug`: it holds a password.
#[derive(Object)]
pub struct SignUpEmailRequest {
    /// Display name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Password (8 to 128 characters by default).
    #[oai(validator(max_length = 4096))]
    pub password: poem_openapi::types::Password,
    /// Avatar URL.
    #[oai(nullable)]
    pub image: Option<String>,
    /// Where the client goes next (validated against trusted origins).
    #[oai(rename = "callbackURL", nullable)]
    pub callback_url: Option<String>,
    /// Long session (default) or one that ends with the browser session.
    #[oai(rename = "rememberMe", nullable)]
    pub remember_me: Option<bool>,
}

/// `POST /sign-in/email` body.
/// No `Debug`: it holds a password.
#[derive(Object)]
pub struct SignInEmailRequest {
    /// Email address.
    pub email: String,
    /// Password.
    #[oai(validator(max_length = 4096))]
    pub password: poem_openapi::types::Password,
    /// Where the client goes next (validated against trusted origins).
    #[oai(rename = "callbackURL", nullable)]
    pub callback_url: Option<String>,
    /// Long session (default true).
    #[oai(rename = "rememberMe", nullable)]
    pub remember_me: Option<bool>,
}

/// `POST /sign-up/email` response.
#[derive(Debug, Object, Serialize)]
pub struct SignUpEmailResponse {
    /// The session token (null when no session was created).
    #[oai(nullable)]
    pub token: Option<String>,
    /// The new user.
    pub user: UserDto,
}

/// `POST /sign-in/email` response.
#[derive(Debug, Object, Serialize)]
pub struct SignInEmailResponse {
    /// Whether the client should navigate to `url`.
    pub redirect: bool,
    /// The session token.
    pub token: String,
    /// The callback URL, when one was given.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(nullable)]
    pub url: Option<String>,
    /// The user.
    pub user: UserDto,
}

/// `GET /get-session` response (or JSON `null`).
#[derive(Debug, Object, Serialize)]
pub struct SessionWithUser {
    /// The session.
    pub session: SessionDto,
    /// Its user.
    pub user: UserDto,
}

/// The JSON of a [`SessionWithUser`], written straight from the session and its user: the
/// bytes `serde` writes of the DTOs (`dto::tests` holds the two to the same bytes), without
/// building the DTOs, their strings and their dates on the way. `get-session` answers with it,
/// the route most requests take.
pub(crate) fn session_with_user_json(session: &Session, user: &User) -> Vec<u8> {
    let mut out = String::with_capacity(1024);
    out.push_str("{\"session\":{\"id\":");
    json_string(&mut out, session.id.as_str());
    out.push_str(",\"token\":");
    json_string(&mut out, session.token.expose());
    out.push_str(",\"userId\":");
    json_string(&mut out, session.user_id.as_str());
    out.push_str(",\"expiresAt\":");
    json_date(&mut out, session.expires_at);
    out.push_str(",\"createdAt\":");
    json_date(&mut out, session.created_at);
    out.push_str(",\"updatedAt\":");
    json_date(&mut out, session.updated_at);
    out.push_str(",\"ipAddress\":");
    json_option(&mut out, session.ip_address.as_deref());
    out.push_str(",\"userAgent\":");
    json_option(&mut out, session.user_agent.as_deref());
    json_fields(&mut out, &session.fields);
    out.push_str("},\"user\":{\"id\":");
    json_string(&mut out, user.id.as_str());
    out.push_str(",\"name\":");
    json_string(&mut out, &user.name);
    out.push_str(",\"email\":");
    json_string(&mut out, user.email.as_str());
    out.push_str(if user.email_verified {
        ",\"emailVerified\":true,\"image\":"
    } else {
        ",\"emailVerified\":false,\"image\":"
    });
    json_option(&mut out, user.image.as_deref());
    out.push_str(",\"createdAt\":");
    json_date(&mut out, user.created_at);
    out.push_str(",\"updatedAt\":");
    json_date(&mut out, user.updated_at);
    json_fields(&mut out, &user.fields);
    out.push_str("}}");
    out.into_bytes()
}

/// A JSON string. Most strings need no escape and are copied as they are; the others are
/// escaped by `serde_json`, as the DTOs' strings are.
fn json_string(out: &mut String, value: &str) {
    let plain = !value
        .bytes()
        .any(|byte| byte < 0x20 || byte == b'"' || byte == b'\\');
    if plain {
        out.push('"');
        out.push_str(value);
        out.push('"');
    } else if let Ok(escaped) = serde_json::to_string(value) {
        out.push_str(&escaped);
    }
}

fn json_option(out: &mut String, value: Option<&str>) {
    match value {
        Some(value) => json_string(out, value),
        None => out.push_str("null"),
    }
}

fn json_date(out: &mut String, at: time::OffsetDateTime) {
    out.push('"');
    auth_domain::date::push_json(at, out);
    out.push('"');
}

/// Plugin fields as members of the object being written (see [`PluginFields`]).
fn json_fields(out: &mut String, fields: &auth_domain::Fields) {
    for (name, value) in fields.iter() {
        out.push(',');
        json_string(out, name);
        out.push(':');
        match value {
            auth_domain::FieldValue::Null => out.push_str("null"),
            auth_domain::FieldValue::Bool(flag) => {
                out.push_str(if *flag { "true" } else { "false" })
            }
            auth_domain::FieldValue::Text(text) => json_string(out, text),
        }
    }
}

/// `{"success": true}`.
#[derive(Debug, Object, Serialize)]
pub struct SuccessResponse {
    /// Always true.
    pub success: bool,
}

/// `{"status": true}`.
#[derive(Debug, Object, Serialize)]
pub struct StatusResponse {
    /// Always true.
    pub status: bool,
}

/// `{"ok": true}`.
#[derive(Debug, Object)]
pub struct OkResponse {
    /// Always true.
    pub ok: bool,
}

/// `POST /revoke-session` body.
#[derive(Debug, Object)]
pub struct RevokeSessionRequest {
    /// Token of the session to revoke (one of the caller's own).
    #[oai(validator(max_length = 256))]
    pub token: String,
}

/// `POST /update-user` body. `email` is refused; unknown keys are ignored.
#[derive(Debug, Object)]
pub struct UpdateUserRequest {
    /// New display name.
    #[oai(nullable)]
    pub name: Option<String>,
    /// New avatar URL, or null to clear it.
    #[oai(nullable)]
    pub image: MaybeUndefined<String>,
    /// Refused with `EMAIL_CAN_NOT_BE_UPDATED` (use `/change-email`).
    #[oai(nullable)]
    pub email: Option<Value>,
}

/// `POST /change-password` body.
/// No `Debug`: it holds a password.
#[derive(Object)]
pub struct ChangePasswordRequest {
    /// The new password.
    #[oai(rename = "newPassword", validator(max_length = 4096))]
    pub new_password: poem_openapi::types::Password,
    /// The current password.
    #[oai(rename = "currentPassword", validator(max_length = 4096))]
    pub current_password: poem_openapi::types::Password,
    /// Delete every session and issue a new one.
    #[oai(rename = "revokeOtherSessions", nullable)]
    pub revoke_other_sessions: Option<bool>,
}

/// `POST /change-password` response.
#[derive(Debug, Object, Serialize)]
pub struct ChangePasswordResponse {
    /// The new session token when sessions were revoked, else null.
    #[oai(nullable)]
    pub token: Option<String>,
    /// The user.
    pub user: UserDto,
}

#[cfg(test)]
mod tests;
