//! What a run will take from the machine, checked before it starts.
//!
//! Worker threads: `--threads` is capped at [`MAX_THREADS`]; the
//! `RAYON_NUM_THREADS` variable, which rayon would otherwise obey as it
//! stands (100 000 threads until the process dies), is held to the same
//! cap.
//!
//! Memory: every worker keeps its own accumulator, one quantile sketch per
//! reported figure, and a scenario within the documented limits (1 000
//! units x 9 policies x 11 horizons is ~200 000 figures) can need more
//! memory than the machine has; it used to run until the allocator
//! aborted. [`check_memory`] estimates the peak before any work, from the
//! number of figures, the threads and the trials, and refuses (exit 2) a
//! run that would not fit, with the figure and what to reduce. The
//! estimate is deliberately cautious (tests check it stays above what
//! accumulators really hold); `STRATSIM_MEMORY` states the memory to plan
//! for when the machine's own figure is not the right one (a batch job's
//! allocation, or a known-safe larger run).

use crate::error::{Error, Result};
use crate::kernel::Plan;
use crate::model::Scenario;

/// Most worker threads, from `--threads` or `RAYON_NUM_THREADS`.
pub const MAX_THREADS: usize = 1024;

/// The worker thread count of a run: `--threads`, else
/// `RAYON_NUM_THREADS` (0 or unset: one per core), refused above
/// [`MAX_THREADS`] or when not a number.
pub fn threads(cli: Option<u16>) -> Result<usize> {
    if let Some(t) = cli {
        return Ok(usize::from(t));
    }
    let cores = || std::thread::available_parallelism().map_or(1, |n| n.get());
    match std::env::var("RAYON_NUM_THREADS") {
        Err(_) => Ok(cores().min(MAX_THREADS)),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(0) => Ok(cores().min(MAX_THREADS)),
            Ok(n) if n <= MAX_THREADS => Ok(n),
            Ok(n) => Err(Error::Usage(format!(
                "RAYON_NUM_THREADS={n} asks for more than the {MAX_THREADS} worker threads allowed (as --threads); lower it, or unset it for one thread per core"
            ))),
            Err(_) => Err(Error::Usage(format!(
                "RAYON_NUM_THREADS={v:?} is not a number of threads; set it to a whole number (1 to {MAX_THREADS}) or unset it"
            ))),
        },
    }
}

/// Makes the process-wide rayon pool (charts draw on it) `threads` wide,
/// so that `RAYON_NUM_THREADS` never reaches rayon unchecked.
pub fn set_global_threads(threads: usize) {
    // An error means the pool exists already (a second command in one
    // process, as in tests): it keeps its size.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
}

/// Bytes in "8G", "512M", "64k" or a plain count.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let t = s.trim();
    let (num, scale) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let unit = t[i..].trim().to_ascii_lowercase();
            let scale: u64 = match unit.trim_end_matches("ib").trim_end_matches('b') {
                "" => 1,
                "k" => 1 << 10,
                "m" => 1 << 20,
                "g" => 1 << 30,
                "t" => 1 << 40,
                _ => return None,
            };
            (t[..i].trim(), scale)
        }
        None => (t, 1),
    };
    let x: f64 = num.parse().ok()?;
    (x.is_finite() && x > 0.0).then_some((x * scale as f64) as u64)
}

/// Memory the run may use, and where the figure comes from.
pub fn available_memory() -> Result<(u64, &'static str)> {
    if let Ok(v) = std::env::var("STRATSIM_MEMORY") {
        return parse_bytes(&v)
            .map(|b| (b, "set by STRATSIM_MEMORY"))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "STRATSIM_MEMORY={v:?} is not an amount of memory; write e.g. 8G, 512M or a number of bytes"
                ))
            });
    }
    let mut best: Option<(u64, &'static str)> = meminfo_available().map(|b| (b, "available"));
    if let Some(c) = cgroup_room() {
        if best.is_none_or(|(b, _)| c < b) {
            best = Some((c, "left under this job's memory limit"));
        }
    }
    Ok(best
        .or_else(|| physical_memory().map(|b| (b, "installed")))
        .unwrap_or((u64::MAX, "unknown")))
}

/// MemAvailable of /proc/meminfo (Linux).
fn meminfo_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Room left under a cgroup v2 memory limit (containers, batch jobs).
fn cgroup_room() -> Option<u64> {
    let max = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok()?;
    let max: u64 = max.trim().parse().ok()?; // "max": no limit
    let used: u64 = std::fs::read_to_string("/sys/fs/cgroup/memory.current")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    Some(max.saturating_sub(used))
}

