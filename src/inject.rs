//! The token goes into the request as its bytes leave, and comes out of the answer as its
//! bytes arrive: ureq never holds it.
//!
//! ureq logs what it sends and receives (at debug level the method and URI, a `Debug` of the
//! whole request and of the response head; at trace level a hex dump of the bytes), and a Rust
//! host that turns the `log` facade on would find the token there: it is in the request path,
//! and a server may echo it back. So the URI ureq is given carries a placeholder of the token's
//! length, and [`InjectTransport`], at the top of the connector chain of the connection to the
//! service, where ureq writes the request and reads the answer, has buffers of its own: on the
//! way down it replaces the placeholder in the request line with the token, and on the way up
//! every occurrence of the token with the placeholder (which [`crate::secret::Secret::scrub`]
//! shows as `***`).
//!
//! Answers are matched exactly (a Knuth-Morris-Pratt automaton over the stream): only a whole
//! token is replaced, so an answer that merely starts like it is never changed. A read that ends
//! in [`HOLD_FROM`] or more bytes of the token's start is handed up without them until the next
//! read tells whether the token follows (or the connection ends); a shorter start is handed up
//! at once, so at most its first `HOLD_FROM - 1` bytes can reach ureq before the rest is hidden.
//!
//! The connection to a CONNECT proxy runs through the same connector chain (ureq makes it with
//! the client's connectors); there this layer passes everything through untouched, since the
//! TLS to the service runs over it and its bytes are ciphertext.

use std::fmt;
use std::sync::Arc;

use ureq::http::Uri;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
};

use crate::secret::Secret;

/// A read that ends in this many bytes of the token's start (or more) holds them back.
const HOLD_FROM: usize = 8;
/// What comes before the token in the request path.
const TAG: &str = "/getAvatar/";

/// The placeholder in the request path, what it becomes on the wire, and the connection it is
/// for.
pub(crate) struct Injection {
    /// `/getAvatar/REDACTED____...`
    placeholder: Vec<u8>,
    /// `/getAvatar/<token>`: the same length.
    real: Vec<u8>,
    /// The service's scheme and authority: only a connection to it carries the request.
    target: (String, String),
    /// The automaton's fall-back table over the token: `fail[i]` is the length of the longest
    /// proper prefix of `token[..=i]` that is also its suffix.
    fail: Vec<usize>,
}

impl fmt::Debug for Injection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Injection")
    }
}

impl Injection {
    /// For `secret`, in requests to `uri` (built with [`Secret::placeholder`]).
    pub(crate) fn new(secret: &Secret, uri: &Uri) -> Injection {
        let token = secret.expose().as_bytes();
        let mut fail = vec![0; token.len()];
        let mut k = 0;
        for i in 1..token.len() {
            while k > 0 && token[i] != token[k] {
                k = fail[k - 1];
            }
            if token[i] == token[k] {
                k += 1;
            }
            fail[i] = k;
        }
        Injection {
            placeholder: format!("{TAG}{}", secret.placeholder()).into_bytes(),
            real: format!("{TAG}{}", secret.expose()).into_bytes(),
            target: target_of(uri),
            fail,
        }
    }

    fn token(&self) -> &[u8] {
        &self.real[TAG.len()..]
    }

    fn stand_in(&self) -> &[u8] {
        &self.placeholder[TAG.len()..]
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
        if let Some(at) = out[..line]
            .windows(self.placeholder.len())
            .position(|w| w == self.placeholder.as_slice())
        {
            out[at..at + self.real.len()].copy_from_slice(&self.real);
        }
    }

    /// The automaton's state (how many bytes of the token the text so far ends in) after `b`.
    fn step(&self, mut state: usize, b: u8) -> usize {
        let token = self.token();
        if state == token.len() {
            state = self.fail[state - 1];
        }
        while state > 0 && token[state] != b {
            state = self.fail[state - 1];
        }
        if token[state] == b { state + 1 } else { 0 }
    }

    /// The state after `data`, from `state`.
    fn state_after(&self, data: &[u8], state: usize) -> usize {
        data.iter().fold(state, |s, &b| self.step(s, b))
    }

