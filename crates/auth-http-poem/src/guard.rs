//! Request guards that run before any route: hostile framing, body size, media types, JSON
//! syntax, form bodies, and the CSRF origin check. Each refusal is a JSON error in the
//! contract's shape (or a bare 404 where better-call gives one).

use std::sync::Arc;

use poem::http::uri::PathAndQuery;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Request, Response, Route};
use serde_json::{Map, Value};

use auth_core::{ClientInfo, RateLimitQuery};

use crate::cookies::percent_decode;
use crate::error::ApiError;
use crate::payload::invalid_json;
use crate::state::HttpState;

/// Routes that also accept `application/x-www-form-urlencoded` (and get the form-CSRF check).
const FORM_ROUTES: [&str; 2] = ["/sign-in/email", "/sign-up/email"];

/// The whole HTTP application as one endpoint: the framing and metrics every request gets, and
/// for the auth API (below [`crate::BASE_PATH`]) its guard, then its routes. One layer where
/// poem's `around`, `data` and `nest` would stack eight, each moving the request's future
/// (several kilobytes) once more on every request.
pub(crate) struct App {
    pub(crate) state: Arc<HttpState>,
    /// The route labels of the auth API.
    pub(crate) routes: RouteTable,
    /// The core routes of the auth API (its OpenAPI service), on the path below the base path.
    pub(crate) core: poem::endpoint::BoxEndpoint<'static>,
    /// All of the auth API's routes on one router (the plugins', the document, Swagger UI,
    /// then the core ones nested below them), for every path that is not a core route.
    pub(crate) all: poem::endpoint::BoxEndpoint<'static>,
    /// Everything else (health, metrics, an embedding application's routes).
    pub(crate) root: Route,
}

impl Endpoint for App {
    type Output = Response;

    // Not an `async fn`: that would be one more future holding the request, moved whole on
    // every request.
    fn call(&self, request: Request) -> impl Future<Output = poem::Result<Response>> + Send {
        framing(self, request)
    }
}

/// The outermost guard: refuses ambiguous framing and turns "no such route" and "wrong method"
/// into better-call's bare 404.
///
/// Not an `async fn`, and its answer is finished by a combinator: an async fn holds its request
/// (about 500 bytes) twice and the future it awaits beside it, and the whole request's future
/// is moved on every request. This one is the route's future and a few words.
fn framing(
    app: &App,
    mut request: Request,
) -> impl Future<Output = poem::Result<Response>> + Send + '_ {
    use futures_util::FutureExt as _;
    use futures_util::future::Either;
    // Chunked bodies are accepted (the size limit applies to the decoded body). The smuggling
    // defence is hyper's: a request with both `Content-Length` and `Transfer-Encoding` is read
    // as chunked and its connection closed after the answer (RFC 9112 §6.3), so bytes after
    // it are never read as a second request.
    let started = std::time::Instant::now();
    // HTTP/2 clients split cookies over several lines, and a proxy may append its own
    // `X-Forwarded-For` line after the client's: every reader below sees all lines, in order.
    join_header_lines(request.headers_mut(), &header::COOKIE, "; ");
    join_header_lines(request.headers_mut(), &X_FORWARDED_FOR, ", ");
    request.extensions_mut().insert(app.state.clone());
    let below = request
        .uri()
        .path()
        .strip_prefix(crate::BASE_PATH)
        .filter(|below| below.is_empty() || below.starts_with('/'))
        .map(|below| app.routes.label(below));
    match below {
        Some(route) => {
            strip_base_path(&mut request);
            // Each router matches the path again, exactly: a path whose label is a plugin's but
            // whose spelling is not (`/API-KEY/get`) is no route of either.
            let inner: &dyn poem::endpoint::DynEndpoint<Output = Response> = match route.mount {
                Mount::Core => &*app.core,
                Mount::Other => &*app.all,
            };
            let answer = auth_api(inner, request, &app.state, &route.label);
            Either::Left(answer.map(move |response| {
                route.record(response.status(), started);
                Ok(framed(response))
            }))
        }
        // Boxed: the router's future is as large as the largest route's, and inline it would
        // be moved along with this one for every request of the auth API too.
        None => Either::Right(Box::pin(app.root.call(request)).map(move |answer| {
            let response = answer.unwrap_or_else(|error| error.into_response());
            // Outside the auth API (health, metrics, an embedding application's routes) the
            // router's own matched pattern names the route: as bounded as the routes mounted.
            let label = response
                .data::<poem::PathPattern>()
                .map_or(metrics::SharedString::const_str(OTHER_ROUTE), |pattern| {
                    metrics::SharedString::from(pattern.0.clone())
                });
            count(
                &metrics::counter!("auth_http_requests_total", "route" => label.clone(), "status" => status_label(response.status())),
                &metrics::histogram!("auth_http_request_duration_seconds", "route" => label),
                started,
            );
            Ok(framed(response))
        })),
    }
}

