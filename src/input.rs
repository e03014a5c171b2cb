//! Reading the files a user names, whatever they turn out to be.
//!
//! A scenario path may name a FIFO (reading blocks until someone writes),
//! a device (`/dev/zero` never ends), a folder, or a file of gigabytes. A
//! plain `read_to_string` blocks, or grows until the kernel kills the
//! process. Every file the tool reads (a scenario, each file it extends,
//! each partial result of a merge) goes through [`read_regular`]: only a
//! regular file (a symlink to one is fine) is opened, and no more than a
//! stated limit is read.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Largest scenario file read (and each file it extends). The largest
/// scenario within the limits (1 000 units, 64 policies each overriding
/// every unit) is a few MB.
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// What kind of thing a path names, in words, when it is not a regular
/// file.
fn not_regular(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("a folder");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if t.is_char_device() || t.is_block_device() {
            return Some("a device");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Reads a regular file of at most `limit` bytes. `what` names the file
/// in messages ("scenario", "partial result"); the error is an input error
/// about `path` (exit 2), never a hang or an unbounded allocation.
pub fn read_regular(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>> {
    let bad = |m: String| Error::file(path, m);
    // stat, not open: opening a FIFO would block until a writer comes.
    let meta = std::fs::metadata(path).map_err(|e| bad(format!("cannot read {what}: {e}")))?;
    if let Some(kind) = not_regular(&meta) {
        return Err(bad(format!(
            "cannot read {what}: it is {kind}; give the path of a {what} file"
        )));
    }
    let too_big = |size: u64| {
        bad(format!(
            "cannot read {what}: it is {size} bytes, more than the {limit} bytes a {what} may have"
        ))
    };
    if meta.len() > limit {
        return Err(too_big(meta.len()));
    }
    let file = std::fs::File::open(path).map_err(|e| bad(format!("cannot read {what}: {e}")))?;
    // The file may have been swapped or grown since the stat: read one
    // byte past the limit to tell.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| bad(format!("cannot read {what}: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_text(path: &Path, what: &str, limit: u64) -> Result<String> {
    let bytes = read_regular(path, what, limit)?;
    String::from_utf8(bytes).map_err(|e| {
        Error::file(
            path,
            format!(
                "cannot read {what}: it is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.toml");
        std::fs::write(&f, "abc").unwrap();
        assert_eq!(read_text(&f, "scenario", 3).unwrap(), "abc");
        let e = read_text(&f, "scenario", 2).unwrap_err().to_string();
        assert!(e.contains("more than the 2 bytes"), "{e}");
        let e = read_text(dir.path(), "scenario", 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a folder"), "{e}");
        #[cfg(unix)]
        {
            let e = read_text(Path::new("/dev/zero"), "scenario", 10)
                .unwrap_err()
                .to_string();
            assert!(e.contains("a device"), "{e}");
        }
        std::fs::write(&f, [0xff, 0xfe]).unwrap();
        let e = read_text(&f, "scenario", 10).unwrap_err().to_string();
        assert!(e.contains("not UTF-8"), "{e}");
    }
}
