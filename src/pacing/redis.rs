//! Redis pacing: one pacing for every client of an instance on every machine that points at the
//! same Redis.
//!
//! The state is one hash per instance, `greenapi:getAvatar:<idInstance>` (never the token),
//! with the fields of [`super::turns::Turns`] in microseconds of the Redis server's `TIME`, so
//! the machines' clocks do not matter. [`SCRIPT`] is the whole algorithm (a GCRA without burst:
//! a turn is taken once due, and the next is due an interval after it), run atomically by the
//! server with `EVALSHA`; it is loaded on connecting (`SCRIPT LOAD`) and again on `NOSCRIPT`.
//! It answers how long to wait (0: the turn is taken); the wait is slept here, in the call's
//! interruptible slices, then the server is asked again. Pauses (`Retry-After`) and slow-downs
//! after a 429 go to the same hash, so every machine honours them.
//!
//! The client is a minimal RESP2 one over a `TcpStream` (AUTH, SELECT, SCRIPT LOAD, EVALSHA):
//! one connection per client and process, every wait in `SLICE`s that ask the call's stop
//! check, none longer than the client's `connect_timeout`. When Redis fails (down, restarted,
//! too slow), [`Shared::take`] says so and the pacer falls back to host pacing; Redis is tried
//! again after a backoff ([`RETRY_FIRST`] doubling up to [`RETRY_MAX`]).

use std::fmt;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

use ureq::Timeout;

use super::turns::now_ns;
use crate::call;
use crate::error::{Error, ErrorKind};
use crate::fork::Sockets;

/// The first wait before Redis is tried again after a failure; doubled per failure.
const RETRY_FIRST: Duration = Duration::from_millis(500);
/// The longest wait before Redis is tried again.
const RETRY_MAX: Duration = Duration::from_secs(4);
/// How long a thread waits between two looks at a connection another thread is using.
const LOCK_POLL: Duration = Duration::from_micros(200);
/// A slow-down not yet told to Redis is dropped after this: it belongs to an episode that is
/// over.
const SLOW_PENDING: u64 = 1_000_000_000;
/// The largest reply read (the script's SHA is 40 bytes).
const MAX_REPLY: usize = 4096;

/// The pacing algorithm of `turns.rs`, in the server. KEYS[1]: the hash. ARGV[1]: the interval
/// in µs at the full rate (0: take no turn); ARGV[2]: a pause in µs from now (0: none);
/// ARGV[3]: 1 to slow down; ARGV[4]: how long (ms) the hash outlives its last write. Returns
/// the µs to wait for the turn (0: taken, or none asked for). Numbers are written with `%.0f`:
/// Lua 5.1's own conversion keeps 14 digits, and µs since 1970 have 16.
pub(crate) const SCRIPT: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local key = KEYS[1]
local interval = tonumber(ARGV[1])
local pause = tonumber(ARGV[2])
local h = redis.call('HMGET', key, 'last', 'pause_until', 'share', 'slowed_at', 'changed_at')
local last = tonumber(h[1]) or 0
local pause_until = tonumber(h[2]) or 0
local share = tonumber(h[3]) or 1024
local slowed_at = tonumber(h[4]) or 0
local changed_at = tonumber(h[5]) or 0
local dirty = false
if pause > 0 and now + pause > pause_until then
  pause_until = now + pause
  dirty = true
end
if ARGV[3] == '1' and (slowed_at == 0 or now - slowed_at >= 1000000) then
  slowed_at = now
  share = math.max(math.floor(share / 2), 16)
  changed_at = now
  if now + 1000000 > pause_until then pause_until = now + 1000000 end
  dirty = true
end
if share < 1024 and now - changed_at >= 10000000 then
  share = math.min(share + 102, 1024)
  changed_at = now
  dirty = true
end
local wait = 0
if interval > 0 then
  local due = pause_until
  if last > 0 then due = math.max(due, last + math.floor(interval * 1024 / share)) end
  if due > now then
    wait = due - now
  else
    last = now
    dirty = true
  end
