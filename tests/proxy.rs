//! Which proxy a client uses. One test function only: it changes the process environment,
//! which no other test in this binary may read at the same time.

mod support;

use greenapi::{Client, Options};
use support::{ID, Reply, Server, TOKEN};

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
    Client::with_options(ID, TOKEN, &o)
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
    let e = Client::with_options(ID, TOKEN, &invalid_host())
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
        Client::with_options(ID, TOKEN, &invalid_host())
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

    // NO_PROXY: comma-separated; a domain matches itself and every name under it, with or
    // without a leading dot; "*" matches everything. A partial label does not match.
    for (no_proxy, direct) in [
        ("greenapi-test.invalid", true),
        ("GreenAPI-test.Invalid.", true),
        (".invalid", true),
        ("invalid", true),
        ("*.invalid", true),
        ("example.com, invalid", true),
        ("*", true),
        ("est.invalid", false),
        ("other.invalid", false),
        ("sub.greenapi-test.invalid", false),
        ("", false),
    ] {
        for var in ["NO_PROXY", "no_proxy"] {
            let before = p.request_count();
            // SAFETY: as above.
            unsafe { std::env::set_var(var, no_proxy) };
            let r = Client::with_options(ID, TOKEN, &invalid_host())
                .unwrap()
                .get_avatar("1@c.us");
            // SAFETY: as above.
            unsafe { std::env::remove_var(var) };
            let proxied = p.request_count() > before;
            assert_eq!(proxied, !direct, "{var}={no_proxy:?}");
            assert_eq!(r.is_ok(), proxied, "{var}={no_proxy:?}");
        }
    }

    // An unusable proxy variable is an error naming it, not a fall-through to the next one
    // (ureq's own lookup would go on to HTTP_PROXY), and its value, which may hold a password,
    // is never repeated.
    let http_proxy = proxy();
    // SAFETY: as above.
    unsafe { std::env::set_var("HTTP_PROXY", http_proxy.url()) };
    for (var, value) in [
        ("HTTPS_PROXY", "ftp://user:hunter2@bad"),
        ("https_proxy", "::not a url hunter2::"),
        ("ALL_PROXY", "socks5://hunter2@127.0.0.1:1"),
        ("all_proxy", "gopher://hunter2@x"),
    ] {
        for v in ["ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"] {
            // SAFETY: as above.
            unsafe { std::env::remove_var(v) };
        }
        // SAFETY: as above.
        unsafe { std::env::set_var(var, value) };
        let e = Client::with_options(ID, TOKEN, &invalid_host()).unwrap_err();
        assert_eq!(e.kind(), greenapi::ErrorKind::InvalidArgument, "{var}");
        assert!(e.message().contains(var), "{var}: {}", e.message());
        assert!(!e.message().contains("hunter2"), "{var}: {}", e.message());
        // SAFETY: as above.
        unsafe { std::env::remove_var(var) };
    }
    assert_eq!(http_proxy.request_count(), 0, "HTTP_PROXY was used");

    // Precedence, as curl's: https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY; the first that is
    // set and not empty is the one used.
    let order = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"];
    for (i, winner) in order.iter().enumerate() {
        let chosen = proxy();
        for (j, var) in order.iter().enumerate() {
            let value = match j.cmp(&i) {
                std::cmp::Ordering::Less => String::new(),
                std::cmp::Ordering::Equal => chosen.url(),
                std::cmp::Ordering::Greater => "ftp://unused".to_string(),
            };
            // SAFETY: as above.
            unsafe { std::env::set_var(var, value) };
        }
        let r = Client::with_options(ID, TOKEN, &invalid_host())
            .unwrap_or_else(|e| panic!("{winner}: {}", e.message()))
            .get_avatar("1@c.us");
        assert!(r.is_ok(), "{winner}");
        assert_eq!(chosen.request_count(), 2, "{winner} was not the one used");
    }
    for v in order.iter().chain(&["HTTP_PROXY"]) {
        // SAFETY: as above.
        unsafe { std::env::remove_var(v) };
    }
    // SAFETY: as above.
    unsafe { std::env::set_var("HTTPS_PROXY", p.url()) };

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
        Client::with_options(ID, TOKEN, &o)
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
