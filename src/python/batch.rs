//! Many chat ids at once: `Client.get_avatars`, `Client.iter_avatars` (the `AvatarIterator`
//! class) and `CancelToken`, the handle the asyncio layer (`greenapi/_async.py`) stops a single
//! call with.
//!
//! The calling thread waits for the next result in slices with the GIL released, and between
//! slices looks at what may stop the batch: a signal (on the main thread), a `close()` from
//! another thread. Stopping aborts the batch (requests in flight are interrupted) and joins its
//! workers before the call returns, so nothing is left running.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use super::args::{str_arg, type_name};
use super::avatar::PyAvatar;
use super::errors::{raise, to_py_err};
use super::{on_main_thread, run_core};
use crate::MAX_BATCH;
use crate::batch::Next;
use crate::batch::plan::Plan;
use crate::{Batch, Client, Error, Item};

/// The longest wait between two looks at signals and `close()`: a Ctrl-C or a close is acted
/// on within this, plus the core's 50 ms to interrupt the requests in flight.
const SLICE: Duration = Duration::from_millis(50);

/// `chat_ids` gathered into a batch's plan: any iterable of `str`, but not a `str` itself (its
/// characters would be taken for chat ids). A value of another type is a `TypeError` for the
/// whole call: a program's mistake, not one entry's bad luck. The ids are copied once, into
/// one text (see `batch/plan.rs`); more than the most a batch takes are not gathered.
fn chat_ids_arg(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<Plan> {
    if v.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "chat_ids must be an iterable of str, not a str",
        ));
    }
    let items = v.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "chat_ids must be an iterable of str, not {}",
            type_name(v)
        ))
    })?;
    let mut failed = None;
    let mut n = 0usize;
    let ids = items.map_while(|item| {
        let id = item.and_then(|item| str_arg(py, &item, &format!("chat_ids[{n}]")));
        n += 1;
        id.map_err(|e| failed = Some(e)).ok()
    });
    let plan = Plan::gather(ids.take(MAX_BATCH + 1));
    match failed {
        Some(e) => Err(e),
        None => Ok(plan),
    }
}

/// A batch's result as Python sees it: the `Avatar`, or the exception instance (not raised).
fn result_to_py(py: Python<'_>, result: Result<crate::Avatar, Error>) -> PyResult<Py<PyAny>> {
    match result {
        Ok(avatar) => Ok(Py::new(py, PyAvatar::from(avatar))?.into_any()),
        Err(e) => Ok(to_py_err(py, &e).into_value(py).into_any()),
    }
}

/// The exception for a panic in the core while a batch was waited for.
fn panicked(py: Python<'_>) -> PyErr {
    raise(
        py,
        "GreenApiError",
        "panic",
        "internal error: the greenapi core panicked (this is a bug)",
        None,
        0,
    )
}

/// Ends a batch: aborts it and joins its workers with the GIL released (they never need it,
/// but other Python threads should not wait for the join).
fn finish(py: Python<'_>, batch: Batch) {
    batch.abort();
    py.detach(move || drop(batch));
}

/// Starts a batch for Python: the chat ids checked, and the refusals of the core raised.
fn start(py: Python<'_>, client: &Arc<Client>, chat_ids: &Bound<'_, PyAny>) -> PyResult<Batch> {
    let plan = chat_ids_arg(py, chat_ids)?;
    // Planning a million ids takes a second: not with the GIL.
    run_core(py, || client.batch_of(plan.finish()))
}

/// `Client.get_avatars`: every result, in input order.
pub(crate) fn get_avatars<'py>(
    py: Python<'py>,
    client: &Arc<Client>,
    chat_ids: &Bound<'py, PyAny>,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let progress = match progress {
        Some(p) if p.is_none() => None,
        Some(p) if !p.is_callable() => {
            return Err(PyTypeError::new_err(format!(
                "progress must be callable or None, not {}",
                type_name(p)
            )));
        }
        p => p,
    };
    let mut batch = start(py, client, chat_ids)?;
    let total = batch.total();
    let on_main = on_main_thread(py);
    let mut results: Vec<Option<Py<PyAny>>> = (0..total).map(|_| None).collect();
    let collected = (|| -> PyResult<()> {
        while let Some(item) = next_item(py, &mut batch, on_main)? {
            results[item.index] = Some(result_to_py(py, item.result)?);
            if let Some(progress) = progress {
                progress.call1((batch.done(), total))?;
            }
        }
        Ok(())
    })();
    finish(py, batch);
    collected?;
    let list = PyList::empty(py);
    for r in results {
        // Every entry gets exactly one result; a hole would be a bug of the core.
        let r = r.ok_or_else(|| panicked(py))?;
        list.append(r)?;
    }
    Ok(list)
}

