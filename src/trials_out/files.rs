//! Recognising our own trials files (header, gzip comment, digest) before
//! replacing one, the gzip encoder, and the clean-up of killed writers'
//! temporary files.

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::*;

/// Whether `line` is the header row of a trials file this program wrote:
/// `trial`, then columns named "<...> value y<N>" or "<...> gain y<N>".
pub(super) fn is_our_header(line: &str) -> bool {
    let line = line.trim_end_matches(['\n', '\r']);
    let cells = split_csv(line);
    let ours = |c: &String| {
        let Some((what, year)) = c.rsplit_once(" y") else {
            return false;
        };
        !year.is_empty()
            && year.bytes().all(|b| b.is_ascii_digit())
            && (what.ends_with(" value") || what.ends_with(" gain"))
    };
    cells.len() >= 2 && cells[0] == "trial" && cells[1..].iter().all(ours)
}

/// The cells of one CSV line (RFC 4180 quoting).
pub(super) fn split_csv(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let cell = cells.last_mut().expect("never empty");
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(String::new()),
            _ => cell.push(c),
        }
    }
    cells
}

/// Whether the file at `path` is a trials file this program wrote.
pub(super) fn written_by_us(path: &Path, gzip: bool) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    let mut line = String::new();
    if gzip {
        let mut gz = GzDecoder::new(file);
        let mut first = [0u8; 1];
        if gz.read(&mut first).is_err() {
            return false;
        }
        let ours = gz
            .header()
            .and_then(|h| h.comment())
            .is_some_and(|c| c == GZIP_COMMENT.as_bytes());
        line.push(first[0] as char);
        let mut rest = BufReader::new(gz).take(MAX_HEADER);
        ours && rest.read_line(&mut line).is_ok() && is_our_header(&line)
    } else {
        let mut r = BufReader::new(file).take(MAX_HEADER);
        r.read_line(&mut line).is_ok() && line.ends_with('\n') && is_our_header(&line)
    }
}

pub(super) fn is_gzip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("gz"))
}

/// A writer that counts and hashes what it passes on.
pub(super) struct Counted<W> {
    inner: W,
    bytes: u64,
    hasher: Sha256,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub(super) enum Stream {
    Plain(Counted<BufWriter<File>>),
    Gzip(Box<GzEncoder<Counted<BufWriter<File>>>>),
}

/// The byte stream of a trials file: plain or gzip, fed in fixed pieces.
pub(super) struct Encoder {
    stream: Stream,
    piece: Vec<u8>,
}

impl Encoder {
    pub(super) fn new(file: File, gzip: bool) -> Encoder {
        let counted = Counted {
            inner: BufWriter::with_capacity(PIECE, file),
            bytes: 0,
            hasher: Sha256::new(),
        };
        let stream = if gzip {
            // No file name and mtime 0: the bytes depend on the rows only.
            Stream::Gzip(Box::new(
                GzBuilder::new()
                    .comment(GZIP_COMMENT)
                    .mtime(0)
                    .write(counted, Compression::fast()),
            ))
        } else {
            Stream::Plain(counted)
        };
        Encoder {
            stream,
            piece: Vec::with_capacity(PIECE),
        }
    }

    pub(super) fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let take = (PIECE - self.piece.len()).min(bytes.len());
            self.piece.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.piece.len() == PIECE {
                self.flush_piece()?;
            }
        }
        Ok(())
    }

    pub(super) fn flush_piece(&mut self) -> io::Result<()> {
        match &mut self.stream {
            Stream::Plain(w) => w.write_all(&self.piece)?,
            Stream::Gzip(w) => w.write_all(&self.piece)?,
        }
        self.piece.clear();
        Ok(())
    }

    /// Writes what is left and closes the stream: (bytes, sha256 hex).
    pub(super) fn finish(mut self) -> io::Result<(u64, String)> {
        self.flush_piece()?;
        let mut counted = match self.stream {
            Stream::Plain(w) => w,
            Stream::Gzip(w) => w.finish()?,
        };
        counted.flush()?;
        counted.inner.get_ref().sync_all()?;
        Ok((counted.bytes, hex(&counted.hasher.finalize())))
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Removes the temporary files (`.NAME.tmp-PID`) of `name` that runs
/// killed while writing it left beside it: of processes that no longer
/// exist, regular files, and either empty or begun with the header this
/// program writes (anything else is not ours and stays).
pub(super) fn clean_stale(parent: &Path, name: &str, gzip: bool) {
    for (path, len) in crate::output::stale_temporaries(parent, name) {
        if len == 0 || written_by_us(&path, gzip) {
            let _ = fs::remove_file(&path);
        }
    }
}

/// `p` made absolute with its links resolved, for comparing folders; a
/// path that does not exist yet is resolved through its parent.
pub(super) fn absolute(p: &Path) -> Option<PathBuf> {
    if let Ok(a) = p.canonicalize() {
        return Some(a);
    }
    let parent = match p.parent() {
        Some(q) if !q.as_os_str().is_empty() => q,
        _ => Path::new("."),
    };
    Some(parent.canonicalize().ok()?.join(p.file_name()?))
}

pub(super) fn forget(tmp: &Path) {
    if let Ok(mut list) = TEMPORARY.lock() {
        list.retain(|p| p != tmp);
    }
}
