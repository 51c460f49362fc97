//! The API-key plugin (`@better-auth/api-key`): the `/api-key/*` routes, the key header as a
//! session resolver (`enableSessionForAPIKeys`), and [`ApiKeyPrincipal`] / [`RequireApiKey`]
//! for application routes that a key authenticates.

use std::collections::BTreeMap;
use std::sync::Arc;

use auth_core::{
    ApiKeys, AuthContext, AuthError, Caller, CreateApiKey, KeyOwner, KeySort, ListApiKeys,
    OrganizationKeys, UpdateApiKey, unauthorized_session,
};
use auth_domain::date::to_json as iso;
use auth_domain::{ApiKey, Permissions, User, UserId};
use poem::http::StatusCode;
use poem::{Endpoint, FromRequest, IntoResponse, Middleware, Request, RequestBody, Response};
use poem_openapi::param::Query;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Object, OpenApi, Tags};
use serde::Serialize;
use serde_json::Value;

use crate::api::client_info;
use crate::error::ApiError;
use crate::payload::{BaJson, Reply};
use crate::plugin::{HttpPlugin, PluginApi, PluginFuture, Resolution};
use crate::session_ctx::{load, require};
use crate::state::HttpState;

/// The header Better-Auth reads a key from by default.
pub const DEFAULT_HEADER: &str = "x-api-key";

/// The API-key plugin over its use cases.
#[derive(Clone)]
pub struct ApiKeyPlugin {
    keys: ApiKeys,
    organization: Option<OrganizationKeys>,
    headers: Arc<[String]>,
}

impl std::fmt::Debug for ApiKeyPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyPlugin")
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl ApiKeyPlugin {
    /// The plugin; a key is read from the first of `headers` a request carries (lower-case
    /// names; `x-api-key` when empty).
    #[must_use]
    pub fn new(keys: ApiKeys, headers: Vec<String>) -> Self {
        let headers = if headers.is_empty() {
            vec![DEFAULT_HEADER.to_owned()]
        } else {
            headers
        };
        Self {
            keys,
            organization: None,
            headers: headers.into(),
        }
    }

    /// The same plugin with a configuration of organization-owned keys beside the users'.
    #[must_use]
    pub fn with_organization_keys(mut self, keys: OrganizationKeys) -> Self {
        self.organization = Some(keys);
        self
    }

    /// The use cases.
    #[must_use]
    pub fn keys(&self) -> &ApiKeys {
        &self.keys
    }

    /// The organization keys to try a key in after the users' keys refused it as unknown:
    /// `INVALID_API_KEY` is all the users' keys say of another configuration's key.
    fn other_keys(&self, error: &AuthError) -> Option<&ApiKeys> {
        match &self.organization {
            Some(organization) if ApiKeys::refused_as_unknown(error) => Some(organization.keys()),
            _ => None,
        }
    }

    /// The key a request presents, from the first configured header it carries.
    fn presented<'r>(&self, request: &'r Request) -> Option<&'r str> {
        self.headers
            .iter()
            .find_map(|name| request.headers().get(name.as_str()))
            .map(|value| value.to_str().unwrap_or_default())
    }
}

