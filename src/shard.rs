//! Sharded runs: shard I of N runs a contiguous range of trial blocks and
//! writes a partial result; `simulate merge` combines partials into exactly
//! the outputs of a single run.
//!
//! Bit-identity holds because every trial's stream depends only on (seed,
//! trial), blocks are fixed-size, and accumulators merge exactly (integer
//! sketch counts, exact sums): merging in any order gives the same state.
//!
//! A partial file is one header line and a JSON body:
//!
//! ```text
//! stratsim-partial <format version> <sha256 of the body, hex>
//! {"scenario_hash": ..., "seed": ..., "trials": ..., "shard": ..., ...}
//! ```
//!
//! The checksum catches truncated and corrupted files; the body carries the
//! validated scenario itself, so merging needs no scenario file.
//!
//! A checksum anyone can recompute proves nothing about intent, so a
//! partial is also checked for meaning before it is merged: its scenario
//! within the limits a scenario file has, its accumulator shaped for that
//! scenario, its moment shifts those the run computes, every count equal
//! to the trials of its blocks, every sum well formed. A forged partial is
//! refused with a message (exit 2); it never aborts the merge or makes it
//! allocate more than its own size suggests. Only regular files of a
//! bounded size are read.

use std::fmt::Write as _;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::engine::{self, BLOCK_TRIALS};
use crate::error::{Error, Result};
use crate::kernel::Plan;
use crate::model::Scenario;
use crate::stats::Accumulator;

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const MAGIC: &str = "stratsim-partial";
/// File name suffix of partial results.
pub const SUFFIX: &str = crate::output::PARTIAL_SUFFIX;
/// Most shards a run may be split into (Slurm arrays and Kubernetes
/// indexed jobs stay far below).
pub const MAX_SHARDS: u32 = 100_000;
/// Largest partial result read (a run of 200 000 figures writes a few
/// hundred MB); the memory the merge may use bounds it further.
pub const MAX_PARTIAL_BYTES: u64 = 8 << 30;

/// Shard `index` of `count` (0-based, as Slurm array and Kubernetes indexed
/// job indices are).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    pub index: u32,
    pub count: u32,
}

impl std::str::FromStr for ShardSpec {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("expected I/N (e.g. 0/4), got {s:?}"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("shard index {i:?} is not a number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("shard count {n:?} is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "shard index must be in 0..{count} (0-based), got {index}/{count}"
            ));
        }
        if count > MAX_SHARDS {
            return Err(format!(
                "at most {MAX_SHARDS} shards are allowed, got {count}"
            ));
        }
        Ok(ShardSpec { index, count })
    }
}

impl ShardSpec {
    /// The trial blocks of this shard: contiguous, and together the shards
    /// cover every block of the run exactly once.
    pub fn blocks(&self, trials: u64) -> Range<u64> {
        let b = engine::block_count(trials) as u128;
        let (i, n) = (self.index as u128, self.count as u128);
        ((i * b / n) as u64)..(((i + 1) * b / n) as u64)
    }

    pub fn file_name(&self) -> String {
        format!("shard-{:04}-of-{:04}{SUFFIX}", self.index, self.count)
    }
}

/// The body of a partial file.
#[derive(Debug, Serialize, Deserialize)]
pub struct Partial {
    /// sha256 of the scenario as run (canonical JSON, trials and seed
    /// included): partials of different runs never merge.
    pub scenario_hash: String,
    pub seed: u64,
    pub trials: u64,
    pub shard: ShardSpec,
    /// Trial blocks this shard ran, and the block size they assume.
    pub blocks: Range<u64>,
    pub block_trials: u64,
    /// Default output folder name of the original run (scenario file stem).
    pub stem: String,
    pub scenario: Scenario,
    /// Whether the shard recorded unit paths (for the unit path chart);
    /// every shard of a run must agree. Absent in older partials: false.
    #[serde(default)]
    pub unit_paths: bool,
    /// The shard's `--trials-out` file, when it wrote one (lying beside
    /// this partial for `merge --trials-out`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trials_out: Option<crate::trials_out::Part>,
    pub accumulator: Accumulator,
}

