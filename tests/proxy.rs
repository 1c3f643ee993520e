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

    // HTTP_PROXY alone is not used for the service.
    let p = proxy();
    // SAFETY: as above.
    unsafe { std::env::set_var("HTTP_PROXY", p.url()) };
    assert!(call(&target, None));
    assert_eq!(p.request_count(), 0, "HTTP_PROXY was used");
    assert_eq!(target.request_count(), 1);

    // HTTPS_PROXY is, unless the option says "".
    let p = proxy();
    // SAFETY: as above.
    unsafe { std::env::set_var("HTTPS_PROXY", p.url()) };
    assert!(call(&target, None));
    assert!(p.request_count() >= 1, "HTTPS_PROXY was not used");
    assert_eq!(target.request_count(), 1);
    assert!(call(&target, Some(String::new())));
    assert_eq!(target.request_count(), 2, "proxy \"\" must go direct");
}
