//! Many chat ids at once: a batch runs up to `max_in_flight` calls on worker threads, in the
//! client's pacing, and hands results back one by one as they complete.
//!
//! The calling thread only collects: it waits for the next result in slices (so a host can
//! check its own signals or progress between them) and decides when to stop. Stopping is two
//! things: [`Batch::stop`] lets the requests in flight finish and starts no new one;
//! [`Batch::abort`] also interrupts those in flight. Entries never asked come back as
//! [`ErrorKind::Cancelled`], so every entry gets exactly one result.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::avatar::Avatar;
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::fork::process_generation;
use crate::validate::ChatId;

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

/// The state the workers share with the batch.
struct Shared {
    /// Normalised ids, each asked once.
    jobs: Vec<ChatId<'static>>,
    next_job: AtomicUsize,
    /// No new request starts.
    stopped: AtomicBool,
    /// Requests in flight are interrupted too.
    aborted: AtomicBool,
}

/// A running batch; see the module doc. Dropping it aborts it and waits for its workers.
pub struct Batch {
    shared: Arc<Shared>,
    client: Arc<Client>,
    chat_ids: Vec<String>,
    /// For each job, the positions it answers (duplicates share one job).
    positions: Vec<Vec<usize>>,
    /// Results ready to hand out: refused ids at first, then copies for duplicates.
    ready: VecDeque<Item>,
    rx: Receiver<(usize, Result<Avatar, Error>)>,
    workers: Vec<JoinHandle<()>>,
    /// Jobs whose result arrived.
    answered: Vec<bool>,
    jobs_left: usize,
    total: usize,
    done: usize,
    /// Set once the workers are gone and the unasked jobs were turned into cancellations.
    drained: bool,
    /// The [`process_generation`] the batch was started in: its workers live only there.
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
        let (jobs, positions, ready) = plan(&chat_ids);
        let ids = chat_ids.len() as u64;
        self.obs
            .emit(crate::observe::EventKind::BatchStarted, |e| e.count = ids);
        let shared = Arc::new(Shared {
            jobs,
            next_job: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
        });
        let (tx, rx) = mpsc::channel();
        let jobs_left = shared.jobs.len();
        let wanted = jobs_left.min(self.max_in_flight() as usize);
        let mut workers = Vec::with_capacity(wanted);
        for _ in 0..wanted {
            let (client, shared, tx) = (self.clone(), shared.clone(), tx.clone());
            match std::thread::Builder::new()
                .name("greenapi-batch".into())
                .spawn(move || work(&client, &shared, &tx))
            {
                Ok(handle) => workers.push(handle),
                // Fewer threads than asked for only means fewer requests in flight.
                Err(_) if !workers.is_empty() => break,
                Err(e) => {
                    return Err(Error::new(
                        ErrorKind::Network,
                        format!("cannot start a thread for the batch: {e}"),
                    ));
                }
            }
        }
        Ok(Batch {
            answered: vec![false; shared.jobs.len()],
            shared,
            client: self.clone(),
            total: chat_ids.len(),
            chat_ids,
            positions,
            ready,
            rx,
            workers,
            jobs_left,
            done: 0,
            drained: false,
            generation: process_generation(),
        })
    }
}

/// The jobs for `chat_ids` (normalised, each asked once), the positions each answers, and the
/// results of the ids refused.
fn plan(chat_ids: &[String]) -> (Vec<ChatId<'static>>, Vec<Vec<usize>>, VecDeque<Item>) {
    let mut ready = VecDeque::new();
    let mut jobs: Vec<ChatId<'static>> = Vec::new();
    let mut positions: Vec<Vec<usize>> = Vec::new();
    let mut seen: HashMap<ChatId<'static>, usize> = HashMap::new();
    for (index, id) in chat_ids.iter().enumerate() {
        match ChatId::parse(id) {
            Ok(normal) => {
                let normal = normal.into_owned();
                match seen.get(&normal) {
                    Some(&job) => positions[job].push(index),
                    None => {
                        seen.insert(normal.clone(), jobs.len());
                        jobs.push(normal);
                        positions.push(vec![index]);
                    }
                }
            }
            Err(e) => ready.push_back(Item {
                index,
                chat_id: id.clone(),
                result: Err(e),
            }),
        }
    }
    (jobs, positions, ready)
}

