//! The public client: its configuration, checked once at creation, and its state in each
//! process (the connection pool, the resolver cache and the pacing; see `fork.rs`). What a call
//! does is in `retry.rs`, what an answer means in `response.rs`.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ureq::Agent;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::tls::TlsConfig;
use ureq::unversioned::transport::{ConnectProxyConnector, Connector};

use crate::avatar::Avatar;
use crate::call::Call;
use crate::dispatch::Dispatcher;
use crate::error::{Error, ErrorKind};
use crate::failure::{self, Failure};
use crate::fork::{Inherited, PerProcess, Sockets};
use crate::inject::{InjectConnector, Injection};
use crate::observe::{self, EventKind, Observe, Stats};
use crate::options::{DEFAULT_API_URL, Options};
use crate::pacing::{Pacer, Pacing};
use crate::proxy;
use crate::resolver::CachingResolver;
use crate::secret::Secret;
use crate::transport::TcpConnector;
use crate::validate::ChatId;
use crate::{tls, validate};

/// Idle connections kept per host (and in all: a client calls one host).
pub(crate) const MAX_IDLE_CONNECTIONS: usize = 16;

/// A GetAvatar client for one instance. Cheap to share between threads (`&Client` is all a call
/// needs): connections are pooled and kept alive, and pacing is shared by every caller.
pub struct Client {
    /// The connection pool and pacing of the process that uses the client.
    state: PerProcess<ProcessState>,
    /// What a fresh [`ProcessState`] is built from.
    config: Config,
    injection: Arc<Injection>,
    pacing: PacingWanted,
    /// Set by [`Client::shutdown`]: every call from then on is [`ErrorKind::Cancelled`].
    shut_down: AtomicBool,
    /// `{api_url}/waInstance{id}/getAvatar/{placeholder}`, parsed once: ureq never sees the
    /// token (see `inject.rs`).
    pub(crate) uri: Uri,
    pub(crate) token: Secret,
    id_instance: String,
    host: String,
    pub(crate) max_retries: u32,
    pub(crate) max_body_bytes: u64,
    pub(crate) timeout: Duration,
    connect_timeout: Duration,
    max_in_flight: u32,
    /// Picture downloads: their own pool and rules (`download/`).
    pub(crate) download: crate::download::Downloader,
    /// Events and counters (`observe/`), shared with the connections.
    pub(crate) obs: Arc<Observe>,
}

/// What a [`Pacer`] is made from, in each process.
#[derive(Debug)]
struct PacingWanted {
    id_instance: String,
    rate_per_sec: f64,
    pacing: Pacing,
    /// The longest wait for Redis.
    connect_timeout: Duration,
}

/// Everything of a client that belongs to one process: the pool of open connections (a forked
/// child must never read from its parent's sockets), the resolver cache and the pacing.
pub(crate) struct ProcessState {
    pub(crate) agent: Agent,
    /// Every request's turn, and the worker pool of batches.
    pub(crate) dispatch: Dispatcher,
    sockets: Arc<Sockets>,
    #[cfg(test)]
    resolved: crate::resolver::ForgetAddresses,
}

impl ProcessState {
    /// The state of a new process; a Redis pacing is connected to here, and `strict` (at the
    /// client's creation) makes a failure to connect an error, where a forked child paces on
    /// the fallback until Redis answers.
    fn new(
        config: &Config,
        pacing: &PacingWanted,
        injection: &Arc<Injection>,
        max_in_flight: u32,
        obs: &Arc<Observe>,
        strict: bool,
    ) -> Result<ProcessState, Error> {
        let resolver = CachingResolver::new();
        let forget = resolver.forget_handle();
        let sockets = Arc::new(Sockets::default());
        let connector = ()
            .chain(ConnectProxyConnector::default())
            .chain(TcpConnector {
                sockets: sockets.clone(),
                forget: forget.clone(),
                obs: obs.clone(),
            })
            .chain(tls::TlsConnector)
            .chain(InjectConnector(injection.clone()));
        let pacer = Pacer::new(
            &pacing.id_instance,
            pacing.rate_per_sec,
            &pacing.pacing,
            pacing.connect_timeout,
            &sockets,
        )?;
        match pacer.connect() {
            Err(e) if strict => return Err(e),
            _ => {}
        }
        Ok(ProcessState {
            agent: Agent::with_parts(config.clone(), connector, resolver),
            dispatch: Dispatcher::new(pacer, max_in_flight),
            sockets,
            #[cfg(test)]
            resolved: forget,
        })
    }
}

