//! The pacing algorithm, on a few atomics that may live in this process (process pacing) or in
//! a file mapped by every process of the machine (host pacing, `host.rs`): no lock, so a
//! process killed at any moment, or a thread of a parent caught by a fork, holds nothing the
//! others would wait for.
//!
//! Times are nanoseconds of `CLOCK_MONOTONIC`, one clock for every process of the machine in
//! one boot and time namespace (Rust's `Instant` reads it too). A file kept across a reboot (a
//! `GREENAPI_RUNTIME_DIR` on disk), or shared into another time namespace, holds times of
//! another clock: [`Turns::forget_other_clocks`] discards what lies too far ahead of now.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The share of the configured rate in force, in 1/1024ths: [`FULL`] unless a 429 that came
/// although pacing held slowed every client on the pacing down.
pub(crate) const FULL: u64 = 1024;
/// The least share a slow-down goes to: 1/64 of the rate.
const LEAST: u64 = FULL / 64;
/// How much of the rate comes back at a time, after [`RECOVER_EVERY`] without a 429.
const RECOVER_STEP: u64 = FULL / 10;
const RECOVER_EVERY: u64 = 10_000_000_000;
/// A slow-down also pauses the pacing this long: a 429 without `Retry-After` says the
/// service's window is full, and a second with nothing sent empties it.
const CLEAR_WINDOW: u64 = 1_000_000_000;
/// The longest pause anyone writes: a `Retry-After` is cut to 10 s, a slow-down's is a second.
const MAX_PAUSE: u64 = 11_000_000_000;
/// How many of the longest turn (the slowest share of the interval) the last turn may lie ahead
/// of now before it is taken for another clock's.
const AHEAD: u64 = 64;
/// 429s closer together than this are one episode and halve the rate once: the requests
/// already in flight when the first came back will be refused too.
const EPISODE: u64 = 1_000_000_000;

/// The state every client on one pacing shares. All zero is the state of a fresh pacing: no
/// turn taken, no pause, full rate. `#[repr(C)]` and only atomics: its layout is the file's
/// (`host.rs` names the file after this layout's version).
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct Turns {
    /// When the last turn was taken (0: none yet). Each client's next turn is due its own
    /// interval after it: a client configured slower than the others does not hold them back.
    last: AtomicU64,
    /// No turn before this (a `Retry-After`).
    pause_until: AtomicU64,
    /// The share of the rate in force; 0 means [`FULL`].
    share: AtomicU64,
    /// When the last slow-down happened.
    slowed_at: AtomicU64,
    /// When the share last changed (slowed down or recovered a step).
    changed_at: AtomicU64,
}

/// Now on `CLOCK_MONOTONIC`, in nanoseconds.
pub(crate) fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes one timespec; CLOCK_MONOTONIC is always available on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

