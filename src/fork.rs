//! Everything about `fork()`: telling a forked child from its parent, and what a child does
//! with the state its parent's threads left behind.
//!
//! The rules: a child never uses a connection, a socket or a lock of its parent (another thread
//! of the parent may have been in the middle of using it at the fork, and that thread does not
//! exist in the child); it never closes anything politely (a `shutdown` or TLS close_notify would
//! end the parent's connection too); and it never waits on a lock that may have been held at
//! the fork. So per-process state sits in a [`PerProcess`], which a child replaces at its first
//! use, abandoning the parent's: only the child's copies of the parent's socket descriptors are
//! closed ([`Sockets::abandon`]); the rest is kept, reachable, never freed.

use std::any::Any;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// The sockets a client's connections use, so that a forked child can close its copies of them
/// without touching the connections themselves (see [`Sockets::abandon`]).
#[derive(Default)]
pub(crate) struct Sockets {
    open: Mutex<Vec<Socket>>,
}

/// A socket of this client and what identifies it beyond its descriptor number, which the
/// process may close and reuse for something else.
struct Socket {
    stream: Weak<TcpStream>,
    identity: Option<(libc::dev_t, libc::ino_t)>,
}

/// The device and inode behind a descriptor: unique to one socket while it exists.
fn identity(fd: libc::c_int) -> Option<(libc::dev_t, libc::ino_t)> {
    // SAFETY: all-zero bytes are a valid `stat`, which fstat fills in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a plain query on a descriptor number; a closed one gives an error, not UB.
    (unsafe { libc::fstat(fd, &raw mut st) } == 0).then_some((st.st_dev, st.st_ino))
}

impl Sockets {
    pub(crate) fn add(&self, s: &Arc<TcpStream>) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|w| w.stream.strong_count() > 0);
        open.push(Socket {
            stream: Arc::downgrade(s),
            identity: identity(s.as_raw_fd()),
        });
    }

    /// In a forked child: closes this process's descriptors of the parent's sockets.
    ///
    /// `close` only drops this process's reference: the parent's connection stays up, where
    /// `shutdown` or a TLS close_notify would end it for the parent too. The streams themselves
    /// are leaked, never dropped, because their owners (ureq's pool, TLS state) are abandoned
    /// as they were at the fork, possibly in the middle of an operation of another thread.
    /// If the fork caught another thread holding the list's lock, the descriptors are left open
    /// rather than waiting forever for a thread that does not exist in the child.
    ///
    /// This runs at the child's first use of the client, not at the fork, and the child may
    /// have closed its inherited descriptors and opened files of its own meanwhile (a daemon
    /// does): a number is closed only while it still refers to the very socket the parent had
    /// (same device and inode), never to what the child put there.
    pub(crate) fn abandon(&self) {
        let Ok(open) = self.open.try_lock() else {
            return;
        };
        for socket in open.iter() {
            let Some(stream) = socket.stream.upgrade() else {
                continue;
            };
            let fd = stream.as_raw_fd();
            if socket.identity.is_some() && identity(fd) == socket.identity {
                // SAFETY: the descriptor is still the parent's socket, whose stream is never
                // used or dropped again in this process.
                unsafe { libc::close(fd) };
            }
            std::mem::forget(stream);
        }
    }
}

/// Forks this process is away from the one that first made a client: bumped in every forked
/// child by a `pthread_atfork` handler.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Whether the handler is in place.
static AT_FORK: OnceNoWait = OnceNoWait::new();