/// How waiting for a result ended without one.
enum Stopped {
    /// Every entry had its result, or the batch was closed.
    End,
    /// A signal handler raised (Ctrl-C).
    Signal(PyErr),
    /// The core panicked.
    Panic,
}

/// The batch's next result, waiting in slices; runs with the GIL released and takes it only
/// to look for signals (on the main thread) between slices.
fn wait_next(
    batch: &mut Batch,
    on_main: bool,
    closing: &dyn Fn() -> bool,
) -> Result<Item, Stopped> {
    loop {
        if closing() {
            return Err(Stopped::End);
        }
        match crate::panic::catch(|| batch.next_timeout(SLICE)) {
            Ok(Next::Item(item)) => return Ok(item),
            Ok(Next::Done) => return Err(Stopped::End),
            Ok(Next::Pending) => {
                if on_main {
                    Python::attach(|py| py.check_signals()).map_err(Stopped::Signal)?;
                }
            }
            Err(_) => return Err(Stopped::Panic),
        }
    }
}

/// [`wait_next`] from a thread holding the GIL: `None` at the end, a signal's exception raised.
fn next_item(py: Python<'_>, batch: &mut Batch, on_main: bool) -> PyResult<Option<Item>> {
    match py.detach(|| wait_next(batch, on_main, &|| false)) {
        Ok(item) => Ok(Some(item)),
        Err(Stopped::End) => Ok(None),
        Err(Stopped::Signal(e)) => Err(e),
        Err(Stopped::Panic) => Err(panicked(py)),
    }
}

/// `Client.iter_avatars`: `(chat_id, result)` for each chat id, as the results complete.
pub(crate) fn iter_avatars(
    py: Python<'_>,
    client: &Arc<Client>,
    chat_ids: &Bound<'_, PyAny>,
) -> PyResult<PyAvatarIterator> {
    let batch = start(py, client, chat_ids)?;
    Ok(PyAvatarIterator {
        total: batch.total(),
        batch: Mutex::new(Some(batch)),
        closing: AtomicBool::new(false),
        done: AtomicUsize::new(0),
    })
}

/// The results of `Client.iter_avatars(chat_ids)`, each as it completes: `(chat_id, result)`
/// where chat_id is the entry as given and result an `Avatar` or a `GreenApiError` instance
/// (not raised). Every entry comes out exactly once, duplicates included.
///
/// Up to the client's max_in_flight requests run on worker threads meanwhile, in the client's
/// pacing. Waiting for the next result releases the GIL. Stopping (close(), the iterator let
/// go of, e.g. by breaking out of the `for` loop, or a Ctrl-C while it waits) interrupts the
/// requests in flight and asks no more, within about 0.1 s, and leaves no thread running.
#[pyclass(name = "AvatarIterator", module = "greenapi", frozen)]
pub(crate) struct PyAvatarIterator {
    /// `None` once stopped. Locked only with the GIL released: a thread waiting for the lock
    /// while holding the GIL would stop the holder from ever taking it back.
    batch: Mutex<Option<Batch>>,
    /// Asked for by `_cancel()` (from any thread); acted on between two waiting slices, so the
    /// thread asking never waits for the lock.
    closing: AtomicBool,
    total: usize,
    done: AtomicUsize,
}

/// What one slice of waiting for the next result found.
enum Step {
    Item(Item),
    Pending,
    End,
    Panic,
}

