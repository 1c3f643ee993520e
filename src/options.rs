//! Client options and their defaults.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;
use crate::observe::Observer;
use crate::pacing::Pacing;

/// The service's default host.
pub const DEFAULT_API_URL: &str = "https://api.green-api.com";

/// How a [`crate::Client`] talks to the service. `Options::default()` gives the documented
/// defaults; every field is checked when the client is built, and a value outside its
/// documented range is [`crate::ErrorKind::InvalidArgument`].
#[derive(Clone, PartialEq)]
pub struct Options {
    /// Base URL, e.g. the instance's own `https://7103.api.greenapi.com`; a path prefix is
    /// allowed and a trailing `/` is ignored. `None`: [`DEFAULT_API_URL`].
    pub api_url: Option<String>,
    /// Time allowed for one HTTP attempt, body included: from [`MIN_TIMEOUT_MS`] to
    /// [`MAX_TIMEOUT_MS`].
    pub timeout: Duration,
    /// Time allowed to connect (TCP and TLS): from [`MIN_TIMEOUT_MS`] to [`MAX_TIMEOUT_MS`].
    pub connect_timeout: Duration,
    /// Retries after the first attempt on 429, 499, 5xx, timeouts and connection failures:
    /// 0 to [`MAX_RETRIES_LIMIT`].
    pub max_retries: u32,
    /// Requests per second this client may send, shared by all threads: 0 turns pacing off,
    /// else from [`MIN_RATE_LIMIT_PER_SEC`] to [`MAX_RATE_LIMIT_PER_SEC`].
    pub rate_limit_per_sec: f64,
    /// `User-Agent` header. `None`: `greenapi/<version>`.
    pub user_agent: Option<String>,
    /// A PEM file of root certificates to trust in addition to the built-in roots.
    pub ca_file: Option<PathBuf>,
    /// Proxy URL (`http://` or `https://`, optionally with `user:password@`). `None`: from
    /// the first of `https_proxy`, `HTTPS_PROXY`, `all_proxy`, `ALL_PROXY` that is set and not
    /// empty, honouring `no_proxy`/`NO_PROXY`, and never for a loopback `api_url`
    /// (`HTTP_PROXY` is not used: the service is reached over https). `Some("")`: no proxy.
    pub proxy: Option<String>,
    /// Largest response body read, from 1 to [`MAX_BODY_BYTES_LIMIT`]; a larger body is
    /// [`crate::ErrorKind::BodyTooLarge`].
    pub max_body_bytes: u64,
    /// Allow plain `http://` to a host that is not loopback (the token would travel in clear).
    pub allow_insecure_http: bool,
    /// The most requests of this client on the wire at once, in this process: every batch
    /// ([`crate::Client::batch`]) and single call together, 1 to [`MAX_IN_FLIGHT_LIMIT`].
    /// Under pacing, fewer are sent: about rate x recent latency x 1.5 (Little's law, with
    /// headroom), halved while the service pushes back; with pacing off, this is the bound. It
    /// also bounds the client's worker threads.
    pub max_in_flight: u32,
    /// With whom the rate is shared: by default every client for the same instance on this
    /// machine ([`Pacing::Host`]); [`Pacing::Process`] this client alone; with the `redis`
    /// feature, `Pacing::Redis` (`Pacing::parse("redis://[user:password@]host[:port][/db]")`)
    /// every client for the instance on every machine that uses that Redis (a GCRA script on
    /// the server's clock, key `greenapi:getAvatar:<idInstance>`, expiring when idle). The
    /// client connects when it is made: an unreachable Redis is [`crate::ErrorKind::Network`],
    /// a bad URL or refused credentials [`crate::ErrorKind::InvalidArgument`]; no wait for
    /// Redis is longer than `connect_timeout`. When Redis fails later, calls go on under host
    /// pacing and Redis is tried again every few seconds ([`crate::Client::pacing`] says which
    /// is in force). This `Debug` shows the URL without its password.
    pub pacing: Pacing,
    /// Hosts [`crate::Client::download_avatar`] may fetch pictures from, besides
    /// [`crate::DEFAULT_DOWNLOAD_HOST`] (`whatsapp.net`): each a bare host name or IP address,
    /// allowing itself and (a name) every host under it. Redirects are held to the same list.
    pub download_hosts: Vec<String>,
    /// Largest picture downloaded, from 1 to [`MAX_DOWNLOAD_BYTES_LIMIT`]; a larger one is
    /// [`crate::ErrorKind::BodyTooLarge`].
    pub max_download_bytes: u64,
    /// Who is told of the client's events (requests, retries, pauses, connections...), at
    /// which least level; `None` (the default): nobody, at the cost of one atomic load per
    /// event site. See [`Observer`].
    pub observer: Option<Observer>,
}

