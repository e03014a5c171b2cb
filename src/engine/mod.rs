//! The parallel driver: fixed-size trial blocks, one stream per trial,
//! accumulators merged exactly.
//!
//! Trials are grouped in blocks of [`BLOCK_TRIALS`]; worker threads run
//! blocks in any order, and a shard runs a contiguous range of blocks.
//! Within a block the trials run [`LANES`] at a time in the batch kernel
//! (`crate::kernel::batch`), in trial order.
//! Because each trial's stream depends only on (seed, trial) and the
//! accumulators merge exactly (see `crate::stats`), the figures are
//! bit-identical for any thread count and any sharding.

pub mod shared;

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::kernel::batch::{BatchState, Lane, LANES};
use crate::kernel::Plan;
use crate::model::Scenario;
use crate::stats::Accumulator;

/// Trials per block. Part of the numbers' definition: within a block the
/// moment sums are taken in plain floating point, in trial order.
pub const BLOCK_TRIALS: u64 = crate::stats::BUFFER_TRIALS as u64;

/// Set by the signal handler; blocks not yet started are skipped.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// `Err(Interrupted)` once a signal asked the run to stop: long loops
/// outside the engine (studies, charts, merges) call it between steps.
pub fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        Err(Error::Interrupted)
    } else {
        Ok(())
    }
}

/// Number of blocks a run of `trials` trials has.
pub fn block_count(trials: u64) -> u64 {
    trials.div_ceil(BLOCK_TRIALS)
}

/// The moment shifts of a run: trial 0's figures (see `crate::stats`).
/// Every process of a sharded run computes the same ones.
pub fn shifts(plan: &Plan, seed: u64) -> Vec<f64> {
    let mut state = BatchState::new(plan);
    state.run(plan, seed, 0, 1);
    state.out.iter().map(|lanes| lanes[0]).collect()
}

/// A fresh accumulator for `plan`.
pub fn accumulator(plan: &Plan, seed: u64) -> Accumulator {
    Accumulator::new(shifts(plan, seed), plan.layout.counted_indices())
}

/// Takes every trial's figures as blocks run, for output per trial
/// (`--trials-out`). Blocks finish in any order on any worker; a sink
/// that writes them in trial order holds finished blocks until the ones
/// before them arrive, and bounds that memory by making workers wait in
/// [`TrialSink::admit`] before they run a block too far ahead.
pub trait TrialSink: Sync {
    /// Called by a worker before it runs `block`; may wait. False stops
    /// the worker (the sink failed; [`TrialSink::error`] says why).
    fn admit(&self, block: u64) -> bool;
    /// Appends the records of trials `first .. first + count` (lanes of
    /// `out`, laid out as the plan's layout) to `buf`.
    fn record(&self, buf: &mut Vec<u8>, first: u64, out: &[Lane], count: usize);
    /// Takes the records of a finished block.
    fn deliver(&self, block: u64, records: Vec<u8>);
    /// Why the sink stopped taking blocks, if it did.
    fn error(&self) -> Option<Error>;
}

/// Runs block `block` into `acc` (and closes it), handing every trial's
/// figures to `sink` when there is one; returns its trial count.
pub fn run_block(
    plan: &Plan,
    seed: u64,
    trials: u64,
    block: u64,
    state: &mut BatchState,
    acc: &mut Accumulator,
    sink: Option<&dyn TrialSink>,
) -> u64 {
    let start = block * BLOCK_TRIALS;
    let end = (start + BLOCK_TRIALS).min(trials);
    let mut records = Vec::new();
    let mut first = start;
    while first < end {
        let count = (end - first).min(LANES as u64) as usize;
        state.run(plan, seed, first, count);
        acc.push_lanes(first, &state.out, count);
        if let Some(sink) = sink {
            sink.record(&mut records, first, &state.out, count);
        }
        first += count as u64;
    }
    acc.end_block();
    if let Some(sink) = sink {
        sink.deliver(block, records);
    }
    end.saturating_sub(start)
}