/// One answer counted (`auth_http_requests_total`) and timed
/// (`auth_http_request_duration_seconds`) under its route's label.
fn count(answers: &metrics::Counter, duration: &metrics::Histogram, started: std::time::Instant) {
    answers.increment(1);
    duration.record(started.elapsed().as_secs_f64());
}

/// A route's answer as it leaves (counted already): "no such route" or "wrong method" made
/// better-call's bare 404.
fn framed(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    let status = response.status();
    if status == StatusCode::METHOD_NOT_ALLOWED || (status == StatusCode::NOT_FOUND && !is_json) {
        return Response::builder().status(StatusCode::NOT_FOUND).finish();
    }
    response
}

/// Takes the base path off the request's URI (its query kept), as mounting the auth API under
/// it would: its routes match the path below it.
fn strip_base_path(request: &mut Request) {
    let uri = std::mem::take(request.uri_mut());
    let mut parts = uri.into_parts();
    let below = parts
        .path_and_query
        .as_ref()
        .and_then(|whole| whole.as_str().get(crate::BASE_PATH.len()..))
        .unwrap_or_default();
    let below = if below.starts_with('/') {
        PathAndQuery::try_from(below)
    } else {
        PathAndQuery::try_from(format!("/{below}"))
    };
    parts.path_and_query = below.ok();
    if let Ok(uri) = poem::http::Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
}

static X_FORWARDED_FOR: header::HeaderName = header::HeaderName::from_static("x-forwarded-for");

/// Replaces several lines of one header with a single line joining them in order (lines that
/// are not visible ASCII are kept apart and so ignored by the readers, as before).
fn join_header_lines(headers: &mut poem::http::HeaderMap, name: &header::HeaderName, sep: &str) {
    let mut lines = headers.get_all(name).iter();
    if lines.nth(1).is_none() {
        return;
    }
    let joined: Option<Vec<&str>> = headers
        .get_all(name)
        .iter()
        .map(|line| line.to_str().ok())
        .collect();
    let Some(joined) = joined else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&joined.join(sep)) {
        headers.insert(name.clone(), value);
    }
}

/// The auth API's guard: CORS, then body limit, media type, JSON syntax, forms, origin check,
/// rate limits, then the route and the plugins' hooks on the session it issues. Every answer,
/// refusals included, carries the CORS headers a trusted origin needs to read it.
#[expect(
    clippy::manual_async_fn,
    reason = "an `async fn` would hold the request twice (its argument and its local)"
)]
fn auth_api<'a>(
    inner: &'a dyn poem::endpoint::DynEndpoint<Output = Response>,
    mut request: Request,
    state: &'a Arc<HttpState>,
    route: &'a str,
) -> impl Future<Output = Response> + Send + 'a {
    async move {
        if let Some(preflight) = crate::cors::preflight(state, &request) {
            return preflight;
        }
        let cors = crate::cors::Answer::of(state, &request);
        let mut response = 'answer: {
            name_span(request.method(), route);
            let client = client_of(state, &request);
            if let Err(error) = check_origin(state, &request, route) {
                break 'answer error.into_response();
            }
            // Boxed: reading a body is a large future, and inline it would be copied along with
            // this guard's future on every request, bodiless `GET`s included.
            if !is_safe(request.method())
                && let Err(error) = Box::pin(normalise_body(state, &mut request, route)).await
            {
                break 'answer error.into_response();
            }
            let query = RateLimitQuery {
                route,
                client: &client,
            };
            if let Err(error) = state.auth().check_rate_limit(query).await {
                break 'answer ApiError::from(error).into_response();
            }
            request.extensions_mut().insert(client);
            let cookie_header = request
                .headers()
                .get(header::COOKIE)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            let response = match inner.call(request).await {
                Ok(response) => response.into_response(),
                // A parameter that does not parse (`?limit=-1`) on a route whose answer has no
                // bad request handler of its own: the same JSON error as every other bad input.
                Err(error) if error.status() == StatusCode::BAD_REQUEST => {
                    <ApiError as poem_openapi::ApiResponse>::from_parse_request_error(error)
                        .into_response()
                }
                Err(error) => error.into_response(),
            };
            after_route(state, route, cookie_header.as_deref(), response).await
        };
        cors.decorate(state, &mut response);
        response
    }
}

