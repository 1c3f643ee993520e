//! Name resolution done once per client, not once per call.
//!
//! ureq resolves the host before it looks in its connection pool, so every call, even one that
//! reuses a kept-alive connection, would pay a DNS lookup (and, with a timeout set, the spawn of
//! a thread to bound it): measured at about 220 µs per call on loopback. A client only ever calls
//! one host, so the answer is kept for a while and shared by every thread.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long resolved addresses are reused. getaddrinfo gives no TTL; a minute lets a moved
/// host be found again soon, while the cost of one lookup a minute is nothing. Connections
/// already open are not affected either way.
const KEEP: Duration = Duration::from_secs(60);

pub(crate) struct CachingResolver {
    inner: DefaultResolver,
    cached: Arc<Mutex<Option<Entry>>>,
}

/// Drops the cached addresses: handed to the connector, which calls it when no address of the
/// host could be connected to, so that retries and new connections resolve again instead of
/// trying the same dead addresses in the same order for the rest of the minute.
#[derive(Clone)]
pub(crate) struct Forget(Arc<Mutex<Option<Entry>>>);

impl Forget {
    pub(crate) fn forget(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Whether addresses are cached now.
    #[cfg(test)]
    pub(crate) fn holds_addresses(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }
}

struct Entry {
    scheme_authority: (String, String),
    at: Instant,
    addrs: ResolvedSocketAddrs,
}

impl CachingResolver {
    pub(crate) fn new() -> CachingResolver {
        CachingResolver {
            inner: DefaultResolver::default(),
            cached: Arc::new(Mutex::new(None)),
        }
    }

    pub(crate) fn forget_handle(&self) -> Forget {
        Forget(self.cached.clone())
    }
}

impl fmt::Debug for CachingResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CachingResolver")
    }
}

fn same_target(e: &Entry, uri: &Uri) -> bool {
    uri.scheme_str() == Some(e.scheme_authority.0.as_str())
        && uri.authority().map(|a| a.as_str()) == Some(e.scheme_authority.1.as_str())
}

impl Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        {
            let cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = cached.as_ref()
                && e.at.elapsed() < KEEP
                && same_target(e, uri)
            {
                return Ok(e.addrs.clone());
            }
        }
        // RFC 6761: names under "invalid." never resolve, so no query is sent for them.
        let host = uri.host().unwrap_or_default().trim_end_matches('.');
        let lower = host.to_ascii_lowercase();
        if lower == "invalid" || lower.ends_with(".invalid") {
            return Err(ureq::Error::HostNotFound);
        }
        // Failures are not kept: the next call tries again.
        let addrs = self.inner.resolve(uri, config, timeout)?;
        if let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) {
            *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some(Entry {
                scheme_authority: (scheme.to_string(), authority.as_str().to_string()),
                at: Instant::now(),
                addrs: addrs.clone(),
            });
        }
        Ok(addrs)
    }
}