/// Installed memory (where /proc is missing).
fn physical_memory() -> Option<u64> {
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads configuration values.
        let (pages, size) = unsafe {
            (
                libc::sysconf(libc::_SC_PHYS_PAGES),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        if pages > 0 && size > 0 {
            return Some(pages as u64 * size as u64);
        }
    }
    None
}

/// How widely a scenario's figures spread, in natural-log units: the
/// widest unit's log-standard deviation at the mean horizon (volatility,
/// jumps and the multiple's dispersion together). Sketch pages cover the
/// spread of a figure's magnitudes, so memory grows with it.
fn spread(s: &Scenario) -> f64 {
    let years = s.horizons.iter().map(|&h| h as f64).sum::<f64>() / s.horizons.len().max(1) as f64;
    s.units
        .iter()
        .map(|u| {
            let jumps = u
                .jumps
                .map_or(0.0, |j| j.rate * (j.stdev * j.stdev + j.mean * j.mean));
            let var = (u.volatility * u.volatility + jumps) * years
                + u.multiple_dispersion * u.multiple_dispersion;
            var.sqrt().min(100.0)
        })
        .fold(0.0, f64::max)
}

/// Bytes of quantile sketch pages per figure, estimated for a figure over
/// `trials` trials of a scenario whose figures spread by `spread` (see
/// [`spread`]). Measured (2026-11, pages of 64 buckets, one accumulator):
/// the measured bytes over `1024 (1 + log10 trials) (1 + spread)` ran
/// from 0.7 (cloud_spinoff) to 2.6 (reset.toml with every volatility at
/// 0.9) across the shipped scenarios, bench12, 1 000 units and the
/// extreme fixture, at 10 240 and 1 024 000 trials: 3 covers them all.
fn sketch_bytes(trials: u64, spread: f64) -> f64 {
    3.0 * 1024.0 * (1.0 + (trials.max(1) as f64).log10()) * (1.0 + spread)
}

/// The estimate of a run's peak memory, with its parts for the message.
#[derive(Clone, Debug)]
pub struct Estimate {
    pub bytes: u64,
    /// Figures each accumulator keeps.
    pub figures: usize,
    pub threads: usize,
    /// Accumulators alive at the peak.
    pub accumulators: usize,
}

/// Estimates the peak memory of running `scenario` for `trials` trials on
/// `threads` workers, `kept` accumulators (a finished run's, a study's
/// base) alive beside the workers'.
pub fn estimate(scenario: &Scenario, threads: usize, trials: u64, kept: usize) -> Estimate {
    // With unit paths: a run records them unless --no-charts says not to.
    let plan = Plan::for_run(scenario, true);
    let figures = plan.layout.len();
    let n = figures as f64;
    // Per accumulator: the metric records with their exact sums (2 x 67
    // chunks) and the sketch pages.
    let per_acc = n * (1_300.0 + sketch_bytes(trials, spread(scenario)));
    // Per worker, besides its accumulator: the block buffer (520 values a
    // figure), running sums and the kernel's lanes.
    let per_worker = n * (520.0 * 8.0 + 80.0);
    // Each worker's accumulator and the kept ones hold pages; the empty
    // template the workers start from holds only the records.
    let accumulators = threads + kept;
    // Summary rows, the charts' bitmaps, the program itself.
    let base =
        n * (300.0 + 1_300.0) + 128.0 * 1024.0 * 1024.0 + threads as f64 * 8.0 * 1024.0 * 1024.0;
    let bytes = accumulators as f64 * per_acc + threads as f64 * per_worker + base;
    Estimate {
        bytes: bytes as u64,
        figures,
        threads,
        accumulators,
    }
}

/// Bytes free to an unprivileged writer on the file system that holds
/// `dir` (None when it cannot be asked).
pub fn free_disk(dir: &std::path::Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: `c` is a NUL-terminated path that outlives the call, and
        // `st` points to writable memory of the struct's size, which
        // statvfs fills completely when it returns 0.
        let r = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
        if r != 0 {
            return None;
        }
        // SAFETY: statvfs returned 0, so it initialised `st`.
        let st = unsafe { st.assume_init() };
        #[allow(clippy::unnecessary_cast)] // u32 on some targets
        let (avail, size) = (st.f_bavail as u64, st.f_frsize as u64);
        Some(avail.saturating_mul(size))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Refuses (exit 2) writing about `need` bytes of `what` into `dir` when
/// its file system has less free: before any work, not after it.
pub fn check_disk(what: &str, dir: &std::path::Path, need: u64, hint: &str) -> Result<()> {
    let Some(free) = free_disk(dir) else {
        return Ok(());
    };
    if need <= free {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{what} will need about {} of disk, more than the {} free on the file system of {}; {hint}",
        disk(need),
        disk(free),
        dir.display()
    )))
}