/// The plugins' hooks on a route's answer: headers for the session it issues, then cookies of
/// their own.
async fn after_route(
    state: &HttpState,
    route: &str,
    cookie_header: Option<&str>,
    mut response: Response,
) -> Response {
    if let Some(issued) = response.data::<crate::IssuedSession>().cloned() {
        let mut headers = poem::http::HeaderMap::new();
        for plugin in state.plugins() {
            plugin.session_issued(state, &issued, &mut headers);
        }
        for name in headers.keys() {
            crate::cors::expose_header(&mut response, name.as_str());
        }
        response.headers_mut().extend(headers);
    }
    let issued = response.data::<crate::IssuedSession>().cloned();
    let answered = crate::plugin::Answered {
        route,
        cookie_header,
        issued: issued.as_ref(),
        status: response.status(),
    };
    for plugin in state.plugins() {
        for line in plugin.after_answer(state, &answered).await {
            if let Ok(value) = HeaderValue::from_str(&line) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
        }
    }
    response
}

/// `GET`, `HEAD` and `OPTIONS`: no body is read and no origin is checked.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Reads the body of an unsafe request: size limit, media type, JSON syntax, forms.
async fn normalise_body(
    state: &HttpState,
    request: &mut Request,
    route: &str,
) -> Result<(), ApiError> {
    let headers = request.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let expects_continue = headers
        .get(header::EXPECT)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let limit = state.config().body_limit;
    let bytes =
        crate::body::read_limited(request.take_body(), limit, declared, expects_continue).await?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let json = HeaderValue::from_static("application/json");
    if bytes.is_empty() {
        request.headers_mut().insert(header::CONTENT_TYPE, json);
        return Ok(());
    }
    let Some(content_type) = content_type else {
        // node:http drops a body that has no Content-Type; the route then sees no body.
        request.headers_mut().insert(header::CONTENT_TYPE, json);
        return Ok(());
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let accepts_form = FORM_ROUTES.contains(&route);
    let body = match essence.as_str() {
        "application/json" => {
            if serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err() {
                return Err(invalid_json());
            }
            bytes.to_vec()
        }
        "application/x-www-form-urlencoded" if accepts_form => form_to_json(&bytes)?,
        _ => {
            let allowed = if accepts_form {
                "application/json, application/x-www-form-urlencoded"
            } else {
                "application/json"
            };
            let shown: String = content_type
                .chars()
                .filter(|c| !c.is_control())
                .take(100)
                .collect();
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                format!("Content-Type \"{shown}\" is not allowed. Allowed types: {allowed}"),
            ));
        }
    };
    request.headers_mut().insert(header::CONTENT_TYPE, json);
    request.headers_mut().remove(header::CONTENT_LENGTH);
    request.headers_mut().remove(header::TRANSFER_ENCODING);
    request.set_body(Body::from(body));
    Ok(())
}

/// A form body as a JSON object of strings (a repeated key becomes an array), as better-call
/// parses it: `rememberMe=false` stays the string `"false"` and fails boolean validation.
fn form_to_json(bytes: &[u8]) -> Result<Vec<u8>, ApiError> {
    let text = std::str::from_utf8(bytes).map_err(|_| invalid_json())?;
    let mut object = Map::new();
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |raw: &str| percent_decode(&raw.replace('+', " ")).ok_or_else(invalid_json);
        let (key, value) = (decode(key)?, Value::String(decode(value)?));
        match object.get_mut(&key) {
            Some(Value::Array(values)) => values.push(value),
            Some(existing) => *existing = Value::Array(vec![existing.clone(), value]),
            None => {
                object.insert(key, value);
            }
        }
    }
    serde_json::to_vec(&Value::Object(object)).map_err(|_| invalid_json())
}

