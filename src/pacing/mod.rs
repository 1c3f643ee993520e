//! Pacing: how fast a client's requests may go, and with whom it shares that rate.
//!
//! The service limits GetAvatar per instance, not per client, so by default ([`Pacing::Host`])
//! every client for the same instance on this machine, in every process of the user, shares one
//! pacing through a mapped file (`host.rs`); [`Pacing::Process`] keeps it per client. Either
//! way the algorithm is the one of `turns.rs`, lock-free.
//!
//! Turns are spaced [`MARGIN`] wider than `1 / rate`: pacing at exactly the limit leaves no room
//! for the way requests arrive. A request that leaves a few tens of milliseconds late, followed
//! by one that leaves on time, would put `rate + 1` arrivals into one second at the service.

mod host;
mod turns;

use std::fmt;
use std::time::Duration;

use crate::error::Error;
use turns::Turns;

/// How much wider than `1 / rate` turns are spaced: with 5 %, no one-second window sees more
/// than `rate` arrivals as long as each arrives within 25 ms of when it left relative to the
/// others (`rate` intervals then span at least 1.05 s). It costs 4.8 % of the rate (10 per
/// second become 9.52).
pub const PACING_MARGIN: f64 = 0.05;
use PACING_MARGIN as MARGIN;

/// With whom a client shares its rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Pacing {
    /// Every client for the same `idInstance`, in every process of this user on this machine.
    #[default]
    Host,
    /// This client alone, in this process (a forked child gets a pacing of its own).
    Process,
}

impl Pacing {
    /// `"host"` or `"process"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Pacing::Host => "host",
            Pacing::Process => "process",
        }
    }

    /// The pacing a name stands for: `"host"` or `"process"`.
    pub fn parse(name: &str) -> Result<Pacing, Error> {
        match name {
            "host" => Ok(Pacing::Host),
            "process" => Ok(Pacing::Process),
            _ => Err(Error::invalid("pacing must be \"host\" or \"process\"")),
        }
    }
}

impl fmt::Display for Pacing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a client's [`Turns`] are.
#[derive(Debug)]
enum Place {
    Own(Box<Turns>),
    Shared(host::Mapped),
}

/// A client's pacing in one process.
#[derive(Debug)]
pub(crate) struct Pacer {
    place: Place,
    /// Nanoseconds between turns at the full rate, margin included; 0: pacing off.
    interval: u64,
}

impl Pacer {
    /// The pacing of a client for `id_instance` at `rate_per_sec` (0: off), shared as `pacing`
    /// asks when it can be: a host pacing whose file cannot be used is a process one
    /// ([`Pacer::in_force`] says which). An error only for a rate that is negative, not a
    /// number, or too small for its interval to fit.
    pub(crate) fn new(
        id_instance: &str,
        rate_per_sec: f64,
        pacing: Pacing,
    ) -> Result<Pacer, Error> {
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
        let place = match pacing {
            Pacing::Host if interval > 0 => match host::open(id_instance) {
                Ok(mapped) => Place::Shared(mapped),
                Err(_) => Place::Own(Box::default()),
            },
            _ => Place::Own(Box::default()),
        };
        Ok(Pacer { place, interval })
    }

    fn turns(&self) -> &Turns {
        match &self.place {
            Place::Own(t) => t,
            Place::Shared(m) => m.turns(),
        }
    }

    /// The pacing in force: [`Pacing::Host`] only when the shared file is in use.
    pub(crate) fn in_force(&self) -> Pacing {
        match self.place {
            Place::Shared(_) => Pacing::Host,
            Place::Own(_) => Pacing::Process,
        }
    }

    /// Waits for the next turn and takes it (see `Turns::acquire`).
    pub(crate) fn acquire(&self, sleep: impl FnMut(Duration) -> bool) -> bool {
        self.turns().acquire(self.interval, sleep)
    }

    /// No request on this pacing starts before `pause` from now.
    pub(crate) fn pause(&self, pause: Duration) {
        self.turns().pause(pause);
    }

    /// A 429 came back although this pacing held: every client on it slows down.
    pub(crate) fn slow_down(&self) {
        if self.interval > 0 {
            self.turns().slow_down();
        }
    }
}
