//! What a download may ask and accept: the link (https, an allowed host, not expired) and the
//! picture (an image type this code knows, whose first bytes match its label). Pure, no I/O.

use std::time::SystemTime;

use ureq::http::Uri;

use crate::avatar::link_expiry;
use crate::error::{Error, ErrorKind};

/// The hosts a download may go to when no option adds any: WhatsApp's CDN
/// (`pps.whatsapp.net`, `mmg.whatsapp.net`, ...).
pub const DEFAULT_DOWNLOAD_HOST: &str = "whatsapp.net";

/// The longest host name (RFC 1035).
const MAX_HOST_LEN: usize = 253;

/// An image type a picture may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageType {
    /// `image/jpeg`, what WhatsApp serves.
    Jpeg,
    /// `image/png`.
    Png,
    /// `image/webp`.
    Webp,
}

impl ImageType {
    /// The MIME type, e.g. `image/jpeg`.
    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
            ImageType::Webp => "image/webp",
        }
    }

    /// The file extension a saved picture gets, without the dot: `jpg`, `png`, `webp`.
    pub fn extension(self) -> &'static str {
        match self {
            ImageType::Jpeg => "jpg",
            ImageType::Png => "png",
            ImageType::Webp => "webp",
        }
    }

    /// The type a `Content-Type` names (parameters and case ignored); `image/jpg`, which some
    /// servers send, is JPEG too.
    pub(crate) fn from_content_type(value: &str) -> Option<ImageType> {
        let mime = value.split(';').next().unwrap_or("").trim();
        match mime.to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/jpg" => Some(ImageType::Jpeg),
            "image/png" => Some(ImageType::Png),
            "image/webp" => Some(ImageType::Webp),
            _ => None,
        }
    }

    /// The type the first bytes of a file say it is.
    pub(crate) fn sniff(bytes: &[u8]) -> Option<ImageType> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageType::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageType::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageType::Webp)
        } else {
            None
        }
    }
}

/// The hosts a client may download from: each entry allows itself and every name under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// [`DEFAULT_DOWNLOAD_HOST`] and the option's `extra` hosts, each checked.
    pub(crate) fn new(extra: &[String]) -> Result<AllowedHosts, Error> {
        let mut hosts = vec![DEFAULT_DOWNLOAD_HOST.to_string()];
        for h in extra {
            hosts.push(checked_host(h)?);
        }
        Ok(AllowedHosts(hosts))
    }

    pub(crate) fn allows(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.0.iter().any(|allowed| {
            host == *allowed
                || host
                    .strip_suffix(allowed.as_str())
                    .is_some_and(|rest| rest.ends_with('.') && !is_ip(allowed))
        })
    }
}

