//! A proxy that refuses the tunnel, or is not there: the message says so and names the proxy
//! (never its credentials), and a refusal is not retried. Explicit proxies only: nothing here
//! reads the environment.

mod support;

use greenapi::{Client, ErrorKind, Options};
use support::{ID, Reply, Server, TOKEN, closed_port};

/// A proxy answering every CONNECT with `status`.
fn refusing_proxy(status: u16) -> Server {
    Server::start(move |_, _| Reply::text(status, "no"))
}

fn through(proxy: &str, max_retries: u32) -> greenapi::Error {
    let o = Options {
        proxy: Some(proxy.to_string()),
        max_retries,
        // Never reached: the proxy stands between, and the name would not resolve anyway.
        ..support::opts("https://greenapi-test.invalid")
    };
    let e = Client::with_options(ID, TOKEN, &o)
        .unwrap()
        .get_avatar("1@c.us")
        .unwrap_err();
    assert!(!e.message().contains(TOKEN), "{}", e.message());
    assert!(!e.message().contains("s3cret"), "{}", e.message());
    e
}

fn with_credentials(server: &Server) -> String {
    format!("http://user:s3cret@{}", server.addr)
}

#[test]
fn proxy_authentication_required_is_explained_and_not_retried() {
    let p = refusing_proxy(407);
    let e = through(&with_credentials(&p), 3);
    assert_eq!(
        (e.kind(), e.attempts()),
        (ErrorKind::Network, 1),
        "{}",
        e.message()
    );
    assert_eq!(p.request_count(), 1, "a 407 was retried");
    assert_eq!(p.requests()[0].method, "CONNECT");
    let m = e.message();
    assert!(m.contains("the proxy refused the tunnel"), "{m}");
    assert!(m.contains("HTTP 407 Proxy Authentication Required"), "{m}");
    assert!(m.contains("user name and password"), "{m}");
    assert!(m.contains(&format!("http://{}", p.addr)), "{m}");
}

#[test]
fn a_wrong_password_and_a_forbidden_destination_are_not_retried() {
    for (status, words) in [(401, "HTTP 401 Unauthorized"), (403, "HTTP 403 Forbidden")] {
        let p = refusing_proxy(status);
        let e = through(&with_credentials(&p), 3);
        assert_eq!(
            (e.kind(), e.attempts()),
            (ErrorKind::Network, 1),
            "{}",
            e.message()
        );
        assert_eq!(p.request_count(), 1, "a {status} was retried");
        assert!(
            e.message().contains("the proxy refused the tunnel"),
            "{}",
            e.message()
        );
        assert!(e.message().contains(words), "{}", e.message());
    }
}

/// A 502 or 503 from the proxy is its upstream failing for now: worth another try.
#[test]
fn a_proxy_gateway_error_is_retried() {
    let p = refusing_proxy(502);
    let e = through(&p.url(), 1);
    assert_eq!(
        (e.kind(), e.attempts()),
        (ErrorKind::Network, 2),
        "{}",
        e.message()
    );
    assert_eq!(p.request_count(), 2);
    assert!(
        e.message().contains("HTTP 502 Bad Gateway"),
        "{}",
        e.message()
    );
}

#[test]
fn a_dead_proxy_is_named_without_its_credentials() {
    let port = closed_port();
    let e = through(&format!("http://user:s3cret@127.0.0.1:{port}"), 1);
    assert_eq!(
        (e.kind(), e.attempts()),
        (ErrorKind::Network, 2),
        "{}",
        e.message()
    );
    let m = e.message();
    assert!(m.contains(&format!("http://127.0.0.1:{port}")), "{m}");
    assert!(m.contains("proxy"), "{m}");
    assert!(!m.contains("user"), "{m}");
}
