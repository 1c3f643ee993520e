//! The Python module `greenapi._native`: a thin translation of the core for Python.
//!
//! Python values are turned into owned Rust values first, then every call into the core runs
//! with the GIL released ([`Python::detach`]) and inside `crate::panic::catch`, so threads sharing one
//! `Client` run in parallel and a panic becomes an exception, never an abort.
//!
//! The exception classes are plain Python (multiple inheritance: `InvalidArgumentError` is also
//! a `ValueError`, `TimeoutError` also the builtin one) in `greenapi/_errors.py`; this module
//! looks them up there when it raises.

mod args;
mod avatar;
mod batch;
mod client;
mod download;
mod errors;
mod logging;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use pyo3::prelude::*;

use crate::Error;

/// The process that [`MAIN_THREAD`] was read in (after a fork, the thread that forked is the
/// child's main thread). Atomics, not a lock: a lock held by another thread at a fork would stay
/// locked in the child.
static MAIN_THREAD_PID: AtomicU32 = AtomicU32::new(0);
/// `threading.main_thread().ident`, which is the thread's `pthread_self()`.
static MAIN_THREAD: AtomicU64 = AtomicU64::new(0);

/// Whether the calling thread is the one Python runs signal handlers on.
pub(crate) fn on_main_thread(py: Python<'_>) -> bool {
    let pid = std::process::id();
    if MAIN_THREAD_PID.load(Ordering::Acquire) != pid {
        let ident = py
            .import("threading")
            .and_then(|t| t.call_method0("main_thread"))
            .and_then(|m| m.getattr("ident"))
            .and_then(|i| i.extract::<u64>());
        let Ok(ident) = ident else {
            // Unknown: checking for signals costs a little, missing a Ctrl-C costs more.
            return true;
        };
        MAIN_THREAD.store(ident, Ordering::Release);
        MAIN_THREAD_PID.store(pid, Ordering::Release);
    }
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() } as u64;
    me == MAIN_THREAD.load(Ordering::Acquire)
}

/// Runs a core call with the GIL released, turning its error or a panic into an exception.
pub(crate) fn run_core<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> Result<T, Error> + Send,
    T: Send,
{
    match py.detach(|| crate::panic::catch(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(errors::to_py_err(py, &e)),
        // Not printed (see `crate::panic`), and the payload is not shown: nothing guarantees it
        // is free of the token.
        Err(_) => Err(errors::raise(
            py,
            "GreenApiError",
            "panic",
            "internal error: the greenapi core panicked (this is a bug)",
            None,
            0,
        )),
    }
}

/// Panics inside [`run_core`], for the test suite to prove a panic becomes a `GreenApiError`
/// with code `"panic"` and does not abort the interpreter. Not part of the public API.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    run_core(py, || -> Result<(), Error> {
        panic!("deliberate panic requested by greenapi._native._panic_for_tests")
    })
}

/// A file name for `chat_id`'s picture, without the extension: every character but ASCII
/// letters, digits and `@ . _ + -` becomes `_`, a leading `.` too, cut at 100 bytes; never empty
/// (`79001234567@c.us` stays as it is). For `Client.save_avatar(avatar, directory /
/// file_stem(chat_id))`.
#[pyfunction]
fn file_stem(chat_id: &str) -> String {
    crate::file_stem(chat_id)
}

/// `greenapi._native`: the compiled part of the `greenapi` package.
#[pymodule(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<avatar::PyAvatar>()?;
    m.add_class::<client::PyClient>()?;
    m.add_class::<batch::PyAvatarIterator>()?;
    m.add_class::<batch::PyCancelToken>()?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(file_stem, m)?)?;
    m.add("__version__", crate::VERSION)?;
    Ok(())
}
