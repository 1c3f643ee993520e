//! The server's certificate is checked by webpki, as rustls does by default; this wrapper only
//! explains a refusal that webpki reports vaguely. An RSA key under 2048 bits cannot be
//! verified by the crypto provider, and webpki calls that `BadSignature`, the same as a forged
//! signature; here it is told apart and reported as [`WeakKey`].

use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};

/// The smallest RSA key the crypto provider verifies with.
const MIN_RSA_BITS: usize = 2048;

/// A key of the server's chain is too small for the crypto provider to verify with.
#[derive(Debug)]
pub(crate) struct WeakKey {
    pub(crate) bits: usize,
}

impl fmt::Display for WeakKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RSA key of {} bits", self.bits)
    }
}

impl std::error::Error for WeakKey {}

/// webpki's verifier, with weak keys explained.
#[derive(Debug)]
pub(crate) struct Verifier(pub(crate) Arc<WebPkiServerVerifier>);

/// `e`, or [`WeakKey`] when it is a bad signature and one of `certs` has a weak RSA key.
fn explained<'a>(
    e: rustls::Error,
    certs: impl IntoIterator<Item = &'a CertificateDer<'a>>,
) -> rustls::Error {
    let vague = matches!(
        e,
        rustls::Error::InvalidCertificate(
            CertificateError::BadSignature
                | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        )
    );
    if !vague {
        return e;
    }
    match certs
        .into_iter()
        .filter_map(|c| rsa_bits(c))
        .find(|&bits| bits < MIN_RSA_BITS)
    {
        Some(bits) => rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
            Arc::new(WeakKey { bits }),
        ))),
        None => e,
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| explained(e, std::iter::once(end_entity).chain(intermediates)))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0
            .verify_tls12_signature(message, cert, dss)
            .map_err(|e| explained(e, [cert]))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0
            .verify_tls13_signature(message, cert, dss)
            .map_err(|e| explained(e, [cert]))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.0.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.0.root_hint_subjects()
    }
}

/// One DER element: its tag, its contents, and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The size of a certificate's RSA key, in bits; `None` for another kind of key or a
/// certificate that does not parse.
fn rsa_bits(cert: &CertificateDer<'_>) -> Option<usize> {
    const SEQUENCE: u8 = 0x30;
    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let (SEQUENCE, certificate, _) = element(cert.as_ref())? else {
        return None;
    };
    let (SEQUENCE, mut tbs, _) = element(certificate)? else {
        return None;
    };
    // version [0] (optional), serial, signature algorithm, issuer, validity, subject.
    if tbs.first() == Some(&0xa0) {
        tbs = element(tbs)?.2;
    }
    for _ in 0..5 {
        tbs = element(tbs)?.2;
    }
    let (SEQUENCE, spki, _) = element(tbs)? else {
        return None;
    };
    let (SEQUENCE, algorithm, rest) = element(spki)? else {
        return None;
    };
    let (0x06, oid, _) = element(algorithm)? else {
        return None;
    };
    if oid != RSA_ENCRYPTION {
        return None;
    }
    // BIT STRING: a count of unused bits (0), then RSAPublicKey { modulus, exponent }.
    let (0x03, bits, _) = element(rest)? else {
        return None;
    };
    let (SEQUENCE, key, _) = element(bits.get(1..)?)? else {
        return None;
    };
    let (0x02, modulus, _) = element(key)? else {
        return None;
    };
    let modulus = &modulus[modulus.iter().take_while(|&&b| b == 0).count()..];
    let top = *modulus.first()?;
    Some((modulus.len() - 1) * 8 + (8 - top.leading_zeros() as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sizes_are_read_from_rsa_keys_only_and_bad_der_is_none() {
        // rcgen makes ECDSA P-256 keys: not RSA.
        let ec = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let der = ec.cert.der().clone();
        assert_eq!(rsa_bits(&der), None);
        for cut in [0, 1, 2, 10, der.len() / 2] {
            assert_eq!(rsa_bits(&CertificateDer::from(&der[..cut])), None, "{cut}");
        }
    }
}
