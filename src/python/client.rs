//! `greenapi.Client`: the options turned into the core's, and the blocking call.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};

use super::args::{Keywords, id_arg, str_arg};
use super::avatar::PyAvatar;
use super::batch::{self, PyAvatarIterator, PyCancelToken};
use super::download;
use super::errors::invalid;
use super::{on_main_thread, run_core};
use crate::{Client, Observer, Options, Pacing};

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
///     Proxy URL (http:// or https://). None: the first set of https_proxy, HTTPS_PROXY,
///     all_proxy, ALL_PROXY (honouring no_proxy/NO_PROXY; HTTP_PROXY is not used, and a
///     loopback api_url is never proxied). "": no proxy.
/// max_body_bytes=1048576
///     Largest response body read, in bytes (at least 1; 1048576 is 1 MiB); a larger one
///     raises BadResponseError with code "body_too_large".
/// allow_insecure_http=False
///     Allow plain http:// to a host that is not loopback (the token would travel in clear).
/// max_in_flight=64
///     The most requests of this client in flight at once in this process, every batch
///     and single call together: 1 to 256 (it also bounds the client's worker threads, and an
///     AsyncClient runs at most this many single calls at once). Under pacing fewer are
///     sent: about rate_limit x recent latency x 1.5, so that slow answers still keep the
///     pace; with rate_limit=0 this is the bound.
/// pacing='host'
///     With whom rate_limit is shared. 'host': every client for the same id_instance in every
///     process of this user on this machine (gunicorn or Celery workers, a cron job), through
///     a small file in $GREENAPI_RUNTIME_DIR, else $XDG_RUNTIME_DIR/greenapi, else
///     /dev/shm/greenapi-<uid> (where that cannot be used, the client paces alone: see the
///     pacing attribute). 'process': this client alone.
///     'redis://[user:password@]host[:port][/db]': every client for the same id_instance on
///     every machine that uses this Redis (port 6379, database 0 by default; no TLS). The
///     client connects when it is made: an unreachable Redis raises TransportError, a bad URL
///     or refused credentials InvalidArgumentError (never showing the password); when Redis
///     fails later, calls go on under 'host' pacing and Redis is tried again every few seconds.
/// download_hosts=()
///     More hosts download_avatar() may fetch pictures from, besides whatsapp.net (and every
///     host under it): a list or tuple of bare host names or IP addresses, each allowing itself
///     and every name under it. Redirects are held to the same list; only https is used.
/// max_download_bytes=5242880
///     Largest picture download_avatar() reads, in bytes (1 to 67108864, 64 MiB; 5242880 is
///     5 MiB); a larger one raises BadResponseError with code "body_too_large".
///
/// Raises greenapi.InvalidArgumentError (also a ValueError) for a refused value and TypeError
/// for a value of the wrong type. Nothing is sent until get_avatar() is called.
///
/// close(), or leaving a `with greenapi.Client(...) as client:` block, stops the client:
/// calls in progress on other threads raise CancelledError, and so do later calls. A Client
/// made before os.fork() (multiprocessing, gunicorn) works in the children, each with
/// connections of its own.
#[pyclass(name = "Client", module = "greenapi", frozen)]
pub(crate) struct PyClient {
    /// Shared with the worker threads of a batch.
    pub(crate) inner: Arc<Client>,
    /// Its events' way to the `greenapi` logger, whose level is read again at every call.
    observer: Observer,
}

