//! Downloading the picture a GetAvatar answer links to, from WhatsApp's CDN.
//!
//! The CDN is not the service: a download has its own agent and connection pool (made from the
//! client's configuration: the same TLS roots and `ca_file`, timeouts, proxy and user agent),
//! but no token injection in its connector chain, so the token cannot reach it, and no header
//! of the GetAvatar call is sent. It is not paced by the GetAvatar pacing, only bounded in
//! flight (`max_in_flight` at once per client). Redirects are followed here, one by one, each
//! target checked like the first link (`check.rs`). Shutdown and interruption work as for calls:
//! the same `Call` and sliced waits (`call.rs`, `transport.rs`).

mod check;
mod save;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::SystemTime;

use ureq::Agent;
use ureq::config::Config;
use ureq::http::{StatusCode, Uri};
use ureq::unversioned::transport::{ConnectProxyConnector, Connector};

pub use check::{DEFAULT_DOWNLOAD_HOST, ImageType};
pub use save::{MAX_STEM_BYTES, file_stem};

use crate::call::{Call, SLICE};
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::failure::Failure;
use crate::fork::{Inherited, PerProcess, Sockets};
use crate::options::Options;
use crate::resolver::CachingResolver;
use crate::response::ERROR_BODY_READ;
use crate::transport::TcpConnector;
use check::AllowedHosts;

/// Redirects followed for one download, each to an allowed `https` host.
pub const MAX_DOWNLOAD_REDIRECTS: u32 = 3;

/// A picture, checked: its bytes match its type.
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    /// The picture's bytes, at most `max_download_bytes`.
    pub bytes: Vec<u8>,
    /// Its type, from the `Content-Type` and the first bytes (which agree).
    pub kind: ImageType,
    /// HTTP attempts made, 1 + retries (redirects are not attempts).
    pub attempts: u32,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("kind", &self.kind)
            .field("len", &self.bytes.len())
            .field("attempts", &self.attempts)
            .finish()
    }
}

/// A client's downloads: the rules, and the pool of each process.
pub(crate) struct Downloader {
    state: PerProcess<DownloadState>,
    config: Config,
    hosts: AllowedHosts,
    max_bytes: u64,
    slots: Slots,
}

struct DownloadState {
    agent: Agent,
    sockets: Arc<Sockets>,
}

impl DownloadState {
    fn new(config: &Config) -> DownloadState {
        let resolver = CachingResolver::new();
        let forget = resolver.forget_handle();
        let sockets = Arc::new(Sockets::default());
        // No `InjectConnector`: nothing on this path knows the token.
        let connector = ()
            .chain(ConnectProxyConnector::default())
            .chain(TcpConnector {
                sockets: sockets.clone(),
                forget,
            })
            .chain(crate::tls::TlsConnector);
        DownloadState {
            agent: Agent::with_parts(config.clone(), connector, resolver),
            sockets,
        }
    }
}

impl Inherited for DownloadState {
    fn abandon(&self) {
        self.sockets.abandon();
    }
}

/// At most `max` downloads of a client at once; a waiting one still notices a stop.
struct Slots {
    max: u32,
    busy: Mutex<u32>,
    freed: Condvar,
}

impl Slots {
    /// A slot, or `None` when the call stopped while it waited for one.
    fn acquire<'a>(&'a self, call: &Call<'_>) -> Option<SlotGuard<'a>> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        while *busy >= self.max {
            if call.should_stop() {
                return None;
            }
            busy = self
                .freed
                .wait_timeout(busy, SLICE)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *busy += 1;
        Some(SlotGuard(self))
    }
}

struct SlotGuard<'a>(&'a Slots);

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self.0.busy.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        self.0.freed.notify_one();
    }
}

impl Downloader {
    /// From the client's ureq configuration (redirects off, statuses as answers) and options.
    pub(crate) fn new(config: &Config, options: &Options) -> Result<Downloader, Error> {
        Ok(Downloader {
            state: PerProcess::new(DownloadState::new(config)),
            config: config.clone(),
            hosts: AllowedHosts::new(&options.download_hosts)?,
            max_bytes: options.max_download_bytes,
            slots: Slots {
                max: options.max_in_flight,
                busy: Mutex::new(0),
                freed: Condvar::new(),
            },
        })
    }

