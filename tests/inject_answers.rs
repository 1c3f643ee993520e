//! src/inject.rs against answers that arrive in small pieces (a server, a
//! proxy or a slow network that writes a few bytes at a time).

mod support;

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use greenapi::{Client, Options};
use support::{ID, TOKEN, opts};

/// A gap long enough for the client to read each piece on its own.
const GAP: Duration = Duration::from_millis(60);

/// A server that answers every request with `pieces`, written one after another with a pause
/// between them (so that each arrives in a read of its own).
fn piecewise_server(pieces: Vec<Vec<u8>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let pieces = pieces.clone();
            thread::spawn(move || serve_pieces(stream, &pieces));
        }
    });
    url
}

fn serve_pieces(stream: TcpStream, pieces: &[Vec<u8>]) {
    stream.set_nodelay(true).unwrap();
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while support::read_request(&mut reader).is_some() {
        for p in pieces {
            if out.write_all(p).and_then(|_| out.flush()).is_err() {
                return;
            }
            thread::sleep(GAP);
        }
    }
}

/// A 200 whose body is `before` `middle` `after`, in pieces: the head and `before` together,
/// then each byte of `middle` on its own, then `after`.
fn split_answer(url_avatar_parts: (&str, &str, &str)) -> Vec<Vec<u8>> {
    let (before, middle, after) = url_avatar_parts;
    let body = format!(r#"{{"existsWhatsapp":true,"urlAvatar":"{before}{middle}{after}"}}"#);
    let whole = support::response(
        200,
        &[("content-type".into(), "application/json".into())],
        body.as_bytes(),
    );
    let start = whole.len() - body.len() + body.find(middle).unwrap();
    let mut pieces = vec![whole[..start].to_vec()];
    for b in middle.bytes() {
        pieces.push(vec![b]);
    }
    pieces.push(whole[start + middle.len()..].to_vec());
    pieces
}

fn client(url: &str) -> Client {
    let options = Options {
        max_retries: 0,
        ..opts(url)
    };
    Client::with_options(ID, TOKEN, &options).unwrap()
}

/// The answer names a picture whose path happens to start like the token (`d75` for the
/// tests' token `d75b3a...`: two hex digits in common are common in hashes). Each byte comes in
/// a read of its own. Nothing of the token is in the answer, so the link must come back as
/// the server wrote it; today the bytes after the first are replaced by the placeholder's
/// (`dED...`), because a continuation of the carry is hidden before the token is known to be
/// whole.
#[test]
fn a_short_start_of_the_token_split_over_reads_is_not_rewritten() {
    let link = ("https://pps.whatsapp.net/v/", &TOKEN[..3], "x.jpg");
    let url = piecewise_server(split_answer(link));
    let avatar = client(&url).get_avatar("79001234567").unwrap();
    assert_eq!(
        avatar.url_avatar,
        format!("{}{}{}", link.0, link.1, link.2),
        "the answer was rewritten"
    );
}

/// The same, but the start of the token that ends a read is 8 bytes long (the placeholder
/// is written over any such tail at once, whether or not the token follows): the link is
/// corrupted to `.../REDACTEDx.jpg`.
#[test]
fn an_eight_byte_start_of_the_token_at_the_end_of_a_read_is_not_rewritten() {
    let expected = format!("https://pps.whatsapp.net/v/{}x.jpg", &TOKEN[..8]);
    let body = format!(r#"{{"existsWhatsapp":true,"urlAvatar":"{expected}"}}"#);
    let whole = support::response(
        200,
        &[("content-type".into(), "application/json".into())],
        body.as_bytes(),
    );
    // The read ends right after the eighth byte of the token's start.
    let cut = whole.len() - body.len() + body.find("x.jpg").unwrap();
    let url = piecewise_server(vec![whole[..cut].to_vec(), whole[cut..].to_vec()]);
    let avatar = client(&url).get_avatar("79001234567").unwrap();
    assert_eq!(avatar.url_avatar, expected, "the answer was rewritten");
}
