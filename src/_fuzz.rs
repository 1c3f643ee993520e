//! The one hook the fuzz checks (`fuzz/checks.rs`) need into the crate: the response decoder.
//! Behind the `_fuzz` feature and hidden from the docs: not part of the API.

use ureq::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::secret::Secret;
use crate::{Avatar, Error};

/// What a client with `token` makes of a response with `status` (100 to 999), `headers`
/// (pairs an HTTP parser would have refused are left out: they never reach the decoder) and
/// `body`. An invalid status is refused with an invalid-argument error.
pub fn decode(
    status: u16,
    headers: &[(&[u8], &[u8])],
    body: &[u8],
    token: &str,
) -> Result<Avatar, Error> {
    let status = StatusCode::from_u16(status).map_err(|_| Error::invalid("status out of range"))?;
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            map.append(name, value);
        }
    }
    crate::response::decode(status, &map, body, &Secret::new(token)).map_err(|f| f.error)
}