/// The hash identifying a run.
pub fn scenario_hash(s: &Scenario) -> String {
    let json = serde_json::to_vec(s).expect("scenario serialises");
    hex(&Sha256::digest(&json))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl Partial {
    /// Serialises with header and checksum.
    pub fn to_bytes(&self) -> Vec<u8> {
        let canonical = Partial {
            accumulator: self.accumulator.canonical(),
            scenario: self.scenario.clone(),
            scenario_hash: self.scenario_hash.clone(),
            stem: self.stem.clone(),
            blocks: self.blocks.clone(),
            trials_out: self.trials_out.clone(),
            ..*self
        };
        let body = serde_json::to_vec(&canonical).expect("partial serialises");
        let mut out =
            format!("{MAGIC} {FORMAT_VERSION} {}\n", hex(&Sha256::digest(&body))).into_bytes();
        out.extend_from_slice(&body);
        out
    }

    /// Writes `dir/<shard file name>` atomically (temp file, then rename),
    /// `dir` existing. A file of that name is replaced only when it is a
    /// partial result (by its header).
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        crate::output::write_file_atomic(dir, &self.shard.file_name(), &self.to_bytes(), |p| {
            let mut head = [0u8; MAGIC.len()];
            fs::File::open(p)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
                .is_ok_and(|()| head == *MAGIC.as_bytes())
        })
    }

    /// Reads and checks one partial file.
    pub fn read(path: &Path) -> Result<Partial> {
        let bad = |m: String| Error::file(path, m);
        // A partial is parsed whole: its size, a few times over, must fit.
        let (room, _) = crate::resources::available_memory()?;
        let limit = MAX_PARTIAL_BYTES.min(room / 4);
        let bytes = crate::input::read_regular(path, "partial result", limit)?;
        let nl = bytes
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| bad("not a stratsim partial result (no header line)".into()))?;
        let header = std::str::from_utf8(&bytes[..nl])
            .map_err(|_| bad("not a stratsim partial result (binary header)".into()))?;
        let mut words = header.split(' ');
        if words.next() != Some(MAGIC) {
            return Err(bad("not a stratsim partial result (bad header)".into()));
        }
        let version: u32 = words
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad("partial result header has no format version".into()))?;
        if version != FORMAT_VERSION {
            return Err(bad(format!(
                "partial result format version {version} is not known to this simulate (it reads version {FORMAT_VERSION}); merge with the version that wrote it"
            )));
        }
        let sum = words
            .next()
            .ok_or_else(|| bad("partial result header has no checksum".into()))?;
        let body = &bytes[nl + 1..];
        if hex(&Sha256::digest(body)) != sum {
            return Err(bad(
                "partial result is truncated or corrupted (checksum mismatch); run its shard again"
                    .into(),
            ));
        }
        let p: Partial = serde_json::from_slice(body)
            .map_err(|e| bad(format!("partial result body is unreadable: {e}")))?;
        let p = Partial {
            accumulator: p.accumulator.ready(),
            ..p
        };
        if p.block_trials != BLOCK_TRIALS {
            return Err(bad(format!(
                "partial result uses blocks of {} trials, this simulate uses {BLOCK_TRIALS}",
                p.block_trials
            )));
        }
        if p.shard.count == 0 || p.shard.index >= p.shard.count || p.shard.count > MAX_SHARDS {
            return Err(bad(format!(
                "partial result names shard {}/{}, which no run has",
                p.shard.index, p.shard.count
            )));
        }
        crate::scenario::validate::check_model(&p.scenario).map_err(|m| {
            bad(format!(
                "partial result holds a scenario no scenario file gives: {m}"
            ))
        })?;
        if p.trials != p.scenario.trials || p.seed != p.scenario.seed {
            return Err(bad(
                "partial result's trials or seed differ from its scenario's".into(),
            ));
        }
        if p.blocks != p.shard.blocks(p.trials) || scenario_hash(&p.scenario) != p.scenario_hash {
            return Err(bad(
                "partial result is inconsistent with its own header".into()
            ));
        }
        check_accumulator(&p)
            .map_err(|m| bad(format!("partial result's figures do not add up: {m}")))?;
        Ok(p)
    }
}

/// What a shard writes besides its partial result.
#[derive(Clone, Copy, Debug, Default)]
pub struct ShardOutputs<'a> {
    /// Record unit paths (for the merged run's unit path chart).
    pub unit_paths: bool,
    /// `--trials-out`: the shard's trials file.
    pub trials_out: Option<&'a Path>,
    /// `--trials-out-units`.
    pub trials_out_units: bool,
}

/// The trials of a shard's blocks.
fn shard_trials(blocks: &Range<u64>, trials: u64) -> u64 {
    (blocks.end.saturating_mul(BLOCK_TRIALS)).min(trials)
        - (blocks.start.saturating_mul(BLOCK_TRIALS)).min(trials)
}

