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
mod fetch;
mod save;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::SystemTime;

use ureq::Agent;
use ureq::config::Config;
use ureq::unversioned::transport::{ConnectProxyConnector, Connector};

pub use check::{DEFAULT_DOWNLOAD_HOST, ImageType};
pub use save::{MAX_STEM_BYTES, file_stem};

use crate::call::{Call, SLICE};
use crate::client::Client;
use crate::error::Error;
use crate::fork::{Inherited, PerProcess, Sockets};
use crate::options::Options;
use crate::resolver::CachingResolver;
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
    max_in_flight: u32,
}

/// A process's share of a client's downloads: its pool, and its slots (per process too: a
/// forked child must not inherit the count of downloads its parent's threads had running, nor
/// a lock one of them may have held at the fork).
struct DownloadState {
    agent: Agent,
    sockets: Arc<Sockets>,
    slots: Slots,
}

impl DownloadState {
    fn new(config: &Config, max_in_flight: u32) -> DownloadState {
        let resolver = CachingResolver::new();
        let forget = resolver.forget_handle();
        let sockets = Arc::new(Sockets::default());
        // No `InjectConnector`: nothing on this path knows the token.
        let connector = ()
            .chain(ConnectProxyConnector::default())
            .chain(TcpConnector {
                sockets: sockets.clone(),
                forget,
                // Downloads are not observed yet: their connections and bytes are not the
                // GetAvatar client's, whose counters must match what the service saw.
                obs: Arc::new(crate::observe::Observe::new(None, "", 443, 0.0)),
            })
            .chain(crate::tls::TlsConnector);
        DownloadState {
            agent: Agent::with_parts(config.clone(), connector, resolver),
            sockets,
            slots: Slots {
                max: max_in_flight,
                busy: Mutex::new(0),
                freed: Condvar::new(),
            },
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
            state: PerProcess::new(DownloadState::new(config, options.max_in_flight)),
            config: config.clone(),
            hosts: AllowedHosts::new(&options.download_hosts)?,
            max_bytes: options.max_download_bytes,
            max_in_flight: options.max_in_flight,
        })
    }

    fn state(&self, shut_down: bool) -> &DownloadState {
        self.state.get(
            || DownloadState::new(&self.config, self.max_in_flight),
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
    /// asked, and the CDN's 403, 404 and 410 mean the same: [`crate::ErrorKind::Expired`], ask
    /// GetAvatar again. The picture must be JPEG, PNG or WebP, by its `Content-Type` and by its
    /// first bytes ([`crate::ErrorKind::BadResponse`] says what came instead), and at most
    /// `max_download_bytes` ([`crate::ErrorKind::BodyTooLarge`]). Timeouts, retries of network
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
        // Polled, as before the dispatcher: downloads wait on their own slots, which no
        // dispatcher wake-up reaches.
        let call = Call::new(&stop, true, self.state().dispatch.inner());
        let state = d.state(self.is_shut_down());
        let Some(_slot) = state.slots.acquire(&call) else {
            return Err(self.cancelled(0));
        };
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
