//! auth-http-poem: the HTTP face of the auth server: Better-Auth's routes under `/api/auth`
//! (poem + poem-openapi), its cookies and errors byte for byte, the request guards, Swagger UI.
//! Depends on: auth-domain, auth-core, poem, poem-openapi.
//! Must not depend on: auth-ports, sea-orm, redis, argon2, pasetors, jsonwebtoken.
//! Invariant: handlers convert, call one `Auth` method, map the result and set cookies; HTTP
//! statuses are decided only in `error.rs`.
#![warn(missing_docs)]

mod api;
pub mod api_key;
pub mod bearer;
mod body;
pub mod client_ip;
pub mod cookies;
pub mod cors;
pub mod dto;
mod error;
mod guard;
pub mod jwt;
pub mod multi_session;
pub mod organization;
pub mod origin;
pub mod payload;
mod plugin;
pub mod server;
mod session_ctx;
mod session_user;
mod state;
pub mod two_factor;

use std::sync::Arc;

use poem::{Endpoint, EndpointExt, IntoEndpoint, Route};
use poem_openapi::OpenApiService;

pub use api::client_info;
pub use error::{ApiError, ErrorBody};
pub use guard::method_label;
pub use plugin::{Answered, HttpPlugin, IssuedSession, PluginApi, PluginFuture, Resolution, pass};
pub use session_user::SessionUser;
pub use state::{HttpConfig, HttpState};

/// Where the auth API is mounted.
pub const BASE_PATH: &str = "/api/auth";

fn service(state: &Arc<HttpState>) -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    OpenApiService::new(api::all(state), "Auth server", env!("CARGO_PKG_VERSION"))
        .description("Better-Auth compatible authentication API.")
        .server(BASE_PATH)
}

/// The enabled plugins' routes.
fn plugin_apis(state: &Arc<HttpState>) -> Vec<PluginApi> {
    state
        .plugins()
        .iter()
        .filter_map(|plugin| plugin.api(state))
        .collect()
}

/// The one OpenAPI document: the built-in route groups, then every enabled plugin's paths,
/// schemas and tags, and the ways a request may carry a session (the session cookie, and each
/// plugin's: `Authorization: Bearer`, ...), any of them or none.
fn document(state: &HttpState, core: &str, plugins: &[PluginApi]) -> String {
    let Ok(mut document) = serde_json::from_str::<serde_json::Value>(core) else {
        return core.to_owned();
    };
    for plugin in plugins {
        merge_document(&mut document, &plugin.spec);
    }
    let cookie = state.cookies().name(cookies::SESSION_TOKEN);
    let mut schemes = serde_json::Map::new();
    schemes.insert(
        "sessionCookie".to_owned(),
        serde_json::json!({"type": "apiKey", "in": "cookie", "name": cookie}),
    );
    for plugin in state.plugins() {
        if let Some((name, scheme)) = plugin.security_scheme(state) {
            schemes.insert(name.to_owned(), scheme);
        }
    }
    let mut security: Vec<serde_json::Value> = schemes
        .keys()
        .map(|name| serde_json::json!({ name.clone(): [] }))
        .collect();
    security.push(serde_json::json!({}));
    if let serde_json::Value::Object(root) = &mut document {
        if let Some(serde_json::Value::Object(components)) = root.get_mut("components") {
            components.insert("securitySchemes".to_owned(), schemes.into());
        }
        root.insert("security".to_owned(), security.into());
    }
    serde_json::to_string_pretty(&document).unwrap_or_else(|_| core.to_owned())
}

/// Adds a plugin document's paths, component schemas and tags to `into` (what is already
/// there wins).
fn merge_document(into: &mut serde_json::Value, from: &serde_json::Value) {
    use serde_json::Value;
    let merge_object = |into: &mut Value, pointer: &str, keys: &[&str]| {
        let Some(Value::Object(source)) = from.pointer(pointer) else {
            return;
        };
        let mut target = &mut *into;
        for key in keys {
            let Value::Object(map) = target else { return };
            target = map
                .entry((*key).to_owned())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
        }
        let Value::Object(target) = target else {
            return;
        };
        for (key, value) in source {
            target.entry(key.clone()).or_insert_with(|| value.clone());
        }
    };
    merge_object(into, "/paths", &["paths"]);
    merge_object(into, "/components/schemas", &["components", "schemas"]);
    if let (Some(Value::Array(tags)), Value::Object(map)) = (from.get("tags"), &mut *into) {
        let target = map
            .entry("tags".to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(target) = target {
            for tag in tags {
                if !target
                    .iter()
                    .any(|known| known.get("name") == tag.get("name"))
                {
                    target.push(tag.clone());
                }
            }
        }
    }
}

/// The OpenAPI document of the auth API, as JSON.
#[must_use]
pub fn openapi_json(state: &Arc<HttpState>) -> String {
    document(state, &service(state).spec(), &plugin_apis(state))
}

/// The whole HTTP application: the auth API under `/api/auth` (guarded), plugin routes, the
/// OpenAPI document at `/api/auth/openapi.json` and Swagger UI at `/api/auth/docs`. `extra`
/// mounts more routes at the root (health, metrics).
pub fn app(
    state: &Arc<HttpState>,
    extra: Route,
) -> impl Endpoint<Output = poem::Response> + 'static {
    let service = service(state);
    let plugins = plugin_apis(state);
    let core = service.spec();
    let spec = document(state, &core, &plugins);
    // Swagger UI embeds the document it shows: the built-in one, swapped for the whole one.
    let docs_html = service.swagger_ui_html().replacen(&core, &spec, 1);
    let plugin_routes: Vec<(String, Arc<poem::endpoint::BoxEndpoint<'static>>)> = plugins
        .into_iter()
        .flat_map(|plugin| {
            let endpoint = plugin.endpoint;
            plugin
                .paths
                .into_iter()
                .map(move |path| (path, endpoint.clone()))
        })
        .collect();
    // The routes beside the core ones: the document, Swagger UI and the plugins' (whose own
    // routers match the path again, below the base path), with the core ones nested below
    // them for the paths the route table does not send to the core service itself.
    let all = plugin_routes.iter().fold(
        Route::new()
            .nest("/", self::service(state))
            .at(
                "/docs",
                poem::endpoint::make_sync(move |_| poem::web::Html(docs_html.clone())),
            )
            .at(
                "/openapi.json",
                poem::endpoint::make_sync(move |_| {
                    poem::Response::builder()
                        .content_type("application/json")
                        .body(spec.clone())
                }),
            ),
        |route, (path, endpoint)| route.at(poem_path(path), endpoint.clone()),
    );
    let mut other_paths = vec!["/docs".to_owned(), "/openapi.json".to_owned()];
    other_paths.extend(plugin_routes.into_iter().map(|(path, _)| path));
    guard::App {
        state: state.clone(),
        routes: guard::RouteTable::new(api_paths(&api::all(state)), other_paths),
        all: all.boxed(),
        core: service.into_endpoint(),
        root: extra,
    }
}

/// An OpenAPI path (`/item/{id}`) in poem's route syntax (`/item/:id`).
fn poem_path(path: &str) -> String {
    path.split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => format!(":{name}"),
                None => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// The paths an OpenAPI service declares, as its operations' metadata lists them.
fn api_paths<T: poem_openapi::OpenApi>(_: &T) -> impl Iterator<Item = String> {
    T::meta()
        .into_iter()
        .flat_map(|api| api.paths)
        .map(|path| path.path)
}
