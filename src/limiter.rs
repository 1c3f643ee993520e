//! Pacing shared by every thread that uses one client.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Error;

/// Spaces requests at least `1 / rate` seconds apart, with no burst allowance, so that no
/// one-second window ever holds more than `rate` requests. The slot is reserved under the lock
/// and the sleep happens outside it, so waiting threads do not serialise on the mutex.
#[derive(Debug)]
pub(crate) struct Limiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl Limiter {
    /// `Ok(None)` when pacing is off (rate 0); an error for a rate that is negative, not a
    /// number, or so small that its interval does not fit a `Duration`.
    pub(crate) fn new(rate_per_sec: f64) -> Result<Option<Limiter>, Error> {
        let bad =
            || Error::invalid("rate_limit_per_sec must be 0 (off) or a positive finite number");
        if !rate_per_sec.is_finite() || rate_per_sec < 0.0 {
            return Err(bad());
        }
        if rate_per_sec == 0.0 {
            return Ok(None);
        }
        let interval = Duration::try_from_secs_f64(1.0 / rate_per_sec).map_err(|_| bad())?;
        Ok(Some(Limiter {
            interval,
            next: Mutex::new(None),
        }))
    }

    pub(crate) fn acquire(&self) {
        let wait = {
            // A panic elsewhere while holding this lock cannot leave the Instant half-written.
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            // The interval is bounded by the options' checks, so this cannot overflow in any
            // real process; if it ever did, pacing one request less beats a panic.
            *next = Some(slot.checked_add(self.interval).unwrap_or(slot));
            slot.saturating_duration_since(now)
        };
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
    }
}
