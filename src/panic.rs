//! Catching panics at the C and Python boundaries without printing them.
//!
//! A caught panic is reported to the caller as `GA_PANIC` or a `GreenApiError` with code
//! `"panic"`; Rust's default hook would still print "thread ... panicked at ..." to the host's
//! stderr, which is not ours to write to. So [`catch`] marks the thread while it runs, and a
//! hook installed once stays silent for panics on a marked thread and hands every other panic
//! (the host's own, in a Rust host) to the hook that was installed before it.

use crate::fork::OnceNoWait;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    /// How many [`catch`] calls are running on this thread (they may nest).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Not a `std::sync::Once`: a child forked while another thread of its parent installed the
/// hook would wait for it forever (it then does without the hook, and a caught panic prints).
static INSTALL: OnceNoWait = OnceNoWait::new();

/// Unmarks the thread when [`catch`] ends, also when it ends by unwinding.
struct Mark;

impl Mark {
    fn new() -> Mark {
        DEPTH.with(|d| d.set(d.get() + 1));
        Mark
    }
}

impl Drop for Mark {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get() - 1));
    }
}

fn inside_boundary() -> bool {
    // During thread teardown the counter may be gone: no boundary is running then.
    DEPTH.try_with(|d| d.get() > 0).unwrap_or(false)
}

fn install_hook() {
    INSTALL.run(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !inside_boundary() {
                previous(info);
            }
        }));
        true
    });
}

/// Runs `f`, turning a panic into `Err` (like `catch_unwind`) without printing it.
///
/// Boundary code only: the caller turns `Err` into an error code or exception, and must not
/// show the payload (nothing guarantees it is free of the token).
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    install_hook();
    let _mark = Mark::new();
    panic::catch_unwind(AssertUnwindSafe(f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::sync::Mutex;

    const CHILD_ENV: &str = "GREENAPI_PANIC_HOOK_CHILD";
    const TEST_NAME: &str = "panic::tests::silent_inside_catch_and_chained_outside";

    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

    fn payload(info: &panic::PanicHookInfo<'_>) -> String {
        let p = info.payload();
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default()
    }

    /// The hook is process-wide and installed once, so the check runs in a child process of
    /// its own, where the capturing hook is surely installed before the library's.
    #[test]
    fn silent_inside_catch_and_chained_outside() {
        if std::env::var_os(CHILD_ENV).is_some() {
            child();
            return;
        }
        let out = Command::new(std::env::current_exe().unwrap())
            .args([TEST_NAME, "--exact", "--test-threads=1", "--nocapture"])
            .env(CHILD_ENV, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "child failed:\n{stdout}\n{stderr}"
        );
    }

    fn child() {
        // Also printed, so that a failed assertion below (whose panic comes here too) shows.
        panic::set_hook(Box::new(|info| {
            eprintln!("hook saw: {}", payload(info));
            SEEN.lock().unwrap().push(payload(info));
        }));
        // A copy: the lock must not be held while an assertion may panic into the hook.
        let seen = || SEEN.lock().unwrap().clone();

        let inside = catch(|| -> u32 { panic!("inside the boundary") });
        assert!(inside.is_err());
        let nested = catch(|| catch(|| -> u32 { panic!("nested inside") }).is_err());
        assert!(matches!(nested, Ok(true)));
        assert_eq!(catch(|| 7).ok(), Some(7));
        let before = seen();
        assert!(before.is_empty(), "{before:?}");

        // After catch returned, even by unwinding, this thread is a host thread again.
        let outside = panic::catch_unwind(|| -> u32 { panic!("outside on the same thread") });
        assert!(outside.is_err());
        let other = std::thread::spawn(|| -> u32 { panic!("outside on another thread") }).join();
        assert!(other.is_err());
        assert_eq!(
            seen(),
            ["outside on the same thread", "outside on another thread"]
        );
    }
}
