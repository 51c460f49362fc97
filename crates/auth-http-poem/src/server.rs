//! Serving an endpoint over TCP with every wait bounded: a client that sends half a request
//! head, trickles a body, or keeps an idle connection open is cut off, and the number of open
//! connections is capped. poem's own server offers only an inactivity timeout, so this one
//! drives hyper directly (through hyper-util's HTTP/1 and HTTP/2 builder).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use poem::endpoint::DynEndpoint;
use poem::http::{StatusCode, uri::Scheme};
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, Response};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// Connection limits. The defaults are production values in the range nginx and Node use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// Longest time from the first byte of a request head to its end (20 s).
    pub header_read_timeout: Duration,
    /// Longest time to receive a whole request body, from the end of its head (30 s).
    pub body_read_timeout: Duration,
    /// Longest silence on a connection between requests (60 s).
    pub idle_timeout: Duration,
    /// Most connections open at once (10 000); further clients wait in the listen backlog.
    pub max_connections: usize,
    /// How long open requests may finish after shutdown begins (10 s).
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(20),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 10_000,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `endpoint` on `listener` until `shutdown` completes, then lets open requests finish
/// for up to `config.shutdown_grace`.
///
/// # Errors
/// Never today; an accept error (such as running out of file descriptors) is logged and
/// retried after a pause.
pub async fn serve(
    listener: TcpListener,
    endpoint: impl Endpoint<Output = Response> + 'static,
    config: ServerConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let endpoint: Arc<dyn DynEndpoint<Output = Response>> =
        Arc::new(poem::endpoint::ToDynEndpoint(endpoint));
    let local = listener.local_addr()?;
    let permits = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => permit,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let endpoint = endpoint.clone();
        let mut stopped = stopped.clone();
        connections.spawn(async move {
            let _permit = permit;
            let connection = Connection::new(stream, local, peer, endpoint, config);
            connection.run(&mut stopped).await;
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(config.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still open after the shutdown grace period are closed"
        );
        connections.abort_all();
    }
    Ok(())
}

/// Where a connection is between requests, which decides its deadline.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request open, nothing received since `since`: the idle timeout runs.
    Idle { since: Instant },
    /// The first bytes of a request head arrived at `since`: the header timeout runs.
    ReadingHead { since: Instant },
    /// Requests are being handled: the handlers' own bounds apply.
    Busy,
    /// The connection was upgraded (WebSocket): its protocol keeps its own time.
    Upgraded,
}

/// What the socket wrapper and the request handlers share.
#[derive(Debug)]
struct Shared {
    phase: Mutex<Phase>,
    in_flight: AtomicUsize,
    config: ServerConfig,
}

impl Shared {
    fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn deadline(&self) -> Option<Instant> {
        match *self.phase() {
            Phase::Idle { since } => Some(since + self.config.idle_timeout),
            Phase::ReadingHead { since } => Some(since + self.config.header_read_timeout),
            Phase::Busy | Phase::Upgraded => None,
        }
    }

    fn on_bytes_read(&self) {
        let mut phase = self.phase();
        if let Phase::Idle { .. } = *phase {
            *phase = Phase::ReadingHead {
                since: Instant::now(),
            };
        }
    }

    fn on_bytes_written(&self) {
        let mut phase = self.phase();
        if let Phase::Idle { .. } = *phase {
            *phase = Phase::Idle {
                since: Instant::now(),
            };
        }
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let mut phase = self.phase();
        if !matches!(*phase, Phase::Upgraded) {
            *phase = Phase::Busy;
        }
    }

    fn request_finished(&self, upgraded: bool) {
        let left = self
            .in_flight
            .fetch_sub(1, Ordering::SeqCst)
            .saturating_sub(1);
        let mut phase = self.phase();
        if upgraded {
            *phase = Phase::Upgraded;
        } else if left == 0 && matches!(*phase, Phase::Busy) {
            *phase = Phase::Idle {
                since: Instant::now(),
            };
        }
    }
}

/// One request being handled; its end is recorded even when hyper drops the handler (a reset
/// HTTP/2 stream, a client gone mid-request).
struct InFlight {
    shared: Arc<Shared>,
    upgraded: bool,
}

