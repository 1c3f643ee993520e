//! The answer of GetAvatar and the parsing of its JSON body.

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
