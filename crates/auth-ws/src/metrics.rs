//! The sockets' metrics: `auth_ws_connections` (open now), `auth_ws_opened_total`,
//! `auth_ws_closed_total{reason}`, `auth_ws_messages_total{direction}` and
//! `auth_ws_refused_total{reason}`. Every label is one of a fixed set.

use crate::hub::CloseReason;

/// Why an upgrade was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    InvalidTicket,
    Unauthorized,
    InvalidOrigin,
    TooManyConnections,
    NotAnUpgrade,
    RateLimited,
}

impl Refusal {
    const ALL: [Self; 6] = [
        Self::InvalidTicket,
        Self::Unauthorized,
        Self::InvalidOrigin,
        Self::TooManyConnections,
        Self::NotAnUpgrade,
        Self::RateLimited,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::InvalidTicket => "invalid_ticket",
            Self::Unauthorized => "unauthorized",
            Self::InvalidOrigin => "invalid_origin",
            Self::TooManyConnections => "too_many_connections",
            Self::NotAnUpgrade => "not_an_upgrade",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// How a socket ended: closed by the server for a [`CloseReason`], or otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The server closed it, for this reason.
    Closed(CloseReason),
    /// The client closed it, or the connection broke.
    ByClient,
    /// The application's handler finished (a normal close, 1000).
    ByApplication,
    /// A message over the size limit (1009).
    TooBig,
}

impl Ended {
    fn label(self) -> &'static str {
        match self {
            Self::Closed(reason) => reason.label(),
            Self::ByClient => "client",
            Self::ByApplication => "application",
            Self::TooBig => "message_too_big",
        }
    }
}

/// Creates every series at zero, so that a dashboard shows them from the first scrape.
pub fn register() {
    metrics::gauge!("auth_ws_connections").increment(0.0);
    metrics::counter!("auth_ws_opened_total").increment(0);
    let ended = CloseReason::ALL.into_iter().map(Ended::Closed).chain([
        Ended::ByClient,
        Ended::ByApplication,
        Ended::TooBig,
    ]);
    for end in ended {
        metrics::counter!("auth_ws_closed_total", "reason" => end.label()).increment(0);
    }
    for direction in ["in", "out"] {
        metrics::counter!("auth_ws_messages_total", "direction" => direction).increment(0);
    }
    for refusal in Refusal::ALL {
        metrics::counter!("auth_ws_refused_total", "reason" => refusal.label()).increment(0);
    }
}

pub(crate) fn refused(refusal: Refusal) {
    metrics::counter!("auth_ws_refused_total", "reason" => refusal.label()).increment(1);
}

pub(crate) fn opened() {
    metrics::counter!("auth_ws_opened_total").increment(1);
    metrics::gauge!("auth_ws_connections").increment(1.0);
}

pub(crate) fn ended(end: Ended) {
    metrics::counter!("auth_ws_closed_total", "reason" => end.label()).increment(1);
    metrics::gauge!("auth_ws_connections").decrement(1.0);
}

pub(crate) fn message(incoming: bool) {
    let direction = if incoming { "in" } else { "out" };
    metrics::counter!("auth_ws_messages_total", "direction" => direction).increment(1);
}
