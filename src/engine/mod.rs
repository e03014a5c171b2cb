//! The parallel driver: fixed-size trial blocks, one stream per trial,
//! accumulators merged exactly.
//!
//! Trials are grouped in blocks of [`BLOCK_TRIALS`]; rayon may run blocks in
//! any order on any thread, and a shard runs a contiguous range of blocks.
//! Because each trial's stream depends only on (seed, trial) and the
//! accumulators merge exactly (see `crate::stats`), the figures are
//! bit-identical for any thread count and any sharding.

pub mod rng;

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::trial::{Plan, TrialState};
use crate::model::Scenario;
use crate::stats::Accumulator;

/// Trials per block. Part of the numbers' definition: within a block the
/// moment sums are taken in plain floating point, in trial order.
pub const BLOCK_TRIALS: u64 = crate::stats::BUFFER_TRIALS as u64;

/// Set by the signal handler; blocks not yet started are skipped.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Number of blocks a run of `trials` trials has.
pub fn block_count(trials: u64) -> u64 {
    trials.div_ceil(BLOCK_TRIALS)
}

/// The moment shifts of a run: trial 0's figures (see `crate::stats`).
/// Every process of a sharded run computes the same ones.
pub fn shifts(plan: &Plan, seed: u64) -> Vec<f64> {
    let mut state = TrialState::new(plan);
    state.run(plan, &mut rng::trial_rng(seed, 0));
    state.out
}

/// A fresh accumulator for `plan`.
pub fn accumulator(plan: &Plan, seed: u64) -> Accumulator {
    Accumulator::new(shifts(plan, seed), plan.layout.delta_indices())
}

/// Runs the trials of `blocks` (all of a run's blocks, or a shard's) on the
/// current rayon pool. `progress` is told how many trials each block ran.
pub fn run_blocks(
    plan: &Plan,
    seed: u64,
    trials: u64,
    blocks: Range<u64>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Accumulator> {
    let empty = accumulator(plan, seed);
    let acc = blocks
        .into_par_iter()
        .fold(
            || (empty.clone(), TrialState::new(plan)),
            |(mut acc, mut state), block| {
                if INTERRUPTED.load(Ordering::Relaxed) {
                    return (acc, state);
                }
                let start = block * BLOCK_TRIALS;
                let end = (start + BLOCK_TRIALS).min(trials);
                for trial in start..end {
                    let mut rng = rng::trial_rng(seed, trial);
                    state.run(plan, &mut rng);
                    acc.push_trial(trial, &state.out);
                }
                acc.end_block();
                progress(end - start);
                (acc, state)
            },
        )
        .map(|(acc, _)| acc)
        .reduce(
            || empty.clone(),
            |mut a, b| {
                a.merge(&b);
                a
            },
        );
    if INTERRUPTED.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    Ok(acc)
}

/// Runs a whole scenario with `threads` worker threads (None: rayon's
/// default, i.e. RAYON_NUM_THREADS or the number of cores).
pub fn run(
    scenario: &Scenario,
    threads: Option<usize>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Plan, Accumulator)> {
    let plan = Plan::new(scenario);
    let blocks = 0..block_count(scenario.trials);
    let acc = with_threads(threads, || {
        run_blocks(&plan, scenario.seed, scenario.trials, blocks, progress)
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
