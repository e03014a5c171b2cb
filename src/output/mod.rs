//! Output folders: replaced whole or not at all, and only when they are
//! stratsim's to replace.
//!
//! A run writes into a temporary folder beside the destination and renames
//! it into place only when everything is written, so a failed or
//! interrupted run never clobbers the previous output. Replacing a folder
//! deletes what was in it, so before any work [`Staged::prepare`] checks
//! that the destination is one stratsim may replace:
//!
//! - missing, or an empty folder;
//! - a folder stratsim wrote: it holds a marker file, [`MARKER`], listing
//!   the files that run wrote, and nothing else (partial results of
//!   `--shard` runs count as stratsim's too). A file someone added since
//!   (notes, a spreadsheet, a sub-folder) makes the folder theirs again;
//!
//! There is no other exception: a folder without the marker that holds
//! only a summary.json (an output of a version before the marker, or
//! someone's file of that name) is refused, saying how to move it.
//! Anything else is refused (exit 2), naming the folder and why, as is a
//! folder that holds the scenario, a file it extends or a partial result
//! being merged, or the current folder. A symbolic link as the
//! destination is followed: the folder it points to is checked and
//! replaced, the link stays. A mount point cannot be renamed, so it is
//! refused too (exit 4, before any work): write into a folder inside it.
//!
//! One run at a time writes a destination: a lock file beside it
//! (`.NAME.lock`, removed when the run ends) makes a second run to the same
//! folder stop at once and say which process holds it. The holder of the
//! lock also removes the temporary folders that killed runs left behind
//! (`.NAME.tmp-PID` of processes that no longer exist, holding a marker).

mod verdict;
use verdict::*;

mod lock;
use lock::*;
pub use lock::{process_alive, stale_temporaries};

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use crate::error::{Error, Result};

/// The marker file of a folder stratsim wrote: a header line, then the
/// paths (relative, `/`-separated) of the files the run wrote.
pub const MARKER: &str = ".stratsim-output";
const MARKER_HEADER: &str = "stratsim output folder: a later run may replace this folder when it holds only the files listed here";

/// Temporary folders and files being written, and lock files held, so
/// that an exit on a signal can still remove them.
static STAGING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes every temporary folder or file still being written, and the
/// lock files held (the exit path of a signal). Waits for a commit in
/// progress to finish, so a folder is never left half renamed.
pub fn remove_staging() {
    if let Ok(list) = STAGING.lock() {
        for p in list.iter() {
            if p.is_dir() {
                let _ = fs::remove_dir_all(p);
            } else {
                let _ = fs::remove_file(p);
            }
        }
    }
}

fn register(p: &Path) {
    if let Ok(mut list) = STAGING.lock() {
        list.push(p.to_path_buf());
    }
}

fn unregister(p: &Path) {
    if let Ok(mut list) = STAGING.lock() {
        list.retain(|q| q != p);
    }
}

/// The file name suffix of a partial result (`shard-I-of-N.partial`): an
/// output folder rule, so it is defined here and used by `shard`.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// Is a partial result's file name (or its temporary name)?
pub fn is_partial_name(name: &str) -> bool {
    let base = name.strip_prefix('.').unwrap_or(name);
    let base = base.split(".tmp-").next().unwrap_or(base);
    base.starts_with("shard-") && base.ends_with(PARTIAL_SUFFIX)
}

/// A destination resolved to the real folder (symlinks followed) and its
/// parent.
struct Place {
    /// The folder to replace, absolute, symlinks resolved.
    real: PathBuf,
    parent: PathBuf,
    name: String,
}

