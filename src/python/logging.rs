//! The client's events as records of the standard `logging.getLogger("greenapi")`, and its
//! counters as `greenapi.Stats`.
//!
//! The GIL is taken for an event only when the logger is enabled for its level. Which levels
//! are enabled is asked of Python (`logger.isEnabledFor`, which `logging` caches per level) at
//! the start of every call and batch, while the GIL is held anyway, and kept in the observer's
//! atomic level, which the core reads without the GIL. A level turned on in the middle of a
//! call counts from the next call.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use crate::observe::{Event, Level, Observer, Stats, URL_TEMPLATE};

static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    LOGGER
        .get_or_try_init(py, || {
            py.import("logging")?
                .call_method1("getLogger", ("greenapi",))
                .map(Bound::unbind)
        })
        .map(|l| l.bind(py))
}

/// The least level the `greenapi` logger lets through now (`None`: none of ours).
fn enabled_level(py: Python<'_>) -> Option<Level> {
    let logger = logger(py).ok()?;
    let name = pyo3::intern!(py, "isEnabledFor");
    let on = |level: Level| {
        logger
            .call_method1(name, (level as u8,))
            .and_then(|b| b.extract::<bool>())
            .unwrap_or(false)
    };
    [Level::Debug, Level::Info, Level::Warning]
        .into_iter()
        .find(|&l| on(l))
}

/// A client's observer: every event it lets through becomes a log record.
pub(crate) fn observer(py: Python<'_>) -> Observer {
    let observer = Observer::new(Level::Warning, |e| {
        Python::attach(|py| {
            // A handler or filter that raises must not break the call: the record is lost.
            let _ = log(py, e);
        });
    });
    refresh(py, &observer);
    observer
}

/// Reads the logger's level again (see the module doc).
pub(crate) fn refresh(py: Python<'_>, observer: &Observer) {
    observer.set_min_level(enabled_level(py));
}

fn log(py: Python<'_>, e: &Event<'_>) -> PyResult<()> {
    let logger = logger(py)?;
    let extra = PyDict::new(py);
    extra.set_item("greenapi.event", e.kind.name())?;
    extra.set_item("http.request.method", e.method())?;
    extra.set_item("server.address", e.server_address)?;
    extra.set_item("server.port", e.server_port)?;
    extra.set_item("url.template", URL_TEMPLATE)?;
    if e.attempt > 0 {
        extra.set_item("greenapi.attempt", e.attempt)?;
        extra.set_item("http.request.resend_count", e.attempt - 1)?;
    }
    if e.status > 0 {
        extra.set_item("http.response.status_code", e.status)?;
    }
    if let Some(t) = e.error_type {
        extra.set_item("error.type", t)?;
    }
    if e.duration_ms > 0.0 {
        extra.set_item("greenapi.duration_ms", e.duration_ms)?;
    }
    if let Some(r) = e.connection_reused {
        extra.set_item("greenapi.connection_reused", r)?;
    }
    if let Some(r) = e.tls_resumed {
        extra.set_item("greenapi.tls_resumed", r)?;
    }
    if e.rate_per_sec > 0.0 {
        extra.set_item("greenapi.rate_per_sec", e.rate_per_sec)?;
    }
    if let Some(p) = e.pacing {
        extra.set_item("greenapi.pacing", p)?;
    }
    if e.count > 0 || e.failed > 0 {
        extra.set_item("greenapi.count", e.count)?;
        extra.set_item("greenapi.failed", e.failed)?;
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("extra", extra)?;
    logger.call_method("log", (e.level as u8, e.message()), Some(&kwargs))?;
    Ok(())
}

/// `greenapi.Stats(...)` of `s`.
pub(crate) fn stats<'py>(py: Python<'py>, s: &Stats) -> PyResult<Bound<'py, PyAny>> {
    let k = PyDict::new(py);
    k.set_item("calls", s.calls)?;
    k.set_item("attempts", s.attempts)?;
    k.set_item("retries", s.retries)?;
    k.set_item("stale_resends", s.stale_resends)?;
    let errors = PyDict::new(py);
    for info in crate::error::KINDS.iter() {
        let n = s.results[(info.c_code as usize).min(s.results.len() - 1)];
        if n > 0 {
            errors.set_item(info.python_code, n)?;
        }
    }
    k.set_item("answered", s.results[0])?;
    k.set_item("failed", errors)?;
    k.set_item("responses_429", s.responses_429)?;
    k.set_item("pauses", s.pauses)?;
    k.set_item("slow_downs", s.slow_downs)?;
    k.set_item("pacing_waits", s.pacing_waits)?;
    k.set_item("pacing_wait_total", s.pacing_wait_total_ms / 1e3)?;
    k.set_item("pacing_wait_max", s.pacing_wait_max_ms / 1e3)?;
    k.set_item("connections_opened", s.connections_opened)?;
    k.set_item("connections_closed", s.connections_closed)?;
    k.set_item("tls_full_handshakes", s.tls_full_handshakes)?;
    k.set_item("tls_resumed_handshakes", s.tls_resumed_handshakes)?;
    k.set_item("bytes_sent", s.bytes_sent)?;
    k.set_item("bytes_received", s.bytes_received)?;
    k.set_item("in_flight", s.in_flight)?;
    k.set_item("rate_per_sec", s.rate_per_sec)?;
    k.set_item("handler_failures", s.handler_failures)?;
    py.import("greenapi._stats")?
        .getattr("Stats")?
        .call((), Some(&k))
}
