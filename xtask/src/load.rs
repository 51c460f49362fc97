//! A small HTTP/1.1 load generator in plain `std`, used by `cargo xtask
//! bench`: one thread per keep-alive connection, requests written by hand,
//! responses read as headers up to the blank line and then `Content-Length`
//! bytes (chunked bodies are understood too). Any status other than 200
//! counts as an error. It measures; it asserts nothing about speed.
//!
//! Depends on: `std` only.
//!
//! Must not depend on: any workspace crate, any async runtime or HTTP crate.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long one connect or one response may take before it counts as an error.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// The server asked to close the connection after this response.
    close: bool,
}

/// One keep-alive connection.
#[derive(Debug)]
pub(crate) struct Connection {
    reader: BufReader<TcpStream>,
    closed: bool,
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
            reader: BufReader::new(stream),
            closed: false,
        })
    }

    /// Sends one encoded request and reads its response.
    pub(crate) fn send(&mut self, request: &[u8]) -> io::Result<Response> {
        self.reader.get_mut().write_all(request)?;
        let response = read_response(&mut self.reader)?;
        self.closed = response.close;
        Ok(response)
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

/// Sends `scenario` from `connections` threads for `duration` and merges
/// what they measured.
pub(crate) fn run(
    addr: SocketAddr,
    scenario: &Scenario,
    connections: usize,
    duration: Duration,
) -> Stats {
    let request = scenario.encode(addr);
    let start = Instant::now();
    let deadline = start + duration;
    let per_thread: Vec<Stats> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..connections.max(1))
            .map(|_| scope.spawn(|| worker(addr, &request, deadline)))
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle.join() {
                Ok(stats) => stats,
                Err(_) => Stats {
                    errors: 1,
                    ..Stats::default()
                },
            })
            .collect()
    });
    let mut total = Stats {
        elapsed: start.elapsed(),
        ..Stats::default()
    };
    for stats in per_thread {
        total.ok += stats.ok;
        total.errors += stats.errors;
        total.latencies_us.extend(stats.latencies_us);
    }
    total.latencies_us.sort_unstable();
    total
}

fn worker(addr: SocketAddr, request: &[u8], deadline: Instant) -> Stats {
    let mut stats = Stats::default();
    let mut connection: Option<Connection> = None;
    while Instant::now() < deadline {
        let conn = match connection.as_mut() {
            Some(conn) => conn,
            None => match Connection::connect(addr) {
                Ok(conn) => connection.insert(conn),
                Err(_) => {
                    stats.errors += 1;
                    // Do not spin on a refusing server.
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            },
        };
        let sent = Instant::now();
        match conn.send(request) {
            Ok(response) => {
                let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                stats.latencies_us.push(micros);
                if response.status == 200 {
                    stats.ok += 1;
                } else {
                    stats.errors += 1;
                }
                if conn.closed {
                    connection = None;
                }
            }
            Err(_) => {
                stats.errors += 1;
                connection = None;
            }
        }
    }
    stats
}

fn read_response(reader: &mut BufReader<TcpStream>) -> io::Result<Response> {
    let status_line = read_line(reader)?;
    let status = parse_status(&status_line)?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(invalid(format!("malformed header line {line:?}")));
        };
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let find = |wanted: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(wanted))
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let close = find("connection").is_some_and(|v| v.contains("close"));
    let chunked = find("transfer-encoding").is_some_and(|v| v.contains("chunked"));
    let length = find("content-length");
    let no_body = status / 100 == 1 || status == 204 || status == 304;
    let until_close = !no_body && !chunked && length.is_none();
    let body = if no_body {
        Vec::new()
    } else if chunked {
        read_chunked(reader)?
    } else if let Some(length) = length {
        let length: usize = length
            .parse()
            .map_err(|_| invalid(format!("bad Content-Length {length:?}")))?;
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        body
    } else {
        // No length: the body runs to the end of the connection.
        let mut body = Vec::new();
        reader.read_to_end(&mut body)?;
        body
    };
    let close = close || until_close;
    Ok(Response {
        status,
        headers,
        body,
        close,
    })
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?;
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            // Trailers, then the blank line.
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        if !read_line(reader)?.is_empty() {
            return Err(invalid("chunk not followed by CRLF".to_string()));
        }
    }
}

/// One line without its CRLF; end of stream is an error.
fn read_line(reader: &mut BufReader<TcpStream>) -> io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    while line.ends_with(['\r', '\n']) {
        line.pop();
    }
    Ok(line)
}

fn parse_status(line: &str) -> io::Result<u16> {
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => code
            .parse()
            .map_err(|_| invalid(format!("bad status line {line:?}"))),
        _ => Err(invalid(format!("bad status line {line:?}"))),
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests;