extern "C" fn forked_child() {
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// Tells a forked child from its parent: a value that differs in a child from what it was in
/// the parent at the fork. Every call asks, so it is an atomic load, not `getpid` (a system
/// call since glibc stopped caching the pid). A fork that bypasses libc's `fork` (a raw
/// `clone`) runs no handler; a child made that way must exec before it uses a client, as a
/// `vfork` child must. Should the handler not install (no memory), or a fork have caught
/// another thread registering it, the pid is used instead.
pub(crate) fn process_generation() -> u64 {
    // SAFETY: registers a handler that only bumps an atomic, which is async-signal-safe as a
    // handler that runs in a forked child must be.
    let registered =
        AT_FORK.run(|| unsafe { libc::pthread_atfork(None, None, Some(forked_child)) == 0 });
    if registered == Some(true) {
        GENERATION.load(Ordering::Acquire)
    } else {
        (1 << 63) | u64::from(std::process::id())
    }
}

/// A one-time initialisation that a forked child never waits for. `std::sync::Once` (and
/// `OnceLock`) would: a child forked while another thread of its parent ran the initialiser
/// sees it running forever, since that thread is not in the child.
pub(crate) struct OnceNoWait {
    /// `NONE`, `RUNNING`, or `DONE | result`.
    state: AtomicU32,
    /// The process whose thread runs the initialiser, while `RUNNING`.
    pid: AtomicU32,
}

impl OnceNoWait {
    const NONE: u32 = 0;
    const RUNNING: u32 = 1;
    const DONE: u32 = 2;

    pub(crate) const fn new() -> OnceNoWait {
        OnceNoWait {
            state: AtomicU32::new(Self::NONE),
            pid: AtomicU32::new(0),
        }
    }

    /// `f`'s result, running it if no thread did yet. `None` in a child forked while a thread
    /// of the parent ran it: it never ends in this process, and is not waited for.
    pub(crate) fn run(&self, f: impl FnOnce() -> bool) -> Option<bool> {
        let state = self.state.load(Ordering::Acquire);
        if state >= Self::DONE {
            return Some(state > Self::DONE);
        }
        self.run_cold(f)
    }

    #[cold]
    fn run_cold(&self, f: impl FnOnce() -> bool) -> Option<bool> {
        let me = std::process::id();
        let won = self
            .state
            .compare_exchange(
                Self::NONE,
                Self::RUNNING,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok();
        if won {
            self.pid.store(me, Ordering::Release);
            let result = f();
            self.state
                .store(Self::DONE + u32::from(result), Ordering::Release);
            return Some(result);
        }
        loop {
            let state = self.state.load(Ordering::Acquire);
            if state >= Self::DONE {
                return Some(state > Self::DONE);
            }
            let running_in = self.pid.load(Ordering::Acquire);
            if running_in != 0 && running_in != me {
                return None;
            }
            // Another thread of this process runs it: a few instructions away.
            std::thread::yield_now();
        }
    }
}

/// A process-wide value made lazily, and made again in a forked child, without a lock: a
/// child never waits for a thread of its parent, and never uses what that thread may have been
/// changing (a rustls session cache behind a mutex, say). What the parent had is kept,
/// reachable, never freed.
pub(crate) struct ProcessLocal<T: Send + Sync + 'static> {
    current: AtomicPtr<Made<T>>,
}

impl<T: Send + Sync + 'static> ProcessLocal<T> {
    pub(crate) const fn new() -> ProcessLocal<T> {
        ProcessLocal {
            current: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// This process's value, made by `make` at this process's first use.
    pub(crate) fn get(&self, make: impl FnOnce() -> T) -> &T {
        let generation = process_generation();
        let p = self.current.load(Ordering::Acquire);
        // SAFETY: `current` is NULL or a live value: freed only in `Drop`, and one that is
        // replaced (after a fork) is kept, never freed.
        if let Some(made) = unsafe { p.as_ref() }
            && made.generation == generation
        {
            return &made.value;
        }
        let fresh = Box::into_raw(Box::new(Made {
            generation,
            value: make(),
        }));
        match self
            .current
            .compare_exchange(p, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                if !p.is_null() {
                    // SAFETY: a parent's value, which no thread of this process uses.
                    keep(unsafe { Box::from_raw(p) });
                }
                // SAFETY: just installed, live until `Drop`.
                unsafe { &(*fresh).value }
            }
            Err(theirs) => {
                // Another thread of this process made one first: use that one.
                // SAFETY: never shared.
                drop(unsafe { Box::from_raw(fresh) });
                // SAFETY: installed by that thread, live until `Drop`.
                unsafe { &(*theirs).value }
            }
        }
    }
}

impl<T: Send + Sync + 'static> Drop for ProcessLocal<T> {
    fn drop(&mut self) {
        let p = *self.current.get_mut();
        if p.is_null() {
            return;
        }
        // SAFETY: a pointer from `Box::into_raw`; `&mut self` means nothing is using it.
        let made = unsafe { Box::from_raw(p) };
        if made.generation != process_generation() {
            keep(made);
        }
    }
}

