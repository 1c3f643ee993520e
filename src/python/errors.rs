//! Core errors as instances of the exception classes of `greenapi/_errors.py`.

use pyo3::prelude::*;

use crate::{Error, ErrorKind};

/// Where the exception classes live.
const ERRORS_MODULE: &str = "greenapi._errors";

/// The exception class and `code` of each kind.
fn class_and_code(kind: ErrorKind) -> (&'static str, &'static str) {
    match kind {
        ErrorKind::InvalidArgument => ("InvalidArgumentError", "invalid_argument"),
        ErrorKind::Timeout => ("TimeoutError", "timeout"),
        ErrorKind::Network => ("TransportError", "network"),
        ErrorKind::Tls => ("TransportError", "tls"),
        ErrorKind::BadRequest => ("BadRequestError", "bad_request"),
        ErrorKind::Unauthorized => ("AuthError", "unauthorized"),
        ErrorKind::Forbidden => ("AuthError", "forbidden"),
        ErrorKind::NotFound => ("NotFoundError", "not_found"),
        ErrorKind::RateLimited => ("RateLimitedError", "rate_limited"),
        ErrorKind::QuotaExceeded => ("QuotaExceededError", "quota_exceeded"),
        ErrorKind::ServerError => ("ServerError", "server_error"),
        ErrorKind::HttpStatus => ("HttpStatusError", "http_status"),
        ErrorKind::BadResponse => ("BadResponseError", "bad_response"),
        ErrorKind::BodyTooLarge => ("BadResponseError", "body_too_large"),
        ErrorKind::Cancelled => ("CancelledError", "cancelled"),
    }
}

pub(crate) fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    let (class, code) = class_and_code(e.kind());
    raise(py, class, code, e.message(), e.http_status(), e.attempts())
}

/// An instance of `greenapi._errors.<class>(message, code, http_status, attempts)`.
pub(crate) fn raise(
    py: Python<'_>,
    class: &str,
    code: &str,
    message: &str,
    http_status: Option<u16>,
    attempts: u32,
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let cls = py.import(ERRORS_MODULE)?.getattr(class)?;
        let exc = cls.call1((message, code, http_status, attempts))?;
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

pub(crate) fn invalid(py: Python<'_>, message: &str) -> PyErr {
    raise(
        py,
        "InvalidArgumentError",
        "invalid_argument",
        message,
        None,
        0,
    )
}
