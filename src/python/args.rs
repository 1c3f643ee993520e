//! Python arguments turned into owned Rust values, with the module's TypeError and
//! InvalidArgumentError messages (which never repeat a value: it may be the token).

use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};

use super::errors::invalid;
use crate::options::{self, MAX_TIMEOUT_MS, MIN_TIMEOUT_MS};

pub(crate) fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .and_then(|n| n.to_cow().map(|c| c.into_owned()))
        .unwrap_or_else(|_| "?".to_string())
}

/// A `str` as an owned `String`; a string that is not valid Unicode (lone surrogates) is an
/// invalid argument. The message never repeats the value (it may be the token).
pub(crate) fn str_arg(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str) -> PyResult<String> {
    let s = v
        .cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("{name} must be a str, not {}", type_name(v))))?;
    s.to_cow()
        .map(|c| c.into_owned())
        .map_err(|_| invalid(py, &format!("{name} is not valid Unicode text")))
}

pub(crate) fn opt_str_arg(
    py: Python<'_>,
    v: Option<&Bound<'_, PyAny>>,
    name: &str,
) -> PyResult<Option<String>> {
    match v {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => str_arg(py, v, name).map(Some).map_err(|e| {
            if e.is_instance_of::<PyTypeError>(py) {
                PyTypeError::new_err(format!(
                    "{name} must be a str or None, not {}",
                    type_name(v)
                ))
            } else {
                e
            }
        }),
    }
}

/// The instance id: a `str`, or a non-negative `int` (it is all digits anyway).
pub(crate) fn id_arg(py: Python<'_>, v: &Bound<'_, PyAny>) -> PyResult<String> {
    if v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>() {
        return match v.extract::<u64>() {
            Ok(n) => Ok(n.to_string()),
            Err(_) => Err(invalid(py, "id_instance must be 1 to 32 ASCII digits")),
        };
    }
    str_arg(py, v, "id_instance").map_err(|e| {
        if e.is_instance_of::<PyTypeError>(py) {
            PyTypeError::new_err(format!("id_instance must be a str, not {}", type_name(v)))
        } else {
            e
        }
    })
}

/// A real number (`int` or `float`, not `bool`).
pub(crate) fn float_arg(py: Python<'_>, v: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    let number = (v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>())
        && !v.is_instance_of::<PyBool>();
    if !number {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int or a float, not {}",
            type_name(v)
        )));
    }
    // An int too large for a float is out of range, not a type error.
    v.extract::<f64>()
        .map_err(|_| invalid(py, &format!("{name} is out of range")))
}

/// Seconds as a float, turned into a `Duration` within the core's timeout bounds (said here in
/// seconds, the unit the caller used), or an invalid argument: never an `OverflowError`, and
/// never a value that could overflow a deadline later.
pub(crate) fn secs_arg(
    py: Python<'_>,
    v: Option<&Bound<'_, PyAny>>,
    name: &str,
    default: Duration,
) -> PyResult<Duration> {
    let secs = match v {
        None => return Ok(default),
        Some(v) if v.is_none() => return Ok(default),
        Some(v) => float_arg(py, v, name)?,
    };
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if options::timeout_in_range(d) => Ok(d),
        _ => Err(invalid(
            py,
            &format!(
                "{name} must be from {} to {} seconds (one day)",
                f64::from(MIN_TIMEOUT_MS) / 1000.0,
                f64::from(MAX_TIMEOUT_MS) / 1000.0
            ),
        )),
    }
}

/// A non-negative `int` (not `bool`); `None` when not given.
pub(crate) fn uint_arg(
    py: Python<'_>,
    v: Option<&Bound<'_, PyAny>>,
    name: &str,
) -> PyResult<Option<u64>> {
    let v = match v {
        None => return Ok(None),
        Some(v) if v.is_none() => return Ok(None),
        Some(v) => v,
    };
    if !v.is_instance_of::<PyInt>() || v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int, not {}",
            type_name(v)
        )));
    }
    match v.extract::<u64>() {
        Ok(n) => Ok(Some(n)),
        Err(_) if v.lt(0)? => Err(invalid(py, &format!("{name} must not be negative"))),
        Err(_) => Err(invalid(py, &format!("{name} is too large"))),
    }
}