/// The origin check: cookie-carrying state changes must come from a trusted origin; the two
/// form-capable sign-in routes also check browsers that send no cookie.
pub(crate) fn check_origin(
    state: &HttpState,
    request: &Request,
    route: &str,
) -> Result<(), ApiError> {
    if is_safe(request.method()) {
        return Ok(());
    }
    let headers = request.headers();
    let header_text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let has_cookie = headers.contains_key(header::COOKIE);
    let origin = header_text("origin").or_else(|| header_text("referer"));
    if !has_cookie {
        if !FORM_ROUTES.contains(&route) {
            return Ok(());
        }
        let fetch_site = header_text("sec-fetch-site");
        let fetch_mode = header_text("sec-fetch-mode");
        let has_fetch_metadata =
            fetch_site.is_some() || fetch_mode.is_some() || header_text("sec-fetch-dest").is_some();
        if has_fetch_metadata && fetch_site == Some("cross-site") && fetch_mode == Some("navigate")
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED",
                "Cross-site navigation login blocked. This request appears to be a CSRF attack.",
            ));
        }
        if !has_fetch_metadata && origin.is_none() {
            return Ok(());
        }
    }
    let origin = match origin {
        Some("null") if header_text("sec-fetch-site") == Some("same-origin") => {
            Some(state.origins().own().to_owned())
        }
        Some(value) if !value.is_empty() && value != "null" => Some(value.to_owned()),
        _ => None,
    };
    let Some(origin) = origin else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "MISSING_OR_NULL_ORIGIN",
            "Missing or null Origin",
        ));
    };
    if !state.origins().is_trusted(&origin) {
        tracing::warn!(target: "auth::audit", event = "untrusted_origin", route, "request from an untrusted origin refused");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "INVALID_ORIGIN",
            "Invalid origin",
        ));
    }
    Ok(())
}

/// Whether `raw` is already what [`normalise_route`] would make of it: a leading `/`, no
/// empty segment, nothing percent-encoded, no capital.
fn is_normal_route(raw: &str) -> bool {
    raw.len() > 1
        && raw.starts_with('/')
        && !raw.ends_with('/')
        && !raw.contains("//")
        && !raw
            .bytes()
            .any(|byte| byte == b'%' || byte.is_ascii_uppercase())
}

/// The route as rate limits and metrics see it: percent-decoded, lower-cased, without repeated
/// or trailing slashes, so `//Sign-In/email/` and `/sign-in%2Femail` count as `/sign-in/email`.
pub(crate) fn normalise_route(raw: &str) -> String {
    let decoded = percent_decode(raw)
        .unwrap_or_else(|| raw.to_owned())
        .to_ascii_lowercase();
    let segments: Vec<&str> = decoded
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    format!("/{}", segments.join("/"))
}

/// The routes the auth API serves, as the router declares them (the OpenAPI operations and the
/// plugins' routes, below the base path), each with a shared label and the router it is on.
/// Rate-limit keys, metrics and audit rows name a route by this label, never by raw path text,
/// so their cardinality is bounded by the routes there are: every unknown path is `other`.
#[derive(Debug)]
pub(crate) struct RouteTable {
    labels: std::collections::HashMap<Box<str>, Arc<ApiRoute>>,
    other: Arc<ApiRoute>,
}

/// A route of the auth API as the table knows it: its label, the router that serves it, and its
/// metric handles.
#[derive(Debug)]
pub(crate) struct ApiRoute {
    /// The normalised route (`other` for every path the API does not serve).
    pub(crate) label: Arc<str>,
    pub(crate) mount: Mount,
    /// `auth_http_request_duration_seconds` for this route.
    duration: std::sync::OnceLock<metrics::Histogram>,
    /// `auth_http_requests_total` for this route and each of [`KNOWN_STATUSES`].
    answers: [std::sync::OnceLock<metrics::Counter>; KNOWN_STATUSES.len()],
}

impl ApiRoute {
    fn new(label: Arc<str>, mount: Mount) -> Self {
        Self {
            label,
            mount,
            duration: std::sync::OnceLock::new(),
            answers: std::array::from_fn(|_| std::sync::OnceLock::new()),
        }
    }

    /// Counts and times one answer of this route. The handles are registered on the route's
    /// first answer of each status, with the recorder installed by then (the server's is
    /// installed before it serves), and kept: the macros would build the labels, hash them and
    /// look them up in the recorder's registry on every request.
    pub(crate) fn record(&self, status: StatusCode, started: std::time::Instant) {
        let route = || metrics::SharedString::from(self.label.clone());
        let duration = self.duration.get_or_init(
            || metrics::histogram!("auth_http_request_duration_seconds", "route" => route()),
        );
        let counter = || metrics::counter!("auth_http_requests_total", "route" => route(), "status" => status_label(status));
        match known_status(status) {
            Some(index) => count(self.answers[index].get_or_init(counter), duration, started),
            None => count(&counter(), duration, started),
        }
    }
}