impl Turns {
    /// Waits for the next turn and takes it, sleeping through `sleep` (which returns false to
    /// give up: then no turn is taken). `interval` is the spacing at the full rate (0: pacing
    /// off, only pauses hold a request back). A turn is taken only once it is due, at the time
    /// it is actually taken, and the one after it is due an interval later: a caller that wakes
    /// late delays only its own request, never squeezes the ones after it closer together.
    pub(crate) fn acquire(&self, interval: u64, mut sleep: impl FnMut(Duration) -> bool) -> bool {
        loop {
            let now = now_ns();
            self.forget_other_clocks(now, interval);
            let last = self.last.load(Ordering::Acquire);
            let step = if interval == 0 {
                0
            } else {
                interval.saturating_mul(FULL) / self.share(now)
            };
            let due = if last == 0 {
                0
            } else {
                last.saturating_add(step)
            };
            let due = due.max(self.pause_until.load(Ordering::Acquire));
            if due > now {
                if !sleep(Duration::from_nanos(due - now)) {
                    return false;
                }
                continue;
            }
            if interval == 0 {
                return true;
            }
            if self
                .last
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return true;
            }
        }
    }

    /// Waits until the next turn is due, without taking it (see [`Turns::acquire`]); false
    /// when `sleep` gave up.
    pub(crate) fn until_due(&self, interval: u64, mut sleep: impl FnMut(Duration) -> bool) -> bool {
        loop {
            let now = now_ns();
            let last = self.last.load(Ordering::Acquire);
            let step = if interval == 0 {
                0
            } else {
                interval.saturating_mul(FULL) / self.share(now)
            };
            let due = if last == 0 {
                0
            } else {
                last.saturating_add(step)
            };
            let due = due.max(self.pause_until.load(Ordering::Acquire));
            if due <= now {
                return true;
            }
            if !sleep(Duration::from_nanos(due - now)) {
                return false;
            }
        }
    }

    /// Times no clock of this boot wrote: a last turn more than [`AHEAD`] of the longest turns
    /// ahead, a pause longer than anyone asks for, a slow-down or a change in the future. Each
    /// is reset (by compare-and-swap: a client that just wrote a good value keeps it).
    fn forget_other_clocks(&self, now: u64, interval: u64) {
        let longest = interval.saturating_mul(FULL / LEAST).max(1);
        let last = self.last.load(Ordering::Acquire);
        if last > now.saturating_add(longest.saturating_mul(AHEAD)) {
            let _ = self
                .last
                .compare_exchange(last, 0, Ordering::AcqRel, Ordering::Acquire);
        }
        let pause = self.pause_until.load(Ordering::Acquire);
        if pause > now.saturating_add(MAX_PAUSE) {
            let _ =
                self.pause_until
                    .compare_exchange(pause, 0, Ordering::AcqRel, Ordering::Acquire);
        }
        for at in [&self.slowed_at, &self.changed_at] {
            let t = at.load(Ordering::Acquire);
            if t > now {
                let _ = at.compare_exchange(t, 0, Ordering::AcqRel, Ordering::Acquire);
            }
        }
    }

    /// No turn is taken before `pause` from now (the service's `Retry-After`).
    pub(crate) fn pause(&self, pause: Duration) {
        let until = now_ns().saturating_add(u64::try_from(pause.as_nanos()).unwrap_or(u64::MAX));
        self.pause_until.fetch_max(until, Ordering::AcqRel);
    }

    /// A 429 came back although the pacing held: someone outside it uses the instance. The
    /// rate is halved, once per episode, down to 1/64 of the configured rate, and nothing is
    /// sent for a second.
    pub(crate) fn slow_down(&self) {
        let now = now_ns();
        let last = self.slowed_at.load(Ordering::Acquire);
        if last != 0 && now.saturating_sub(last) < EPISODE {
            return;
        }
        if self
            .slowed_at
            .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        let _ = self
            .share
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                Some((share_of(s) / 2).max(LEAST))
            });
        self.changed_at.store(now, Ordering::Release);
        self.pause_until
            .fetch_max(now.saturating_add(CLEAR_WINDOW), Ordering::AcqRel);
        crate::observe::current(|o| o.slowed_down(share_of(self.share.load(Ordering::Acquire))));
    }

    /// The share in force at `now`: a step of the rate comes back every [`RECOVER_EVERY`] without
    /// a 429, until it is full again.
    pub(crate) fn share(&self, now: u64) -> u64 {
        let share = share_of(self.share.load(Ordering::Acquire));
        if share >= FULL {
            return FULL;
        }
        let changed = self.changed_at.load(Ordering::Acquire);
        if now.saturating_sub(changed) >= RECOVER_EVERY
            && self
                .changed_at
                .compare_exchange(changed, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let _ = self
                .share
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                    Some((share_of(s) + RECOVER_STEP).min(FULL))
                });
            crate::observe::current(|o| o.recovered(share_of(self.share.load(Ordering::Acquire))));
        }
        share_of(self.share.load(Ordering::Acquire))
    }
}

fn share_of(stored: u64) -> u64 {
    if stored == 0 { FULL } else { stored.min(FULL) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENTH: u64 = 100_000_000;

    #[test]
    fn a_late_turn_pushes_the_next_one_back() {
        let t = Turns::default();
        assert!(t.acquire(TENTH, |_| panic!("the first turn is free")));
        // This caller "oversleeps" its wait by 300 ms: the turn after it is due 100 ms after
        // the late one was taken, not at its original time.
        assert!(t.acquire(TENTH, |d| {
            std::thread::sleep(d + Duration::from_millis(300));
            true
        }));
        let mut waited = Duration::ZERO;
        assert!(t.acquire(TENTH, |d| {
            waited += d;
            std::thread::sleep(d);
            true
        }));
        assert!(waited >= Duration::from_millis(90), "{waited:?}");
    }

    #[test]
    fn a_wait_given_up_takes_no_turn() {
        let t = Turns::default();
        assert!(t.acquire(10 * TENTH, |_| true));
        for _ in 0..10 {
            assert!(!t.acquire(10 * TENTH, |_| false));
        }
        // The next turn is still one interval after the first, not ten later.
        let mut waited = Duration::ZERO;
        assert!(t.acquire(10 * TENTH, |d| {
            waited += d;
            std::thread::sleep(d);
            true
        }));
        assert!(waited <= Duration::from_secs(1), "{waited:?}");
    }

    #[test]
    fn a_slow_down_halves_once_per_episode_and_recovers_in_steps() {
        let t = Turns::default();
        assert_eq!(t.share(now_ns()), FULL);
        t.slow_down();
        t.slow_down();
        assert_eq!(
            t.share(now_ns()),
            FULL / 2,
            "two 429s of one episode halve once"
        );
        // Five seconds on, a step comes back; never above full.
        let later = now_ns() + RECOVER_EVERY;
        assert_eq!(t.share(later), FULL / 2 + RECOVER_STEP);
        let much_later = later + 100 * RECOVER_EVERY;
        for i in 1..20 {
            t.share(much_later + i * RECOVER_EVERY);
        }
        assert_eq!(t.share(u64::MAX / 2), FULL);
    }

    #[test]
    fn pacing_off_waits_only_for_a_pause() {
        let t = Turns::default();
        assert!(t.acquire(0, |_| panic!("no wait without a pause")));
        assert!(t.acquire(0, |_| panic!("no wait without a pause")));
        t.pause(Duration::from_millis(50));
        let mut waited = Duration::ZERO;
        assert!(t.acquire(0, |d| {
            waited += d;
            std::thread::sleep(d);
            true
        }));
        assert!(waited >= Duration::from_millis(40), "{waited:?}");
    }
}