/// Keyword arguments taken in as `**kwargs`, each taken out once by its name (so that the one
/// call that takes it is also the one place naming it); a name left over is unknown.
pub(crate) struct Keywords<'py> {
    py: Python<'py>,
    rest: Bound<'py, PyDict>,
}

impl<'py> Keywords<'py> {
    pub(crate) fn new(py: Python<'py>, given: Option<&Bound<'py, PyDict>>) -> PyResult<Self> {
        let rest = match given {
            // A copy: the caller's dict (`**options` of a Python wrapper) is left as it was.
            Some(given) => given.copy()?,
            None => PyDict::new(py),
        };
        Ok(Keywords { py, rest })
    }

    /// The value given for `name`; `None` when it was not given or given as `None` (both mean
    /// the default).
    fn take(&self, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        let value = self.rest.get_item(name)?;
        if value.is_some() {
            self.rest.del_item(name)?;
        }
        Ok(value.filter(|v| !v.is_none()))
    }

    pub(crate) fn opt_str(&self, name: &str) -> PyResult<Option<String>> {
        opt_str_arg(self.py, self.take(name)?.as_ref(), name)
    }

    pub(crate) fn float(&self, name: &str) -> PyResult<Option<f64>> {
        self.take(name)?
            .map(|v| float_arg(self.py, &v, name))
            .transpose()
    }

    pub(crate) fn secs(&self, name: &str, default: Duration) -> PyResult<Duration> {
        secs_arg(self.py, self.take(name)?.as_ref(), name, default)
    }

    pub(crate) fn uint(&self, name: &str) -> PyResult<Option<u64>> {
        uint_arg(self.py, self.take(name)?.as_ref(), name)
    }

    pub(crate) fn bool(&self, name: &str) -> PyResult<Option<bool>> {
        self.take(name)?
            .map(|v| {
                v.cast::<PyBool>()
                    .map(|b| b.is_true())
                    .map_err(|_| PyTypeError::new_err(format!("{name} must be a bool")))
            })
            .transpose()
    }

    /// A list or tuple of `str` (a lone `str` is refused: it would be taken letter by letter).
    pub(crate) fn str_list(&self, name: &str) -> PyResult<Vec<String>> {
        let Some(v) = self.take(name)? else {
            return Ok(Vec::new());
        };
        let wrong = || {
            PyTypeError::new_err(format!(
                "{name} must be a list or tuple of str, not {}",
                type_name(&v)
            ))
        };
        let items: Vec<Bound<'py, PyAny>> = if let Ok(l) = v.cast::<pyo3::types::PyList>() {
            l.iter().collect()
        } else if let Ok(t) = v.cast::<pyo3::types::PyTuple>() {
            t.iter().collect()
        } else {
            return Err(wrong());
        };
        items
            .iter()
            .map(|item| str_arg(self.py, item, &format!("each entry of {name}")))
            .collect()
    }

    /// A `str` or `os.PathLike` path.
    pub(crate) fn path(&self, name: &str) -> PyResult<Option<PathBuf>> {
        self.take(name)?
            .map(|v| {
                v.extract::<PathBuf>().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "{name} must be a str or os.PathLike path, or None"
                    ))
                })
            })
            .transpose()
    }

    /// Refuses a name that nothing took, as Python refuses an unknown keyword argument.
    pub(crate) fn finish(self, callable: &str) -> PyResult<()> {
        match self.rest.keys().iter().next() {
            None => Ok(()),
            Some(name) => Err(PyTypeError::new_err(format!(
                "{callable} got an unexpected keyword argument {}",
                name.repr()?
            ))),
        }
    }
}