    /// Every whole token in `data` replaced by the placeholder, in place, from `state` (how
    /// much of the token the text before `data` ended in); the state after it. A token that
    /// began before `data` is replaced from where `data` starts.
    fn hide(&self, data: &mut [u8], mut state: usize) -> usize {
        let n = self.token().len();
        for i in 0..data.len() {
            state = self.step(state, data[i]);
            if state == n {
                let end = i + 1;
                let skipped = n.saturating_sub(end);
                data[end + skipped - n..end].copy_from_slice(&self.stand_in()[skipped..]);
            }
        }
        state
    }

    /// How many bytes at the end of `data` (read after text that ended in `state`) wait for
    /// the next read: a start of the token of [`HOLD_FROM`] bytes or more, not yet the whole
    /// token. Never more than `data`.
    fn held(&self, data: &[u8], state: usize) -> usize {
        let tail = self.state_after(data, state);
        if tail < HOLD_FROM || tail == self.token().len() {
            0
        } else {
            tail.min(data.len())
        }
    }

    /// Whether `details` are those of the connection to the service (not of a proxy's).
    fn is_target(&self, uri: &Uri) -> bool {
        target_of(uri) == self.target
    }
}

/// A URI's scheme and authority, as the connection it needs.
fn target_of(uri: &Uri) -> (String, String) {
    (
        uri.scheme_str().unwrap_or_default().to_ascii_lowercase(),
        uri.authority()
            .map(|a| a.as_str().to_ascii_lowercase())
            .unwrap_or_default(),
    )
}

/// The last connector of a client's chain (see the module doc).
#[derive(Debug)]
pub(crate) struct InjectConnector(pub(crate) Arc<Injection>);

