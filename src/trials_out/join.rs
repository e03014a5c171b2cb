//! Joining the shards' trials files into one, in trial order, checked
//! against each shard's header.

use crate::error::{Error, Result};
use flate2::read::GzDecoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::*;

/// A shard's trials file, as its partial result records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// File name; `merge` looks for it beside the partial result.
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    /// Whether the rows carry each unit's value.
    pub units: bool,
}

/// Joins the shards' trials files (each `(folder of its partial, part)`,
/// in shard order) into `target`: the header once, then every shard's
/// rows. The bytes are those of a single run.
pub fn join(target: &Target, parts: &[(PathBuf, Part)]) -> Result<()> {
    let gzip = is_gzip(&target.dest);
    // The joined file's disk need, before any byte is written: the parts'
    // bytes, grown when unzipped (gzip keeps about 0.76 of this text) or
    // shrunk when zipped.
    let need: f64 = parts
        .iter()
        .map(|(_, p)| {
            let factor = match (is_gzip(Path::new(&p.file)), gzip) {
                (true, false) => 1.0 / 0.7,
                (false, true) => 0.8,
                _ => 1.0,
            };
            p.bytes as f64 * factor
        })
        .sum();
    let dir = match target.tmp.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    crate::resources::check_disk(
        &format!(
            "--trials-out {} (the shards' trials files joined)",
            target.dest.display()
        ),
        dir,
        need as u64,
        "free some space, name the file .csv.gz (compressed), or write it to a disk with room",
    )?;
    let mut encoder = Encoder::new(target.create()?, gzip);
    let mut header: Option<String> = None;
    for (dir, part) in parts {
        let path = dir.join(&part.file);
        let bad = |m: String| Error::file(&path, m);
        // The checksum first, over the bytes as they are on disk.
        let mut f = File::open(&path).map_err(|e| {
            bad(format!(
                "cannot read this shard's trials file ({e}); it must lie beside its partial result"
            ))
        })?;
        let mut hasher = Sha256::new();
        let bytes = io::copy(&mut f, &mut hasher).map_err(|e| bad(e.to_string()))?;
        if bytes != part.bytes || hex(&hasher.finalize()) != part.sha256 {
            return Err(bad(
                "trials file is truncated or changed since its shard wrote it (size or checksum mismatch); run the shard again".into(),
            ));
        }
        let f = File::open(&path).map_err(|e| bad(e.to_string()))?;
        let reader: Box<dyn Read> = if is_gzip(&path) {
            Box::new(GzDecoder::new(f))
        } else {
            Box::new(f)
        };
        let mut reader = BufReader::with_capacity(PIECE, reader);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .map_err(|e| bad(e.to_string()))?;
        match &header {
            None => {
                encoder
                    .write(line.as_bytes())
                    .map_err(|e| Error::output(&target.dest, e))?;
                header = Some(line);
            }
            Some(h) if *h == line => {}
            Some(_) => {
                return Err(bad(
                    "trials file has other columns than the first shard's (one shard ran with --trials-out-units, another without?)".into(),
                ))
            }
        }
        let mut buf = vec![0u8; PIECE];
        loop {
            let n = reader.read(&mut buf).map_err(|e| bad(e.to_string()))?;
            if n == 0 {
                break;
            }
            encoder
                .write(&buf[..n])
                .map_err(|e| Error::output(&target.dest, e))?;
        }
    }
    encoder
        .finish()
        .map_err(|e| Error::output(&target.dest, e))?;
    Ok(())
}