/// Resolves `dest`, creating its parent when `create_parent`.
fn resolve(dest: &Path, create_parent: bool) -> Result<Place> {
    let meta = fs::symlink_metadata(dest);
    if let Ok(m) = &meta {
        if m.file_type().is_symlink() && fs::metadata(dest).is_err() {
            return Err(Error::refused(
                dest,
                "it is a symbolic link to nothing; remove the link or point it at a folder",
            ));
        }
    }
    if meta.is_ok() {
        if !dest.is_dir() {
            return Err(Error::output(
                dest,
                "a file is in the way of the output folder",
            ));
        }
        let real = fs::canonicalize(dest).map_err(|e| Error::output(dest, e))?;
        let (Some(parent), Some(name)) = (real.parent(), real.file_name()) else {
            return Err(Error::refused(
                dest,
                "it is the root of the file system; choose a folder inside it",
            ));
        };
        return Ok(Place {
            parent: parent.to_path_buf(),
            name: name.to_string_lossy().into_owned(),
            real,
        });
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = match dest.file_name() {
        Some(n) => n.to_string_lossy().into_owned(),
        None => return Err(Error::output(dest, "the output path names no folder")),
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
    let parent = fs::canonicalize(&parent).map_err(|e| Error::output(&parent, e))?;
    Ok(Place {
        real: parent.join(&name),
        parent,
        name,
    })
}

/// Files a destination must not hold (a run replaces the whole folder):
/// what they are, and their paths.
#[derive(Clone, Debug, Default)]
pub struct Inputs(pub Vec<(&'static str, PathBuf)>);

impl Inputs {
    /// The first input inside `dir` (or equal to it), if any.
    fn inside(&self, dir: &Path) -> Option<(&'static str, &Path)> {
        self.0.iter().find_map(|(what, p)| {
            let c = fs::canonicalize(p).ok()?;
            c.starts_with(dir).then_some((*what, p.as_path()))
        })
    }
}

/// Refuses folders that hold what the run reads or where it stands.
fn check_holds(place: &Place, shown: &Path, inputs: &Inputs) -> Result<()> {
    if let Ok(cwd) = std::env::current_dir().and_then(fs::canonicalize) {
        if cwd.starts_with(&place.real) {
            return Err(Error::refused(
                shown,
                "it is (or holds) the current folder, which a run would replace; choose a folder of its own, e.g. output/NAME",
            ));
        }
    }
    if let Some((what, p)) = inputs.inside(&place.real) {
        return Err(Error::refused(
            shown,
            format!(
                "it holds {what} {}, and a run replaces the whole folder; choose another --out",
                p.display()
            ),
        ));
    }
    Ok(())
}

/// Removes what killed runs left beside `name` in `parent`: temporary
/// folders (`.NAME.tmp-PID`) of processes that no longer exist, and
/// previous outputs (`.NAME.old-PID`) that a run killed in the middle of
/// its final renames left aside (put back when the folder is missing).
fn clean_stale(parent: &Path, name: &str) {
    let Ok(list) = fs::read_dir(parent) else {
        return;
    };
    let tmp_prefix = format!(".{name}.tmp-");
    let old_prefix = format!(".{name}.old-");
    for e in list.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let (pid, old) = if let Some(p) = file.strip_prefix(&tmp_prefix) {
            (p, false)
        } else if let Some(p) = file.strip_prefix(&old_prefix) {
            (p, true)
        } else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let path = e.path();
        if alive(pid) || !path.is_dir() || fs::symlink_metadata(&path).is_err() {
            continue;
        }
        let marked = path.join(MARKER).is_file();
        if old {
            let dest = parent.join(name);
            if !dest.exists() {
                let _ = fs::rename(&path, &dest);
            } else if marked {
                let _ = remove_ours(&path);
            }
        } else if marked {
            let _ = fs::remove_dir_all(&path);
        } else {
            let _ = fs::remove_dir(&path); // empty: created, never written
        }
    }
}

/// A folder being written; [`Staged::commit`] puts it in place.
#[derive(Debug)]
pub struct Staged {
    /// The destination as the user gave it (for messages).
    shown: PathBuf,
    /// The real folder replaced (symlinks resolved).
    real: PathBuf,
    tmp: PathBuf,
    committed: bool,
    lock: Option<LockHandle>,
}

/// Keeps a [`Lock`] (opaque, for Debug).
struct LockHandle(#[allow(dead_code)] Lock);

impl std::fmt::Debug for LockHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("lock")
    }
}

impl Staged {
    /// Prepares to replace `dest` (see the module docs); nothing it reads
    /// is to be inside. With `create_parent` the folder that holds `dest`
    /// is created if missing (the default `output/`); without, a missing
    /// parent is an error, since it is most likely a typo.
    pub fn new(dest: &Path, create_parent: bool) -> Result<Staged> {
        Staged::prepare(dest, create_parent, &Inputs::default())
    }

    /// [`Staged::new`], refusing a `dest` that holds one of `inputs`.
    pub fn prepare(dest: &Path, create_parent: bool, inputs: &Inputs) -> Result<Staged> {
        let place = resolve(dest, create_parent)?;
        check_holds(&place, dest, inputs)?;
        let lock = Lock::acquire(&place.parent.join(format!(".{}.lock", place.name)), dest)?;
        clean_stale(&place.parent, &place.name);
        if place.real.exists() {
            if is_mount_point(&place.real) {
                return Err(Error::output(
                    dest,
                    "it is a mount point, which cannot be replaced by renaming (how a run puts its output in place); write into a folder inside it, e.g. --out DIR/run",
                ));
            }
            match judge(&place.real).map_err(|e| Error::output(dest, e))? {
                Verdict::Ours(_) => {}
                Verdict::Theirs(theirs) => {
                    let theirs: Vec<String> = theirs
                        .into_iter()
                        .map(|t| {
                            if t.ends_with('/') && place.real.join(&t).join(MARKER).is_file() {
                                format!("{t} (another run's output)")
                            } else {
                                t
                            }
                        })
                        .collect();
                    // No marker, and what a run writes: an output of a
                    // version before the marker, or someone's files of
                    // those names; only the user can tell.
                    let unmarked = !place.real.join(MARKER).exists()
                        && theirs
                            .iter()
                            .any(|t| t == "summary.json" || t == "summary.csv");
                    if unmarked {
                        return Err(Error::refused(
                            dest,
                            format!(
                                "it holds {} but no {MARKER} marker, so stratsim cannot tell its own output (of a version before the marker) from your files, and a run replaces its output folder whole; if it is an old output you want to keep, move it aside (e.g. `mv {d} {d}.old`), if not, delete it yourself, or choose another --out",
                                some(&theirs),
                                d = dest.display()
                            ),
                        ));
                    }
                    return Err(Error::refused(
                        dest,
                        format!(
                            "it holds files stratsim did not write ({}); a run replaces its output folder whole, so it writes only into a new or empty folder or one it wrote before: choose another --out, or move those files out",
                            some(&theirs)
                        ),
                    ));
                }
            }
        }
        let tmp = place
            .parent
            .join(format!(".{}.tmp-{}", place.name, std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| Error::output(&tmp, e))?;
        }
        fs::create_dir(&tmp).map_err(|e| Error::output(&place.parent, e))?;
        register(&tmp);
        let staged = Staged {
            shown: dest.to_path_buf(),
            real: place.real,
            tmp,
            committed: false,
            lock: Some(LockHandle(lock)),
        };
        // The marker goes in first: a temporary folder left by a killed
        // run is then recognisably stratsim's; and it proves the folder
        // writable before any work.
        staged.write(MARKER, format!("{MARKER_HEADER}\n"))?;
        Ok(staged)
    }

    /// Where files are written until commit.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// The destination, as given.
    pub fn dest(&self) -> &Path {
        &self.shown
    }

    /// Writes one file into the staged folder.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> Result<()> {
        let p = self.tmp.join(name);
        fs::write(&p, bytes).map_err(|e| Error::output(&p, e))
    }

    /// Replaces the destination with the staged folder. Returns a note
    /// for the user when the previous folder held files stratsim did not
    /// write (added while the run was going): they are kept beside it.
    pub fn commit(mut self) -> Result<Option<String>> {
        let listed = entries(&self.tmp).map_err(|e| Error::output(&self.tmp, e))?;
        let mut marker = format!("{MARKER_HEADER}\n");
        for e in listed.iter().filter(|e| *e != MARKER) {
            marker.push_str(e);
            marker.push('\n');
        }
        self.write(MARKER, marker)?;
        let name = self
            .real
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let old = self
            .tmp
            .with_file_name(format!(".{name}.old-{}", std::process::id()));
        {
            // The renames run as one step against a signal's exit (which
            // takes the same lock before removing anything).
            let _guard = STAGING.lock();
            if crate::engine::INTERRUPTED.load(Ordering::SeqCst) {
                return Err(Error::Interrupted);
            }
            let had_old = self.real.exists();
            if had_old {
                fs::rename(&self.real, &old).map_err(|e| Error::output(&self.shown, e))?;
            }
            if let Err(e) = fs::rename(&self.tmp, &self.real) {
                if had_old {
                    let _ = fs::rename(&old, &self.real);
                }
                return Err(Error::output(&self.shown, e));
            }
            self.committed = true;
            drop(_guard);
            unregister(&self.tmp);
            if !had_old {
                return Ok(None);
            }
        }
        let left = remove_ours(&old).unwrap_or_default();
        if left.is_empty() {
            return Ok(None);
        }
        let kept = self
            .real
            .with_file_name(format!("{name}.kept-{}", std::process::id()));
        let _ = fs::rename(&old, &kept);
        Ok(Some(format!(
            "note: {} held files stratsim did not write ({}), added while the run was going; they are kept in {}",
            self.shown.display(),
            some(&left),
            kept.display()
        )))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
            unregister(&self.tmp);
        }
        self.lock.take();
    }
}

