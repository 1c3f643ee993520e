//! `redis://[user:password@]host[:port][/db]`, parsed, with the password never shown.

use std::fmt;

use crate::error::Error;

/// Where a Redis pacing is: `redis://[user:password@]host[:port][/db]`. Its `Debug` and
/// `Display` never show the password (`redis://***@host:port/db`).
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) db: u32,
    pub(super) user: Option<String>,
    pub(super) password: Option<String>,
}

impl RedisUrl {
    /// Parses `redis://[user:password@]host[:port][/db]`: the host a name, an IPv4 address or
    /// an IPv6 one in brackets; port 6379 and database 0 by default; `%XX` escapes in the user
    /// and password; `redis://:password@host` for a password without a user. The error never
    /// repeats the URL (it may hold a password).
    pub fn parse(url: &str) -> Result<RedisUrl, Error> {
        let bad = |why: &str| Error::invalid(format!("pacing's Redis URL {why}"));
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| bad("must start with redis:// (rediss://, TLS, is not supported)"))?;
        if rest.contains(['?', '#']) {
            return Err(bad("must not have a query or a fragment"));
        }
        let (authority, db) = match rest.split_once('/') {
            Some((a, "")) => (a, 0),
            Some((a, db)) => (
                a,
                db.parse::<u32>()
                    .map_err(|_| bad("must end with /<database number>"))?,
            ),
            None => (rest, 0),
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((u, p)) => (u, Some(p)),
                    None => (info, None),
                };
                let user = decode(user).ok_or_else(|| bad("has a bad %-escape in the user"))?;
                let password = match password {
                    Some(p) => {
                        Some(decode(p).ok_or_else(|| bad("has a bad %-escape in the password"))?)
                    }
                    None => None,
                };
                match (user.is_empty(), password) {
                    (_, Some(p)) if p.is_empty() => return Err(bad("has an empty password")),
                    (true, None) => return Err(bad("has an empty user")),
                    // A user alone is Redis's `AUTH <password>`, as other clients read it.
                    (false, None) => (None, Some(user)),
                    (true, Some(p)) => (None, Some(p)),
                    (false, Some(p)) => (Some(user), Some(p)),
                }
            }
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("has an unclosed [ in the host"))?;
            (format!("[{h}]"), after)
        } else {
            match hostport.find(':') {
                Some(i) => (hostport[..i].to_string(), &hostport[i..]),
                None => (hostport.to_string(), ""),
            }
        };
        let port = match port {
            "" => 6379,
            p => p
                .strip_prefix(':')
                .and_then(|p| p.parse::<u16>().ok())
                .filter(|&p| p != 0)
                .ok_or_else(|| bad("has a bad port"))?,
        };
        if host.is_empty() || host == "[]" {
            return Err(bad("has no host"));
        }
        if host
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || "-._:[]%".contains(c)))
        {
            return Err(bad("has a bad host"));
        }
        Ok(RedisUrl {
            host,
            port,
            db,
            user,
            password,
        })
    }

    /// The host, an IPv6 address in brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port (6379 when the URL names none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The database number (`SELECT`).
    pub fn db(&self) -> u32 {
        self.db
    }

    /// Whether the URL has a password.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// `text` with the password taken out, whoever wrote it.
    pub(super) fn scrub(&self, text: &str) -> String {
        match &self.password {
            Some(p) => text.replace(p.as_str(), "***"),
            None => text.to_string(),
        }
    }

    /// A key for this URL that tells two passwords apart without holding either: the shown
    /// form and a hash of the password under a key chosen at random for this process.
    pub(crate) fn cache_key(&self) -> String {
        use std::hash::BuildHasher;
        static KEY: std::sync::OnceLock<std::hash::RandomState> = std::sync::OnceLock::new();
        let digest = KEY
            .get_or_init(std::hash::RandomState::new)
            .hash_one((&self.user, &self.password));
        format!("{self}#{digest:016x}")
    }
}

/// `%XX` escapes decoded; `None` for a bad escape or bytes that are not UTF-8.
fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("redis://")?;
        if self.password.is_some() {
            f.write_str("***@")?;
        }
        write!(f, "{}:{}/{}", self.host, self.port, self.db)
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl(\"{self}\")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn urls() {
        let u = RedisUrl::parse("redis://127.0.0.1").unwrap();
        assert_eq!(
            (u.host(), u.port(), u.db(), u.has_password()),
            ("127.0.0.1", 6379, 0, false)
        );
        let u = RedisUrl::parse("redis://al%40ice:p%3Ass@r.example:7000/3").unwrap();
        assert_eq!((u.host(), u.port(), u.db()), ("r.example", 7000, 3));
        assert_eq!(u.user.as_deref(), Some("al@ice"));
        assert_eq!(u.password.as_deref(), Some("p:ss"));
        let u = RedisUrl::parse("redis://:sekrit@[::1]:6380/").unwrap();
        assert_eq!(
            (u.host(), u.port(), u.user.as_deref()),
            ("[::1]", 6380, None)
        );
        let shown = format!("{u} {u:?}");
        assert!(!shown.contains("sekrit"), "{shown}");
        assert_eq!(u.to_string(), "redis://***@[::1]:6380/0");
        for bad in [
            "rediss://h",
            "http://h",
            "redis://",
            "redis://h:0",
            "redis://h:x",
            "redis://h/x",
            "redis://h?db=1",
            "redis://:@h",
            "redis://u:p%zz@h",
            "redis://h o",
            "redis://[::1",
        ] {
            let e = RedisUrl::parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
        let e = RedisUrl::parse("redis://u:topsecret@h:x").unwrap_err();
        assert!(!e.message().contains("topsecret"), "{}", e.message());
    }
}
