//! A minimal RESP2 client over a `TcpStream` (AUTH, SELECT, SCRIPT LOAD, EVALSHA): one
//! connection, authenticated, on its database, with the script loaded; every wait in `SLICE`s.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use ureq::Timeout;

use crate::call;
use crate::error::{Error, ErrorKind};
use crate::fork::Sockets;

use super::url::RedisUrl;
use super::{MAX_REPLY, SCRIPT};

/// Why talking to Redis failed.
#[derive(Debug)]
pub(super) enum Fail {
    /// The call was stopped.
    Stopped,
    /// Redis refused what the URL asks for (credentials, database): a wrong option.
    Refused(String),
    /// Redis cannot be reached, broke the connection, answered too late or not in RESP.
    Down(String),
}

impl Fail {
    pub(super) fn into_error(self) -> Error {
        match self {
            Fail::Stopped => Error::new(ErrorKind::Cancelled, "the call was interrupted"),
            Fail::Refused(m) => Error::invalid(m),
            Fail::Down(m) => Error::new(ErrorKind::Network, m),
        }
    }
}

/// One RESP2 reply (arrays are never asked for).
#[derive(Debug, PartialEq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
}

/// One reply at the start of `buf`, and its length; `Ok(None)` while it is incomplete.
fn parse(buf: &[u8]) -> Result<Option<(Reply, usize)>, &'static str> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() > MAX_REPLY {
            Err("a reply line too long")
        } else {
            Ok(None)
        };
    };
    let line = std::str::from_utf8(&buf[1..end]).map_err(|_| "a reply that is not text")?;
    let used = end + 2;
    Ok(Some(match buf.first() {
        Some(b'+') => (Reply::Simple(line.to_string()), used),
        Some(b'-') => (Reply::Error(line.to_string()), used),
        Some(b':') => (
            Reply::Int(line.parse().map_err(|_| "a bad integer reply")?),
            used,
        ),
        Some(b'$') => {
            let n: i64 = line.parse().map_err(|_| "a bad bulk reply")?;
            if n < 0 {
                return Ok(Some((Reply::Bulk(None), used)));
            }
            let n = usize::try_from(n).map_err(|_| "a bad bulk reply")?;
            if n > MAX_REPLY {
                return Err("a reply too long");
            }
            if buf.len() < used + n + 2 {
                return Ok(None);
            }
            if &buf[used + n..used + n + 2] != b"\r\n" {
                return Err("a bad bulk reply");
            }
            (
                Reply::Bulk(Some(buf[used..used + n].to_vec())),
                used + n + 2,
            )
        }
        _ => return Err("an unexpected reply type"),
    }))
}

/// A command in RESP2.
fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// One connection to Redis, authenticated, on its database, with the script loaded.
pub(super) struct Conn {
    stream: Arc<TcpStream>,
    buf: Vec<u8>,
    sha: String,
}