impl HttpPlugin for ApiKeyPlugin {
    fn id(&self) -> &'static str {
        "api-key"
    }

    /// With `enableSessionForAPIKeys`, a key header stands for a session of the key's owner,
    /// ahead of any cookie; every such request is one use of the key.
    fn resolve<'a>(
        &'a self,
        state: &'a HttpState,
        request: &'a Request,
    ) -> PluginFuture<'a, Resolution> {
        if !self.keys.config().session_for_keys {
            return crate::plugin::pass();
        }
        let Some(key) = self.presented(request) else {
            return crate::plugin::pass();
        };
        Box::pin(async move {
            let client = client_info(request);
            let mut resolved = self.keys.session_for(state.auth(), key, &client).await;
            if let Err(error) = &resolved
                && let Some(organization) = self.other_keys(error)
            {
                // An organization's key is used, then refused as no session
                // (`INVALID_REFERENCE_ID_FROM_API_KEY`), as Better-Auth does.
                resolved = organization.session_for(state.auth(), key, &client).await;
            }
            match resolved {
                Ok(context) => Resolution::Session(Box::new(context)),
                Err(error) => Resolution::Refuse(error.into()),
            }
        })
    }

    fn security_scheme(&self, _state: &HttpState) -> Option<(&'static str, Value)> {
        let scheme = serde_json::json!({
            "type": "apiKey",
            "in": "header",
            "name": self.headers.first().map_or(DEFAULT_HEADER, String::as_str),
            "description": "An API key made by `/api-key/create`."
        });
        Some(("apiKey", scheme))
    }

    fn api(&self, state: &Arc<HttpState>) -> Option<PluginApi> {
        Some(PluginApi::new(ApiKeyApi {
            state: state.clone(),
            keys: self.keys.clone(),
            organization: self.organization.clone(),
        }))
    }

    fn as_any(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(self)
    }
}

/// An API key as Better-Auth answers it (section 7.3); `key` only from `create`.
// `Debug` (below) leaves `key` out.
#[derive(Clone, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "ApiKey", rename_all = "camelCase")]
pub struct ApiKeyDto {
    /// Id.
    pub id: String,
    /// The configuration (`default`).
    pub config_id: String,
    /// Display name.
    #[oai(nullable)]
    pub name: Option<String>,
    /// The first characters of the key, prefix included.
    #[oai(nullable)]
    pub start: Option<String>,
    /// The prefix.
    #[oai(nullable)]
    pub prefix: Option<String>,
    /// The owner's id.
    pub reference_id: String,
    /// A disabled key authenticates nothing.
    pub enabled: bool,
    /// The per-key rate limit is on.
    pub rate_limit_enabled: bool,
    /// Its window, in milliseconds.
    #[oai(nullable)]
    pub rate_limit_time_window: Option<i64>,
    /// Most uses per window.
    #[oai(nullable)]
    pub rate_limit_max: Option<i64>,
    /// Uses in the current window.
    pub request_count: i64,
    /// Uses left, or null (no quota).
    #[oai(nullable)]
    pub remaining: Option<i64>,
    /// Uses given back at each refill.
    #[oai(nullable)]
    pub refill_amount: Option<i64>,
    /// Milliseconds between refills.
    #[oai(nullable)]
    pub refill_interval: Option<i64>,
    /// ISO-8601 time of the last refill.
    #[oai(nullable)]
    pub last_refill_at: Option<String>,
    /// ISO-8601 time of the last use.
    #[oai(nullable)]
    pub last_request: Option<String>,
    /// ISO-8601 expiry, or null (never).
    #[oai(nullable)]
    pub expires_at: Option<String>,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// ISO-8601 update time.
    pub updated_at: String,
    /// `resource -> actions`, or null.
    #[oai(nullable)]
    pub permissions: Option<BTreeMap<String, Vec<String>>>,
    /// The metadata given at creation or update, or null.
    #[oai(nullable)]
    pub metadata: Option<Value>,
    /// The full key: in the answer to `create` only, never again.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none, nullable)]
    pub key: Option<String>,
}

impl std::fmt::Debug for ApiKeyDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyDto")
            .field("id", &self.id)
            .field("reference_id", &self.reference_id)
            .field("start", &self.start)
            .field("enabled", &self.enabled)
            .field("key", &self.key.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}

/// Stored metadata as JSON: text that is not JSON (or JSON `null`) is null; legacy rows hold it
/// encoded twice.
fn metadata_value(text: Option<&str>) -> Option<Value> {
    let value: Value = serde_json::from_str(text?).ok()?;
    let value = match value {
        Value::String(inner) => serde_json::from_str(&inner).ok()?,
        other => other,
    };
    (!value.is_null()).then_some(value)
}

