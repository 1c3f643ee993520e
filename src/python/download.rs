//! `Client.download_avatar` and `Client.save_avatar`: the arguments turned into the core's, and
//! the call stopped by a signal or a token as `get_avatar` is.

use std::path::PathBuf;
use std::sync::Mutex;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::args::{str_arg, type_name};
use super::avatar::PyAvatar;
use super::batch::PyCancelToken;
use super::errors::invalid;
use super::{on_main_thread, run_core};
use crate::{Client, Error};

/// The link of an `Avatar`, or a `str` taken as a link.
pub(crate) fn url_arg(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(a) = v.cast::<PyAvatar>() {
        return Ok(a.get().url().to_string());
    }
    if v.is_instance_of::<PyString>() {
        return str_arg(py, v, "url");
    }
    Err(PyTypeError::new_err(format!(
        "avatar must be an Avatar or a str (its url_avatar), not {}",
        type_name(v)
    )))
}

/// Runs `f` with the GIL released, stopped by `token` or (on the main thread) by a signal,
/// whose handler's exception is raised instead of the core's "interrupted".
fn interruptible<T: Send>(
    py: Python<'_>,
    token: Option<&PyCancelToken>,
    f: impl FnOnce(&(dyn Fn() -> bool + Sync)) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let raised: Mutex<Option<PyErr>> = Mutex::new(None);
    let on_main = on_main_thread(py);
    let interrupt = || {
        token.is_some_and(PyCancelToken::is_cancelled)
            || on_main
                && Python::attach(|py| match py.check_signals() {
                    Ok(()) => false,
                    Err(e) => {
                        *raised.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                        true
                    }
                })
    };
    let result = run_core(py, || f(&interrupt));
    if let Some(e) = raised.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    result
}

/// The picture's bytes.
pub(crate) fn download<'py>(
    py: Python<'py>,
    client: &Client,
    avatar: &Bound<'py, PyAny>,
    token: Option<&PyCancelToken>,
) -> PyResult<Bound<'py, PyBytes>> {
    let url = url_arg(py, avatar)?;
    let image = interruptible(py, token, |stop| {
        client.download_avatar_interruptible(&url, stop)
    })?;
    Ok(PyBytes::new(py, &image.bytes))
}

/// Saves the picture as `path` + `.` + its extension; returns that path as a `pathlib.Path`.
pub(crate) fn save<'py>(
    py: Python<'py>,
    client: &Client,
    avatar: &Bound<'py, PyAny>,
    path: &Bound<'py, PyAny>,
    token: Option<&PyCancelToken>,
) -> PyResult<Bound<'py, PyAny>> {
    let url = url_arg(py, avatar)?;
    let path: PathBuf = path
        .extract()
        .map_err(|_| PyTypeError::new_err("path must be a str or os.PathLike path"))?;
    let Some(stem) = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
    else {
        return Err(invalid(
            py,
            "path must end in a file name (the extension is added: photo becomes photo.jpg)",
        ));
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let saved = interruptible(py, token, |stop| {
        client.save_avatar_interruptible(&url, &dir, &stem, stop)
    })?;
    py.import("pathlib")?.getattr("Path")?.call1((saved,))
}
