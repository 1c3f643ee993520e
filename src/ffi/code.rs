//! `ga_code`: why a call did not produce an answer.
//!
//! The codes are plain `uint32_t` constants rather than a Rust enum on purpose: a C caller may
//! pass any number to `ga_code_str`, and an out-of-range value in a Rust enum would be undefined
//! behaviour. Numbers are explicit and never reused; new codes are appended.

use std::ffi::c_char;

use crate::ErrorKind;
use crate::error::KINDS;

/// A result code. `GA_OK` is 0; every other value says why there is no answer.
pub type ga_code = u32;

/// The service gave a GetAvatar answer.
pub const GA_OK: ga_code = 0;
/// A required pointer argument was NULL.
pub const GA_NULL_ARGUMENT: ga_code = 1;
/// An argument or option was refused: not UTF-8, empty, malformed id, token, chat id or URL, or
/// an option out of range.
pub const GA_INVALID_ARGUMENT: ga_code = 2;
/// An attempt took longer than `timeout_ms` (after every retry).
pub const GA_TIMEOUT: ga_code = 3;
/// DNS failure, connection refused or reset, a body cut off, bytes that are not HTTP.
pub const GA_NETWORK: ga_code = 4;
/// The TLS handshake failed.
pub const GA_TLS: ga_code = 5;
/// HTTP 400.
pub const GA_BAD_REQUEST: ga_code = 6;
/// HTTP 401: wrong apiTokenInstance.
pub const GA_UNAUTHORIZED: ga_code = 7;
/// HTTP 403: wrong idInstance or URL.
pub const GA_FORBIDDEN: ga_code = 8;
/// HTTP 404: wrong method or path.
pub const GA_NOT_FOUND: ga_code = 9;
/// HTTP 429 after every retry.
pub const GA_RATE_LIMITED: ga_code = 10;
/// HTTP 466: the plan's quota is used up.
pub const GA_QUOTA_EXCEEDED: ga_code = 11;
/// HTTP 5xx after every retry.
pub const GA_SERVER_ERROR: ga_code = 12;
/// Any other status that is not 200, 3xx included (redirects are never followed).
pub const GA_HTTP_STATUS: ga_code = 13;
/// HTTP 200 whose body is not a GetAvatar JSON object.
pub const GA_BAD_RESPONSE: ga_code = 14;
/// The body was larger than `max_body_bytes`; reading stopped at the limit.
pub const GA_BODY_TOO_LARGE: ga_code = 15;
/// A bug in the library was caught at the C boundary.
pub const GA_PANIC: ga_code = 16;
/// The call was stopped before it had an answer: `ga_client_shutdown` was called on its client,
/// before or during the call.
pub const GA_CANCELLED: ga_code = 17;
/// A picture's link has expired (`ga_download_avatar`): its `oe=` time is past, so it was not
/// even asked, or the CDN answered 403, 404 or 410. Ask `ga_get_avatar` again for a new link.
pub const GA_EXPIRED: ga_code = 18;

pub(crate) fn from_kind(kind: ErrorKind) -> ga_code {
    kind.info().c_code
}

/// A static description of `code`; never NULL, also for an unknown code.
#[unsafe(no_mangle)]
pub extern "C" fn ga_code_str(code: ga_code) -> *const c_char {
    let s: &'static std::ffi::CStr = match code {
        GA_OK => c"ok",
        GA_NULL_ARGUMENT => c"NULL argument",
        GA_PANIC => c"internal error (a bug in greenapi)",
        _ => KINDS
            .iter()
            .find(|k| k.c_code == code)
            .map_or(c"unknown code", |k| k.description),
    };
    s.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn descriptions_agree_with_the_core() {
        for kind in [
            ErrorKind::InvalidArgument,
            ErrorKind::Timeout,
            ErrorKind::Network,
            ErrorKind::Tls,
            ErrorKind::BadRequest,
            ErrorKind::Unauthorized,
            ErrorKind::Forbidden,
            ErrorKind::NotFound,
            ErrorKind::RateLimited,
            ErrorKind::QuotaExceeded,
            ErrorKind::ServerError,
            ErrorKind::HttpStatus,
            ErrorKind::BadResponse,
            ErrorKind::BodyTooLarge,
            ErrorKind::Cancelled,
            ErrorKind::Expired,
        ] {
            // SAFETY: ga_code_str returns a static NUL-terminated string.
            let s = unsafe { CStr::from_ptr(ga_code_str(from_kind(kind))) };
            assert_eq!(s.to_str().unwrap(), kind.description());
        }
    }
}