fn millis(duration: Option<time::Duration>) -> Option<i64> {
    duration.map(|duration| i64::try_from(duration.whole_milliseconds()).unwrap_or(i64::MAX))
}

impl From<&ApiKey> for ApiKeyDto {
    fn from(key: &ApiKey) -> Self {
        Self {
            id: key.id.clone(),
            config_id: key.config_id.clone(),
            name: key.name.clone(),
            start: key.start.clone(),
            prefix: key.prefix.clone(),
            reference_id: key.reference_id.clone(),
            enabled: key.enabled,
            rate_limit_enabled: key.rate_limit_enabled,
            rate_limit_time_window: millis(key.rate_limit_time_window),
            rate_limit_max: key.rate_limit_max,
            request_count: key.request_count,
            remaining: key.remaining,
            refill_amount: key.refill_amount,
            refill_interval: millis(key.refill_interval),
            last_refill_at: key.last_refill_at.map(iso),
            last_request: key.last_request.map(iso),
            expires_at: key.expires_at.map(iso),
            created_at: iso(key.created_at),
            updated_at: iso(key.updated_at),
            permissions: key.permissions.as_ref().map(|p| p.0.clone()),
            metadata: metadata_value(key.metadata.as_deref()),
            key: None,
        }
    }
}

/// Metadata from a request: an object (or array, as JavaScript's `typeof` sees it) as JSON
/// text; anything else is `400 INVALID_METADATA_TYPE`.
fn metadata_text(value: Value) -> Result<String, ApiError> {
    match value {
        Value::Object(_) | Value::Array(_) | Value::Null => Ok(value.to_string()),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_METADATA_TYPE",
            "metadata must be an object or undefined",
        )),
    }
}

/// `false`, `0`, `""` and `null`: what JavaScript's `if (metadata)` skips on create.
fn falsy(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(flag) => !flag,
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::String(text) => text.is_empty(),
        Value::Array(_) | Value::Object(_) => false,
    }
}

/// `POST /api-key/create` body.
#[derive(Debug, Object)]
#[oai(rename = "CreateApiKeyRequest", rename_all = "camelCase")]
struct CreateBody {
    /// The configuration (`default`).
    #[oai(nullable)]
    config_id: Option<String>,
    /// Display name.
    #[oai(nullable)]
    name: Option<String>,
    /// Lifetime in seconds; null or absent: the configured default (never, unless set).
    #[oai(validator(minimum(value = "1")), nullable)]
    expires_in: MaybeUndefined<i64>,
    /// Prefix of the key.
    #[oai(validator(pattern = "^[a-zA-Z0-9_-]+$"), nullable)]
    prefix: Option<String>,
    /// Server only (null is allowed).
    #[oai(validator(minimum(value = "0")), nullable)]
    remaining: MaybeUndefined<i64>,
    /// Free JSON object (when metadata is enabled).
    #[oai(nullable)]
    metadata: Option<Value>,
    /// Server only.
    #[oai(validator(minimum(value = "1")), nullable)]
    refill_amount: Option<i64>,
    /// Server only, milliseconds.
    #[oai(nullable)]
    refill_interval: Option<i64>,
    /// Server only, milliseconds.
    #[oai(nullable)]
    rate_limit_time_window: Option<i64>,
    /// Server only.
    #[oai(nullable)]
    rate_limit_max: Option<i64>,
    /// Server only.
    #[oai(nullable)]
    rate_limit_enabled: Option<bool>,
    /// Server only.
    #[oai(nullable)]
    permissions: Option<BTreeMap<String, Vec<String>>>,
    /// Server only: refused over HTTP.
    #[oai(nullable)]
    user_id: Option<Value>,
    /// The owning organization, for a configuration of organization-owned keys.
    #[oai(nullable)]
    organization_id: Option<String>,
}

