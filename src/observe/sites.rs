//! The events of the places that have no client at hand (pacing, TLS), told through the
//! thread's current client (`observe::current`), and the per-attempt notes they leave.

use std::cell::Cell;

use super::{EventKind, Level, Observe};
use crate::pacing::turns::FULL;

thread_local! {
    /// Whether the TLS handshake of a connection opened during this thread's current attempt
    /// was resumed (`None`: no TLS connection was opened).
    static ATTEMPT_TLS: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Forgets the previous attempt's notes.
pub(crate) fn new_attempt() {
    ATTEMPT_TLS.set(None);
}

/// The TLS handshake of a connection opened during this attempt, if any.
pub(crate) fn attempt_tls() -> Option<bool> {
    ATTEMPT_TLS.get()
}

/// A TLS handshake ended: counted, noted for the attempt, and told as the connection opened.
pub(crate) fn tls_handshake(resumed: bool) {
    ATTEMPT_TLS.set(Some(resumed));
    super::current(|o| {
        o.counters.tls_handshake(resumed);
        o.emit(EventKind::ConnectionOpened, |e| {
            e.tls_resumed = Some(resumed)
        });
    });
}

impl Observe {
    fn rate_at(&self, share: u64) -> f64 {
        self.rate_per_sec * share as f64 / FULL as f64
    }

    /// The pacing slowed down after a 429 (`share` of the rate in force now).
    pub(crate) fn slowed_down(&self, share: u64) {
        self.counters.slowed_down();
        self.emit(EventKind::SlowDown, |e| {
            e.rate_per_sec = self.rate_at(share)
        });
    }

    /// The pacing's rate came back a step.
    pub(crate) fn recovered(&self, share: u64) {
        self.emit(EventKind::Recovered, |e| {
            e.rate_per_sec = self.rate_at(share)
        });
    }

    /// The pacing in force is now `pacing` (`"redis"`: back; `"host"`: Redis lost).
    pub(crate) fn pacing_switched(&self, pacing: &'static str) {
        let level = if pacing == "redis" {
            Level::Info
        } else {
            Level::Warning
        };
        self.emit_at(EventKind::PacingSwitched, level, |e| {
            e.pacing = Some(pacing)
        });
    }
}

impl Observe {
    /// A call waited `d` for its pacing turn.
    pub(crate) fn pacing_waited(&self, d: std::time::Duration) {
        self.counters
            .waited(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        self.emit(EventKind::PacingWait, |e| {
            e.duration_ms = d.as_secs_f64() * 1e3;
        });
    }
}
