//! A small HTTP/1.1 load generator used by `cargo xtask bench`. All connections of a run are
//! driven by one thread (a single-threaded tokio runtime; an open loop adds a second that
//! releases requests on schedule), so the generator takes as little of the machine from the
//! server as it can. Requests are written by hand and responses parsed
//! with `httparse` (`Content-Length` and chunked bodies); any status other than 200 counts as
//! an error. A run is paced one of two ways ([`Pace`]): a closed loop, where each connection
//! sends its next request as soon as the previous answer is in (throughput, and latency at
//! saturation), or an open loop at a fixed rate (latency at a given load). It measures; it
//! asserts nothing about speed.
//!
//! Depends on: `std`, `tokio` (one current-thread runtime per run), `httparse`.
//!
//! Must not depend on: any workspace crate or HTTP client crate.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// How long one connect or one response may take before it counts as an error.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes read at a time.
const READ_CHUNK: usize = 16 * 1024;

/// One kind of request the benchmark sends. Add scenarios by pushing more of
/// these; headers are sent as given, after `Host`.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// A short label for reports.
    pub(crate) name: String,
    pub(crate) method: String,
    /// Path and query, starting with `/`.
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    /// A body, sent with its `Content-Length`.
    pub(crate) body: Option<String>,
}

/// A parsed response.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) status: u16,
    /// Header names as sent; compare them case-insensitively.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The server asked to close the connection after this response (or the body ran to
    /// the end of the connection).
    close: bool,
}

/// One blocking keep-alive connection, for the bench's setup requests.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    closed: bool,
}

/// How a run sends its requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Pace {
    /// A closed loop: each connection sends its next request as soon as the previous answer is
    /// in. The run measures throughput; its latency is the latency at saturation, about
    /// `connections / throughput` by Little's law, so it says as much about the machine as
    /// about the server.
    Saturate,
    /// An open loop: this many requests per second over all connections, released on a fixed
    /// schedule. A request's latency counts from the moment it was due, so the time it waits
    /// for a free connection (a server falling behind the schedule) is charged to it rather
    /// than hidden (no coordinated omission). Requests still due when the run ends are not
    /// sent, and their wait is not counted: a row whose requests per second fall short of the
    /// rate fell behind it, and its percentiles are then a floor.
    Rate(f64),
}

/// How often the open loop's pacer releases the requests that have fallen due while the
/// generator sleeps. A request may be released up to this much (plus the sleep's slack, about
/// as much again) after it was due; that wait counts in its latency, so the figures err on the
/// slow side. While the generator is awake, a connection that comes free releases what is due
/// itself ([`Schedule::next`]).
const PACER_TICK: Duration = Duration::from_micros(100);

/// The open loop's schedule: request `k` of a run is due `k / rate` seconds after its start.
struct Schedule {
    permits: tokio::sync::Semaphore,
    /// Requests released so far, by the pacer or by a connection.
    released: std::sync::atomic::AtomicU64,
    taken: std::sync::atomic::AtomicU64,
    start: Instant,
    /// Seconds between two requests.
    period: f64,
}

impl Schedule {
    fn new(rate: f64, start: Instant) -> Self {
        Self {
            permits: tokio::sync::Semaphore::new(0),
            released: std::sync::atomic::AtomicU64::new(0),
            taken: std::sync::atomic::AtomicU64::new(0),
            start,
            period: 1.0 / rate.max(f64::MIN_POSITIVE),
        }
    }

    /// Waits for the next request's turn and returns when it was due; `None` once the run is
    /// over. What has fallen due by now is released first: a connection that comes free while
    /// the generator is awake sends a due request at once instead of waiting for the pacer's
    /// next tick (a sleep of [`PACER_TICK`] lasts about twice that).
    async fn next(&self) -> Option<Instant> {
        self.release_due(Instant::now());
        self.permits.acquire().await.ok()?.forget();
        let k = self
            .taken
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(self.start + Duration::from_secs_f64(k as f64 * self.period))
    }