/// `POST /api-key/update` body.
#[derive(Debug, Object)]
#[oai(rename = "UpdateApiKeyRequest", rename_all = "camelCase")]
struct UpdateBody {
    /// The configuration.
    #[oai(nullable)]
    config_id: Option<String>,
    /// The key.
    key_id: String,
    /// Must be the signed-in user's, when given.
    #[oai(nullable)]
    user_id: Option<Value>,
    /// New name.
    #[oai(nullable)]
    name: Option<String>,
    /// Enable or disable.
    #[oai(nullable)]
    enabled: Option<bool>,
    /// Server only.
    #[oai(validator(minimum(value = "1")), nullable)]
    remaining: Option<i64>,
    /// Server only.
    #[oai(nullable)]
    refill_amount: Option<i64>,
    /// Server only, milliseconds.
    #[oai(nullable)]
    refill_interval: Option<i64>,
    /// New metadata (ignored when metadata is off).
    #[oai(nullable)]
    metadata: MaybeUndefined<Value>,
    /// New lifetime in seconds from now; null: never expires.
    #[oai(validator(minimum(value = "1")), nullable)]
    expires_in: MaybeUndefined<i64>,
    /// Server only.
    #[oai(nullable)]
    rate_limit_enabled: Option<bool>,
    /// Server only, milliseconds.
    #[oai(nullable)]
    rate_limit_time_window: Option<i64>,
    /// Server only.
    #[oai(nullable)]
    rate_limit_max: Option<i64>,
    /// Server only; null removes them.
    #[oai(nullable)]
    permissions: MaybeUndefined<BTreeMap<String, Vec<String>>>,
}

/// `POST /api-key/delete` body.
#[derive(Debug, Object)]
#[oai(rename = "DeleteApiKeyRequest", rename_all = "camelCase")]
struct DeleteBody {
    /// The key.
    key_id: String,
    /// The configuration.
    #[oai(nullable)]
    config_id: Option<String>,
}

/// `{"success": true}`.
#[derive(Debug, Object, Serialize)]
#[oai(rename = "DeleteApiKeyResponse")]
struct Success {
    /// Always `true`.
    success: bool,
}

/// `GET /api-key/list`'s answer.
#[derive(Debug, Object, Serialize)]
#[serde(rename_all = "camelCase")]
#[oai(rename = "ListApiKeysResponse", rename_all = "camelCase")]
struct KeyList {
    /// The page of keys (never with `key`).
    api_keys: Vec<ApiKeyDto>,
    /// How many keys there are in all.
    total: u64,
    /// The `limit` asked for, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none, nullable)]
    limit: Option<u64>,
    /// The `offset` asked for, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[oai(skip_serializing_if_is_none, nullable)]
    offset: Option<u64>,
}

/// The API-key plugin's OpenAPI tag.
#[derive(Tags)]
enum ApiKeyTags {
    /// API keys: made by a signed-in user, presented in a header by programs.
    ApiKey,
}

fn organization_keys_unavailable() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "ORGANIZATION_PLUGIN_REQUIRED",
        "Organization plugin is required for organization-owned API keys.",
    )
}

fn is_key_not_found(error: &AuthError) -> bool {
    error.code() == Some("KEY_NOT_FOUND")
}

fn permissions(map: BTreeMap<String, Vec<String>>) -> Permissions {
    Permissions(map)
}

struct ApiKeyApi {
    state: Arc<HttpState>,
    keys: ApiKeys,
    organization: Option<OrganizationKeys>,
}

impl ApiKeyApi {
    /// The organization keys a `configId` names.
    fn organization_keys(&self, config_id: Option<&str>) -> Option<&OrganizationKeys> {
        self.organization
            .as_ref()
            .filter(|keys| config_id == Some(keys.keys().config().config_id.as_str()))
    }

    /// The keys `create` makes: the organization keys when the `configId` names them, or when
    /// none is named and the body names an organization.
    fn keys_to_create(
        &self,
        config_id: Option<&str>,
        names_organization: bool,
    ) -> Result<Option<&OrganizationKeys>, ApiError> {
        if let Some(keys) = self.organization_keys(config_id) {
            return Ok(Some(keys));
        }
        match (&self.organization, config_id, names_organization) {
            (Some(keys), None, true) => Ok(Some(keys)),
            (None, None, true) => Err(organization_keys_unavailable()),
            _ => Ok(None),
        }
    }

