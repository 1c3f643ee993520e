//! The token goes into the request as its bytes leave, and comes out of the answer as its
//! bytes arrive: ureq never holds it.
//!
//! ureq logs what it sends and receives (at debug level the method and URI, a `Debug` of the
//! whole request and of the response head; at trace level a hex dump of the bytes), and a Rust
//! host that turns the `log` facade on would find the token there: it is in the request path,
//! and a server may echo it back. So the URI ureq is given carries a placeholder of the token's
//! length, and [`InjectTransport`], at the top of the connector chain, where ureq writes the
//! request and reads the answer, has buffers of its own: on the way down it replaces the
//! placeholder in the request line with the token, and on the way up every occurrence of the
//! token with the placeholder (which [`crate::secret::Secret::scrub`] shows as `***`). A token
//! that arrives split across two reads is held back until it is whole.

use std::fmt;
use std::sync::Arc;

use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, LazyBuffers, NextTimeout, Transport,
};

use crate::secret::Secret;

/// A tail this long that starts the token is hidden before the rest has arrived.
const HIDE_PREFIX: usize = 8;
/// What comes before the token in the request path.
const TAG: &str = "/getAvatar/";

/// The placeholder in the request path, and what it becomes on the wire.
pub(crate) struct Injection {
    /// `/getAvatar/REDACTED____...`
    placeholder: Vec<u8>,
    /// `/getAvatar/<token>`: the same length.
    real: Vec<u8>,
}

impl fmt::Debug for Injection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Injection")
    }
}

impl Injection {
    /// For `secret`; [`Injection::placeholder_token`] is what the URI is built with.
    pub(crate) fn new(secret: &Secret) -> Injection {
        Injection {
            placeholder: format!("{TAG}{}", secret.placeholder()).into_bytes(),
            real: format!("{TAG}{}", secret.expose()).into_bytes(),
        }
    }

    /// What stands for the token in the URI ureq sees.
    pub(crate) fn placeholder_token(&self) -> &str {
        let text = std::str::from_utf8(&self.placeholder).unwrap_or_default();
        text.strip_prefix(TAG).unwrap_or_default()
    }

    /// Puts the token into a request line at the start of `out`, if `out` begins one. A
    /// request line always arrives whole: ureq writes the head into its output buffer (128 KiB)
    /// at once, and a URI is at most 64 KiB.
    fn apply(&self, out: &mut [u8]) {
        if !out.starts_with(b"POST ") {
            return;
        }
        let line = out
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(out.len());
        if let Some(at) = find(&out[..line], &self.placeholder) {
            out[at..at + self.real.len()].copy_from_slice(&self.real);
        }
    }
}

impl Injection {
    /// The token in `text` replaced by the placeholder, in place (the same length).
    fn hide(&self, text: &mut [u8]) {
        let (token, stand_in) = (&self.real[TAG.len()..], &self.placeholder[TAG.len()..]);
        let mut from = 0;
        while let Some(at) = find(&text[from..], token) {
            let at = from + at;
            text[at..at + token.len()].copy_from_slice(stand_in);
            from = at + token.len();
        }
    }

    /// How many bytes at the end of `data` could be the start of the token.
    fn partial_tail(&self, data: &[u8]) -> usize {
        let token = &self.real[TAG.len()..];
        (1..token.len().min(data.len() + 1))
            .rev()
            .find(|&k| data.ends_with(&token[..k]))
            .unwrap_or(0)
    }

    /// [`Injection::hide`] for one chunk of a stream: `carry` is how much of the token the end
    /// of the previous chunk matched. Its continuation at the start of this chunk is hidden,
    /// and so is a tail of this chunk that starts the token, once it is [`HIDE_PREFIX`] bytes
    /// or more (shorter ones match ordinary text too often to touch, and reveal too little to
    /// matter). Bytes are never held back: an answer that ends in a few bytes that happen to
    /// start the token must not wait for more.
    fn hide_stream(&self, chunk: &mut [u8], carry: &mut usize) {
        let (token, stand_in) = (&self.real[TAG.len()..], &self.placeholder[TAG.len()..]);
        let mut start = 0;
        if *carry > 0 {
            let rest = &token[*carry..];
            let x = rest.len().min(chunk.len());
            if chunk[..x] == rest[..x] {
                chunk[..x].copy_from_slice(&stand_in[*carry..*carry + x]);
                if x < rest.len() {
                    *carry += x;
                    return;
                }
                start = x;
            }
        }
        let chunk = &mut chunk[start..];
        self.hide(chunk);
        let k = self.partial_tail(chunk);
        if k >= HIDE_PREFIX {
            let at = chunk.len() - k;
            chunk[at..].copy_from_slice(&stand_in[..k]);
        }
        *carry = k;
    }
}

