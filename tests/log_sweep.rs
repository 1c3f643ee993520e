//! No log line carries the token, at any level, whoever writes it: a Rust host that turns on
//! the `log` facade at trace level sees ureq's request line, its `Debug` of the request and
//! ureq_proto's hex dump of the bytes sent, and none of them may hold the token (it is in the
//! request path). Also the server's echoes of the path, retried and redirected answers.

mod support;

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use greenapi::{Client, Options};
use support::{ID, Reply, Server, TOKEN, opts};

/// A token whose start repeats, for the split echo below.
const REPEATING: &str = "aa5b3a66374942c5b3c019c698abc2067e151558acbd4123";

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

/// Installs the capturing logger, once for all the tests of this file.
fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        log::set_logger(&Capture).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
}

#[test]
fn no_log_line_holds_the_token() {
    capture_logs();
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
    // The client's own events go to the same lines, every field shown.
    let observer = greenapi::Observer::new(greenapi::Level::Debug, |e| {
        let line = format!("[event] {} {e:?}", e.message());
        LINES.lock().unwrap_or_else(|p| p.into_inner()).push(line);
    });
    let options = Options {
        max_retries: 1,
        observer: Some(observer),
        ..opts(&server.url())
    };
    let client = Client::with_options(ID, TOKEN, &options).unwrap();
    for _ in 0..5 {
        let _ = client.get_avatar("79001234567");
    }
    let stats = format!("[stats] {:?}", client.stats());
    LINES.lock().unwrap().push(stats);
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
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("[event] request.answered")),
        "no event among the lines"
    );
    for line in &lines {
        for piece in forbidden() {
            assert!(!line.contains(&piece), "{piece:?} in a log line: {line}");
        }
    }
}

/// A token whose start repeats (`aa...`, one hex token in sixteen), echoed by the server in a
/// response header right after a character equal to its first, and split across two reads
/// after `aa`: the token really starts one byte before the `aa` the read ends in, and must be
/// found all the same (the first version of inject.rs let it reach ureq's log whole).
#[test]
fn a_split_echo_after_a_byte_equal_to_the_tokens_first_is_not_logged() {
    capture_logs();
    let body = br#"{"existsWhatsapp":true,"urlAvatar":""}"#;
    let whole = support::response(
        200,
        &[
            ("content-type".into(), "application/json".into()),
            ("x-instance".into(), format!("a{REPEATING}")),
        ],
        body,
    );
    let at = whole
        .windows(REPEATING.len())
        .position(|w| w == REPEATING.as_bytes())
        .unwrap();
    // The first read ends after "aa": the extra `a` and the token's first byte.
    let cut = at + 1;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_nodelay(true).unwrap();
        let mut out = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        support::read_request(&mut reader).unwrap();
        out.write_all(&whole[..cut]).unwrap();
        thread::sleep(Duration::from_millis(80));
        out.write_all(&whole[cut..]).unwrap();
        thread::sleep(Duration::from_secs(1));
    });
    let options = Options {
        max_retries: 0,
        ..opts(&url)
    };
    let client = Client::with_options(ID, REPEATING, &options).unwrap();
    client.get_avatar("79001234567").unwrap();
    let lines = LINES.lock().unwrap().clone();
    assert!(lines.iter().any(|l| l.contains("x-instance")), "{lines:#?}");
    // ureq_proto's trace-level hex dump shows 16 bytes a line, their text at the end: what
    // shows of the token is at most its first HIDE_PREFIX - 1 (7) bytes, so no line may hold
    // 12 of them, and the text column of the dump, joined, may not hold the token.
    for line in &lines {
        assert!(
            !line.contains(&REPEATING[..12]),
            "the token is in a log line: {line}"
        );
    }
    let dumped: String = lines
        .iter()
        .filter(|l| l.starts_with("[TRACE ureq_proto::util]"))
        .filter_map(|l| l.rsplit("  ").next())
        .collect();
    assert!(
        !dumped.contains(REPEATING),
        "the token is in the trace-level dump: {dumped}"
    );
}
