//! Cost of one GetAvatar call on a kept-alive loopback connection, next to a hand-written
//! HTTP/1.1 exchange with the same server over one `TcpStream`: the ratio is what the library
//! adds to the round trip. Run with `make bench` (or `cargo bench --bench loopback`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use greenapi::Client;
use support::{ID, Reply, Server, TOKEN};

const ANSWER: &str =
    r#"{"existsWhatsapp":true,"urlAvatar":"https://pps.whatsapp.net/v/t61/x.jpg?oe=1"}"#;
const CALLS: u32 = 5000;

fn per_call(mut f: impl FnMut()) -> Duration {
    for _ in 0..200 {
        f();
    }
    let start = Instant::now();
    for _ in 0..CALLS {
        f();
    }
    start.elapsed() / CALLS
}

fn main() {
    let server = Server::start(|_, _| Reply::json(200, ANSWER));
    let client = Client::with_options(ID, TOKEN, &support::opts(&server.url())).unwrap();
    let library = per_call(|| {
        let a = client.get_avatar("79001234567@c.us").unwrap();
        assert!(a.exists_whatsapp == Some(true));
    });

    let stream = TcpStream::connect(server.addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let body = r#"{"chatId":"79001234567@c.us"}"#;
    let request = format!(
        "POST /waInstance{ID}/getAvatar/{TOKEN} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    let by_hand = per_call(|| {
        writer.write_all(request.as_bytes()).unwrap();
        let answer = support::read_message(&mut reader).unwrap();
        assert!(answer.body.starts_with(b"{\"existsWhatsapp\":true"));
    });

    println!("loopback, kept alive, {CALLS} calls each:");
    println!("  greenapi Client::get_avatar   {library:>10.1?} per call");
    println!("  hand-written HTTP exchange    {by_hand:>10.1?} per call");
    println!(
        "  ratio                         {:>10.2}x",
        library.as_secs_f64() / by_hand.as_secs_f64()
    );
    println!(
        "  TCP connections opened by the library: 1 expected, {} seen",
        server.connections() - 1
    );
}
