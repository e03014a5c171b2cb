//! The lock that keeps two runs off one output folder, and whether a
//! process that left a temporary file behind is still alive.

use crate::error::{Error, Result};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::*;

/// Is the process `pid` alive (or unknown: then it counts as alive)?
pub fn process_alive(pid: u32) -> bool {
    alive(pid)
}

/// The temporary files `.NAME.tmp-PID` in `parent` that writers of `name`
/// killed before they finished left behind: regular files (not links) of
/// processes that no longer exist, with their lengths. Whether one is
/// ours to remove (empty, or begun as we begin) is the caller's to say.
pub fn stale_temporaries(parent: &Path, name: &str) -> Vec<(PathBuf, u64)> {
    let Ok(list) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let prefix = format!(".{name}.tmp-");
    list.flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let pid = file.strip_prefix(&prefix)?.parse::<u32>().ok()?;
            let path = e.path();
            let meta = std::fs::symlink_metadata(&path).ok()?;
            (meta.is_file() && !process_alive(pid)).then_some((path, meta.len()))
        })
        .collect()
}

pub(super) fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    #[cfg(unix)]
    {
        let Ok(p) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: kill with signal 0 sends nothing; it only reports
        // whether the process exists (ESRCH when it does not).
        let r = unsafe { libc::kill(p, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// The lock that keeps two runs from writing one folder at once.
pub(super) struct Lock {
    path: PathBuf,
    _file: fs::File,
}

impl Lock {
    pub(super) fn acquire(path: &Path, shown: &Path) -> Result<Lock> {
        for _ in 0..5 {
            let mut file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(|e| Error::output(path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    let holder = fs::read_to_string(path).unwrap_or_default();
                    let holder = holder.trim();
                    let who = if holder.is_empty() {
                        "another simulate".to_string()
                    } else {
                        format!("another simulate (process {holder})")
                    };
                    return Err(Error::refused(
                        shown,
                        format!(
                            "{who} is writing this folder now; wait for it to finish, or choose another --out"
                        ),
                    ));
                }
                Err(fs::TryLockError::Error(e)) => return Err(Error::output(path, e)),
            }
            // The lock file may have been removed (by the run that held
            // it, as it ended) between our open and our lock: then the
            // lock is on a file nobody else sees, so start again.
            if same_file(&file, path) {
                let _ = file.set_len(0);
                let _ = write!(file, "{}", std::process::id());
                register(path);
                return Ok(Lock {
                    path: path.to_path_buf(),
                    _file: file,
                });
            }
        }
        Err(Error::refused(
            shown,
            "other runs keep taking this folder's lock; choose another --out",
        ))
    }
}

pub(super) fn same_file(file: &fs::File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still held; the file handle (and the lock) goes
        // right after.
        let _ = fs::remove_file(&self.path);
        unregister(&self.path);
    }
}