    /// Runs `users` on the users' keys, or `organization` on the organization keys: those the
    /// `configId` names, or (none named) those a key unknown among the user's keys may be.
    async fn either<T>(
        &self,
        config_id: Option<&str>,
        users: impl AsyncFnOnce(&ApiKeys) -> Result<T, AuthError>,
        organization: impl AsyncFnOnce(&OrganizationKeys) -> Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        if let Some(keys) = self.organization_keys(config_id) {
            return organization(keys).await;
        }
        match (users(&self.keys).await, &self.organization, config_id) {
            (Err(error), Some(keys), None) if is_key_not_found(&error) => organization(keys).await,
            (result, _, _) => result,
        }
    }

    /// The signed-in session for `create` and `update`: `401 UNAUTHORIZED_SESSION` without
    /// one.
    async fn session_context(&self, request: &Request) -> Result<AuthContext, ApiError> {
        match load(&self.state, request, true).await? {
            (Some(loaded), _) => Ok(loaded.context),
            (None, cookies) => Err(ApiError::from(unauthorized_session()).with_cookies(cookies)),
        }
    }
}

#[OpenApi(tag = "ApiKeyTags::ApiKey")]
impl ApiKeyApi {
    /// Create an API key for the signed-in user. The answer holds the full key, the only time
    /// it is ever sent.
    #[oai(path = "/api-key/create", method = "post")]
    async fn create(
        &self,
        request: &Request,
        body: BaJson<CreateBody>,
    ) -> Result<Reply<ApiKeyDto>, ApiError> {
        let body = body.0;
        if body.user_id.is_some() {
            return Err(unauthorized_session().into());
        }
        let organization =
            self.keys_to_create(body.config_id.as_deref(), body.organization_id.is_some())?;
        let context = self.session_context(request).await?;
        let user_id = context.user.id.clone();
        let metadata = match body.metadata {
            // With metadata off, the use case refuses any (`METADATA_DISABLED`) before its type
            // matters.
            Some(value) if !falsy(&value) && !self.keys.config().enable_metadata => {
                Some(value.to_string())
            }
            Some(value) if !falsy(&value) => Some(metadata_text(value)?),
            _ => None,
        };
        let create = CreateApiKey {
            config_id: body.config_id,
            name: body.name,
            expires_in: body.expires_in.take(),
            prefix: body.prefix,
            metadata,
            permissions: body.permissions.map(permissions),
            remaining: body.remaining.take(),
            refill_amount: body.refill_amount,
            refill_interval: body.refill_interval,
            rate_limit_time_window: body.rate_limit_time_window,
            rate_limit_max: body.rate_limit_max,
            rate_limit_enabled: body.rate_limit_enabled,
            ..CreateApiKey::for_user(user_id, Caller::Client)
        };
        let created = match organization {
            Some(keys) => {
                let create = CreateApiKey {
                    config_id: None,
                    ..create
                };
                keys.create(
                    self.state.auth(),
                    &context,
                    body.organization_id.as_deref(),
                    create,
                )
                .await?
            }
            None => self.keys.create(self.state.auth(), create).await?,
        };
        let mut dto = ApiKeyDto::from(&created.api_key);
        dto.key = Some(created.key.expose().clone());
        Ok(Reply::new(dto).header(poem::http::header::CACHE_CONTROL, "no-store"))
    }