    fn state(&self, shut_down: bool) -> &DownloadState {
        self.state.get(
            || DownloadState::new(&self.config),
            |fresh| {
                if shut_down {
                    fresh.agent.clone().shutdown();
                }
            },
        )
    }

    /// Closes this process's pool and wakes every download blocked on a socket.
    pub(crate) fn shutdown(&self) {
        self.state(true).agent.clone().shutdown();
    }
}

impl Client {
    /// Downloads the picture `url` links to (an [`crate::Avatar`]'s `url_avatar`).
    ///
    /// Only `https` to a host under `whatsapp.net` or in the `download_hosts` option, redirects
    /// included (at most [`MAX_DOWNLOAD_REDIRECTS`]). A link past its `oe=` expiry is not even
    /// asked, and the CDN's 403, 404 and 410 mean the same: [`ErrorKind::Expired`], ask
    /// GetAvatar again. The picture must be JPEG, PNG or WebP, by its `Content-Type` and by its
    /// first bytes ([`ErrorKind::BadResponse`] says what came instead), and at most
    /// `max_download_bytes` ([`ErrorKind::BodyTooLarge`]). Timeouts, retries of network
    /// failures and 5xx, and shutdown work as for [`Client::get_avatar`]; the GetAvatar pacing
    /// does not apply, but at most `max_in_flight` downloads of the client run at once. The
    /// token and the GetAvatar call's headers are never sent.
    pub fn download_avatar(&self, url: &str) -> Result<Image, Error> {
        self.download_avatar_interruptible(url, &|| false)
    }

