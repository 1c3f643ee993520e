//! Through a CONNECT proxy, ureq runs the whole connector chain for the
//! connection to the proxy (ConnectProxyConnector calls `run_connector`), so an InjectTransport
//! ends up *under* TLS as well as above it, and rewrites TLS ciphertext that happens to look
//! like the start of the token.
//!
//! The proxy here is an honest tunnel; it only forwards the server's bytes in pieces (as a slow
//! network or a proxy that forwards segments as they come would): the end of a piece falls
//! between the two length bytes of a TLS record. A token whose first two characters are those
//! two bytes (`12...`: one hex token in six starts with two decimal digits, and each pair is a
//! record length of 12.3 to 14.6 KiB) has its second byte rewritten to the placeholder's `E`,
//! and the TLS stream is broken.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use greenapi::{Client, Options};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use support::ID;

/// A valid token that starts with two decimal digits.
const TOKEN: &str = "125b3a66374942c5b3c019c698abc2067e151558acbd4123";
/// The same but for its first two characters.
const OTHER: &str = "ab5b3a66374942c5b3c019c698abc2067e151558acbd4123";

/// A TLS 1.3 application-data record whose length bytes are the token's first two: this many
/// bytes of plaintext in one write (plus the content type byte and the 16-byte tag).
const PLAINTEXT: usize = 0x3132 - 17;

/// A TLS server that answers every request with an avatar whose response is exactly
/// [`PLAINTEXT`] bytes, written at once (one record).
fn tls_server() -> (u16, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = config.clone();
            thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                if tls.conn.complete_io(&mut tls.sock).is_err() {
                    return;
                }
                let answer =
                    r#"{"existsWhatsapp":true,"urlAvatar":"https://pps.whatsapp.net/v/a.jpg"}"#;
                // JSON allows trailing whitespace: pad the body to the record size.
                let make = |pad: usize| {
                    let body = format!("{answer}{}", " ".repeat(pad));
                    support::response(
                        200,
                        &[("content-type".into(), "application/json".into())],
                        body.as_bytes(),
                    )
                };
                let mut pad = PLAINTEXT - make(0).len();
                while make(pad).len() > PLAINTEXT {
                    pad -= 1;
                }
                let response = make(pad);
                assert_eq!(response.len(), PLAINTEXT);
                let mut reader = BufReader::new(tls);
                while support::read_request(&mut reader).is_some() {
                    let out = reader.get_mut();
                    if out.write_all(&response).and_then(|_| out.flush()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, certified.cert.pem())
}

/// A CONNECT tunnel to 127.0.0.1 that forwards the server's bytes faithfully, but ends a
/// piece right after the first length byte of an application-data record whose length bytes
/// are the token's first two, and sends the second length byte as a piece of its own.
fn splitting_proxy() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            thread::spawn(move || tunnel(client));
        }
    });
    port
}

fn tunnel(client: TcpStream) {
    client.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut target = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line == "\r\n" {
            break;
        }
        if let Some(rest) = line.strip_prefix("CONNECT ") {
            target = rest.split_whitespace().next().unwrap().to_string();
        }
    }
    let port: u16 = target.rsplit(':').next().unwrap().parse().unwrap();
    let server = TcpStream::connect(("127.0.0.1", port)).unwrap();
    server.set_nodelay(true).unwrap();
    let mut to_client = client.try_clone().unwrap();
    to_client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .unwrap();
    // Client to server: as it comes (whatever the reader already buffered first).
    let mut to_server = server.try_clone().unwrap();
    thread::spawn(move || {
        let _ = to_server.write_all(reader.buffer());
        let n = reader.buffer().len();
        reader.consume(n);
        let _ = std::io::copy(&mut reader, &mut to_server);
        let _ = to_server.shutdown(std::net::Shutdown::Write);
    });
    // Server to client, split as described.
    let t = TOKEN.as_bytes();
    let pattern = [0x17, 0x03, 0x03, t[0], t[1]];
    let mut from_server = server;
    from_server
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match from_server.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                // Nothing more is coming for now: what was held back goes out.
                if to_client.write_all(&pending).is_err() {
                    return;
                }
                pending.clear();
                continue;
            }
            Err(_) => break,
        }
        while let Some(i) = pending.windows(5).position(|w| w == pattern) {
            let ok = to_client.write_all(&pending[..i + 4]).is_ok() && {
                thread::sleep(Duration::from_millis(80));
                to_client.write_all(&pending[i + 4..i + 5]).is_ok()
            };
            if !ok {
                return;
            }
            thread::sleep(Duration::from_millis(80));
            pending.drain(..i + 5);
        }
        // Hold back a tail that may be the start of the pattern.
        let keep = (1..5)
            .rev()
            .find(|&k| pending.ends_with(&pattern[..k]))
            .unwrap_or(0);
        let send = pending.len() - keep;
        if to_client.write_all(&pending[..send]).is_err() {
            return;
        }
        pending.drain(..send);
    }
    let _ = to_client.write_all(&pending);
}

fn client(token: &str, server_port: u16, ca: &std::path::Path, proxy: Option<String>) -> Client {
    let options = Options {
        api_url: Some(format!("https://localhost:{server_port}")),
        ca_file: Some(ca.to_path_buf()),
        rate_limit_per_sec: 0.0,
        max_retries: 0,
        timeout: Duration::from_secs(5),
        proxy: Some(proxy.unwrap_or_default()),
        ..Options::default()
    };
    Client::with_options(ID, token, &options).unwrap()
}

#[test]
fn https_through_a_connect_proxy_survives_a_record_split_between_its_length_bytes() {
    let (server_port, pem) = tls_server();
    let ca = std::env::temp_dir().join(format!("greenapi-review-{}.pem", std::process::id()));
    std::fs::write(&ca, pem).unwrap();

    // Direct: fine.
    let direct = client(TOKEN, server_port, &ca, None).get_avatar("79001234567");
    assert_eq!(
        direct
            .map(|a| a.url_avatar)
            .map_err(|e| e.message().to_string()),
        Ok("https://pps.whatsapp.net/v/a.jpg".to_string()),
    );

    // Through the tunnel, whose only difference is where it ends its pieces: a client with
    // another token is fine (the tunnel is honest)...
    let proxy = splitting_proxy();
    let other = client(
        OTHER,
        server_port,
        &ca,
        Some(format!("http://127.0.0.1:{proxy}")),
    )
    .get_avatar("79001234567");
    assert_eq!(
        other
            .map(|a| a.url_avatar)
            .map_err(|e| format!("{:?}: {}", e.kind(), e.message())),
        Ok("https://pps.whatsapp.net/v/a.jpg".to_string()),
    );
    // ...but the client whose token starts with the record's length bytes is not.
    let proxied = client(
        TOKEN,
        server_port,
        &ca,
        Some(format!("http://127.0.0.1:{proxy}")),
    )
    .get_avatar("79001234567");
    std::fs::remove_file(&ca).unwrap();
    assert_eq!(
        proxied
            .map(|a| a.url_avatar)
            .map_err(|e| format!("{:?}: {}", e.kind(), e.message())),
        Ok("https://pps.whatsapp.net/v/a.jpg".to_string()),
        "the TLS stream through the proxy was corrupted"
    );
}
