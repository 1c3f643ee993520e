//! One dispatcher per client and process: every request of the client, a single call's or a
//! batch's, a first attempt or a retry, waits here for its pacing turn.
//!
//! What waits is a *source*: a single call (its thread waits on a ticket) or a batch (its next
//! entries, and the tickets of its entries being retried). Sources take turns round robin, so a
//! single call made beside a batch of thousands waits a few intervals, not behind the batch. A
//! turn is given only when one is due in the pacing and fewer requests are on the wire than the
//! in-flight target (`target.rs`); then a ticket's thread is woken, or a batch's next entry goes
//! to a worker of the client's pool (`pool.rs`), which runs it and its retries. Only one thread
//! per dispatcher, the granter, ever sleeps in the pacer; a thread finishing a request takes a
//! turn that is already due itself, without a hand-over.
//!
//! Backpressure: a batch gets no new request while more than [`FEW`] of its results wait for the
//! caller, nor while its requests sent and results not taken reach `max_in_flight`. Stopping a
//! batch sends none of its entries after the stop.
//!
//! Every wait is on a condition with a deadline, woken by what it waits for (a grant, a result,
//! a stop, a shutdown); none polls, except a call whose host must look at its own signals (its
//! stop check is asked every 50 ms).

mod pool;
pub(crate) mod target;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::avatar::Avatar;
use crate::batch::plan::Plan;
use crate::call::{Call, SLICE};
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::pacing::Pacer;
use target::{Load, Target};

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

/// What a batch's entries need on a worker: the client (for its state and settings), the ids.
pub(crate) struct BatchJob {
    pub(crate) client: Arc<Client>,
    pub(crate) plan: Arc<Plan>,
    /// Requests in flight are interrupted, retries not waited for.
    pub(crate) aborted: AtomicBool,
}

/// A batch as the dispatcher sees it.
struct BatchQueue {
    job: Arc<BatchJob>,
    /// Where to look for the next entry to send.
    cursor: usize,
    retries: VecDeque<Arc<Ticket>>,
    /// Entries sent whose results the caller has not taken yet (in flight, being retried, or
    /// waiting in `completed`).
    outstanding: usize,
    /// Entries sent whose results have not come back yet.
    running: usize,
    completed: VecDeque<(usize, Result<Avatar, Error>)>,
    stopped: bool,
    /// The caller waits here for a result.
    result_ready: Arc<Condvar>,
}

/// An entry of a batch, with its turn, for a worker.
pub(crate) struct Work {
    pub(crate) job: Arc<BatchJob>,
    pub(crate) batch: u64,
    pub(crate) index: usize,
    pub(crate) grant: Grant,
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

/// The right to have one request on the wire, from its turn until it is [`Grant::ended`]
/// (dropped unended: it counts as an attempt that said nothing of the service's load).
pub(crate) struct Grant {
    id: u64,
    at: Duration,
    inner: Arc<Inner>,
    /// The pacing turn itself was taken already; otherwise the thread that sends takes it,
    /// due by then, right before sending ([`Grant::take_turn`]): the time between taking a
    /// turn and the request leaving is what the pacing margin must cover, and a hand-over to
    /// another thread would add a wake-up to it.
    taken: bool,
    ended: bool,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant").field("id", &self.id).finish()
    }
}

/// Why no turn was had.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoTurn {
    /// The call was stopped, or the client shut down.
    Stopped,
    /// The deadline passed first.
    Timeout,
}

impl Grant {
    /// Takes the pacing turn this grant stands for, if not taken yet: it is due (the granter
    /// waited for that), so this sleeps only when another process took it first. False when
    /// `sleep` says to stop.
    pub(crate) fn take_turn(&mut self, sleep: impl FnMut(Duration) -> bool) -> bool {
        if self.taken {
            return true;
        }
        let ok = self.inner.pacer.acquire(sleep);
        self.taken = true;
        self.inner.turn_taken();
        ok
    }

    /// The attempt that had this turn ended; `load` says what it showed of the service.
    pub(crate) fn ended(mut self, load: Load) {
        self.end(load);
    }

    fn end(&mut self, load: Load) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        if !self.taken {
            self.taken = true;
            self.inner.turn_taken();
        }
        self.inner.ended(self.id, self.at, load);
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        self.end(Load::Unknown);
    }
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

