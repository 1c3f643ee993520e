//! `greenapi.Avatar`: the answer, immutable, equal and hashable by value, picklable.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use crate::Avatar;

/// What the service answered to GetAvatar (HTTP 200).
///
/// Both answer shapes map onto it: the older one (`existsWhatsapp`, `urlAvatar`, `reason`) and
/// the newer one (`urlAvatar`, `available`). A field the answer did not carry, or carried as
/// null, is None. `to_dict()` gives the answer back with the service's own keys.
///
/// `expires_at` is read from `url_avatar` (its `oe=` parameter), so it is not a seventh field.
///
/// Immutable; equal and hashable by value (all six fields). It pickles and copies, so it can
/// come back from a `concurrent.futures.ProcessPoolExecutor` or `multiprocessing` worker.
#[pyclass(name = "Avatar", module = "greenapi", frozen, eq, hash)]
#[derive(PartialEq, Eq, Hash)]
pub(crate) struct PyAvatar {
    /// True when the number has a WhatsApp account, False when it has none (the service is
    /// known to say False wrongly for some accounts without a photo). None when the answer did
    /// not say: the newer answer shape (groups, `@lid`) never does.
    #[pyo3(get)]
    exists_whatsapp: Option<bool>,
    /// False when the contact's privacy settings hide the avatar, True when they do not. None
    /// when the answer did not say: the older answer shape (`@c.us`) never does.
    #[pyo3(get)]
    available: Option<bool>,
    /// Link to the picture on pps.whatsapp.net (it expires: see its `oe=` parameter); `""`
    /// when there is no avatar, it is hidden, or there is no account.
    #[pyo3(get)]
    url_avatar: String,
    /// Why the service could not check, e.g. "bad request data" (a malformed chat id) or "get
    /// avatar timeout limit exceeded"; None when it could. These answers are HTTP 200 too.
    #[pyo3(get)]
    reason: Option<String>,
    /// The HTTP status of the answer: always 200 (any other status raises a GreenApiError).
    #[pyo3(get)]
    http_status: u16,
    /// HTTP attempts made for this answer: 1, plus the retries it took (see the Client's
    /// `max_retries`).
    #[pyo3(get)]
    attempts: u32,
}

impl From<Avatar> for PyAvatar {
    fn from(a: Avatar) -> PyAvatar {
        PyAvatar {
            exists_whatsapp: a.exists_whatsapp,
            available: a.available,
            url_avatar: a.url_avatar,
            reason: a.reason,
            http_status: a.http_status,
            attempts: a.attempts,
        }
    }
}

impl PyAvatar {
    /// `url_avatar`, for the download calls.
    pub(crate) fn url(&self) -> &str {
        &self.url_avatar
    }
}

#[pymethods]
impl PyAvatar {
    #[new]
    #[pyo3(
        text_signature = "(*, url_avatar='', exists_whatsapp=None, available=None, reason=None, http_status=200, attempts=1)"
    )]
    #[pyo3(signature = (*, url_avatar = String::new(), exists_whatsapp = None, available = None, reason = None, http_status = 200, attempts = 1))]
    fn new(
        url_avatar: String,
        exists_whatsapp: Option<bool>,
        available: Option<bool>,
        reason: Option<String>,
        http_status: u16,
        attempts: u32,
    ) -> PyAvatar {
        PyAvatar {
            exists_whatsapp,
            available,
            url_avatar,
            reason,
            http_status,
            attempts,
        }
    }

    /// When the link stops working, as an aware UTC `datetime`: the `oe=` parameter of
    /// `url_avatar` (a hexadecimal Unix time on WhatsApp's CDN); None when the URL has none.
    /// `download_avatar` raises ExpiredError for a link past it without asking the CDN.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(t) = crate::link_expiry(&self.url_avatar) else {
            return Ok(None);
        };
        let datetime = py.import("datetime")?;
        let utc = datetime.getattr("timezone")?.getattr("utc")?;
        let secs = crate::avatar::unix_seconds(t);
        datetime
            .getattr("datetime")?
            .call_method1("fromtimestamp", (secs, utc))
            .map(Some)
    }

    /// The answer as a dict with the service's own keys: `urlAvatar` always; `existsWhatsapp`,
    /// `available` and `reason` only when not None, so either answer shape comes back as the
    /// service sent it (a key the service sent as null is left out, like a missing one).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        if let Some(v) = self.exists_whatsapp {
            d.set_item("existsWhatsapp", v)?;
        }
        d.set_item("urlAvatar", &self.url_avatar)?;
        if let Some(v) = &self.reason {
            d.set_item("reason", v)?;
        }
        if let Some(v) = self.available {
            d.set_item("available", v)?;
        }
        Ok(d)
    }

    /// Pickle and copy support: rebuilt as `Avatar(**fields)`.
    // The constructor takes keywords only, and `copyreg.__newobj_ex__(cls, args, kwargs)` is the
    // one reconstructor with keywords that every pickle protocol (0 to 5) and `copy` accept.
    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let a = slf.get();
        let fields = PyDict::new(py);
        fields.set_item("url_avatar", &a.url_avatar)?;
        fields.set_item("exists_whatsapp", a.exists_whatsapp)?;
        fields.set_item("available", a.available)?;
        fields.set_item("reason", &a.reason)?;
        fields.set_item("http_status", a.http_status)?;
        fields.set_item("attempts", a.attempts)?;
        let newobj_ex = py.import("copyreg")?.getattr("__newobj_ex__")?;
        let args = (slf.get_type(), PyTuple::empty(py), fields).into_pyobject(py)?;
        Ok((newobj_ex, args))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let url = PyString::new(py, &self.url_avatar).repr()?;
        let reason = match &self.reason {
            Some(r) => PyString::new(py, r).repr()?.to_cow()?.into_owned(),
            None => "None".to_string(),
        };
        Ok(format!(
            "Avatar(exists_whatsapp={}, available={}, url_avatar={}, reason={}, http_status={}, attempts={})",
            py_bool(self.exists_whatsapp),
            py_bool(self.available),
            url.to_cow()?,
            reason,
            self.http_status,
            self.attempts
        ))
    }
}

fn py_bool(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "True",
        Some(false) => "False",
        None => "None",
    }
}
