//! Core errors as instances of the exception classes of `greenapi/_errors.py`.

use pyo3::prelude::*;

use crate::Error;

/// Where the exception classes live.
const ERRORS_MODULE: &str = "greenapi._errors";

pub(crate) fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    let info = e.kind().info();
    raise(
        py,
        info.python_class,
        info.python_code,
        e.message(),
        e.http_status(),
        e.attempts(),
    )
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
