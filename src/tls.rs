//! Which certificates are trusted, the TLS layer that trusts them, and what a refused
//! certificate means.
//!
//! ureq's own rustls connector builds its rustls configuration once per connector, that is once
//! per client here, and with a `ca_file` that means parsing the 150 built-in roots again for
//! every client (about 0.8 M instructions, a quarter of a first call's cost). [`TlsConnector`]
//! builds one configuration per set of roots and per process, and shares it.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use ureq::tls::{Certificate, PemItem, RootCerts};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

use crate::error::{Error, ErrorKind};
use crate::fork::ProcessLocal;
use crate::options::Options;
use crate::verify::{Verifier, WeakKey};

/// The largest `ca_file` read: Mozilla's whole bundle is about 200 KiB.
const MAX_CA_FILE_BYTES: u64 = 16 << 20;

/// Root sets made from `ca_file`s, most recently made last: clients that trust the same file
/// share one set and one rustls configuration.
static CA_ROOTS: Mutex<Vec<Arc<Roots>>> = Mutex::new(Vec::new());
/// How many `ca_file` root sets are kept for reuse (a process rarely has more than one).
const CA_ROOTS_KEPT: usize = 8;

/// One `ca_file`'s root set: the caller's certificates followed by the built-in ones.
struct Roots {
    certs: Arc<Vec<Certificate<'static>>>,
    /// How many of `certs` came from the file.
    from_file: usize,
    /// Per process: see [`client_config`].
    config: ProcessLocal<Arc<ClientConfig>>,
}

/// The built-in (Mozilla) roots, plus those in `options.ca_file`. The same file's certificates
/// give the same (shared) set.
pub(crate) fn root_certs(options: &Options) -> Result<RootCerts, Error> {
    let Some(path) = &options.ca_file else {
        return Ok(RootCerts::WebPki);
    };
    let certs = read_ca_file(path)?;
    let Some(mut cache) = ca_roots() else {
        return Ok(RootCerts::Specific(Arc::new(with_built_in(certs))));
    };
    let same = |r: &Arc<Roots>| {
        r.from_file == certs.len() && r.certs.iter().zip(&certs).all(|(a, b)| a.der() == b.der())
    };
    if let Some(i) = cache.iter().position(same) {
        let roots = cache.remove(i);
        let shared = roots.certs.clone();
        cache.push(roots);
        return Ok(RootCerts::Specific(shared));
    }
    let from_file = certs.len();
    let certs = Arc::new(with_built_in(certs));
    if cache.len() >= CA_ROOTS_KEPT {
        cache.remove(0);
    }
    cache.push(Arc::new(Roots {
        certs: certs.clone(),
        from_file,
        config: ProcessLocal::new(),
    }));
    Ok(RootCerts::Specific(certs))
}

/// The certificates of a `ca_file`, refused with a message that says why.
fn read_ca_file(path: &std::path::Path) -> Result<Vec<Certificate<'static>>, Error> {
    let shown = path.display();
    let unreadable =
        |e: std::io::Error| Error::invalid(format!("ca_file {shown} cannot be read: {e}"));
    // Asked before opening: opening a FIFO blocks until a writer comes, and a device such as
    // /dev/zero never ends.
    if !std::fs::metadata(path).map_err(unreadable)?.is_file() {
        return Err(Error::invalid(format!(
            "ca_file {shown} is not a regular file"
        )));
    }
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut pem))
        .map_err(unreadable)?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(Error::invalid(format!(
            "ca_file {shown} is larger than {MAX_CA_FILE_BYTES} bytes"
        )));
    }
    let mut certs: Vec<Certificate<'static>> = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => {
                return Err(Error::invalid(format!(
                    "ca_file {shown} is not valid PEM: {e}"
                )));
            }
        }
    }
    if certs.is_empty() {
        return Err(Error::invalid(format!(
            "ca_file {shown} holds no PEM certificate"
        )));
    }
    Ok(certs)
}

/// The caller's certificates and, "as well", the built-in roots, which stay trusted.
fn with_built_in(mut certs: Vec<Certificate<'static>>) -> Vec<Certificate<'static>> {
    certs.extend(
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| Certificate::from_der(der.as_ref()).to_owned()),
    );
    certs
}

/// The shared root sets, unless another thread holds them right now: then the caller does
/// without (the cache only saves work). Waiting could mean waiting forever: a fork can leave the
/// lock held by a thread that does not exist in the child.
fn ca_roots() -> Option<MutexGuard<'static, Vec<Arc<Roots>>>> {
    match CA_ROOTS.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// The rustls configuration for a client's roots: built once per process for the built-in
