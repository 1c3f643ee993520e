//! The token never shows: a sweep over every path that builds a message, a `Debug` string or a
//! C result, against a server that echoes the request path (which holds the token) wherever it
//! can: error bodies of every status class, wrong-typed fields of a 200 body, bodies that are
//! not JSON, cut-off bodies, headers, status lines that are not HTTP. Not only the whole token:
//! no 16-character piece of it may show either (a cut made before scrubbing would leave one).

mod support;

use std::ffi::{CStr, CString};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use greenapi::ffi::client::{ga_client_free, ga_client_new_with_options, ga_get_avatar};
use greenapi::ffi::error::ga_last_error_message;
use greenapi::ffi::result::ga_result_free;
use greenapi::{Client, Options};
use support::{ID, Reply, Server};

/// The sweep's own token: 50 characters, as the service's are, with capitals in it.
const TOKEN: &str = "sweepTOKENd75b3a66374942c5b3c019c698abc2067e151558";

/// A proxy password, swept like the token.
const PROXY_PASSWORD: &str = "proxyPASSWORD0123456789abcdefXYZ";

/// Every event of every client of this file: its message and every field (`Debug`).
static EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Held by each test that counts [`EVENTS`], so that another's are not among them.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn recording() -> greenapi::Observer {
    greenapi::Observer::new(greenapi::Level::Debug, |e| {
        let line = format!("{} {e:?}", e.message());
        EVENTS.lock().unwrap_or_else(|p| p.into_inner()).push(line);
    })
}

/// Every event so far, each checked, then forgotten; how many there were.
fn assert_events_clean(what: &str) -> usize {
    let events = std::mem::take(&mut *EVENTS.lock().unwrap_or_else(|p| p.into_inner()));
    for e in &events {
        assert_clean(e, what);
        assert_no_piece(e, PROXY_PASSWORD, what);
    }
    events.len()
}

