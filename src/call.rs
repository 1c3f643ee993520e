//! One call's context and its interruptible waits.
//!
//! A call (one thread, one `get_avatar`) can be stopped: the client's shutdown flag or a host's
//! signal check (Python's Ctrl-C). Every wait of the call, in a socket, a backoff or a pacing
//! turn, is cut into slices of [`SLICE`], and between slices the waiting thread asks its call's
//! stop check. ureq runs a request on the calling thread from start to end, so the thread is the
//! call: the transport (`transport.rs`) finds the call through a thread-local, installed by
//! [`Call::enter`] for exactly the call's duration, and tells it what the connection saw (was
//! it reused, did any byte of the answer arrive).

use std::cell::Cell;
use std::io;
use std::ptr;
use std::time::{Duration, Instant};

use ureq::Timeout;

use crate::dispatch::Inner;
use ureq::unversioned::transport::NextTimeout;

/// Longest a thread blocks in one socket wait or sleep before it checks whether to stop: the
/// bound on how late a shutdown or a Ctrl-C is noticed.
pub(crate) const SLICE: Duration = Duration::from_millis(50);

/// What one call (one thread, one `get_avatar`) shares with the transport it runs on.
pub(crate) struct Call<'a> {
    stop: &'a dyn Fn() -> bool,
    /// The stop check must be asked while waiting (a host's signals); otherwise whatever
    /// stops the call also wakes its waits (a shutdown, a batch's abort), through `alarm`.
    polls: bool,
    alarm: &'a Inner,
    stopped: Cell<bool>,
    /// Whether the request of the current attempt went out on a connection that had already
    /// answered before; `None` until the attempt writes its first byte.
    reused: Cell<Option<bool>>,
    /// Whether any byte arrived during the current attempt.
    answer_started: Cell<bool>,
}

impl<'a> Call<'a> {
    /// A call stopped by `stop`; `polls`: `stop` must be asked every [`SLICE`] while the call
    /// waits, since nothing wakes the wait when it turns true. Without polling, sleeps wait on
    /// `alarm` (the client's dispatcher), which a shutdown or an abort wakes.
    pub(crate) fn new(stop: &'a dyn Fn() -> bool, polls: bool, alarm: &'a Inner) -> Call<'a> {
        Call {
            stop,
            polls,
            alarm,
            stopped: Cell::new(false),
            reused: Cell::new(None),
            answer_started: Cell::new(false),
        }
    }

    /// Asks the stop check; remembers a yes, so the caller can tell a stop from a failure.
    pub(crate) fn should_stop(&self) -> bool {
        if !self.stopped.get() && (self.stop)() {
            self.stopped.set(true);
        }
        self.stopped.get()
    }

    /// Whether the stop check must be asked while waiting (see [`Call::new`]).
    pub(crate) fn polls(&self) -> bool {
        self.polls
    }

    pub(crate) fn stopped(&self) -> bool {
        self.stopped.get()
    }

    /// Forgets what the previous attempt saw.
    pub(crate) fn new_attempt(&self) {
        self.reused.set(None);
        self.answer_started.set(false);
    }

    /// The attempt failed on a connection that had answered before, before any byte of this
    /// answer arrived: the server had most likely closed it while it sat in the pool.
    pub(crate) fn failed_on_stale_connection(&self) -> bool {
        self.reused.get() == Some(true) && !self.answer_started.get()
    }

    /// Whether the current attempt's request went on a connection that had answered before
    /// (`None`: nothing sent yet).
    pub(crate) fn reused(&self) -> Option<bool> {
        self.reused.get()
    }

    /// The transport is sending on a connection that had (`reused`) or had not answered before;
    /// only the first send of an attempt counts.
    pub(crate) fn sending(&self, reused: bool) {
        if self.reused.get().is_none() {
            self.reused.set(Some(reused));
        }
    }

    /// The transport received bytes of this attempt's answer.
    pub(crate) fn answer_arrived(&self) {
        self.answer_started.set(true);
    }

    /// Sleeps `d`, returning `false` as soon as the call should stop: woken by the alarm, or
    /// in slices when the call polls.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        if !self.polls {
            return self.alarm.sleep(d, &|| self.should_stop());
        }
        let end = Instant::now().checked_add(d);
        loop {
            if self.should_stop() {
                return false;
            }
            let left = match end {
                Some(end) => end.saturating_duration_since(Instant::now()),
                None => SLICE,
            };
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(SLICE));
        }
    }

    /// Runs `f` with this call installed as the current thread's call.
    pub(crate) fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(*const ());
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.set(self.0);
            }
        }
        let _restore = Restore(CURRENT.replace(ptr::from_ref(self).cast()));
        f()
    }
}

thread_local! {
    /// The call running on this thread, set by [`Call::enter`] for exactly its duration.
    static CURRENT: Cell<*const ()> = const { Cell::new(ptr::null()) };
}

/// The current thread's call, if any.
pub(crate) fn with_call<R>(f: impl FnOnce(Option<&Call<'_>>) -> R) -> R {
    let p = CURRENT.get().cast::<Call<'_>>();
    // SAFETY: CURRENT holds a pointer to a `Call` only inside `Call::enter`, which borrows that
    // call for longer than the pointer is installed; outside it is NULL.
    f(unsafe { p.as_ref() })
}

/// The error a stopped wait returns; the client looks at [`Call::stopped`], not at this.
fn stopped_error() -> ureq::Error {
    ureq::Error::Io(io::Error::new(
        io::ErrorKind::Interrupted,
        "the call was stopped",
    ))
}

/// Between two slices of a wait: stop, time out, or go on.
pub(crate) fn keep_waiting(deadline: Option<Instant>, reason: Timeout) -> Result<(), ureq::Error> {
    if with_call(|c| c.is_some_and(Call::should_stop)) {
        return Err(stopped_error());
    }
    match deadline {
        Some(d) if Instant::now() >= d => Err(ureq::Error::Timeout(reason)),
        _ => Ok(()),
    }
}

/// The instant a `NextTimeout` ends at (`None`: never); an already spent one is a timeout now.
pub(crate) fn deadline(t: NextTimeout) -> Result<(Option<Instant>, Timeout), ureq::Error> {
    if t.after.is_not_happening() {
        return Ok((None, t.reason));
    }
    if t.after.is_zero() {
        return Err(ureq::Error::Timeout(t.reason));
    }
    Ok((Instant::now().checked_add(*t.after), t.reason))
}

pub(crate) fn is_wait(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}
