//! Client options and their defaults.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::Error;

/// The service's default host.
pub const DEFAULT_API_URL: &str = "https://api.green-api.com";

/// How a [`crate::Client`] talks to the service. `Options::default()` gives the documented
/// defaults; every field is checked when the client is built.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Base URL, e.g. the instance's own `https://7103.api.greenapi.com`; a path prefix is
    /// allowed and a trailing `/` is ignored. `None`: [`DEFAULT_API_URL`].
    pub api_url: Option<String>,
    /// Time allowed for one HTTP attempt, body included.
    pub timeout: Duration,
    /// Time allowed to connect (TCP and TLS).
    pub connect_timeout: Duration,
    /// Retries after the first attempt on 429, 499, 5xx, timeouts and connection failures.
    pub max_retries: u32,
    /// Requests per second this client may send, shared by all threads; 0 turns pacing off.
    pub rate_limit_per_sec: f64,
    /// `User-Agent` header. `None`: `greenapi/<version>`.
    pub user_agent: Option<String>,
    /// A PEM file of root certificates to trust in addition to the built-in roots.
    pub ca_file: Option<PathBuf>,
    /// Proxy URL. `None`: from `ALL_PROXY`/`HTTPS_PROXY`/`HTTP_PROXY`; `Some("")`: no proxy.
    pub proxy: Option<String>,
    /// Largest response body read; a larger one is [`crate::ErrorKind::BodyTooLarge`].
    pub max_body_bytes: u64,
    /// Allow plain `http://` to a host that is not loopback (the token would travel in clear).
    pub allow_insecure_http: bool,
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
        }
    }
}

impl Options {
    /// Refuses values out of their documented range, so that a call can only fail for reasons
    /// that come from the network or the service. `api_url`, `proxy` and `ca_file` are checked
    /// where they are used.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.timeout.is_zero() {
            return Err(Error::invalid("timeout must be greater than zero"));
        }
        if self.connect_timeout.is_zero() {
            return Err(Error::invalid("connect_timeout must be greater than zero"));
        }
        if self.max_retries > MAX_RETRIES_LIMIT {
            return Err(Error::invalid(format!(
                "max_retries must be at most {MAX_RETRIES_LIMIT}"
            )));
        }
        if self.max_body_bytes == 0 {
            return Err(Error::invalid("max_body_bytes must be greater than zero"));
        }
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
