//! Name resolution done once per client, not once per call.
//!
//! ureq resolves the host before it looks in its connection pool, so every call, even one that
//! reuses a kept-alive connection, would pay a DNS lookup (and, with a timeout set, the spawn of
//! a thread to bound it): measured at about 220 µs per call on loopback. A client only ever calls
//! one host, so the answer is kept for a while and shared by every thread.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

use crate::call::deadline;
use crate::lookup;

/// Most addresses kept of a lookup (ureq's own bound).
const MAX_ADDRS: usize = 16;

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
pub(crate) struct ForgetAddresses(Arc<Mutex<Option<Entry>>>);

impl ForgetAddresses {
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

    pub(crate) fn forget_handle(&self) -> ForgetAddresses {
        ForgetAddresses(self.cached.clone())
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
        if let Some(addrs) = localhost(uri, config) {
            return Ok(addrs);
        }
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
        let addrs = self.lookup(uri, config, timeout)?;
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

impl CachingResolver {
    /// A lookup bounded by `connect_timeout` (and the call's own deadline), stopped with the
    /// call (see `lookup.rs`), in the order the system resolver gave, filtered by IP family.
    fn lookup(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().ok_or(ureq::Error::HostNotFound)?;
        let port = uri
            .port_u16()
            .or_else(|| match uri.scheme_str() {
                Some("https") => Some(443),
                Some("http") => Some(80),
                _ => None,
            })
            .ok_or(ureq::Error::HostNotFound)?;
        let (call_end, _) = deadline(timeout)?;
        let connect_end = config
            .timeouts()
            .connect
            .and_then(|d| Instant::now().checked_add(d));
        let end = match (call_end, connect_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let found = lookup::lookup(host, port, end)?;
        let mut addrs = self.inner.empty();
        for addr in config
            .ip_family()
            .keep_wanted(found.into_iter())
            .take(MAX_ADDRS)
        {
            addrs.push(addr);
        }
        if addrs.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(addrs)
    }
}

/// Whether `host` is `localhost` or a name under `.localhost` (any case, trailing dot allowed).
/// RFC 6761 §6.3 reserves these names for loopback, so plain http to them is as safe as to
/// 127.0.0.1, provided they are answered by [`localhost`] and not by the system resolver.
pub(crate) fn is_localhost_name(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// The loopback addresses for a `localhost` name, 127.0.0.1 first, then ::1 (as curl does),
/// without asking the system resolver: /etc/hosts or DNS could point the name anywhere, and
/// plain http is allowed to it only because it is loopback. `None` for any other name.
pub(crate) fn localhost(uri: &Uri, config: &Config) -> Option<ResolvedSocketAddrs> {
    if !is_localhost_name(uri.host()?) {
        return None;
    }
    let port = uri.port_u16().or_else(|| match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    })?;
    let loopback = [
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
    ];
    let mut addrs = DefaultResolver::default().empty();
    for addr in config.ip_family().keep_wanted(loopback.into_iter()) {
        addrs.push(addr);
    }
    (!addrs.is_empty()).then_some(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(url: &str) -> Option<Vec<SocketAddr>> {
        let uri: Uri = url.parse().unwrap();
        let config = Config::default();
        localhost(&uri, &config).map(|a| a.iter().copied().collect())
    }

    #[test]
    fn localhost_names_are_loopback() {
        let both = |port: u16| {
            Some(vec![
                SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, port)),
            ])
        };
        assert_eq!(addrs("http://localhost:8080/x"), both(8080));
        assert_eq!(addrs("http://LocalHost./"), both(80));
        assert_eq!(addrs("https://api.localhost/"), both(443));
        assert_eq!(addrs("https://a.b.LOCALHOST.:9/"), both(9));
        for other in [
            "http://localhost.example/",
            "http://notlocalhost/",
            "http://localhostx/",
            "http://127.0.0.1/",
            "http://example.com/",
        ] {
            assert_eq!(addrs(other), None, "{other}");
        }
    }
}