impl<In: Transport> Connector<In> for InjectConnector {
    type Out = Either<In, InjectTransport<In>>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(inner) = chained else {
            return Ok(None);
        };
        if !self.0.is_target(details.uri) {
            return Ok(Some(Either::A(inner)));
        }
        let config = details.config;
        Ok(Some(Either::B(InjectTransport {
            inner,
            buffers: LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
            injection: self.0.clone(),
            state: 0,
        })))
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
    /// How much of the token the bytes handed up so far end in.
    state: usize,
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
        let mut ended = false;
        loop {
            let (have, handed) = self.hand_up(ended);
            if handed > 0 {
                return Ok(true);
            }
            if ended || (have > 0 && self.buffers.input_append_buf().is_empty()) {
                return Ok(false);
            }
            // Nothing yet, or only what may be the start of the token: read more (or learn
            // that nothing more comes, and then hand it up as it is).
            if !self.inner.await_input(timeout)? {
                if have == 0 {
                    return Ok(false);
                }
                ended = true;
            }
        }
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

impl<T: Transport> InjectTransport<T> {
    /// Copies what has arrived into ureq's buffer, tokens hidden, but for a tail of
    /// [`HOLD_FROM`] bytes or more of the token's start unless the stream `ended`. Gives how
    /// many bytes had arrived and how many were handed up.
    fn hand_up(&mut self, ended: bool) -> (usize, usize) {
        let src = self.inner.buffers().input();
        let have = src.len();
        let held = if ended {
            0
        } else {
            self.injection.held(src, self.state)
        };
        let dst = self.buffers.input_append_buf();
        let n = (have - held).min(dst.len());
        dst[..n].copy_from_slice(&src[..n]);
        self.state = self.injection.hide(&mut dst[..n], self.state);
        self.buffers.input_appended(n);
        self.inner.buffers().input_consume(n);
        (have, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "SECRETtoken0123456789";

    fn injection(token: &str) -> Injection {
        let uri: Uri = "https://api.example/x".parse().unwrap();
        Injection::new(&Secret::new(token), &uri)
    }

    #[test]
    fn the_token_replaces_the_placeholder_in_the_request_line_only() {
        let i = injection(TOKEN);
        assert_eq!(i.stand_in(), b"REDACTED_____________");
        let path = format!(
            "/waInstance1/getAvatar/{}",
            String::from_utf8_lossy(i.stand_in())
        );
        let mut head = format!("POST {path} HTTP/1.1\r\nx-echo: {path}\r\n\r\n").into_bytes();
        i.apply(&mut head);
        let head = String::from_utf8(head).unwrap();
        assert_eq!(
            head,
            format!("POST /waInstance1/getAvatar/{TOKEN} HTTP/1.1\r\nx-echo: {path}\r\n\r\n")
        );
        // A body (no request line) is left as it is.
        let mut body = path.clone().into_bytes();
        i.apply(&mut body);
        assert_eq!(body, path.as_bytes());
    }

    /// `text` arriving in pieces cut at `cuts`, handed up as the transport does: a tail that
    /// may be the token's start held back until the next piece (or the end).
    fn hidden_in_pieces(i: &Injection, text: &str, cuts: &[usize]) -> String {
        let bytes = text.as_bytes();
        let (mut out, mut pending, mut state) = (Vec::new(), Vec::new(), 0);
        let mut from = 0;
        for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
            pending.extend_from_slice(&bytes[from..cut]);
            from = cut;
            let ended = cut == bytes.len();
            let n = pending.len() - if ended { 0 } else { i.held(&pending, state) };
            let mut up: Vec<u8> = pending.drain(..n).collect();
            state = i.hide(&mut up, state);
            out.extend(up);
        }
        String::from_utf8(out).unwrap()
    }

    /// What hiding may give for `text` holding the token at `at`: the token hidden, or, when
    /// a piece ended within its first HOLD_FROM - 1 bytes, those bytes shown and the rest hidden.
    fn acceptable(i: &Injection, text: &str, at: &[usize], got: &str) -> bool {
        let n = i.token().len();
        let mut want = text.as_bytes().to_vec();
        for &p in at {
            want[p..p + n].copy_from_slice(i.stand_in());
        }
        let got = got.as_bytes();
        got.len() == want.len()
            && (0..got.len()).all(|k| {
                got[k] == want[k]
                    || at
                        .iter()
                        .any(|&p| k >= p && k < p + HOLD_FROM - 1 && got[k] == text.as_bytes()[k])
            })
    }

    #[test]
    fn only_whole_tokens_are_hidden_however_the_text_is_cut() {
        let i = injection(TOKEN);
        let text = format!("a {TOKEN} b SECRETtok c {TOKEN}");
        let at = [2, 2 + TOKEN.len() + 15];
        for a in 0..text.len() {
            for b in a..text.len() {
                let got = hidden_in_pieces(&i, &text, &[a, b]);
                assert!(acceptable(&i, &text, &at, &got), "cut at {a}, {b}: {got}");
                // A cut that is not inside a token's first bytes hides it whole.
                if [a, b]
                    .iter()
                    .all(|&c| at.iter().all(|&p| c <= p || c >= p + HOLD_FROM - 1))
                {
                    assert!(!got.contains("SECRETtoken0"), "cut at {a}, {b}: {got}");
                }
            }
        }
        // A start of the token that is not followed by it is never touched.
        let text = "x SECRETtok y SECRETtoken012";
        for cut in 0..text.len() {
            assert_eq!(hidden_in_pieces(&i, text, &[cut]), text, "cut at {cut}");
        }
    }

    #[test]
    fn a_token_whose_start_repeats_is_found_after_a_false_start() {
        let token = "aa5b3a66374942c5b3c0";
        let i = injection(token);
        let text = format!("xa{token}y");
        for cut in 0..text.len() {
            let got = hidden_in_pieces(&i, &text, &[cut]);
            assert!(acceptable(&i, &text, &[2], &got), "cut at {cut}: {got}");
        }
        // Cut right after the false start: all of it is hidden.
        assert!(!hidden_in_pieces(&i, &text, &[3]).contains("5b3a6637"));
    }

    #[test]
    fn only_the_connection_to_the_service_is_wrapped() {
        let i = injection(TOKEN);
        assert!(i.is_target(&"https://API.example/other".parse().unwrap()));
        assert!(!i.is_target(&"http://proxy.example:3128".parse().unwrap()));
        assert!(!i.is_target(&"http://api.example/x".parse().unwrap()));
    }
}