#[pymethods]
impl PyClient {
    // text_signature is the one list of the options' names and defaults (help(), inspect and
    // the tests read it from here); the values are taken by `resolve`. `None` given explicitly
    // also means the default.
    #[new]
    #[pyo3(
        text_signature = "(id_instance, api_token_instance, *, api_url=None, timeout=30.0, connect_timeout=10.0, max_retries=2, rate_limit=10.0, user_agent=None, ca_file=None, proxy=None, max_body_bytes=1048576, allow_insecure_http=False, max_in_flight=64, pacing='host', download_hosts=(), max_download_bytes=5242880)"
    )]
    #[pyo3(signature = (id_instance, api_token_instance, **options))]
    fn new(
        py: Python<'_>,
        id_instance: &Bound<'_, PyAny>,
        api_token_instance: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyClient> {
        let (id_instance, token, mut options) =
            resolve(py, id_instance, api_token_instance, options)?;
        let observer = super::logging::observer(py);
        options.observer = Some(observer.clone());
        let inner = run_core(py, || Client::with_options(&id_instance, &token, &options))?;
        Ok(PyClient {
            inner: Arc::new(inner),
            observer,
        })
    }

    /// The arguments of `Client(...)` as the Client would take them, the token left out:
    /// `(id_instance, (api_url, timeout_ns, connect_timeout_ns, max_retries, rate_limit,
    /// user_agent, ca_file, proxy, max_body_bytes, allow_insecure_http, max_in_flight,
    /// pacing), (download_hosts, max_download_bytes))`, so
    /// that `timeout=30` and `timeout=30.0` (or None, or leaving it out) give the same tuple.
    /// Raises what `Client(...)` raises for an argument of the wrong type; the values' ranges
    /// are checked by `Client(...)` only. For `greenapi.get_avatar`'s cache of clients.
    #[staticmethod]
    #[pyo3(signature = (id_instance, api_token_instance, **options))]
    fn _resolved<'py>(
        py: Python<'py>,
        id_instance: &Bound<'py, PyAny>,
        api_token_instance: &Bound<'py, PyAny>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let (id_instance, _token, o) = resolve(py, id_instance, api_token_instance, options)?;
        let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let ca_file = o
            .ca_file
            .as_ref()
            .map(|p| PyBytes::new(py, p.as_os_str().as_encoded_bytes()));
        let values = (
            o.api_url,
            nanos(o.timeout),
            nanos(o.connect_timeout),
            o.max_retries,
            o.rate_limit_per_sec,
            o.user_agent,
            ca_file,
            o.proxy,
            o.max_body_bytes,
            o.allow_insecure_http,
            o.max_in_flight,
            o.pacing.cache_key(),
        );
        // A tuple of their own: pyo3 converts tuples of at most 12.
        let downloads = (PyTuple::new(py, &o.download_hosts)?, o.max_download_bytes);
        (id_instance, values, downloads).into_pyobject(py)
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
        self.call(py, chat_id, None)
    }

    /// `get_avatar(chat_id)` that also ends (with CancelledError) within 50 ms of
    /// `token.cancel()`. For greenapi's asyncio layer, which runs calls off the loop's thread.
    fn _get_avatar_until(
        &self,
        py: Python<'_>,
        chat_id: &Bound<'_, PyAny>,
        token: &Bound<'_, PyCancelToken>,
    ) -> PyResult<PyAvatar> {
        self.call(py, chat_id, Some(token.get()))
    }

    /// Downloads the picture of `avatar` (an Avatar, or its url_avatar as a str) and returns
    /// its bytes: JPEG, PNG or WebP, checked by Content-Type and first bytes.
    ///
    /// Only https, to hosts under whatsapp.net or in download_hosts (redirects too, at most 3);
    /// never the token nor any header of the GetAvatar call; a connection pool of its own, not
    /// paced by rate_limit (at most max_in_flight downloads at once). Raises ExpiredError for a
    /// link past its expires_at (not even asked) or one the CDN answers 403, 404 or 410 for:
    /// ask get_avatar again. BadResponseError when it is not a picture (the message says what
    /// came), code "body_too_large" past max_download_bytes, InvalidArgumentError for an empty
    /// link (no avatar) or a host not allowed; network errors as get_avatar (retried). Ctrl-C
    /// and close() stop it as they stop get_avatar.
    fn download_avatar<'py>(
        &self,
        py: Python<'py>,
        avatar: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        download::download(py, &self.inner, avatar, None)
    }

    /// Downloads the picture as download_avatar() does and saves it as `path` plus the
    /// extension of its type (`avatars/79001234567@c.us` becomes `avatars/79001234567@c.us.jpg`;
    /// greenapi.file_stem(chat_id) makes a safe name). Returns the pathlib.Path written.
    ///
    /// Written to a temporary file in the same directory, flushed, then renamed into place:
    /// the final name never holds half a picture, and a symlink waiting there is replaced,
    /// never followed. The directory must exist.
    fn save_avatar<'py>(
        &self,
        py: Python<'py>,
        avatar: &Bound<'py, PyAny>,
        path: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        download::save(py, &self.inner, avatar, path, None)
    }

    /// download_avatar() also ended (CancelledError) by `token.cancel()`; for AsyncClient.
    fn _download_avatar_until<'py>(
        &self,
        py: Python<'py>,
        avatar: &Bound<'py, PyAny>,
        token: &Bound<'py, PyCancelToken>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        download::download(py, &self.inner, avatar, Some(token.get()))
    }

    /// save_avatar() also ended (CancelledError) by `token.cancel()`; for AsyncClient.
    fn _save_avatar_until<'py>(
        &self,
        py: Python<'py>,
        avatar: &Bound<'py, PyAny>,
        path: &Bound<'py, PyAny>,
        token: &Bound<'py, PyCancelToken>,
    ) -> PyResult<Bound<'py, PyAny>> {
        download::save(py, &self.inner, avatar, path, Some(token.get()))
    }

    /// Asks for the avatars of many chats at once and returns a list with one entry per chat
    /// id, in the order given: the `Avatar`, or the `GreenApiError` instance (not raised) that
    /// says why there is none.
    ///
    /// chat_ids
    ///     Any iterable of str (not a str itself). A malformed or empty one gets its
    ///     InvalidArgumentError and is not sent; one failed call fails its entry only. Ids
    ///     equal after normalisation (79001234567, +79001234567, 79001234567@c.us) are asked
    ///     once and share the answer.
    /// progress=None
    ///     Called as `progress(done, total)` on the calling thread, with the GIL, after each
    ///     result. An exception it raises stops the batch (requests in flight are interrupted)
    ///     and propagates.
    ///
    /// The entries are sent by the client's worker threads, in the client's pacing, taking
    /// turns with every other call of this client (a single call made meanwhile waits a few
    /// turns, not behind the batch); at most max_in_flight in flight, fewer while the
    /// answers come fast. No new request starts while more than a few results wait to be
    /// taken. The GIL is released while
    /// waiting. A signal (Ctrl-C) stops the batch within about 0.1 s and its handler's
    /// exception (KeyboardInterrupt) is raised; no thread is left running. A chat_ids that is
    /// not an iterable of str raises TypeError, before anything is sent.
    #[pyo3(signature = (chat_ids, *, progress = None))]
    fn get_avatars<'py>(
        &self,
        py: Python<'py>,
        chat_ids: &Bound<'py, PyAny>,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        super::logging::refresh(py, &self.observer);
        batch::get_avatars(py, &self.inner, chat_ids, progress)
    }

    /// Asks for the avatars of many chats at once and yields `(chat_id, result)` as each
    /// result completes (see AvatarIterator): chat_id as given, result an `Avatar` or a
    /// `GreenApiError` instance (not raised). Entries are refused, shared and paced as in
    /// get_avatars().
    ///
    /// A program that writes each result away as it comes loses nothing when stopped half-way:
    /// leaving a `with client.iter_avatars(ids) as it:` block (a break, an exception), close()
    /// and Ctrl-C stop the batch within about 0.1 s, interrupting the requests in flight, and
    /// leave no thread running. Without `with`, a break stops it only once the iterator is
    /// garbage (no variable holds it any more).
    fn iter_avatars(
        &self,
        py: Python<'_>,
        chat_ids: &Bound<'_, PyAny>,
    ) -> PyResult<PyAvatarIterator> {
        super::logging::refresh(py, &self.observer);
        batch::iter_avatars(py, &self.inner, chat_ids)
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

    /// What this client did so far, as a `greenapi.Stats` (frozen): calls, attempts, retries,
    /// answers and failures by code, 429s, pacing waits (seconds), connections, TLS handshakes,
    /// bytes, requests in flight now and the rate in force now. Cheap: a few atomic loads.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        super::logging::stats(py, &self.inner.stats())
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

    /// The most requests of this client in flight at once, batches and single calls together
    /// (the max_in_flight option).
    #[getter]
    fn max_in_flight(&self) -> u32 {
        self.inner.max_in_flight()
    }

    /// The pacing in force in this process: 'redis' (a Redis pacing while Redis answers),
    /// 'host' (shared by every client for the instance on this machine; also a Redis pacing
    /// while Redis cannot be reached) or 'process' (this client alone: asked for,
    /// rate_limit=0, or a host pacing whose directory or file could not be used).
    #[getter]
    fn pacing(&self) -> &'static str {
        self.inner.pacing().as_str()
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

/// `Client(...)`'s arguments turned into the core's: the instance id, the token and the
/// options, in the order the arguments are checked. Each option is named here once.
fn resolve(
    py: Python<'_>,
    id_instance: &Bound<'_, PyAny>,
    api_token_instance: &Bound<'_, PyAny>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<(String, String, Options)> {
    let id_instance = id_arg(py, id_instance)?;
    let token = str_arg(py, api_token_instance, "api_token_instance")?;
    let given = Keywords::new(py, options)?;
    let defaults = Options::default();
    let options = Options {
        // Set by `Client(...)`: the cache key of `_resolved` leaves it out.
        observer: None,
        api_url: given.opt_str("api_url")?,
        timeout: given.secs("timeout", defaults.timeout)?,
        connect_timeout: given.secs("connect_timeout", defaults.connect_timeout)?,
        max_retries: match given.uint("max_retries")? {
            None => defaults.max_retries,
            Some(n) => u32::try_from(n).map_err(|_| invalid(py, "max_retries is too large"))?,
        },
        rate_limit_per_sec: given
            .float("rate_limit")?
            .unwrap_or(defaults.rate_limit_per_sec),
        user_agent: given.opt_str("user_agent")?,
        ca_file: given.path("ca_file")?,
        proxy: given.opt_str("proxy")?,
        max_body_bytes: given
            .uint("max_body_bytes")?
            .unwrap_or(defaults.max_body_bytes),
        allow_insecure_http: given
            .bool("allow_insecure_http")?
            .unwrap_or(defaults.allow_insecure_http),
        // Out of u32 is out of range too; the core says what the range is.
        max_in_flight: given
            .uint("max_in_flight")?
            .map_or(defaults.max_in_flight, |n| {
                u32::try_from(n).unwrap_or(u32::MAX)
            }),
        pacing: match given.opt_str("pacing")? {
            None => defaults.pacing,
            Some(name) => Pacing::parse(&name).map_err(|e| invalid(py, e.message()))?,
        },
        download_hosts: given.str_list("download_hosts")?,
        max_download_bytes: given
            .uint("max_download_bytes")?
            .unwrap_or(defaults.max_download_bytes),
    };
    given.finish("Client()")?;
    Ok((id_instance, token, options))
}

impl PyClient {
    /// One call, stopped by a signal on the main thread or by `token`.
    fn call(
        &self,
        py: Python<'_>,
        chat_id: &Bound<'_, PyAny>,
        token: Option<&PyCancelToken>,
    ) -> PyResult<PyAvatar> {
        let chat_id = str_arg(py, chat_id, "chat_id")?;
        super::logging::refresh(py, &self.observer);
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
            token.is_some_and(PyCancelToken::is_cancelled)
                || on_main
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
}
