//! The Python module `greenapi._native`: a thin translation of the core for Python.
//!
//! Python values are turned into owned Rust values first, then every call into the core runs
//! with the GIL released ([`Python::detach`]) and inside `crate::panic::catch`, so threads sharing one
//! `Client` run in parallel and a panic becomes an exception, never an abort.
//!
//! The exception classes are plain Python (multiple inheritance: `InvalidArgumentError` is also
//! a `ValueError`, `TimeoutError` also the builtin one) in `greenapi/_errors.py`; this module
//! looks them up there when it raises.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString, PyTuple};

use crate::options::{self, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS};
use crate::{Avatar, Client, Error, ErrorKind, Options};

/// Where the exception classes live.
const ERRORS_MODULE: &str = "greenapi._errors";

/// What the service answered to GetAvatar (HTTP 200).
///
/// Both answer shapes map onto it: the older one (`existsWhatsapp`, `urlAvatar`, `reason`) and
/// the newer one (`urlAvatar`, `available`). A field the answer did not carry, or carried as
/// null, is None. `to_dict()` gives the answer back with the service's own keys.
///
/// Immutable; equal and hashable by value (all six fields). It pickles and copies, so it can
/// come back from a `concurrent.futures.ProcessPoolExecutor` or `multiprocessing` worker.
#[pyclass(name = "Avatar", module = "greenapi", frozen, eq, hash, get_all)]
#[derive(PartialEq, Eq, Hash)]
struct PyAvatar {
    /// True when the number has a WhatsApp account, False when it has none (the service is
    /// known to say False wrongly for some accounts without a photo). None when the answer did
    /// not say: the newer answer shape (groups, `@lid`) never does.
    exists_whatsapp: Option<bool>,
    /// False when the contact's privacy settings hide the avatar, True when they do not. None
    /// when the answer did not say: the older answer shape (`@c.us`) never does.
    available: Option<bool>,
    /// Link to the picture on pps.whatsapp.net (it expires: see its `oe=` parameter); `""`
    /// when there is no avatar, it is hidden, or there is no account.
    url_avatar: String,
    /// Why the service could not check, e.g. "bad request data" (a malformed chat id) or "get
    /// avatar timeout limit exceeded"; None when it could. These answers are HTTP 200 too.
    reason: Option<String>,
    /// The HTTP status of the answer: always 200 (any other status raises a GreenApiError).
    http_status: u16,
    /// HTTP attempts made for this answer: 1, plus the retries it took (see the Client's
    /// `max_retries`).
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

    /// The answer as a dict with the service's own keys: `urlAvatar` always; `existsWhatsapp`,
    /// `available` and `reason` only when not None, so either answer shape comes back as the
    /// service sent it (a key the service sent as null is left out, like a missing one).
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