    /// [`Client::download_avatar`], stopped early as [`Client::get_avatar_interruptible`] is.
    pub fn download_avatar_interruptible(
        &self,
        url: &str,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<Image, Error> {
        let d = &self.download;
        let uri = check::link(url, &d.hosts, SystemTime::now())?;
        if self.is_shut_down() {
            return Err(self.cancelled(0));
        }
        let stop = || self.is_shut_down() || interrupt();
        let call = Call::new(&stop);
        let Some(_slot) = d.slots.acquire(&call) else {
            return Err(self.cancelled(0));
        };
        let state = d.state(self.is_shut_down());
        call.enter(|| self.fetch(d, state, &call, uri))
    }

    /// Downloads `url` and saves it as `dir/<stem>.<ext>` (see [`file_stem`] for making a stem
    /// from a chat id; the extension follows the picture's type): written to a temporary file
    /// in `dir`, flushed, and renamed into place, so the final name never holds half a picture,
    /// and a symlink waiting there is replaced, not followed. Returns the final path.
    pub fn save_avatar(&self, url: &str, dir: &Path, stem: &str) -> Result<PathBuf, Error> {
        self.save_avatar_interruptible(url, dir, stem, &|| false)
    }

    /// [`Client::save_avatar`], stopped early as [`Client::get_avatar_interruptible`] is.
    pub fn save_avatar_interruptible(
        &self,
        url: &str,
        dir: &Path,
        stem: &str,
        interrupt: &dyn Fn() -> bool,
    ) -> Result<PathBuf, Error> {
        if stem.is_empty() || stem.contains(['/', '\0']) || stem.starts_with('.') {
            return Err(Error::invalid(
                "the file stem must be non-empty, without '/' or NUL, and not start with '.' \
                 (file_stem makes one from a chat id)",
            ));
        }
        let image = self.download_avatar_interruptible(url, interrupt)?;
        save::write_picture(dir, stem, image.kind, &image.bytes)
    }

    /// Attempts (and redirects) until a picture, a failure not worth retrying, or a stop.
    fn fetch(
        &self,
        d: &Downloader,
        state: &DownloadState,
        call: &Call<'_>,
        uri: Uri,
    ) -> Result<Image, Error> {
        let mut attempts = 0;
        let mut stale_resends = 0;
        let mut uri = uri;
        let mut redirects = 0;
        loop {
            attempts += 1;
            call.new_attempt();
            let failure = match self.fetch_once(d, state, &uri) {
                Ok(Fetched::Image(kind, bytes)) => {
                    return Ok(Image {
                        bytes,
                        kind,
                        attempts,
                    });
                }
                Ok(Fetched::Redirect(next)) => {
                    redirects += 1;
                    if redirects > MAX_DOWNLOAD_REDIRECTS {
                        return Err(Error::new(
                            ErrorKind::HttpStatus,
                            format!("the CDN redirected more than {MAX_DOWNLOAD_REDIRECTS} times"),
                        )
                        .with_attempts(attempts));
                    }
                    uri = next;
                    attempts -= 1;
                    continue;
                }
                Err(f) => f,
            };
            if call.should_stop() {
                return Err(self.cancelled(attempts));
            }
            if failure.error.kind() == ErrorKind::Network
                && call.failed_on_stale_connection()
                && stale_resends < 1
            {
                // As for calls (retry.rs): a pooled connection the CDN had closed.
                stale_resends += 1;
                attempts -= 1;
                continue;
            }
            if !(failure.retryable && attempts <= self.max_retries) {
                return Err(failure.error.with_attempts(attempts));
            }
            if !call.sleep(crate::retry::backoff(attempts)) {
                return Err(self.cancelled(attempts));
            }
        }
    }

    /// One request to the CDN and what it answered.
    fn fetch_once(
        &self,
        d: &Downloader,
        state: &DownloadState,
        uri: &Uri,
    ) -> Result<Fetched, Failure> {
        let host = uri.host().unwrap_or_default();
        let mut response = state
            .agent
            .get(uri.clone())
            .header("accept", "image/jpeg, image/png, image/webp")
            .call()
            .map_err(|e| self.download_failure(e, host, d.max_bytes))?;
        let status = response.status();
        let code = status.as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if matches!(code, 301 | 302 | 303 | 307 | 308) {
            let location = header("location").unwrap_or_default();
            let next = redirect_target(uri, &location, &d.hosts).map_err(|why| Failure {
                error: Error::new(
                    ErrorKind::HttpStatus,
                    format!("HTTP {code}: a redirect refused: {why}"),
                )
                .with_status(code),
                retryable: false,
                retry_after: None,
            })?;
            return Ok(Fetched::Redirect(next));
        }
        if status != StatusCode::OK {
            let mut text = Vec::new();
            let _ = response
                .body_mut()
                .with_config()
                .limit(u64::MAX)
                .reader()
                .take(ERROR_BODY_READ)
                .read_to_end(&mut text);
            return Err(status_failure(code, &self.token.excerpt(&text)));
        }
        let content_type = header("content-type").unwrap_or_default();
        let Some(kind) = ImageType::from_content_type(&content_type) else {
            return Err(not_an_image(format!(
                "the CDN answered with Content-Type {}, not a JPEG, PNG or WebP picture",
                shown_type(&content_type)
            )));
        };
        let bytes = response
            .body_mut()
            .with_config()
            .limit(d.max_bytes)
            .read_to_vec()
            .map_err(|e| self.download_failure(e, host, d.max_bytes))
            .map_err(|f| Failure {
                error: f.error.with_status(200),
                ..f
            })?;
        match ImageType::sniff(&bytes) {
            Some(found) if found == kind => Ok(Fetched::Image(kind, bytes)),
            Some(found) => Err(not_an_image(format!(
                "the CDN labelled the picture {} but its bytes are {}",
                kind.mime(),
                found.mime()
            ))),
            None => Err(not_an_image(format!(
                "the CDN labelled the picture {} but its first bytes are not a JPEG, PNG or \
                 WebP picture",
                kind.mime()
            ))),
        }
    }

    /// What a failed exchange with the CDN means.
    fn download_failure(&self, e: ureq::Error, host: &str, max_bytes: u64) -> Failure {
        if matches!(e, ureq::Error::BodyExceedsLimit(_)) {
            return Failure {
                error: Error::new(
                    ErrorKind::BodyTooLarge,
                    format!(
                        "the picture is larger than max_download_bytes ({max_bytes} bytes); \
                         reading stopped there"
                    ),
                ),
                retryable: false,
                retry_after: None,
            };
        }
        let mut f = self.transport_failure(e);
        // The message names the service's host where it names one; the CDN's is meant.
        if f.error.kind() == ErrorKind::Network && f.error.message().contains(self.host()) {
            f.error = Error::new(
                ErrorKind::Network,
                format!(
                    "network error: {} ({})",
                    f.error.message(),
                    check::shown_host(host)
                ),
            );
        }
        f
    }
}

enum Fetched {
    Image(ImageType, Vec<u8>),
    Redirect(Uri),
}

fn not_an_image(message: String) -> Failure {
    Failure {
        error: Error::new(ErrorKind::BadResponse, message).with_status(200),
        retryable: false,
        retry_after: None,
    }
}

/// A `Content-Type` as a message shows it: printable ASCII, bounded, `(none)` when missing.
fn shown_type(value: &str) -> String {
    let shown: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(100)
        .collect();
    if shown.is_empty() {
        "(none)".into()
    } else {
        format!("\"{shown}\"")
    }
}

/// What a status other than 200 or a redirect means for a picture.
fn status_failure(code: u16, detail: &str) -> Failure {
    let mut message = format!("the CDN answered HTTP {code}");
    if !detail.is_empty() {
        message.push_str(": ");
        message.push_str(detail);
    }
    let (kind, retryable) = match code {
        // What WhatsApp's CDN answers for a link whose signature expired (or was replaced).
        403 | 404 | 410 => {
            message.push_str(" (the link has expired or was revoked: ask GetAvatar again)");
            (ErrorKind::Expired, false)
        }
        429 => (ErrorKind::RateLimited, true),
        500 | 502 | 503 | 504 => (ErrorKind::ServerError, true),
        500..=599 => (ErrorKind::ServerError, false),
        _ => (ErrorKind::HttpStatus, false),
    };
    Failure {
        error: Error::new(kind, message).with_status(code),
        retryable,
        retry_after: None,
    }
}

/// Where a redirect's `Location` points, relative to `from`, if a download may go there.
fn redirect_target(from: &Uri, location: &str, hosts: &AllowedHosts) -> Result<Uri, String> {
    let location = location.trim();
    if location.is_empty() {
        return Err("it has no Location".into());
    }
    let absolute = if location.starts_with("//") {
        format!("https:{location}")
    } else if location.starts_with('/') {
        let authority = from.authority().map_or("", |a| a.as_str());
        format!("https://{authority}{location}")
    } else {
        location.to_string()
    };
    check::target(&absolute, hosts)
}

/// Checked in `Options::check`: a picture is held in memory whole.
pub(crate) fn check_options(options: &Options) -> Result<(), Error> {
    if !(1..=crate::options::MAX_DOWNLOAD_BYTES_LIMIT).contains(&options.max_download_bytes) {
        return Err(Error::invalid(format!(
            "max_download_bytes must be from 1 to {} (64 MiB)",
            crate::options::MAX_DOWNLOAD_BYTES_LIMIT
        )));
    }
    AllowedHosts::new(&options.download_hosts).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_resolve_and_are_checked() {
        let hosts = AllowedHosts::new(&["127.0.0.1".into()]).unwrap();
        let from: Uri = "https://127.0.0.1:8443/a/b?oe=1".parse().unwrap();
        let to = |l: &str| redirect_target(&from, l, &hosts).map(|u| u.to_string());
        assert_eq!(to("/c").unwrap(), "https://127.0.0.1:8443/c");
        assert_eq!(
            to("https://pps.whatsapp.net/x").unwrap(),
            "https://pps.whatsapp.net/x"
        );
        assert!(to("https://evil.example/x").is_err());
        assert!(to("http://127.0.0.1/x").is_err());
        assert!(to("//evil.example/x").is_err());
        assert!(to("").is_err());
    }

    #[test]
    fn statuses() {
        for (code, kind) in [
            (403, ErrorKind::Expired),
            (404, ErrorKind::Expired),
            (410, ErrorKind::Expired),
            (500, ErrorKind::ServerError),
            (418, ErrorKind::HttpStatus),
        ] {
            assert_eq!(status_failure(code, "").error.kind(), kind, "{code}");
        }
        assert!(status_failure(503, "").retryable && !status_failure(403, "").retryable);
    }
}