/// The service documents 10 getAvatar requests per second per instance.
pub const DEFAULT_RATE_LIMIT_PER_SEC: f64 = 10.0;
/// Per-attempt timeout, in milliseconds.
pub const DEFAULT_TIMEOUT_MS: u32 = 30_000;
/// Connect timeout, in milliseconds.
pub const DEFAULT_CONNECT_TIMEOUT_MS: u32 = 10_000;
/// Retries after the first attempt.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// 1 MiB: a GetAvatar answer is a few hundred bytes.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1 << 20;
/// More retries than this would let one call block for minutes.
pub const MAX_RETRIES_LIMIT: u32 = 10;
/// Shortest `timeout` and `connect_timeout`, in milliseconds.
pub const MIN_TIMEOUT_MS: u32 = 1;
/// Longest `timeout` and `connect_timeout`, in milliseconds: one day. Deadlines are computed
/// by adding the timeout to the current instant, which must not overflow.
pub const MAX_TIMEOUT_MS: u32 = 86_400_000;
/// Slowest pacing: one request an hour. Slower would make a call that waits its turn, or a
/// retry, block for longer than any caller expects.
pub const MIN_RATE_LIMIT_PER_SEC: f64 = 1.0 / 3600.0;
/// Fastest pacing, far above the service's documented 10 per second.
pub const MAX_RATE_LIMIT_PER_SEC: f64 = 10_000.0;
/// Largest `max_body_bytes`: 1 GiB. A GetAvatar answer is a few hundred bytes, and the whole
/// body is held in memory.
pub const MAX_BODY_BYTES_LIMIT: u64 = 1 << 30;
/// 5 MiB: WhatsApp's profile pictures are some tens of KiB (640x640 JPEG at most).
pub const DEFAULT_MAX_DOWNLOAD_BYTES: u64 = 5 << 20;
/// Largest `max_download_bytes`: 64 MiB. A picture is held in memory whole.
pub const MAX_DOWNLOAD_BYTES_LIMIT: u64 = 64 << 20;
/// Requests of a client on the wire at once: at 10 per second, enough for answers that take 4
/// seconds (the in-flight target follows the latency below this).
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 64;
/// Largest `max_in_flight`: each request in flight is a thread and a connection.
pub const MAX_IN_FLIGHT_LIMIT: u32 = 256;

impl Default for Options {
    fn default() -> Self {
        Options {
            api_url: None,
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS.into()),
            connect_timeout: Duration::from_millis(DEFAULT_CONNECT_TIMEOUT_MS.into()),
            max_retries: DEFAULT_MAX_RETRIES,
            rate_limit_per_sec: DEFAULT_RATE_LIMIT_PER_SEC,
            user_agent: None,
            ca_file: None,
            proxy: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            allow_insecure_http: false,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            pacing: Pacing::Host,
            download_hosts: Vec::new(),
            max_download_bytes: DEFAULT_MAX_DOWNLOAD_BYTES,
            observer: None,
        }
    }
}

