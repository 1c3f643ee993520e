//! No log line carries the token, at any level, whoever writes it: a Rust host that turns on
//! the `log` facade at trace level sees ureq's request line, its `Debug` of the request and
//! ureq_proto's hex dump of the bytes sent, and none of them may hold the token (it is in the
//! request path). Also the server's echoes of the path, retried and redirected answers.

mod support;

use std::sync::Mutex;

use greenapi::{Client, Options};
use support::{ID, Reply, Server, TOKEN, opts};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Keeps every record of every level and target.
struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("[{} {}] {}", record.level(), record.target(), record.args());
        LINES.lock().unwrap_or_else(|p| p.into_inner()).push(line);
    }

    fn flush(&self) {}
}

/// The token, and every 16-character piece of it, in text and in the hex a dump would show.
fn forbidden() -> Vec<String> {
    let chars: Vec<char> = TOKEN.chars().collect();
    let mut all: Vec<String> = chars.windows(16).map(|w| w.iter().collect()).collect();
    let hex = |s: &str, sep: &str| {
        s.bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(sep)
    };
    all.push(hex(&TOKEN[..16], ""));
    all.push(hex(&TOKEN[..16], " "));
    all
}

#[test]
fn no_log_line_holds_the_token() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let server = Server::start(|req, i| {
        let path = req.path.clone();
        match i {
            0 => Reply::json(200, r#"{"existsWhatsapp":true,"urlAvatar":""}"#),
            1 => Reply::text(400, &format!("no route for POST {path}")),
            2 => Reply::text(500, "busy"),
            3 => Reply::json(200, r#"{"existsWhatsapp":true,"urlAvatar":""}"#),
            4 => Reply::text(302, "moved").with_header("location", &format!("http://x{path}")),
            _ => Reply::json(
                200,
                &format!(r#"{{"existsWhatsapp":true,"urlAvatar":"https://x{path}"}}"#),
            ),
        }
    });
    let options = Options {
        max_retries: 1,
        ..opts(&server.url())
    };
    let client = Client::with_options(ID, TOKEN, &options).unwrap();
    for _ in 0..5 {
        let _ = client.get_avatar("79001234567");
    }
    assert_eq!(
        server.request_count(),
        6,
        "200, 400, 500 then 200, 302, 200"
    );
    // The requests did carry the token: the server saw it in each path.
    assert!(server.requests().iter().all(|r| r.path.contains(TOKEN)));
    let lines = LINES.lock().unwrap().clone();
    // The sweep looked at something: ureq logs each request at debug level.
    assert!(
        lines.iter().any(|l| l.contains("getAvatar")),
        "{} lines, none about a request",
        lines.len()
    );
    for line in &lines {
        for piece in forbidden() {
            assert!(!line.contains(&piece), "{piece:?} in a log line: {line}");
        }
    }
}
