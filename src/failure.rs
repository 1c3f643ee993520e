//! What a failed attempt means: the error a caller sees and whether another attempt may help.
//! Every message names what was configured (a timeout, the host) and carries no token.

use std::time::Duration;

use ureq::Error as U;

use crate::error::{Error, ErrorKind};
use crate::secret::Secret;
use crate::{proxy, tls};

/// What one attempt produced, before the retry decision.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) retryable: bool,
    /// The server's `Retry-After`, if it sent one.
    pub(crate) retry_after: Option<Duration>,
}

/// What a transport failure's message may name: the client's settings, and the token to keep
/// out of it.
pub(crate) struct Setting<'a> {
    pub(crate) secret: &'a Secret,
    pub(crate) host: &'a str,
    pub(crate) proxy: Option<&'a ureq::Proxy>,
    pub(crate) max_body_bytes: u64,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
}

/// A failure of the exchange itself (no status, or a body that could not be read).
pub(crate) fn from_transport(e: U, s: &Setting<'_>) -> Failure {
    if let Some((kind, message, retryable)) =
        proxy::explain(&e, s.proxy).or_else(|| tls::explain(&e))
    {
        return Failure {
            error: Error::new(kind, s.secret.scrub(&message)),
            retryable,
            retry_after: None,
        };
    }
    let kind = kind_of(&e);
    let retryable = matches!(kind, ErrorKind::Timeout | ErrorKind::Network);
    Failure {
        error: Error::new(kind, message(&e, kind, s)),
        retryable,
        retry_after: None,
    }
}

fn kind_of(e: &U) -> ErrorKind {
    match e {
        U::Timeout(_) => ErrorKind::Timeout,
        U::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => ErrorKind::Timeout,
        // ureq's rustls transport reports handshake failures as io::Error around them.
        U::Io(io)
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>()) =>
        {
            ErrorKind::Tls
        }
        U::BodyExceedsLimit(_) => ErrorKind::BodyTooLarge,
        U::Tls(_) | U::Rustls(_) | U::Pem(_) | U::TlsRequired => ErrorKind::Tls,
        _ => ErrorKind::Network,
    }
}

fn message(e: &U, kind: ErrorKind, s: &Setting<'_>) -> String {
    match (e, kind) {
        (_, ErrorKind::BodyTooLarge) => format!(
            "the response body is larger than max_body_bytes ({} bytes); reading stopped there",
            s.max_body_bytes
        ),
        (U::Timeout(ureq::Timeout::Connect), _) => format!(
            "timed out: no connection within connect_timeout ({} ms)",
            s.connect_timeout.as_millis()
        ),
        (_, ErrorKind::Timeout) => format!(
            "timed out: no complete answer within timeout ({} ms)",
            s.timeout.as_millis()
        ),
        (U::Io(io), _) => format!("{}: {}", kind.description(), s.secret.scrub(&io_text(io))),
        (U::HostNotFound, _) => format!("{}: host not found: {}", kind.description(), s.host),
        (U::Protocol(p), _) => format!(
            "{}: the answer is not valid HTTP/1.1 ({})",
            kind.description(),
            s.secret.scrub(&p.to_string())
        ),
        _ => format!("{}: {}", kind.description(), s.secret.scrub(&e.to_string())),
    }
}

/// An I/O error as a person reads it: the system's text without its `(os error N)` suffix.
fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if text.ends_with(')') => text[..i].to_string(),
        _ => text,
    }
}