    /// Releases the requests due by `now` that nobody released yet; returns how many.
    fn release_due(&self, now: Instant) -> u64 {
        let due = (now.duration_since(self.start).as_secs_f64() / self.period) as u64 + 1;
        let before = self
            .released
            .fetch_max(due, std::sync::atomic::Ordering::Relaxed);
        let fresh = due.saturating_sub(before);
        if fresh > 0 {
            self.permits
                .add_permits(usize::try_from(fresh).unwrap_or(usize::MAX));
        }
        fresh
    }

    /// Releases each request when it falls due, on the calling thread, until `deadline`; then
    /// ends the run for every connection still waiting. It is what wakes the generator when
    /// nothing is in flight.
    fn release_until(&self, deadline: Instant) {
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            self.release_due(now);
            std::thread::sleep(PACER_TICK);
        }
        self.permits.close();
    }
}

/// What one run of a scenario measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stats {
    /// Responses with status 200.
    pub(crate) ok: u64,
    /// Other statuses, I/O failures and failed connects.
    pub(crate) errors: u64,
    /// Wall time of the run.
    pub(crate) elapsed: Duration,
    /// Latency of every completed response, in microseconds, sorted.
    pub(crate) latencies_us: Vec<u64>,
}

impl Scenario {
    /// A `GET` of `path` with no extra headers.
    pub(crate) fn get(name: &str, path: &str) -> Self {
        Self {
            name: name.to_string(),
            method: "GET".to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The request bytes, for a server at `addr`.
    pub(crate) fn encode(&self, addr: SocketAddr) -> Vec<u8> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: xtask-bench\r\nAccept: */*\r\n",
            self.method, self.path
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = self.body.as_deref().unwrap_or("");
        if self.body.is_some() || !matches!(self.method.as_str(), "GET" | "HEAD") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        bytes
    }
}

impl Response {
    /// Every value of header `name` (case-insensitive), in order.
    pub(crate) fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Connection {
    /// Opens a connection with read and write timeouts.
    pub(crate) fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(Self {
            stream,
            buffer: Vec::with_capacity(READ_CHUNK),
            closed: false,
        })
    }

    /// Sends one encoded request and reads its response.
    pub(crate) fn send(&mut self, request: &[u8]) -> io::Result<Response> {
        if self.closed {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the server closed this connection",
            ));
        }
        self.stream.write_all(request)?;
        loop {
            let mut chunk = [0u8; READ_CHUNK];
            let read = self.stream.read(&mut chunk)?;
            self.buffer.extend_from_slice(&chunk[..read]);
            if let Some((response, used)) = parse_response(&self.buffer, read == 0)? {
                self.buffer.drain(..used);
                self.closed = response.close;
                return Ok(response);
            }
            if read == 0 {
                return Err(eof());
            }
        }
    }
}

impl Stats {
    /// Successful requests per second.
    pub(crate) fn requests_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs <= 0.0 {
            return 0.0;
        }
        self.ok as f64 / secs
    }

    /// The `p`-th percentile latency in microseconds (nearest rank), 0 when
    /// nothing completed.
    pub(crate) fn percentile_us(&self, p: f64) -> u64 {
        let n = self.latencies_us.len();
        if n == 0 {
            return 0;
        }
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.latencies_us[rank.clamp(1, n) - 1]
    }
}

/// Sends `scenario` over `connections` keep-alive connections for `duration` in a closed loop
/// and merges what they measured.
pub(crate) fn run(
    addr: SocketAddr,
    scenario: &Scenario,
    connections: usize,
    duration: Duration,
) -> Stats {
    run_paced(addr, scenario, connections, duration, Pace::Saturate)
}

/// Sends `scenario` over `connections` keep-alive connections for `duration`, paced by
/// `pace`, and merges what they measured.
pub(crate) fn run_paced(
    addr: SocketAddr,
    scenario: &Scenario,
    connections: usize,
    duration: Duration,
    pace: Pace,
) -> Stats {
    let request: std::sync::Arc<[u8]> = scenario.encode(addr).into();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(_) => {
            return Stats {
                errors: 1,
                ..Stats::default()
            };
        }
    };
    let start = Instant::now();
    let deadline = start + duration;
    let schedule = match pace {
        Pace::Saturate => None,
        Pace::Rate(rate) => Some(std::sync::Arc::new(Schedule::new(rate, start))),
    };
    let pacer = schedule
        .clone()
        .map(|schedule| std::thread::spawn(move || schedule.release_until(deadline)));
    let per_connection: Vec<Stats> = runtime.block_on(async {
        let tasks: Vec<_> = (0..connections.max(1))
            .map(|_| tokio::spawn(worker(addr, request.clone(), deadline, schedule.clone())))
            .collect();
        let mut all = Vec::with_capacity(tasks.len());
        for task in tasks {
            all.push(task.await.unwrap_or(Stats {
                errors: 1,
                ..Stats::default()
            }));
        }
        all
    });
    if let Some(pacer) = pacer {
        let _ = pacer.join();
    }
    let mut total = Stats {
        elapsed: start.elapsed(),
        ..Stats::default()
    };
    for stats in per_connection {
        total.ok += stats.ok;
        total.errors += stats.errors;
        total.latencies_us.extend(stats.latencies_us);
    }
    total.latencies_us.sort_unstable();
    total
}

/// One connection's loop: wait for the request's turn (open loop only), connect when needed,
/// send, read the answer, record its latency from when it was due.
async fn worker(
    addr: SocketAddr,
    request: std::sync::Arc<[u8]>,
    deadline: Instant,
    schedule: Option<std::sync::Arc<Schedule>>,
) -> Stats {
    let mut stats = Stats::default();
    let mut stream: Option<tokio::net::TcpStream> = None;
    let mut buffer = Vec::with_capacity(READ_CHUNK);
    loop {
        let due = match &schedule {
            None => Instant::now(),
            Some(schedule) => match schedule.next().await {
                Some(due) => due,
                None => break,
            },
        };
        if Instant::now() >= deadline {
            break;
        }
        let conn = match stream.as_mut() {
            Some(conn) => conn,
            None => {
                match tokio::time::timeout(IO_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
                    Ok(Ok(conn)) => {
                        let _ = conn.set_nodelay(true);
                        buffer.clear();
                        stream.insert(conn)
                    }
                    _ => {
                        stats.errors += 1;
                        // Do not spin on a refusing server.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                }
            }
        };
        match tokio::time::timeout(IO_TIMEOUT, exchange(conn, &request, &mut buffer)).await {
            Ok(Ok((status, close))) => {
                let micros = u64::try_from(due.elapsed().as_micros()).unwrap_or(u64::MAX);
                stats.latencies_us.push(micros);
                if status == 200 {
                    stats.ok += 1;
                } else {
                    stats.errors += 1;
                }
                if close {
                    stream = None;
                }
            }
            _ => {
                stats.errors += 1;
                stream = None;
            }
        }
    }
    stats
}

/// Writes one request and reads its answer: the status and whether the server closes.
async fn exchange(
    stream: &mut tokio::net::TcpStream,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> io::Result<(u16, bool)> {
    stream.write_all(request).await?;
    loop {
        let read = stream.read_buf(buffer).await?;
        if let Some((head, used)) = parse_head(buffer, read == 0)? {
            buffer.drain(..used);
            return Ok((head.status, head.close));
        }
        if read == 0 {
            return Err(eof());
        }
        if buffer.capacity() - buffer.len() < READ_CHUNK / 4 {
            buffer.reserve(READ_CHUNK);
        }
    }
}

/// What a response's head says and where its body lies.
struct Head {
    status: u16,
    close: bool,
    headers: Vec<(String, String)>,
    /// Bytes of the head, up to and including the blank line.
    head_len: usize,
    body: Framing,
}

enum Framing {
    None,
    Length(usize),
    Chunked,
    /// No length: the body runs to the end of the connection.
    UntilClose,
}

/// Parses a complete response at the start of `buffer`: `None` until all of it is there.
/// `eof` says the connection has ended (a body without length then ends too).
fn parse_response(buffer: &[u8], eof: bool) -> io::Result<Option<(Response, usize)>> {
    let Some(head) = parse_framing(buffer, true)? else {
        return Ok(None);
    };
    let Some((body, used)) = body_of(&head, &buffer[head.head_len..], eof)? else {
        return Ok(None);
    };
    let close = head.close || matches!(head.body, Framing::UntilClose);
    Ok(Some((
        Response {
            status: head.status,
            headers: head.headers,
            body,
            close,
        },
        head.head_len + used,
    )))
}

/// [`parse_response`] without keeping headers or body: the load loop's path.
fn parse_head(buffer: &[u8], eof: bool) -> io::Result<Option<(Head, usize)>> {
    let Some(mut head) = parse_framing(buffer, false)? else {
        return Ok(None);
    };
    let Some((_, used)) = body_of(&head, &buffer[head.head_len..], eof)? else {
        return Ok(None);
    };
    head.close |= matches!(head.body, Framing::UntilClose);
    let total = head.head_len + used;
    Ok(Some((head, total)))
}

fn parse_framing(buffer: &[u8], keep_headers: bool) -> io::Result<Option<Head>> {
    let mut storage = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut storage);
    let head_len = match response.parse(buffer) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(invalid(format!("bad response head: {error}"))),
    };
    let status = response.code.unwrap_or(0);
    let mut close = false;
    let mut chunked = false;
    let mut length = None;
    let mut headers = Vec::new();
    for header in response.headers.iter() {
        let value = std::str::from_utf8(header.value)
            .map_err(|_| invalid(format!("header {} is not UTF-8", header.name)))?
            .trim();
        if header.name.eq_ignore_ascii_case("connection") {
            close |= value.to_ascii_lowercase().contains("close");
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked |= value.to_ascii_lowercase().contains("chunked");
        } else if header.name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| invalid(format!("bad Content-Length {value:?}")))?,
            );
        }
        if keep_headers {
            headers.push((header.name.to_string(), value.to_string()));
        }
    }
    let no_body = status / 100 == 1 || status == 204 || status == 304;
    let body = match (no_body, chunked, length) {
        (true, _, _) => Framing::None,
        (false, true, _) => Framing::Chunked,
        (false, false, Some(length)) => Framing::Length(length),
        (false, false, None) => Framing::UntilClose,
    };
    Ok(Some(Head {
        status,
        close,
        headers,
        head_len,
        body,
    }))
}

/// The decoded body at the start of `rest` and the bytes it took; `None` while incomplete.
fn body_of(head: &Head, rest: &[u8], eof: bool) -> io::Result<Option<(Vec<u8>, usize)>> {
    match head.body {
        Framing::None => Ok(Some((Vec::new(), 0))),
        Framing::Length(length) if rest.len() >= length => {
            Ok(Some((rest[..length].to_vec(), length)))
        }
        Framing::Length(_) => Ok(None),
        Framing::UntilClose if eof => Ok(Some((rest.to_vec(), rest.len()))),
        Framing::UntilClose => Ok(None),
        Framing::Chunked => dechunk(rest),
    }
}

/// A chunked body (and its trailers), decoded; `None` while incomplete.
fn dechunk(mut rest: &[u8]) -> io::Result<Option<(Vec<u8>, usize)>> {
    let mut body = Vec::new();
    let mut used = 0;
    loop {
        let (size_len, size) = match httparse::parse_chunk_size(rest) {
            Ok(httparse::Status::Complete(found)) => found,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(invalid("bad chunk size".to_string())),
        };
        let size = usize::try_from(size).map_err(|_| invalid("chunk too large".to_string()))?;
        rest = &rest[size_len..];
        used += size_len;
        if size == 0 {
            // Trailers, then the blank line.
            loop {
                let Some(end) = rest.windows(2).position(|pair| pair == b"\r\n") else {
                    return Ok(None);
                };
                rest = &rest[end + 2..];
                used += end + 2;
                if end == 0 {
                    return Ok(Some((body, used)));
                }
            }
        }
        if rest.len() < size + 2 {
            return Ok(None);
        }
        if &rest[size..size + 2] != b"\r\n" {
            return Err(invalid("chunk not followed by CRLF".to_string()));
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
        used += size + 2;
    }
}

fn eof() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed")
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests;
