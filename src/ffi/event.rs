//! `ga_event`: what a client tells its C callback (`ga_client_options.on_event`), and the
//! `GA_EVENT_*` and `GA_LEVEL_*` numbers.
//!
//! The library allocates the event, so the struct may grow: `size` and `version` say which
//! fields this one has, and a program reads no field past `size`.

use std::ffi::{CString, c_char, c_void};
use std::mem::size_of;
use std::ptr;

use super::ArgError;
use crate::observe::{Event, Level, Observer};

/// The version of `ga_event` this header describes (the library fills `version` with its own).
pub const GA_EVENT_VERSION: u32 = 1;

/// Levels (Python's `logging` numbers): every request and connection.
pub const GA_LEVEL_DEBUG: u32 = 10;
/// A retry, a pause asked by the service, a fork, a batch started or finished.
pub const GA_LEVEL_INFO: u32 = 20;
/// A slow-down after a 429, Redis lost.
pub const GA_LEVEL_WARNING: u32 = 30;

/// A request went out: `attempt`.
pub const GA_EVENT_REQUEST_SENT: u32 = 1;
/// An attempt ended (debug for a 200, info otherwise): `attempt`, `status` (0: no answer),
/// `error_type`, `duration_ms` (on the wire), `connection_reused`, `tls_resumed`.
pub const GA_EVENT_REQUEST_ANSWERED: u32 = 2;
/// A failed attempt is retried: `attempt` (the failed one), `error_type` (why), `status`,
/// `duration_ms` (the backoff).
pub const GA_EVENT_RETRY: u32 = 3;
/// A call waited for its pacing turn: `duration_ms`.
pub const GA_EVENT_PACING_WAIT: u32 = 4;
/// The service asked for a pause (`Retry-After`, cut to 10 s) holding back every thread's next
/// turn: `duration_ms`, `status`.
pub const GA_EVENT_PAUSE: u32 = 5;
/// A 429 came although pacing held: the pacing slows down: `rate_per_sec` (now).
pub const GA_EVENT_SLOW_DOWN: u32 = 6;
/// The rate came back a step after a slow-down: `rate_per_sec` (now).
pub const GA_EVENT_RECOVERED: u32 = 7;
/// A request that died with a pooled connection is sent again, free: `attempt`.
pub const GA_EVENT_STALE_RESEND: u32 = 8;
/// A connection was opened: `tls_resumed` for TLS.
pub const GA_EVENT_CONNECTION_OPENED: u32 = 9;
/// A connection was closed.
pub const GA_EVENT_CONNECTION_CLOSED: u32 = 10;
/// The client noticed it runs in a forked child: fresh connections and pacing.
pub const GA_EVENT_FORK_NOTICED: u32 = 11;
/// The pacing in force changed (warning: Redis lost; info: back): `pacing` (now).
pub const GA_EVENT_PACING_SWITCHED: u32 = 12;
/// A batch started: `count` (ids).
pub const GA_EVENT_BATCH_STARTED: u32 = 13;
/// A batch finished: `count` (answered), `failed`.
pub const GA_EVENT_BATCH_FINISHED: u32 = 14;

/// Called with each event at the options' `event_min_level` or above.
///
/// Runs on the thread where the event happens: the thread in `ga_get_avatar`, a worker thread
/// of `ga_get_avatars`, or (for a connection closed) the thread in `ga_client_free` or
/// `ga_client_shutdown`; so from several threads at once, and `user` must allow that. It runs
/// synchronously: a slow callback slows the call, never changes its answer. It may call
/// `ga_client_stats` and `ga_code_str`, and use other clients freely. With the same client,
/// `ga_get_avatar` is refused (`GA_INVALID_ARGUMENT`), and `ga_get_avatars`,
/// `ga_client_shutdown` and `ga_client_free` must not be called from there. It must return
/// normally: a C++ exception or a `longjmp` leaving it is undefined behaviour (catch
/// everything inside it, as greenapi.hpp does). `event` and its strings live only until it
/// returns.
pub type ga_event_callback =
    Option<unsafe extern "C" fn(event: *const ga_event, user: *mut c_void)>;

