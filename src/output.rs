//! Output folders that are replaced whole or not at all.
//!
//! A run writes into a temporary folder beside the destination and renames
//! it into place only when everything is written, so a failed or
//! interrupted run never clobbers the previous output. The temporary folder
//! is created before the simulation starts, so an unwritable destination
//! fails at once rather than after minutes of work.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Temporary folders being written, so that a second Ctrl-C (which exits
/// at once) can still remove them.
static STAGING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes every temporary folder still being written (signal handler).
pub fn remove_staging() {
    if let Ok(list) = STAGING.lock() {
        for p in list.iter() {
            let _ = fs::remove_dir_all(p);
        }
    }
}

fn unregister(p: &Path) {
    if let Ok(mut list) = STAGING.lock() {
        list.retain(|q| q != p);
    }
}

/// A folder being written; [`Staged::commit`] puts it in place.
#[derive(Debug)]
pub struct Staged {
    dest: PathBuf,
    tmp: PathBuf,
    committed: bool,
}

impl Staged {
    /// Prepares to replace `dest`. With `create_parent` the folder that
    /// holds `dest` is created if missing (the default `output/`); without,
    /// a missing parent is an error, since it is most likely a typo.
    pub fn new(dest: &Path, create_parent: bool) -> Result<Staged> {
        if dest.exists() && !dest.is_dir() {
            return Err(Error::output(
                dest,
                "a file is in the way of the output folder",
            ));
        }
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if create_parent {
            fs::create_dir_all(&parent).map_err(|e| Error::output(&parent, e))?;
        } else if !parent.is_dir() {
            return Err(Error::output(
                dest,
                format!(
                    "its parent folder {} does not exist (create it first)",
                    parent.display()
                ),
            ));
        }
        let name = dest
            .file_name()
            .ok_or_else(|| Error::output(dest, "the output path names no folder"))?
            .to_string_lossy()
            .into_owned();
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| Error::output(&tmp, e))?;
        }
        fs::create_dir(&tmp).map_err(|e| Error::output(&parent, e))?;
        if let Ok(mut list) = STAGING.lock() {
            list.push(tmp.clone());
        }
        Ok(Staged {
            dest: dest.to_path_buf(),
            tmp,
            committed: false,
        })
    }

    /// Where files are written until commit.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Writes one file into the staged folder.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> Result<()> {
        let p = self.tmp.join(name);
        fs::write(&p, bytes).map_err(|e| Error::output(&p, e))
    }

    /// Replaces the destination with the staged folder.
    pub fn commit(mut self) -> Result<()> {
        let old = self.tmp.with_file_name(format!(
            ".{}.old-{}",
            self.dest.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        let had_old = self.dest.exists();
        if had_old {
            fs::rename(&self.dest, &old).map_err(|e| Error::output(&self.dest, e))?;
        }
        if let Err(e) = fs::rename(&self.tmp, &self.dest) {
            if had_old {
                let _ = fs::rename(&old, &self.dest);
            }
            return Err(Error::output(&self.dest, e));
        }
        self.committed = true;
        unregister(&self.tmp);
        if had_old {
            let _ = fs::remove_dir_all(&old);
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
            unregister(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("old.txt"), "old").unwrap();
        {
            let s = Staged::new(&dest, false).unwrap();
            s.write("new.txt", "new").unwrap();
            // dropped without commit: nothing changes, nothing left behind
        }
        assert!(dest.join("old.txt").exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let s = Staged::new(&dest, false).unwrap();
        s.write("new.txt", "new").unwrap();
        s.commit().unwrap();
        assert!(!dest.join("old.txt").exists());
        assert!(dest.join("new.txt").exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_file_in_the_way_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        fs::write(&dest, "x").unwrap();
        assert!(matches!(
            Staged::new(&dest, false),
            Err(Error::Output { .. })
        ));
        let deep = dir.path().join("missing/out");
        assert!(matches!(
            Staged::new(&deep, false),
            Err(Error::Output { .. })
        ));
        assert!(Staged::new(&deep, true).is_ok());
    }
}
