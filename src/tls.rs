//! Which certificates are trusted, and what a refused certificate means.

use std::io::Read;
use std::sync::Arc;

use ureq::tls::{Certificate, PemItem, RootCerts};

use crate::error::{Error, ErrorKind};
use crate::options::Options;

/// The largest `ca_file` read: Mozilla's whole bundle is about 200 KiB.
const MAX_CA_FILE_BYTES: u64 = 16 << 20;

/// The built-in (Mozilla) roots, plus those in `options.ca_file`.
pub(crate) fn root_certs(options: &Options) -> Result<RootCerts, Error> {
    let Some(path) = &options.ca_file else {
        return Ok(RootCerts::WebPki);
    };
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
    // "As well": the built-in roots stay trusted beside the caller's.
    certs.extend(
        webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| Certificate::from_der(der.as_ref()).to_owned()),
    );
    Ok(RootCerts::Specific(Arc::new(certs)))
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
