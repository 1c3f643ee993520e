//! Saving a picture: a file name made safe from a chat id, and a write that never leaves half a
//! picture under the final name nor follows a link planted there.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::check::ImageType;
use crate::error::Error;

/// The longest file stem made from a chat id, in bytes: far below any file system's 255, with
/// room for the extension and the temporary name's suffix.
pub const MAX_STEM_BYTES: usize = 100;

/// A file stem for `chat_id`: every character but ASCII letters, digits and `@ . _ + -` becomes
/// `_`, a leading `.` too (no hidden file, no `..`), cut at [`MAX_STEM_BYTES`]; never empty.
/// `79001234567@c.us` stays as it is.
pub fn file_stem(chat_id: &str) -> String {
    let mut stem: String = chat_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(MAX_STEM_BYTES)
        .collect();
    if stem.starts_with('.') {
        stem.replace_range(..1, "_");
    }
    if stem.is_empty() {
        stem.push('_');
    }
    stem
}

/// Writes `bytes` to `dir/stem.ext` (`ext` from `kind`): into a new temporary file in `dir`
/// (created exclusively, so a planted file or link is never opened), flushed to disk, then
/// renamed over the final name. A rename replaces a symlink at the final name instead of
/// writing through it, and a crash leaves at most a `.stem.*.part` file, never half a picture
/// under the final name.
pub(crate) fn write_picture(
    dir: &Path,
    stem: &str,
    kind: ImageType,
    bytes: &[u8],
) -> Result<PathBuf, Error> {
    let final_path = dir.join(format!("{stem}.{}", kind.extension()));
    let failed = |what: &str, e: io::Error| {
        Error::invalid(format!(
            "the picture cannot be saved: {what} {}: {e}",
            final_path.display()
        ))
    };
    let (temp, mut file) = create_temp(dir, stem).map_err(|e| failed("creating a file for", e))?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::rename(&temp, &final_path));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(failed("writing", e));
    }
    // The rename itself is made durable by flushing the directory; a failure here loses
    // nothing that is not already on disk under one name or the other.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(final_path)
}

/// A new file `dir/.stem.<n>.part`, created exclusively and not through a symlink.
fn create_temp(dir: &Path, stem: &str) -> io::Result<(PathBuf, fs::File)> {
    let pid = std::process::id();
    for n in 0u32..100 {
        let salt = crate::retry::random_u64() % 1_000_000_000;
        let temp = dir.join(format!(".{stem}.{pid}.{salt}.{n}.part"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp)
        {
            Ok(f) => return Ok((temp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free temporary name",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems() {
        assert_eq!(file_stem("79001234567@c.us"), "79001234567@c.us");
        assert_eq!(file_stem("../etc/passwd"), "_._etc_passwd");
        assert_eq!(file_stem(".hidden"), "_hidden");
        assert_eq!(file_stem(""), "_");
        assert_eq!(file_stem("a/b\\c\0d"), "a_b_c_d");
        assert_eq!(file_stem("é"), "_");
        assert_eq!(file_stem(&"x".repeat(500)).len(), MAX_STEM_BYTES);
    }

    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let dir = std::env::temp_dir().join(format!("greenapi-save-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("x.png")).unwrap();
        let p = write_picture(&dir, "x", ImageType::Png, b"\x89PNG\r\n\x1a\nbody").unwrap();
        assert_eq!(p, dir.join("x.png"));
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(!fs::symlink_metadata(&p).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&p).unwrap(), b"\x89PNG\r\n\x1a\nbody");
        // Nothing but the picture and the victim is left.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
        fs::remove_dir_all(&dir).unwrap();
    }
}
