//! The core against real HTTP servers on loopback, well-behaved and faulty.

mod support;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use greenapi::{Client, ErrorKind, Options};
use support::{ID, Reply, Server, TOKEN, closed_port};

const OLD_SHAPE: &str =
    r#"{"existsWhatsapp":true,"urlAvatar":"https://pps.whatsapp.net/v/t61/x.jpg?oe=1"}"#;

/// Options for loopback tests (see `support::opts`) with quick timeouts.
fn opts(url: &str) -> Options {
    Options {
        timeout: Duration::from_secs(5),
        ..support::opts(url)
    }
}

fn client(url: &str) -> Client {
    Client::with_options(ID, TOKEN, &opts(url)).unwrap()
}

/// Every failure must be free of the token, whatever the server sent.
fn fail(c: &Client, chat_id: &str) -> greenapi::Error {
    let e = c.get_avatar(chat_id).expect_err("the call should fail");
    assert!(
        !e.message().contains(TOKEN),
        "token in message: {}",
        e.message()
    );
    assert!(!format!("{e:?} {e}").contains(TOKEN));
    e
}

#[test]
fn sends_the_documented_request() {
    let server = Server::always_json(200, OLD_SHAPE);
    let a = client(&server.url()).get_avatar("79001234567").unwrap();
    assert_eq!(a.exists_whatsapp, Some(true));
    assert_eq!(a.url_avatar, "https://pps.whatsapp.net/v/t61/x.jpg?oe=1");
    assert_eq!((a.http_status, a.attempts), (200, 1));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, format!("/waInstance{ID}/getAvatar/{TOKEN}"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.header("user-agent"),
        Some(concat!("greenapi/", env!("CARGO_PKG_VERSION")))
    );
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body, serde_json::json!({"chatId": "79001234567@c.us"}));
}

