//! The client: one pooled HTTP agent per process, the request URI built once, pacing, retries
//! and stopping.

use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::time::Duration;

use ureq::Agent;
use ureq::config::Config;
use ureq::http::{HeaderMap, StatusCode, Uri};
use ureq::tls::TlsConfig;
use ureq::unversioned::transport::{ConnectProxyConnector, Connector};

use crate::avatar::{Avatar, parse_body};
use crate::error::{Error, ErrorKind};
use crate::limiter::Limiter;
use crate::options::{DEFAULT_API_URL, Options};
use crate::proxy;
use crate::resolver::CachingResolver;
use crate::transport::{Call, Sockets, TcpConnector, process_generation};
use crate::{tls, validate};

/// First backoff delay; doubled per retry, with jitter, up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A `Retry-After` longer than this is cut to it: one call should not block for minutes.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// How much of an error body is read to explain a failure.
const ERROR_BODY_READ: u64 = 4096;
/// How much of that text goes into a message, in bytes.
const ERROR_TEXT_BYTES: usize = 300;
/// Idle connections kept per host (and in all: a client calls one host).
pub(crate) const MAX_IDLE_CONNECTIONS: usize = 16;
/// Free resends of one call after a failure on a stale pooled connection (curl's choice too):
/// a connection whose close was still in flight when it left the pool is a race that a second
/// try wins; a second such failure in a row is something else, and counts as a failure.
const MAX_STALE_RESENDS: u32 = 1;

/// A GetAvatar client for one instance. Cheap to share between threads (`&Client` is all a call
/// needs): connections are pooled and kept alive, and pacing is shared by every caller.
pub struct Client {
    /// The connection pool and pacing of the process that uses the client (see [`Local`]). Only
    /// ever replaced in a forked child; freed in `Drop`.
    current: AtomicPtr<Local>,
    /// What a fresh [`Local`] is built from.
    config: Config,
    rate_limit_per_sec: f64,
    /// Set by [`Client::shutdown`]: every call from then on is [`ErrorKind::Cancelled`].
    shut_down: AtomicBool,
    /// `{api_url}/waInstance{id}/getAvatar/{token}`, parsed once. Holds the token: never printed.
    uri: Uri,
    token: Secret,
    id_instance: String,
    host: String,
    max_retries: u32,
    max_body_bytes: u64,
    timeout: Duration,
    connect_timeout: Duration,
    pub(crate) max_in_flight: u32,
}

/// Everything of a client that belongs to one process: the pool of open connections (a forked
/// child must never read from its parent's sockets), the resolver cache and the pacing.
struct Local {
    /// The [`process_generation`] it was made in.
    generation: u64,
    agent: Agent,
    limiter: Limiter,
    sockets: Arc<Sockets>,
    #[cfg(test)]
    resolved: crate::resolver::Forget,
}

impl Local {
    fn new(config: &Config, rate_limit_per_sec: f64) -> Result<Local, Error> {
        let resolver = CachingResolver::new();
        let forget = resolver.forget_handle();
        let sockets = Arc::new(Sockets::default());
        let connector = ()
            .chain(ConnectProxyConnector::default())
            .chain(TcpConnector {
                sockets: sockets.clone(),
                forget: forget.clone(),
            })
            .chain(tls::TlsConnector);
        Ok(Local {
            generation: process_generation(),
            agent: Agent::with_parts(config.clone(), connector, resolver),
            limiter: Limiter::new(rate_limit_per_sec)?,
            sockets,
            #[cfg(test)]
            resolved: forget,
        })
    }

