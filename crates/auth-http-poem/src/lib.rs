//! auth-http-poem: the HTTP face of the auth server: Better-Auth's routes under `/api/auth`
//! (poem + poem-openapi), its cookies and errors byte for byte, the request guards, Swagger UI.
//! Depends on: auth-domain, auth-core, poem, poem-openapi.
//! Must not depend on: auth-ports, sea-orm, redis, argon2, pasetors, jsonwebtoken.
//! Invariant: handlers convert, call one `Auth` method, map the result and set cookies; HTTP
//! statuses are decided only in `error.rs`.
#![warn(missing_docs)]

mod api;
pub mod bearer;
mod body;
pub mod client_ip;
pub mod cookies;
pub mod cors;
pub mod dto;
mod error;
mod guard;
pub mod jwt;
pub mod origin;
pub mod payload;
pub mod server;
mod session_ctx;
mod session_user;
mod state;

use std::sync::Arc;

use poem::{Endpoint, EndpointExt, IntoEndpoint, Route};
use poem_openapi::OpenApiService;

pub use error::{ApiError, ErrorBody};
pub use session_user::SessionUser;
pub use state::{HttpConfig, HttpPlugin, HttpState, PluginFuture};

/// Where the auth API is mounted.
pub const BASE_PATH: &str = "/api/auth";

fn service(state: &Arc<HttpState>) -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    OpenApiService::new(api::all(state), "Auth server", env!("CARGO_PKG_VERSION"))
        .description("Better-Auth compatible authentication API.")
        .server(BASE_PATH)
}

/// The OpenAPI document of the auth API, as JSON.
#[must_use]
pub fn openapi_json(state: &Arc<HttpState>) -> String {
    service(state).spec()
}

/// The whole HTTP application: the auth API under `/api/auth` (guarded), plugin routes, the
/// OpenAPI document at `/api/auth/openapi.json` and Swagger UI at `/api/auth/docs`. `extra`
/// mounts more routes at the root (health, metrics).
pub fn app(
    state: &Arc<HttpState>,
    extra: Route,
) -> impl Endpoint<Output = poem::Response> + 'static {
    let service = service(state);
    let docs = service.swagger_ui();
    let spec = service.spec_endpoint();
    let mut auth_routes = Route::new()
        .nest("/", service)
        .nest("/docs", docs)
        .at("/openapi.json", spec);
    let mut paths = vec!["/docs".to_owned(), "/openapi.json".to_owned()];
    paths.extend(api_paths(&api::all(state)));
    for plugin in state.plugins() {
        for (path, endpoint) in plugin.routes(state) {
            paths.push(path.to_owned());
            auth_routes = auth_routes.at(path, endpoint);
        }
    }
    let routes = Arc::new(guard::RouteTable::new(paths));
    let guard_state = state.clone();
    let guarded = auth_routes
        .into_endpoint()
        .around(move |inner, request| guard::auth_api(inner, request, guard_state.clone()));
    extra
        .nest(BASE_PATH, guarded)
        .data(state.clone())
        .around(move |inner, request| guard::framing(inner, request, routes.clone()))
}

/// The paths an OpenAPI service declares, as its operations' metadata lists them.
fn api_paths<T: poem_openapi::OpenApi>(_: &T) -> impl Iterator<Item = String> {
    T::meta()
        .into_iter()
        .flat_map(|api| api.paths)
        .map(|path| path.path)
}
