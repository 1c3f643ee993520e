//! The one hook the fuzz checks (`fuzz/checks.rs`) need into the crate: the response decoder.
//! Behind the `_fuzz` feature and hidden from the docs: not part of the API.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use ureq::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::{Avatar, Client, Error, Options};

/// What the client with `token` makes of a response with `status` (100 to 999), `headers`
/// (pairs an HTTP parser would have refused are left out: they never reach the decoder) and
/// `body`. An invalid status or token is refused with an invalid-argument error.
pub fn decode(
    status: u16,
    headers: &[(&[u8], &[u8])],
    body: &[u8],
    token: &str,
) -> Result<Avatar, Error> {
    // A client per token, made once: the fuzzer decodes many times a second.
    static CLIENTS: OnceLock<Mutex<HashMap<String, Client>>> = OnceLock::new();
    let status = StatusCode::from_u16(status).map_err(|_| Error::invalid("status out of range"))?;
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            map.append(name, value);
        }
    }
    let mut clients = CLIENTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if !clients.contains_key(token) {
        // Never called: decoding does no I/O.
        let options = Options {
            api_url: Some("http://127.0.0.1:9".into()),
            proxy: Some(String::new()),
            ..Options::default()
        };
        let client = Client::with_options("1101000001", token, &options)?;
        clients.insert(token.to_string(), client);
    }
    clients[token]
        .decode(status, &map, body)
        .map_err(|f| f.error)
}