/// One event. Strings are NUL-terminated UTF-8, NULL where the field does not apply, and hold
/// neither the token nor any password; numbers are 0 where they do not apply. Fields are only
/// ever appended: read none past `size`.
#[repr(C)]
pub struct ga_event {
    /// The bytes of this struct the library filled.
    pub size: u32,
    /// The library's `GA_EVENT_VERSION`.
    pub version: u32,
    /// `GA_EVENT_*`.
    pub kind: u32,
    /// `GA_LEVEL_*`.
    pub level: u32,
    /// The kind's name: `"request.sent"`, `"request.answered"`, `"retry"`, `"pacing.wait"`,
    /// `"pacing.pause"`, `"pacing.slow_down"`, `"pacing.recovered"`, `"request.stale_resend"`,
    /// `"connection.opened"`, `"connection.closed"`, `"fork.noticed"`, `"pacing.switched"`,
    /// `"batch.started"`, `"batch.finished"`.
    pub name: *const c_char,
    /// One line saying it, made from the fields below.
    pub message: *const c_char,
    /// `server.address`: the host of `api_url`.
    pub server_address: *const c_char,
    /// `server.port`.
    pub server_port: u32,
    /// The attempt of the call, from 1 (`http.request.resend_count` is `attempt - 1`).
    pub attempt: u32,
    /// `http.response.status_code`.
    pub status: u32,
    /// `error.type`: the error kind as Python names it (`"timeout"`, `"server_error"`, ...).
    pub error_type: *const c_char,
    /// Milliseconds: on the wire, of the backoff, of the wait or of the pause (see the kind).
    pub duration_ms: f64,
    /// 1: the request went on a connection that had answered before; 0: a new one; -1: unknown.
    pub connection_reused: i32,
    /// For a TLS connection opened by this attempt: 1 resumed, 0 full handshake; -1: none.
    pub tls_resumed: i32,
    /// Requests per second in force now (slow-down, recovery).
    pub rate_per_sec: f64,
    /// The pacing in force now: `"host"`, `"process"` or `"redis"`.
    pub pacing: *const c_char,
    /// A batch's ids (started) or answers (finished).
    pub count: u64,
    /// A finished batch's failures.
    pub failed: u64,
}

/// The level `GA_LEVEL_*` stands for.
pub(crate) fn level(value: u32) -> Result<Level, ArgError> {
    match value {
        GA_LEVEL_DEBUG => Ok(Level::Debug),
        GA_LEVEL_INFO => Ok(Level::Info),
        GA_LEVEL_WARNING => Ok(Level::Warning),
        _ => Err(ArgError::invalid(
            "options.event_min_level must be GA_LEVEL_DEBUG, GA_LEVEL_INFO or GA_LEVEL_WARNING"
                .to_string(),
        )),
    }
}

/// The caller's user pointer, handed back as it was. The callback's contract says it may be
/// used from any thread.
struct User(*mut c_void);
// SAFETY: only handed back to the caller's callback, which is documented to run on any thread.
unsafe impl Send for User {}
// SAFETY: as above.
unsafe impl Sync for User {}

/// `0`, `1`, or `-1` for unknown.
fn tri(b: Option<bool>) -> i32 {
    b.map_or(-1, i32::from)
}

/// A string of fixed names and numbers has no NUL; should one appear it is shown as empty.
fn c_string(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

/// The observer that calls `callback` with `user`.
pub(crate) fn observer(
    callback: unsafe extern "C" fn(*const ga_event, *mut c_void),
    user: *mut c_void,
    min_level: Level,
) -> Observer {
    let user = User(user);
    Observer::new(min_level, move |e: &Event<'_>| {
        let name = c_string(e.kind.name());
        let message = c_string(&e.message());
        let address = c_string(e.server_address);
        let error_type = e.error_type.map(c_string);
        let pacing = e.pacing.map(c_string);
        let opt = |s: &Option<CString>| s.as_ref().map_or(ptr::null(), |s| s.as_ptr());
        let event = ga_event {
            size: size_of::<ga_event>() as u32,
            version: GA_EVENT_VERSION,
            kind: e.kind as u32,
            level: e.level as u32,
            name: name.as_ptr(),
            message: message.as_ptr(),
            server_address: address.as_ptr(),
            server_port: e.server_port.into(),
            attempt: e.attempt,
            status: e.status.into(),
            error_type: opt(&error_type),
            duration_ms: e.duration_ms,
            connection_reused: tri(e.connection_reused),
            tls_resumed: tri(e.tls_resumed),
            rate_per_sec: e.rate_per_sec,
            pacing: opt(&pacing),
            count: e.count,
            failed: e.failed,
        };
        let user = &user;
        // SAFETY: the caller's callback, with an event and strings that live through the call,
        // and the caller's own pointer.
        unsafe { callback(&raw const event, user.0) };
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::EventKind;

    #[test]
    fn the_c_numbers_are_the_kinds() {
        let c = [
            GA_EVENT_REQUEST_SENT,
            GA_EVENT_REQUEST_ANSWERED,
            GA_EVENT_RETRY,
            GA_EVENT_PACING_WAIT,
            GA_EVENT_PAUSE,
            GA_EVENT_SLOW_DOWN,
            GA_EVENT_RECOVERED,
            GA_EVENT_STALE_RESEND,
            GA_EVENT_CONNECTION_OPENED,
            GA_EVENT_CONNECTION_CLOSED,
            GA_EVENT_FORK_NOTICED,
            GA_EVENT_PACING_SWITCHED,
            GA_EVENT_BATCH_STARTED,
            GA_EVENT_BATCH_FINISHED,
        ];
        for (k, c) in EventKind::ALL.iter().zip(c) {
            assert_eq!(*k as u32, c, "{k:?}");
        }
        assert_eq!(GA_LEVEL_DEBUG, Level::Debug as u32);
        assert_eq!(GA_LEVEL_WARNING, Level::Warning as u32);
    }
}
