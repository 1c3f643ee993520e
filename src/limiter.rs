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

/// A turn handed out by [`Limiter::reserve`].
#[derive(Debug)]
pub(crate) struct Turn {
    /// How long to wait before sending.
    pub(crate) wait: Duration,
    slot: Instant,
    after: Instant,
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

    /// Takes the next free turn and says how long to wait for it.
    pub(crate) fn reserve(&self) -> Turn {
        // A panic elsewhere while holding this lock cannot leave the Instant half-written.
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let slot = next.map_or(now, |n| n.max(now));
        let after = slot.checked_add(self.interval).unwrap_or(slot);
        *next = Some(after);
        Turn {
            wait: slot.saturating_duration_since(now),
            slot,
            after,
        }
    }

    /// Returns a turn that was not used (its call was stopped while waiting for it), if no
    /// later turn was handed out meanwhile; otherwise those later turns keep their places.
    pub(crate) fn give_back(&self, turn: Turn) {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        if *next == Some(turn.after) {
            *next = Some(turn.slot);
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
    fn a_turn_given_back_is_handed_out_again() {
        let l = Limiter::new(1.0).unwrap();
        assert!(l.reserve().wait.is_zero());
        let second = l.reserve();
        assert!(second.wait > Duration::from_millis(900), "{second:?}");
        // Stopped while waiting: ten times over, the next turn stays one interval away.
        l.give_back(second);
        for _ in 0..10 {
            let t = l.reserve();
            assert!(t.wait <= Duration::from_secs(1), "{t:?}");
            l.give_back(t);
        }
    }

    #[test]
    fn a_turn_is_not_given_back_over_later_ones() {
        let l = Limiter::new(1.0).unwrap();
        l.reserve();
        let second = l.reserve();
        let third = l.reserve();
        l.give_back(second);
        // The third keeps its place; the next comes after it.
        let fourth = l.reserve();
        assert!(fourth.wait > third.wait, "{third:?} {fourth:?}");
    }
}