/// A worker: takes the next job until there is none or the batch is stopped.
fn work(client: &Client, shared: &Shared, tx: &Sender<(usize, Result<Avatar, Error>)>) {
    let aborted = || shared.aborted.load(Ordering::Acquire);
    loop {
        if shared.stopped.load(Ordering::Acquire) || client.is_shut_down() {
            return;
        }
        let job = shared.next_job.fetch_add(1, Ordering::AcqRel);
        let Some(chat_id) = shared.jobs.get(job) else {
            return;
        };
        let result = client.get_chat_id(chat_id, &aborted);
        if tx.send((job, result)).is_err() {
            return;
        }
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

    /// No new request starts; those in flight finish and are handed out; the entries never
    /// asked come out as [`ErrorKind::Cancelled`].
    pub fn stop(&self) {
        self.shared.stopped.store(true, Ordering::Release);
    }

    /// [`Batch::stop`], and the requests in flight are interrupted too (within 50 ms).
    pub fn abort(&self) {
        self.stop();
        self.shared.aborted.store(true, Ordering::Release);
    }

    /// The next result, waiting at most `wait` for one.
    pub fn next_timeout(&mut self, wait: Duration) -> Next {
        if let Some(item) = self.ready.pop_front() {
            self.done += 1;
            return Next::Item(item);
        }
        if self.jobs_left == 0 || self.drained {
            return Next::Done;
        }
        if self.generation != process_generation() {
            self.orphan();
            return self.next_timeout(Duration::ZERO);
        }
        match self.rx.recv_timeout(wait) {
            Ok((job, result)) => {
                self.answer(job, result);
                self.next_timeout(Duration::ZERO)
            }
            Err(RecvTimeoutError::Timeout) => Next::Pending,
            Err(RecvTimeoutError::Disconnected) => {
                self.drain();
                self.next_timeout(Duration::ZERO)
            }
        }
    }

    /// Puts a job's result in front of every position it answers.
    fn answer(&mut self, job: usize, result: Result<Avatar, Error>) {
        if std::mem::replace(&mut self.answered[job], true) {
            return;
        }
        self.jobs_left -= 1;
        let positions = std::mem::take(&mut self.positions[job]);
        for &index in &positions {
            self.ready.push_back(Item {
                index,
                chat_id: self.chat_ids[index].clone(),
                result: result.clone(),
            });
        }
    }

    /// Every worker is gone: the jobs without a result were never asked.
    fn drain(&mut self) {
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
        // Results sent just before the last worker left.
        while let Ok((job, result)) = self.rx.try_recv() {
            self.answer(job, result);
        }
        let why = if self.client.is_shut_down() {
            "not asked: the client was shut down"
        } else {
            "not asked: the batch was stopped"
        };
        self.cancel_the_rest(why);
    }

    /// In a forked child: the workers and whatever they were sending are in the parent. Their
    /// handles and the channel are kept, never joined or dropped (a thread that is not in
    /// this process cannot be joined, and may have held the channel's lock at the fork), and
    /// every entry without a result here is cancelled.
    fn orphan(&mut self) {
        let (_, empty) = mpsc::channel();
        crate::fork::keep_forever(std::mem::replace(&mut self.rx, empty));
        crate::fork::keep_forever(std::mem::take(&mut self.workers));
        self.cancel_the_rest(
            "not asked here: the batch was started before a fork(), in the parent",
        );
    }

    /// Every job without a result gets a cancellation saying `why`.
    fn cancel_the_rest(&mut self, why: &str) {
        for job in 0..self.answered.len() {
            if !self.answered[job] {
                self.answer(job, Err(Error::new(ErrorKind::Cancelled, why)));
            }
        }
        self.drained = true;
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
        self.abort();
        if self.generation != process_generation() {
            self.orphan();
            return;
        }
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}