/// Where `needle` first is in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The last connector of a client's chain (see the module doc).
#[derive(Debug)]
pub(crate) struct InjectConnector(pub(crate) Arc<Injection>);

impl<In: Transport> Connector<In> for InjectConnector {
    type Out = InjectTransport<In>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let config = details.config;
        Ok(chained.map(|inner| InjectTransport {
            inner,
            buffers: LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
            injection: self.0.clone(),
            carry: 0,
        }))
    }
}

/// A transport that writes the token into each request line on its way down and takes it out
/// of every answer on its way up (see the module doc).
#[derive(Debug)]
pub(crate) struct InjectTransport<T> {
    inner: T,
    /// What ureq writes to and reads from: never the token.
    buffers: LazyBuffers,
    injection: Arc<Injection>,
    /// How much of the token the end of the last chunk handed up matched.
    carry: usize,
}

impl<T: Transport> Transport for InjectTransport<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let mut sent = 0;
        while sent < amount {
            let src = &self.buffers.output()[sent..amount];
            let dst = self.inner.buffers().output();
            let n = src.len().min(dst.len());
            dst[..n].copy_from_slice(&src[..n]);
            if sent == 0 {
                self.injection.apply(&mut dst[..n]);
            }
            self.inner.transmit_output(n, timeout)?;
            sent += n;
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        if self.inner.buffers().input().is_empty() && !self.inner.await_input(timeout)? {
            return Ok(false);
        }
        let src = self.inner.buffers().input();
        let dst = self.buffers.input_append_buf();
        let n = src.len().min(dst.len());
        dst[..n].copy_from_slice(&src[..n]);
        self.injection.hide_stream(&mut dst[..n], &mut self.carry);
        self.buffers.input_appended(n);
        self.inner.buffers().input_consume(n);
        Ok(n > 0)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_replaces_the_placeholder_in_the_request_line_only() {
        let token = "SECRETtoken0123456789";
        let i = Injection::new(&Secret::new(token));
        assert_eq!(i.placeholder_token(), "REDACTED_____________");
        let path = format!("/waInstance1/getAvatar/{}", i.placeholder_token());
        let mut head = format!("POST {path} HTTP/1.1\r\nx-echo: {path}\r\n\r\n").into_bytes();
        i.apply(&mut head);
        let head = String::from_utf8(head).unwrap();
        assert_eq!(
            head,
            format!("POST /waInstance1/getAvatar/{token} HTTP/1.1\r\nx-echo: {path}\r\n\r\n")
        );
        // A body (no request line) is left as it is.
        let mut body = path.clone().into_bytes();
        i.apply(&mut body);
        assert_eq!(body, path.as_bytes());
    }

    #[test]
    fn the_token_is_hidden_in_answers() {
        let token = "SECRETtoken0123456789";
        let i = Injection::new(&Secret::new(token));
        let mut answer = format!("a {token} b {token}").into_bytes();
        i.hide(&mut answer);
        let stand_in = i.placeholder_token().to_string();
        assert_eq!(answer, format!("a {stand_in} b {stand_in}").into_bytes());
        assert_eq!(i.partial_tail(b"xx SECRETtok"), 9);
        assert_eq!(i.partial_tail(b"xx S"), 1);
        assert_eq!(i.partial_tail(b"xx "), 0);
        assert_eq!(i.partial_tail(format!("xx {token}").as_bytes()), 0);
    }

    #[test]
    fn a_token_split_over_chunks_is_hidden_but_for_a_short_start() {
        let token = "SECRETtoken0123456789";
        let i = Injection::new(&Secret::new(token));
        let stand_in = i.placeholder_token().as_bytes().to_vec();
        let whole = format!("<{token}>");
        for cut in 1..whole.len() {
            for second in cut..whole.len() {
                let mut bytes = whole.clone().into_bytes();
                let mut carry = 0;
                let (a, rest) = bytes.split_at_mut(cut);
                let (b, c) = rest.split_at_mut(second - cut);
                i.hide_stream(a, &mut carry);
                i.hide_stream(b, &mut carry);
                i.hide_stream(c, &mut carry);
                // What shows of the token is at most the first HIDE_PREFIX - 1 bytes.
                let shown = String::from_utf8_lossy(&bytes).into_owned();
                assert!(
                    !shown.contains(&token[..HIDE_PREFIX]),
                    "{cut}/{second}: {shown}"
                );
                assert!(
                    shown.ends_with(&format!(
                        "{}>",
                        String::from_utf8_lossy(&stand_in[HIDE_PREFIX..])
                    )),
                    "{cut}/{second}: {shown}"
                );
            }
        }
        // A chunk that ends in a short start of the token is handed up as it is.
        let mut carry = 0;
        let mut text = *b"busy S";
        i.hide_stream(&mut text, &mut carry);
        assert_eq!(&text, b"busy S");
    }
}
