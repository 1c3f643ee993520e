//! A token whose start repeats (`aa...`, one hex token in sixteen),
//! echoed by the server in a response header right after a character equal to its first, and
//! split across two reads after `aa`. `partial_tail` takes the read's final `aa` for the
//! token's first two bytes (the longest match), but the token really starts one byte earlier;
//! the carry's continuation does not match and nothing looks again, so the token reaches
//! ureq's buffer whole, and ureq's debug log of the response head carries it.

mod support;

use std::io::{BufReader, Write};
use std::net::TcpListener;
use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use greenapi::{Client, Options};
use support::{ID, opts};

const REPEATING: &str = "aa5b3a66374942c5b3c019c698abc2067e151558acbd4123";

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

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

#[test]
fn a_split_echo_after_a_byte_equal_to_the_tokens_first_is_not_logged() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
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