impl InFlight {
    fn enter(shared: Arc<Shared>) -> Self {
        shared.request_started();
        Self {
            shared,
            upgraded: false,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.shared.request_finished(self.upgraded);
    }
}

struct Connection {
    io: TimedIo,
    local: std::net::SocketAddr,
    peer: std::net::SocketAddr,
    endpoint: Arc<dyn DynEndpoint<Output = Response>>,
    shared: Arc<Shared>,
}

impl Connection {
    fn new(
        stream: TcpStream,
        local: std::net::SocketAddr,
        peer: std::net::SocketAddr,
        endpoint: Arc<dyn DynEndpoint<Output = Response>>,
        config: ServerConfig,
    ) -> Self {
        let _ = stream.set_nodelay(true);
        let shared = Arc::new(Shared {
            phase: Mutex::new(Phase::Idle {
                since: Instant::now(),
            }),
            in_flight: AtomicUsize::new(0),
            config,
        });
        Self {
            io: TimedIo::new(stream, shared.clone()),
            local,
            peer,
            endpoint,
            shared,
        }
    }

    async fn run(self, stopped: &mut tokio::sync::watch::Receiver<bool>) {
        let Self {
            io,
            local,
            peer,
            endpoint,
            shared,
        } = self;
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let endpoint = endpoint.clone();
            let shared = shared.clone();
            async move {
                let mut in_flight = InFlight::enter(shared.clone());
                let response = handle(request, local, peer, &*endpoint, &shared).await;
                in_flight.upgraded = response.status() == StatusCode::SWITCHING_PROTOCOLS;
                drop(in_flight);
                Ok::<_, Infallible>(hyper::Response::<BoxBody<Bytes, io::Error>>::from(response))
            }
        });
        let builder = auto::Builder::new(TokioExecutor::new());
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(connection);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            _ = stopped.changed() => {}
        }
        connection.as_mut().graceful_shutdown();
        let _ = connection.await;
    }
}

/// Turns hyper's request into poem's, with a deadline on its body, and calls the endpoint.
async fn handle(
    request: hyper::Request<Incoming>,
    local: std::net::SocketAddr,
    peer: std::net::SocketAddr,
    endpoint: &dyn DynEndpoint<Output = Response>,
    shared: &Shared,
) -> Response {
    let has_body = !request.body().is_end_stream();
    let mut request = poem::Request::from((
        request,
        LocalAddr(Addr::SocketAddr(local)),
        RemoteAddr(Addr::SocketAddr(peer)),
        Scheme::HTTP,
    ));
    if has_body {
        let body = request.take_body();
        let deadline = Instant::now() + shared.config.body_read_timeout;
        let timed = DeadlineBody {
            inner: BoxBody::from(body),
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
        };
        request.set_body(poem::Body::from(BoxBody::new(timed)));
    }
    match endpoint.call(request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// A request body that fails with `TimedOut` when it is not complete by its deadline.
struct DeadlineBody {
    inner: BoxBody<Bytes, io::Error>,
    sleep: Pin<Box<Sleep>>,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request body was not received in time",
            )))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The socket, with the connection's deadline checked whenever it would wait.
struct TimedIo {
    stream: TcpStream,
    shared: Arc<Shared>,
    sleep: Pin<Box<Sleep>>,
    armed_for: Option<Instant>,
}

impl TimedIo {
    fn new(stream: TcpStream, shared: Arc<Shared>) -> Self {
        Self {
            stream,
            shared,
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            armed_for: None,
        }
    }

    /// Whether the current deadline has passed; registers a wake-up for it otherwise.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.shared.deadline() else {
            return false;
        };
        if self.armed_for != Some(deadline) {
            self.sleep.as_mut().reset(deadline);
            self.armed_for = Some(deadline);
        }
        self.sleep.as_mut().poll(cx).is_ready()
    }

    /// Records a write; a client that stops reading its answer is cut off like an idle one.
    fn after_write(
        &mut self,
        written: Poll<io::Result<usize>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    self.shared.on_bytes_written();
                }
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(self.timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn timed_out(&self) -> io::Error {
        let what = match *self.shared.phase() {
            Phase::ReadingHead { .. } => "request head not received in time",
            _ => "connection idle for too long",
        };
        io::Error::new(io::ErrorKind::TimedOut, what)
    }
}

impl AsyncRead for TimedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.shared.on_bytes_read();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(self.timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write(cx, data);
        self.after_write(written, cx)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.after_write(written, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