fn is_ip(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[')
}

/// An entry of `download_hosts`: a bare host name or IP address (no scheme, port or path),
/// lower-cased.
fn checked_host(h: &str) -> Result<String, Error> {
    let lower = h.trim_end_matches('.').to_ascii_lowercase();
    let bracketed_v6 = lower.starts_with('[')
        && lower.ends_with(']')
        && lower[1..lower.len() - 1]
            .parse::<std::net::Ipv6Addr>()
            .is_ok();
    let name_ok = !lower.is_empty()
        && lower.len() <= MAX_HOST_LEN
        && !lower.starts_with(['.', '-'])
        && !lower.contains("..")
        && lower
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if bracketed_v6 || name_ok {
        Ok(lower)
    } else {
        Err(Error::invalid(
            "download_hosts: each entry must be a bare host name or IP address (letters, \
             digits, '-' and '.'; an IPv6 address in brackets), without scheme, port or path",
        ))
    }
}

/// A link checked before anything is sent: `https`, an allowed host, no user information, and
/// not past its `oe=` expiry (that is [`ErrorKind::Expired`]).
pub(crate) fn link(url: &str, hosts: &AllowedHosts, now: SystemTime) -> Result<Uri, Error> {
    if url.is_empty() {
        return Err(Error::invalid(
            "the avatar has no picture link (urlAvatar is empty: no avatar, hidden, or no account)",
        ));
    }
    let uri = target(url, hosts).map_err(Error::invalid)?;
    if let Some(expiry) = link_expiry(url)
        && expiry <= now
    {
        return Err(Error::new(
            ErrorKind::Expired,
            format!(
                "the picture's link expired at Unix time {} (its oe= parameter); it was not \
                 asked: ask GetAvatar again for a new link",
                crate::avatar::unix_seconds(expiry)
            ),
        ));
    }
    Ok(uri)
}

/// `url` if a download may go there (the first link or a redirect's), else why not.
pub(crate) fn target(url: &str, hosts: &AllowedHosts) -> Result<Uri, String> {
    if url.chars().any(|c| c.is_control() || c == ' ') {
        return Err("the picture's link holds a space or a control character".into());
    }
    let uri: Uri = url
        .parse()
        .map_err(|_| "the picture's link is not a valid URL".to_string())?;
    if uri.scheme_str() != Some("https") {
        return Err("the picture's link is not https:// (downloads are https only)".into());
    }
    let Some(authority) = uri.authority() else {
        return Err("the picture's link has no host".into());
    };
    if authority.as_str().contains('@') {
        return Err("the picture's link carries user information (user@host)".into());
    }
    let host = authority.host();
    if !hosts.allows(host) {
        return Err(format!(
            "the host {} is not an allowed download host (whatsapp.net and the \
             download_hosts option)",
            shown_host(host)
        ));
    }
    Ok(uri)
}

/// A host name as a message may show it: bounded, printable.
pub(crate) fn shown_host(host: &str) -> String {
    host.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(MAX_HOST_LEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn hosts_and_subdomains() {
        let h = AllowedHosts::new(&["127.0.0.1".into(), "Cdn.Example".into()]).unwrap();
        for ok in [
            "pps.whatsapp.net",
            "whatsapp.net",
            "mmg.WHATSAPP.net.",
            "127.0.0.1",
            "cdn.example",
            "a.cdn.example",
        ] {
            assert!(h.allows(ok), "{ok}");
        }
        for no in [
            "evilwhatsapp.net",
            "whatsapp.net.evil.com",
            "1127.0.0.1",
            "x.127.0.0.1",
            "example",
            "",
        ] {
            assert!(!h.allows(no), "{no}");
        }
        for bad in ["", "https://x", "x:443", "x/y", "..", ".x", "a b", "u@x"] {
            assert!(AllowedHosts::new(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(AllowedHosts::new(&["[::1]".into()]).is_ok());
    }

    #[test]
    fn links() {
        let h = AllowedHosts::new(&[]).unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(0x1000);
        assert!(link("https://pps.whatsapp.net/v/x.jpg?oe=2000", &h, now).is_ok());
        assert!(link("https://pps.whatsapp.net/v/x.jpg", &h, now).is_ok());
        let e = link("https://pps.whatsapp.net/v/x.jpg?oe=1000", &h, now).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Expired);
        for bad in [
            "",
            "http://pps.whatsapp.net/x",
            "https://evil.com/x",
            "https://u:p@pps.whatsapp.net/x",
            "https://pps.whatsapp.net/a b",
            "pps.whatsapp.net/x",
            "ftp://pps.whatsapp.net/x",
        ] {
            let e = link(bad, &h, now).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn types_and_magic() {
        assert_eq!(
            ImageType::from_content_type("IMAGE/JPEG; charset=x"),
            Some(ImageType::Jpeg)
        );
        assert_eq!(
            ImageType::from_content_type("image/webp"),
            Some(ImageType::Webp)
        );
        assert_eq!(ImageType::from_content_type("text/html"), None);
        assert_eq!(ImageType::from_content_type("image/gif"), None);
        assert_eq!(
            ImageType::sniff(b"\xff\xd8\xff\xe0rest"),
            Some(ImageType::Jpeg)
        );
        assert_eq!(
            ImageType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(ImageType::Png)
        );
        assert_eq!(
            ImageType::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageType::Webp)
        );
        assert_eq!(ImageType::sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(ImageType::sniff(b"<html>"), None);
        assert_eq!(ImageType::sniff(b""), None);
    }
}
