//! Pacing: how fast a client's requests may go, and with whom it shares that rate.
//!
//! The service limits GetAvatar per instance, not per client, so by default ([`Pacing::Host`])
//! every client for the same instance on this machine, in every process of the user, shares one
//! pacing through a mapped file (`host.rs`); [`Pacing::Process`] keeps it per client. Either
//! way the algorithm is the one of `turns.rs`, lock-free. With `Pacing::Redis` (feature
//! `redis`), every client of the instance on every machine that uses the same Redis shares it
//! (`redis.rs`), and the client falls back to host pacing while Redis cannot be used.
//!
//! Turns are spaced [`MARGIN`] wider than `1 / rate`: pacing at exactly the limit leaves no room
//! for the way requests arrive. A request that leaves a few tens of milliseconds late, followed
//! by one that leaves on time, would put `rate + 1` arrivals into one second at the service.

mod host;
#[cfg(feature = "redis")]
mod redis;
pub(crate) mod turns;

use std::fmt;
use std::time::Duration;

use crate::error::Error;
#[cfg(feature = "redis")]
pub use redis::RedisUrl;
use turns::Turns;

/// How much wider than `1 / rate` turns are spaced: with 5 %, no one-second window sees more
/// than `rate` arrivals as long as each arrives within 25 ms of when it left relative to the
/// others (`rate` intervals then span at least 1.05 s). It costs 4.8 % of the rate (10 per
/// second become 9.52).
pub const PACING_MARGIN: f64 = 0.05;
use PACING_MARGIN as MARGIN;

/// With whom a client shares its rate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Pacing {
    /// Every client for the same `idInstance`, in every process of this user on this machine.
    #[default]
    Host,
    /// This client alone, in this process (a forked child gets a pacing of its own).
    Process,
    /// Every client for the same `idInstance` on every machine that uses this Redis (feature
    /// `redis`). The client connects when it is made (an unreachable Redis or refused
    /// credentials are an error then); when Redis fails later, it paces on the host pacing
    /// until Redis answers again.
    #[cfg(feature = "redis")]
    Redis(RedisUrl),
}

impl Pacing {
    /// `"host"`, `"process"` or `"redis"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Pacing::Host => "host",
            Pacing::Process => "process",
            #[cfg(feature = "redis")]
            Pacing::Redis(_) => "redis",
        }
    }

    /// The pacing a name stands for: `"host"`, `"process"` or
    /// `"redis://[user:password@]host[:port][/db]"` (see [`RedisUrl::parse`]; without the
    /// `redis` feature, an error). An error never repeats the name (a URL may hold a password).
    pub fn parse(name: &str) -> Result<Pacing, Error> {
        match name {
            "host" => Ok(Pacing::Host),
            "process" => Ok(Pacing::Process),
            #[cfg(feature = "redis")]
            _ if name.starts_with("redis") => Ok(Pacing::Redis(RedisUrl::parse(name)?)),
            #[cfg(not(feature = "redis"))]
            _ if name.starts_with("redis") => Err(Error::invalid(
                "pacing by Redis needs greenapi built with its redis feature",
            )),
            _ => Err(Error::invalid(
                "pacing must be \"host\", \"process\" or \"redis://[user:password@]host[:port][/db]\"",
            )),
        }
    }

    /// What tells two pacings apart without showing a password (Python's cache of clients).
    #[cfg_attr(not(feature = "python"), allow(dead_code))]
    pub(crate) fn cache_key(&self) -> String {
        match self {
            #[cfg(feature = "redis")]
            Pacing::Redis(url) => url.cache_key(),
            other => other.as_str().to_string(),
        }
    }
}

/// `host`, `process`, or the Redis URL without its password (`redis://***@host:port/db`).
impl fmt::Display for Pacing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(feature = "redis")]
            Pacing::Redis(url) => url.fmt(f),
            other => f.write_str(other.as_str()),
        }
    }
}

/// Where a client's [`Turns`] are: its own, or the host's file (with its own as the fallback
/// should the file become unusable).
#[derive(Debug)]
enum Place {
    Own(Box<Turns>),
    Shared(host::Mapped, Box<Turns>),
}

/// The turns in use for one operation.
enum InUse<'a> {
    Own(&'a Turns),
    Shared(std::sync::Arc<host::Mapping>),
}

impl std::ops::Deref for InUse<'_> {
    type Target = Turns;

    fn deref(&self) -> &Turns {
        match self {
            InUse::Own(t) => t,
            InUse::Shared(m) => m,
        }
    }
}

/// A client's pacing in one process.
#[derive(Debug)]
pub(crate) struct Pacer {
    /// With Redis, the fallback while it cannot be used.
    place: Place,
    /// Nanoseconds between turns at the full rate, margin included; 0: pacing off.
    interval: u64,
    #[cfg(feature = "redis")]
    redis: Option<redis::Shared>,
}

