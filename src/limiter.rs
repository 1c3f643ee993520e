//! Pacing shared by every thread that uses one client.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Error;

/// Spaces requests at least `1 / rate` seconds apart, with no burst allowance, so that no
/// one-second window ever holds more than `rate` requests; and holds every thread back while
/// the service has asked for a pause (`Retry-After`). The lock is held only to look at or take
/// the next turn; threads wait for it outside the lock.
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

    /// Waits for this client's next turn and takes it, sleeping through `sleep` (which returns
    /// false to give up: then no turn is taken). A turn is taken only once it is due, at the
    /// time it is actually taken, and the one after it is due `interval` later: a thread that
    /// wakes late delays only its own request, never squeezes the ones after it closer together
    /// (turns reserved ahead of time would, so a window could hold more than `rate`).
    pub(crate) fn acquire(&self, mut sleep: impl FnMut(Duration) -> bool) -> bool {
        loop {
            let wait = {
                // A panic elsewhere while holding this lock cannot leave the Instant half-written.
                let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                match *next {
                    Some(due) if due > now => due - now,
                    _ => {
                        *next = Some(now.checked_add(self.interval).unwrap_or(now));
                        return true;
                    }
                }
            };
            if !sleep(wait) {
                return false;
            }
        }
    }

    /// No request of this client starts before `pause` from now (the service's `Retry-After`).
    pub(crate) fn pause(&self, pause: Duration) {
        let now = Instant::now();
        let until = now.checked_add(pause).unwrap_or(now);
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        *next = Some(next.map_or(until, |n| n.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_turn_pushes_the_next_one_back() {
        let l = Limiter::new(10.0).unwrap();
        assert!(l.acquire(|_| panic!("the first turn is free")));
        // This thread "oversleeps" its wait by 300 ms: the turn after it is due 100 ms after
        // the late one was taken, not at its original time.
        assert!(l.acquire(|d| {
            std::thread::sleep(d + Duration::from_millis(300));
            true
        }));
        let mut waited = Duration::ZERO;
        assert!(l.acquire(|d| {
            waited += d;
            std::thread::sleep(d);
            true
        }));
        assert!(waited >= Duration::from_millis(90), "{waited:?}");
    }

    #[test]
    fn a_wait_given_up_takes_no_turn() {
        let l = Limiter::new(1.0).unwrap();
        assert!(l.acquire(|_| true));
        for _ in 0..10 {
            assert!(!l.acquire(|_| false));
        }
        // The next turn is still one interval after the first, not ten later.
        let mut waited = Duration::ZERO;
        assert!(l.acquire(|d| {
            waited += d;
            std::thread::sleep(d);
            true
        }));
        assert!(waited <= Duration::from_secs(1), "{waited:?}");
    }
}