    /// One of the signed-in user's keys, or of an organization's the user may read (without
    /// the key itself).
    #[oai(path = "/api-key/get", method = "get")]
    async fn get(
        &self,
        request: &Request,
        id: Query<String>,
        #[oai(name = "configId")] config_id: Query<Option<String>>,
    ) -> Result<Reply<ApiKeyDto>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let (auth, context) = (self.state.auth(), &loaded.context);
        let config_id = config_id.0.as_deref();
        let key = self
            .either(
                config_id,
                async |keys| keys.get(auth, &context.user.id, &id.0, config_id).await,
                async |keys| keys.get(auth, context, &id.0).await,
            )
            .await?;
        Ok(Reply::new(ApiKeyDto::from(&key)).cookies(loaded.cookies))
    }

    /// Change one of the signed-in user's keys: name, enabled, expiry, metadata (the counters
    /// and permissions only from the server).
    #[oai(path = "/api-key/update", method = "post")]
    async fn update(
        &self,
        request: &Request,
        body: BaJson<UpdateBody>,
    ) -> Result<Reply<ApiKeyDto>, ApiError> {
        let body = body.0;
        let context = self.session_context(request).await?;
        let user_id = context.user.id.clone();
        if let Some(named) = &body.user_id
            && named.as_str() != Some(user_id.as_str())
        {
            return Err(unauthorized_session().into());
        }
        let metadata = match body.metadata {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(Value::Null.to_string()),
            MaybeUndefined::Value(value) => Some(metadata_text(value)?),
        };
        let permissions = match body.permissions {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(map) => Some(Some(permissions(map))),
        };
        let expires_in = match body.expires_in {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(seconds) => Some(Some(seconds)),
        };
        let config_id = body.config_id.clone();
        let update = UpdateApiKey {
            config_id: body.config_id,
            name: body.name,
            enabled: body.enabled,
            expires_in,
            metadata,
            remaining: body.remaining,
            refill_amount: body.refill_amount,
            refill_interval: body.refill_interval,
            rate_limit_enabled: body.rate_limit_enabled,
            rate_limit_time_window: body.rate_limit_time_window,
            rate_limit_max: body.rate_limit_max,
            permissions,
            ..UpdateApiKey::of(user_id, Caller::Client, body.key_id)
        };
        let auth = self.state.auth();
        let key = self
            .either(
                config_id.as_deref(),
                async |keys| keys.update(auth, update.clone()).await,
                async |keys| keys.update(auth, &context, update.clone()).await,
            )
            .await?;
        Ok(Reply::new(ApiKeyDto::from(&key)))
    }

    /// Delete one of the signed-in user's keys.
    #[oai(path = "/api-key/delete", method = "post")]
    async fn delete(
        &self,
        request: &Request,
        body: BaJson<DeleteBody>,
    ) -> Result<Reply<Success>, ApiError> {
        let body = body.0;
        let loaded = require(&self.state, request).await?;
        let (auth, context) = (self.state.auth(), &loaded.context);
        let config_id = body.config_id.as_deref();
        self.either(
            config_id,
            async |keys| {
                keys.delete(auth, &context.user.id, &body.key_id, config_id)
                    .await
            },
            async |keys| keys.delete(auth, context, &body.key_id).await,
        )
        .await?;
        Ok(Reply::new(Success { success: true }).cookies(loaded.cookies))
    }

    /// The signed-in user's keys (without the keys themselves), sorted and paged.
    #[oai(path = "/api-key/list", method = "get")]
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per query parameter"
    )]
    async fn list(
        &self,
        request: &Request,
        #[oai(name = "configId")] config_id: Query<Option<String>>,
        #[oai(name = "organizationId")] organization_id: Query<Option<String>>,
        limit: Query<Option<u64>>,
        offset: Query<Option<u64>>,
        #[oai(name = "sortBy")] sort_by: Query<Option<String>>,
        #[oai(name = "sortDirection")] sort_direction: Query<Option<String>>,
    ) -> Result<Reply<KeyList>, ApiError> {
        let loaded = require(&self.state, request).await?;
        let organization = match (&self.organization, organization_id.0.as_deref()) {
            (_, None) => None,
            (Some(keys), Some(id)) => Some((keys, id)),
            (None, Some(_)) => return Err(organization_keys_unavailable()),
        };
        let sort_by = match sort_by.0.as_deref() {
            None => KeySort::CreatedAt,
            Some(field) => KeySort::parse(field).ok_or_else(|| {
                ApiError::validation(format!("[query.sortBy] cannot sort by {field:?}"))
            })?,
        };
        let descending = match sort_direction.0.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => {
                return Err(ApiError::validation(
                    "[query.sortDirection] Invalid option: expected one of \"asc\"|\"desc\"",
                ));
            }
        };
        let to_usize = |value: Option<u64>| value.map(|v| usize::try_from(v).unwrap_or(usize::MAX));
        let list = ListApiKeys {
            user_id: loaded.context.user.id.clone(),
            config_id: config_id.0,
            limit: to_usize(limit.0),
            offset: to_usize(offset.0),
            sort_by,
            descending,
        };
        let auth = self.state.auth();
        let page = match organization {
            Some((keys, id)) => keys.list(auth, &loaded.context, id, list).await?,
            None => self.keys.list(auth, list).await?,
        };
        Ok(Reply::new(KeyList {
            api_keys: page.keys.iter().map(ApiKeyDto::from).collect(),
            total: page.total as u64,
            limit: limit.0,
            offset: offset.0,
        })
        .cookies(loaded.cookies))
    }
}

