//! Checks of caller input, done before anything is sent.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::error::Error;
use crate::resolver;

/// Longest chat id accepted; real ids are well under 64 bytes.
pub const MAX_CHAT_ID_BYTES: usize = 256;

pub(crate) fn id_instance(id: &str) -> Result<(), Error> {
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid("id_instance must be 1 to 32 ASCII digits"));
    }
    Ok(())
}

/// Shortest token accepted. The service's tokens are 50 characters; the token is scrubbed from
/// every text that could carry it, and a very short one would be "scrubbed" out of ordinary
/// text (a token `c` turns `...@c.us` into `...@***.us`).
pub const MIN_TOKEN_CHARS: usize = 16;

/// The token travels in the URL path, so only RFC 3986 unreserved characters are accepted:
/// nothing can bend the path (`/`, `?`, `#`, `%`, dot segments) and the token reads the same
/// percent-encoded or not, which keeps scrubbing it from messages exact. The message never
/// repeats the token.
pub(crate) fn api_token(token: &str) -> Result<(), Error> {
    let ok = token.len() >= MIN_TOKEN_CHARS
        && token.len() <= 512
        && token != "."
        && token != ".."
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "api_token_instance must be 16 to 512 characters from A-Z a-z 0-9 - . _ ~",
        ))
    }
}

/// Checks a chat id and turns a bare phone number (`79001234567`, `+79001234567`) into
/// `79001234567@c.us`. Ids with an `@` pass unchanged: their format is the service's business,
/// and it says so with `reason: "bad request data"`.
pub fn normalize_chat_id(chat_id: &str) -> Result<Cow<'_, str>, Error> {
    if chat_id.is_empty() {
        return Err(Error::invalid("chat_id is empty"));
    }
    if chat_id.len() > MAX_CHAT_ID_BYTES {
        return Err(Error::invalid(format!(
            "chat_id is longer than {MAX_CHAT_ID_BYTES} bytes"
        )));
    }
    if chat_id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            "chat_id contains whitespace or a control character",
        ));
    }
    if chat_id.contains('@') {
        return Ok(Cow::Borrowed(chat_id));
    }
    let digits = chat_id.strip_prefix('+').unwrap_or(chat_id);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Cow::Owned(format!("{digits}@c.us")));
    }
    Err(Error::invalid(
        "chat_id must be a phone number (digits, optionally after +) or an id such as \
         79001234567@c.us, 120363043968066561@g.us or 120650379300963@lid",
    ))
}

/// A chat id that passed [`normalize_chat_id`]: the only form a request is made from, so that
/// no id is normalised twice (a long phone number grows by `@c.us`, and normalised again it
/// could be refused as too long).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ChatId<'a>(Cow<'a, str>);

impl<'a> ChatId<'a> {
    pub(crate) fn parse(chat_id: &'a str) -> Result<ChatId<'a>, Error> {
        normalize_chat_id(chat_id).map(ChatId)
    }

    /// The same id, owning its text.
    pub(crate) fn into_owned(self) -> ChatId<'static> {
        ChatId(Cow::Owned(self.0.into_owned()))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// The checked base URL: no trailing `/`, and the host, kept for `Debug` and `repr`.
pub(crate) struct BaseUrl {
    pub url: String,
    pub host: String,
}

pub(crate) fn api_url(raw: &str, allow_insecure_http: bool) -> Result<BaseUrl, Error> {
    let trimmed = raw.trim_end_matches('/');
    let bad = |why: &str| Error::invalid(format!("api_url {why}"));
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains whitespace or a control character"));
    }
    let (scheme, rest) = trimmed
        .split_once("://")
        .ok_or_else(|| bad("must start with https:// (or http:// for loopback)"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(bad("must start with https:// (or http:// for loopback)"));
    }
    if rest.contains(['?', '#']) {
        return Err(bad("must not have a query or a fragment"));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad("must not carry credentials"));
    }
    let uri: ureq::http::Uri = trimmed.parse().map_err(|_| bad("is not a valid URL"))?;
    if !port_in_range(authority) {
        return Err(bad("has a port out of range (1 to 65535)"));
    }
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("has no host"))?
        .to_string();
    if scheme == "http" && !allow_insecure_http && !is_loopback(&host) {
        return Err(bad(
            "uses plain http:// to a host that is not loopback; the token would travel in clear \
             (set allow_insecure_http to allow it)",
        ));
    }
    Ok(BaseUrl {
        url: format!("{scheme}://{rest}"),
        host,
    })
}