/// State that belongs to one process, made again in a forked child.
pub(crate) trait Inherited: Send + Sync + 'static {
    /// In a forked child, just before the parent's state is abandoned: drop this process's
    /// share of it without touching the parent's (see the module doc).
    fn abandon(&self);
}

/// A value of type `T` for the process that uses it: the one it was made in, or in a forked
/// child a fresh one, made by the `make` given to [`PerProcess::get`] at the child's first use.
pub(crate) struct PerProcess<T: Inherited> {
    /// Always a pointer from `Box::into_raw`: freed only in `Drop`, and one that is replaced
    /// (after a fork) is abandoned, never freed.
    current: AtomicPtr<Made<T>>,
}

struct Made<T> {
    /// The [`process_generation`] it was made in.
    generation: u64,
    value: T,
}

impl<T: Inherited> PerProcess<T> {
    pub(crate) fn new(value: T) -> PerProcess<T> {
        let made = Box::new(Made {
            generation: process_generation(),
            value,
        });
        PerProcess {
            current: AtomicPtr::new(Box::into_raw(made)),
        }
    }

    /// This process's value. `fresh` is called with it when it was just made for this child.
    pub(crate) fn get(&self, make: impl Fn() -> T, fresh: impl FnOnce(&T)) -> &T {
        let p = self.current.load(Ordering::Acquire);
        // SAFETY: `current` always holds a live value (see the field).
        let made = unsafe { &*p };
        if made.generation == process_generation() {
            &made.value
        } else {
            self.replace(p, make, fresh)
        }
    }

    #[cold]
    fn replace(&self, old: *mut Made<T>, make: impl Fn() -> T, fresh: impl FnOnce(&T)) -> &T {
        let made = Box::into_raw(Box::new(Made {
            generation: process_generation(),
            value: make(),
        }));
        match self
            .current
            .compare_exchange(old, made, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                // SAFETY: `old` was the parent's; no thread of this process uses it.
                abandon(unsafe { Box::from_raw(old) });
                // SAFETY: just installed, live until `Drop`.
                let value = unsafe { &(*made).value };
                fresh(value);
                value
            }
            Err(theirs) => {
                // Another thread of this child replaced it first: use that one.
                // SAFETY: never shared.
                drop(unsafe { Box::from_raw(made) });
                // SAFETY: installed by that thread, live until `Drop`.
                unsafe { &(*theirs).value }
            }
        }
    }
}

impl<T: Inherited> Drop for PerProcess<T> {
    fn drop(&mut self) {
        // SAFETY: `current` always holds a pointer from `Box::into_raw`, and `&mut self` means
        // nothing is using it.
        let made = unsafe { Box::from_raw(*self.current.get_mut()) };
        if made.generation == process_generation() {
            drop(made);
        } else {
            abandon(made);
        }
    }
}

/// The per-process states of parent processes, abandoned in forked children. A lock-free list:
/// a mutex could have been held by a thread of the parent at the fork, and would then stay
/// locked forever in the child. Kept reachable so that leak checkers (valgrind,
/// LeakSanitizer) in the child see memory held on purpose, not lost.
static ABANDONED: AtomicPtr<Abandoned> = AtomicPtr::new(std::ptr::null_mut());

struct Abandoned {
    _kept: Box<dyn Any + Send>,
    next: AtomicPtr<Abandoned>,
}

fn abandon<T: Inherited>(made: Box<Made<T>>) {
    made.value.abandon();
    keep(made);
}

/// Keeps `value` reachable and never drops it: in a forked child, for what a thread of the
/// parent may have been using at the fork.
pub(crate) fn keep_forever<T: Send + 'static>(value: T) {
    keep(Box::new(value));
}

/// Puts a parent's value on the list of [`ABANDONED`] ones.
fn keep(made: Box<dyn Any + Send>) {
    let node = Box::into_raw(Box::new(Abandoned {
        _kept: made,
        next: AtomicPtr::new(std::ptr::null_mut()),
    }));
    let mut head = ABANDONED.load(Ordering::Acquire);
    loop {
        // SAFETY: `node` is ours until the exchange below publishes it.
        unsafe { (*node).next.store(head, Ordering::Relaxed) };
        match ABANDONED.compare_exchange_weak(head, node, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => break,
            Err(now) => head = now,
        }
    }
}
