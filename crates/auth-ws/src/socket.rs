//! The authenticated WebSocket endpoint: the upgrade authenticated before it happens, then a
//! task that pumps the socket for the application, with a heartbeat, an idle timeout, a message
//! size limit, and closing when the hub says the session ended or when it expires.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{AuthContext, TokenIssuer};
use auth_http_poem::api_key::ApiKeyPrincipal;
use auth_http_poem::{ApiError, HttpState, SessionUser};
use futures_util::{SinkExt, StreamExt};
use poem::http::{StatusCode, header};
use poem::web::websocket::{CloseCode, Message, WebSocket, WebSocketConfig, WebSocketStream};
use poem::{Endpoint, FromRequest, IntoResponse, Request, RequestBody, Response};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::hub::{Applicant, CloseReason, Hub, Limit, Registration};
use crate::metrics::{self, Ended, Refusal};

/// Limits and timers of the sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsConfig {
    /// How often the server pings (25 s).
    pub ping_interval: Duration,
    /// How long a pong may take after a ping before the peer counts as dead (10 s).
    pub pong_timeout: Duration,
    /// How long the client may send nothing (5 minutes).
    pub idle_timeout: Duration,
    /// The largest message accepted (64 KiB): a larger one closes the socket (1009).
    pub max_message_bytes: usize,
    /// Most sockets one user keeps open on this instance (10).
    pub max_per_user: usize,
    /// At the limit, close the user's oldest socket (else refuse the new one, `429`).
    pub close_oldest: bool,
    /// How long a frame may take to be written before the client counts as gone, and how long
    /// a client's message may wait for the application to take it before the socket is closed
    /// (1008, "messages not read") (10 s).
    pub send_timeout: Duration,
}

impl WsConfig {
    /// The settings within their working ranges: a ping interval of at least 10 ms and a
    /// limit of at least one socket per user.
    fn sane(self) -> Self {
        Self {
            ping_interval: self.ping_interval.max(Duration::from_millis(10)),
            max_per_user: self.max_per_user.max(1),
            ..self
        }
    }

    /// The per-user limit; a shared slot outlives its last heartbeat by two pings and a pong.
    fn limit(&self) -> Limit {
        Limit {
            max: self.max_per_user,
            close_oldest: self.close_oldest,
            ttl: self.ping_interval * 2 + self.pong_timeout,
        }
    }

    /// The protocol's own limits: small buffers allocated up front (the memory of an idle
    /// socket), messages and frames over `max_message_bytes` refused while they are read
    /// rather than after, and a bounded write buffer (a client that stops reading is closed,
    /// not buffered for).
    fn protocol(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER_BYTES)
            .write_buffer_size(0)
            .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES.max(self.max_message_bytes * 2))
            .max_message_size(Some(self.max_message_bytes))
            .max_frame_size(Some(self.max_message_bytes))
    }
}

/// The read buffer of each socket, allocated when it opens.
const READ_BUFFER_BYTES: usize = 4 * 1024;

/// The most a socket buffers for a client that does not read.
const MAX_WRITE_BUFFER_BYTES: usize = 1024 * 1024;

/// Whether a read failed on the message size limit (the protocol layer's capacity error).
fn too_big(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::Other
        && error.to_string().starts_with("Space limit exceeded")
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(25),
            pong_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            max_message_bytes: 64 * 1024,
            max_per_user: 10,
            close_oldest: false,
            send_timeout: Duration::from_secs(10),
        }
    }
}

/// The connection an application gets: who is on the other end.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The session (an API key's, for a key; a signed token's, for a JWT or PASETO) and its
    /// user; the session's fields hold the active organization.
    pub context: AuthContext,
    /// The API key that opened the socket, with its permissions.
    pub api_key: Option<ApiKeyPrincipal>,
}

impl Authenticated {
    fn session(context: AuthContext) -> Self {
        Self {
            context,
            api_key: None,
        }
    }
}

/// The client's messages (text and binary), until the socket closes.
#[derive(Debug)]
pub struct Incoming(mpsc::Receiver<Message>);

impl Incoming {
    /// The next message; `None` once the socket closed.
    pub async fn next(&mut self) -> Option<Message> {
        self.0.recv().await
    }
}

/// Sends messages to the client; dropping it closes the socket normally.
#[derive(Debug, Clone)]
pub struct Outgoing(mpsc::Sender<Message>);

impl Outgoing {
    /// Sends a message; `false` once the socket closed.
    pub async fn send(&self, message: Message) -> bool {
        self.0.send(message).await.is_ok()
    }
}

