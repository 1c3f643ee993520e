//! The Python module `greenapi._native`: a thin translation of the core for Python.
//!
//! Python values are turned into owned Rust values first, then every call into the core runs
//! with the GIL released ([`Python::detach`]) and inside `catch_unwind`, so threads sharing one
//! `Client` run in parallel and a panic becomes an exception, never an abort.
//!
//! The exception classes are plain Python (multiple inheritance: `InvalidArgumentError` is also
//! a `ValueError`, `TimeoutError` also the builtin one) in `greenapi/_errors.py`; this module
//! looks them up there when it raises.

use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};

use crate::{Avatar, Client, Error, ErrorKind, Options};

/// Where the exception classes live.
const ERRORS_MODULE: &str = "greenapi._errors";

/// The answer of GetAvatar: immutable, equal and hashable by value.
#[pyclass(name = "Avatar", module = "greenapi", frozen, eq, hash, get_all)]
#[derive(PartialEq, Eq, Hash)]
struct PyAvatar {
    exists_whatsapp: Option<bool>,
    available: Option<bool>,
    url_avatar: String,
    reason: Option<String>,
    http_status: u16,
    attempts: u32,
}

impl From<Avatar> for PyAvatar {
    fn from(a: Avatar) -> PyAvatar {
        PyAvatar {
            exists_whatsapp: a.exists_whatsapp,
            available: a.available,
            url_avatar: a.url_avatar,
            reason: a.reason,
            http_status: a.http_status,
            attempts: a.attempts,
        }
    }
}

#[pymethods]
impl PyAvatar {
    #[new]
    #[pyo3(
        text_signature = "(*, url_avatar='', exists_whatsapp=None, available=None, reason=None, http_status=200, attempts=1)"
    )]
    #[pyo3(signature = (*, url_avatar = String::new(), exists_whatsapp = None, available = None, reason = None, http_status = 200, attempts = 1))]
    fn new(
        url_avatar: String,
        exists_whatsapp: Option<bool>,
        available: Option<bool>,
        reason: Option<String>,
        http_status: u16,
        attempts: u32,
    ) -> PyAvatar {
        PyAvatar {
            exists_whatsapp,
            available,
            url_avatar,
            reason,
            http_status,
            attempts,
        }
    }

    /// The service's own keys: `urlAvatar` always; `existsWhatsapp`, `available` and `reason`
    /// only when not None, so either answer shape comes back as the service sent it.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        if let Some(v) = self.exists_whatsapp {
            d.set_item("existsWhatsapp", v)?;
        }
        d.set_item("urlAvatar", &self.url_avatar)?;
        if let Some(v) = &self.reason {
            d.set_item("reason", v)?;
        }
        if let Some(v) = self.available {
            d.set_item("available", v)?;
        }
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let url = PyString::new(py, &self.url_avatar).repr()?;
        let reason = match &self.reason {
            Some(r) => PyString::new(py, r).repr()?.to_cow()?.into_owned(),
            None => "None".to_string(),
        };
        Ok(format!(
            "Avatar(exists_whatsapp={}, available={}, url_avatar={}, reason={}, http_status={}, attempts={})",
            py_bool(self.exists_whatsapp),
            py_bool(self.available),
            url.to_cow()?,
            reason,
            self.http_status,
            self.attempts
        ))
    }
}

fn py_bool(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "True",
        Some(false) => "False",
        None => "None",
    }
}

/// A GetAvatar client for one instance; share it between threads.
#[pyclass(name = "Client", module = "greenapi", frozen)]
struct PyClient {
    inner: Client,
}

