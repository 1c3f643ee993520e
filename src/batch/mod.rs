//! Many chat ids at once: a batch's entries are sent by the client's dispatcher (its pacing
//! turns, round robin with every other caller; its worker pool; see `dispatch/`), and its
//! results handed back one by one as they complete.
//!
//! The calling thread only collects: it waits for the next result (up to a deadline, so a host
//! can check its own signals or progress between waits) and decides when to stop. Stopping is
//! two things: [`Batch::stop`] lets the requests in flight finish and starts no new one;
//! [`Batch::abort`] also interrupts those in flight. Entries never asked come back as
//! [`ErrorKind::Cancelled`], made as they are handed out, so every entry gets exactly one
//! result. No new request starts while a few results wait for the caller (backpressure).

pub(crate) mod plan;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::avatar::Avatar;
use crate::client::Client;
use crate::dispatch::{BatchJob, Inner};
use crate::error::{Error, ErrorKind};
use crate::fork::process_generation;
use crate::observe::EventKind;
use plan::Plan;

/// Most chat ids one batch takes: more is almost certainly a mistake (a service limited to 10
/// requests per second needs over a day for this many).
pub const MAX_BATCH: usize = 1_000_000;

/// One result of a batch.
#[derive(Debug)]
pub struct Item {
    /// The entry's position in the chat ids the batch was given.
    pub index: usize,
    /// The chat id as given.
    pub chat_id: String,
    /// The answer, or why there is none.
    pub result: Result<Avatar, Error>,
}

/// What [`Batch::next_timeout`] found.
#[derive(Debug)]
pub enum Next {
    /// A result.
    Item(Item),
    /// Nothing completed within the wait; ask again.
    Pending,
    /// Every entry has had its result.
    Done,
}

/// A running batch; see the module doc. Dropping it aborts it and waits for its requests in
/// flight to end.
pub struct Batch {
    job: Arc<BatchJob>,
    /// The dispatcher of the process the batch was started in.
    dispatch: Arc<Inner>,
    id: u64,
    /// Entries sent whose result was handed out.
    answered: Vec<bool>,
    /// Where to look for the next refused entry.
    refused_from: usize,
    /// The next duplicate to hand a copy of the last result to.
    copies: Option<(usize, Result<Avatar, Error>)>,
    /// Once no more results come: where to look for the next entry never asked, and why.
    cancel_from: Option<(usize, &'static str)>,
    total: usize,
    done: usize,
    /// Entries handed out with an answer, and with an error.
    with_answer: u64,
    with_error: u64,
    /// `batch.finished` was told.
    told_finished: bool,
    /// The [`process_generation`] the batch was started in: its requests run only there.
    generation: u64,
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("total", &self.total)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a batch for `chat_ids` (see the module doc of [`Batch`]). Each id is checked as
    /// [`Client::get_avatar`] does; one that is refused gives its entry an
    /// [`ErrorKind::InvalidArgument`] result and is not sent. Ids equal after normalisation
    /// (`79001234567` and `79001234567@c.us`) are asked once.
    ///
    /// Refused as a whole only when there are more than [`MAX_BATCH`] ids.
    pub fn batch(self: &Arc<Self>, chat_ids: Vec<String>) -> Result<Batch, Error> {
        if chat_ids.len() > MAX_BATCH {
            return Err(Error::invalid(format!(
                "a batch takes at most {MAX_BATCH} chat ids"
            )));
        }
        self.batch_of(Plan::new(chat_ids))
    }

    /// Starts a batch of the entries of `plan`.
    pub(crate) fn batch_of(self: &Arc<Self>, plan: Plan) -> Result<Batch, Error> {
        if plan.len() > MAX_BATCH {
            return Err(Error::invalid(format!(
                "a batch takes at most {MAX_BATCH} chat ids"
            )));
        }
        let total = plan.len();
        let job = Arc::new(BatchJob {
            client: self.clone(),
            plan: Arc::new(plan),
            aborted: AtomicBool::new(false),
        });
        let dispatch = self.state().dispatch.inner().clone();
        // Told before any of its requests can start.
        self.obs
            .emit(EventKind::BatchStarted, |e| e.count = total as u64);
        let id = dispatch.add_batch(job.clone())?;
        Ok(Batch {
            answered: vec![false; total],
            job,
            dispatch,
            id,
            refused_from: 0,
            copies: None,
            cancel_from: None,
            total,
            done: 0,
            with_answer: 0,
            with_error: 0,
            told_finished: false,
            generation: process_generation(),
        })
    }
}

impl Batch {
    /// How many entries the batch has.
    pub fn total(&self) -> usize {
        self.total
    }

