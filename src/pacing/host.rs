//! Host pacing: the [`Turns`] of one instance in a small file that every process of this user
//! maps, so that every client for the instance on the machine, in any process, forked or not,
//! C or Python, shares one pacing.
//!
//! The file is `<dir>/getAvatar-<idInstance>.v1` (the name carries the layout's version, so a
//! library with another layout never reads this one). `<dir>` is `$GREENAPI_RUNTIME_DIR` when
//! set, else `$XDG_RUNTIME_DIR/greenapi` when that is set, else `/dev/shm/greenapi-<uid>`; it is
//! made with mode 0700 and used only when it is a directory (not a symlink) owned by this user
//! with no access for others, and the file only when it is a regular file owned by this user.
//! Anything else: [`open`] fails, and the client paces alone (process pacing).

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::turns::Turns;

/// The mapping's size: one page, of which [`Turns`] uses the start.
const SIZE: usize = 4096;
const _: () = assert!(size_of::<Turns>() <= SIZE);

/// The pacing file of one instance, mapped, and mapped again when it is replaced, removed or
/// cut short under the client (logind's `RemoveIPC` removes a user's files in /dev/shm when
/// their last session ends; a careless `> file` truncates it).
#[derive(Debug)]
pub(crate) struct Mapped {
    path: CString,
    /// `None` once the file could not be mapped again: the client then paces alone.
    current: RwLock<Option<Arc<Mapping>>>,
    /// When the path was last looked up to see that it is still the file mapped.
    looked_at: AtomicU64,
}

/// One mapping of the file, and the descriptor it was made from.
#[derive(Debug)]
pub(crate) struct Mapping {
    turns: *const Turns,
    fd: libc::c_int,
    identity: (libc::dev_t, libc::ino_t),
}

// SAFETY: the mapping is only ever reached through `&Turns`, whose fields are atomics, and it
// lives until `Drop`; the descriptor is only queried.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl std::ops::Deref for Mapping {
    type Target = Turns;

    fn deref(&self) -> &Turns {
        // SAFETY: a live, page-aligned, shared mapping of SIZE bytes (see `map`), whose blocks
        // are allocated; all-zero bytes, what a new file holds, are a valid `Turns`.
        unsafe { &*self.turns }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping and descriptor made in `map`, used by nothing after this.
        unsafe {
            libc::munmap(self.turns.cast_mut().cast(), SIZE);
            libc::close(self.fd);
        }
    }
}

/// How often the path is looked up again (the descriptor is asked at every turn).
const LOOK_EVERY: u64 = 1_000_000_000;

impl Mapped {
    /// The mapping to use now: the same one while it is still the file at the path, whole;
    /// else the file mapped again; `None` when that fails.
    pub(crate) fn current(&self) -> Option<Arc<Mapping>> {
        let mapping = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        if self.still_good(&mapping) {
            return Some(mapping);
        }
        let fresh = open_path(&self.path).ok().map(Arc::new);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        fresh
    }

    fn still_good(&self, m: &Mapping) -> bool {
        // SAFETY: all-zero bytes are a valid `stat`, which fstat fills in.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: our descriptor and a writable stat.
        if unsafe { libc::fstat(m.fd, &raw mut st) } != 0
            || st.st_nlink == 0
            || (st.st_size as usize) < SIZE
        {
            return false;
        }
        let now = super::turns::now_ns();
        let looked = self.looked_at.load(Ordering::Acquire);
        if now.saturating_sub(looked) < LOOK_EVERY
            || self
                .looked_at
                .compare_exchange(looked, now, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return true;
        }
        lstat(&self.path).is_ok_and(|st| (st.st_dev, st.st_ino) == m.identity)
    }
}

/// The directory of the pacing files, from the environment (see the module doc).
pub(crate) fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("GREENAPI_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return Path::new(&d).join("greenapi");
    }
    // SAFETY: a plain query.
    let uid = unsafe { libc::getuid() };
    PathBuf::from(format!("/dev/shm/greenapi-{uid}"))
}

fn c_path(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the path"))
}

/// `lstat` of `path`.
fn lstat(path: &CString) -> io::Result<libc::stat> {
    // SAFETY: all-zero bytes are a valid `stat`, which lstat fills in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a writable stat.
    if unsafe { libc::lstat(path.as_ptr(), &raw mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

/// Makes `dir` (mode 0700) if it is missing, and checks that it is this user's own.
fn own_dir(dir: &Path) -> io::Result<()> {
    let path = c_path(dir)?;
    // SAFETY: a NUL-terminated path.
    if unsafe { libc::mkdir(path.as_ptr(), 0o700) } != 0 {
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::AlreadyExists {
            return Err(e);
        }
    }
    let st = lstat(&path)?;
    // SAFETY: a plain query.
    let uid = unsafe { libc::getuid() };
    let refuse = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            why.to_string(),
        ))
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return refuse("not a directory (or a symlink)");
    }
    if st.st_uid != uid {
        return refuse("owned by another user");
    }
    if st.st_mode & 0o077 != 0 {
        return refuse("open to other users");
    }
    Ok(())
}

/// Maps the pacing file of `id_instance`, making it (and its directory) when missing.
pub(crate) fn open(id_instance: &str) -> io::Result<Mapped> {
    let dir = dir();
    own_dir(&dir)?;
    let path = c_path(&dir.join(format!("getAvatar-{id_instance}.v1")))?;
    let mapping = open_path(&path)?;
    Ok(Mapped {
        path,
        current: RwLock::new(Some(Arc::new(mapping))),
        looked_at: AtomicU64::new(super::turns::now_ns()),
    })
}

/// Opens (making it when missing) and maps the file at `path`.
fn open_path(path: &CString) -> io::Result<Mapping> {
    // SAFETY: a NUL-terminated path; O_NOFOLLOW refuses a symlink in the file's place.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let mapped = map(fd);
    if mapped.is_err() {
        // SAFETY: our descriptor, not kept.
        unsafe { libc::close(fd) };
    }
    mapped
}

/// Maps `fd`, which the mapping then owns.
fn map(fd: libc::c_int) -> io::Result<Mapping> {
    // SAFETY: all-zero bytes are a valid `stat`, which fstat fills in.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: our descriptor and a writable stat.
    if unsafe { libc::fstat(fd, &raw mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a plain query.
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_uid != unsafe { libc::getuid() } {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "the pacing file is not this user's regular file",
        ));
    }
    // A new file is empty: grown to the page, it reads as zeros, a fresh pacing. Two processes
    // growing it at once grow it to the same size. Allocated, not just grown: a page of a
    // sparse file on a full tmpfs would kill the process (SIGBUS) at its first write; a
    // filesystem with no room refuses here instead, and the client paces alone.
    // SAFETY: our descriptor.
    let rc = unsafe { libc::posix_fallocate(fd, 0, SIZE as libc::off_t) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    // SAFETY: a shared read-write mapping of SIZE bytes of our descriptor, at an address the
    // kernel chooses (page-aligned).
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(Mapping {
        turns: p.cast_const().cast(),
        fd,
        identity: (st.st_dev, st.st_ino),
    })
}
