//! Which folders a run may replace: the marker's list of files against
//! what a folder holds, mount points, and removing only what stratsim wrote.

use std::fs;
use std::path::Path;

use super::*;

/// Every entry under `dir`, as relative `/`-separated paths (folders end
/// with `/`), sorted; symlinks are listed, not followed.
pub(super) fn entries(dir: &Path) -> std::io::Result<Vec<String>> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<String>) -> std::io::Result<()> {
        for e in fs::read_dir(root.join(rel))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type()?.is_dir() {
                out.push(format!("{path}/"));
                walk(root, &path, out)?;
            } else {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

/// The files a marker lists (None when `dir` has no marker).
pub(super) fn manifest(dir: &Path) -> Option<Vec<String>> {
    let text = fs::read_to_string(dir.join(MARKER)).ok()?;
    let mut lines = text.lines();
    if lines.next() != Some(MARKER_HEADER) {
        return None;
    }
    Some(lines.map(str::to_string).collect())
}

/// What stratsim may do with an existing folder.
pub(super) enum Verdict {
    /// Replace it; these files are stratsim's (to delete once replaced).
    Ours(Vec<String>),
    /// Leave it: it holds these entries stratsim did not write.
    Theirs(Vec<String>),
}

/// Whether `dir` (an existing folder) is stratsim's to replace.
pub(super) fn judge(dir: &Path) -> std::io::Result<Verdict> {
    let all = entries(dir)?;
    let listed = manifest(dir);
    // Without a marker nothing is ours (only an empty folder may be
    // replaced); with one, what it lists and shards' partial results.
    let ours = |e: &String| -> bool {
        match &listed {
            Some(files) => {
                e == MARKER
                    || is_partial_name(e)
                    || files.contains(e)
                    || (e.ends_with('/') && files.iter().any(|f| f.starts_with(e.as_str())))
            }
            None => false,
        }
    };
    let theirs: Vec<String> = all.iter().filter(|e| !ours(e)).cloned().collect();
    // A folder stands for what is in it.
    let theirs: Vec<String> = theirs
        .iter()
        .filter(|e| {
            !theirs
                .iter()
                .any(|t| t.ends_with('/') && *e != t && e.starts_with(t.as_str()))
        })
        .cloned()
        .collect();
    if theirs.is_empty() {
        Ok(Verdict::Ours(all))
    } else {
        Ok(Verdict::Theirs(theirs))
    }
}

/// A few names of a list, for a message.
pub(super) fn some(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
    let more = names.len().saturating_sub(3);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Is `dir` a mount point (which cannot be renamed)?
pub(super) fn is_mount_point(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Some(parent), Ok(a)) = (dir.parent(), fs::metadata(dir)) {
            if let Ok(b) = fs::metadata(parent) {
                if a.dev() != b.dev() {
                    return true;
                }
            }
        }
        // A bind mount may sit on the same device: ask the kernel.
        if let Ok(text) = fs::read_to_string("/proc/self/mountinfo") {
            return text.lines().any(|l| {
                l.split(' ')
                    .nth(4)
                    .is_some_and(|m| Path::new(&unescape_mount(m)) == dir)
            });
        }
    }
    let _ = dir;
    false
}

/// Mount points in /proc/self/mountinfo escape space, tab, newline and
/// backslash as octal (`\040`).
pub(super) fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && b[i + 1..i + 4].iter().all(|d| (b'0'..=b'7').contains(d))
        {
            let v = b[i + 1..i + 4]
                .iter()
                .fold(0u32, |v, d| v * 8 + u32::from(d - b'0'));
            out.push(v as u8);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Deletes the files of a folder stratsim wrote (those [`judge`] calls
/// ours), then the folder if nothing else is left; returns what is left.
pub(super) fn remove_ours(dir: &Path) -> std::io::Result<Vec<String>> {
    let (ours, theirs) = match judge(dir)? {
        Verdict::Ours(files) => (files, Vec::new()),
        Verdict::Theirs(theirs) => {
            let all = entries(dir)?;
            let ours = all.into_iter().filter(|e| !theirs.contains(e)).collect();
            (ours, theirs)
        }
    };
    // Files first, then folders deepest first (they sort after their
    // files, so in reverse order).
    for e in ours.iter().rev() {
        let p = dir.join(e);
        if e.ends_with('/') {
            let _ = fs::remove_dir(&p);
        } else {
            let _ = fs::remove_file(&p);
        }
    }
    let _ = fs::remove_dir(dir);
    Ok(theirs)
}