    /// How many entries have had their result.
    pub fn done(&self) -> usize {
        self.done
    }

    fn forked(&self) -> bool {
        self.generation != process_generation()
    }

    /// No new request starts; those in flight finish and are handed out; the entries never
    /// asked come out as [`ErrorKind::Cancelled`].
    pub fn stop(&self) {
        if !self.forked() {
            self.dispatch.stop_batch(self.id, false);
        }
    }

    /// [`Batch::stop`], and the requests in flight are interrupted too (at once).
    pub fn abort(&self) {
        if !self.forked() {
            self.dispatch.stop_batch(self.id, true);
        }
    }

    /// The next result, waiting at most `wait` for one.
    pub fn next_timeout(&mut self, wait: Duration) -> Next {
        let next = self.next_inner(wait);
        match &next {
            Next::Item(item) if item.result.is_ok() => self.with_answer += 1,
            Next::Item(_) => self.with_error += 1,
            Next::Done if !std::mem::replace(&mut self.told_finished, true) && !self.forked() => {
                let (answered, failed) = (self.with_answer, self.with_error);
                self.job.client.obs.emit(EventKind::BatchFinished, |e| {
                    e.count = answered;
                    e.failed = failed;
                });
            }
            _ => {}
        }
        next
    }

    fn next_inner(&mut self, wait: Duration) -> Next {
        loop {
            if let Some(item) = self.next_made_here() {
                self.done += 1;
                return Next::Item(item);
            }
            if self.done >= self.total || self.cancel_from.is_some() {
                return Next::Done;
            }
            if self.forked() {
                // In a forked child: the requests and their results are the parent's.
                self.cancel_from = Some((
                    0,
                    "not asked here: the batch was started before a fork(), in the parent",
                ));
                continue;
            }
            match self.dispatch.take_result(self.id, wait) {
                Ok((index, result)) => {
                    self.answered[index] = true;
                    self.done += 1;
                    let item = self.item(index, result.clone());
                    self.copies = self.job.plan.next_dup(index).map(|d| (d, result));
                    return Next::Item(item);
                }
                Err(false) => return Next::Pending,
                Err(true) => {
                    let why = if self.job.client.is_shut_down() {
                        "not asked: the client was shut down"
                    } else {
                        "not asked: the batch was stopped"
                    };
                    self.cancel_from = Some((0, why));
                }
            }
        }
    }

    fn item(&self, index: usize, result: Result<Avatar, Error>) -> Item {
        Item {
            index,
            chat_id: self.job.plan.id(index).to_string(),
            result,
        }
    }

    /// A result that needs no request: a copy for a duplicate, a refusal, or (once nothing
    /// more comes) a cancellation.
    fn next_made_here(&mut self) -> Option<Item> {
        if let Some((index, result)) = self.copies.take() {
            self.copies = self.job.plan.next_dup(index).map(|d| (d, result.clone()));
            return Some(self.item(index, result));
        }
        if let Some((i, e)) = self.job.plan.next_refused(self.refused_from) {
            self.refused_from = i + 1;
            return Some(self.item(i, Err(e)));
        }
        self.refused_from = self.total;
        let (from, why) = self.cancel_from?;
        let plan = &self.job.plan;
        let mut i = from;
        while let Some(j) = plan.next_job(i) {
            if !self.answered[j] {
                self.answered[j] = true;
                self.cancel_from = Some((j + 1, why));
                let e = Err(Error::new(ErrorKind::Cancelled, why));
                self.copies = plan.next_dup(j).map(|d| (d, e.clone()));
                return Some(self.item(j, e));
            }
            i = j + 1;
        }
        self.cancel_from = Some((self.total, why));
        None
    }
}

impl Iterator for Batch {
    type Item = Item;

    /// Blocks until the next result; `None` once every entry had one.
    fn next(&mut self) -> Option<Item> {
        loop {
            match self.next_timeout(Duration::from_secs(3600)) {
                Next::Item(item) => return Some(item),
                Next::Pending => {}
                Next::Done => return None,
            }
        }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if self.forked() {
            // The parent's dispatcher may have been locked by one of its threads at the fork:
            // never touched here, and never freed.
            crate::fork::keep_forever(self.dispatch.clone());
            return;
        }
        self.abort();
        self.dispatch.remove_batch(self.id);
    }
}
