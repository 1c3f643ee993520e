//! The answer of GetAvatar and the parsing of its JSON body.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer};

use crate::error::{Error, ErrorKind};

/// What the service answered to GetAvatar (HTTP 200).
///
/// Both answer shapes map onto this: the older one (`existsWhatsapp`, `urlAvatar`, `reason`) and
/// the newer one (`urlAvatar`, `available`). A field the answer did not carry is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    /// The number has a WhatsApp account (older answers only).
    pub exists_whatsapp: Option<bool>,
    /// `false` when privacy settings hide the avatar (newer answers only).
    pub available: Option<bool>,
    /// Link to the picture; empty when there is none, it is hidden, or there is no account.
    pub url_avatar: String,
    /// Why the service could not check, e.g. `bad request data`; `None` when it could.
    pub reason: Option<String>,
    /// HTTP status of the answer (200).
    pub http_status: u16,
    /// HTTP attempts made, 1 + retries.
    pub attempts: u32,
    /// When the link stops working: the `oe=` parameter of `url_avatar` (a hexadecimal Unix
    /// time, as WhatsApp's CDN writes it); `None` when the URL has none or it is not one.
    pub expires_at: Option<SystemTime>,
}

/// The longest `oe=` value read, in hex digits: 16 digits are every `u64`.
const MAX_OE_DIGITS: usize = 16;

/// The expiry a CDN link carries in its `oe=` query parameter (hex Unix seconds). A missing,
/// empty, non-hex or absurd value (past year 9999) is `None`: a link is never refused for a
/// parameter this code does not understand, and the CDN still says when it is expired.
pub fn link_expiry(url: &str) -> Option<SystemTime> {
    let without_fragment = url.split('#').next().unwrap_or("");
    let query = without_fragment.split_once('?')?.1;
    let value = query.split('&').find_map(|pair| pair.strip_prefix("oe="))?;
    if value.is_empty()
        || value.len() > MAX_OE_DIGITS
        || !value.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    let secs = u64::from_str_radix(value, 16).ok()?;
    // 9999-12-31: a later "expiry" is not a time, and would not fit a C int64 either.
    if secs > 253_402_300_799 {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// Unix seconds of `t`, the form C and Python are given.
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The wire form. Each field is `Some(..)` when its key was present, so that a JSON object with
/// none of the GetAvatar keys can be told apart from an answer whose values are all `null`.
#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "existsWhatsapp", default, deserialize_with = "present")]
    exists_whatsapp: Option<Option<bool>>,
    #[serde(rename = "urlAvatar", default, deserialize_with = "present")]
    url_avatar: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    reason: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    available: Option<Option<bool>>,
}

fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Parses a 200 body. Anything that is not a JSON object with the expected field types is a
/// `BadResponse`: never a crash and never a silent default.
pub(crate) fn parse_body(body: &[u8]) -> Result<Avatar, Error> {
    let wire: Wire = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::BadResponse,
            format!("the service answered HTTP 200 with a body that is not a GetAvatar JSON object ({e})"),
        )
    })?;
    if wire.exists_whatsapp.is_none()
        && wire.url_avatar.is_none()
        && wire.reason.is_none()
        && wire.available.is_none()
    {
        return Err(Error::new(
            ErrorKind::BadResponse,
            "the service answered HTTP 200 with a JSON object that has none of the GetAvatar fields",
        ));
    }
    let url_avatar = wire.url_avatar.flatten().unwrap_or_default();
    let reason = wire.reason.flatten();
    // C callers get these as NUL-terminated strings; a NUL inside cannot be a URL or a reason.
    if url_avatar.contains('\0') || reason.as_deref().is_some_and(|r| r.contains('\0')) {
        return Err(Error::new(
            ErrorKind::BadResponse,
            "the service answered HTTP 200 with a NUL character inside urlAvatar or reason",
        ));
    }
    Ok(Avatar {
        exists_whatsapp: wire.exists_whatsapp.flatten(),
        available: wire.available.flatten(),
        expires_at: link_expiry(&url_avatar),
        url_avatar,
        reason,
        http_status: 200,
        attempts: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_shape() {
        let a = parse_body(br#"{"existsWhatsapp":true,"urlAvatar":"https://pps.whatsapp.net/x"}"#)
            .unwrap();
        assert_eq!(a.exists_whatsapp, Some(true));
        assert_eq!(a.available, None);
        assert_eq!(a.url_avatar, "https://pps.whatsapp.net/x");
        assert_eq!(a.reason, None);
    }

    #[test]
    fn newer_shape_with_unknown_fields() {
        let a = parse_body(br#"{"urlAvatar":"","available":false,"future":[1,{"x":2}]}"#).unwrap();
        assert_eq!(a.exists_whatsapp, None);
        assert_eq!(a.available, Some(false));
        assert_eq!(a.url_avatar, "");
    }

    #[test]
    fn reason_only_and_nulls() {
        let a = parse_body(br#"{"reason":"bad request data"}"#).unwrap();
        assert_eq!(a.reason.as_deref(), Some("bad request data"));
        assert_eq!(a.url_avatar, "");
        let a = parse_body(
            br#"{"existsWhatsapp":null,"urlAvatar":null,"reason":null,"available":null}"#,
        )
        .unwrap();
        assert_eq!(
            (a.exists_whatsapp, a.available, a.reason),
            (None, None, None)
        );
    }

    #[test]
    fn expiry_from_oe() {
        let at = |u: &str| link_expiry(u).map(unix_seconds);
        assert_eq!(
            at("https://pps.whatsapp.net/v/t61?ccb=11-4&oh=01_Q&oe=6592A1B0&_nc_cat=1"),
            Some(0x6592_A1B0)
        );
        assert_eq!(at("https://h/x?oe=ff"), Some(255));
        assert_eq!(at("https://h/x?oe=6592a1b0#frag"), Some(0x6592_A1B0));
        for none in [
            "",
            "https://h/x",
            "https://h/x?oe=",
            "https://h/x?oe=xyz",
            "https://h/x?noe=10",
            "https://h/x?oe=-1",
            "https://h/x?oe=+1",
            "https://h/x?oe=FFFFFFFFFFFFFFFF",
            "https://h/x?oe=10000000000000000",
            "https://h/x#?oe=10",
        ] {
            assert_eq!(at(none), None, "{none}");
        }
        let a = parse_body(br#"{"urlAvatar":"https://pps.whatsapp.net/x?oe=10"}"#).unwrap();
        assert_eq!(a.expires_at.map(unix_seconds), Some(16));
    }

    #[test]
    fn bad_bodies_are_bad_response() {
        for body in [
            &b""[..],
            b"[]",
            b"\"text\"",
            b"null",
            b"<html>oops</html>",
            b"{}",
            b"{\"other\":1}",
            b"{\"urlAvatar\":5}",
            b"{\"existsWhatsapp\":\"yes\"}",
            b"{\"available\":1}",
            b"{\"reason\":false}",
            b"{\"urlAvatar\":\"a\\u0000b\"}",
            b"{\"urlAvatar\":\"x\"",
            b"\xff\xfe",
        ] {
            let e = parse_body(body).unwrap_err();
            assert_eq!(
                e.kind(),
                ErrorKind::BadResponse,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