impl PyAvatarIterator {
    /// The next result with its position, or `None` at the end (or once stopped).
    ///
    /// The batch's lock is held for one slice at a time, with the GIL released, and never while
    /// Python code can run: signal handlers run between slices, with no lock held, so that a
    /// handler may `close()` this very iterator (it would otherwise wait for the lock its own
    /// thread holds).
    fn next_indexed(&self, py: Python<'_>) -> PyResult<Option<(usize, String, Py<PyAny>)>> {
        let on_main = on_main_thread(py);
        loop {
            match py.detach(|| self.step()) {
                Step::Item(item) => {
                    self.done.fetch_add(1, Ordering::AcqRel);
                    let result = result_to_py(py, item.result)?;
                    return Ok(Some((item.index, item.chat_id, result)));
                }
                Step::End => return Ok(None),
                Step::Panic => return Err(panicked(py)),
                Step::Pending => {
                    if on_main && let Err(e) = py.check_signals() {
                        // A signal's exception (Ctrl-C) ends the batch, as close() would.
                        self.close(py);
                        return Err(e);
                    }
                }
            }
        }
    }

    /// Waits one slice for the next result. The batch ends (its workers joined) as soon as
    /// nothing more will be taken from it.
    fn step(&self) -> Step {
        let mut slot = self.batch.lock().unwrap_or_else(|p| p.into_inner());
        let step = match slot.as_mut() {
            None => Step::End,
            Some(_) if self.closing.load(Ordering::Acquire) => Step::End,
            Some(batch) => match crate::panic::catch(|| batch.next_timeout(SLICE)) {
                Ok(Next::Item(item)) => return Step::Item(item),
                Ok(Next::Pending) => return Step::Pending,
                Ok(Next::Done) => Step::End,
                Err(_) => Step::Panic,
            },
        };
        if let Some(batch) = slot.take() {
            batch.abort();
            drop(batch);
        }
        step
    }
}

#[pymethods]
impl PyAvatarIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<(String, Py<PyAny>)>> {
        Ok(self
            .next_indexed(py)?
            .map(|(_, chat_id, result)| (chat_id, result)))
    }

    /// The next result as `(index, chat_id, result)`, index being the entry's position in the
    /// chat ids given; None at the end. For greenapi's asyncio layer.
    fn _next_indexed(&self, py: Python<'_>) -> PyResult<Option<(usize, String, Py<PyAny>)>> {
        self.next_indexed(py)
    }

    /// `with client.iter_avatars(ids) as it:` closes the iterator when the block ends, however
    /// it ends (a `break`, an exception).
    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _tb: &Bound<'_, PyAny>,
    ) -> bool {
        self.close(py);
        false
    }

    /// Stops the batch: requests in flight are interrupted, no more are sent, the results not
    /// yet taken are dropped and the iteration ends. Waits (GIL released) for the worker
    /// threads to end. Calling it again does nothing.
    fn close(&self, py: Python<'_>) {
        self.closing.store(true, Ordering::Release);
        let batch = py.detach(|| self.batch.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(batch) = batch {
            finish(py, batch);
        }
    }

    /// Asks the batch to stop without waiting: the thread taking the results (or the next
    /// one to ask) ends the iteration and joins the workers. For greenapi's asyncio layer.
    fn _cancel(&self) {
        self.closing.store(true, Ordering::Release);
    }

    /// How many chat ids the batch was given.
    #[getter]
    fn total(&self) -> usize {
        self.total
    }

    /// How many results were handed out so far.
    #[getter]
    fn done(&self) -> usize {
        self.done.load(Ordering::Acquire)
    }

    fn __repr__(&self) -> String {
        format!("AvatarIterator(done={}, total={})", self.done(), self.total)
    }
}

impl Drop for PyAvatarIterator {
    fn drop(&mut self) {
        let batch = self
            .batch
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(batch) = batch {
            // Dropped by Python, so the GIL is held here.
            Python::attach(|py| finish(py, batch));
        }
    }
}

/// A flag that stops one call: `Client._get_avatar_until(chat_id, token)` ends (as
/// `CancelledError`) within 50 ms of `token.cancel()`, from whatever thread. The asyncio
/// layer gives one to each call it runs off the loop's thread and cancels it with the task.
#[pyclass(name = "CancelToken", module = "greenapi._native", frozen)]
#[derive(Default)]
pub(crate) struct PyCancelToken {
    cancelled: AtomicBool,
}

impl PyCancelToken {
    /// Whether `cancel()` was called.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

#[pymethods]
impl PyCancelToken {
    #[new]
    fn new() -> PyCancelToken {
        PyCancelToken::default()
    }

    /// Stops the call this token was given to (or the next one, if none is running yet).
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    /// Whether `cancel()` was called.
    #[getter]
    fn cancelled(&self) -> bool {
        self.is_cancelled()
    }
}