#[test]
fn chat_ids_are_sent_normalised_or_unchanged() {
    let server = Server::always_json(200, OLD_SHAPE);
    let c = client(&server.url());
    let ids = [
        ("+79001234567", "79001234567@c.us"),
        ("120363043968066561@g.us", "120363043968066561@g.us"),
        ("79876543210-1581234048@g.us", "79876543210-1581234048@g.us"),
        ("120650379300963@lid", "120650379300963@lid"),
        ("a\"quote\\@c.us", "a\"quote\\@c.us"),
    ];
    for (given, _) in ids {
        c.get_avatar(given).unwrap();
    }
    let sent: Vec<String> = server
        .requests()
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["chatId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(sent, ids.map(|(_, want)| want.to_string()));
}

#[test]
fn api_url_path_prefix_and_trailing_slash() {
    let server = Server::always_json(200, OLD_SHAPE);
    client(&format!("{}/v3/", server.url()))
        .get_avatar("79001234567@c.us")
        .unwrap();
    assert_eq!(
        server.requests()[0].path,
        format!("/v3/waInstance{ID}/getAvatar/{TOKEN}")
    );
}

#[test]
fn both_answer_shapes_nulls_and_reason() {
    let server = Server::start(|r, _| {
        let id = serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["chatId"]
            .as_str()
            .unwrap()
            .to_string();
        match id.as_str() {
            "new@lid" => Reply::json(
                200,
                r#"{"urlAvatar":"","available":false,"next":{"a":[1]}}"#,
            ),
            "nulls@c.us" => Reply::json(
                200,
                r#"{"existsWhatsapp":null,"urlAvatar":null,"reason":null,"available":null}"#,
            ),
            _ => Reply::json(
                200,
                r#"{"existsWhatsapp":false,"urlAvatar":"","reason":"bad request data"}"#,
            ),
        }
    });
    let c = client(&server.url());
    let a = c.get_avatar("new@lid").unwrap();
    assert_eq!(
        (a.exists_whatsapp, a.available, a.url_avatar.as_str()),
        (None, Some(false), "")
    );
    let a = c.get_avatar("nulls@c.us").unwrap();
    assert_eq!(
        (a.exists_whatsapp, a.available, a.reason),
        (None, None, None)
    );
    let a = c.get_avatar("1@c.us").unwrap();
    assert_eq!(a.reason.as_deref(), Some("bad request data"));
    assert_eq!(a.exists_whatsapp, Some(false));
}

#[test]
fn error_statuses_map_to_kinds_and_are_not_retried() {
    for (status, kind) in [
        (400, ErrorKind::BadRequest),
        (401, ErrorKind::Unauthorized),
        (403, ErrorKind::Forbidden),
        (404, ErrorKind::NotFound),
        (466, ErrorKind::QuotaExceeded),
        (418, ErrorKind::HttpStatus),
        (201, ErrorKind::HttpStatus),
        (501, ErrorKind::ServerError),
    ] {
        let server = Server::start(move |_, _| Reply::text(status, "the service's own words"));
        let e = fail(&client(&server.url()), "79001234567@c.us");
        assert_eq!(e.kind(), kind, "status {status}");
        assert_eq!(e.http_status(), Some(status));
        assert_eq!(e.attempts(), 1, "status {status} must not be retried");
        assert_eq!(server.request_count(), 1);
        assert!(
            e.message().contains("the service's own words"),
            "{}",
            e.message()
        );
    }
}

#[test]
fn redirects_are_not_followed() {
    let elsewhere = Server::always_json(200, OLD_SHAPE);
    let target = format!("{}/waInstance{ID}/getAvatar/{TOKEN}", elsewhere.url());
    let server = Server::start(move |_, _| Reply::text(302, "").with_header("location", &target));
    let e = fail(&client(&server.url()), "79001234567@c.us");
    assert_eq!(
        (e.kind(), e.http_status(), e.attempts()),
        (ErrorKind::HttpStatus, Some(302), 1)
    );
    assert_eq!(
        elsewhere.request_count(),
        0,
        "the token must not follow a redirect"
    );
}

#[test]
fn the_token_is_scrubbed_from_echoed_bodies() {
    // The token is placed so that the 300-character excerpt would cut through it.
    let body = format!(
        "{}Unauthorized for /waInstance{ID}/getAvatar/{TOKEN} again {TOKEN}",
        "x".repeat(280)
    );
    let server = Server::start(move |_, _| Reply::text(401, &body));
    let e = fail(&client(&server.url()), "79001234567@c.us");
    assert_eq!(e.kind(), ErrorKind::Unauthorized);
    assert!(
        !e.message().contains(&TOKEN[..12]),
        "a prefix of the token leaked: {}",
        e.message()
    );
    let server = Server::start(|_, _| {
        Reply::text(
            403,
            &format!("Forbidden: /waInstance{ID}/getAvatar/{TOKEN}"),
        )
    });
    let e = fail(&client(&server.url()), "79001234567@c.us");
    assert!(e.message().contains("/getAvatar/***"), "{}", e.message());
}

#[test]
fn the_token_is_scrubbed_from_answers_that_echo_it() {
    let body = format!(r#"{{"urlAvatar":"https://x/{TOKEN}.jpg","reason":"no {TOKEN}"}}"#);
    let server = Server::start(move |_, _| Reply::json(200, &body));
    let a = client(&server.url()).get_avatar("1@c.us").unwrap();
    assert_eq!(a.url_avatar, "https://x/***.jpg");
    assert_eq!(a.reason.as_deref(), Some("no ***"));
}

#[test]
fn tokens_shorter_than_16_are_refused() {
    // A one-letter token would be scrubbed out of ordinary text ("@c.us" -> "@***.us"); real
    // tokens are 50 characters.
    let server = Server::always_json(200, r#"{"urlAvatar":"u/79001234567@c.us"}"#);
    for short in ["c", "wrong", "0123456789abcde"] {
        let e = Client::with_options(ID, short, &opts(&server.url())).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{short:?}");
        assert!(e.message().contains("16"), "{}", e.message());
    }
    let c = Client::with_options(ID, "0123456789abcdef", &opts(&server.url())).unwrap();
    assert_eq!(
        c.get_avatar("1@c.us").unwrap().url_avatar,
        "u/79001234567@c.us"
    );
}

#[test]
fn wrong_typed_fields_never_quote_the_token_or_a_huge_value() {
    // A 200 whose JSON has a value of the wrong type, echoing the request path: the parse error
    // would quote it.
    for field in ["existsWhatsapp", "available", "urlAvatar", "reason"] {
        let body = if field == "urlAvatar" || field == "reason" {
            format!(r#"{{"{field}": ["/waInstance{ID}/getAvatar/{TOKEN}"]}}"#)
        } else {
            format!(r#"{{"{field}": "/waInstance{ID}/getAvatar/{TOKEN}"}}"#)
        };
        let server = Server::start(move |_, _| Reply::json(200, &body));
        let e = fail(&client(&server.url()), "1@c.us");
        assert_eq!(e.kind(), ErrorKind::BadResponse, "{field}: {}", e.message());
    }
    // A 900 KB string of the wrong type: the message stays short.
    let body = format!(r#"{{"existsWhatsapp": "{}{TOKEN}"}}"#, "y".repeat(900_000));
    let server = Server::start(move |_, _| Reply::json(200, &body));
    let e = fail(&client(&server.url()), "1@c.us");
    assert_eq!(e.kind(), ErrorKind::BadResponse);
    assert!(e.message().len() <= 512, "{} bytes", e.message().len());
    // Not JSON at all, the token in it, cut mid-token by a naive bound.
    let body = format!("{}{TOKEN}", "<".repeat(250));
    let server = Server::start(move |_, _| Reply::json(200, &body));
    let e = fail(&client(&server.url()), "1@c.us");
    assert!(!e.message().contains(&TOKEN[..8]), "{}", e.message());
}

#[test]
fn rate_limited_then_ok_is_retried() {
    let server = Server::start(|_, i| {
        if i == 0 {
            Reply::text(429, "Too Many Requests").with_header("retry-after", "0")
        } else {
            Reply::json(200, OLD_SHAPE)
        }
    });
    let a = client(&server.url())
        .get_avatar("79001234567@c.us")
        .unwrap();
    assert_eq!(a.attempts, 2);
    assert_eq!(server.request_count(), 2);
}

#[test]
fn retry_after_is_honoured() {
    let server = Server::start(|_, i| {
        if i == 0 {
            Reply::text(429, "").with_header("retry-after", "1")
        } else {
            Reply::json(200, OLD_SHAPE)
        }
    });
    let start = Instant::now();
    client(&server.url())
        .get_avatar("79001234567@c.us")
        .unwrap();
    // A lower bound only: sleeping never ends early, so this cannot flake.
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn retry_after_zero_keeps_the_backoff() {
    // `Retry-After: 0` is the server's least wait, not an order to retry at once: the backoff
    // (at least 100 ms, then 200 ms) still spaces the retries.
    let server = Server::start(|_, _| Reply::text(503, "busy").with_header("retry-after", "0"));
    let start = Instant::now();
    let e = fail(&client(&server.url()), "79001234567@c.us");
    assert_eq!((e.attempts(), server.request_count()), (3, 3));
    // A lower bound only: sleeping never ends early, so this cannot flake.
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn persistent_failures_give_up_after_max_retries() {
    for (status, kind) in [
        (503, ErrorKind::ServerError),
        (500, ErrorKind::ServerError),
        (502, ErrorKind::ServerError),
        (504, ErrorKind::ServerError),
        (429, ErrorKind::RateLimited),
        (499, ErrorKind::HttpStatus),
    ] {
        let server =
            Server::start(move |_, _| Reply::text(status, "busy").with_header("retry-after", "0"));
        let e = fail(&client(&server.url()), "79001234567@c.us");
        assert_eq!(
            (e.kind(), e.http_status(), e.attempts()),
            (kind, Some(status), 3),
            "status {status}"
        );
        assert_eq!(server.request_count(), 3);
    }
}

#[test]
fn slow_answers_time_out_and_are_retried() {
    let server = Server::start(|_, _| {
        Reply::Delay(
            Duration::from_secs(3),
            Box::new(Reply::json(200, OLD_SHAPE)),
        )
    });
    let o = Options {
        timeout: Duration::from_millis(200),
        max_retries: 1,
        ..opts(&server.url())
    };
    let c = Client::with_options(ID, TOKEN, &o).unwrap();
    let e = fail(&c, "79001234567@c.us");
    assert_eq!(
        (e.kind(), e.http_status(), e.attempts()),
        (ErrorKind::Timeout, None, 2)
    );
    assert_eq!(server.request_count(), 2);
    // The library's own words, with the number the caller set.
    assert!(e.message().contains("200 ms"), "{}", e.message());
    assert!(!e.message().contains("global"), "{}", e.message());
}

#[test]
fn network_messages_read_as_this_librarys() {
    let o = opts(&format!("http://127.0.0.1:{}", closed_port()));
    let e = fail(&Client::with_options(ID, TOKEN, &o).unwrap(), "1@c.us");
    assert_eq!(e.kind(), ErrorKind::Network);
    assert!(e.message().contains("refused"), "{}", e.message());
    for noise in [
        "os error", "Other(", "Io(", "docs.rs", "http://", "https://",
    ] {
        assert!(!e.message().contains(noise), "{noise:?} in {}", e.message());
    }
}

#[test]
fn transport_faults_are_network_errors_and_retried() {
    for (name, reply) in [
        (
            "cut",
            (|| Reply::Cut {
                declared: 500,
                sent: 20,
            }) as fn() -> Reply,
        ),
        ("reset", || Reply::Reset),
        ("garbage", || {
            Reply::Garbage(b"\x16\x03\x01 this is not HTTP at all\r\n\r\n".to_vec())
        }),
    ] {
        let server = Server::start(move |_, _| reply());
        let e = fail(&client(&server.url()), "79001234567@c.us");
        assert_eq!(e.kind(), ErrorKind::Network, "{name}: {}", e.message());
        assert_eq!(e.attempts(), 3, "{name}");
        assert_eq!(server.request_count(), 3, "{name}");
    }
}

#[test]
fn connection_refused_is_a_network_error() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let e = fail(&client(&url), "79001234567@c.us");
    assert_eq!(
        (e.kind(), e.http_status(), e.attempts()),
        (ErrorKind::Network, None, 3)
    );
}

#[test]
fn tls_to_a_plain_http_server_is_a_tls_error() {
    // What a plain HTTP server says to a ClientHello: a 400 in clear text.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            use std::io::{Read, Write};
            let _ = s.read(&mut [0; 4096]);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let url = format!("https://{addr}");
    let o = Options {
        max_retries: 0,
        ..opts(&url)
    };
    let e = fail(
        &Client::with_options(ID, TOKEN, &o).unwrap(),
        "79001234567@c.us",
    );
    assert_eq!(e.kind(), ErrorKind::Tls, "{}", e.message());
}

#[test]
fn bad_bodies_are_bad_response_and_not_retried() {
    for body in ["<html>gateway</html>", "[]", "{}", r#"{"urlAvatar":5}"#, ""] {
        let server = Server::start(move |_, _| Reply::text(200, body));
        let e = fail(&client(&server.url()), "79001234567@c.us");
        assert_eq!(
            (e.kind(), e.http_status(), e.attempts()),
            (ErrorKind::BadResponse, Some(200), 1),
            "{body:?}"
        );
    }
}

#[test]
fn a_64_mib_body_stops_at_the_limit() {
    let server = Server::start(|_, _| Reply::Huge { len: 64 << 20 });
    let e = fail(&client(&server.url()), "79001234567@c.us");
    assert_eq!(
        (e.kind(), e.http_status(), e.attempts()),
        (ErrorKind::BodyTooLarge, Some(200), 1)
    );
    // Reading stopped near 1 MiB: the server could only push what fits in socket buffers beyond it.
    thread::sleep(Duration::from_millis(200));
    let written = server.huge_bytes_written();
    assert!(
        written < 16 << 20,
        "the client kept reading: {written} bytes sent"
    );
}

#[test]
fn max_body_bytes_is_the_limit() {
    let body = format!(r#"{{"urlAvatar":"{}"}}"#, "u".repeat(2000));
    let server = Server::start(move |_, _| Reply::json(200, &body));
    let o = Options {
        max_body_bytes: 1000,
        ..opts(&server.url())
    };
    let e = fail(&Client::with_options(ID, TOKEN, &o).unwrap(), "1@c.us");
    assert_eq!(e.kind(), ErrorKind::BodyTooLarge);
    let o = Options {
        max_body_bytes: 4000,
        ..opts(&server.url())
    };
    assert!(
        Client::with_options(ID, TOKEN, &o)
            .unwrap()
            .get_avatar("1@c.us")
            .is_ok()
    );
}

#[test]
fn consecutive_calls_reuse_one_connection() {
    let server = Server::always_json(200, OLD_SHAPE);
    let c = client(&server.url());
    for _ in 0..10 {
        c.get_avatar("79001234567@c.us").unwrap();
    }
    assert_eq!(server.request_count(), 10);
    assert_eq!(server.connections(), 1);
}

#[test]
fn error_answers_keep_the_connection_too() {
    let server = Server::start(|_, i| {
        if i % 2 == 0 {
            Reply::text(404, "nope")
        } else {
            Reply::json(200, OLD_SHAPE)
        }
    });
    let c = client(&server.url());
    for i in 0..6 {
        assert_eq!(c.get_avatar("79001234567@c.us").is_ok(), i % 2 == 1);
    }
    assert_eq!(server.connections(), 1);
}

#[test]
fn pacing_spaces_calls() {
    let server = Server::always_json(200, OLD_SHAPE);
    let o = Options {
        rate_limit_per_sec: 5.0,
        ..opts(&server.url())
    };
    let c = Client::with_options(ID, TOKEN, &o).unwrap();
    let start = Instant::now();
    for _ in 0..6 {
        c.get_avatar("79001234567@c.us").unwrap();
    }
    // Six calls at 5 per second need five full intervals: at least one second.
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn pacing_is_shared_by_threads() {
    let server = Server::always_json(200, OLD_SHAPE);
    let o = Options {
        rate_limit_per_sec: 10.0,
        ..opts(&server.url())
    };
    let c = Arc::new(Client::with_options(ID, TOKEN, &o).unwrap());
    let start = Instant::now();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let c = c.clone();
            thread::spawn(move || (0..3).for_each(|_| assert!(c.get_avatar("1@c.us").is_ok())))
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(server.request_count(), 12);
    // Twelve calls at 10 per second, whichever threads make them: at least 1.1 s.
    assert!(
        start.elapsed() >= Duration::from_millis(1100),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn many_threads_share_one_client() {
    let server = Server::start(|r, _| {
        if r.body.windows(4).any(|w| w == b"fail") {
            Reply::text(404, "no")
        } else {
            Reply::json(200, OLD_SHAPE)
        }
    });
    let c = Arc::new(client(&server.url()));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let c = c.clone();
            thread::spawn(move || {
                for i in 0..20 {
                    let r = c.get_avatar(if (t + i) % 5 == 0 {
                        "fail@c.us"
                    } else {
                        "1@c.us"
                    });
                    assert_eq!(r.is_ok(), (t + i) % 5 != 0);
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(server.request_count(), 160);
    assert!(
        server.connections() <= 8,
        "{} connections for 8 threads",
        server.connections()
    );
}

#[test]
fn construction_refuses_bad_input_without_echoing_the_token() {
    let ok = opts("http://127.0.0.1:9");
    let invalid = |id: &str, token: &str, o: &Options| {
        let e = Client::with_options(id, token, o).expect_err("should be refused");
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.attempts(), 0);
        if token.len() > 3 {
            assert!(!e.message().contains(token), "{}", e.message());
        }
    };
    invalid("", TOKEN, &ok);
    invalid("12a", TOKEN, &ok);
    for token in [
        "",
        "abc/def",
        "abc?def",
        "abc#def",
        "abc def",
        "abc\ndef",
        "secret%2F",
    ] {
        invalid(ID, token, &ok);
    }
    invalid(
        ID,
        TOKEN,
        &Options {
            timeout: Duration::ZERO,
            ..ok.clone()
        },
    );
    invalid(
        ID,
        TOKEN,
        &Options {
            connect_timeout: Duration::ZERO,
            ..ok.clone()
        },
    );
    invalid(
        ID,
        TOKEN,
        &Options {
            max_retries: 11,
            ..ok.clone()
        },
    );
    invalid(
        ID,
        TOKEN,
        &Options {
            max_body_bytes: 0,
            ..ok.clone()
        },
    );
    for rate in [-1.0, f64::NAN, f64::INFINITY, 1e-320] {
        invalid(
            ID,
            TOKEN,
            &Options {
                rate_limit_per_sec: rate,
                ..ok.clone()
            },
        );
    }
    invalid(
        ID,
        TOKEN,
        &Options {
            user_agent: Some("a\r\nb".into()),
            ..ok.clone()
        },
    );
    invalid(
        ID,
        TOKEN,
        &Options {
            proxy: Some("::not a proxy::".into()),
            ..ok.clone()
        },
    );
    invalid(
        ID,
        TOKEN,
        &Options {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..ok.clone()
        },
    );
    invalid(
        ID,
        TOKEN,
        &Options {
            api_url: Some("http://api.green-api.com".into()),
            ..ok.clone()
        },
    );
    let insecure = Options {
        api_url: Some("http://api.green-api.com".into()),
        allow_insecure_http: true,
        ..ok.clone()
    };
    assert!(Client::with_options(ID, TOKEN, &insecure).is_ok());
}

#[test]
fn bad_chat_ids_are_refused_before_sending() {
    let server = Server::always_json(200, OLD_SHAPE);
    let c = client(&server.url());
    for id in ["", "a b", "abc", &"1".repeat(257)] {
        let e = fail(&c, id);
        assert_eq!((e.kind(), e.attempts()), (ErrorKind::InvalidArgument, 0));
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn ca_file_roots_are_trusted_as_well() {
    let dir = std::env::temp_dir().join(format!("greenapi-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let der = webpki_root_certs::TLS_SERVER_ROOT_CERTS[0].as_ref();
    let pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        base64(der)
    );
    let good = dir.join("roots.pem");
    std::fs::write(&good, pem).unwrap();
    let not_pem = dir.join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let with = |p: &std::path::Path| Options {
        ca_file: Some(p.to_path_buf()),
        ..opts("https://127.0.0.1:9")
    };
    assert!(Client::with_options(ID, TOKEN, &with(&good)).is_ok());
    let e = Client::with_options(ID, TOKEN, &with(&not_pem)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}
