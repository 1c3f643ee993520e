//! A client's counters: relaxed atomics, added to as things happen, read by `Client::stats`.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Slots of [`Stats::results`]: one per C code (`GA_OK` = 0 is an answer), more than there are.
pub const RESULT_SLOTS: usize = 32;

/// What a client did since it was made (in this process and, after a fork, in its parent before
/// it). Every field counts up, but `in_flight` and `rate_per_sec`, which are now.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Stats {
    /// Calls that ended (answered, failed or cancelled); a batch's entries count one each.
    /// A chat id refused as malformed is not a call (nothing was tried).
    pub calls: u64,
    /// Requests sent, free resends included.
    pub attempts: u64,
    /// Attempts retried after a failure.
    pub retries: u64,
    /// Free resends after a stale pooled connection.
    pub stale_resends: u64,
    /// Calls by result: index 0 an answer, else the C code of the error (`GA_TIMEOUT`...).
    pub results: [u64; RESULT_SLOTS],
    /// Answers with HTTP status 429.
    pub responses_429: u64,
    /// `Retry-After` pauses asked by the service.
    pub pauses: u64,
    /// Slow-downs after a 429 although pacing held.
    pub slow_downs: u64,
    /// Waits for a pacing turn (a turn taken at once is not a wait).
    pub pacing_waits: u64,
    /// Their total, in milliseconds.
    pub pacing_wait_total_ms: f64,
    /// The longest of them, in milliseconds.
    pub pacing_wait_max_ms: f64,
    /// TCP connections opened.
    pub connections_opened: u64,
    /// TCP connections closed.
    pub connections_closed: u64,
    /// Full TLS handshakes.
    pub tls_full_handshakes: u64,
    /// TLS handshakes that resumed a session.
    pub tls_resumed_handshakes: u64,
    /// Bytes written to the TCP connections (TLS records included).
    pub bytes_sent: u64,
    /// Bytes read from the TCP connections (TLS records included).
    pub bytes_received: u64,
    /// Requests on the wire now.
    pub in_flight: u64,
    /// Requests per second the pacing lets through now (0: pacing off); less than the
    /// configured rate during a slow-down.
    pub rate_per_sec: f64,
    /// Event handlers that panicked (C++: threw), caught and dropped.
    pub handler_failures: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    calls: AtomicU64,
    attempts: AtomicU64,
    retries: AtomicU64,
    stale_resends: AtomicU64,
    results: [AtomicU64; RESULT_SLOTS],
    responses_429: AtomicU64,
    pauses: AtomicU64,
    slow_downs: AtomicU64,
    pacing_waits: AtomicU64,
    /// Nanoseconds.
    pacing_wait_total: AtomicU64,
    pacing_wait_max: AtomicU64,
    connections_opened: AtomicU64,
    connections_closed: AtomicU64,
    tls_full: AtomicU64,
    tls_resumed: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
    in_flight: AtomicU64,
    handler_failures: AtomicU64,
}

fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

impl Counters {
    pub(crate) fn call_ended(&self, c_code: u32) {
        self.calls.fetch_add(1, Relaxed);
        let slot = (c_code as usize).min(RESULT_SLOTS - 1);
        self.results[slot].fetch_add(1, Relaxed);
    }

    pub(crate) fn attempt_started(&self) {
        self.attempts.fetch_add(1, Relaxed);
        self.in_flight.fetch_add(1, Relaxed);
    }

    pub(crate) fn attempt_ended(&self, status: u16) {
        self.in_flight.fetch_sub(1, Relaxed);
        if status == 429 {
            self.responses_429.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn retried(&self) {
        self.retries.fetch_add(1, Relaxed);
    }

    pub(crate) fn stale_resent(&self) {
        self.stale_resends.fetch_add(1, Relaxed);
    }

    pub(crate) fn paused(&self) {
        self.pauses.fetch_add(1, Relaxed);
    }

    pub(crate) fn slowed_down(&self) {
        self.slow_downs.fetch_add(1, Relaxed);
    }

    pub(crate) fn waited(&self, nanos: u64) {
        self.pacing_waits.fetch_add(1, Relaxed);
        self.pacing_wait_total.fetch_add(nanos, Relaxed);
        self.pacing_wait_max.fetch_max(nanos, Relaxed);
    }

    pub(crate) fn connection_opened(&self) {
        self.connections_opened.fetch_add(1, Relaxed);
    }

    pub(crate) fn connection_closed(&self) {
        self.connections_closed.fetch_add(1, Relaxed);
    }

    pub(crate) fn tls_handshake(&self, resumed: bool) {
        if resumed {
            self.tls_resumed.fetch_add(1, Relaxed);
        } else {
            self.tls_full.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn sent(&self, n: usize) {
        self.bytes_sent.fetch_add(n as u64, Relaxed);
    }

    pub(crate) fn received(&self, n: usize) {
        self.bytes_received.fetch_add(n as u64, Relaxed);
    }

    pub(crate) fn handler_failed(&self) {
        self.handler_failures.fetch_add(1, Relaxed);
    }

    /// A snapshot (each counter read on its own: a call ending meanwhile may show in one and
    /// not yet in another). `rate_per_sec` comes from the pacing.
    pub(crate) fn snapshot(&self, rate_per_sec: f64) -> Stats {
        let r = |a: &AtomicU64| a.load(Relaxed);
        Stats {
            calls: r(&self.calls),
            attempts: r(&self.attempts),
            retries: r(&self.retries),
            stale_resends: r(&self.stale_resends),
            results: std::array::from_fn(|i| r(&self.results[i])),
            responses_429: r(&self.responses_429),
            pauses: r(&self.pauses),
            slow_downs: r(&self.slow_downs),
            pacing_waits: r(&self.pacing_waits),
            pacing_wait_total_ms: ms(r(&self.pacing_wait_total)),
            pacing_wait_max_ms: ms(r(&self.pacing_wait_max)),
            connections_opened: r(&self.connections_opened),
            connections_closed: r(&self.connections_closed),
            tls_full_handshakes: r(&self.tls_full),
            tls_resumed_handshakes: r(&self.tls_resumed),
            bytes_sent: r(&self.bytes_sent),
            bytes_received: r(&self.bytes_received),
            in_flight: r(&self.in_flight),
            rate_per_sec,
            handler_failures: r(&self.handler_failures),
        }
    }
}