/// The accumulator of a partial against its (checked) scenario and blocks.
fn check_accumulator(p: &Partial) -> std::result::Result<(), String> {
    let plan = Plan::for_run(&p.scenario, p.unit_paths);
    let acc = &p.accumulator;
    let n = plan.layout.len();
    if acc.metrics.len() != n || acc.shift.len() != n {
        return Err(format!(
            "{} figures where the scenario reports {n}",
            acc.metrics.len()
        ));
    }
    if acc.counted != plan.layout.counted_indices() || acc.positive.len() != acc.counted.len() {
        return Err("the counts of trials beating the baseline are malformed".into());
    }
    let trials = shard_trials(&p.blocks, p.trials);
    if acc.trials != trials {
        return Err(format!(
            "it counts {} trials, its blocks {}..{} hold {trials}",
            acc.trials, p.blocks.start, p.blocks.end
        ));
    }
    if acc.non_finite.is_some() {
        return Err("it holds figures that are not finite numbers".into());
    }
    if acc.positive.iter().any(|&c| c > trials) {
        return Err("more trials beat the baseline than it ran".into());
    }
    let shifts = engine::shifts(&plan, p.seed);
    if acc
        .shift
        .iter()
        .zip(&shifts)
        .any(|(a, b)| a.to_bits() != b.to_bits())
    {
        return Err("its moment shifts are not the run's".into());
    }
    for (i, m) in acc.metrics.iter().enumerate() {
        m.check(trials).map_err(|e| format!("figure {i}: {e}"))?;
    }
    Ok(())
}