impl State {
    /// Whether some source could use a turn now.
    fn anything_ready(&self) -> bool {
        self.ring.iter().any(|s| match s {
            Source::Call(_) => true,
            Source::Batch(id) => self.batches.get(id).is_some_and(|b| b.ready(self.max())),
        })
    }

    fn max(&self) -> usize {
        self.target.max()
    }

    /// The most requests on the wire now.
    fn limit(&self, inner: &Inner, now: Duration) -> usize {
        let oldest = self
            .out
            .first()
            .map_or(Duration::ZERO, |(at, _)| now.saturating_sub(*at));
        self.target.limit(inner.pacer.rate_now(), oldest)
    }

    fn has_room(&self, inner: &Inner) -> bool {
        self.in_flight < self.limit(inner, inner.now())
    }

    /// A turn is due (`taken`: and was taken): it goes to the next source in round-robin order
    /// that can use it.
    fn give_turn(&mut self, inner: &Arc<Inner>, taken: bool) -> Option<Given> {
        for _ in 0..self.ring.len() {
            let source = self.ring.pop_front()?;
            match source {
                Source::Call(ticket) => {
                    self.give_ticket(inner, &ticket, taken);
                    return Some(Given::Ticket);
                }
                Source::Batch(id) => {
                    self.ring.push_back(Source::Batch(id));
                    let max = self.max();
                    let Some(b) = self.batches.get_mut(&id) else {
                        continue;
                    };
                    if let Some(ticket) = b.retries.pop_front() {
                        self.give_ticket(inner, &ticket, taken);
                        return Some(Given::Ticket);
                    }
                    if !b.ready(max) {
                        continue;
                    }
                    let Some(index) = b.job.plan.next_job(b.cursor) else {
                        continue;
                    };
                    b.cursor = index + 1;
                    b.outstanding += 1;
                    b.running += 1;
                    let job = b.job.clone();
                    let grant = self.grant(inner, taken);
                    return Some(Given::Work(Work {
                        job,
                        batch: id,
                        index,
                        grant,
                    }));
                }
            }
        }
        None
    }

    /// One more request on the wire: its grant's id and time.
    fn count_grant(&mut self, inner: &Inner) -> (u64, Duration) {
        let id = self.next_id;
        self.next_id += 1;
        let at = inner.now();
        self.in_flight += 1;
        self.out.insert((at, id));
        (id, at)
    }

    /// A grant whose turn is `taken` already or not (see [`Grant::take_turn`]).
    fn grant(&mut self, inner: &Arc<Inner>, taken: bool) -> Grant {
        let (id, at) = self.count_grant(inner);
        if !taken {
            self.untaken += 1;
        }
        Grant {
            id,
            at,
            inner: inner.clone(),
            taken,
            ended: false,
        }
    }