/// The C callback: the event's strings and numbers, as a C program would see them.
unsafe extern "C" fn c_recording(
    e: *const greenapi::ffi::event::ga_event,
    _: *mut std::ffi::c_void,
) {
    // SAFETY: a live event whose strings are NULL or NUL-terminated, during the callback.
    let line = unsafe {
        let e = &*e;
        let text = |p: *const std::ffi::c_char| {
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        format!(
            "{} {} {} {} {} {} {}",
            text(e.name),
            text(e.message),
            text(e.server_address),
            text(e.error_type),
            text(e.pacing),
            e.status,
            e.duration_ms
        )
    };
    EVENTS.lock().unwrap_or_else(|p| p.into_inner()).push(line);
}

/// Fails when `text` holds the token or any 16-character piece of it.
fn assert_clean(text: &str, what: &str) {
    assert_no_piece(text, TOKEN, what);
}

/// Fails when `text` holds `secret` or any 16-character piece of it.
fn assert_no_piece(text: &str, secret: &str, what: &str) {
    let chars: Vec<char> = secret.chars().collect();
    for piece in chars.windows(16) {
        let piece: String = piece.iter().collect();
        assert!(
            !text.contains(&piece),
            "{what}: a piece of a secret ({piece}) in {text:?}"
        );
    }
}

/// Every reply that can carry the path, named. `{p}` is the request path.
fn replies(path: &str) -> Vec<(String, Reply)> {
    let mut all = Vec::new();
    let json_string = serde_json::to_string(path).unwrap();
    // The same path with every character \u-escaped: what a JSON decoder turns back into it.
    let escaped: String = path
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    for status in [
        301, 302, 304, 307, 400, 401, 403, 404, 409, 418, 429, 466, 499, 500, 502, 503, 504, 599,
    ] {
        all.push((
            format!("{status} echoing the path"),
            Reply::text(status, &format!("no route for POST {path}"))
                .with_header("location", &format!("https://elsewhere.example{path}"))
                .with_header("retry-after", "0"),
        ));
        all.push((
            format!("{status} with the path after 290 bytes"),
            Reply::text(status, &format!("{}{path}", "x".repeat(290))),
        ));
        all.push((
            format!("{status} JSON error echoing the path"),
            Reply::json(
                status,
                &format!(r#"{{"message":"bad path","path":{json_string}}}"#),
            ),
        ));
    }
    for (name, body) in [
        (
            "existsWhatsapp a string",
            format!(r#"{{"existsWhatsapp":{json_string}}}"#),
        ),
        (
            "available a string",
            format!(r#"{{"available":{json_string}}}"#),
        ),
        (
            "urlAvatar an array",
            format!(r#"{{"urlAvatar":[{json_string}]}}"#),
        ),
        (
            "reason a map",
            format!(r#"{{"reason":{{"path":{json_string}}}}}"#),
        ),
        (
            "urlAvatar a number, path elsewhere",
            format!(r#"{{"urlAvatar":5,"p":{json_string}}}"#),
        ),
        (
            "escaped path in a wrong type",
            format!(r#"{{"available":"{escaped}"}}"#),
        ),
        (
            "long junk then the path",
            format!(r#"{{"existsWhatsapp":"{}{path}"}}"#, "y".repeat(280)),
        ),
        (
            "urlAvatar is the path",
            format!(r#"{{"urlAvatar":{json_string}}}"#),
        ),
        (
            "reason is the path",
            format!(r#"{{"reason":{json_string},"urlAvatar":""}}"#),
        ),
        (
            "escaped urlAvatar",
            format!(r#"{{"urlAvatar":"{escaped}"}}"#),
        ),
        ("not JSON", format!("<html>{path}</html>")),
        ("JSON cut short", format!(r#"{{"urlAvatar":{json_string}"#)),
        (
            "NUL in urlAvatar",
            format!(r#"{{"urlAvatar":"\u0000{path}"}}"#),
        ),
        ("path as a key", format!(r#"{{{json_string}:1}}"#)),
    ] {
        all.push((format!("200, {name}"), Reply::json(200, &body)));
    }
    all.push((
        "a 200 larger than max_body_bytes".into(),
        Reply::json(
            200,
            &format!(r#"{{"urlAvatar":"{}{path}"}}"#, "z".repeat(5000)),
        ),
    ));
    all.push((
        "a status line that is not HTTP".into(),
        Reply::Garbage(format!("HTTP/1.1 2{path} OK\r\n\r\n").into_bytes()),
    ));
    all.push((
        "a header line that is not HTTP".into(),
        Reply::Garbage(
            format!("HTTP/1.1 200 OK\r\n{path}\r\ncontent-length: 2\r\n\r\n{{}}").into_bytes(),
        ),
    ));
    all.push((
        "bytes that are not HTTP".into(),
        Reply::Garbage(path.as_bytes().to_vec()),
    ));
    all.push((
        "a cut-off body".into(),
        Reply::Cut {
            declared: 1000,
            sent: 10,
        },
    ));
    all.push(("a reset".into(), Reply::Reset));
    all.push((
        "a delay past the timeout".into(),
        Reply::Delay(
            Duration::from_millis(1500),
            Box::new(Reply::json(200, "{}")),
        ),
    ));
    all
}

fn options(url: &str) -> Options {
    Options {
        max_retries: 0,
        timeout: Duration::from_millis(500),
        max_body_bytes: 4096,
        observer: Some(recording()),
        ..support::opts(url)
    }
}

#[test]
fn no_message_debug_or_c_result_holds_the_token() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let names: Vec<String> = replies("/").into_iter().map(|(n, _)| n).collect();
    // The case travels in the chat id.
    let server = Server::start(move |req, _| {
        let chat: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        let case: usize = chat["chatId"]
            .as_str()
            .unwrap()
            .trim_end_matches("@c.us")
            .parse()
            .unwrap();
        replies(&req.path).swap_remove(case).1
    });
    let client = Arc::new(Client::with_options(ID, TOKEN, &options(&server.url())).unwrap());
    assert_clean(&format!("{client:?}"), "Client Debug");
    let mut failures = 0;
    for (case, name) in names.iter().enumerate() {
        let chat_id = format!("{case}@c.us");
        let shown = match client.get_avatar(&chat_id) {
            Ok(a) => format!("{a:?} {} {:?}", a.url_avatar, a.reason),
            Err(e) => {
                failures += 1;
                format!("{e:?} {e} {}", e.message())
            }
        };
        assert_clean(&shown, name);
        // The same through a batch, whose items carry their own Debug.
        let items: Vec<_> = client.batch(vec![chat_id.clone()]).unwrap().collect();
        assert_clean(&format!("{items:?}"), &format!("{name} (batch)"));
    }
    // Most cases fail; the few that succeed (urlAvatar or reason echoing the path) are scrubbed.
    assert!(failures > names.len() / 2, "{failures} of {}", names.len());
    assert!(server.request_count() >= 2 * names.len());
    assert_clean(&format!("{:?}", client.stats()), "stats");
    drop(client);
    let seen = assert_events_clean("an event");
    assert!(seen >= 4 * names.len(), "{seen} events");

    // The C results of the same cases.
    let c = support::c_client(&server.url(), TOKEN, |o| {
        o.timeout_ms = 500;
        o.max_body_bytes = 4096;
        o.on_event = Some(c_recording);
        o.event_min_level = greenapi::ffi::event::GA_LEVEL_DEBUG;
    });
    for (case, name) in names.iter().enumerate() {
        let chat_id = CString::new(format!("{case}@c.us")).unwrap();
        // SAFETY: a live client and a NUL-terminated string.
        let r = unsafe { ga_get_avatar(c, chat_id.as_ptr()) };
        // SAFETY: never NULL; its strings are NULL or NUL-terminated.
        let shown = unsafe {
            let r = &*r;
            let text = |p: *const std::ffi::c_char| {
                if p.is_null() {
                    String::new()
                } else {
                    CStr::from_ptr(p).to_string_lossy().into_owned()
                }
            };
            format!(
                "{} {} {}",
                text(r.url_avatar),
                text(r.reason),
                text(r.message)
            )
        };
        assert_clean(&shown, &format!("{name} (C)"));
        // SAFETY: from ga_get_avatar.
        unsafe { ga_result_free(r) };
    }
    // SAFETY: no call running.
    unsafe { ga_client_free(c) };
    let seen = assert_events_clean("a C event");
    assert!(seen >= 2 * names.len(), "{seen} C events");
}

/// Through a proxy whose URL holds a password: no event or counter shows it (or the token).
#[test]
fn events_through_a_proxy_show_neither_its_password_nor_the_token() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // The loopback server plays the proxy: a plain-http request through a proxy is sent to it
    // whole, and it answers as the service would.
    let proxy = Server::always_json(200, r#"{"urlAvatar":"","available":false}"#);
    let client = Client::with_options(
        ID,
        TOKEN,
        &Options {
            proxy: Some(format!("http://user:{PROXY_PASSWORD}@{}", proxy.addr)),
            ..options("http://127.0.0.1:9")
        },
    )
    .unwrap();
    for _ in 0..3 {
        let _ = client.get_avatar("79001234567");
    }
    let stats = format!("{:?}", client.stats());
    assert_clean(&stats, "stats");
    assert_no_piece(&stats, PROXY_PASSWORD, "stats");
    drop(client);
    assert!(proxy.request_count() >= 1, "the proxy was used");
    assert!(assert_events_clean("an event through a proxy") >= 3);
}

/// Refusals at creation never repeat a token, whichever argument is wrong.
#[test]
fn refusals_at_creation_never_hold_the_token() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let url = "http://127.0.0.1:9";
    let bad_options = [
        Options {
            timeout: Duration::ZERO,
            ..options(url)
        },
        Options {
            rate_limit_per_sec: f64::NAN,
            ..options(url)
        },
        Options {
            max_body_bytes: 0,
            ..options(url)
        },
        Options {
            max_in_flight: 0,
            ..options(url)
        },
        Options {
            user_agent: Some(format!("ua\n{TOKEN}")),
            ..options(url)
        },
        Options {
            api_url: Some(format!("ftp://{TOKEN}")),
            ..options(url)
        },
        Options {
            api_url: Some(format!("https://u:{TOKEN}@h")),
            ..options(url)
        },
        Options {
            proxy: Some(format!("socks5://u:{TOKEN}@proxy:1080")),
            ..options("https://h")
        },
        Options {
            proxy: Some(format!("http://u:{TOKEN}@proxy:99999")),
            ..options("https://h")
        },
        Options {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..options(url)
        },
    ];
    for (i, o) in bad_options.iter().enumerate() {
        let e = Client::with_options(ID, TOKEN, o).expect_err("refused");
        assert_clean(&format!("{e:?} {e}"), &format!("option case {i}"));
        if o.proxy.as_deref().is_some_and(|p| p.contains('@')) {
            // Proxy credentials are hidden; other options are the caller's own text.
            assert_clean(&format!("{o:?}"), &format!("Options Debug, case {i}"));
        }
    }
    // A token refused for one bad character: the message does not repeat it.
    for bad in [
        format!("{TOKEN}/"),
        format!("{TOKEN} "),
        format!("{TOKEN}%2F"),
        format!("é{TOKEN}"),
    ] {
        let e = Client::with_options(ID, &bad, &options(url)).expect_err("refused");
        assert_clean(&format!("{e:?} {e}"), &bad);
        let (id, c_bad) = (
            CString::new(ID).unwrap(),
            CString::new(bad.clone()).unwrap(),
        );
        // SAFETY: valid strings; NULL options are the defaults.
        let c = unsafe {
            ga_client_new_with_options(
                id.as_ptr(),
                c_bad.as_ptr(),
                std::ptr::null(),
                std::ptr::null_mut(),
            )
        };
        assert!(c.is_null());
        // SAFETY: a NUL-terminated string of the library.
        let last = unsafe { CStr::from_ptr(ga_last_error_message()) }
            .to_string_lossy()
            .into_owned();
        assert_clean(&last, &format!("ga_last_error_message for {bad:?}"));
    }
}