end
if dirty then
  local f = function(x) return string.format('%.0f', x) end
  redis.call('HSET', key, 'last', f(last), 'pause_until', f(pause_until), 'share', f(share),
    'slowed_at', f(slowed_at), 'changed_at', f(changed_at))
  local ttl = tonumber(ARGV[4])
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
return wait
";

/// Where a Redis pacing is: `redis://[user:password@]host[:port][/db]`. Its `Debug` and
/// `Display` never show the password (`redis://***@host:port/db`).
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    host: String,
    port: u16,
    db: u32,
    user: Option<String>,
    password: Option<String>,
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
    fn scrub(&self, text: &str) -> String {
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

/// Why talking to Redis failed.
#[derive(Debug)]
enum Fail {
    /// The call was stopped.
    Stopped,
    /// Redis refused what the URL asks for (credentials, database): a wrong option.
    Refused(String),
    /// Redis cannot be reached, broke the connection, answered too late or not in RESP.
    Down(String),
}

impl Fail {
    fn into_error(self) -> Error {
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
struct Conn {
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
    fn open(url: &RedisUrl, deadline: Instant, sockets: &Sockets) -> Result<Conn, Fail> {
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
    fn load(&mut self, deadline: Instant, url: &RedisUrl) -> Result<(), Fail> {
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
    fn run(
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

/// What [`Shared::take`] found.
pub(crate) enum Take {
    /// The turn is this caller's.
    Taken,
    /// Ask again after this.
    Wait(Duration),
    /// The call was stopped.
    Stopped,
    /// Redis cannot be used now: pace on the fallback.
    Down,
}

/// A client's Redis pacing in one process.
pub(crate) struct Shared {
    url: RedisUrl,
    key: String,
    timeout: Duration,
    sockets: Arc<Sockets>,
    conn: Mutex<Option<Conn>>,
    /// Whether the last exchange with Redis worked.
    up: AtomicBool,
    /// `now_ns` before which Redis is not tried again.
    retry_at: AtomicU64,
    /// The next wait before trying again, in ns.
    backoff: AtomicU64,
    /// A pause (`now_ns` it ends at) and a slow-down (`now_ns` of it) not yet told to Redis.
    pending_pause: AtomicU64,
    pending_slow: AtomicU64,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis")
            .field("url", &self.url)
            .field("key", &self.key)
            .field("up", &self.up)
            .finish_non_exhaustive()
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Shared {
    pub(crate) fn new(
        url: &RedisUrl,
        id_instance: &str,
        timeout: Duration,
        sockets: &Arc<Sockets>,
    ) -> Shared {
        Shared {
            url: url.clone(),
            key: format!("greenapi:getAvatar:{id_instance}"),
            timeout,
            sockets: sockets.clone(),
            conn: Mutex::new(None),
            up: AtomicBool::new(false),
            retry_at: AtomicU64::new(0),
            backoff: AtomicU64::new(nanos(RETRY_FIRST)),
            pending_pause: AtomicU64::new(0),
            pending_slow: AtomicU64::new(0),
        }
    }

    pub(crate) fn url(&self) -> &RedisUrl {
        &self.url
    }

    /// Whether Redis is in use (the last exchange worked).
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Connects now (at the client's creation, and in a forked child's first use): the error
    /// says why Redis cannot be used.
    pub(crate) fn connect(&self) -> Result<(), Error> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let deadline = Instant::now() + self.timeout;
        match Conn::open(&self.url, deadline, &self.sockets) {
            Ok(c) => {
                *conn = Some(c);
                self.worked();
                Ok(())
            }
            Err(f) => {
                self.failed();
                Err(f.into_error())
            }
        }
    }

    fn worked(&self) {
        self.up.store(true, Ordering::Release);
        self.backoff.store(nanos(RETRY_FIRST), Ordering::Release);
    }

    fn failed(&self) {
        self.up.store(false, Ordering::Release);
        let backoff = self.backoff.load(Ordering::Acquire);
        self.retry_at
            .store(now_ns().saturating_add(backoff), Ordering::Release);
        self.backoff.store(
            backoff.saturating_mul(2).min(nanos(RETRY_MAX)),
            Ordering::Release,
        );
    }

    /// Asks Redis for a turn (`interval_ns` > 0) or only tells it what is pending (0).
    pub(crate) fn take(&self, interval_ns: u64, sleep: &mut dyn FnMut(Duration) -> bool) -> Take {
        if !self.is_up() && now_ns() < self.retry_at.load(Ordering::Acquire) {
            return Take::Down;
        }
        let deadline = Instant::now() + self.timeout;
        let mut conn = loop {
            match self.conn.try_lock() {
                Ok(g) => break g,
                Err(TryLockError::Poisoned(p)) => break p.into_inner(),
                Err(TryLockError::WouldBlock) => {
                    // Another thread is connecting, or waits for a Redis that may be gone.
                    if !self.is_up() || Instant::now() >= deadline {
                        return Take::Down;
                    }
                    if !sleep(LOCK_POLL) {
                        return Take::Stopped;
                    }
                }
            }
        };
        if conn.is_none() {
            if now_ns() < self.retry_at.load(Ordering::Acquire) {
                return Take::Down;
            }
            match Conn::open(&self.url, deadline, &self.sockets) {
                Ok(c) => *conn = Some(c),
                Err(Fail::Stopped) => return Take::Stopped,
                Err(_) => {
                    self.failed();
                    return Take::Down;
                }
            }
        }
        let now = now_ns();
        let pause_until = self.pending_pause.swap(0, Ordering::AcqRel);
        let slow_at = self.pending_slow.swap(0, Ordering::AcqRel);
        let pause_us = pause_until.saturating_sub(now) / 1000;
        let slow = slow_at != 0 && now.saturating_sub(slow_at) < SLOW_PENDING;
        // The hash outlives the slowest turn at the least share, and a slow-down's recovery.
        let ttl_ms = (interval_ns / 1_000_000).saturating_mul(64) + 200_000;
        let interval_us = if interval_ns == 0 {
            0
        } else {
            (interval_ns / 1000).max(1)
        };
        let argv = [
            interval_us.to_string(),
            pause_us.to_string(),
            if slow { "1" } else { "0" }.to_string(),
            ttl_ms.to_string(),
        ];
        let argv = [&*argv[0], &*argv[1], &*argv[2], &*argv[3]];
        let result = conn
            .as_mut()
            .map(|c| c.run(&self.key, argv, deadline, &self.url));
        match result {
            Some(Ok(wait_us)) => {
                self.worked();
                if wait_us == 0 || interval_ns == 0 {
                    Take::Taken
                } else {
                    Take::Wait(Duration::from_micros(wait_us))
                }
            }
            other => {
                // Not sent: kept for the next exchange.
                self.pending_pause.fetch_max(pause_until, Ordering::AcqRel);
                self.pending_slow.fetch_max(slow_at, Ordering::AcqRel);
                // A reply may still be on its way: the connection is of no more use.
                *conn = None;
                if matches!(other, Some(Err(Fail::Stopped))) {
                    return Take::Stopped;
                }
                self.failed();
                Take::Down
            }
        }
    }

    /// A `Retry-After`: no turn on this pacing before `pause` from now, told to Redis now (or
    /// at the next exchange, if it cannot be now).
    pub(crate) fn pause(&self, pause: Duration, sleep: &mut dyn FnMut(Duration) -> bool) {
        self.pending_pause
            .fetch_max(now_ns().saturating_add(nanos(pause)), Ordering::AcqRel);
        let _ = self.take(0, sleep);
    }

    /// A 429 although the pacing held: every client on the pacing slows down.
    pub(crate) fn slow_down(&self, sleep: &mut dyn FnMut(Duration) -> bool) {
        self.pending_slow.store(now_ns(), Ordering::Release);
        let _ = self.take(0, sleep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