/// Which of the auth API's routers serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mount {
    /// The core routes (the OpenAPI service).
    Core,
    /// The plugins' routes, the document and Swagger UI, and every path the table does not
    /// know (no route, or a route with parameters, whose label is `other`): the router of all
    /// the routes tells.
    Other,
}

impl RouteTable {
    /// The table of the `core` and `other` routes (below the base path, as their routers mount
    /// them); a route in both is the other router's, as an exact route is before a nested one.
    pub(crate) fn new(
        core: impl IntoIterator<Item = String>,
        other: impl IntoIterator<Item = String>,
    ) -> Self {
        let mounted = core
            .into_iter()
            .map(|path| (path, Mount::Core))
            .chain(other.into_iter().map(|path| (path, Mount::Other)));
        let mut labels = std::collections::HashMap::new();
        for (path, mount) in mounted {
            let normalised = normalise_route(&path);
            let route = ApiRoute::new(Arc::from(normalised.as_str()), mount);
            labels.insert(normalised.into_boxed_str(), Arc::new(route));
        }
        Self {
            labels,
            other: Arc::new(ApiRoute::new(Arc::from(OTHER_ROUTE), Mount::Other)),
        }
    }

    /// The label of a raw path below the base path (the normalised route when the API serves
    /// it, else `other`), with the router that serves it.
    pub(crate) fn label(&self, raw: &str) -> &ApiRoute {
        let found = if is_normal_route(raw) {
            // As clients send them: nothing to decode, fold or collapse.
            self.labels.get(raw)
        } else {
            self.labels.get(normalise_route(raw).as_str())
        };
        found.unwrap_or(&self.other)
    }
}

/// The label shared by every path the API does not serve.
pub(crate) const OTHER_ROUTE: &str = "other";

/// The statuses this API answers with: their labels are not allocated, and each route keeps its
/// counter of each.
const KNOWN_STATUSES: [&str; 12] = [
    "200", "302", "400", "401", "403", "404", "413", "415", "422", "429", "500", "503",
];

/// The index of `status` in [`KNOWN_STATUSES`].
fn known_status(status: StatusCode) -> Option<usize> {
    KNOWN_STATUSES
        .iter()
        .position(|&known| known == status.as_str())
}

/// The status as a metrics label, without allocating for [`KNOWN_STATUSES`].
fn status_label(status: StatusCode) -> metrics::SharedString {
    match known_status(status) {
        Some(index) => metrics::SharedString::const_str(KNOWN_STATUSES[index]),
        None => metrics::SharedString::from(status.as_str().to_owned()),
    }
}

pub(crate) fn client_of(state: &HttpState, request: &Request) -> ClientInfo {
    let peer = request
        .remote_addr()
        .as_socket_addr()
        .map(std::net::SocketAddr::ip);
    let forwarded = request
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let ip_address = crate::client_ip::resolve(peer, forwarded, &state.config().trusted_proxies);
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.chars().take(512).collect())
        .unwrap_or_default();
    let mut cookies = auth_core::RequestCookies::default();
    let header = request
        .headers()
        .get(header::COOKIE)
        .and_then(|value| value.to_str().ok());
    if let Some(header) = header {
        let wanted = state
            .plugins()
            .iter()
            .flat_map(|plugin| plugin.request_cookies());
        for name in wanted {
            if let Some(value) = state.cookies().read_signed(header, name) {
                cookies.insert(name, auth_domain::Secret::new(value));
            }
        }
    }
    ClientInfo {
        ip_address,
        user_agent,
        cookies,
    }
}

/// Names the request's span, when the composition root opened one (to export it), after the
/// route: `POST /sign-in/email`, never raw path text.
fn name_span(method: &poem::http::Method, route: &str) {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return;
    }
    span.record("http.route", route);
    span.record("otel.name", format!("{} {route}", method_label(method)));
}

/// A request method as spans name it: the standard ones as they are, any other `_OTHER` (a
/// client may send any token as a method).
#[must_use]
pub fn method_label(method: &poem::http::Method) -> &'static str {
    use poem::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "_OTHER",
    }
}

#[cfg(test)]
mod tests {
    use poem::http::{Method, StatusCode};

    use super::{
        Mount, RouteTable, is_normal_route, method_label, normalise_route, strip_base_path,
    };