/// A poem endpoint that authenticates the upgrade and hands the connection to `handler`.
pub struct WsEndpoint<F> {
    hub: Arc<Hub>,
    config: WsConfig,
    handler: Arc<F>,
}

/// An authenticated WebSocket endpoint registering its sockets with `hub` (the one the
/// [`crate::WsPlugin`] closes sockets in), each served by `handler`.
pub fn websocket<F, Fut>(hub: Arc<Hub>, config: WsConfig, handler: F) -> WsEndpoint<F>
where
    F: Fn(Authenticated, Incoming, Outgoing) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    WsEndpoint {
        hub,
        config,
        handler: Arc::new(handler),
    }
}

/// `401 INVALID_TICKET`.
fn invalid_ticket() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "INVALID_TICKET",
        "Invalid or expired WebSocket ticket",
    )
}

/// The ticket a request presents: the `ticket` query parameter, or a `ticket.<ticket>`
/// subprotocol (then echoed back).
fn presented_ticket(request: &Request) -> Option<(String, Option<String>)> {
    let from_query = request.uri().query().and_then(|query| {
        query.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            (name == "ticket").then(|| value.to_owned())
        })
    });
    if let Some(ticket) = from_query {
        return Some((ticket, None));
    }
    let protocols = request
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())?;
    protocols.split(',').map(str::trim).find_map(|protocol| {
        let ticket = protocol.strip_prefix("ticket.")?;
        Some((ticket.to_owned(), Some(protocol.to_owned())))
    })
}

/// A JWT (three dot-separated parts) or a `v4.public` PASETO in `Authorization: Bearer`: a
/// signed token, not a session token.
fn signed_token(request: &Request) -> Option<&str> {
    let token = bearer(request)?;
    (token.starts_with("v4.public.") || token.split('.').count() == 3).then_some(token)
}

/// The token of `Authorization: Bearer <token>`, the scheme in any case (as the HTTP API and
/// `auth-guard` read it).
fn bearer(request: &Request) -> Option<&str> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A refusal of an upgrade: its metric's reason (none for a dependency that is down) and its
/// answer.
type Refused = (Option<Refusal>, ApiError);

/// A guard's refusal, as an upgrade's.
fn refused_by_guard(status: StatusCode, error: ApiError) -> Refused {
    // A dependency that is down (503) or a rate limit is not a refused credential.
    let refused = matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
    (refused.then_some(Refusal::Unauthorized), error)
}

/// Who an upgrade request stands for, and the subprotocol to answer: a ticket, a signed token,
/// an API key, else the credential the HTTP guards accept. A browser sends cookies on a
/// cross-site upgrade, so an upgrade that a cookie alone authenticates must come from a
/// trusted origin.
async fn authenticate(
    state: &HttpState,
    tokens: Option<&TokenIssuer>,
    request: &Request,
) -> Result<(Authenticated, Option<String>), Refused> {
    if let Some((ticket, protocol)) = presented_ticket(request) {
        return match state.auth().redeem_ws_ticket(&ticket).await {
            Ok(Some(context)) => Ok((Authenticated::session(context), protocol)),
            Ok(None) => Err((Some(Refusal::InvalidTicket), invalid_ticket())),
            Err(error) => Err((None, error.into())),
        };
    }
    if let (Some(tokens), Some(token)) = (tokens, signed_token(request)) {
        return match tokens.context_for(state.auth(), token).await {
            Ok(Some(context)) => Ok((Authenticated::session(context), None)),
            Ok(None) => Err((
                Some(Refusal::Unauthorized),
                ApiError::new(StatusCode::UNAUTHORIZED, "INVALID_TOKEN", "Invalid token"),
            )),
            Err(error) => Err((None, error.into())),
        };
    }
    if let Some(found) = auth_http_poem::api_key::key_session(request).await {
        return match found {
            Ok((context, key)) => Ok((
                Authenticated {
                    context,
                    api_key: Some(key),
                },
                None,
            )),
            Err(error) => Err(refused_by_guard(error.status, error)),
        };
    }
    let headers = request.headers();
    let cookie_only = headers.contains_key(header::COOKIE) && bearer(request).is_none();
    if cookie_only {
        let origin = headers
            .get(header::ORIGIN)
            .and_then(|value| value.to_str().ok());
        if !origin.is_some_and(|origin| state.origins().is_trusted(origin)) {
            let refused = ApiError::new(StatusCode::FORBIDDEN, "INVALID_ORIGIN", "Invalid origin");
            return Err((Some(Refusal::InvalidOrigin), refused));
        }
    }
    let mut body = RequestBody::default();
    match SessionUser::from_request(request, &mut body).await {
        Ok(user) => Ok((Authenticated::session(user.0), None)),
        Err(error) => {
            let status = error.status();
            let error = error
                .downcast::<ApiError>()
                .unwrap_or_else(|_| ApiError::new(status, "UNAUTHORIZED", "Unauthorized"));
            Err(refused_by_guard(status, error))
        }
    }
}

