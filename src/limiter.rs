//! Pacing shared by every thread that uses one client.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Error;

/// Spaces requests at least `1 / rate` seconds apart, with no burst allowance, so that no
/// one-second window ever holds more than `rate` requests; and holds every thread back while
/// the service has asked for a pause (`Retry-After`). A slot is reserved under the lock and
/// waited for outside it, so waiting threads do not serialise on the mutex.
#[derive(Debug)]
pub(crate) struct Limiter {
    /// Zero when pacing is off: then only pauses hold requests back.
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Limiter {
    /// An error for a rate that is negative, not a number, or so small that its interval does
    /// not fit a `Duration`; 0 turns pacing off.
    pub(crate) fn new(rate_per_sec: f64) -> Result<Limiter, Error> {
        let bad =
            || Error::invalid("rate_limit_per_sec must be 0 (off) or a positive finite number");
        if !rate_per_sec.is_finite() || rate_per_sec < 0.0 {
            return Err(bad());
        }
        let interval = if rate_per_sec == 0.0 {
            Duration::ZERO
        } else {
            Duration::try_from_secs_f64(1.0 / rate_per_sec).map_err(|_| bad())?
        };
        Ok(Limiter {
            interval,
            next: Mutex::new(None),
        })
    }

    /// Takes the next free slot and says how long to wait for it.
    pub(crate) fn reserve(&self) -> Duration {
        // A panic elsewhere while holding this lock cannot leave the Instant half-written.
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let slot = next.map_or(now, |n| n.max(now));
        *next = Some(slot.checked_add(self.interval).unwrap_or(slot));
        slot.saturating_duration_since(now)
    }

    /// No request of this client starts before `pause` from now (the service's `Retry-After`).
    pub(crate) fn pause(&self, pause: Duration) {
        let now = Instant::now();
        let until = now.checked_add(pause).unwrap_or(now);
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        *next = Some(next.map_or(until, |n| n.max(until)));
    }
}
