//! Reading a request body within bounds: its size (decoded, whatever the framing), its
//! deadline, and a refusal the client can read.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use http_body_util::combinators::BoxBody;
use poem::http::{StatusCode, header};

use crate::error::ApiError;

/// After a body turns out too large, up to this much more is read and dropped before the 413,
/// so that a client still writing (Node's `fetch`, curl, browsers) reads the answer instead of
/// a broken pipe.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;
/// ...for at most this long.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Reads `body` whole, refusing one larger than `limit` bytes once decoded (chunked bodies
/// included) with `413`, and one that does not arrive in time with `408`. `declared` is the
/// `Content-Length`, and `expects_continue` whether the client waits for `100 Continue` before
/// sending: a body declared too large is then refused unread.
pub(crate) async fn read_limited(
    body: poem::Body,
    limit: usize,
    declared: Option<u64>,
    expects_continue: bool,
) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("Request body is larger than {limit} bytes"),
        )
    };
    let declared_too_large = declared.is_some_and(|length| length > limit as u64);
    if declared_too_large && expects_continue {
        // The client has sent nothing yet and waits for our word: refuse before it does.
        return Err(closing(too_large()));
    }
    let mut body = BoxBody::<Bytes, io::Error>::from(body);
    let mut bytes = Vec::with_capacity(
        declared.map_or(0, |length| usize::try_from(length).unwrap_or(0).min(limit)),
    );
    while let Some(frame) = body.frame().await {
        let data = match frame {
            Ok(frame) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
            Err(error) => return Err(read_error(&error)),
        };
        if bytes.len() + data.len() > limit {
            return Err(match drain(body).await {
                Drained::Whole => too_large(),
                Drained::Cut => closing(too_large()),
            });
        }
        bytes.extend_from_slice(&data);
    }
    Ok(bytes)
}

/// How a too-large body ended.
enum Drained {
    /// It was read to its end: the connection can serve another request.
    Whole,
    /// It was cut off: the connection must close after the answer.
    Cut,
}

async fn drain(mut body: BoxBody<Bytes, io::Error>) -> Drained {
    let read = async {
        let mut dropped = 0_usize;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return Drained::Cut;
            };
            if let Ok(data) = frame.into_data() {
                dropped += data.len();
                if dropped > DRAIN_LIMIT {
                    return Drained::Cut;
                }
            }
        }
        Drained::Whole
    };
    tokio::time::timeout(DRAIN_TIME, read)
        .await
        .unwrap_or(Drained::Cut)
}

fn read_error(error: &io::Error) -> ApiError {
    if error.kind() == io::ErrorKind::TimedOut {
        return closing(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "REQUEST_TIMEOUT",
            "The request body was not received in time",
        ));
    }
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
        "Could not read the request body",
    )
}

/// The error, answered with `Connection: close` (the body was not read to its end).
fn closing(mut error: ApiError) -> ApiError {
    error.headers.push((header::CONNECTION, "close".to_owned()));
    error
}