    /// The turn goes to a waiting thread, which makes its `Grant` from the ticket (and takes
    /// the turn itself).
    fn give_ticket(&mut self, inner: &Inner, ticket: &Ticket, taken: bool) {
        let (id, at) = self.count_grant(inner);
        if !taken {
            self.untaken += 1;
        }
        ticket.taken.store(taken, Ordering::Relaxed);
        ticket.at.store(
            u64::try_from(at.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        ticket.grant.store(id, Ordering::Relaxed);
        ticket.woken.notify_one();
    }
}

/// What a turn was given to.
enum Given {
    /// A waiting thread, woken.
    Ticket,
    /// A batch's entry, for a worker.
    Work(Work),
}

impl BatchQueue {
    /// Whether the batch may send a new entry (not counting retries).
    fn ready(&self, max_in_flight: usize) -> bool {
        !self.retries.is_empty()
            || (!self.stopped
                && self.completed.len() < FEW
                && self.outstanding < max_in_flight
                && self.job.plan.next_job(self.cursor).is_some())
    }

    /// Nothing of the batch is out any more and nothing more will be sent.
    fn finished(&self) -> bool {
        self.running == 0 && (self.stopped || self.job.plan.next_job(self.cursor).is_none())
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

    /// A grant's turn was taken (or never will be): the granter may give the next.
    fn turn_taken(&self) {
        let mut st = self.lock();
        st.untaken = st.untaken.saturating_sub(1);
        drop(st);
        self.granter.notify_one();
    }

    fn ended(&self, id: u64, at: Duration, load: Load) {
        let now = self.now();
        let mut st = self.lock();
        let in_flight = st.in_flight;
        st.in_flight = in_flight.saturating_sub(1);
        st.out.remove(&(at, id));
        st.target
            .ended(now.saturating_sub(at), load, in_flight, now);
        drop(st);
        self.granter.notify_one();
    }

    /// A turn for the calling thread: at once when nothing else waits, a turn is due and there
    /// is room on the wire; otherwise in its round-robin place. `deadline` bounds the wait;
    /// `call`'s stop check is asked every 50 ms if `call.polls()`, and a shutdown or an abort
    /// wakes the wait otherwise. `batch` is the batch whose entry is retried, if any.
    pub(crate) fn turn(
        self: &Arc<Self>,
        call: &Call<'_>,
        deadline: Option<Instant>,
        batch: Option<u64>,
    ) -> Result<Grant, NoTurn> {
        let mut st = self.lock();
        if st.closed || (!call.polls() && call.should_stop()) {
            return Err(NoTurn::Stopped);
        }
        if batch.is_none() && !st.anything_ready() && st.has_room(self) {
            drop(st);
            if self.pacer.acquire(|_| false) {
                return Ok(self.lock().grant(self, true));
            }
            st = self.lock();
        }
        let ticket = Arc::new(Ticket {
            grant: AtomicU64::new(0),
            at: AtomicU64::new(0),
            taken: AtomicBool::new(false),
            woken: Condvar::new(),
        });
        match batch.and_then(|id| st.batches.get_mut(&id)) {
            Some(b) => b.retries.push_back(ticket.clone()),
            None => st.ring.push_back(Source::Call(ticket.clone())),
        }
        if let Err(st) = self.wake_granter(st) {
            drop(st);
            self.withdraw(&ticket, batch);
            return Err(NoTurn::Stopped);
        }
        let mut st = self.lock();
        loop {
            let id = ticket.grant.load(Ordering::Relaxed);
            if id != 0 {
                let at = Duration::from_nanos(ticket.at.load(Ordering::Relaxed));
                return Ok(Grant {
                    id,
                    at,
                    inner: self.clone(),
                    taken: ticket.taken.load(Ordering::Relaxed),
                    ended: false,
                });
            }
            let stop = if call.polls() {
                drop(st);
                let stop = call.should_stop();
                st = self.lock();
                stop
            } else {
                call.should_stop()
            };
            let now = Instant::now();
            let why = if st.closed || stop {
                Some(NoTurn::Stopped)
            } else if deadline.is_some_and(|d| now >= d) {
                Some(NoTurn::Timeout)
            } else {
                None
            };
            if let Some(why) = why {
                // Granted between the look above and now? Then the grant is this call's.
                if ticket.grant.load(Ordering::Relaxed) != 0 {
                    continue;
                }
                drop(st);
                self.withdraw(&ticket, batch);
                return Err(why);
            }
            let mut wait = deadline.map_or(Duration::from_secs(3600), |d| d - now);
            if call.polls() {
                wait = wait.min(SLICE);
            }
            st = ticket
                .woken
                .wait_timeout(st, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Takes a ticket back. Granted meanwhile (the lock was let go between the look and
    /// this), the grant is handed back unused.
    fn withdraw(self: &Arc<Self>, ticket: &Arc<Ticket>, batch: Option<u64>) {
        let mut st = self.lock();
        remove_ticket(&mut st, ticket, batch);
        let granted = ticket.grant.load(Ordering::Relaxed);
        if st.ring.is_empty() {
            self.join_idle_threads(st);
        } else {
            drop(st);
            self.turn_due.notify_all();
        }
        if granted != 0 {
            drop(Grant {
                id: granted,
                at: Duration::from_nanos(ticket.at.load(Ordering::Relaxed)),
                inner: self.clone(),
                taken: ticket.taken.load(Ordering::Relaxed),
                ended: false,
            });
        }
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

    /// Starts a batch of `job`'s entries: its id with the dispatcher. Refused only when the
    /// granter thread cannot be started.
    pub(crate) fn add_batch(self: &Arc<Self>, job: Arc<BatchJob>) -> Result<u64, Error> {
        let mut st = self.lock();
        let id = st.next_id;
        st.next_id += 1;
        let closed = st.closed;
        st.batches.insert(
            id,
            BatchQueue {
                job,
                cursor: 0,
                retries: VecDeque::new(),
                outstanding: 0,
                running: 0,
                completed: VecDeque::new(),
                stopped: closed,
                result_ready: Arc::new(Condvar::new()),
            },
        );
        st.ring.push_back(Source::Batch(id));
        if let Err(mut st) = self.wake_granter(st) {
            st.batches.remove(&id);
            st.ring
                .retain(|s| !matches!(s, Source::Batch(b) if *b == id));
            return Err(Error::new(
                ErrorKind::Network,
                "cannot start a thread for the batch",
            ));
        }
        Ok(id)
    }

    /// The batch sends no new entry; with `abort`, its requests in flight are interrupted too
    /// (their threads are woken to see it).
    pub(crate) fn stop_batch(&self, id: u64, abort: bool) {
        let mut st = self.lock();
        if let Some(b) = st.batches.get_mut(&id) {
            b.stopped = true;
            if abort {
                b.job.aborted.store(true, Ordering::Release);
                for t in &b.retries {
                    t.woken.notify_all();
                }
            }
            b.result_ready.notify_all();
        }
        drop(st);
        if abort {
            self.alarm.notify_all();
        }
    }

    /// A worker's entry has its result.
    pub(crate) fn complete(&self, batch: u64, index: usize, result: Result<Avatar, Error>) {
        let mut st = self.lock();
        if let Some(b) = st.batches.get_mut(&batch) {
            b.running -= 1;
            b.completed.push_back((index, result));
            b.result_ready.notify_all();
        }
    }

    /// The batch's next result, waiting up to `wait`. `Err(true)`: none will come (every
    /// entry sent has been handed out and nothing more will be sent); `Err(false)`: none yet.
    pub(crate) fn take_result(
        self: &Arc<Self>,
        batch: u64,
        wait: Duration,
    ) -> Result<(usize, Result<Avatar, Error>), bool> {
        let end = Instant::now().checked_add(wait);
        let mut st = self.lock();
        loop {
            let Some(b) = st.batches.get_mut(&batch) else {
                return Err(true);
            };
            if let Some(r) = b.completed.pop_front() {
                let was_full = b.outstanding >= self.max_in_flight || b.completed.len() + 1 >= FEW;
                b.outstanding -= 1;
                if was_full {
                    // The granter may have ended while the batch was held back.
                    let _ = self.wake_granter(st);
                }
                return Ok(r);
            }
            if b.finished() {
                return Err(true);
            }
            let left = end.map_or(Duration::from_secs(3600), |e| {
                e.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                return Err(false);
            }
            let cv = b.result_ready.clone();
            st = cv
                .wait_timeout(st, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Forgets a batch once nothing of it runs: waits (woken by each result) until its entries
    /// in flight are back; their results are dropped.
    pub(crate) fn remove_batch(&self, batch: u64) {
        let mut st = self.lock();
        loop {
            let Some(b) = st.batches.get_mut(&batch) else {
                return;
            };
            b.stopped = true;
            b.completed.clear();
            if b.running == 0 {
                break;
            }
            let cv = b.result_ready.clone();
            st = cv.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        st.batches.remove(&batch);
        st.ring
            .retain(|s| !matches!(s, Source::Batch(b) if *b == batch));
        self.join_idle_threads(st);
    }

    /// With no batch left (and, for the granter, nothing waiting at all), the dispatcher's
    /// threads end: woken, waited for and joined, so that what ended leaves no thread behind.
    fn join_idle_threads<'a>(&'a self, mut st: MutexGuard<'a, State>) {
        if !st.batches.is_empty() {
            return;
        }
        drop(st);
        self.work_ready.notify_all();
        self.granter.notify_all();
        self.turn_due.notify_all();
        st = self.lock();
        while st.workers > 0 || (st.granter_running && st.ring.is_empty()) {
            st = self.gone.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        let mut ended = std::mem::take(&mut st.worker_threads);
        if !st.granter_running {
            ended.extend(st.granter_thread.take());
        }
        drop(st);
        for handle in ended {
            let _ = handle.join();
        }
    }
}

/// Takes a ticket out of its queue; the caller wakes the granter (`Inner::turn_due`), which
/// then finds nobody waiting and takes no turn.
fn remove_ticket(st: &mut State, ticket: &Arc<Ticket>, batch: Option<u64>) {
    let same = |t: &Arc<Ticket>| Arc::ptr_eq(t, ticket);
    match batch.and_then(|id| st.batches.get_mut(&id)) {
        Some(b) => b.retries.retain(|t| !same(t)),
        None => st.ring.retain(|s| !matches!(s, Source::Call(t) if same(t))),
    }
}