impl<F, Fut> Endpoint for WsEndpoint<F>
where
    F: Fn(Authenticated, Incoming, Outgoing) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    type Output = Response;

    async fn call(&self, request: Request) -> poem::Result<Response> {
        let Some(state) = request.data::<Arc<HttpState>>().cloned() else {
            tracing::error!("the WebSocket endpoint needs the HTTP state; mount it through `app`");
            return Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        };
        // Upgrade attempts are limited per client like the API's routes (one label for every
        // WebSocket endpoint): each costs a credential lookup.
        let client = auth_http_poem::client_info(&request);
        let query = auth_core::RateLimitQuery {
            route: RATE_LIMIT_LABEL,
            client: &client,
        };
        if let Err(error) = state.auth().check_rate_limit(query).await {
            metrics::refused(Refusal::RateLimited);
            return Ok(ApiError::from(error).into_response());
        }
        let since = self.hub.mark();
        let (who, protocol) = match authenticate(&state, self.hub.tokens(), &request).await {
            Ok(found) => found,
            Err((refusal, error)) => {
                if let Some(refusal) = refusal {
                    metrics::refused(refusal);
                }
                return Ok(error.into_response());
            }
        };
        let mut body = RequestBody::default();
        let Ok(socket) = WebSocket::from_request(&request, &mut body).await else {
            metrics::refused(Refusal::NotAnUpgrade);
            let refused = ApiError::new(
                StatusCode::BAD_REQUEST,
                "NOT_A_WEBSOCKET_UPGRADE",
                "Not a WebSocket upgrade",
            );
            return Ok(refused.into_response());
        };
        let config = self.config.sane();
        let applicant = Applicant {
            user: &who.context.user.id,
            session: &who.context.session.id,
            organization: auth_core::Organizations::active_id(&who.context.session),
            since,
        };
        let Some(registration) = self.hub.admit(applicant, config.limit()).await else {
            metrics::refused(Refusal::TooManyConnections);
            let refused = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_CONNECTIONS",
                "Too many open connections for this user",
            );
            return Ok(refused.into_response());
        };
        let socket = match protocol {
            Some(protocol) => socket.protocols([protocol]),
            None => socket,
        }
        .config(config.protocol());
        // An API key's socket lasts as long as the key; a session's, as long as the session.
        let ends = match &who.api_key {
            Some(principal) => principal.key.expires_at,
            None => Some(who.context.session.expires_at),
        };
        let now = state.auth().now();
        let until_expiry = ends.map_or(NEVER, |ends| {
            (ends - now).try_into().unwrap_or(Duration::ZERO).min(NEVER)
        });
        let (hub, handler) = (self.hub.clone(), self.handler.clone());
        // Dropped with the callback when the upgrade fails: the socket is then forgotten.
        Ok(socket
            .on_upgrade(move |stream| async move {
                let socket = Socket {
                    registration,
                    hub,
                    config,
                    who,
                    until_expiry,
                };
                serve(stream, socket, handler).await;
            })
            .into_response())
    }
}

/// The rate-limit label of WebSocket upgrades.
const RATE_LIMIT_LABEL: &str = "/websocket";

/// A socket whose credential does not expire still ends in a year.
const NEVER: Duration = Duration::from_secs(365 * 24 * 3600);

/// The socket's sending half: every write bounded by the send timeout.
struct Sender {
    sink: futures_util::stream::SplitSink<WebSocketStream, Message>,
    timeout: Duration,
}

impl Sender {
    /// Sends `message` within the timeout: `false` when the client is gone or stopped reading.
    async fn send_within(&mut self, message: Message) -> bool {
        matches!(
            tokio::time::timeout(self.timeout, self.sink.send(message)).await,
            Ok(Ok(()))
        )
    }

    /// Sends a close frame with `code` and `text`, then closes (each within the timeout).
    async fn close_with(&mut self, code: u16, text: &str) {
        let frame = Message::Close(Some((CloseCode::from(code), text.to_owned())));
        if self.send_within(frame).await {
            let _ = tokio::time::timeout(self.timeout, self.sink.close()).await;
        }
    }
}

/// One admitted socket, before it is served.
struct Socket {
    /// Its place in the hub: the socket is forgotten when this is dropped.
    registration: Registration,
    hub: Arc<Hub>,
    config: WsConfig,
    who: Authenticated,
    /// Until its credential expires.
    until_expiry: Duration,
}

