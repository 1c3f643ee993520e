//! One dispatcher per client and process: every request of the client, a single call's or a
//! batch's, a first attempt or a retry, waits here for its pacing turn.
//!
//! What waits is a *source*: a single call (its thread waits on a ticket) or a batch (its next
//! entries, and the tickets of its entries being retried). Sources take turns round robin, so a
//! single call made beside a batch of thousands waits a few intervals, not behind the batch. A
//! turn is given only when one is due in the pacing and fewer requests are on the wire than the
//! in-flight target (`target.rs`); then a ticket's thread is woken, or a batch's next entry goes
//! to a worker of the client's pool (`pool.rs`), which runs it and its retries. Only one thread
//! per dispatcher, the granter, sleeps until a turn is due; the thread that sends takes it; a
//! thread finishing a request takes a turn that is already due itself, without a hand-over.
//!
//! Here: the dispatcher's state and its wake-ups. `grant.rs`: who gets a turn, a thread's wait
//! for one, the grant. `batches.rs`: batches' entries, results, backpressure and end.
//!
//! Backpressure: a batch gets no new request while [`FEW`] of its results wait for the
//! caller, nor while its requests sent and results not taken reach `max_in_flight`. Stopping a
//! batch sends none of its entries after the stop.
//!
//! Every wait is on a condition with a deadline, woken by what it waits for (a grant, a result,
//! a stop, a shutdown); none polls, except a call whose host must look at its own signals (its
//! stop check is asked every 50 ms).

mod batches;
mod grant;
mod pool;
pub(crate) mod target;

use batches::BatchQueue;
pub(crate) use batches::{BatchJob, Work};
use grant::Given;
pub(crate) use grant::{Grant, NoTurn};

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::pacing::Pacer;
use target::Target;

/// How many of a batch's results may wait for its caller before it gets no new request.
pub(crate) const FEW: usize = 8;

/// A client's dispatcher in one process. Dropping it (with the client's state) ends its
/// threads once their work is done.
pub(crate) struct Dispatcher {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    state: Mutex<State>,
    /// The granter waits here for something to give a turn to, or for room on the wire.
    granter: Condvar,
    /// The granter's sleep until a turn is due: woken only by a close.
    turn_due: Condvar,
    /// Idle workers wait here.
    work_ready: Condvar,
    /// A thread of the dispatcher ended.
    gone: Condvar,
    /// Sleeps of calls that need not poll (backoffs, Redis waits): woken by a shutdown or a
    /// batch's abort, whose stop checks they then ask.
    alarm: Condvar,
    pub(crate) pacer: Pacer,
    max_in_flight: usize,
    /// The clock the in-flight times are on.
    epoch: Instant,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}

/// A thread waiting for a turn: a single call's, or a worker's for its entry's retry.
struct Ticket {
    /// The grant's id once given (0: not yet), and when. Written under the state's lock.
    grant: AtomicU64,
    at: AtomicU64,
    /// The turn was taken for it already.
    taken: AtomicBool,
    woken: Condvar,
}

/// What waits for turns, in round-robin order.
enum Source {
    Call(Arc<Ticket>),
    Batch(u64),
}

struct State {
    ring: VecDeque<Source>,
    batches: HashMap<u64, BatchQueue>,
    in_flight: usize,
    /// When each request in flight got its turn, and its grant id.
    out: BTreeSet<(Duration, u64)>,
    next_id: u64,
    target: Target,
    work: VecDeque<Work>,
    workers: usize,
    idle_workers: usize,
    granter_running: bool,
    /// The threads started, to be joined when they end for want of work (so that a batch or a
    /// call that ended leaves no thread behind): the granter's, and the workers'.
    granter_thread: Option<JoinHandle<()>>,
    worker_threads: Vec<JoinHandle<()>>,
    /// Grants given whose turn the recipient has not taken yet: the granter gives the next
    /// turn only once this one is taken.
    untaken: usize,
    /// The client was shut down, or its state dropped: nothing more is granted.
    closed: bool,
}

impl Dispatcher {
    pub(crate) fn new(pacer: Pacer, max_in_flight: u32) -> Dispatcher {
        let max_in_flight = max_in_flight.max(1) as usize;
        let paced = pacer.is_paced();
        Dispatcher {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    ring: VecDeque::new(),
                    batches: HashMap::new(),
                    in_flight: 0,
                    out: BTreeSet::new(),
                    next_id: 1,
                    target: Target::new(max_in_flight, paced),
                    work: VecDeque::new(),
                    workers: 0,
                    idle_workers: 0,
                    granter_running: false,
                    granter_thread: None,
                    worker_threads: Vec::new(),
                    untaken: 0,
                    closed: false,
                }),
                granter: Condvar::new(),
                turn_due: Condvar::new(),
                work_ready: Condvar::new(),
                gone: Condvar::new(),
                alarm: Condvar::new(),
                pacer,
                max_in_flight,
                epoch: Instant::now(),
            }),
        }
    }

    pub(crate) fn pacer(&self) -> &Pacer {
        &self.inner.pacer
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// Nothing more is granted; every wait is woken (the client was shut down).
    pub(crate) fn close(&self) {
        self.inner.close();
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.inner.close();
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        for s in &st.ring {
            if let Source::Call(t) = s {
                t.woken.notify_all();
            }
        }
        for b in st.batches.values_mut() {
            b.stopped = true;
            for t in &b.retries {
                t.woken.notify_all();
            }
            b.result_ready.notify_all();
        }
        drop(st);
        self.granter.notify_all();
        self.turn_due.notify_all();
        self.work_ready.notify_all();
        self.alarm.notify_all();
    }

    /// Makes sure the granter runs and looks at the state again.
    fn wake_granter<'a>(
        self: &'a Arc<Self>,
        mut st: MutexGuard<'a, State>,
    ) -> Result<(), MutexGuard<'a, State>> {
        if !st.granter_running {
            st.granter_running = true;
            let inner = self.clone();
            let spawned = std::thread::Builder::new()
                .name("greenapi-dispatch".into())
                .spawn(move || pool::grant_turns(&inner));
            match spawned {
                // The one before ended (or is ending): its handle is dropped, detaching it.
                Ok(handle) => st.granter_thread = Some(handle),
                Err(_) => {
                    st.granter_running = false;
                    return Err(st);
                }
            }
        }
        drop(st);
        self.granter.notify_one();
        Ok(())
    }

    /// Sleeps up to `d`, woken early by a shutdown or an abort; false when `stop` says to.
    pub(crate) fn sleep(&self, d: Duration, stop: &dyn Fn() -> bool) -> bool {
        let end = Instant::now().checked_add(d);
        let mut st = self.lock();
        loop {
            if st.closed || stop() {
                return false;
            }
            let now = Instant::now();
            let left = end.map_or(Duration::from_secs(3600), |e| {
                e.saturating_duration_since(now)
            });
            if left.is_zero() {
                return true;
            }
            st = self
                .alarm
                .wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}