/// roots and once per kept `ca_file` set, and then shared. Per process, not once: it holds the
/// session cache behind a mutex, which a thread of the parent may have held at a fork (and the
/// child would then wait for it forever), and tickets the parent uses too.
fn client_config(roots: &RootCerts) -> Result<Arc<ClientConfig>, ureq::Error> {
    static BUILT_IN: ProcessLocal<Arc<ClientConfig>> = ProcessLocal::new();
    match roots {
        RootCerts::Specific(certs) => {
            let kept =
                ca_roots().and_then(|c| c.iter().find(|r| Arc::ptr_eq(&r.certs, certs)).cloned());
            match kept {
                Some(r) => Ok(r.config.get(|| build(certs)).clone()),
                // Pushed out of the cache by other files since the client was made.
                None => Ok(build(certs)),
            }
        }
        RootCerts::WebPki => Ok(BUILT_IN
            .get(|| {
                with_roots(RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                })
            })
            .clone()),
        _ => Err(ureq::Error::Tls("unsupported root certificate setting")),
    }
}

fn build(certs: &[Certificate<'static>]) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    // A certificate that does not parse as a trust anchor is skipped, as ureq's connector did.
    store.add_parsable_certificates(certs.iter().map(|c| c.der().to_vec().into()));
    with_roots(store)
}

/// What ureq's connector would build: the process's default crypto provider (ring unless the
/// host chose another), TLS 1.2 and 1.3, SNI, no client certificate, webpki's certificate check
/// (with its refusals explained, see `verify.rs`).
fn with_roots(store: RootCertStore) -> Arc<ClientConfig> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let Ok(builder) = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
    else {
        unreachable!("every provider supports the versions it lists")
    };
    let store = Arc::new(store);
    let config = match WebPkiServerVerifier::builder_with_provider(store.clone(), provider).build()
    {
        Ok(webpki) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier(webpki))),
        // Only for a store without roots, which never happens (the built-in ones are in every
        // store): rustls's own check then refuses every certificate, as it should.
        Err(_) => builder.with_root_certificates(store),
    };
    Arc::new(config.with_no_client_auth())
}

/// Puts TLS over the connections of `https://` URLs (and leaves the rest as they are), with a
/// configuration shared by every client that trusts the same roots.
#[derive(Debug, Default)]
pub(crate) struct TlsConnector;

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Err(ureq::Error::Tls("TLS needs a connection to run over"));
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let config = client_config(details.config.tls_config().root_certs())?;
        let host = details.uri.host().unwrap_or_default();
        // An IPv6 literal comes in brackets, which are no part of the name.
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| ureq::Error::Tls("the host is not a valid TLS server name"))?;
        let mut conn = ClientConnection::new(config, name)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        conn.complete_io(&mut sock)?;
        crate::observe::sites::tls_handshake(matches!(
            conn.handshake_kind(),
            Some(rustls::HandshakeKind::Resumed)
        ));
        Ok(Some(Either::B(TlsTransport {
            buffers: LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            stream: StreamOwned { conn, sock },
        })))
    }
}

/// One TLS connection over a [`crate::transport::TcpTransport`] (or a proxy's tunnel).
pub(crate) struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTransport")
            .field("over", &self.stream.sock.get_ref())
            .finish()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        self.stream.write_all(&self.buffers.output()[..amount])?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let n = self.stream.read(self.buffers.input_append_buf())?;
        self.buffers.input_appended(n);
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

