//! Batches as the dispatcher sees them: their entries handed to workers, their results
//! waiting for the caller (backpressure), stopping, and the end of a batch.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, MutexGuard};
use std::time::{Duration, Instant};

use super::{FEW, Grant, Inner, Source, State, Ticket};
use crate::avatar::Avatar;
use crate::batch::plan::Plan;
use crate::client::Client;
use crate::error::{Error, ErrorKind};

/// What a batch's entries need on a worker: the client (for its state and settings), the ids.
pub(crate) struct BatchJob {
    pub(crate) client: Arc<Client>,
    pub(crate) plan: Arc<Plan>,
    /// Requests in flight are interrupted, retries not waited for.
    pub(crate) aborted: AtomicBool,
}

/// A batch as the dispatcher sees it.
pub(super) struct BatchQueue {
    pub(super) job: Arc<BatchJob>,
    /// Where to look for the next entry to send.
    pub(super) cursor: usize,
    pub(super) retries: VecDeque<Arc<Ticket>>,
    /// Entries sent whose results the caller has not taken yet (in flight, being retried, or
    /// waiting in `completed`).
    pub(super) outstanding: usize,
    /// Entries sent whose results have not come back yet.
    pub(super) running: usize,
    pub(super) completed: VecDeque<(usize, Result<Avatar, Error>)>,
    pub(super) stopped: bool,
    /// The caller waits here for a result.
    pub(super) result_ready: Arc<Condvar>,
}

/// An entry of a batch, with its turn, for a worker.
pub(crate) struct Work {
    pub(crate) job: Arc<BatchJob>,
    pub(crate) batch: u64,
    pub(crate) index: usize,
    pub(crate) grant: Grant,
}

impl BatchQueue {
    /// Whether the batch may send a new entry (not counting retries).
    pub(super) fn ready(&self, max_in_flight: usize) -> bool {
        !self.stopped
            && (!self.retries.is_empty()
                || (self.completed.len() < FEW
                    && self.outstanding < max_in_flight
                    && self.job.plan.next_job(self.cursor).is_some()))
    }

    /// Nothing of the batch is out any more and nothing more will be sent.
    pub(super) fn finished(&self) -> bool {
        self.running == 0 && (self.stopped || self.job.plan.next_job(self.cursor).is_none())
    }
}

impl Inner {
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
        // A thread waiting for the dispatcher's threads to end (`join_idle_threads`) stops
        // waiting: they are this batch's now.
        self.gone.notify_all();
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
            }
            // Their retries are not sent after a stop: they give up.
            for t in &b.retries {
                t.woken.notify_all();
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
                // A stopped batch (or a closed dispatcher) sends nothing more: no granter for it.
                let was_full = !b.stopped
                    && (b.outstanding >= self.max_in_flight || b.completed.len() + 1 >= FEW);
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
    pub(super) fn join_idle_threads<'a>(&'a self, mut st: MutexGuard<'a, State>) {
        if !st.batches.is_empty() {
            return;
        }
        drop(st);
        self.work_ready.notify_all();
        self.granter.notify_all();
        self.turn_due.notify_all();
        st = self.lock();
        while st.workers > 0 || (st.granter_running && st.ring.is_empty()) {
            if !st.batches.is_empty() {
                // Another thread started a batch meanwhile: the threads are its now, and
                // waiting for them would wait for that batch to end.
                return;
            }
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