/// Pumps one socket until it closes.
async fn serve<F, Fut>(stream: WebSocketStream, socket: Socket, handler: Arc<F>)
where
    F: Fn(Authenticated, Incoming, Outgoing) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Socket {
        registration,
        hub,
        config,
        who,
        until_expiry,
    } = socket;
    let (id, user) = (registration.id, who.context.user.id.clone());
    let mut registration = registration;
    let (sink, mut source) = stream.split();
    let mut sink = Sender {
        sink,
        timeout: config.send_timeout,
    };
    let (to_app, incoming) = mpsc::channel(32);
    let (outgoing, mut from_app) = mpsc::channel(32);
    let app = tokio::spawn(handler(who, Incoming(incoming), Outgoing(outgoing)));
    let expiry = tokio::time::sleep(until_expiry);
    tokio::pin!(expiry);
    let mut heartbeat = tokio::time::interval(config.ping_interval);
    heartbeat.tick().await;
    let mut last_pong = Instant::now();
    let mut last_message = Instant::now();
    metrics::opened();
    let ended = loop {
        tokio::select! {
            reason = registration.closed.recv() => {
                let reason = reason.unwrap_or(CloseReason::Shutdown);
                sink.close_with(reason.code(), reason.text()).await;
                break Ended::Closed(reason);
            }
            () = &mut expiry => {
                let reason = CloseReason::Expired;
                sink.close_with(reason.code(), reason.text()).await;
                break Ended::Closed(reason);
            }
            _ = heartbeat.tick() => {
                let reason = if last_pong.elapsed() > config.ping_interval + config.pong_timeout {
                    Some(CloseReason::HeartbeatTimeout)
                } else if last_message.elapsed() > config.idle_timeout {
                    Some(CloseReason::Idle)
                } else {
                    None
                };
                if let Some(reason) = reason {
                    sink.close_with(reason.code(), reason.text()).await;
                    break Ended::Closed(reason);
                }
                if !hub.refresh(&user, id, config.limit()).await {
                    let reason = CloseReason::Replaced;
                    sink.close_with(reason.code(), reason.text()).await;
                    break Ended::Closed(reason);
                }
                if !sink.send_within(Message::Ping(Vec::new())).await {
                    break Ended::ByClient;
                }
            }
            message = source.next() => match message {
                Some(Ok(Message::Pong(_))) => last_pong = Instant::now(),
                Some(Ok(Message::Ping(_))) => last_message = Instant::now(),
                // The protocol layer refuses a message over the limit while reading it.
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    metrics::message(true);
                    last_message = Instant::now();
                    last_pong = Instant::now();
                    // An application that does not read its messages is not waited for.
                    match tokio::time::timeout(config.send_timeout, to_app.send(message)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => {
                            sink.close_with(1000, "").await;
                            break Ended::ByApplication;
                        }
                        Err(_) => {
                            sink.close_with(1008, "messages not read").await;
                            break Ended::ByApplication;
                        }
                    }
                }
                Some(Err(error)) if too_big(&error) => {
                    sink.close_with(1009, "message too big").await;
                    break Ended::TooBig;
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break Ended::ByClient,
            },
            message = from_app.recv() => match message {
                Some(message) => {
                    metrics::message(false);
                    if !sink.send_within(message).await {
                        break Ended::ByClient;
                    }
                }
                None => {
                    sink.close_with(1000, "").await;
                    break Ended::ByApplication;
                }
            },
        }
    };
    metrics::ended(ended);
    app.abort();
    drop(registration);
}

#[cfg(test)]
mod tests {
    use poem::Request;
    use poem::http::header;

    use super::{bearer, signed_token};

    fn with_authorization(value: &str) -> Request {
        Request::builder()
            .header(header::AUTHORIZATION, value)
            .finish()
    }

    #[test]
    fn a_bearer_scheme_is_read_in_any_case_and_only_signed_tokens_are_signed() {
        for value in ["Bearer abc", "bearer abc", "BEARER  abc "] {
            assert_eq!(bearer(&with_authorization(value)), Some("abc"), "{value}");
        }
        for value in ["Basic abc", "Bearer ", "Bearer", "Bearerabc"] {
            assert_eq!(bearer(&with_authorization(value)), None, "{value}");
        }
        assert_eq!(
            signed_token(&with_authorization("bearer a.b.c")),
            Some("a.b.c")
        );
        assert_eq!(
            signed_token(&with_authorization("Bearer v4.public.xyz")),
            Some("v4.public.xyz")
        );
        assert_eq!(
            signed_token(&with_authorization("Bearer session.sig")),
            None
        );
    }
}