#[pymethods]
impl PyClient {
    // The defaults shown to Python; `None` given explicitly also means the default.
    #[new]
    #[pyo3(
        text_signature = "(id_instance, api_token_instance, *, api_url=None, timeout=30.0, connect_timeout=10.0, max_retries=2, rate_limit=10.0, user_agent=None, ca_file=None, proxy=None, max_body_bytes=1048576, allow_insecure_http=False)"
    )]
    #[pyo3(signature = (id_instance, api_token_instance, *, api_url = None, timeout = None, connect_timeout = None, max_retries = None, rate_limit = None, user_agent = None, ca_file = None, proxy = None, max_body_bytes = None, allow_insecure_http = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        id_instance: &Bound<'_, PyAny>,
        api_token_instance: &Bound<'_, PyAny>,
        api_url: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        connect_timeout: Option<&Bound<'_, PyAny>>,
        max_retries: Option<&Bound<'_, PyAny>>,
        rate_limit: Option<&Bound<'_, PyAny>>,
        user_agent: Option<&Bound<'_, PyAny>>,
        ca_file: Option<&Bound<'_, PyAny>>,
        proxy: Option<&Bound<'_, PyAny>>,
        max_body_bytes: Option<&Bound<'_, PyAny>>,
        allow_insecure_http: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClient> {
        let id_instance = id_arg(py, id_instance)?;
        let token = str_arg(py, api_token_instance, "api_token_instance")?;
        let defaults = Options::default();
        let options = Options {
            api_url: opt_str_arg(py, api_url, "api_url")?,
            timeout: secs_arg(py, timeout, "timeout", defaults.timeout)?,
            connect_timeout: secs_arg(
                py,
                connect_timeout,
                "connect_timeout",
                defaults.connect_timeout,
            )?,
            max_retries: match uint_arg(py, max_retries, "max_retries")? {
                None => defaults.max_retries,
                Some(n) => u32::try_from(n).map_err(|_| invalid(py, "max_retries is too large"))?,
            },
            rate_limit_per_sec: match rate_limit {
                None => defaults.rate_limit_per_sec,
                Some(v) if v.is_none() => defaults.rate_limit_per_sec,
                Some(v) => float_arg(py, v, "rate_limit")?,
            },
            user_agent: opt_str_arg(py, user_agent, "user_agent")?,
            ca_file: match ca_file {
                None => None,
                Some(v) if v.is_none() => None,
                Some(v) => Some(v.extract::<PathBuf>().map_err(|_| {
                    PyTypeError::new_err("ca_file must be a str or os.PathLike path, or None")
                })?),
            },
            proxy: opt_str_arg(py, proxy, "proxy")?,
            max_body_bytes: uint_arg(py, max_body_bytes, "max_body_bytes")?
                .unwrap_or(defaults.max_body_bytes),
            allow_insecure_http: match allow_insecure_http {
                None => defaults.allow_insecure_http,
                Some(v) if v.is_none() => defaults.allow_insecure_http,
                Some(v) => v
                    .cast::<PyBool>()
                    .map(|b| b.is_true())
                    .map_err(|_| PyTypeError::new_err("allow_insecure_http must be a bool"))?,
            },
        };
        let inner = run_core(py, || Client::with_options(&id_instance, &token, &options))?;
        Ok(PyClient { inner })
    }

    /// Asks the service for the avatar of `chat_id`; the GIL is released meanwhile.
    fn get_avatar(&self, py: Python<'_>, chat_id: &Bound<'_, PyAny>) -> PyResult<PyAvatar> {
        let chat_id = str_arg(py, chat_id, "chat_id")?;
        let client = &self.inner;
        run_core(py, || client.get_avatar(&chat_id)).map(PyAvatar::from)
    }

    /// The instance id this client calls.
    #[getter]
    fn id_instance(&self) -> &str {
        self.inner.id_instance()
    }

    /// The host of the API URL this client calls.
    #[getter]
    fn host(&self) -> &str {
        self.inner.host()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let id = PyString::new(py, self.inner.id_instance()).repr()?;
        let host = PyString::new(py, self.inner.host()).repr()?;
        Ok(format!(
            "Client(id_instance={}, host={})",
            id.to_cow()?,
            host.to_cow()?
        ))
    }
}

/// Runs a core call with the GIL released, turning its error or a panic into an exception.
fn run_core<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> Result<T, Error> + Send,
    T: Send,
{
    match py.detach(|| crate::panic::catch(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py_err(py, &e)),
        // Not printed (see `crate::panic`), and the payload is not shown: nothing guarantees it
        // is free of the token.
        Err(_) => Err(raise(
            py,
            "GreenApiError",
            "panic",
            "internal error: the greenapi core panicked (this is a bug)",
            None,
            0,
        )),
    }
}

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
    }
}

fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    let (class, code) = class_and_code(e.kind());
    raise(py, class, code, e.message(), e.http_status(), e.attempts())
}

/// An instance of `greenapi._errors.<class>(message, code, http_status, attempts)`.
fn raise(
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

fn invalid(py: Python<'_>, message: &str) -> PyErr {
    raise(
        py,
        "InvalidArgumentError",
        "invalid_argument",
        message,
        None,
        0,
    )
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .and_then(|n| n.to_cow().map(|c| c.into_owned()))
        .unwrap_or_else(|_| "?".to_string())
}

/// A `str` as an owned `String`; a string that is not valid Unicode (lone surrogates) is an
/// invalid argument. The message never repeats the value (it may be the token).
fn str_arg(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    let s = v
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a str, not {}", type_name(v))))?;
    s.to_cow()
        .map(|c| c.into_owned())
        .map_err(|_| invalid(py, &format!("{name} is not valid Unicode text")))
}

fn opt_str_arg(
    py: Python<'_>,
    v: Option<&Bound<'_, PyAny>>,
    name: &str,
) -> PyResult<Option<String>> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => str_arg(py, v, name).map(Some).map_err(|e| {
            if e.is_instance_of::<PyTypeError>(py) {
                PyTypeError::new_err(format!(
                    "{name} must be a str or None, not {}",
                    type_name(v)
                ))
            } else {
                e
            }
        }),
    }
}

/// The instance id: a `str`, or a non-negative `int` (it is all digits anyway).
fn id_arg(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<String> {
    if v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>() {
        return match v.extract::<u64>() {
            Ok(n) => Ok(n.to_string()),
            Err(_) => Err(invalid(py, "id_instance must be 1 to 32 ASCII digits")),
        };
    }
    str_arg(py, v, "id_instance").map_err(|e| {
        if e.is_instance_of::<PyTypeError>(py) {
            PyTypeError::new_err(format!("id_instance must be a str, not {}", type_name(v)))
        } else {
            e
        }
    })
}

/// A real number (`int` or `float`, not `bool`).
fn float_arg(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    let number = (v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>())
        && !v.is_instance_of::<PyBool>();
    if !number {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int or a float, not {}",
            type_name(v)
        )));
    }
    // An int too large for a float is out of range, not a type error.
    v.extract::<f64>()
        .map_err(|_| invalid(py, &format!("{name} is out of range")))
}

/// Seconds as a float, turned into a `Duration`: positive and finite, or an invalid argument.
fn secs_arg(
    py: Python<'_>,
    v: Option<&Bound<'_, PyAny>>,
    name: &str,
    default: Duration,
) -> PyResult<Duration> {
    let secs = match v {
        None => return Ok(default),
        Some(v) if v.is_none() => return Ok(default),
        Some(v) => float_arg(py, v, name)?,
    };
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(invalid(
            py,
            &format!("{name} must be a positive, finite number of seconds"),
        )),
    }
}

/// A non-negative `int` (not `bool`); `None` when not given.
fn uint_arg(py: Python<'_>, v: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<u64>> {
    let v = match v {
        None => return Ok(None),
        Some(v) if v.is_none() => return Ok(None),
        Some(v) => v,
    };
    if !v.is_instance_of::<PyInt>() || v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int, not {}",
            type_name(v)
        )));
    }
    match v.extract::<u64>() {
        Ok(n) => Ok(Some(n)),
        Err(_) if v.lt(0)? => Err(invalid(py, &format!("{name} must not be negative"))),
        Err(_) => Err(invalid(py, &format!("{name} is too large"))),
    }
}

/// Panics inside [`run_core`], for the test suite to prove a panic becomes a `GreenApiError`
/// with code `"panic"` and does not abort the interpreter. Not part of the public API.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    run_core(py, || -> Result<(), Error> {
        panic!("deliberate panic requested by greenapi._native._panic_for_tests")
    })
}

/// `greenapi._native`: the compiled part of the `greenapi` package.
#[pymodule(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyAvatar>()?;
    m.add_class::<PyClient>()?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add("__version__", crate::VERSION)?;
    Ok(())
}
