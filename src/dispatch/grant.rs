//! Turns and grants: who gets the next turn (round robin over the sources), the waiting of a
//! thread for its turn (a ticket), and the grant that stands for one request on the wire.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar};
use std::time::{Duration, Instant};

use super::target::Load;
use super::{Inner, Source, State, Ticket, Work};
use crate::call::{Call, SLICE};

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

impl State {
    /// Whether some source could use a turn now.
    pub(super) fn anything_ready(&self) -> bool {
        self.ring.iter().any(|s| match s {
            Source::Call(_) => true,
            Source::Batch(id) => self.batches.get(id).is_some_and(|b| b.ready(self.max())),
        })
    }

    pub(super) fn max(&self) -> usize {
        self.target.max()
    }

    /// The most requests on the wire now.
    pub(super) fn limit(&self, inner: &Inner, now: Duration) -> usize {
        let oldest = self
            .out
            .first()
            .map_or(Duration::ZERO, |(at, _)| now.saturating_sub(*at));
        self.target.limit(inner.pacer.rate_now(), oldest)
    }

    pub(super) fn has_room(&self, inner: &Inner) -> bool {
        self.in_flight < self.limit(inner, inner.now())
    }

    /// Whether `batch` (the batch whose entry asks for a turn to retry) was stopped: a retry
    /// is a new request, and a stopped batch sends none.
    fn batch_stopped(&self, batch: Option<u64>) -> bool {
        batch
            .and_then(|id| self.batches.get(&id))
            .is_some_and(|b| b.stopped)
    }

    /// A turn is due (`taken`: and was taken): it goes to the next source in round-robin order
    /// that can use it.
    pub(super) fn give_turn(&mut self, inner: &Arc<Inner>, taken: bool) -> Option<Given> {
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
                    if b.stopped {
                        // Its retries give up (woken by the stop), its entries are not sent.
                        continue;
                    }
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
    pub(super) fn count_grant(&mut self, inner: &Inner) -> (u64, Duration) {
        let id = self.next_id;
        self.next_id += 1;
        let at = inner.now();
        self.in_flight += 1;
        self.out.insert((at, id));
        (id, at)
    }

    /// A grant whose turn is `taken` already or not (see [`Grant::take_turn`]).
    pub(super) fn grant(&mut self, inner: &Arc<Inner>, taken: bool) -> Grant {
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
    pub(super) fn give_ticket(&mut self, inner: &Inner, ticket: &Ticket, taken: bool) {
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
pub(super) enum Given {
    /// A waiting thread, woken.
    Ticket,
    /// A batch's entry, for a worker.
    Work(Work),
}

impl Inner {
    /// A grant's turn was taken (or never will be): the granter may give the next.
    pub(super) fn turn_taken(&self) {
        let mut st = self.lock();
        st.untaken = st.untaken.saturating_sub(1);
        drop(st);
        self.granter.notify_one();
    }

    pub(super) fn ended(&self, id: u64, at: Duration, load: Load) {
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
        if st.closed || (!call.polls() && call.should_stop()) || st.batch_stopped(batch) {
            return Err(NoTurn::Stopped);
        }
        if batch.is_none() && !st.anything_ready() && st.has_room(self) {
            // The place on the wire is held while the turn is tried for: calls made at once
            // would otherwise all see the same last place free.
            st.in_flight += 1;
            drop(st);
            let due = self.pacer.acquire(|_| false);
            st = self.lock();
            st.in_flight -= 1;
            if due {
                return Ok(st.grant(self, true));
            }
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
            let why = if st.closed || stop || st.batch_stopped(batch) {
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