    /// Pickle and copy support: rebuilt as `Avatar(**fields)`.
    // The constructor takes keywords only, and `copyreg.__newobj_ex__(cls, args, kwargs)` is the
    // one reconstructor with keywords that every pickle protocol (0 to 5) and `copy` accept.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let a = slf.get();
        let fields = PyDict::new(py);
        fields.set_item("url_avatar", &a.url_avatar)?;
        fields.set_item("exists_whatsapp", a.exists_whatsapp)?;
        fields.set_item("available", a.available)?;
        fields.set_item("reason", &a.reason)?;
        fields.set_item("http_status", a.http_status)?;
        fields.set_item("attempts", a.attempts)?;
        let newobj_ex = py.import("copyreg")?.getattr("__newobj_ex__")?;
        let args = (slf.get_type(), PyTuple::empty(py), fields).into_pyobject(py)?;
        Ok((newobj_ex, args))
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

/// A GetAvatar client for one instance.
///
/// Share one between threads: calls release the GIL, connections are pooled and kept alive
/// (one TCP and TLS set-up for many calls), and the pacing set by `rate_limit` is shared by
/// every thread that uses this client.
///
/// id_instance
///     The instance id: 1 to 32 digits, as a str (an int is accepted too).
/// api_token_instance
///     The instance's token: 16 to 512 characters from A-Z a-z 0-9 - . _ ~ only. Never shown by repr()
///     nor in any exception message.
///
/// Options (keyword-only; passing None gives the default shown):
///
/// api_url=None
///     Base URL: your instance's own apiUrl, e.g. https://7103.api.greenapi.com; a path
///     prefix is allowed, a trailing / is ignored. None: https://api.green-api.com. Plain
///     http:// only to a loopback host unless allow_insecure_http.
/// timeout=30.0
///     Seconds allowed for one HTTP attempt, body included: 0.001 (1 ms) to 86400 (one day).
/// connect_timeout=10.0
///     Seconds allowed to connect, TCP and TLS: 0.001 (1 ms) to 86400 (one day).
/// max_retries=2
///     Retries after the first attempt, 0 to 10; only after HTTP 429, 499, 500, 502, 503, 504,
///     a timeout or a network failure, waiting 200 ms doubling up to 5 s (with jitter; a
///     Retry-After of up to 10 s is honoured).
/// rate_limit=10.0
///     Requests per second for the whole client, every thread and retry included: 0 (no
///     pacing) or 1/3600 (one an hour) to 10000. The service allows 10 per second.
/// user_agent=None
///     The User-Agent header. None: greenapi/<version>.
/// ca_file=None
///     Path (str or os.PathLike) of a PEM file of root certificates to trust in addition to
///     the built-in (Mozilla) roots. Certificates are always verified.
/// proxy=None
///     Proxy URL. None: from ALL_PROXY or HTTPS_PROXY (with NO_PROXY; HTTP_PROXY is not
///     used, and a loopback api_url is never proxied). "": no proxy.
/// max_body_bytes=1048576
///     Largest response body read, in bytes (at least 1; 1048576 is 1 MiB); a larger one
///     raises BadResponseError with code "body_too_large".
/// allow_insecure_http=False
///     Allow plain http:// to a host that is not loopback (the token would travel in clear).
/// max_in_flight=8
///     Requests of one batch on the wire at once, 1 to 256; pacing still spaces them.
///
/// Raises greenapi.InvalidArgumentError (also a ValueError) for a refused value and TypeError
/// for a value of the wrong type. Nothing is sent until get_avatar() is called.
///
/// close(), or leaving a `with greenapi.Client(...) as client:` block, stops the client:
/// calls in progress on other threads raise CancelledError, and so do later calls. A Client
/// made before os.fork() (multiprocessing, gunicorn) works in the children, each with
/// connections of its own.
#[pyclass(name = "Client", module = "greenapi", frozen)]
struct PyClient {
    /// Shared with the worker threads of a batch.
    inner: Arc<Client>,
}

#[pymethods]
impl PyClient {
    // The defaults shown to Python; `None` given explicitly also means the default.
    #[new]
    #[pyo3(
        text_signature = "(id_instance, api_token_instance, *, api_url=None, timeout=30.0, connect_timeout=10.0, max_retries=2, rate_limit=10.0, user_agent=None, ca_file=None, proxy=None, max_body_bytes=1048576, allow_insecure_http=False, max_in_flight=8)"
    )]
    #[pyo3(signature = (id_instance, api_token_instance, *, api_url = None, timeout = None, connect_timeout = None, max_retries = None, rate_limit = None, user_agent = None, ca_file = None, proxy = None, max_body_bytes = None, allow_insecure_http = None, max_in_flight = None))]
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
        max_in_flight: Option<&Bound<'_, PyAny>>,
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
            max_in_flight: match uint_arg(py, max_in_flight, "max_in_flight")? {
                None => defaults.max_in_flight,
                // Out of u32 is out of range too; the core says what the range is.
                Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
            },
        };
        let inner = run_core(py, || Client::with_options(&id_instance, &token, &options))?;
        Ok(PyClient {
            inner: Arc::new(inner),
        })
    }

    /// Asks the service for the avatar of `chat_id` and returns an `Avatar`.
    ///
    /// chat_id
    ///     79001234567@c.us (a person), 120363043968066561@g.us or
    ///     79001234567-1581234048@g.us (a group), 120650379300963@lid (a linked id), or a bare
    ///     phone number, 79001234567 or +79001234567, sent as 79001234567@c.us.
    ///
    /// The GIL is released during the call, so other threads run meanwhile (and may use this
    /// same client). Retries (see max_retries) happen inside the call; Avatar.attempts says
    /// how many attempts it took.
    ///
    /// An answer saying the service could not check (e.g. reason "bad request data") is
    /// still an Avatar. Everything else raises a greenapi.GreenApiError subclass, with
    /// `code`, `http_status` and `attempts`: InvalidArgumentError (a malformed chat_id,
    /// nothing sent), TimeoutError, TransportError (network, TLS), BadRequestError (400),
    /// AuthError (401, 403), NotFoundError (404), RateLimitedError (429), QuotaExceededError
    /// (466), ServerError (5xx), HttpStatusError (any other status), BadResponseError (not a
    /// GetAvatar answer, or larger than max_body_bytes), CancelledError (the client was
    /// closed). A chat_id that is not a str raises TypeError.
    ///
    /// A signal that arrives during the call (Ctrl-C) is handled within about 0.1 s, even
    /// while the call waits for a slow answer, a retry or its turn in the pacing: the
    /// handler's exception (KeyboardInterrupt) is raised and the call is abandoned.
    fn get_avatar(&self, py: Python<'_>, chat_id: &Bound<'_, PyAny>) -> PyResult<PyAvatar> {
        let chat_id = str_arg(py, chat_id, "chat_id")?;
        let client = &self.inner;
        // While the call waits (for the network, a retry, its turn in the pacing) it asks
        // Python every 50 ms whether a signal arrived, so that Ctrl-C (or any handler's
        // exception) ends it at once rather than after every timeout and retry. The handler's
        // exception is kept and raised instead of the core's "interrupted".
        let raised: Mutex<Option<PyErr>> = Mutex::new(None);
        // Python runs signal handlers on its main thread only: another thread's check would
        // take the GIL 20 times a second for an answer that is always no.
        let on_main = on_main_thread(py);
        let interrupt = || {
            on_main
                && Python::attach(|py| match py.check_signals() {
                    Ok(()) => false,
                    Err(e) => {
                        *raised.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        true
                    }
                })
        };
        let result = run_core(py, || client.get_avatar_interruptible(&chat_id, &interrupt));
        if let Some(e) = raised.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        result.map(PyAvatar::from)
    }

    /// Stops the client: calls in progress on other threads raise `CancelledError` promptly,
    /// and so does every later call. Idle connections are closed. Calling it again does nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let client = &self.inner;
        run_core(py, || {
            client.shutdown();
            Ok(())
        })
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_shut_down()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes the client; an exception from the `with` block goes on.
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<&Bound<'_, PyAny>>,
        _exc: Option<&Bound<'_, PyAny>>,
        _tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
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

