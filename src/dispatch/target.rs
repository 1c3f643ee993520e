//! How many requests may be on the wire at once: enough to keep the pace, no more.
//!
//! By Little's law a client that sends `rate` requests a second, each answered after `latency`,
//! has `rate x latency` of them in flight. The latency is not known in advance and changes
//! during a run, so the target follows what is seen: a moving average of how long attempts
//! took, and the age of the oldest request still out (a service that slowed down shows in it
//! before any answer comes back). Headroom on top covers the spread of latencies. A service
//! that pushes back (a timeout, a 5xx, a 429) halves the target's ceiling once per second,
//! which then grows back by one per answer: fewer requests left waiting in a struggling
//! service, and as many as before once it recovers. With pacing off only `max_in_flight`
//! bounds it.

use std::time::Duration;

/// How much more than `rate x latency` may be in flight: latencies spread around their mean.
const HEADROOM: f64 = 1.5;
/// Weight of the newest attempt in the latency average.
const ALPHA: f64 = 0.2;
/// Push-backs closer together than this halve the ceiling once.
const EPISODE: Duration = Duration::from_secs(1);

/// What an attempt's outcome says about the service's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Load {
    /// An answer came (whatever it said) in reasonable time.
    Answered,
    /// A timeout, a 5xx or a 429: the service is struggling.
    PushedBack,
    /// The attempt said nothing about the service (stopped, refused locally).
    Unknown,
}

#[derive(Debug)]
pub(crate) struct Target {
    max: usize,
    paced: bool,
    /// Average attempt duration, seconds; `None` before the first answer.
    latency: Option<f64>,
    /// The ceiling push-backs set; `max` when there were none.
    ceiling: f64,
    /// When the ceiling was last halved, seconds on the dispatcher's clock.
    pushed_at: Option<Duration>,
}

impl Target {
    pub(crate) fn new(max_in_flight: usize, paced: bool) -> Target {
        let max = max_in_flight.max(1);
        Target {
            max,
            paced,
            latency: None,
            ceiling: max as f64,
            pushed_at: None,
        }
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// The most requests that may be in flight now, at `rate` per second (the rate in force),
    /// the oldest request still out being `oldest` old.
    pub(crate) fn limit(&self, rate: f64, oldest: Duration) -> usize {
        if !self.paced {
            return self.max;
        }
        let latency = self.latency.unwrap_or(0.0).max(oldest.as_secs_f64());
        let little = (rate * latency * HEADROOM).ceil() + 1.0;
        let n = little.min(self.ceiling).min(self.max as f64);
        // `as` saturates; n is at least 1 and at most max.
        (n as usize).clamp(1, self.max)
    }

    /// An attempt ended after `took`, at `now` (the dispatcher's clock), with `in_flight`
    /// requests out when it ended (itself included).
    pub(crate) fn ended(&mut self, took: Duration, load: Load, in_flight: usize, now: Duration) {
        match load {
            Load::Unknown => {}
            Load::Answered => {
                let t = took.as_secs_f64();
                self.latency = Some(self.latency.map_or(t, |l| l + ALPHA * (t - l)));
                self.ceiling = (self.ceiling + 1.0).min(self.max as f64);
            }
            Load::PushedBack => {
                if self
                    .pushed_at
                    .is_some_and(|at| now.saturating_sub(at) < EPISODE)
                {
                    return;
                }
                self.pushed_at = Some(now);
                self.ceiling = (in_flight as f64 / 2.0).max(1.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn follows_latency_at_the_rate() {
        let mut t = Target::new(64, true);
        // Nothing known: one at a time, then as many as the oldest request's age says.
        assert_eq!(t.limit(10.0, Duration::ZERO), 1);
        assert_eq!(t.limit(10.0, S / 2), 9);
        for _ in 0..50 {
            t.ended(S * 3 / 2, Load::Answered, 10, S);
        }
        // 10/s x 1.5 s x 1.5, plus one.
        assert_eq!(t.limit(10.0, Duration::ZERO), 24);
        for _ in 0..50 {
            t.ended(Duration::from_millis(20), Load::Answered, 2, S);
        }
        assert!(t.limit(10.0, Duration::ZERO) <= 2);
        // Bounded by max_in_flight, whatever the latency.
        assert_eq!(t.limit(10.0, S * 100), 64);
    }

    #[test]
    fn push_back_halves_once_per_episode_and_grows_back() {
        let mut t = Target::new(64, true);
        t.ended(S * 3, Load::Answered, 1, S);
        assert_eq!(t.limit(10.0, Duration::ZERO), 46);
        t.ended(S, Load::PushedBack, 40, S * 10);
        assert_eq!(t.limit(10.0, Duration::ZERO), 20);
        // Same episode: no second halving.
        t.ended(S, Load::PushedBack, 20, S * 10 + S / 2);
        assert_eq!(t.limit(10.0, Duration::ZERO), 20);
        t.ended(S, Load::PushedBack, 20, S * 12);
        assert_eq!(t.limit(10.0, Duration::ZERO), 10);
        for _ in 0..100 {
            t.ended(S * 3, Load::Answered, 1, S * 13);
        }
        assert_eq!(t.limit(10.0, Duration::ZERO), 46);
    }

    #[test]
    fn unpaced_is_max_in_flight() {
        let mut t = Target::new(8, false);
        t.ended(S, Load::PushedBack, 8, S);
        assert_eq!(t.limit(0.0, Duration::ZERO), 8);
    }
}