/// Runs the trials of `blocks` (all of a run's blocks, or a shard's) on the
/// current rayon pool. `progress` is told how many trials each block ran.
///
/// Every worker thread keeps one accumulator and one kernel state and
/// takes the next block from a shared counter until none is left (so a
/// thread slowed by other load simply takes fewer blocks); the per-thread
/// accumulators are merged at the end. Merging is exact, so which thread
/// ran which block never shows in the figures.
pub fn run_blocks(
    plan: &Plan,
    seed: u64,
    trials: u64,
    blocks: Range<u64>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Accumulator> {
    run_blocks_to(plan, seed, trials, blocks, progress, None)
}

/// [`run_blocks`], also handing every trial's figures to `sink`.
pub fn run_blocks_to(
    plan: &Plan,
    seed: u64,
    trials: u64,
    blocks: Range<u64>,
    progress: &(dyn Fn(u64) + Sync),
    sink: Option<&dyn TrialSink>,
) -> Result<Accumulator> {
    let empty = accumulator(plan, seed);
    let next = AtomicU64::new(blocks.start);
    let parts: Vec<Accumulator> = rayon::broadcast(|_| {
        let mut acc = empty.clone();
        let mut state = BatchState::new(plan);
        loop {
            if INTERRUPTED.load(Ordering::Relaxed) {
                break;
            }
            let block = next.fetch_add(1, Ordering::Relaxed);
            if block >= blocks.end || sink.is_some_and(|s| !s.admit(block)) {
                break;
            }
            let n = run_block(plan, seed, trials, block, &mut state, &mut acc, sink);
            progress(n);
        }
        acc
    });
    if INTERRUPTED.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    if let Some(e) = sink.and_then(|s| s.error()) {
        return Err(e);
    }
    // Into the first worker's accumulator, not a fresh one: one copy of
    // the sketches fewer at the peak of memory.
    let mut parts = parts.into_iter();
    let mut acc = parts.next().unwrap_or(empty);
    for part in parts {
        acc.merge(&part);
    }
    Ok(acc)
}

/// Takes only the figures a study needs from each block as it runs (the
/// optimizer: a few slots per candidate policy), instead of aggregating
/// every slot of the layout into an [`Accumulator`].
pub trait BlockCollector: Sync {
    /// What one block's trials leave behind.
    type Block: Send;
    /// An empty record for `block`.
    fn start(&self, block: u64) -> Self::Block;
    /// Takes trials `first .. first + count` (lanes of `out`, laid out as
    /// the plan's layout), in trial order within the block.
    fn push(&self, block: &mut Self::Block, first: u64, out: &[Lane], count: usize);
    /// [`BlockCollector::push`] for a plan of a shared-draws group other
    /// than its first (`shared::run_group_collect`), with the first plan's
    /// record of the same block, which already holds these trials: a
    /// collector may pair each trial's figures with the first plan's
    /// (a screened sensitivity study does). By default, `push`.
    fn push_paired(
        &self,
        block: &mut Self::Block,
        _lead: &Self::Block,
        first: u64,
        out: &[Lane],
        count: usize,
    ) {
        self.push(block, first, out, count);
    }
    /// Whether the run should stop (asked before each block and each
    /// batch or few batches; the caller's reason: `simulate serve` stops a
    /// study a newer request overtakes); the run then fails with
    /// [`stopped`]. By default, never.
    fn stopped(&self) -> bool {
        false
    }
}

/// The error of a run its collector stopped ([`BlockCollector::stopped`]).
pub fn stopped() -> Error {
    Error::Usage("the run was stopped by a newer request".into())
}

/// `inner`, stopped within a batch or a few once `stop` says so.
pub struct Stoppable<'a, C> {
    pub inner: &'a C,
    pub stop: &'a (dyn Fn() -> bool + Sync),
}

impl<C: BlockCollector> BlockCollector for Stoppable<'_, C> {
    type Block = C::Block;

    fn start(&self, block: u64) -> C::Block {
        self.inner.start(block)
    }
    fn push(&self, block: &mut C::Block, first: u64, out: &[Lane], count: usize) {
        self.inner.push(block, first, out, count);
    }
    fn push_paired(
        &self,
        block: &mut C::Block,
        lead: &C::Block,
        first: u64,
        out: &[Lane],
        count: usize,
    ) {
        self.inner.push_paired(block, lead, first, out, count);
    }
    fn stopped(&self) -> bool {
        (self.stop)() || self.inner.stopped()
    }
}

/// Runs the trials of `blocks` on the current rayon pool into `collector`
/// and returns each block's record in block order, so what is built from
/// them does not depend on which worker ran which block.
pub fn run_blocks_collect<C: BlockCollector>(
    plan: &Plan,
    seed: u64,
    trials: u64,
    blocks: Range<u64>,
    progress: &(dyn Fn(u64) + Sync),
    collector: &C,
) -> Result<Vec<C::Block>> {
    let next = AtomicU64::new(blocks.start);
    let parts: Vec<Vec<(u64, C::Block)>> = rayon::broadcast(|_| {
        let mut state = BatchState::new(plan);
        let mut done = Vec::new();
        loop {
            if INTERRUPTED.load(Ordering::Relaxed) || collector.stopped() {
                break;
            }
            let block = next.fetch_add(1, Ordering::Relaxed);
            if block >= blocks.end {
                break;
            }
            let start = block * BLOCK_TRIALS;
            let end = (start + BLOCK_TRIALS).min(trials);
            let mut record = collector.start(block);
            let mut first = start;
            while first < end {
                // A stopped run ends within a batch (the block left
                // unfinished: the run then fails).
                if collector.stopped() {
                    break;
                }
                let count = (end - first).min(LANES as u64) as usize;
                state.run(plan, seed, first, count);
                collector.push(&mut record, first, &state.out, count);
                first += count as u64;
            }
            done.push((block, record));
            progress(end.saturating_sub(start));
        }
        done
    });
    if INTERRUPTED.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    if collector.stopped() {
        return Err(stopped());
    }
    let mut all: Vec<(u64, C::Block)> = parts.into_iter().flatten().collect();
    all.sort_by_key(|(b, _)| *b);
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

/// Runs a whole scenario with `threads` worker threads (None: rayon's
/// default, i.e. RAYON_NUM_THREADS or the number of cores).
pub fn run(
    scenario: &Scenario,
    threads: Option<usize>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Plan, Accumulator)> {
    run_plan(Plan::new(scenario), scenario, threads, progress, None)
}

/// [`run`] with a given plan (e.g. one recording unit paths) and an
/// optional sink of every trial's figures.
pub fn run_plan(
    plan: Plan,
    scenario: &Scenario,
    threads: Option<usize>,
    progress: &(dyn Fn(u64) + Sync),
    sink: Option<&dyn TrialSink>,
) -> Result<(Plan, Accumulator)> {
    let blocks = 0..block_count(scenario.trials);
    let acc = with_threads(threads, || {
        run_blocks_to(
            &plan,
            scenario.seed,
            scenario.trials,
            blocks,
            progress,
            sink,
        )
    })??;
    Ok((plan, acc))
}

/// Runs `f` on a pool of `threads` threads.
pub fn with_threads<T: Send>(threads: Option<usize>, f: impl FnOnce() -> T + Send) -> Result<T> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        builder = builder.num_threads(t);
    }
    let pool = builder
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {threads:?} worker threads: {e}")))?;
    Ok(pool.install(f))
}