/// Prepares the folder a shard writes its partial result into: created
/// (and marked) when missing; an existing folder is only added to (one
/// file, never replacing a file that is not a partial result), so it need
/// not be stratsim's. Stale temporary files of killed shards go.
pub fn prepare_shard_dir(dir: &Path, create_parent: bool) -> Result<()> {
    let place = resolve(dir, create_parent)?;
    match fs::create_dir(&place.real) {
        Ok(()) => {
            let marker = place.real.join(MARKER);
            fs::write(&marker, format!("{MARKER_HEADER}\n"))
                .map_err(|e| Error::output(&marker, e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && place.real.is_dir() => {
            // An empty folder becomes a shard folder: marked, so that its
            // partial results count as stratsim's.
            let empty = fs::read_dir(&place.real).is_ok_and(|mut l| l.next().is_none());
            if empty {
                let marker = place.real.join(MARKER);
                fs::write(&marker, format!("{MARKER_HEADER}\n"))
                    .map_err(|e| Error::output(&marker, e))?;
            }
        }
        Err(e) => return Err(Error::output(dir, e)),
    }
    if let Ok(list) = fs::read_dir(&place.real) {
        for e in list.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some((_, pid)) = name.rsplit_once(".tmp-") {
                if is_partial_name(&name) && pid.parse().is_ok_and(|p| !alive(p)) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
    Ok(())
}

/// Writes `bytes` as `dir/name` through a temporary file (removed on a
/// signal's exit), refusing to replace a file of that name that is not
/// what `is_ours` recognises.
pub fn write_file_atomic(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    is_ours: impl Fn(&Path) -> bool,
) -> Result<PathBuf> {
    let path = dir.join(name);
    if path.exists() && !is_ours(&path) {
        return Err(Error::refused(
            &path,
            "a file of that name is in the way and stratsim did not write it; move it out or choose another --out",
        ));
    }
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    register(&tmp);
    let written = fs::write(&tmp, bytes).map_err(|e| Error::output(&tmp, e));
    let done = written.and_then(|()| fs::rename(&tmp, &path).map_err(|e| Error::output(&path, e)));
    if done.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    unregister(&tmp);
    done.map(|()| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        {
            let s = Staged::new(&dest, false).unwrap();
            s.write("old.txt", "old").unwrap();
            s.commit().unwrap();
        }
        assert!(dest.join("old.txt").exists());
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

    #[test]
    fn only_folders_stratsim_wrote_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        fs::create_dir(&dest).unwrap();
        // Empty: fine.
        Staged::new(&dest, false).unwrap().commit().unwrap();
        assert!(dest.join(MARKER).exists());
        // Someone adds a file: no longer replaceable.
        fs::write(dest.join("thesis.xlsx"), "mine").unwrap();
        let e = Staged::new(&dest, false).unwrap_err();
        assert!(matches!(e, Error::Refused { .. }), "{e}");
        assert!(e.to_string().contains("thesis.xlsx"), "{e}");
        assert!(dest.join("thesis.xlsx").exists());
        // No marker, only the files a run writes (an old output, or a
        // user's summary.json): not ours either, with how to move it.
        let legacy = dir.path().join("legacy");
        fs::create_dir(&legacy).unwrap();
        fs::write(legacy.join("summary.json"), "{}").unwrap();
        fs::write(legacy.join("value_cdf.png"), "x").unwrap();
        let e = Staged::new(&legacy, false).unwrap_err().to_string();
        assert!(
            e.contains("no .stratsim-output marker") && e.contains("mv "),
            "{e}"
        );
        assert!(legacy.join("summary.json").exists());
        // Only PNGs: not recognisably an output.
        let pngs = dir.path().join("pngs");
        fs::create_dir(&pngs).unwrap();
        fs::write(pngs.join("holiday.png"), "x").unwrap();
        assert!(Staged::new(&pngs, false).is_err());
    }

    #[test]
    fn a_file_added_while_a_run_goes_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let s = Staged::new(&dest, false).unwrap();
        s.write("a.txt", "1").unwrap();
        assert!(s.commit().unwrap().is_none());
        let s = Staged::new(&dest, false).unwrap();
        s.write("a.txt", "2").unwrap();
        // Someone saves a file into the old output meanwhile.
        fs::write(dest.join("notes.md"), "mine").unwrap();
        let note = s.commit().unwrap().expect("a note");
        assert!(note.contains("notes.md"), "{note}");
        assert_eq!(fs::read_to_string(dest.join("a.txt")).unwrap(), "2");
        let kept = dir.path().join(format!("out.kept-{}", std::process::id()));
        assert_eq!(fs::read_to_string(kept.join("notes.md")).unwrap(), "mine");
        assert!(!kept.join("a.txt").exists(), "stratsim's own files go");
    }

    #[test]
    fn stale_temporary_folders_of_dead_runs_go() {
        let dir = tempfile::tempdir().unwrap();
        // pid 4194304 is above Linux's pid_max: never alive.
        let stale = dir.path().join(".out.tmp-4194304");
        fs::create_dir(&stale).unwrap();
        fs::write(stale.join(MARKER), format!("{MARKER_HEADER}\n")).unwrap();
        fs::write(stale.join("summary.json"), "{}").unwrap();
        let unmarked = dir.path().join(".out.tmp-4194305");
        fs::create_dir(&unmarked).unwrap();
        fs::write(unmarked.join("x"), "not ours").unwrap();
        Staged::new(&dir.path().join("out"), false)
            .unwrap()
            .commit()
            .unwrap();
        assert!(!stale.exists());
        assert!(unmarked.join("x").exists());
    }

    #[test]
    fn mount_points_are_known() {
        assert!(is_mount_point(Path::new("/proc")));
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_mount_point(dir.path()));
        assert_eq!(unescape_mount("/a\\040b"), "/a b");
    }
}