impl Inherited for ProcessState {
    fn abandon(&self) {
        self.sockets.abandon();
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
        let config = agent_config(options, &base)?;
        let token = Secret::new(api_token_instance);
        // The token itself is written in by the transport as the request leaves (inject.rs).
        let uri: Uri = format!(
            "{}/waInstance{}/getAvatar/{}",
            base.url,
            id_instance,
            token.placeholder()
        )
        .parse()
        .map_err(|_| Error::invalid("api_url does not make a valid request URL"))?;
        let injection = Arc::new(Injection::new(&token, &uri));
        let pacing = PacingWanted {
            id_instance: id_instance.to_string(),
            rate_per_sec: options.rate_limit_per_sec,
            pacing: options.pacing.clone(),
            connect_timeout: options.connect_timeout,
        };
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("http") {
                80
            } else {
                443
            });
        let obs = Arc::new(Observe::new(
            options.observer.clone(),
            &base.host,
            port,
            options.rate_limit_per_sec,
        ));
        let state = ProcessState::new(
            &config,
            &pacing,
            &injection,
            options.max_in_flight,
            &obs,
            true,
        )?;
        let download = crate::download::Downloader::new(&config, options)?;
        Ok(Client {
            state: PerProcess::new(state),
            config,
            injection,
            pacing,
            shut_down: AtomicBool::new(false),
            uri,
            token,
            id_instance: id_instance.to_string(),
            host: base.host,
            max_retries: options.max_retries,
            max_body_bytes: options.max_body_bytes,
            timeout: options.timeout,
            connect_timeout: options.connect_timeout,
            max_in_flight: options.max_in_flight,
            download,
            obs,
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

    /// The pacing in force in this process: the one asked for, [`Pacing::Host`] while a Redis
    /// pacing cannot reach Redis, or [`Pacing::Process`] when a host pacing's file could not be
    /// used (or pacing is off).
    pub fn pacing(&self) -> Pacing {
        self.state().dispatch.pacer().in_force()
    }

    /// How many requests of one batch are on the wire at once.
    pub fn max_in_flight(&self) -> u32 {
        self.max_in_flight
    }

    /// Asks the service for the avatar of `chat_id` (a bare phone number becomes `...@c.us`).
    ///
    /// Retries 429, 499, 500, 502, 503, 504, timeouts and connection failures with exponential
    /// backoff and jitter (GetAvatar only reads, so a retry is safe), honouring `Retry-After`.
    pub fn get_avatar(&self, chat_id: &str) -> Result<Avatar, Error> {
        // Nothing to poll: only a shutdown stops this call, and it wakes the call's waits.
        self.get_chat_id(&ChatId::parse(chat_id)?, &|| false, false)
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
        self.get_chat_id(&ChatId::parse(chat_id)?, interrupt, true)
    }

    /// [`Client::get_avatar_interruptible`] for an id already normalised; `polls`: `interrupt`
    /// must be asked while the call waits (see `Call::new`).
    fn get_chat_id(
        &self,
        chat_id: &ChatId<'_>,
        interrupt: &dyn Fn() -> bool,
        polls: bool,
    ) -> Result<Avatar, Error> {
        if observe::in_handler() {
            return Err(Error::invalid(
                "a client cannot be called from its own event handler",
            ));
        }
        let body = crate::retry::request_body(chat_id)?;
        // Only the client's own flag is looked at before the call: the caller's check is asked
        // while the call waits, so a fast call never pays for it.
        if self.is_shut_down() {
            return self.ended(Err(self.cancelled(0)));
        }
        let stop = || self.is_shut_down() || interrupt();
        let state = self.state();
        let call = Call::new(&stop, polls, state.dispatch.inner());
        self.ended(
            self.obs
                .enter(|| call.enter(|| self.run(state, &call, &body, None, None))),
        )
    }

    /// A call's result, counted.
    pub(crate) fn ended(&self, result: Result<Avatar, Error>) -> Result<Avatar, Error> {
        self.obs.counters.call_ended(match &result {
            Ok(_) => 0,
            Err(e) => e.kind().info().c_code,
        });
        result
    }

    /// What this client did so far: calls, attempts, retries, results, pacing waits,
    /// connections, bytes (see [`Stats`]).
    pub fn stats(&self) -> Stats {
        self.obs
            .counters
            .snapshot(self.state().dispatch.pacer().rate_in_force())
    }

    /// Stops this client: calls in progress on any thread return [`ErrorKind::Cancelled`]
    /// promptly (a blocked socket is woken at once, a wait within 50 ms), and so does every
    /// later call. Idle connections are closed. The client must still be dropped, once no call
    /// is running.
    pub fn shutdown(&self) {
        self.shut_down.store(true, Ordering::Release);
        let state = self.state();
        state.dispatch.close();
        state.agent.clone().shutdown();
        self.download.shutdown();
    }

    /// Whether [`Client::shutdown`] was called.
    pub fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    /// This process's state; in a forked child, a fresh one (see `fork.rs`).
    pub(crate) fn state(&self) -> &ProcessState {
        self.state.get(
            || {
                let Ok(fresh) = ProcessState::new(
                    &self.config,
                    &self.pacing,
                    &self.injection,
                    self.max_in_flight,
                    &self.obs,
                    false,
                ) else {
                    unreachable!("the rate was accepted when the client was made")
                };
                fresh
            },
            |fresh| {
                self.obs.emit(EventKind::ForkNoticed, |_| {});
                if self.is_shut_down() {
                    fresh.dispatch.close();
                    fresh.agent.clone().shutdown();
                }
            },
        )
    }

    /// The error of a call that was stopped after `attempts` attempts.
    pub(crate) fn cancelled(&self, attempts: u32) -> Error {
        let why = if self.is_shut_down() {
            "the call was cancelled: the client was shut down"
        } else {
            "the call was interrupted"
        };
        Error::new(ErrorKind::Cancelled, why).with_attempts(attempts)
    }

    /// What a failed exchange means, in terms of this client's settings.
    pub(crate) fn transport_failure(&self, e: ureq::Error) -> Failure {
        failure::from_transport(
            e,
            &failure::Setting {
                secret: &self.token,
                host: &self.host,
                proxy: self.config.proxy(),
                max_body_bytes: self.max_body_bytes,
                timeout: self.timeout,
                connect_timeout: self.connect_timeout,
            },
        )
    }
}

/// ureq's configuration for `options`, whose URL is `base`.
fn agent_config(options: &Options, base: &validate::BaseUrl) -> Result<Config, Error> {
    let user_agent = options
        .user_agent
        .clone()
        .unwrap_or_else(|| concat!("greenapi/", env!("CARGO_PKG_VERSION")).to_string());
    let proxy = proxy::choose(options, base)?;
    let tls = TlsConfig::builder()
        .root_certs(tls::root_certs(options)?)
        .build();
    Ok(Agent::config_builder()
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
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(!c.state().resolved.holds_addresses());
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
        assert!(c.state().resolved.holds_addresses());
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