impl Pacer {
    /// The pacing of a client for `id_instance` at `rate_per_sec` (0: off), shared as `pacing`
    /// asks when it can be: a host pacing whose file cannot be used is a process one
    /// ([`Pacer::in_force`] says which). An error only for a rate that is negative, not a
    /// number, or too small for its interval to fit. A Redis pacing is not connected yet
    /// ([`Pacer::connect`]); its fallback is the host pacing, and no wait for Redis is longer
    /// than `timeout`. The Redis socket is put in `sockets` (a forked child closes its copy).
    pub(crate) fn new(
        id_instance: &str,
        rate_per_sec: f64,
        pacing: &Pacing,
        timeout: Duration,
        sockets: &std::sync::Arc<crate::fork::Sockets>,
    ) -> Result<Pacer, Error> {
        #[cfg(not(feature = "redis"))]
        let _ = (timeout, sockets);
        let bad =
            || Error::invalid("rate_limit_per_sec must be 0 (off) or a positive finite number");
        if !rate_per_sec.is_finite() || rate_per_sec < 0.0 {
            return Err(bad());
        }
        let interval = if rate_per_sec == 0.0 {
            0
        } else {
            let d =
                Duration::try_from_secs_f64((1.0 + MARGIN) / rate_per_sec).map_err(|_| bad())?;
            u64::try_from(d.as_nanos()).map_err(|_| bad())?.max(1)
        };
        // Pacing off needs nothing shared: only a Retry-After holds a request back.
        let host = || match host::open(id_instance) {
            Ok(mapped) => Place::Shared(mapped, Box::default()),
            Err(_) => Place::Own(Box::default()),
        };
        let place = match pacing {
            Pacing::Host if interval > 0 => host(),
            #[cfg(feature = "redis")]
            Pacing::Redis(_) if interval > 0 => host(),
            _ => Place::Own(Box::default()),
        };
        Ok(Pacer {
            place,
            interval,
            #[cfg(feature = "redis")]
            redis: match pacing {
                Pacing::Redis(url) if interval > 0 => {
                    Some(redis::Shared::new(url, id_instance, timeout, sockets))
                }
                _ => None,
            },
        })
    }

    /// Connects to Redis, if this pacing uses it: the error says why it cannot (an unreachable
    /// Redis is [`crate::ErrorKind::Network`], refused credentials or database
    /// [`crate::ErrorKind::InvalidArgument`]; neither shows the password).
    pub(crate) fn connect(&self) -> Result<(), Error> {
        #[cfg(feature = "redis")]
        if let Some(r) = &self.redis {
            return r.connect();
        }
        Ok(())
    }

    fn turns(&self) -> InUse<'_> {
        match &self.place {
            Place::Own(t) => InUse::Own(t),
            Place::Shared(m, own) => m.current().map_or(InUse::Own(own), InUse::Shared),
        }
    }

    /// The pacing in force: `Pacing::Redis` while Redis answers, [`Pacing::Host`] only when
    /// the shared file is in use.
    pub(crate) fn in_force(&self) -> Pacing {
        #[cfg(feature = "redis")]
        if let Some(r) = &self.redis
            && r.is_up()
        {
            return Pacing::Redis(r.url().clone());
        }
        match self.turns() {
            InUse::Shared(_) => Pacing::Host,
            InUse::Own(_) => Pacing::Process,
        }
    }

    /// Whether turns are spaced at all (a rate was set).
    pub(crate) fn is_paced(&self) -> bool {
        self.interval > 0
    }

    /// The time between turns at the full rate; zero when pacing is off.
    pub(crate) fn interval(&self) -> Duration {
        Duration::from_nanos(self.interval)
    }

    /// Requests per second the client is configured for now (0: off), less during a
    /// slow-down (of the local turns; Redis keeps its own): what the counters report.
    pub(crate) fn rate_in_force(&self) -> f64 {
        (1.0 + MARGIN) * self.rate_now()
    }

    /// Turns per second now: the rate, less a slow-down after a 429 (0 when pacing is off).
    pub(crate) fn rate_now(&self) -> f64 {
        if self.interval == 0 {
            return 0.0;
        }
        let share = self.turns().share(turns::now_ns()) as f64 / turns::FULL as f64;
        1e9 / self.interval as f64 * share
    }

    /// Waits for the next turn and takes it (see `Turns::acquire`).
    /// With Redis: the server's answer, slept here, until it gives the turn or cannot be
    /// used (then the turn is the fallback's).
    #[cfg_attr(not(feature = "redis"), allow(unused_mut))]
    pub(crate) fn acquire(&self, mut sleep: impl FnMut(Duration) -> bool) -> bool {
        #[cfg(feature = "redis")]
        if let Some(r) = &self.redis {
            loop {
                match r.take(self.interval, &mut sleep) {
                    redis::Take::Taken => return true,
                    redis::Take::Stopped => return false,
                    redis::Take::Wait(d) => {
                        if !sleep(d) {
                            return false;
                        }
                    }
                    redis::Take::Down => break,
                }
            }
        }
        self.turns().acquire(self.interval, sleep)
    }

    /// Waits until a turn is due without taking it; with Redis, at once (only taking a turn
    /// there says when it is due).
    pub(crate) fn until_due(&self, sleep: impl FnMut(Duration) -> bool) -> bool {
        #[cfg(feature = "redis")]
        if let Some(r) = &self.redis
            && r.is_up()
        {
            return true;
        }
        self.turns().until_due(self.interval, sleep)
    }

    /// No request on this pacing starts before `pause` from now. `sleep` is the call's (Redis
    /// is told through it).
    pub(crate) fn pause(&self, pause: Duration, mut sleep: impl FnMut(Duration) -> bool) {
        self.turns().pause(pause);
        #[cfg(feature = "redis")]
        if let Some(r) = &self.redis {
            r.pause(pause, &mut sleep);
        }
        #[cfg(not(feature = "redis"))]
        let _ = &mut sleep;
    }

    /// A 429 came back although this pacing held: every client on it slows down.
    pub(crate) fn slow_down(&self, mut sleep: impl FnMut(Duration) -> bool) {
        if self.interval > 0 {
            self.turns().slow_down();
            #[cfg(feature = "redis")]
            if let Some(r) = &self.redis {
                r.slow_down(&mut sleep);
            }
        }
        #[cfg(not(feature = "redis"))]
        let _ = &mut sleep;
    }
}
