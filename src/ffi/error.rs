//! `ga_last_error_message`: why the last client creation or options call on this thread failed.
//!
//! Those calls return only NULL or a code, so the explanation is kept per thread (as libgit2's
//! `git_error_last` does) until the next such call on the same thread.

use std::cell::RefCell;
use std::ffi::{CString, c_char};

thread_local! {
    /// `None` after a success or before any call.
    static LAST: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Records the outcome of a creation or options call on this thread: `Some(message)` for a
/// failure, `None` for a success (which clears the previous message).
pub(crate) fn set_last(message: Option<&str>) {
    let stored = message.map(|m| {
        // A message holding a NUL is cut there rather than lost.
        let end = m.find('\0').unwrap_or(m.len());
        CString::new(&m[..end]).unwrap_or_default()
    });
    // During thread teardown the slot may be gone; there is nobody left to read it then.
    let _ = LAST.try_with(|last| *last.borrow_mut() = stored);
}

/// Why the last `ga_client_new`, `ga_client_new_with_options`, `ga_client_options_init` or
/// `ga_download_avatar` called on this thread failed: it names the argument or option and the reason, and never contains
/// the token. `""` (never NULL) when that call succeeded or none was made on this thread: a
/// successful call clears the message. The string belongs to the library and stays valid until
/// the next of those calls on the same thread; other threads have their own.
#[unsafe(no_mangle)]
pub extern "C" fn ga_last_error_message() -> *const c_char {
    LAST.try_with(|last| last.borrow().as_ref().map(|m| m.as_ptr()))
        .ok()
        .flatten()
        .unwrap_or(c"".as_ptr())
}
