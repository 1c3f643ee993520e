//! `ga_client_stats`: a client's counters, in a versioned struct the caller owns.

use std::ffi::c_uint;
use std::mem::{offset_of, size_of};
use std::ptr;

use super::boundary::non_null;
use super::client::{client_arg, ga_client};
use super::code::ga_code;
use super::{ArgError, guard_recorded};
use crate::observe::RESULT_SLOTS;

/// The version of `ga_stats` this header describes: pass it to `ga_client_stats`.
pub const GA_STATS_VERSION: u32 = 1;

/// Slots of `ga_stats.results`: one per `ga_code` (`GA_OK` is an answer).
pub const GA_STATS_RESULT_SLOTS: usize = 32;

const _: () = assert!(GA_STATS_RESULT_SLOTS == RESULT_SLOTS);

/// What a client did since it was made (in this process and, after a fork, in its parent
/// before). Every field counts up but `in_flight` and `rate_per_sec`, which are now; each is
/// read on its own, so a call ending meanwhile may show in one and not yet in another. Fields
/// are only ever appended (with a new `GA_STATS_VERSION`).
#[repr(C)]
pub struct ga_stats {
    /// Set by `ga_client_stats` to the version it was given.
    pub version: u32,
    /// Calls that ended (answered, failed or cancelled); a chat id refused as malformed is not
    /// one.
    pub calls: u64,
    /// Requests sent, free resends included.
    pub attempts: u64,
    /// Attempts retried after a failure.
    pub retries: u64,
    /// Free resends after a stale pooled connection.
    pub stale_resends: u64,
    /// Calls by result: `results[GA_OK]` answers, `results[GA_TIMEOUT]` timeouts, ...
    pub results: [u64; GA_STATS_RESULT_SLOTS],
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
    /// The longest, in milliseconds.
    pub pacing_wait_max_ms: f64,
    /// TCP connections opened.
    pub connections_opened: u64,
    /// TCP connections closed.
    pub connections_closed: u64,
    /// Full TLS handshakes.
    pub tls_full_handshakes: u64,
    /// Resumed TLS handshakes.
    pub tls_resumed_handshakes: u64,
    /// Bytes written to the TCP connections (TLS records included).
    pub bytes_sent: u64,
    /// Bytes read from them.
    pub bytes_received: u64,
    /// Requests on the wire now.
    pub in_flight: u64,
    /// Requests per second the pacing lets through now (0: off); less than
    /// `rate_limit_per_sec` during a slow-down.
    pub rate_per_sec: f64,
    /// Event callbacks that failed (C++: threw), caught and dropped.
    pub handler_failures: u64,
}

/// The bytes of each version, version 1 first.
const STATS_SIZES: [usize; GA_STATS_VERSION as usize] =
    [offset_of!(ga_stats, handler_failures) + size_of::<u64>()];

/// Fills the fields of `version` in `stats` with the client's counters now and sets
/// `stats->version`. Returns `GA_OK`; `GA_NULL_ARGUMENT` for NULL `client` or `stats`;
/// `GA_INVALID_ARGUMENT`, writing nothing, for a `version` of 0 or newer than the library
/// knows (pass `GA_STATS_VERSION`). Cheap (a few atomic loads) and safe from any thread, an
/// event callback included.
///
/// # Safety
/// `client` is NULL or a live client; `stats` is NULL or writable memory for one `ga_stats`
/// of `version`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ga_client_stats(
    client: *const ga_client,
    stats: *mut ga_stats,
    version: c_uint,
) -> ga_code {
    guard_recorded(|| {
        // SAFETY: a live client by the caller's contract.
        let client = unsafe { client_arg(client) }?;
        let out = non_null(stats, "stats")?.cast_mut();
        let size = usize::try_from(version)
            .ok()
            .and_then(|v| v.checked_sub(1))
            .and_then(|i| STATS_SIZES.get(i).copied())
            .ok_or_else(|| {
                ArgError::invalid(format!(
                    "version {version} is not one this library knows (1 to {GA_STATS_VERSION}): \
                     pass GA_STATS_VERSION"
                ))
            })?;
        let s = client.stats();
        let full = ga_stats {
            version,
            calls: s.calls,
            attempts: s.attempts,
            retries: s.retries,
            stale_resends: s.stale_resends,
            results: s.results,
            responses_429: s.responses_429,
            pauses: s.pauses,
            slow_downs: s.slow_downs,
            pacing_waits: s.pacing_waits,
            pacing_wait_total_ms: s.pacing_wait_total_ms,
            pacing_wait_max_ms: s.pacing_wait_max_ms,
            connections_opened: s.connections_opened,
            connections_closed: s.connections_closed,
            tls_full_handshakes: s.tls_full_handshakes,
            tls_resumed_handshakes: s.tls_resumed_handshakes,
            bytes_sent: s.bytes_sent,
            bytes_received: s.bytes_received,
            in_flight: s.in_flight,
            rate_per_sec: s.rate_per_sec,
            handler_failures: s.handler_failures,
        };
        // An untyped copy of the version's prefix: a typed write would store the whole
        // (newest) struct past the end of an older caller's.
        // SAFETY: `out` is writable for `size` bytes by the caller's contract; `full` is a
        // whole struct, at least that long.
        unsafe {
            ptr::copy_nonoverlapping(ptr::from_ref(&full).cast::<u8>(), out.cast::<u8>(), size);
        }
        Ok(())
    })
    .1
}
