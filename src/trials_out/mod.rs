//! `--trials-out FILE`: every trial's figures, one CSV row per trial, for
//! those who must audit the numbers or analyse them elsewhere.
//!
//! The engine keeps no trials, so the rows are streamed: each worker
//! formats the rows of the block it ran ([`crate::engine::TrialSink`]), and the
//! blocks are written in trial order as soon as the ones before them are
//! in. A worker waits before it starts a block more than a small window
//! ahead of the last one written, so the blocks held in memory are
//! bounded (twice the thread count) however many trials run: memory stays
//! flat. The bytes depend only on the figures, which depend only on (seed,
//! trial): any thread count writes the same file.
//!
//! A sharded run writes one file per shard (the header and that shard's
//! rows), recorded with its size and checksum in the shard's partial
//! result; `simulate merge --trials-out` joins them in shard order into
//! the bytes a single run writes. Gzip output (a name ending in `.gz`) is
//! compressed from fixed-size pieces of the row stream, so how the rows
//! reached the encoder never shows in the bytes either.
//!
//! The file is written under a temporary name beside it and renamed into
//! place once the run is good; a failed or interrupted run leaves the
//! previous file untouched. An existing file is replaced only if this
//! program wrote it (its header row, and for gzip the header's comment,
//! say so); anything else is refused, never overwritten.

mod files;
use files::*;

mod join;
pub use join::*;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use crate::engine::TrialSink;
use crate::error::{Error, Result};
use crate::format::csv_field;
use crate::kernel::batch::Lane;
use crate::model::Scenario;
use crate::model::{Layout, Metric};
use crate::output::Staged;

/// The comment of the gzip header of files this program writes.
const GZIP_COMMENT: &str = "stratsim trials";
/// Rows go to the encoder in pieces of exactly this many bytes.
const PIECE: usize = 1 << 16;
/// Files a run writes into its output folder (besides the charts), which a
/// trials file there must not replace.
const RUN_FILES: [&str; 10] = [
    "summary.json",
    "summary.csv",
    "summary.xlsx",
    "report.md",
    "report.html",
    "sweep.csv",
    "sensitivity.csv",
    "unit_paths.csv",
    "funding.csv",
    "uncertainty.csv",
];
/// Longest header line read when checking who wrote an existing file.
const MAX_HEADER: u64 = 1 << 20;

