//! One event: its kind, level and fields, and the one-line message made from them.

use std::fmt::Write as _;

use super::Level;

/// The request URL as events show it: never with the token.
pub const URL_TEMPLATE: &str = "/waInstance{idInstance}/getAvatar/{apiTokenInstance}";

/// What happened. The numbers are the C `GA_EVENT_*` codes: never renumbered, only appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum EventKind {
    /// A request went out (debug): `attempt`, `connection_reused`.
    RequestSent = 1,
    /// A request's answer arrived, or the request failed (debug for a 200, info otherwise):
    /// `attempt`, `status` (0: no answer), `error_type`, `duration_ms` (sent to answered),
    /// `connection_reused`, `tls_resumed` (for a connection opened by this attempt).
    RequestAnswered = 2,
    /// A failed attempt is retried (info): `attempt` (the one that failed), `error_type`
    /// (why), `status`, `duration_ms` (the backoff).
    Retry = 3,
    /// A call waited for its pacing turn (debug): `duration_ms`.
    PacingWait = 4,
    /// The service asked for a pause (`Retry-After`) that holds back every thread's next turn
    /// (info): `duration_ms` (the pause, cut to 10 s), `status`.
    Pause = 5,
    /// A 429 came back although pacing held: every client on the pacing slows down (warning):
    /// `rate_per_sec` (the rate now).
    SlowDown = 6,
    /// The rate came back a step after a slow-down (info): `rate_per_sec` (the rate now).
    Recovered = 7,
    /// A request that died with a pooled connection is sent again, free (debug): `attempt`.
    StaleResend = 8,
    /// A connection was opened (debug): `tls_resumed` for TLS.
    ConnectionOpened = 9,
    /// A connection was closed (debug).
    ConnectionClosed = 10,
    /// The client noticed it runs in a forked child: fresh connections and pacing (info).
    ForkNoticed = 11,
    /// The pacing in force changed (warning when Redis was lost, info when it is back):
    /// `pacing` (the one in force now).
    PacingSwitched = 12,
    /// A batch started (info): `count` (ids).
    BatchStarted = 13,
    /// A batch finished (info): `count` (ids answered), `failed`. Reserved: not sent yet (the
    /// batch machinery is being replaced; the dispatcher will send it).
    BatchFinished = 14,
}

impl EventKind {
    /// Every kind, in the order of their numbers.
    pub const ALL: [EventKind; 14] = [
        EventKind::RequestSent,
        EventKind::RequestAnswered,
        EventKind::Retry,
        EventKind::PacingWait,
        EventKind::Pause,
        EventKind::SlowDown,
        EventKind::Recovered,
        EventKind::StaleResend,
        EventKind::ConnectionOpened,
        EventKind::ConnectionClosed,
        EventKind::ForkNoticed,
        EventKind::PacingSwitched,
        EventKind::BatchStarted,
        EventKind::BatchFinished,
    ];

    /// The event's name: `"request.sent"`, `"retry"`, ...
    pub fn name(self) -> &'static str {
        match self {
            EventKind::RequestSent => "request.sent",
            EventKind::RequestAnswered => "request.answered",
            EventKind::Retry => "retry",
            EventKind::PacingWait => "pacing.wait",
            EventKind::Pause => "pacing.pause",
            EventKind::SlowDown => "pacing.slow_down",
            EventKind::Recovered => "pacing.recovered",
            EventKind::StaleResend => "request.stale_resend",
            EventKind::ConnectionOpened => "connection.opened",
            EventKind::ConnectionClosed => "connection.closed",
            EventKind::ForkNoticed => "fork.noticed",
            EventKind::PacingSwitched => "pacing.switched",
            EventKind::BatchStarted => "batch.started",
            EventKind::BatchFinished => "batch.finished",
        }
    }

    /// The usual level of the kind (a request answered other than 200 is info, Redis back is
    /// info: see [`EventKind`]).
    pub fn level(self) -> Level {
        match self {
            EventKind::RequestSent
            | EventKind::RequestAnswered
            | EventKind::PacingWait
            | EventKind::StaleResend
            | EventKind::ConnectionOpened
            | EventKind::ConnectionClosed => Level::Debug,
            EventKind::Retry
            | EventKind::Pause
            | EventKind::Recovered
            | EventKind::ForkNoticed
            | EventKind::BatchStarted
            | EventKind::BatchFinished => Level::Info,
            EventKind::SlowDown | EventKind::PacingSwitched => Level::Warning,
        }
    }
}