    /// In a forked child, the parent's state is left as the fork found it: closing its sockets
    /// politely or dropping its pool would end the parent's connections, and another thread of
    /// the parent may have been in the middle of using it. Only this process's descriptors of
    /// the sockets are closed; the rest is kept, never freed, once per fork. It is kept
    /// reachable from a static list, so that leak checkers (valgrind, LeakSanitizer) in the
    /// child see memory held on purpose, not lost.
    fn abandon(local: Box<Local>) {
        local.sockets.abandon();
        let node = Box::into_raw(Box::new(Abandoned {
            _local: local,
            next: AtomicPtr::new(std::ptr::null_mut()),
        }));
        let mut head = ABANDONED.load(Ordering::Acquire);
        loop {
            // SAFETY: `node` is ours until the exchange below publishes it.
            unsafe { (*node).next.store(head, Ordering::Relaxed) };
            match ABANDONED.compare_exchange_weak(head, node, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
    }
}

/// The per-process states of parent processes, abandoned in forked children (see
/// [`Local::abandon`]). A lock-free list: a mutex could have been held by a thread of the parent
/// at the fork, and would then stay locked forever in the child.
static ABANDONED: AtomicPtr<Abandoned> = AtomicPtr::new(std::ptr::null_mut());

struct Abandoned {
    _local: Box<Local>,
    next: AtomicPtr<Abandoned>,
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: `current` always holds a pointer from `Box::into_raw`, and `&mut self` means no
        // call is using it.
        let local = unsafe { Box::from_raw(*self.current.get_mut()) };
        if local.generation == process_generation() {
            drop(local);
        } else {
            Local::abandon(local);
        }
    }
}

/// The token, with a `Debug` that never shows it.
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id_instance", &self.id_instance)
            .field("host", &self.host)
            .field("api_token_instance", &self.token)
            .finish_non_exhaustive()
    }
}

/// The JSON body of the call; serde escapes whatever the chat id holds.
#[derive(serde::Serialize)]
struct RequestBody<'a> {
    #[serde(rename = "chatId")]
    chat_id: &'a str,
}

