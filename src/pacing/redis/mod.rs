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

mod conn;
mod url;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

use super::turns::now_ns;
use crate::error::Error;
use crate::fork::Sockets;
use conn::{Conn, Fail};
pub use url::RedisUrl;

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
pub(super) const MAX_REPLY: usize = 4096;

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
-- Times ahead of the server's clock were written under another clock (a clock stepped back,
-- a failover to a server behind, a restored hash): forgotten, or no turn would ever be due.
local step_max = interval * 64 * 64
if last > now + step_max then last = 0; dirty = true end
if pause_until > now + 22000000 then pause_until = 0; dirty = true end
if slowed_at > now then slowed_at = 0; dirty = true end
if changed_at > now then changed_at = now; dirty = true end
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
        if !self.up.swap(true, Ordering::AcqRel) {
            crate::observe::current(|o| o.pacing_switched("redis"));
        }
        self.backoff.store(nanos(RETRY_FIRST), Ordering::Release);
    }

    fn failed(&self) {
        if self.up.swap(false, Ordering::AcqRel) {
            crate::observe::current(|o| o.pacing_switched("host"));
        }
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
