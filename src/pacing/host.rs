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

use super::turns::Turns;

/// The mapping's size: one page, of which [`Turns`] uses the start.
const SIZE: usize = 4096;
const _: () = assert!(size_of::<Turns>() <= SIZE);

/// A mapping of an instance's pacing file.
#[derive(Debug)]
pub(crate) struct Mapped {
    turns: *const Turns,
}

// SAFETY: the mapping is only ever reached through `&Turns`, whose fields are atomics, and it
// lives until `Drop`.
unsafe impl Send for Mapped {}
// SAFETY: as above.
unsafe impl Sync for Mapped {}

impl Mapped {
    pub(crate) fn turns(&self) -> &Turns {
        // SAFETY: a live, page-aligned, shared mapping of SIZE bytes (see `open`); all-zero
        // bytes, what a new file holds, are a valid `Turns`.
        unsafe { &*self.turns }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, used by nothing after this.
        unsafe { libc::munmap(self.turns.cast_mut().cast(), SIZE) };
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
    // SAFETY: our descriptor; the mapping (if any) outlives it.
    unsafe { libc::close(fd) };
    mapped
}

fn map(fd: libc::c_int) -> io::Result<Mapped> {
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
    // growing it at once grow it to the same size.
    // SAFETY: our descriptor.
    if (st.st_size as usize) < SIZE && unsafe { libc::ftruncate(fd, SIZE as libc::off_t) } != 0 {
        return Err(io::Error::last_os_error());
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
    Ok(Mapped {
        turns: p.cast_const().cast(),
    })
}