/// Whether the port of `authority` (`host`, `host:port`, `[v6]:port`, after any user
/// information) is absent or from 1 to 65535. The URL parser takes any digits, and ureq then
/// quietly connects to the scheme's default port instead: another service than the one named.
pub(crate) fn port_in_range(authority: &str) -> bool {
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let after_host = host_port
        .rfind(']')
        .map_or(host_port, |i| &host_port[i + 1..]);
    match after_host.rsplit_once(':') {
        None | Some((_, "")) => true,
        Some((_, port)) => port.parse::<u16>().is_ok_and(|p| p != 0),
    }
}

/// Whether `host` is loopback: a loopback IP literal, or a `localhost` name, which the
/// client's resolver answers with loopback addresses itself.
pub(crate) fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    resolver::is_localhost_name(bare) || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn bare_phone_numbers_become_c_us() {
        assert_eq!(
            normalize_chat_id("79001234567").unwrap(),
            "79001234567@c.us"
        );
        assert_eq!(
            normalize_chat_id("+79001234567").unwrap(),
            "79001234567@c.us"
        );
    }

    #[test]
    fn documented_ids_pass_unchanged() {
        for id in [
            "79876543210@c.us",
            "120363043968066561@g.us",
            "79876543210-1581234048@g.us",
            "120650379300963@lid",
            "1@c.us",
        ] {
            assert!(matches!(normalize_chat_id(id).unwrap(), Cow::Borrowed(s) if s == id));
        }
    }

    #[test]
    fn bad_chat_ids_are_refused() {
        let long = "7".repeat(MAX_CHAT_ID_BYTES + 1);
        for id in [
            "",
            "+",
            "7900 123",
            "7900\t1@c.us",
            "79\n@c.us",
            "abc",
            "7-900",
            "++7",
            &long,
        ] {
            let e = normalize_chat_id(id).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{id:?}");
        }
        assert!(normalize_chat_id(&"7".repeat(MAX_CHAT_ID_BYTES)).is_ok());
    }

    #[test]
    fn tokens_that_could_bend_the_path_are_refused() {
        for t in [
            "", "a/b", "a?b", "a#b", "a b", "a\u{1}b", "a%2Fb", ".", "..", "тoken",
        ] {
            let e = api_token(t).unwrap_err();
            assert!(
                !e.message().contains(t) || t.is_empty() || t == ".",
                "{t:?}"
            );
        }
        assert!(api_token("d75b3a66374942c5b3c019c698abc2067e151558acbd412345").is_ok());
        assert!(api_token(&"a".repeat(MIN_TOKEN_CHARS)).is_ok());
        assert!(api_token(&"a".repeat(MIN_TOKEN_CHARS - 1)).is_err());
    }

    #[test]
    fn id_instance_is_digits() {
        assert!(id_instance("1101000001").is_ok());
        for id in ["", "11a", " 1", "-1", "1.0"] {
            assert!(id_instance(id).is_err(), "{id:?}");
        }
    }

    #[test]
    fn api_urls() {
        let u = api_url("https://7103.api.greenapi.com/", false).unwrap();
        assert_eq!(u.url, "https://7103.api.greenapi.com");
        assert_eq!(u.host, "7103.api.greenapi.com");
        assert_eq!(
            api_url("https://h.example/v3//", false).unwrap().url,
            "https://h.example/v3"
        );
        assert!(api_url("http://127.0.0.1:8080", false).is_ok());
        assert!(api_url("http://localhost:8080/p", false).is_ok());
        assert!(api_url("http://[::1]:8080", false).is_ok());
        assert!(api_url("http://api.LOCALHOST.:8080", false).is_ok());
        assert!(api_url("http://api.green-api.com", true).is_ok());
        for bad in [
            "",
            "api.green-api.com",
            "ftp://x",
            "http://api.green-api.com",
            "http://localhost.example",
            "http://notlocalhost",
            "https://u:p@host",
            "https://host/?q=1",
            "https://host/#f",
            "https:// host",
            "https://",
            // ureq would connect to the scheme's default port instead.
            "http://127.0.0.1:99999",
            "http://127.0.0.1:65536/p",
            "https://host:0",
        ] {
            assert_eq!(
                api_url(bad, false).err().map(|e| e.kind()),
                Some(ErrorKind::InvalidArgument),
                "{bad:?}"
            );
        }
    }
}
