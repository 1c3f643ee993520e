//! The client: one pooled HTTP agent, the request URI built once, pacing and retries.

use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::Read;
use std::time::Duration;

use ureq::Agent;
use ureq::http::{StatusCode, Uri};
use ureq::tls::TlsConfig;
use ureq::unversioned::transport::DefaultConnector;

use crate::avatar::{Avatar, parse_body};
use crate::error::{Error, ErrorKind};
use crate::limiter::Limiter;
use crate::options::{DEFAULT_API_URL, Options};
use crate::proxy;
use crate::resolver::CachingResolver;
use crate::{tls, validate};

/// First backoff delay; doubled per retry, with jitter, up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A `Retry-After` longer than this is cut to it: one call should not block for minutes.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// How much of an error body is read to explain a failure.
const ERROR_BODY_READ: u64 = 4096;
/// How much of that text goes into a message.
const ERROR_TEXT_CHARS: usize = 300;

/// A GetAvatar client for one instance. Cheap to share between threads (`&Client` is all a call
/// needs): connections are pooled and kept alive, and pacing is shared by every caller.
pub struct Client {
    agent: Agent,
    /// `{api_url}/waInstance{id}/getAvatar/{token}`, parsed once. Holds the token: never printed.
    uri: Uri,
    token: Secret,
    id_instance: String,
    host: String,
    limiter: Option<Limiter>,
    max_retries: u32,
    max_body_bytes: u64,
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
struct Failure {
    error: Error,
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
        let limiter = Limiter::new(options.rate_limit_per_sec)?;
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
            .max_idle_connections(16)
            .max_idle_connections_per_host(16)
            .build();
        let uri: Uri = format!(
            "{}/waInstance{}/getAvatar/{}",
            base.url, id_instance, api_token_instance
        )
        .parse()
        .map_err(|_| Error::invalid("api_url does not make a valid request URL"))?;
        Ok(Client {
            agent: Agent::with_parts(config, DefaultConnector::default(), CachingResolver::new()),
            uri,
            token: Secret(api_token_instance.to_string()),
            id_instance: id_instance.to_string(),
            host: base.host,
            limiter,
            max_retries: options.max_retries,
            max_body_bytes: options.max_body_bytes,
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
        let chat_id = validate::normalize_chat_id(chat_id)?;
        let body = serde_json::to_vec(&RequestBody { chat_id: &chat_id })
            .map_err(|e| Error::invalid(format!("chat_id cannot be encoded: {e}")))?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            if let Some(limiter) = &self.limiter {
                limiter.acquire();
            }
            match self.attempt(&body) {
                Ok(mut avatar) => {
                    avatar.attempts = attempts;
                    return Ok(avatar);
                }
                Err(f) if f.retryable && attempts <= self.max_retries => {
                    std::thread::sleep(
                        f.retry_after
                            .map_or_else(|| backoff(attempts), |d| d.min(MAX_RETRY_AFTER)),
                    );
                }
                Err(f) => return Err(f.error.with_attempts(attempts)),
            }
        }
    }

    fn attempt(&self, body: &[u8]) -> Result<Avatar, Failure> {
        let mut response = self
            .agent
            .post(self.uri.clone())
            .header("content-type", "application/json")
            .send(body)
            .map_err(|e| self.transport_failure(e))?;
        let status = response.status();
        if status == StatusCode::OK {
            let bytes = response
                .body_mut()
                .with_config()
                .limit(self.max_body_bytes)
                .read_to_vec()
                .map_err(|e| self.transport_failure(e))
                .map_err(|f| Failure {
                    error: f.error.with_status(200),
                    ..f
                })?;
            let mut avatar = parse_body(&bytes).map_err(|e| Failure {
                error: e.with_status(200),
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
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut text = Vec::new();
        // A failure to read the error body only loses the explanation, not the status.
        let _ = response
            .body_mut()
            .with_config()
            .limit(u64::MAX)
            .reader()
            .take(ERROR_BODY_READ)
            .read_to_end(&mut text);
        let kind = ErrorKind::from_status(code);
        let reason = status.canonical_reason().unwrap_or("");
        let mut message = format!("HTTP {code} {reason}").trim_end().to_string();
        if code == 466 {
            message.push_str(" (the plan's quota is used up)");
        } else if (300..400).contains(&code) {
            message.push_str(" (redirects are not followed: the token is in the URL)");
        }
        let detail = self.excerpt(&text);
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
            proxy::explain(&e, self.agent.config().proxy()).or_else(|| tls::explain(&e))
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
        let message = match kind {
            ErrorKind::BodyTooLarge => format!(
                "the response body is larger than max_body_bytes ({} bytes); reading stopped there",
                self.max_body_bytes
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

    /// A short, single-line, token-free excerpt of a server body. The token is removed before
    /// the cut, so no prefix of it can survive at the edge.
    fn excerpt(&self, body: &[u8]) -> String {
        let text = self.scrub(&String::from_utf8_lossy(body));
        let flat: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(ERROR_TEXT_CHARS)
            .collect();
        flat.trim().to_string()
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
