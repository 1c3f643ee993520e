//! What a client lets its user see: events (one per thing that happened, with a level and
//! fields) and counters (`counters.rs`). Built so that no view can carry the token: an event
//! holds numbers, fixed names and the host, never a URL with the token, a proxy URL or a Redis
//! URL (only `pacing` names, `"host"`, `"process"`, `"redis"`), and its message is made from
//! those fields alone.
//!
//! Free when nobody listens: a client without an [`Observer`] (or whose observer's level is
//! above an event's) pays one relaxed atomic load per event site, and the counters are a few
//! relaxed atomic adds per call.

mod counters;
mod event;
pub(crate) mod sites;

use std::cell::Cell;
use std::fmt;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

pub(crate) use counters::Counters;
pub use counters::{RESULT_SLOTS, Stats};
pub use event::{Event, EventKind, URL_TEMPLATE};

/// How much an event matters. The numbers are Python's `logging` levels (and the C
/// `GA_LEVEL_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Every request, connection and pacing wait: for finding out what happened.
    Debug = 10,
    /// Something a user may want to know about, at most a few times a minute in a healthy run:
    /// a retry, a pause asked by the service, a fork, a batch started or finished.
    Info = 20,
    /// Something is wrong outside the client: a slow-down after a 429, Redis lost.
    Warning = 30,
}

impl Level {
    /// `"debug"`, `"info"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
        }
    }
}

/// The level that lets nothing through: no event has it.
const OFF: u8 = u8::MAX;

type Handler = dyn Fn(&Event<'_>) + Send + Sync;

/// Who is told of a client's events (`Options::observer`): a handler and the least level it is
/// given. The handler runs on the thread where the event happens (the calling thread, a batch
/// worker, or the thread that drops the client for a connection closed then), synchronously:
/// a slow handler slows the call. It must not call the same client's `get_avatar` or `batch`
/// (that call fails with `InvalidArgument`); a panic in it is caught and counted
/// ([`Stats::handler_failures`]), never ends the call.
#[derive(Clone)]
pub struct Observer {
    inner: Arc<Inner>,
}

struct Inner {
    handler: Box<Handler>,
    min_level: AtomicU8,
}

impl Observer {
    /// An observer that gives `handler` every event at `min_level` or above.
    pub fn new(min_level: Level, handler: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Self {
        Observer {
            inner: Arc::new(Inner {
                handler: Box::new(handler),
                min_level: AtomicU8::new(min_level as u8),
            }),
        }
    }

    /// Changes the least level given to the handler (`None`: nothing), for every client that
    /// uses this observer, from their next event on.
    pub fn set_min_level(&self, level: Option<Level>) {
        let v = level.map_or(OFF, |l| l as u8);
        self.inner.min_level.store(v, Ordering::Relaxed);
    }
}

impl PartialEq for Observer {
    /// The same observer (a clone), not an equal-looking one: handlers cannot be compared.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = self.inner.min_level.load(Ordering::Relaxed);
        f.debug_struct("Observer")
            .field("min_level", &level)
            .finish_non_exhaustive()
    }
}

/// A client's view: its observer (if any), its counters, and the constant fields of its events.
pub(crate) struct Observe {
    observer: Option<Observer>,
    pub(crate) counters: Counters,
    server_address: String,
    server_port: u16,
    /// The configured rate, for the rate in force after a slow-down.
    rate_per_sec: f64,
}

impl fmt::Debug for Observe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observe")
            .field("observer", &self.observer)
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// The client whose call runs on this thread (set by [`Observe::enter`]), for the code
    /// deep in the pacing and TLS layers that has no client at hand.
    static CURRENT: Cell<*const Observe> = const { Cell::new(ptr::null()) };
    /// Set while this thread runs a handler: a call into the client from there is refused.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

impl Observe {
    pub(crate) fn new(
        observer: Option<Observer>,
        server_address: &str,
        server_port: u16,
        rate_per_sec: f64,
    ) -> Self {
        Observe {
            observer,
            counters: Counters::default(),
            server_address: server_address.to_string(),
            server_port,
            rate_per_sec,
        }
    }

    /// Whether an event of `level` would reach a handler: one relaxed load, or none without an
    /// observer.
    #[inline]
    pub(crate) fn enabled(&self, level: Level) -> bool {
        match &self.observer {
            None => false,
            Some(o) => o.inner.min_level.load(Ordering::Relaxed) <= level as u8,
        }
    }

    /// Tells the handler of `kind`, with the fields `fill` sets, if its level is enabled.
    /// `fill` runs only then, so building the fields costs nothing otherwise.
    #[inline]
    pub(crate) fn emit(&self, kind: EventKind, fill: impl FnOnce(&mut Event<'_>)) {
        let level = kind.level();
        if self.enabled(level) {
            self.emit_slow(kind, level, fill);
        }
    }

    /// Like [`Observe::emit`], at a level that depends on the event (a backend lost or back).
    #[inline]
    pub(crate) fn emit_at(&self, kind: EventKind, level: Level, fill: impl FnOnce(&mut Event<'_>)) {
        if self.enabled(level) {
            self.emit_slow(kind, level, fill);
        }
    }

    #[cold]
    fn emit_slow(&self, kind: EventKind, level: Level, fill: impl FnOnce(&mut Event<'_>)) {
        let Some(observer) = &self.observer else {
            return;
        };
        if IN_HANDLER.get() {
            // An event caused by the handler itself (it dropped a client, say) is not told to
            // it again: no handler is ever re-entered on its thread.
            return;
        }
        let mut event = Event::new(kind, level, &self.server_address, self.server_port);
        fill(&mut event);
        IN_HANDLER.set(true);
        let outcome = crate::panic::catch(|| (observer.inner.handler)(&event));
        IN_HANDLER.set(false);
        if outcome.is_err() {
            self.counters.handler_failed();
        }
    }

    /// Runs `f` with this client as the current thread's (see [`current`]).
    pub(crate) fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(*const Observe);
        impl Drop for Restore {
            fn drop(&mut self) {
                CURRENT.set(self.0);
            }
        }
        let _restore = Restore(CURRENT.replace(ptr::from_ref(self)));
        f()
    }
}

/// Runs `f` with the client whose call runs on this thread, if any.
pub(crate) fn current(f: impl FnOnce(&Observe)) {
    let p = CURRENT.get();
    // SAFETY: CURRENT is non-NULL only inside `Observe::enter`, which borrows that `Observe`
    // for longer than the pointer is installed.
    if let Some(o) = unsafe { p.as_ref() } {
        f(o);
    }
}

/// Whether this thread is running an event handler (a call from there is refused).
pub(crate) fn in_handler() -> bool {
    IN_HANDLER.get()
}