impl Options {
    /// Refuses values out of their documented range, so that a call can only fail for reasons
    /// that come from the network or the service. `api_url`, `proxy` and `ca_file` are checked
    /// where they are used.
    pub(crate) fn check(&self) -> Result<(), Error> {
        check_timeout(self.timeout, "timeout")?;
        check_timeout(self.connect_timeout, "connect_timeout")?;
        if self.max_retries > MAX_RETRIES_LIMIT {
            return Err(Error::invalid(format!(
                "max_retries must be from 0 to {MAX_RETRIES_LIMIT}"
            )));
        }
        if !rate_in_range(self.rate_limit_per_sec) {
            return Err(Error::invalid(format!(
                "rate_limit_per_sec must be 0 (pacing off) or from 1/3600 (one request an \
                 hour) to {MAX_RATE_LIMIT_PER_SEC} requests per second"
            )));
        }
        if !(1..=MAX_BODY_BYTES_LIMIT).contains(&self.max_body_bytes) {
            return Err(Error::invalid(format!(
                "max_body_bytes must be from 1 to {MAX_BODY_BYTES_LIMIT} (1 GiB)"
            )));
        }
        if !(1..=MAX_IN_FLIGHT_LIMIT).contains(&self.max_in_flight) {
            return Err(Error::invalid(format!(
                "max_in_flight must be from 1 to {MAX_IN_FLIGHT_LIMIT}"
            )));
        }
        crate::download::check_options(self)?;
        if let Some(ua) = &self.user_agent
            && (ua.is_empty() || ua.chars().any(|c| c.is_control()))
        {
            return Err(Error::invalid(
                "user_agent must be non-empty and free of control characters",
            ));
        }
        Ok(())
    }
}

/// Whether a timeout is within [`MIN_TIMEOUT_MS`]..=[`MAX_TIMEOUT_MS`].
pub(crate) fn timeout_in_range(d: Duration) -> bool {
    (Duration::from_millis(MIN_TIMEOUT_MS.into())..=Duration::from_millis(MAX_TIMEOUT_MS.into()))
        .contains(&d)
}

/// Whether a rate is 0 (off) or within the documented range; NaN and infinities are not.
pub(crate) fn rate_in_range(rate: f64) -> bool {
    rate == 0.0 || (MIN_RATE_LIMIT_PER_SEC..=MAX_RATE_LIMIT_PER_SEC).contains(&rate)
}

fn check_timeout(d: Duration, name: &str) -> Result<(), Error> {
    if timeout_in_range(d) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "{name} must be from {MIN_TIMEOUT_MS} ms to {MAX_TIMEOUT_MS} ms (one day)"
        )))
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("api_url", &self.api_url)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_retries", &self.max_retries)
            .field("rate_limit_per_sec", &self.rate_limit_per_sec)
            .field("user_agent", &self.user_agent)
            .field("ca_file", &self.ca_file)
            .field("proxy", &self.proxy.as_deref().map(without_credentials))
            .field("max_body_bytes", &self.max_body_bytes)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("max_in_flight", &self.max_in_flight)
            .field("pacing", &self.pacing)
            .field("download_hosts", &self.download_hosts)
            .field("max_download_bytes", &self.max_download_bytes)
            .field("observer", &self.observer)
            .finish()
    }
}

/// `http://user:pass@host:port` shown as `http://***@host:port`. The user information ends at
/// the last `@` of the authority (a password may hold an unencoded `@`).
fn without_credentials(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => format!("***{}", &rest[at..]),
        None => rest.to_string(),
    };
    match scheme {
        Some(scheme) => format!("{scheme}://{rest}"),
        None => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_hidden() {
        for (url, shown) in [
            ("http://u:p@h:1", "http://***@h:1"),
            ("http://u:p@x@h:1/p@q", "http://***@h:1/p@q"),
            ("u@h", "***@h"),
            ("http://h:1", "http://h:1"),
            ("", ""),
            ("@", "***@"),
        ] {
            assert_eq!(without_credentials(url), shown, "{url}");
        }
    }

    #[test]
    fn rate_bounds() {
        assert!(rate_in_range(0.0) && rate_in_range(-0.0));
        assert!(rate_in_range(1.0 / 3600.0) && rate_in_range(10_000.0));
        for bad in [f64::NAN, f64::INFINITY, -1.0, 1e-19, 0.0001, 10_000.5] {
            assert!(!rate_in_range(bad), "{bad}");
        }
    }
}