/// A TLS failure whose cause the caller can fix, explained: `(kind, message, retryable)`, or
/// `None` for any other failure.
///
/// The one explained today: a server certificate that is itself a CA (basicConstraints
/// CA:TRUE), which is what `openssl req -x509` makes by default. curl accepts one trusted
/// through `--cacert`; rustls (RFC 5280) refuses a CA certificate as the server's own, even
/// when it is trusted, and says only `CaUsedAsEndEntity`.
pub(crate) fn explain(e: &ureq::Error) -> Option<(ErrorKind, String, bool)> {
    let rustls_error = match e {
        ureq::Error::Rustls(r) => r,
        ureq::Error::Io(io) => io.get_ref()?.downcast_ref::<rustls::Error>()?,
        _ => return None,
    };
    let rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) = rustls_error
    else {
        return None;
    };
    if let Some(weak) = other.0.downcast_ref::<WeakKey>() {
        return Some((
            ErrorKind::Tls,
            format!(
                "{}: the server's certificate chain has a key that is too weak: an {weak},                  where at least 2048 bits are needed (openssl says \"certificate key too \
                 weak\"); the server needs a new key",
                ErrorKind::Tls.description()
            ),
            false,
        ));
    }
    // webpki's error is only reachable as text: its Display is the variant's name.
    if other.to_string() != "CaUsedAsEndEntity" {
        return None;
    }
    Some((
        ErrorKind::Tls,
        format!(
            "{}: the server's certificate is a CA certificate (basicConstraints CA:TRUE), which \
             is refused as a server's own certificate even when trusted through ca_file; make \
             a server certificate that is not a CA, e.g. openssl req -x509 -newkey rsa:2048 \
             -nodes -keyout key.pem -out cert.pem -days 365 -subj /CN=localhost -addext \
             basicConstraints=critical,CA:FALSE -addext subjectAltName=DNS:localhost,IP:127.0.0.1",
            ErrorKind::Tls.description()
        ),
        false,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_file(name: &str) -> std::path::PathBuf {
        let cert = rcgen::generate_simple_self_signed(vec![name.to_string()]).unwrap();
        let path =
            std::env::temp_dir().join(format!("greenapi-tls-{name}-{}.pem", std::process::id()));
        std::fs::write(&path, cert.cert.pem()).unwrap();
        path
    }

    fn roots(path: &std::path::Path) -> RootCerts {
        let options = Options {
            ca_file: Some(path.to_path_buf()),
            ..Options::default()
        };
        root_certs(&options).unwrap()
    }

    /// A forked child never uses its parent's rustls configurations: they hold the session
    /// cache behind a mutex that a thread of the parent may have held at the fork (children
    /// hung forever in their first HTTPS call), and tickets the parent uses too.
    #[test]
    fn a_forked_child_builds_its_own_configurations() {
        let _turn = CACHE_TESTS.lock().unwrap_or_else(|p| p.into_inner());
        let path = ca_file("forked.example");
        let specific = roots(&path);
        let parent = (
            client_config(&RootCerts::WebPki).unwrap(),
            client_config(&specific).unwrap(),
        );
        // SAFETY: the child only builds configurations and exits without unwinding.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let built_in = client_config(&RootCerts::WebPki).unwrap();
            let file = client_config(&specific).unwrap();
            // Within the child, each is still made once.
            let again = client_config(&RootCerts::WebPki).unwrap();
            let code = if Arc::ptr_eq(&built_in, &parent.0) || Arc::ptr_eq(&file, &parent.1) {
                1
            } else if !Arc::ptr_eq(&built_in, &again) {
                2
            } else {
                0
            };
            // SAFETY: ends the child at once, without running the parent's destructors.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for the child just made.
        assert_eq!(unsafe { libc::waitpid(pid, &raw mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "child status {status}");
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "1: the child used its parent's configuration; 2: it built one twice"
        );
        // The parent's stay as they were.
        assert!(Arc::ptr_eq(
            &parent.0,
            &client_config(&RootCerts::WebPki).unwrap()
        ));
    }

    #[test]
    fn clients_of_one_ca_file_share_roots_and_configuration() {
        let _turn = CACHE_TESTS.lock().unwrap_or_else(|p| p.into_inner());
        let path = ca_file("shared.example");
        let (RootCerts::Specific(a), RootCerts::Specific(b)) = (roots(&path), roots(&path)) else {
            panic!("a ca_file gives specific roots");
        };
        assert!(Arc::ptr_eq(&a, &b), "the built-in roots were copied again");
        let first = client_config(&RootCerts::Specific(a)).unwrap();
        let second = client_config(&RootCerts::Specific(b)).unwrap();
        assert!(Arc::ptr_eq(&first, &second), "the roots were parsed again");
        let built_in = client_config(&RootCerts::WebPki).unwrap();
        assert!(Arc::ptr_eq(
            &built_in,
            &client_config(&RootCerts::WebPki).unwrap()
        ));
        assert!(!Arc::ptr_eq(&built_in, &first));

        // Another file's certificates are other roots.
        let other = ca_file("other.example");
        let RootCerts::Specific(c) = roots(&other) else {
            panic!("a ca_file gives specific roots");
        };
        let RootCerts::Specific(a) = roots(&path) else {
            unreachable!()
        };
        assert!(!Arc::ptr_eq(&a, &c));
        std::fs::remove_file(path).unwrap();
        std::fs::remove_file(other).unwrap();
    }

    /// A fork can leave the cache's lock held by a thread that the child does not have: a
    /// client made then must not wait for it.
    /// The tests that hold or count on the shared cache take turns.
    static CACHE_TESTS: Mutex<()> = Mutex::new(());

    #[test]
    fn a_held_cache_lock_is_not_waited_for() {
        let _turn = CACHE_TESTS.lock().unwrap_or_else(|p| p.into_inner());
        let path = ca_file("held.example");
        let held = CA_ROOTS.lock().unwrap_or_else(|p| p.into_inner());
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || {
            let roots = roots(&p);
            let _ = tx.send(client_config(&roots).is_ok());
        });
        let made = rx.recv_timeout(std::time::Duration::from_secs(20));
        drop(held);
        assert_eq!(made, Ok(true), "a client waited for the cache's lock");
        std::fs::remove_file(path).unwrap();
    }

    /// `/dev/zero` would be read until memory runs out, a FIFO with no writer would block the
    /// open forever, a directory is no file at all: each is refused, at once.
    #[test]
    fn a_ca_file_that_is_not_a_regular_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("greenapi-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for path in ["/dev/zero".into(), fifo, dir.clone()] {
            let options = Options {
                ca_file: Some(path.clone()),
                ..Options::default()
            };
            let Err(e) = root_certs(&options) else {
                panic!("{} accepted", path.display())
            };
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(
                e.message().contains("not a regular file"),
                "{}",
                e.message()
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