    #[test]
    fn the_base_path_comes_off_the_uri_and_the_query_stays() {
        for (uri, below) in [
            ("/api/auth/get-session", "/get-session"),
            (
                "/api/auth/api-key/get?id=k1&x=%2F",
                "/api-key/get?id=k1&x=%2F",
            ),
            ("/api/auth", "/"),
            ("/api/auth/", "/"),
            ("/api/auth?x=1", "/?x=1"),
            ("http://host:3000/api/auth/ok", "/ok"),
        ] {
            let mut request = poem::Request::builder().uri_str(uri).finish();
            strip_base_path(&mut request);
            let left = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_owned());
            assert_eq!(left.as_deref(), Some(below), "{uri}");
        }
        let mut request = poem::Request::builder()
            .uri_str("http://host:3000/api/auth/ok")
            .finish();
        strip_base_path(&mut request);
        assert_eq!(request.uri().host(), Some("host"), "the authority stays");
    }

    #[test]
    fn a_route_as_clients_send_it_is_found_without_normalising_and_others_after() {
        let table = RouteTable::new(
            ["/get-session".to_owned(), "/docs".to_owned()],
            ["/api-key/get".to_owned(), "/docs".to_owned()],
        );
        for raw in [
            "/get-session",
            "/GET-Session",
            "//get-session/",
            "/get%2Dsession",
            "get-session",
        ] {
            let route = table.label(raw);
            assert_eq!(
                (&*route.label, route.mount),
                ("/get-session", Mount::Core),
                "{raw}"
            );
        }
        let route = table.label("/api-key/get");
        assert_eq!((&*route.label, route.mount), ("/api-key/get", Mount::Other));
        // A route on both routers is the exact one's, as it is before the nested one.
        assert_eq!(table.label("/docs").mount, Mount::Other);
        for unknown in ["/", "", "/nope", "/get-session/x"] {
            let route = table.label(unknown);
            assert_eq!(
                (&*route.label, route.mount),
                ("other", Mount::Other),
                "{unknown}"
            );
        }
        // The fast path takes only what normalising would leave as it is.
        for raw in [
            "/get-session",
            "/a/b",
            "/x+1",
            "/é",
            "/",
            "/A",
            "/a//b",
            "/a/",
            "/%41",
        ] {
            if is_normal_route(raw) {
                assert_eq!(normalise_route(raw), raw);
            }
        }
        assert!(is_normal_route("/sign-in/email") && !is_normal_route("/Sign-in/email"));
    }

    #[test]
    fn a_route_registers_its_metric_handles_once_and_counts_every_answer_under_its_label() {
        let tally = auth_testkit::metrics::CountingRecorder::default();
        let table = RouteTable::new(["/get-session".to_owned()], ["/api-key/get".to_owned()]);
        let started = std::time::Instant::now();
        metrics::with_local_recorder(&tally, || {
            let route = table.label("/get-session");
            for _ in 0..3 {
                route.record(StatusCode::OK, started);
            }
            // The duration and the `200` counter, registered on the first answer only.
            assert_eq!(tally.registered(), 2);
            route.record(StatusCode::UNAUTHORIZED, started);
            route.record(StatusCode::IM_A_TEAPOT, started);
            route.record(StatusCode::IM_A_TEAPOT, started);
            table.label("/nope").record(StatusCode::NOT_FOUND, started);
            table
                .label("//API-KEY/get/")
                .record(StatusCode::OK, started);
        });
        let counted = |route: &str, status: &str| {
            tally.total(&format!(
                "auth_http_requests_total{{route={route},status={status}}}"
            ))
        };
        assert_eq!(counted("/get-session", "200"), 3);
        assert_eq!(counted("/get-session", "401"), 1);
        assert_eq!(
            counted("/get-session", "418"),
            2,
            "a status of no kept counter is counted too"
        );
        assert_eq!(counted("other", "404"), 1);
        assert_eq!(counted("/api-key/get", "200"), 1);
        let timed = |route: &str| {
            tally.total(&format!(
                "auth_http_request_duration_seconds{{route={route}}}"
            ))
        };
        assert_eq!(
            (timed("/get-session"), timed("other"), timed("/api-key/get")),
            (6, 1, 1)
        );
    }

    #[test]
    fn standard_methods_name_spans_as_they_are_and_any_other_is_other() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        let invented = Method::from_bytes(b"BREW-1234").expect("a method token");
        assert_eq!(method_label(&invented), "_OTHER");
    }
}