impl Conn {
    /// Sends one command and reads its reply, by `deadline`, asking the call's stop check
    /// between slices.
    fn command(
        &mut self,
        args: &[&[u8]],
        deadline: Instant,
        url: &RedisUrl,
    ) -> Result<Reply, Fail> {
        let down = |what: &str| Fail::Down(format!("Redis at {}:{} {what}", url.host, url.port));
        (&*self.stream)
            .write_all(&encode(args))
            .map_err(|e| down(&format!("cannot be written to: {e}")))?;
        loop {
            match parse(&self.buf) {
                Ok(Some((reply, used))) => {
                    self.buf.drain(..used);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(what) => return Err(down(&format!("sent {what}"))),
            }
            let mut chunk = [0u8; 512];
            match (&*self.stream).read(&mut chunk) {
                Ok(0) => return Err(down("closed the connection")),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if call::is_wait(&e) => {
                    match call::keep_waiting(Some(deadline), Timeout::Connect) {
                        Ok(()) => {}
                        Err(ureq::Error::Timeout(_)) => {
                            return Err(down("did not answer within connect_timeout"));
                        }
                        Err(_) => return Err(Fail::Stopped),
                    }
                }
                Err(e) => return Err(down(&format!("broke the connection: {e}"))),
            }
        }
    }

    /// Connects, authenticates, selects the database and loads the script, by `deadline`.
    pub(super) fn open(url: &RedisUrl, deadline: Instant, sockets: &Sockets) -> Result<Conn, Fail> {
        let at = format!("Redis at {}:{}", url.host, url.port);
        let stopped = || call::with_call(|c| c.is_some_and(call::Call::stopped));
        let addrs = crate::lookup::lookup(&url.host, url.port, Some(deadline)).map_err(|e| {
            if stopped() {
                Fail::Stopped
            } else {
                Fail::Down(format!("{at}: cannot resolve the host: {e}"))
            }
        })?;
        let stream = crate::transport::connect_any(&addrs, Some(deadline), Timeout::Connect)
            .map_err(|e| {
                if stopped() {
                    Fail::Stopped
                } else {
                    Fail::Down(format!("{at}: cannot connect: {e}"))
                }
            })?;
        let stream = Arc::new(stream);
        sockets.add(&stream);
        let mut conn = Conn {
            stream,
            buf: Vec::new(),
            sha: String::new(),
        };
        if let Some(password) = &url.password {
            let mut args: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &url.user {
                args.push(user.as_bytes());
            }
            args.push(password.as_bytes());
            match conn.command(&args, deadline, url)? {
                Reply::Simple(_) => {}
                Reply::Error(e) => {
                    return Err(Fail::Refused(format!(
                        "{at} refused the credentials of pacing's URL: {}",
                        url.scrub(&e)
                    )));
                }
                other => return Err(Fail::Down(format!("{at} answered AUTH with {other:?}"))),
            }
        }
        if url.db != 0 {
            let db = url.db.to_string();
            match conn.command(&[b"SELECT", db.as_bytes()], deadline, url)? {
                Reply::Simple(_) => {}
                Reply::Error(e) => return Err(refused(url, &at, &format!("database {db}"), &e)),
                other => return Err(Fail::Down(format!("{at} answered SELECT with {other:?}"))),
            }
        }
        conn.load(deadline, url)?;
        Ok(conn)
    }

    /// `SCRIPT LOAD`: the server's script cache is empty after a restart or a `SCRIPT FLUSH`.
    pub(super) fn load(&mut self, deadline: Instant, url: &RedisUrl) -> Result<(), Fail> {
        let at = format!("Redis at {}:{}", url.host, url.port);
        match self.command(&[b"SCRIPT", b"LOAD", SCRIPT.as_bytes()], deadline, url)? {
            Reply::Bulk(Some(sha)) if sha.len() == 40 => {
                self.sha = String::from_utf8_lossy(&sha).into_owned();
                Ok(())
            }
            Reply::Error(e) => Err(refused(url, &at, "the pacing script", &e)),
            other => Err(Fail::Down(format!(
                "{at} answered SCRIPT LOAD with {other:?}"
            ))),
        }
    }

    /// Runs the script once (loading it again on `NOSCRIPT`): the µs to wait.
    pub(super) fn run(
        &mut self,
        key: &str,
        argv: [&str; 4],
        deadline: Instant,
        url: &RedisUrl,
    ) -> Result<u64, Fail> {
        let at = format!("Redis at {}:{}", url.host, url.port);
        for _ in 0..2 {
            let sha = self.sha.clone();
            let mut args: Vec<&[u8]> = vec![b"EVALSHA", sha.as_bytes(), b"1", key.as_bytes()];
            args.extend(argv.iter().map(|a| a.as_bytes()));
            match self.command(&args, deadline, url)? {
                Reply::Int(n) => return Ok(u64::try_from(n).unwrap_or(0)),
                Reply::Error(e) if e.starts_with("NOSCRIPT") => self.load(deadline, url)?,
                Reply::Error(e) => return Err(Fail::Down(format!("{at}: {}", url.scrub(&e)))),
                other => return Err(Fail::Down(format!("{at} answered EVALSHA with {other:?}"))),
            }
        }
        Err(Fail::Down(format!(
            "{at} keeps forgetting the pacing script"
        )))
    }
}

/// A refusal: of the credentials (`NOAUTH`, `WRONGPASS`) or of `what`.
fn refused(url: &RedisUrl, at: &str, what: &str, e: &str) -> Fail {
    let e = url.scrub(e);
    if e.starts_with("NOAUTH") {
        Fail::Refused(format!(
            "{at} needs a password, and pacing's URL has none: {e}"
        ))
    } else if e.starts_with("WRONGPASS") || e.contains("NOPERM") {
        Fail::Refused(format!("{at} refused the credentials of pacing's URL: {e}"))
    } else {
        Fail::Refused(format!("{at} refused {what}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(parse(b"+OK\r\n"), Ok(Some((Reply::Simple("OK".into()), 5))));
        assert_eq!(parse(b":12\r\n:1"), Ok(Some((Reply::Int(12), 5))));
        assert_eq!(parse(b"$3\r\nab"), Ok(None));
        assert_eq!(
            parse(b"$2\r\nab\r\n"),
            Ok(Some((Reply::Bulk(Some(b"ab".to_vec())), 8)))
        );
        assert_eq!(parse(b"$-1\r\n"), Ok(Some((Reply::Bulk(None), 5))));
        assert_eq!(
            parse(b"-ERR x\r\n"),
            Ok(Some((Reply::Error("ERR x".into()), 8)))
        );
        assert!(parse(b"*1\r\n").is_err());
        assert!(parse(b"$99999\r\n").is_err());
        assert_eq!(encode(&[b"PING"]), b"*1\r\n$4\r\nPING\r\n");
    }
}