/// The API key that authenticated a request to an application route: the key (never its
/// plaintext), its owner and its permissions. As an extractor it verifies the key in the
/// configured header (one use of it, counted); behind [`RequireApiKey`] it is the key that
/// middleware verified with the permissions it requires. Refusals answer the plugin's JSON
/// errors (`401 INVALID_API_KEY`, `401 KEY_DISABLED`, `429 RATE_LIMITED`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyPrincipal {
    /// The key after this use.
    pub key: ApiKey,
    /// Whether a user or an organization owns it.
    pub owned_by: KeyOwner,
}

impl ApiKeyPrincipal {
    /// The owner's id: a user's, or an organization's for an organization-owned key.
    #[must_use]
    pub fn owner_id(&self) -> &str {
        &self.key.reference_id
    }

    /// The owning organization's id, for an organization-owned key.
    #[must_use]
    pub fn organization_id(&self) -> Option<&str> {
        (self.owned_by == KeyOwner::Organization).then_some(self.key.reference_id.as_str())
    }

    /// The key's permissions (none when it has none).
    #[must_use]
    pub fn permissions(&self) -> Option<&Permissions> {
        self.key.permissions.as_ref()
    }

    /// Whether the key grants every action of `required`.
    #[must_use]
    pub fn allows(&self, required: &Permissions) -> bool {
        self.permissions()
            .is_some_and(|permissions| permissions.satisfy(required))
    }

    /// The owning user, read from the store (`None` when the user is gone, and for an
    /// organization-owned key).
    ///
    /// # Errors
    /// `503` when the store is down.
    pub async fn owner(&self, request: &Request) -> Result<Option<User>, ApiError> {
        if self.owned_by != KeyOwner::User {
            return Ok(None);
        }
        let (state, _) = plugin_of(request)?;
        Ok(state
            .auth()
            .user(&UserId::new(self.key.reference_id.clone()))
            .await?)
    }
}

/// The key a request presents, as the session of its owner and the principal (the key, with
/// its permissions), for one use of the key: what a connection a key opens stands for (a
/// WebSocket upgrade), whether or not keys stand for sessions on the HTTP routes. `None` when
/// the request presents no key or the plugin is off. An organization's key is refused
/// (`401 INVALID_REFERENCE_ID_FROM_API_KEY`): it is no user.
pub async fn key_session(
    request: &Request,
) -> Option<Result<(AuthContext, ApiKeyPrincipal), ApiError>> {
    let state = request.data::<Arc<HttpState>>()?;
    let plugin = state.plugin::<ApiKeyPlugin>()?;
    let key = plugin.presented(request)?;
    let client = client_info(request);
    let mut resolved = plugin.keys.key_session(state.auth(), key, &client).await;
    if let Err(error) = &resolved
        && let Some(organization) = plugin.other_keys(error)
    {
        resolved = organization.key_session(state.auth(), key, &client).await;
    }
    Some(
        resolved
            .map(|session| {
                let principal = ApiKeyPrincipal {
                    key: session.key,
                    owned_by: KeyOwner::User,
                };
                (session.context, principal)
            })
            .map_err(ApiError::from),
    )
}

