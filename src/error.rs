//! The error type of the core: a kind (what went wrong, in terms a caller can act on), a message
//! that never contains the API token, and what is known of the HTTP exchange.

use std::fmt;

/// Why a GetAvatar call did not produce an answer.
///
/// Each kind maps one-to-one onto a C `ga_code` and a Python exception class, so a new kind is a
/// new public contract: add, never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An argument or option was refused before anything was sent.
    InvalidArgument,
    /// An attempt took longer than the configured timeout.
    Timeout,
    /// DNS failure, connection refused or reset, a body cut off, or bytes that are not HTTP.
    Network,
    /// The TLS handshake failed (certificate not trusted, protocol error).
    Tls,
    /// HTTP 400.
    BadRequest,
    /// HTTP 401: wrong apiTokenInstance.
    Unauthorized,
    /// HTTP 403: wrong idInstance or URL.
    Forbidden,
    /// HTTP 404: wrong method or path.
    NotFound,
    /// HTTP 429, still after every retry.
    RateLimited,
    /// HTTP 466: the plan's quota is used up.
    QuotaExceeded,
    /// HTTP 5xx, still after every retry.
    ServerError,
    /// Any other status that is not 200, redirects included (they are never followed).
    HttpStatus,
    /// HTTP 200 whose body is not a GetAvatar JSON object.
    BadResponse,
    /// The body was larger than `max_body_bytes`; reading stopped at the limit.
    BodyTooLarge,
    /// The call was stopped before it had an answer: the client was shut down (before or during
    /// the call), or the caller's interrupt check asked to stop.
    Cancelled,
}

impl ErrorKind {
    /// A short static description, the same text the C API's `ga_code_str` returns.
    pub fn description(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Network => "network error",
            ErrorKind::Tls => "TLS error",
            ErrorKind::BadRequest => "bad request (HTTP 400)",
            ErrorKind::Unauthorized => "unauthorized: wrong apiTokenInstance (HTTP 401)",
            ErrorKind::Forbidden => "forbidden: wrong idInstance or URL (HTTP 403)",
            ErrorKind::NotFound => "not found: wrong method or path (HTTP 404)",
            ErrorKind::RateLimited => "rate limited (HTTP 429)",
            ErrorKind::QuotaExceeded => "quota exceeded (HTTP 466)",
            ErrorKind::ServerError => "server error (HTTP 5xx)",
            ErrorKind::HttpStatus => "unexpected HTTP status",
            ErrorKind::BadResponse => "bad response: not a GetAvatar answer",
            ErrorKind::BodyTooLarge => "response body too large",
            ErrorKind::Cancelled => "cancelled",
        }
    }

    /// The kind an HTTP status other than 200 maps to.
    pub(crate) fn from_status(status: u16) -> ErrorKind {
        match status {
            400 => ErrorKind::BadRequest,
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            429 => ErrorKind::RateLimited,
            466 => ErrorKind::QuotaExceeded,
            500..=599 => ErrorKind::ServerError,
            _ => ErrorKind::HttpStatus,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// A failed GetAvatar call or a refused client configuration.
///
/// The message is built by this crate and scrubbed of the token, including any text copied from
/// a server body, so it is safe to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    http_status: Option<u16>,
    attempts: u32,
}

/// The longest message, in bytes. Server text is cut shorter where it is copied in; this bound
/// holds for every message whatever it is built from.
pub const MAX_MESSAGE_BYTES: usize = 512;

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        let mut message = message.into();
        if message.len() > MAX_MESSAGE_BYTES {
            let mut end = MAX_MESSAGE_BYTES - 3;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push_str("...");
        }
        Error {
            kind,
            message,
            http_status: None,
            attempts: 0,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub(crate) fn with_status(mut self, status: u16) -> Error {
        self.http_status = Some(status);
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Error {
        self.attempts = attempts;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// A readable explanation; never contains the token.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The status of the last HTTP response, if one arrived.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// HTTP attempts made (0 when the call was refused before sending anything).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
