//! Which proxy a client goes through, and what a proxy's refusal means.
//!
//! The environment is read here rather than by ureq's `Proxy::try_from_env`, which skips a
//! variable it cannot parse and goes on to the next, `HTTP_PROXY` included: a typo in
//! `HTTPS_PROXY` would silently send the token's requests through a proxy meant for plain http.

use std::net::IpAddr;

use ureq::http::StatusCode;
use ureq::{Proxy, ProxyProtocol};

use crate::error::{Error, ErrorKind};
use crate::options::Options;
use crate::validate::{self, BaseUrl};

/// The variables that name a proxy for the service, first match wins: curl's order (the
/// scheme's own variable before the catch-all, lower case before upper case).
const PROXY_VARS: [&str; 4] = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"];
/// The variables listing hosts that are reached directly, first match wins.
const NO_PROXY_VARS: [&str; 2] = ["no_proxy", "NO_PROXY"];

/// The proxy for `base`: the explicit `options.proxy` (`""`: none), else one from the
/// environment unless `NO_PROXY` lists the host, and never from the environment for a loopback
/// `api_url`. Plain http to loopback through a proxy elsewhere is refused unless
/// `allow_insecure_http`: the token would cross the network in clear.
pub(crate) fn choose(options: &Options, base: &BaseUrl) -> Result<Option<Proxy>, Error> {
    let proxy = match options.proxy.as_deref() {
        // A proxy from the environment is meant for the outside world, not for loopback.
        None if validate::is_loopback(&base.host) => None,
        None => from_env(&base.host)?,
        Some("") => None,
        Some(p) => Some(parse(p, "proxy")?),
    };
    if let Some(p) = &proxy
        && base.url.starts_with("http://")
        && !options.allow_insecure_http
        && !validate::is_loopback(p.host())
    {
        return Err(Error::invalid(format!(
            "the proxy {} is not on loopback: plain http:// to the api_url through it would \
             carry the token across the network in clear (use https://, a loopback proxy, or \
             set allow_insecure_http)",
            shown(p)
        )));
    }
    Ok(proxy)
}

/// A proxy URL that ureq can use: `http://` or `https://` (a URL without a scheme is
/// `http://`). `name` is the option or variable it came from; the value is never repeated, as
/// it may carry a password.
fn parse(url: &str, name: &str) -> Result<Proxy, Error> {
    let invalid = || {
        Error::invalid(format!(
            "{name} is not a valid proxy URL (http://host:port or https://host:port, \
             optionally with user:password@)"
        ))
    };
    let proxy = Proxy::new(url).map_err(|_| invalid())?;
    let in_range = proxy
        .uri()
        .authority()
        .is_some_and(|a| validate::port_in_range(a.as_str()));
    if proxy.host().is_empty() || !in_range {
        return Err(invalid());
    }
    match proxy.protocol() {
        ProxyProtocol::Http | ProxyProtocol::Https => Ok(proxy),
        _ => Err(Error::invalid(format!(
            "{name} names a SOCKS proxy, which is not supported; use an http:// or https:// \
             proxy"
        ))),
    }
}

/// The first non-empty variable among `names`, with its name. A value that is not UTF-8 is
/// kept lossily, so that it fails to parse rather than being skipped.
fn first_set(names: &[&'static str]) -> Option<(&'static str, String)> {
    names.iter().find_map(|&name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(|v| (name, v.to_string_lossy().into_owned()))
    })
}

fn from_env(host: &str) -> Result<Option<Proxy>, Error> {
    let Some((name, value)) = first_set(&PROXY_VARS) else {
        return Ok(None);
    };
    // A host the list sends direct does not depend on the proxy variable at all.
    if first_set(&NO_PROXY_VARS).is_some_and(|(_, list)| no_proxy_matches(&list, host)) {
        return Ok(None);
    }
    parse(&value, name).map(Some)
}

/// Whether a `NO_PROXY` list names `host`. Entries are separated by commas (spaces around them
/// are ignored): `*` matches every host; a domain, with or without a leading `.` or `*.`,
/// matches itself and every name under it (whole labels only); an IP address matches itself,
/// and `address/bits` matches a network. Case and a trailing dot do not matter.
pub(crate) fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = normalize(host);
    let host_ip = host.parse::<IpAddr>().ok();
    list.split(',').map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        if let Some(host_ip) = host_ip {
            return ip_matches(entry, host_ip);
        }
        let entry = entry.trim_start_matches('*').trim_start_matches('.');
        let domain = normalize(entry);
        !domain.is_empty()
            && (host == domain
                || host
                    .strip_suffix(domain.as_str())
                    .is_some_and(|rest| rest.ends_with('.')))
    })
}