/// The API-key plugin of the state the request runs in.
fn plugin_of(request: &Request) -> Result<(&HttpState, &ApiKeyPlugin), ApiError> {
    request
        .data::<Arc<HttpState>>()
        .and_then(|state| Some((state.as_ref(), state.plugin::<ApiKeyPlugin>()?)))
        .ok_or_else(|| {
            tracing::error!(
                "ApiKeyPrincipal needs the api-key plugin; mount the route through `app`"
            );
            ApiError::from(AuthError::Internal(
                "ApiKeyPrincipal used without the api-key plugin".into(),
            ))
        })
}

/// Verifies the key a request presents, asking for `required` permissions when given.
async fn verify(
    request: &Request,
    required: Option<&Permissions>,
) -> Result<ApiKeyPrincipal, ApiError> {
    let (state, plugin) = plugin_of(request)?;
    let Some(key) = plugin.presented(request) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_API_KEY",
            "Invalid API key.",
        ));
    };
    let users = plugin.keys.verify(state.auth(), key, required).await;
    // A key of the other configuration is not found among the users'.
    let (verified, keys) = match (users, &plugin.organization) {
        (Err(error), Some(organization)) if ApiKeys::refused_as_unknown(&error) => (
            organization
                .keys()
                .verify(state.auth(), key, required)
                .await,
            organization.keys(),
        ),
        (users, _) => (users, &plugin.keys),
    };
    Ok(ApiKeyPrincipal {
        key: verified?,
        owned_by: keys.config().references,
    })
}

impl<'a> FromRequest<'a> for ApiKeyPrincipal {
    async fn from_request(request: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        if let Some(principal) = request.extensions().get::<Self>() {
            return Ok(principal.clone());
        }
        Ok(verify(request, None).await?)
    }
}

/// Middleware for application routes: the request must present an API key that grants
/// `permissions` (every listed action of every resource); the verified key is then available
/// to the handler as [`ApiKeyPrincipal`]. A key without them is refused (`401 KEY_NOT_FOUND`,
/// as Better-Auth) and its use is not counted.
#[derive(Debug, Clone, Default)]
pub struct RequireApiKey {
    permissions: Option<Permissions>,
}

impl RequireApiKey {
    /// Any valid key.
    #[must_use]
    pub fn any() -> Self {
        Self::default()
    }

    /// A key with these permissions: `[("files", &["read", "write"])]`.
    #[must_use]
    pub fn with(permissions: &[(&str, &[&str])]) -> Self {
        let map = permissions
            .iter()
            .map(|(resource, actions)| {
                (
                    (*resource).to_owned(),
                    actions.iter().map(|action| (*action).to_owned()).collect(),
                )
            })
            .collect();
        Self {
            permissions: Some(Permissions(map)),
        }
    }
}

impl<E: Endpoint> Middleware<E> for RequireApiKey {
    type Output = RequireApiKeyEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RequireApiKeyEndpoint {
            inner,
            permissions: self.permissions.clone(),
        }
    }
}

/// The endpoint [`RequireApiKey`] makes.
#[derive(Debug)]
pub struct RequireApiKeyEndpoint<E> {
    inner: E,
    permissions: Option<Permissions>,
}

impl<E: Endpoint> Endpoint for RequireApiKeyEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut request: Request) -> poem::Result<Response> {
        match verify(&request, self.permissions.as_ref()).await {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
                Ok(self.inner.call(request).await?.into_response())
            }
            Err(error) => Ok(error.into_response()),
        }
    }
}

#[cfg(test)]
mod tests;