/// Temporary files being written, so that a second Ctrl-C (which exits at
/// once) can still remove them.
static TEMPORARY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes every temporary trials file still being written (signal
/// handler).
pub fn remove_temporary() {
    if let Ok(list) = TEMPORARY.lock() {
        for p in list.iter() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Which figures a row holds, in column order.
#[derive(Clone, Debug)]
pub struct Columns {
    /// Output slots of the engine's layout.
    slots: Vec<usize>,
    /// The header row (with its newline).
    header: String,
}

impl Columns {
    /// Per policy and horizon (file order): the value, the gain over the
    /// baseline (not for the baseline itself) and, with `units`, each
    /// unit's value.
    pub fn new(scenario: &Scenario, layout: &Layout, units: bool) -> Columns {
        let mut slots = Vec::new();
        let mut names = vec!["trial".to_string()];
        for (p, policy) in scenario.policies.iter().enumerate() {
            for (h, years) in scenario.horizons.iter().enumerate() {
                slots.push(layout.index(p, h, Metric::Value));
                names.push(format!("{} value y{years}", policy.name));
                if p != scenario.baseline {
                    slots.push(layout.index(p, h, Metric::DeltaValue));
                    names.push(format!("{} gain y{years}", policy.name));
                }
                if units {
                    for (u, unit) in scenario.units.iter().enumerate() {
                        slots.push(layout.index(p, h, Metric::UnitValue(u)));
                        names.push(format!("{} {} value y{years}", policy.name, unit.name));
                    }
                }
            }
        }
        let cells: Vec<String> = names.iter().map(|n| csv_field(n)).collect();
        Columns {
            slots,
            header: cells.join(",") + "\n",
        }
    }

    /// The header row, newline included.
    pub fn header(&self) -> &str {
        &self.header
    }

    /// Appends the rows of trials `first .. first + count`, lanes of `out`.
    pub fn rows(&self, buf: &mut Vec<u8>, first: u64, out: &[Lane], count: usize) {
        let mut int = itoa::Buffer::new();
        let mut float = zmij::Buffer::new();
        for (j, trial) in (first..first + count as u64).enumerate() {
            buf.extend_from_slice(int.format(trial).as_bytes());
            for &slot in &self.slots {
                buf.push(b',');
                // The shortest text that reads back to the same number, as
                // in summary.json and summary.csv.
                buf.extend_from_slice(float.format(out[slot][j]).as_bytes());
            }
            buf.push(b'\n');
        }
    }
}

/// The file being written: its final path and where it is written until
/// the run is good.
#[derive(Debug)]
pub struct Target {
    dest: PathBuf,
    tmp: PathBuf,
    /// Written inside the staged output folder, which puts it in place.
    in_staged: bool,
    committed: bool,
}

impl Target {
    /// Prepares to write `dest`. Refuses a folder, a missing parent
    /// folder, and an existing file this program did not write. A file
    /// directly inside the output folder being written (`staged`) is
    /// written into it, and is put in place with it; deeper inside that
    /// folder is refused (replacing the folder would delete it).
    pub fn new(dest: &Path, staged: Option<&Staged>) -> Result<Target> {
        let refuse = |m: &str| {
            Err(Error::Usage(format!(
                "--trials-out {}: {m}",
                dest.display()
            )))
        };
        let name = match dest.file_name() {
            Some(n) => n.to_string_lossy().into_owned(),
            None => return refuse("names no file"),
        };
        if dest.is_dir() {
            return refuse("is a folder; give a file name");
        }
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let parent_abs = absolute(&parent);
        if let (Some(staged), Some(parent_abs)) = (staged, &parent_abs) {
            let out = staged.dest();
            if let Some(out_abs) = absolute(out) {
                if *parent_abs == out_abs {
                    if name == crate::output::MARKER {
                        return refuse(&format!(
                            "is the marker of the output folder {} (the list of the files a run wrote there, which the run rewrites); choose another name",
                            out.display()
                        ));
                    }
                    if RUN_FILES.contains(&name.as_str())
                        || name.ends_with(".png")
                        || crate::output::is_partial_name(&name)
                    {
                        return refuse(&format!(
                            "is a file the run itself writes in the output folder {}; choose another name",
                            out.display()
                        ));
                    }
                    return Ok(Target {
                        dest: dest.to_path_buf(),
                        tmp: staged.path().join(&name),
                        in_staged: true,
                        committed: false,
                    });
                }
                if parent_abs.starts_with(&out_abs) {
                    return refuse(&format!(
                        "is inside a subfolder of the output folder {}, which a run replaces whole; write it directly in that folder or outside it",
                        out.display()
                    ));
                }
            }
        }
        if !parent.is_dir() {
            return refuse(&format!(
                "its folder {} does not exist (create it first)",
                parent.display()
            ));
        }
        if name == crate::output::MARKER {
            return refuse(
                "is the marker of a folder stratsim wrote (the list of its files); choose another name",
            );
        }
        if dest.exists() && !written_by_us(dest, is_gzip(dest)) {
            return refuse(
                "exists and was not written by simulate; refusing to overwrite it (move it away or choose another name)",
            );
        }
        clean_stale(&parent, &name, is_gzip(dest));
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if let Ok(mut list) = TEMPORARY.lock() {
            list.push(tmp.clone());
        }
        Ok(Target {
            dest: dest.to_path_buf(),
            tmp,
            in_staged: false,
            committed: false,
        })
    }

    fn create(&self) -> Result<File> {
        File::create(&self.tmp).map_err(|e| Error::output(&self.dest, e))
    }

    /// Puts the written file in place (for a file in the output folder:
    /// leaves that to the folder's commit).
    pub fn commit(mut self) -> Result<()> {
        if !self.in_staged {
            fs::rename(&self.tmp, &self.dest).map_err(|e| Error::output(&self.dest, e))?;
            forget(&self.tmp);
        }
        self.committed = true;
        Ok(())
    }

    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Refuses (exit 2, before the first trial) a trials file of `trials`
    /// rows that the free disk cannot hold, by [`estimated_bytes`].
    pub fn check_room(&self, columns: &Columns, trials: u64) -> Result<()> {
        let dir = match self.tmp.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let need = estimated_bytes(columns, trials, is_gzip(&self.dest));
        crate::resources::check_disk(
            &format!("--trials-out {} ({trials} rows of {} columns)", self.dest.display(), columns.slots.len() + 1),
            dir,
            need,
            "run fewer trials, drop --trials-out-units, name the file .csv.gz (compressed), or write it to a disk with room",
        )
    }
}

/// Bytes a trials file of `trials` rows of `columns` takes, estimated: a
/// figure's shortest text is at most 24 characters and typically 17 to 19
/// (20 are counted), the trial number its digits; gzip keeps about three
/// quarters of such text (measured on reset.toml: 2.64 MB of 3.46 MB;
/// 0.8 counted).
pub fn estimated_bytes(columns: &Columns, trials: u64, gzip: bool) -> u64 {
    let digits = (trials.max(1) as f64).log10().floor() + 1.0;
    let row = digits + 1.0 + columns.slots.len() as f64 * 21.0;
    let text = columns.header.len() as f64 + trials as f64 * row;
    (if gzip { 0.8 * text } else { text }) as u64
}

impl Drop for Target {
    fn drop(&mut self) {
        if !self.committed && !self.in_staged {
            let _ = fs::remove_file(&self.tmp);
            forget(&self.tmp);
        }
    }
}

/// Blocks handed over but not yet written, and where writing stands.
struct Order {
    /// The next block to write.
    next: u64,
    pending: BTreeMap<u64, Vec<u8>>,
    failed: Option<String>,
}

/// The sink the engine streams rows into; see the module docs.
pub struct Streamer<'a> {
    columns: &'a Columns,
    order: Mutex<Order>,
    turn: Condvar,
    encoder: Mutex<Option<Encoder>>,
    /// Blocks a worker may run ahead of the next one to write.
    window: u64,
    path: PathBuf,
}

/// What was written: the file's size and checksum, and the rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    pub bytes: u64,
    pub sha256: String,
    pub blocks: std::ops::Range<u64>,
}

impl<'a> Streamer<'a> {
    /// Starts writing `target` (its header row first); blocks from
    /// `first_block` on are expected, in any order. `threads`: the
    /// workers that will run (None: rayon's default).
    pub fn new(
        target: &Target,
        columns: &'a Columns,
        first_block: u64,
        threads: Option<usize>,
    ) -> Result<Streamer<'a>> {
        let mut encoder = Encoder::new(target.create()?, is_gzip(&target.dest));
        encoder
            .write(columns.header().as_bytes())
            .map_err(|e| Error::output(&target.dest, e))?;
        let threads = threads.unwrap_or_else(rayon::current_num_threads).max(1);
        Ok(Streamer {
            columns,
            order: Mutex::new(Order {
                next: first_block,
                pending: BTreeMap::new(),
                failed: None,
            }),
            turn: Condvar::new(),
            encoder: Mutex::new(Some(encoder)),
            window: 2 * threads as u64,
            path: target.dest.clone(),
        })
    }

    /// Writes the blocks that are next in order, while no other worker
    /// does; returns when none is ready.
    fn drain(&self) {
        loop {
            let Ok(mut guard) = self.encoder.try_lock() else {
                // Another worker writes; it checks for this block after.
                return;
            };
            loop {
                let (block, bytes) = {
                    let mut o = self.lock_order();
                    let next = o.next;
                    match o.pending.remove(&next) {
                        Some(b) if o.failed.is_none() => (next, b),
                        _ => break,
                    }
                };
                let result = match guard.as_mut() {
                    Some(enc) => enc.write(&bytes),
                    None => Ok(()),
                };
                let mut o = self.lock_order();
                match result {
                    Ok(()) => o.next = block + 1,
                    Err(e) => {
                        o.failed = Some(e.to_string());
                        o.pending.clear();
                    }
                }
                drop(o);
                self.turn.notify_all();
            }
            drop(guard);
            // A block may have come in after the last look and before the
            // lock was released, its worker finding the lock taken.
            let o = self.lock_order();
            if o.failed.is_some() || !o.pending.contains_key(&o.next) {
                return;
            }
        }
    }

    fn lock_order(&self) -> std::sync::MutexGuard<'_, Order> {
        self.order.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes the file once every block up to `end` is written: its size
    /// and checksum.
    pub fn finish(self, blocks: std::ops::Range<u64>) -> Result<Written> {
        let o = self.order.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(e) = o.failed {
            return Err(Error::output(&self.path, e));
        }
        if o.next != blocks.end || !o.pending.is_empty() {
            return Err(Error::Interrupted);
        }
        let encoder = self
            .encoder
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .ok_or(Error::Interrupted)?;
        let (bytes, sha256) = encoder.finish().map_err(|e| Error::output(&self.path, e))?;
        Ok(Written {
            bytes,
            sha256,
            blocks,
        })
    }
}