/// The process that [`MAIN_THREAD`] was read in (after a fork, the thread that forked is the
/// child's main thread). Atomics, not a lock: a lock held by another thread at a fork would stay
/// locked in the child.
static MAIN_THREAD_PID: AtomicU32 = AtomicU32::new(0);
/// `threading.main_thread().ident`, which is the thread's `pthread_self()`.
static MAIN_THREAD: AtomicU64 = AtomicU64::new(0);

/// Whether the calling thread is the one Python runs signal handlers on.
fn on_main_thread(py: Python<'_>) -> bool {
    let pid = std::process::id();
    if MAIN_THREAD_PID.load(Ordering::Acquire) != pid {
        let ident = py
            .import("threading")
            .and_then(|t| t.call_method0("main_thread"))
            .and_then(|m| m.getattr("ident"))
            .and_then(|i| i.extract::<u64>());
        let Ok(ident) = ident else {
            // Unknown: checking for signals costs a little, missing a Ctrl-C costs more.
            return true;
        };
        MAIN_THREAD.store(ident, Ordering::Release);
        MAIN_THREAD_PID.store(pid, Ordering::Release);
    }
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() } as u64;
    me == MAIN_THREAD.load(Ordering::Acquire)
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
        ErrorKind::Cancelled => ("CancelledError", "cancelled"),
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

/// Seconds as a float, turned into a `Duration` within the core's timeout bounds (said here in
/// seconds, the unit the caller used), or an invalid argument: never an `OverflowError`, and
/// never a value that could overflow a deadline later.
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
        Ok(d) if options::timeout_in_range(d) => Ok(d),
        _ => Err(invalid(
            py,
            &format!(
                "{name} must be from {} to {} seconds (one day)",
                f64::from(MIN_TIMEOUT_MS) / 1000.0,
                f64::from(MAX_TIMEOUT_MS) / 1000.0
            ),
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
