//! What an answer means: a status, its headers and the body bytes read, turned into an
//! [`Avatar`] or a [`Failure`]. Pure (no I/O) and needing only the [`Secret`] to keep out of what
//! it returns, so that it can be fuzzed with any status, headers and bytes.

use std::time::Duration;

use ureq::http::{HeaderMap, StatusCode};

use crate::avatar::{Avatar, parse_body};
use crate::error::{Error, ErrorKind};
use crate::failure::Failure;
use crate::secret::Secret;

/// How much of an error body is read to explain a failure.
pub(crate) const ERROR_BODY_READ: u64 = 4096;

/// Statuses worth another attempt: GetAvatar only reads, so a retry is safe.
fn retryable(code: u16) -> bool {
    matches!(code, 429 | 499 | 500 | 502 | 503 | 504)
}

/// The answer for `status` with `body` (for a 200 the whole body, for any other status at most
/// [`ERROR_BODY_READ`] bytes of it).
pub(crate) fn decode(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    secret: &Secret,
) -> Result<Avatar, Failure> {
    if status == StatusCode::OK {
        return answer(body, secret);
    }
    let code = status.as_u16();
    // Only where a wait is what the server asks for (RFC 9110 names 503 and 429 for this): a
    // 401 or 404 will not get better by waiting, and must not pause the client.
    let retry_after = matches!(code, 429 | 503)
        .then(|| headers.get("retry-after"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let reason = status.canonical_reason().unwrap_or("");
    let mut message = format!("HTTP {code} {reason}").trim_end().to_string();
    if code == 466 {
        message.push_str(" (the plan's quota is used up)");
    } else if (300..400).contains(&code) {
        message.push_str(" (redirects are not followed: the token is in the URL)");
    }
    let detail = secret.excerpt(body);
    if !detail.is_empty() {
        message.push_str(": ");
        message.push_str(&detail);
    }
    Err(Failure {
        error: Error::new(ErrorKind::from_status(code), message).with_status(code),
        retryable: retryable(code),
        retry_after,
    })
}

/// A 200's body as an answer.
fn answer(body: &[u8], secret: &Secret) -> Result<Avatar, Failure> {
    let mut avatar = parse_body(body).map_err(|e| Failure {
        // The parser quotes what it could not read, and that came from the body.
        error: Error::new(e.kind(), secret.clean(e.message())).with_status(200),
        retryable: false,
        retry_after: None,
    })?;
    // Text copied from a body never carries the token, even a body that echoes it.
    secret.scrub_in_place(&mut avatar.url_avatar);
    if let Some(r) = avatar.reason.as_mut() {
        secret.scrub_in_place(r);
    }
    Ok(avatar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::http::HeaderValue;

    fn retry_after(status: u16) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("99999999"));
        let secret = Secret::new("SECRETtoken0123456789");
        let status = StatusCode::from_u16(status).unwrap();
        decode(status, &headers, b"", &secret)
            .unwrap_err()
            .retry_after
    }

    #[test]
    fn retry_after_is_heeded_only_on_429_and_503() {
        assert!(retry_after(429).is_some());
        assert!(retry_after(503).is_some());
        // A client error will not get better by waiting: its Retry-After must not pause the
        // client (a misconfigured instance would run a batch at one call per 10 s).
        for status in [400, 401, 403, 404, 466, 500, 502, 504, 302] {
            assert_eq!(retry_after(status), None, "HTTP {status}");
        }
    }
}