impl TrialSink for Streamer<'_> {
    fn admit(&self, block: u64) -> bool {
        let mut o = self.lock_order();
        while o.failed.is_none() && block >= o.next + self.window {
            o = self.turn.wait(o).unwrap_or_else(|e| e.into_inner());
        }
        o.failed.is_none()
    }

    fn record(&self, buf: &mut Vec<u8>, first: u64, out: &[Lane], count: usize) {
        self.columns.rows(buf, first, out, count);
    }

    fn deliver(&self, block: u64, records: Vec<u8>) {
        {
            let mut o = self.lock_order();
            if o.failed.is_some() {
                return;
            }
            o.pending.insert(block, records);
        }
        self.drain();
    }

    fn error(&self) -> Option<Error> {
        self.lock_order()
            .failed
            .as_ref()
            .map(|e| Error::output(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use sha2::{Digest, Sha256};
    use std::io::Read;

    #[test]
    fn our_headers_are_recognised_and_others_are_not() {
        assert!(is_our_header(
            "trial,status_quo value y3,reset value y3,reset gain y3\n"
        ));
        assert!(is_our_header(
            "trial,\"a, b value y5\",a Taobao & Tmall value y12\r\n"
        ));
        assert!(!is_our_header("trial\n"));
        assert!(!is_our_header("id,status_quo value y3\n"));
        assert!(!is_our_header("trial,notes\n"));
        assert!(!is_our_header("trial,x value y\n"));
        assert_eq!(split_csv("a,\"b,\"\"c\"\"\",d"), ["a", "b,\"c\"", "d"]);
    }

    #[test]
    fn gzip_output_does_not_depend_on_how_rows_arrive() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<u8> = (0..40_000u32)
            .flat_map(|i| format!("{i},{}\n", (i as f64).sqrt()).into_bytes())
            .collect();
        let mut outputs = Vec::new();
        for (k, size) in [1usize, 7, 4096, PIECE + 3, rows.len()]
            .into_iter()
            .enumerate()
        {
            let path = dir.path().join(format!("t{k}.csv.gz"));
            let mut e = Encoder::new(File::create(&path).unwrap(), true);
            for chunk in rows.chunks(size) {
                e.write(chunk).unwrap();
            }
            e.finish().unwrap();
            outputs.push(fs::read(&path).unwrap());
        }
        assert!(outputs.windows(2).all(|w| w[0] == w[1]));
        let mut back = Vec::new();
        GzDecoder::new(&outputs[0][..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, rows);
    }

    /// Blocks delivered out of order are written in order, and a worker
    /// asking for a block beyond the window waits until the blocks before
    /// it are written.
    #[test]
    fn blocks_are_written_in_order_within_the_window() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::time::Duration;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("t.csv");
        let target = Target::new(&dest, None).unwrap();
        let columns = Columns {
            slots: vec![0],
            header: "trial,a value y1\n".into(),
        };
        // One thread: a window of two blocks.
        let s = Streamer::new(&target, &columns, 0, Some(1)).unwrap();
        assert!(s.admit(0) && s.admit(1));
        let admitted = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                assert!(s.admit(2));
                admitted.store(true, Ordering::SeqCst);
                s.deliver(2, b"2\n".to_vec());
            });
            std::thread::sleep(Duration::from_millis(50));
            s.deliver(1, b"1\n".to_vec());
            std::thread::sleep(Duration::from_millis(50));
            assert!(!admitted.load(Ordering::SeqCst), "block 2 ran ahead");
            s.deliver(0, b"0\n".to_vec());
        });
        assert!(admitted.load(Ordering::SeqCst));
        let w = s.finish(0..3).unwrap();
        target.commit().unwrap();
        let text = fs::read_to_string(&dest).unwrap();
        assert_eq!(text, "trial,a value y1\n0\n1\n2\n");
        assert_eq!(w.bytes, text.len() as u64);
        assert_eq!(w.sha256, hex(&Sha256::digest(text.as_bytes())));
        // A block missing at the end is an interrupted run, not a file.
        let target = Target::new(&dir.path().join("u.csv"), None).unwrap();
        let s = Streamer::new(&target, &columns, 0, Some(1)).unwrap();
        s.deliver(1, b"1\n".to_vec());
        assert!(matches!(s.finish(0..2), Err(Error::Interrupted)));
        drop(target);
        assert!(!dir.path().join("u.csv").exists());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary left"
        );
    }

    #[test]
    fn foreign_files_are_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let theirs = dir.path().join("data.csv");
        fs::write(&theirs, "id,value\n1,2\n").unwrap();
        let err = Target::new(&theirs, None).unwrap_err();
        assert!(err.to_string().contains("not written by simulate"), "{err}");
        assert_eq!(fs::read(&theirs).unwrap(), b"id,value\n1,2\n");
        let gz = dir.path().join("data.csv.gz");
        fs::write(&gz, b"not gzip at all").unwrap();
        assert!(Target::new(&gz, None).is_err());
        let ours = dir.path().join("trials.csv");
        fs::write(&ours, "trial,a value y1\n0,1\n").unwrap();
        assert!(Target::new(&ours, None).is_ok());
        assert!(Target::new(dir.path(), None).is_err());
        assert!(Target::new(&dir.path().join("missing/t.csv"), None).is_err());
        // In the output folder: written with it, but never over one of its
        // own files, nor in a subfolder the run would delete.
        let out = dir.path().join("out");
        fs::create_dir_all(&out).unwrap();
        let staged = Staged::new(&out, false).unwrap();
        // (A folder holding a subfolder is refused as an output folder; one
        // can still appear while a run goes.)
        fs::create_dir_all(out.join("sub")).unwrap();
        let t = Target::new(&out.join("t.csv.gz"), Some(&staged)).unwrap();
        assert!(t.in_staged && t.tmp.starts_with(staged.path()));
        assert!(Target::new(&out.join("summary.csv"), Some(&staged)).is_err());
        assert!(Target::new(&out.join("value_cdf.png"), Some(&staged)).is_err());
        let err = Target::new(&out.join("sub/t.csv"), Some(&staged)).unwrap_err();
        assert!(err.to_string().contains("replaces whole"), "{err}");
    }
}