/// What one attempt produced, before the retry decision.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: Error,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Client {
    /// A client with the default options.
    pub fn new(id_instance: &str, api_token_instance: &str) -> Result<Client, Error> {
        Client::with_options(id_instance, api_token_instance, &Options::default())
    }

    /// A client with the given options; every argument and option is checked here, so that a
    /// call can only fail for reasons that come from the network or the service.
    pub fn with_options(
        id_instance: &str,
        api_token_instance: &str,
        options: &Options,
    ) -> Result<Client, Error> {
        validate::id_instance(id_instance)?;
        validate::api_token(api_token_instance)?;
        let base = validate::api_url(
            options.api_url.as_deref().unwrap_or(DEFAULT_API_URL),
            options.allow_insecure_http,
        )?;
        options.check()?;
        let user_agent = options
            .user_agent
            .clone()
            .unwrap_or_else(|| concat!("greenapi/", env!("CARGO_PKG_VERSION")).to_string());
        let proxy = proxy::choose(options, &base)?;
        let tls = TlsConfig::builder()
            .root_certs(tls::root_certs(options)?)
            .build();
        let config = Agent::config_builder()
            .http_status_as_error(false)
            // The token is in the path: a redirect would hand it to whatever host it names.
            .max_redirects(0)
            .timeout_global(Some(options.timeout))
            .timeout_connect(Some(options.connect_timeout))
            .user_agent(user_agent)
            .proxy(proxy)
            .tls_config(tls)
            // ureq's overall cap (default 10) would otherwise undercut the per-host one: a
            // client only ever talks to one host (or one proxy).
            .max_idle_connections(MAX_IDLE_CONNECTIONS)
            .max_idle_connections_per_host(MAX_IDLE_CONNECTIONS)
            .build();
        let uri: Uri = format!(
            "{}/waInstance{}/getAvatar/{}",
            base.url, id_instance, api_token_instance
        )
        .parse()
        .map_err(|_| Error::invalid("api_url does not make a valid request URL"))?;
        let local = Local::new(&config, options.rate_limit_per_sec)?;
        Ok(Client {
            current: AtomicPtr::new(Box::into_raw(Box::new(local))),
            config,
            rate_limit_per_sec: options.rate_limit_per_sec,
            shut_down: AtomicBool::new(false),
            uri,
            token: Secret(api_token_instance.to_string()),
            id_instance: id_instance.to_string(),
            host: base.host,
            max_retries: options.max_retries,
            max_body_bytes: options.max_body_bytes,
            timeout: options.timeout,
            connect_timeout: options.connect_timeout,
            max_in_flight: options.max_in_flight,
        })
    }

    /// The instance id this client calls.
    pub fn id_instance(&self) -> &str {
        &self.id_instance
    }

    /// The host of the API URL this client calls.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Asks the service for the avatar of `chat_id` (a bare phone number becomes `...@c.us`).
    ///
    /// Retries 429, 499, 500, 502, 503, 504, timeouts and connection failures with exponential
    /// backoff and jitter (GetAvatar only reads, so a retry is safe), honouring `Retry-After`.
    pub fn get_avatar(&self, chat_id: &str) -> Result<Avatar, Error> {
        self.get_avatar_interruptible(chat_id, &|| false)
    }

    /// [`Client::get_avatar`], stopped early with [`ErrorKind::Cancelled`] when `interrupt`
    /// returns true. It is asked at most every 50 ms while the call waits (for the network, a
    /// retry or its turn in the pacing), never while it makes progress; it runs on the calling
    /// thread. A host's signal check goes there (Python's Ctrl-C).
    pub fn get_avatar_interruptible(
        &self,
        chat_id: &str,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Avatar, Error> {
        let chat_id = validate::normalize_chat_id(chat_id)?;
        self.get_normalized(&chat_id, interrupt)
    }

    /// [`Client::get_avatar_interruptible`] for an id [`validate::normalize_chat_id`] already
    /// gave: normalising it again would refuse a long phone number, which grows by `@c.us`.
    pub(crate) fn get_normalized(
        &self,
        chat_id: &str,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Avatar, Error> {
        let body = serde_json::to_vec(&RequestBody { chat_id })
            .map_err(|e| Error::invalid(format!("chat_id cannot be encoded: {e}")))?;
        // Only the client's own flag is looked at before the call: the caller's check is asked
        // while the call waits, so a fast call never pays for it.
        if self.is_shut_down() {
            return Err(self.cancelled(0));
        }
        let stop = || self.is_shut_down() || interrupt();
        let call = Call::new(&stop);
        let local = self.local();
        call.enter(|| self.run(local, &call, &body))
    }

    /// Stops this client: calls in progress on any thread return [`ErrorKind::Cancelled`]
    /// promptly (a blocked socket is woken at once, a wait within 50 ms), and so does every
    /// later call. Idle connections are closed. The client must still be dropped, once no call
    /// is running.
    pub fn shutdown(&self) {
        self.shut_down.store(true, Ordering::Release);
        self.local().agent.clone().shutdown();
    }

    /// Whether [`Client::shutdown`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    /// This process's [`Local`]; in a forked child, a fresh one (see [`Local::abandon`]).
    fn local(&self) -> &Local {
        let p = self.current.load(Ordering::Acquire);
        // SAFETY: `current` always holds a live `Local`: it is freed only in `Drop`, and one that
        // is replaced (after a fork) is leaked, never freed.
        let local = unsafe { &*p };
        if local.generation == process_generation() {
            local
        } else {
            self.replace_after_fork(p)
        }
    }

    #[cold]
    fn replace_after_fork(&self, old: *mut Local) -> &Local {
        let Ok(fresh) = Local::new(&self.config, self.rate_limit_per_sec) else {
            unreachable!("the rate was accepted when the client was made")
        };
        let fresh = Box::into_raw(Box::new(fresh));
        match self
            .current
            .compare_exchange(old, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                // SAFETY: `old` was the parent's generation; no thread of this process uses it.
                Local::abandon(unsafe { Box::from_raw(old) });
                if self.is_shut_down() {
                    // SAFETY: just installed, live until `Drop`.
                    unsafe { &*fresh }.agent.clone().shutdown();
                }
                // SAFETY: as above.
                unsafe { &*fresh }
            }
            Err(_) => {
                // Another thread of this child replaced it first: use that one.
                // SAFETY: never shared.
                drop(unsafe { Box::from_raw(fresh) });
                self.local()
            }
        }
    }

    fn run(&self, local: &Local, call: &Call<'_>, body: &[u8]) -> Result<Avatar, Error> {
        let mut attempts = 0;
        let mut stale_resends = 0;
        loop {
            if !local.limiter.acquire(|wait| call.sleep(wait)) {
                return Err(self.cancelled(attempts));
            }
            attempts += 1;
            call.new_attempt();
            let failure = match self.attempt(local, body) {
                Ok(mut avatar) => {
                    avatar.attempts = attempts;
                    return Ok(avatar);
                }
                Err(f) => f,
            };
            // Asked, not just remembered: a shutdown wakes a blocked read with an end of stream,
            // which looks like a failure without any wait having checked the flag.
            if call.should_stop() {
                return Err(self.cancelled(attempts));
            }
            if let Some(d) = failure.retry_after {
                // The service asked the whole client to wait, not just this thread: the pause
                // holds back every thread's next turn, this one's included, retried or not.
                local.limiter.pause(d.min(MAX_RETRY_AFTER));
            }
            if failure.error.kind() == ErrorKind::Network
                && call.failed_on_stale_connection()
                && stale_resends < MAX_STALE_RESENDS
            {
                // The request died with a pooled connection before any byte of an answer: most
                // likely the server had closed it while it sat in the pool. It is sent again on
                // another connection without a backoff or an attempt counted. It still takes a
                // pacing turn: the server may have read it before dropping the connection.
                stale_resends += 1;
                attempts -= 1;
                continue;
            }
            if !(failure.retryable && attempts <= self.max_retries) {
                return Err(failure.error.with_attempts(attempts));
            }
            let delay = if failure.retry_after.is_some() {
                Duration::ZERO
            } else {
                backoff(attempts)
            };
            if !call.sleep(delay) {
                return Err(self.cancelled(attempts));
            }
        }
    }

    fn cancelled(&self, attempts: u32) -> Error {
        let why = if self.is_shut_down() {
            "the call was cancelled: the client was shut down"
        } else {
            "the call was interrupted"
        };
        Error::new(ErrorKind::Cancelled, why).with_attempts(attempts)
    }

    fn attempt(&self, local: &Local, body: &[u8]) -> Result<Avatar, Failure> {
        let mut response = local
            .agent
            .post(self.uri.clone())
            .header("content-type", "application/json")
            .send(body)
            .map_err(|e| self.transport_failure(e))?;
        let status = response.status();
        let body = if status == StatusCode::OK {
            response
                .body_mut()
                .with_config()
                .limit(self.max_body_bytes)
                .read_to_vec()
                .map_err(|e| self.transport_failure(e))
                .map_err(|f| Failure {
                    error: f.error.with_status(200),
                    ..f
                })?
        } else {
            let mut text = Vec::new();
            // A failure to read the error body only loses the explanation, not the status.
            let _ = response
                .body_mut()
                .with_config()
                .limit(u64::MAX)
                .reader()
                .take(ERROR_BODY_READ)
                .read_to_end(&mut text);
            text
        };
        self.decode(status, response.headers(), &body)
    }

    /// What an answer means, from its status, headers and the body bytes read (for a 200 the
    /// whole body, for any other status at most [`ERROR_BODY_READ`] bytes of it). Pure: no I/O,
    /// so that it can be fuzzed with any status, headers and bytes.
    pub(crate) fn decode(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Avatar, Failure> {
        if status == StatusCode::OK {
            let mut avatar = parse_body(body).map_err(|e| Failure {
                // The parser quotes what it could not read, and that came from the body.
                error: Error::new(e.kind(), self.clean(e.message())).with_status(200),
                retryable: false,
                retry_after: None,
            })?;
            // Text copied from a body never carries the token, even a body that echoes it.
            if avatar.url_avatar.contains(self.token.0.as_str()) {
                avatar.url_avatar = self.scrub(&avatar.url_avatar);
            }
            if let Some(r) = avatar
                .reason
                .as_mut()
                .filter(|r| r.contains(self.token.0.as_str()))
            {
                *r = self.scrub(r);
            }
            return Ok(avatar);
        }
        let code = status.as_u16();
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let kind = ErrorKind::from_status(code);
        let reason = status.canonical_reason().unwrap_or("");
        let mut message = format!("HTTP {code} {reason}").trim_end().to_string();
        if code == 466 {
            message.push_str(" (the plan's quota is used up)");
        } else if (300..400).contains(&code) {
            message.push_str(" (redirects are not followed: the token is in the URL)");
        }
        let detail = self.excerpt(body);
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(&detail);
        }
        Err(Failure {
            error: Error::new(kind, message).with_status(code),
            retryable: matches!(code, 429 | 499 | 500 | 502 | 503 | 504),
            retry_after,
        })
    }

    fn transport_failure(&self, e: ureq::Error) -> Failure {
        use ureq::Error as U;
        if let Some((kind, message, retryable)) =
            proxy::explain(&e, self.config.proxy()).or_else(|| tls::explain(&e))
        {
            return Failure {
                error: Error::new(kind, self.scrub(&message)),
                retryable,
                retry_after: None,
            };
        }
        let kind = match &e {
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
        };
        let retryable = matches!(kind, ErrorKind::Timeout | ErrorKind::Network);
        let message = match (&e, kind) {
            (_, ErrorKind::BodyTooLarge) => format!(
                "the response body is larger than max_body_bytes ({} bytes); reading stopped there",
                self.max_body_bytes
            ),
            (U::Timeout(ureq::Timeout::Connect), _) => format!(
                "timed out: no connection within connect_timeout ({} ms)",
                self.connect_timeout.as_millis()
            ),
            (_, ErrorKind::Timeout) => format!(
                "timed out: no complete answer within timeout ({} ms)",
                self.timeout.as_millis()
            ),
            (U::Io(io), _) => format!("{}: {}", kind.description(), self.scrub(&io_text(io))),
            (U::HostNotFound, _) => {
                format!("{}: host not found: {}", kind.description(), self.host)
            }
            (U::Protocol(p), _) => format!(
                "{}: the answer is not valid HTTP/1.1 ({})",
                kind.description(),
                self.scrub(&p.to_string())
            ),
            _ => format!("{}: {}", kind.description(), self.scrub(&e.to_string())),
        };
        Failure {
            error: Error::new(kind, message),
            retryable,
            retry_after: None,
        }
    }

    /// The token removed from any text, whoever wrote it.
    fn scrub(&self, text: &str) -> String {
        text.replace(self.token.0.as_str(), "***")
    }

    /// A short, single-line, token-free excerpt of a server body.
    fn excerpt(&self, body: &[u8]) -> String {
        self.clean(&String::from_utf8_lossy(body))
    }

    /// Text that came from a server, fit for a message: the token removed, then cut to
    /// [`ERROR_TEXT_BYTES`] on one line. The token goes first, so no prefix of it can survive
    /// at the cut.
    fn clean(&self, text: &str) -> String {
        let text = self.scrub(text);
        let mut flat = String::new();
        for c in text.chars().map(|c| if c.is_control() { ' ' } else { c }) {
            if flat.len() + c.len_utf8() > ERROR_TEXT_BYTES {
                break;
            }
            flat.push(c);
        }
        flat.trim().to_string()
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

/// Exponential backoff with "equal jitter": half the delay is fixed, half random, so that many
/// clients that failed together do not retry together.
fn backoff(attempt: u32) -> Duration {
    let exp = BASE_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let half = exp / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_nanos(random_u64() % nanos)
}

/// A random number without a dependency: every `RandomState` is seeded afresh by std.
fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..20 {
            let d = backoff(attempt);
            let exp = BASE_BACKOFF
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(MAX_BACKOFF);
            assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn addresses_that_refused_are_not_kept() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let options = Options {
            api_url: Some(format!("http://127.0.0.1:{port}")),
            proxy: Some(String::new()),
            rate_limit_per_sec: 0.0,
            max_retries: 0,
            ..Options::default()
        };
        let c = Client::with_options("1101000001", "SECRETtoken0123456789", &options).unwrap();
        // Nothing listens any more: every address refuses, and none is kept for the next call.
        drop(listener);
        let e = c.get_avatar("1@c.us").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Network, "{}", e.message());
        assert!(!c.local().resolved.holds_addresses());
        // A listener that never answers still accepts the connection (the kernel does): the
        // call times out, but it connected, so the addresses are good and kept.
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let options = Options {
            api_url: Some(format!(
                "http://127.0.0.1:{}",
                server.local_addr().unwrap().port()
            )),
            timeout: Duration::from_millis(200),
            ..options
        };
        let c = Client::with_options("1101000001", "SECRETtoken0123456789", &options).unwrap();
        let e = c.get_avatar("1@c.us").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{}", e.message());
        assert!(c.local().resolved.holds_addresses());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = "SECRETtoken0123456789";
        let c = Client::with_options(
            "1101000001",
            token,
            &Options {
                api_url: Some("http://127.0.0.1:9".into()),
                proxy: Some(String::new()),
                ..Options::default()
            },
        )
        .unwrap();
        let shown = format!("{c:?} {c:#?}");
        assert!(!shown.contains(token), "{shown}");
        assert!(
            shown.contains("1101000001") && shown.contains("127.0.0.1"),
            "{shown}"
        );
    }
}
