//! Certificates are verified, always: against a real TLS server on loopback with a certificate
//! made for the test, trusted only when the caller names it in `ca_file`.

mod support;

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use greenapi::{Client, ErrorKind, Options};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use support::{ID, TOKEN};

struct TlsServer {
    addr: SocketAddr,
    cert_pem: String,
    handshakes: Arc<AtomicUsize>,
}

/// A TLS server whose certificate names `names`; it answers every request with one avatar.
fn tls_server(names: &[&str]) -> TlsServer {
    tls_server_with(
        rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap(),
    )
}

/// A TLS server presenting `certified`.
fn tls_server_with(certified: rcgen::CertifiedKey<rcgen::KeyPair>) -> TlsServer {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counter = handshakes.clone();
    thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = config.clone();
            let counter = counter.clone();
            thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                if tls.conn.complete_io(&mut tls.sock).is_err() {
                    return; // the client refused the certificate
                }
                counter.fetch_add(1, Ordering::SeqCst);
                serve(tls);
            });
        }
    });
    TlsServer {
        addr,
        cert_pem: certified.cert.pem(),
        handshakes,
    }
}

/// The test server's exchange (tests/support), over TLS: every request gets one avatar.
fn serve(stream: impl Read + Write) {
    let answer = r#"{"existsWhatsapp":true,"urlAvatar":"https://pps.whatsapp.net/v/tls.jpg"}"#;
    let response = support::response(
        200,
        &[("content-type".into(), "application/json".into())],
        answer.as_bytes(),
    );
    let mut reader = BufReader::new(stream);
    while support::read_request(&mut reader).is_some() {
        let out = reader.get_mut();
        if out.write_all(&response).and_then(|_| out.flush()).is_err() {
            return;
        }
    }
}

fn client(server: &TlsServer, ca_file: Option<&std::path::Path>) -> Client {
    let options = Options {
        ca_file: ca_file.map(|p| p.to_path_buf()),
        ..support::opts(&format!("https://localhost:{}", server.addr.port()))
    };
    Client::with_options(ID, TOKEN, &options).unwrap()
}

fn write_pem(name: &str, pem: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("greenapi-{}-{name}.pem", std::process::id()));
    std::fs::write(&path, pem).unwrap();
    path
}

#[test]
fn an_untrusted_certificate_is_a_tls_error_and_not_retried() {
    let server = tls_server(&["localhost"]);
    let e = client(&server, None).get_avatar("1@c.us").unwrap_err();
    assert_eq!(
        (e.kind(), e.http_status(), e.attempts()),
        (ErrorKind::Tls, None, 1),
        "{}",
        e.message()
    );
    assert!(!e.message().contains(TOKEN));
    assert_eq!(server.handshakes.load(Ordering::SeqCst), 0);
}

#[test]
fn a_certificate_trusted_through_ca_file_works_and_is_kept_alive() {
    let server = tls_server(&["localhost"]);
    let ca = write_pem("trusted", &server.cert_pem);
    let c = client(&server, Some(&ca));
    for _ in 0..3 {
        let a = c.get_avatar("1@c.us").unwrap();
        assert_eq!(a.url_avatar, "https://pps.whatsapp.net/v/tls.jpg");
    }
    assert_eq!(
        server.handshakes.load(Ordering::SeqCst),
        1,
        "one TLS session for three calls"
    );
    let s = c.stats();
    assert_eq!(
        (
            s.connections_opened,
            s.tls_full_handshakes,
            s.tls_resumed_handshakes
        ),
        (1, 1, 0)
    );
    // Another client trusting the same roots shares the TLS configuration, and with it the
    // session the first one was given: its handshake is resumed.
    // Up to three clients: a session ticket may not have been read yet by the time the next
    // client connects on a loaded machine (CI saw one full handshake once); every handshake is
    // counted as exactly one of the two, and one of them resumes.
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let other = client(&server, Some(&ca));
        other.get_avatar("1@c.us").unwrap();
        let s = other.stats();
        assert_eq!(s.tls_full_handshakes + s.tls_resumed_handshakes, 1);
        kinds.push(s.tls_resumed_handshakes);
        if s.tls_resumed_handshakes == 1 {
            break;
        }
    }
    assert!(kinds.contains(&1), "no handshake resumed: {kinds:?}");
    std::fs::remove_file(ca).unwrap();
}

#[test]
fn a_trusted_certificate_for_another_name_is_refused() {
    let server = tls_server(&["api.green-api.example"]);
    let ca = write_pem("other-name", &server.cert_pem);
    let e = client(&server, Some(&ca)).get_avatar("1@c.us").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{}", e.message());
    std::fs::remove_file(ca).unwrap();
}

/// What `openssl req -x509` makes by default: a self-signed certificate that is also a CA
/// (basicConstraints CA:TRUE). rustls refuses it as a server certificate even when trusted;
/// the message says so and how to make one that works.
#[test]
fn a_trusted_self_signed_ca_certificate_is_explained() {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let server = tls_server_with(rcgen::CertifiedKey {
        cert,
        signing_key: key,
    });
    let ca = write_pem("self-signed-ca", &server.cert_pem);
    let e = client(&server, Some(&ca)).get_avatar("1@c.us").unwrap_err();
    std::fs::remove_file(ca).unwrap();
    assert_eq!(
        (e.kind(), e.attempts()),
        (ErrorKind::Tls, 1),
        "{}",
        e.message()
    );
    let m = e.message();
    assert!(m.contains("CA:TRUE"), "{m}");
    assert!(
        m.contains("-addext basicConstraints=critical,CA:FALSE") && m.contains("subjectAltName"),
        "{m}"
    );
    assert!(!m.contains(TOKEN));
}

/// Kills the openssl server however the test ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A server whose certificate has an RSA-1024 key, trusted through `ca_file`: the message says
/// the key is too weak (openssl: "EE certificate key too weak"), not "BadSignature". The server
/// is `openssl s_server` (rustls will not sign with such a key), at security level 0 so that it
/// agrees to use it.
#[test]
fn a_weak_server_key_is_reported_as_too_weak() {
    let dir = std::env::temp_dir().join(format!("greenapi-weak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:1024", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Child(
        std::process::Command::new("openssl")
            .args(["s_server", "-www", "-cipher", "DEFAULT@SECLEVEL=0", "-cert"])
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .args(["-accept", &format!("127.0.0.1:{port}")])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_server starts"),
    );
    // Until it listens.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "openssl s_server did not start"
        );
        thread::sleep(std::time::Duration::from_millis(20));
    }
    let options = Options {
        ca_file: Some(cert.clone()),
        ..support::opts(&format!("https://localhost:{port}"))
    };
    let e = Client::with_options(ID, TOKEN, &options)
        .unwrap()
        .get_avatar("1@c.us")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{}", e.message());
    assert!(
        e.message().contains("too weak") && e.message().contains("1024"),
        "{}",
        e.message()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
