//! Which proxy a client uses. One test function only: it changes the process environment,
//! which no other test in this binary may read at the same time.

mod support;

use greenapi::{Client, Options};
use support::{Reply, Server};

const OLD_SHAPE: &str = r#"{"existsWhatsapp":true,"urlAvatar":""}"#;

/// A stand-in proxy: accepts CONNECT, then answers the tunnelled request itself.
fn proxy() -> Server {
    Server::start(|r, _| {
        if r.method == "CONNECT" {
            Reply::Http {
                status: 200,
                headers: vec![],
                body: vec![],
            }
        } else {
            Reply::json(200, OLD_SHAPE)
        }
    })
}

fn call(target: &Server, proxy: Option<String>) -> bool {
    let o = Options {
        api_url: Some(target.url()),
        rate_limit_per_sec: 0.0,
        max_retries: 0,
        proxy,
        ..Options::default()
    };
    Client::with_options("1", "token", &o)
        .unwrap()
        .get_avatar("1@c.us")
        .is_ok()
}

/// A host that is not loopback and can never resolve.
fn invalid_host() -> Options {
    Options {
        api_url: Some("http://greenapi-test.invalid".into()),
        allow_insecure_http: true,
        rate_limit_per_sec: 0.0,
        max_retries: 0,
        ..Options::default()
    }
}

#[test]
fn proxy_choice() {
    for v in [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        // SAFETY: this binary's only test; no other thread reads the environment.
        unsafe { std::env::remove_var(v) };
    }
    let target = Server::always_json(200, OLD_SHAPE);

    // An explicit proxy is used.
    let p = proxy();
    assert!(call(&target, Some(p.url())));
    assert!(p.request_count() >= 1, "the explicit proxy saw nothing");

    // HTTP_PROXY alone is not used for the service: the client goes direct, and the name under
    // "invalid." fails at once without a DNS query (RFC 6761).
    let p = proxy();
    // SAFETY: as above.
    unsafe { std::env::set_var("HTTP_PROXY", p.url()) };
    let e = Client::with_options("1", "token", &invalid_host())
        .unwrap()
        .get_avatar("1@c.us")
        .unwrap_err();
    assert_eq!(e.kind(), greenapi::ErrorKind::Network, "{}", e.message());
    assert_eq!(p.request_count(), 0, "HTTP_PROXY was used");

    // HTTPS_PROXY is, for a host that is not loopback. The name is never resolved here: the
    // stand-in proxy receives the CONNECT and answers the tunnelled request itself.
    let p = proxy();
    // SAFETY: as above.
    unsafe { std::env::set_var("HTTPS_PROXY", p.url()) };
    assert!(
        Client::with_options("1", "token", &invalid_host())
            .unwrap()
            .get_avatar("1@c.us")
            .is_ok()
    );
    let connect = p.requests();
    assert_eq!(connect.first().map(|r| r.method.as_str()), Some("CONNECT"));
    assert!(
        connect[0].path.starts_with("greenapi-test.invalid"),
        "{}",
        connect[0].path
    );

    // The option "" goes direct even with HTTPS_PROXY set.
    assert!(call(&target, Some(String::new())));
    assert_eq!(target.request_count(), 1, "proxy \"\" must go direct");

    // An environment proxy is never used for a loopback api_url, whatever its spelling.
    let local = Server::always_json(200, OLD_SHAPE);
    let o = Options {
        api_url: Some(format!("http://localhost:{}", local.addr.port())),
        rate_limit_per_sec: 0.0,
        max_retries: 0,
        ..Options::default()
    };
    let p_before = p.request_count();
    assert!(
        Client::with_options("1", "token", &o)
            .unwrap()
            .get_avatar("1@c.us")
            .is_ok()
    );
    assert_eq!(local.request_count(), 1);
    assert_eq!(
        p.request_count(),
        p_before,
        "loopback went through the env proxy"
    );
}
