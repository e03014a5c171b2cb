//! Writing what `fit` and `history` produce, without ever clobbering a
//! file they did not write, and printing without panicking on a closed
//! pipe.
//!
//! Each generated file says in its first line which command wrote it; an
//! existing file without that line (a hand-written scenario, the input
//! history itself) is refused. A file is written beside its destination
//! and renamed over it, so a failed write leaves the old one whole.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Refuses a destination that is not a file this program wrote with
/// `marker` in its first line, or whose folder does not exist.
pub fn check_destination(path: &Path, marker: &str) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(Error::output(
            path,
            format!(
                "its folder {} does not exist (create it first)",
                parent.display()
            ),
        ));
    }
    if path.file_name().is_none() {
        return Err(Error::output(path, "the path names no file"));
    }
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::output(path, e)),
    };
    if !meta.file_type().is_file() {
        return Err(Error::output(
            path,
            "something other than a regular file is in the way; choose another path",
        ));
    }
    let mut head = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| Error::output(path, e))?;
    let text = String::from_utf8_lossy(&head);
    let first = text.lines().next().unwrap_or("");
    if !first
        .to_ascii_lowercase()
        .contains(&marker.to_ascii_lowercase())
    {
        return Err(Error::output(
            path,
            format!(
                "the file exists and was not written by `simulate` (its first line lacks \"{marker}\"); it is left untouched: remove it or choose another path"
            ),
        ));
    }
    Ok(())
}

/// Writes `text` to `path` (checked with [`check_destination`]) through a
/// temporary file renamed into place.
pub fn write_generated(path: &Path, marker: &str, text: &str) -> Result<()> {
    check_destination(path, marker)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    clean_stale(path, &name, marker);
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let written = fs::write(&tmp, text).and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(Error::output(path, e));
    }
    Ok(())
}

/// Removes the temporary files (`.NAME.tmp-PID`) a killed `write_generated`
/// of `path` left beside it: of processes that no longer exist, regular
/// files, empty or starting with `marker` (anything else stays).
fn clean_stale(path: &Path, name: &str, marker: &str) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(list) = fs::read_dir(parent) else {
        return;
    };
    let prefix = format!(".{name}.tmp-");
    for e in list.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = file
            .strip_prefix(&prefix)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let p = e.path();
        let Ok(meta) = fs::symlink_metadata(&p) else {
            continue;
        };
        if !meta.is_file() || crate::output::process_alive(pid) {
            continue;
        }
        let mut head = Vec::new();
        let ours = meta.len() == 0
            || fs::File::open(&p)
                .and_then(|f| f.take(4096).read_to_end(&mut head))
                .is_ok_and(|_| {
                    let text = String::from_utf8_lossy(&head);
                    let first = text.lines().next().unwrap_or("").to_ascii_lowercase();
                    first.contains(&marker.to_ascii_lowercase())
                });
        if ours {
            let _ = fs::remove_file(&p);
        }
    }
}

/// Prints to stdout; a closed pipe (`| head`) ends the output quietly.
pub fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => Err(Error::output(Path::new("<stdout>"), e)),
        _ => Ok(()),
    }
}

/// Prints a warning to stderr (never panics).
pub fn warn(message: &str) {
    let _ = writeln!(std::io::stderr(), "warning: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_overwrites_a_file_it_did_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join("units.toml");
        write_generated(
            &mine,
            "Generated by `simulate fit`",
            "# Generated by `simulate fit`\na = 1\n",
        )
        .unwrap();
        write_generated(
            &mine,
            "Generated by `simulate fit`",
            "# Generated by `simulate fit`\na = 2\n",
        )
        .unwrap();
        assert!(fs::read_to_string(&mine).unwrap().contains("a = 2"));

        let theirs = dir.path().join("scenario.toml");
        fs::write(&theirs, "[scenario]\n").unwrap();
        let e = write_generated(&theirs, "Generated by `simulate fit`", "x").unwrap_err();
        assert!(e.to_string().contains("not written by `simulate`"), "{e}");
        assert_eq!(fs::read_to_string(&theirs).unwrap(), "[scenario]\n");

        let e = write_generated(dir.path(), "Generated by `simulate fit`", "x").unwrap_err();
        assert!(e.to_string().contains("in the way"), "{e}");
        let e = write_generated(&dir.path().join("nope/x.toml"), "m", "x").unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_killed_writes_temporary_file_is_cleaned_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let m = "Generated by `simulate fit`";
        // pids above Linux's largest (4194304) never run.
        let stale = dir.path().join(".units.toml.tmp-4194305");
        fs::write(&stale, format!("# {m}\na = 1")).unwrap();
        let empty = dir.path().join(".units.toml.tmp-4194306");
        fs::write(&empty, "").unwrap();
        let foreign = dir.path().join(".units.toml.tmp-4194307");
        fs::write(&foreign, "my notes\n").unwrap();
        write_generated(&dir.path().join("units.toml"), m, &format!("# {m}\n")).unwrap();
        assert!(!stale.exists() && !empty.exists());
        assert_eq!(fs::read_to_string(&foreign).unwrap(), "my notes\n");
    }
}