/// One event. The field names in the docs are OpenTelemetry's HTTP client conventions where
/// one exists (Python's `extra` uses them). A field that does not apply is 0 or `None`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Event<'a> {
    /// What happened.
    pub kind: EventKind,
    /// How much it matters: debug, info or warning.
    pub level: Level,
    /// `server.address`: the host the client calls (not a proxy's).
    pub server_address: &'a str,
    /// `server.port`.
    pub server_port: u16,
    /// The attempt of the call, from 1 (`http.request.resend_count` is `attempt - 1`).
    pub attempt: u32,
    /// `http.response.status_code`; 0: none.
    pub status: u16,
    /// `error.type`: the error's kind as Python's `code` names it (`"timeout"`,
    /// `"server_error"`, ...).
    pub error_type: Option<&'static str>,
    /// Milliseconds: on the wire, of the backoff, of the wait or of the pause (see the kind).
    pub duration_ms: f64,
    /// Whether the request went on a connection that had answered before.
    pub connection_reused: Option<bool>,
    /// For a TLS connection opened by this attempt: whether its session was resumed.
    pub tls_resumed: Option<bool>,
    /// Requests per second in force now (slow-down and recovery).
    pub rate_per_sec: f64,
    /// The pacing in force now: `"host"`, `"process"` or `"redis"`.
    pub pacing: Option<&'static str>,
    /// A batch's ids (started) or answers (finished).
    pub count: u64,
    /// A finished batch's failures.
    pub failed: u64,
}

impl<'a> Event<'a> {
    pub(crate) fn new(
        kind: EventKind,
        level: Level,
        server_address: &'a str,
        server_port: u16,
    ) -> Self {
        Event {
            kind,
            level,
            server_address,
            server_port,
            attempt: 0,
            status: 0,
            error_type: None,
            duration_ms: 0.0,
            connection_reused: None,
            tls_resumed: None,
            rate_per_sec: 0.0,
            pacing: None,
            count: 0,
            failed: 0,
        }
    }

    /// `http.request.method`: always `POST`.
    pub fn method(&self) -> &'static str {
        "POST"
    }

    /// `url.template`: [`URL_TEMPLATE`].
    pub fn url_template(&self) -> &'static str {
        URL_TEMPLATE
    }

    /// One line that says it, from the fields alone (so it cannot hold the token).
    pub fn message(&self) -> String {
        let mut m = String::from(self.kind.name());
        let host = format!("{}:{}", self.server_address, self.server_port);
        let _ = match self.kind {
            EventKind::RequestSent => write!(
                m,
                ": POST {host}{URL_TEMPLATE} attempt {}{}",
                self.attempt,
                reused(self.connection_reused)
            ),
            EventKind::RequestAnswered => {
                let what = match (self.status, self.error_type) {
                    (0, Some(e)) => e.to_string(),
                    (0, None) => "no answer".to_string(),
                    (s, _) => format!("HTTP {s}"),
                };
                write!(
                    m,
                    ": {what} in {:.1} ms, attempt {}{}{}",
                    self.duration_ms,
                    self.attempt,
                    reused(self.connection_reused),
                    match self.tls_resumed {
                        Some(true) => ", TLS resumed",
                        Some(false) => ", TLS full handshake",
                        None => "",
                    }
                )
            }
            EventKind::Retry => write!(
                m,
                ": attempt {} failed ({}), next in {:.0} ms",
                self.attempt,
                self.error_type.unwrap_or("?"),
                self.duration_ms
            ),
            EventKind::PacingWait => write!(m, ": {:.1} ms for a turn", self.duration_ms),
            EventKind::Pause => write!(
                m,
                ": the service asked for {:.0} ms (Retry-After)",
                self.duration_ms
            ),
            EventKind::SlowDown => write!(
                m,
                ": 429 although paced, {:.2} requests/s now",
                self.rate_per_sec
            ),
            EventKind::Recovered => write!(m, ": {:.2} requests/s now", self.rate_per_sec),
            EventKind::StaleResend => write!(
                m,
                ": pooled connection was closed, attempt {} sent again",
                self.attempt
            ),
            EventKind::ConnectionOpened => write!(
                m,
                ": {host}{}",
                match self.tls_resumed {
                    Some(true) => ", TLS resumed",
                    Some(false) => ", TLS full handshake",
                    None => "",
                }
            ),
            EventKind::ConnectionClosed => write!(m, ": {host}"),
            EventKind::ForkNoticed => write!(m, ": fresh connections and pacing in the child"),
            EventKind::PacingSwitched => {
                write!(m, ": {} in force now", self.pacing.unwrap_or("?"))
            }
            EventKind::BatchStarted => write!(m, ": {} ids", self.count),
            EventKind::BatchFinished => {
                write!(m, ": {} answered, {} failed", self.count, self.failed)
            }
        };
        m
    }
}

fn reused(r: Option<bool>) -> &'static str {
    match r {
        Some(true) => ", reused connection",
        Some(false) => ", new connection",
        None => "",
    }
}