/// Lower case, without the brackets of an IPv6 literal or a trailing dot.
fn normalize(name: &str) -> String {
    name.trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

fn ip_matches(entry: &str, host: IpAddr) -> bool {
    let (addr, bits) = match entry.split_once('/') {
        Some((addr, bits)) => match bits.parse::<u32>() {
            Ok(bits) => (addr, Some(bits)),
            Err(_) => return false,
        },
        None => (entry, None),
    };
    let Ok(net) = normalize(addr).parse::<IpAddr>() else {
        return false;
    };
    match (net, host, bits) {
        (_, _, None) => net == host,
        (IpAddr::V4(n), IpAddr::V4(h), Some(b)) if b <= 32 => {
            let mask = u32::MAX.checked_shl(32 - b).unwrap_or(0);
            u32::from(n) & mask == u32::from(h) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(h), Some(b)) if b <= 128 => {
            let mask = u128::MAX.checked_shl(128 - b).unwrap_or(0);
            u128::from(n) & mask == u128::from(h) & mask
        }
        _ => false,
    }
}

/// The proxy as `scheme://host:port`, never with its credentials.
fn shown(proxy: &Proxy) -> String {
    let scheme = match proxy.protocol() {
        ProxyProtocol::Https => "https",
        _ => "http",
    };
    format!("{scheme}://{}:{}", proxy.host(), proxy.port())
}

/// What a transport failure means when it is the proxy's doing: the kind, a message that names
/// the proxy (never its credentials) and says what to check, and whether another attempt may
/// help. A proxy that refuses the tunnel (407, 401, 403...) will refuse it again, so that is
/// not retried; its own gateway errors (502, 503, 504) and an unreachable proxy are. `None`:
/// no proxy, or a failure the proxy did not cause.
pub(crate) fn explain(e: &ureq::Error, proxy: Option<&Proxy>) -> Option<(ErrorKind, String, bool)> {
    use std::io::ErrorKind as Io;
    use ureq::Error as U;
    let proxy = proxy?;
    let network = |text: String, retryable: bool| {
        Some((
            ErrorKind::Network,
            format!("{}: {text}", ErrorKind::Network.description()),
            retryable,
        ))
    };
    match e {
        U::ConnectProxyFailed(reason) => {
            let (text, retryable) = tunnel_refused(reason, proxy);
            network(text, retryable)
        }
        // Through a CONNECT proxy the service's name is resolved by the proxy: only the
        // proxy's own name is looked up here.
        U::HostNotFound => network(
            format!("the proxy's host was not found; proxy {}", shown(proxy)),
            true,
        ),
        U::Io(io)
            if matches!(
                io.kind(),
                Io::ConnectionRefused
                    | Io::HostUnreachable
                    | Io::NetworkUnreachable
                    | Io::AddrNotAvailable
            ) =>
        {
            network(
                format!("cannot connect to the proxy {}: {io}", shown(proxy)),
                true,
            )
        }
        U::Timeout(ureq::Timeout::Connect) => Some((
            ErrorKind::Timeout,
            format!(
                "{}: connecting to or through the proxy {}",
                ErrorKind::Timeout.description(),
                shown(proxy)
            ),
            true,
        )),
        _ => None,
    }
}

/// Why a proxy refused a tunnel (its status and what to check, or that it did not answer), and
/// whether another attempt may help.
fn tunnel_refused(reason: &str, proxy: &Proxy) -> (String, bool) {
    let Some(status) = refusal_status(reason) else {
        return (
            format!(
                "the proxy {} did not answer the tunnel request ({reason})",
                shown(proxy)
            ),
            true,
        );
    };
    let name = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .map_or(String::new(), |r| format!(" {r}"));
    let hint = match status {
        401 | 407 => " (check the proxy's user name and password)",
        403 => " (the proxy does not allow this destination)",
        502..=504 => " (the proxy could not reach the service)",
        _ => "",
    };
    (
        format!(
            "the proxy refused the tunnel: HTTP {status}{name}{hint}; proxy {}",
            shown(proxy)
        ),
        matches!(status, 502..=504),
    )
}

/// The status in ureq's `ConnectProxyFailed` text, `proxy server responded 407/407`.
fn refusal_status(reason: &str) -> Option<u16> {
    reason
        .strip_prefix("proxy server responded ")?
        .split('/')
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_lists() {
        for (list, host, want) in [
            ("example.com", "example.com", true),
            ("example.com", "api.example.com", true),
            ("example.com", "EXAMPLE.com.", true),
            (".example.com", "example.com", true),
            (".example.com", "a.b.example.com", true),
            ("*.example.com", "a.example.com", true),
            ("Example.COM.", "api.example.com", true),
            ("example.com", "badexample.com", false),
            ("example.com", "example.com.evil", false),
            ("ample.com", "example.com", false),
            ("a.example.com", "example.com", false),
            ("other, example.com", "x.example.com", true),
            ("other,,  ", "example.com", false),
            ("", "example.com", false),
            ("*", "anything.example", true),
            ("x, *", "10.1.2.3", true),
            ("10.1.2.3", "10.1.2.3", true),
            ("10.1.2.3", "10.1.2.4", false),
            ("10.0.0.0/8", "10.1.2.3", true),
            ("10.0.0.0/8", "11.1.2.3", false),
            ("0.0.0.0/0", "192.0.2.1", true),
            ("192.0.2.1/32", "192.0.2.1", true),
            ("10.0.0.0/33", "10.0.0.1", false),
            ("10.0.0.0/x", "10.0.0.1", false),
            ("3.4", "1.2.3.4", false),
            ("::1", "[::1]", true),
            ("[::1]", "[::1]", true),
            ("2001:db8::/32", "[2001:db8::5]", true),
            ("2001:db8::/32", "[2001:db9::5]", false),
            ("10.0.0.0/8", "[::1]", false),
            ("10.1.2.3", "host.example", false),
        ] {
            assert_eq!(no_proxy_matches(list, host), want, "{list:?} {host:?}");
        }
    }

    #[test]
    fn proxy_urls() {
        for ok in [
            "http://127.0.0.1:3128",
            "https://proxy.example",
            "HTTP://u:p@proxy.example:8080",
            "proxy.example:3128",
        ] {
            assert!(parse(ok, "proxy").is_ok(), "{ok}");
        }
        for bad in [
            "ftp://proxy.example",
            "socks5://u:secret@proxy.example",
            "socks4://proxy.example",
            "::nonsense::",
            "http://",
            "http://u:%ff@proxy.example",
            // ureq would connect to the scheme's default port instead.
            "http://proxy.example:99999",
            "http://u:secret@proxy.example:65536",
            "https://proxy.example:0",
        ] {
            let e = parse(bad, "HTTPS_PROXY").unwrap_err();
            assert!(
                e.message().contains("HTTPS_PROXY"),
                "{bad}: {}",
                e.message()
            );
            assert!(!e.message().contains("secret"), "{}", e.message());
        }
    }

    #[test]
    fn shown_without_credentials() {
        let p = Proxy::new("https://user:secret@proxy.example").unwrap();
        assert_eq!(shown(&p), "https://proxy.example:443");
        let p = Proxy::new("user:secret@[::1]:3128").unwrap();
        assert_eq!(shown(&p), "http://[::1]:3128");
    }

    #[test]
    fn refusals() {
        assert_eq!(refusal_status("proxy server responded 407/407"), Some(407));
        assert_eq!(refusal_status("proxy server did not respond"), None);
        let p = Proxy::new("http://u:secret@127.0.0.1:1").unwrap();
        let (kind, message, retry) = explain(
            &ureq::Error::ConnectProxyFailed("proxy server responded 407/407".into()),
            Some(&p),
        )
        .unwrap();
        assert_eq!((kind, retry), (ErrorKind::Network, false));
        assert!(
            message.contains(
                "the proxy refused the tunnel: HTTP 407 Proxy Authentication Required \
                 (check the proxy's user name and password)"
            ),
            "{message}"
        );
        assert!(!message.contains("secret"));
        assert!(explain(&ureq::Error::HostNotFound, None).is_none());
        assert!(explain(&ureq::Error::BadUri("x".into()), Some(&p)).is_none());
    }
}