/// Bytes of disk for a message: GB, or MB below 1 GB.
fn disk(b: u64) -> String {
    if b >= 1_000_000_000 {
        gb(b)
    } else {
        format!("{:.1} MB", b as f64 / 1e6)
    }
}

fn gb(b: u64) -> String {
    format!("{:.1} GB", b as f64 / 1e9)
}

/// Refuses (exit 2) a run whose estimated peak memory exceeds what is
/// available, saying how much it needs and what to reduce.
pub fn check_memory(scenario: &Scenario, threads: usize, trials: u64, kept: usize) -> Result<()> {
    check_memory_with(scenario, threads, trials, kept, None)
}

/// What a command keeps per trial besides the accumulators (the
/// optimizer's per-candidate values), for [`check_memory_with`].
#[derive(Clone, Debug)]
pub struct PerTrial {
    /// Bytes kept per trial.
    pub bytes: f64,
    /// What keeps them, for the message.
    pub what: String,
    /// How to need less, for the message.
    pub hint: String,
}

/// [`check_memory`], counting `per_trial` bytes for each of `trials`
/// trials on top of the run's estimate.
pub fn check_memory_with(
    scenario: &Scenario,
    threads: usize,
    trials: u64,
    kept: usize,
    per_trial: Option<&PerTrial>,
) -> Result<()> {
    let (room, source) = available_memory()?;
    let e = estimate(scenario, threads, trials, kept);
    let extra = per_trial.map_or(0, |p| (p.bytes * trials as f64) as u64);
    if e.bytes.saturating_add(extra) <= room {
        return Ok(());
    }
    if let Some(p) = per_trial.filter(|_| extra > 0) {
        let fit = room.saturating_sub(e.bytes) as f64 / p.bytes;
        return Err(Error::Usage(format!(
            "this run needs about {} of memory: {} for its figures and {} for {} ({} bytes a trial x {trials} trials), more than the {} {source}; {} (at most about {} trials fit). If you know the machine has room, set STRATSIM_MEMORY (e.g. STRATSIM_MEMORY=64G)",
            gb(e.bytes.saturating_add(extra)),
            gb(e.bytes),
            gb(extra),
            p.what,
            p.bytes.round(),
            gb(room),
            p.hint,
            crate::format::amount(fit.max(0.0).floor()),
        )));
    }
    let per_worker = estimate(scenario, 1, trials, kept).bytes;
    let fit_threads = (1..threads)
        .rev()
        .find(|&t| estimate(scenario, t, trials, kept).bytes <= room);
    let threads_hint = match fit_threads {
        Some(t) => format!(", or --threads {t} (each worker keeps its own copy of every figure)"),
        None => String::new(),
    };
    Err(Error::Usage(format!(
        "this run needs about {} of memory ({} figures: {} policies x {} horizons x (4 + 2 x {} units) plus the revenue path, kept by {} accumulators on {} worker threads), more than the {} {source}; use fewer units, policies or horizons{threads_hint} (1 thread needs about {}). If you know the machine has room, set STRATSIM_MEMORY (e.g. STRATSIM_MEMORY=64G)",
        gb(e.bytes),
        e.figures,
        scenario.policies.len(),
        scenario.horizons.len(),
        scenario.units.len(),
        e.accumulators,
        e.threads,
        gb(room),
        gb(per_worker),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_of_memory_parse() {
        assert_eq!(parse_bytes("8G"), Some(8 << 30));
        assert_eq!(parse_bytes("512 MiB"), Some(512 << 20));
        assert_eq!(parse_bytes("1.5g"), Some(3 << 29));
        assert_eq!(parse_bytes("4096"), Some(4096));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("-1G"), None);
    }

    /// The estimate stays above what accumulators really hold, for the
    /// shipped scenarios and a wide one.
    #[test]
    fn the_estimate_is_cautious() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for (file, vol) in [
            ("scenarios/reset.toml", None),
            ("scenarios/cloud_spinoff.toml", None),
            ("scenarios/reset.toml", Some(0.9)),
        ] {
            let mut s = crate::scenario::load(&root.join(file)).unwrap();
            if let Some(v) = vol {
                s.units.iter_mut().for_each(|u| u.volatility = v);
            }
            s.trials = 20_000;
            let (_, acc) = crate::engine::run(&s, Some(1), &|_| {}).unwrap();
            let e = estimate(&s, 1, s.trials, 0);
            // One worker: its accumulator with its buffer (what the run
            // returns); the estimate covers it without its fixed base.
            let base = 128 * 1024 * 1024 + 8 * 1024 * 1024;
            assert!(
                e.bytes - base > acc.heap_bytes() as u64,
                "{file} {vol:?}: estimate {} vs {} held",
                e.bytes - base,
                acc.heap_bytes()
            );
        }
    }
}