/// Runs one shard and writes its partial result into `dir` (and, when
/// asked, its trials file, recorded in the partial).
pub fn run_shard(
    scenario: &Scenario,
    stem: &str,
    shard: ShardSpec,
    threads: Option<usize>,
    dir: &Path,
    outputs: ShardOutputs,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<PathBuf> {
    let plan = Plan::for_run(scenario, outputs.unit_paths);
    let blocks = shard.blocks(scenario.trials);
    if outputs.trials_out.is_some() {
        // The trials file usually lies in the shard's folder, beside the
        // partial result.
        fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
    }
    let target = outputs
        .trials_out
        .map(|p| crate::trials_out::Target::new(p, None))
        .transpose()?;
    let columns = crate::trials_out::Columns::new(scenario, &plan.layout, outputs.trials_out_units);
    if let Some(t) = &target {
        let trials = (blocks.end * engine::BLOCK_TRIALS).min(scenario.trials)
            - (blocks.start * engine::BLOCK_TRIALS).min(scenario.trials);
        t.check_room(&columns, trials)?;
    }
    let streamer = target
        .as_ref()
        .map(|t| crate::trials_out::Streamer::new(t, &columns, blocks.start, threads))
        .transpose()?;
    let acc = engine::with_threads(threads, || {
        engine::run_blocks_to(
            &plan,
            scenario.seed,
            scenario.trials,
            blocks.clone(),
            progress,
            streamer.as_ref().map(|s| s as &dyn engine::TrialSink),
        )
    })??;
    let written = streamer.map(|s| s.finish(blocks.clone())).transpose()?;
    crate::results::check_finite(scenario, &plan, &acc)?;
    let part = match (target, written) {
        (Some(t), Some(w)) => {
            let file = t
                .dest()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            t.commit()?;
            Some(crate::trials_out::Part {
                file,
                bytes: w.bytes,
                sha256: w.sha256,
                units: outputs.trials_out_units,
            })
        }
        _ => None,
    };
    Partial {
        scenario_hash: scenario_hash(scenario),
        seed: scenario.seed,
        trials: scenario.trials,
        shard,
        blocks,
        block_trials: BLOCK_TRIALS,
        stem: stem.to_string(),
        scenario: scenario.clone(),
        unit_paths: outputs.unit_paths,
        trials_out: part,
        accumulator: acc,
    }
    .write(dir)
}

/// Each shard's trials file for `merge --trials-out`, in shard order, as
/// (folder of its partial, file); every shard must have written one.
pub fn trials_parts(
    parts: &[(PathBuf, Option<crate::trials_out::Part>)],
) -> Result<Vec<(PathBuf, crate::trials_out::Part)>> {
    parts
        .iter()
        .map(|(partial, part)| {
            let dir = partial
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf();
            part.clone().map(|p| (dir, p)).ok_or_else(|| {
                Error::file(
                    partial,
                    "this shard wrote no trials file; run every shard with --trials-out to merge them with --trials-out",
                )
            })
        })
        .collect()
}

/// Expands folders into the partial files they hold.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = fs::read_dir(p)
                .map_err(|e| Error::file(p, format!("cannot list folder: {e}")))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|q| q.to_string_lossy().ends_with(SUFFIX))
                .collect();
            if found.is_empty() {
                return Err(Error::file(p, format!("folder holds no *{SUFFIX} files")));
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// A partial file and the trials file its shard recorded, if any.
pub type TrialsParts = Vec<(PathBuf, Option<crate::trials_out::Part>)>;

/// Reads, checks and merges partials into the state of a single run.
/// Partials are read one at a time and folded in, so memory holds one
/// partial and the running total, however many shards there are. Also
/// returns, in shard order, each partial with its shard's trials file.
pub fn merge(paths: &[PathBuf]) -> Result<(Partial, Vec<PathBuf>, TrialsParts)> {
    let paths = expand(paths)?;
    let Some(first_path) = paths.first() else {
        return Err(Error::Usage(
            "merge needs at least one partial result".into(),
        ));
    };
    let mut total = Partial::read(first_path)?;
    let n = total.shard.count;
    let mut seen: std::collections::BTreeMap<u32, &Path> = Default::default();
    seen.insert(total.shard.index, first_path);
    let mut parts: std::collections::BTreeMap<u32, Option<crate::trials_out::Part>> =
        Default::default();
    parts.insert(total.shard.index, total.trials_out.clone());
    for path in &paths[1..] {
        engine::check_interrupted()?;
        let p = Partial::read(path)?;
        let differs = |what: &str, a: String, b: String| {
            Error::file(
                path,
                format!(
                    "comes from a different run than {}: {what} {a} vs {b}; only partials of one run can be merged",
                    first_path.display()
                ),
            )
        };
        if p.seed != total.seed {
            return Err(differs("seed", p.seed.to_string(), total.seed.to_string()));
        }
        if p.trials != total.trials {
            return Err(differs(
                "trials",
                p.trials.to_string(),
                total.trials.to_string(),
            ));
        }
        if p.shard.count != n {
            return Err(differs(
                "shard count",
                p.shard.count.to_string(),
                n.to_string(),
            ));
        }
        if p.scenario_hash != total.scenario_hash {
            let what = if p.scenario.name != total.scenario.name {
                (
                    format!("\"{}\"", p.scenario.name),
                    format!("\"{}\"", total.scenario.name),
                )
            } else {
                (
                    format!("\"{}\" (hash {})", p.scenario.name, &p.scenario_hash[..12]),
                    format!("hash {}", &total.scenario_hash[..12]),
                )
            };
            return Err(differs("scenario", what.0, what.1));
        }
        if let Some(other) = seen.get(&p.shard.index) {
            return Err(Error::file(
                path,
                format!(
                    "duplicate shard {}/{n}: also in {}",
                    p.shard.index,
                    other.display()
                ),
            ));
        }
        if p.unit_paths != total.unit_paths {
            return Err(differs(
                "unit paths (charts)",
                p.unit_paths.to_string(),
                total.unit_paths.to_string(),
            ));
        }
        seen.insert(p.shard.index, path);
        parts.insert(p.shard.index, p.trials_out.clone());
        total.accumulator.merge(&p.accumulator);
    }
    let missing: Vec<String> = (0..n)
        .filter(|i| !seen.contains_key(i))
        .take(20)
        .map(|i| format!("{i}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Usage(format!(
            "cannot merge: missing shard{} {} of {n} (given {} partial file{})",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            paths.len(),
            if paths.len() > 1 { "s" } else { "" },
        )));
    }
    total.blocks = 0..engine::block_count(total.trials);
    let parts = seen
        .iter()
        .map(|(i, p)| (p.to_path_buf(), parts.remove(i).flatten()))
        .collect();
    Ok((total, paths, parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_block_once() {
        for trials in [1u64, 1023, 1024, 1025, 10_000, 123_457] {
            for n in [1u32, 2, 3, 7, 16] {
                let mut next = 0;
                for i in 0..n {
                    let r = ShardSpec { index: i, count: n }.blocks(trials);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, engine::block_count(trials));
            }
        }
    }

    #[test]
    fn shard_spec_parses() {
        assert_eq!(
            "2/4".parse::<ShardSpec>(),
            Ok(ShardSpec { index: 2, count: 4 })
        );
        assert!("4/4".parse::<ShardSpec>().is_err());
        assert!("1/0".parse::<ShardSpec>().is_err());
        assert!("x".parse::<ShardSpec>().is_err());
    }
}
