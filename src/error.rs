//! The error type of the core: a kind (what went wrong, in terms a caller can act on), a message
//! that never contains the API token, and what is known of the HTTP exchange.

use std::ffi::CStr;
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
    /// A picture's link has expired: its `oe=` time is past (it was not even asked), or the CDN
    /// answered 403, 404 or 410 for it. Ask GetAvatar again for a fresh link.
    Expired,
}

/// What each layer calls a kind: the one table the C codes, their descriptions and the Python
/// exceptions are read from. A new kind is a new row (and a new `GA_*` constant, appended).
pub(crate) struct KindInfo {
    pub(crate) kind: ErrorKind,
    /// The C `ga_code` (`src/ffi/code.rs` says what each number promises).
    pub(crate) c_code: u32,
    /// [`ErrorKind::description`], also what `ga_code_str` returns.
    pub(crate) description: &'static CStr,
    /// The exception class in `greenapi._errors`.
    #[cfg_attr(not(feature = "python"), allow(dead_code))]
    pub(crate) python_class: &'static str,
    /// The exception's `code` attribute.
    #[cfg_attr(not(feature = "python"), allow(dead_code))]
    pub(crate) python_code: &'static str,
}

const fn row(
    kind: ErrorKind,
    c_code: u32,
    description: &'static CStr,
    python_class: &'static str,
    python_code: &'static str,
) -> KindInfo {
    KindInfo {
        kind,
        c_code,
        description,
        python_class,
        python_code,
    }
}

/// In the order of [`ErrorKind`]'s variants (checked below, at compile time).
#[rustfmt::skip]
pub(crate) const KINDS: [KindInfo; 16] = {
    use crate::ffi::code::*;
    use ErrorKind as K;
    [
        row(K::InvalidArgument, GA_INVALID_ARGUMENT, c"invalid argument", "InvalidArgumentError", "invalid_argument"),
        row(K::Timeout, GA_TIMEOUT, c"timed out", "TimeoutError", "timeout"),
        row(K::Network, GA_NETWORK, c"network error", "TransportError", "network"),
        row(K::Tls, GA_TLS, c"TLS error", "TransportError", "tls"),
        row(K::BadRequest, GA_BAD_REQUEST, c"bad request (HTTP 400)", "BadRequestError", "bad_request"),
        row(K::Unauthorized, GA_UNAUTHORIZED, c"unauthorized: wrong apiTokenInstance (HTTP 401)", "AuthError", "unauthorized"),
        row(K::Forbidden, GA_FORBIDDEN, c"forbidden: wrong idInstance or URL (HTTP 403)", "AuthError", "forbidden"),
        row(K::NotFound, GA_NOT_FOUND, c"not found: wrong method or path (HTTP 404)", "NotFoundError", "not_found"),
        row(K::RateLimited, GA_RATE_LIMITED, c"rate limited (HTTP 429)", "RateLimitedError", "rate_limited"),
        row(K::QuotaExceeded, GA_QUOTA_EXCEEDED, c"quota exceeded (HTTP 466)", "QuotaExceededError", "quota_exceeded"),
        row(K::ServerError, GA_SERVER_ERROR, c"server error (HTTP 5xx)", "ServerError", "server_error"),
        row(K::HttpStatus, GA_HTTP_STATUS, c"unexpected HTTP status", "HttpStatusError", "http_status"),
        row(K::BadResponse, GA_BAD_RESPONSE, c"bad response: not a GetAvatar answer", "BadResponseError", "bad_response"),
        row(K::BodyTooLarge, GA_BODY_TOO_LARGE, c"response body too large", "BadResponseError", "body_too_large"),
        row(K::Cancelled, GA_CANCELLED, c"cancelled", "CancelledError", "cancelled"),
        row(K::Expired, GA_EXPIRED, c"the picture's link has expired: ask GetAvatar again", "ExpiredError", "expired"),
    ]
};

const _: () = {
    let mut i = 0;
    while i < KINDS.len() {
        assert!(
            KINDS[i].kind as usize == i,
            "KINDS is in the order of ErrorKind"
        );
        i += 1;
    }
};

impl ErrorKind {
    /// What each layer calls this kind.
    pub(crate) fn info(self) -> &'static KindInfo {
        &KINDS[self as usize]
    }

    /// A short static description, the same text the C API's `ga_code_str` returns.
    pub fn description(self) -> &'static str {
        // Every description is a literal in KINDS, ASCII.
        self.info().description.to_str().unwrap_or("")
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
