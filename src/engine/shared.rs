//! Many plans on one generation of the draws: the engine of a study's
//! variants (see `crate::kernel::tape`).
//!
//! The plans of a group draw alike ([`same_draws`]). Every worker takes
//! blocks from a shared counter as [`super::run_blocks`] does; for each
//! batch of [`LANES`] trials it runs the first plan from the trials'
//! streams, keeping the draws on a tape, then every other plan from the
//! tape, and pushes each plan's figures into that plan's own accumulator.
//! Each accumulator thus receives exactly the trials, in exactly the
//! order, that a run of its plan alone gives it, and accumulators merge
//! exactly: every plan's figures are its separate run's, bit for bit, for
//! any thread count. Memory: the tapes of a stretch of batches, one
//! kernel state and one value buffer per worker, and one accumulator
//! (without its buffer) per plan and worker; the caller bounds the number
//! of plans per group.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{accumulator, block_count, BLOCK_TRIALS, INTERRUPTED};
use crate::error::{Error, Result};
use crate::kernel::batch::{BatchState, Lane, PlanLanes, LANES};
use crate::kernel::tape::{same_draws, Sharing, Tape};
use crate::kernel::Plan;
use crate::stats::Accumulator;

/// Runs `plans` (which all [`same_draws`] as the first) for `trials`
/// trials of `seed` on the current rayon pool, sharing each batch's
/// draws; returns each plan's accumulator, equal to what
/// [`super::run_blocks`] gives for it alone.
pub fn run_group(plans: &[&Plan], seed: u64, trials: u64) -> Result<Vec<Accumulator>> {
    let empty: Vec<Accumulator> = plans.iter().map(|p| accumulator(p, seed)).collect();
    let parts = drive(plans, seed, trials, &Accumulators(&empty))?;
    let mut parts = parts.into_iter();
    let mut out = parts.next().map_or(empty.clone(), |w| w.accs);
    for part in parts {
        for (a, b) in out.iter_mut().zip(&part.accs) {
            a.merge(b);
        }
    }
    Ok(out)
}

/// [`run_group`] with a [`super::BlockCollector`] per plan instead of an
/// accumulator: each plan's collector takes exactly the trials, in the
/// order, that [`super::run_blocks_collect`] gives it for that plan alone;
/// returns, per plan, its records in block order (so nothing built from
/// them depends on the thread count).
pub fn run_group_collect<C: super::BlockCollector>(
    plans: &[&Plan],
    seed: u64,
    trials: u64,
    collectors: &[C],
) -> Result<Vec<Vec<C::Block>>> {
    let parts = drive(plans, seed, trials, &Collectors(collectors))?;
    let mut all: Vec<(u64, Vec<C::Block>)> = parts.into_iter().flat_map(|w| w.done).collect();
    all.sort_by_key(|(b, _)| *b);
    let mut out: Vec<Vec<C::Block>> = plans.iter().map(|_| Vec::new()).collect();
    for (_, records) in all {
        for (o, r) in out.iter_mut().zip(records) {
            o.push(r);
        }
    }
    Ok(out)
}

/// What a group's run does with each plan's figures, on each worker.
trait Sink: Sync {
    /// A worker's own state.
    type Worker: Send;
    fn worker(&self) -> Self::Worker;
    /// Block `block` starts.
    fn start_block(&self, w: &mut Self::Worker, block: u64);
    /// Plan `k`'s trials of the block start (in plan order).
    fn start_plan(&self, _w: &mut Self::Worker, _k: usize) {}
    /// Plan `k`'s trials `first .. first + count`, lanes of `out`.
    fn push(&self, w: &mut Self::Worker, k: usize, first: u64, out: &[Lane], count: usize);
    /// Plan `k`'s trials of the block are all pushed.
    fn end_plan(&self, _w: &mut Self::Worker, _k: usize) {}
    fn end_block(&self, w: &mut Self::Worker, block: u64);
}

/// A worker's accumulators, and the one value buffer they take turns with.
struct AccWorker {
    accs: Vec<Accumulator>,
    buffer: Vec<f64>,
}

/// Each plan's figures into its accumulator.
struct Accumulators<'a>(&'a [Accumulator]);

impl Sink for Accumulators<'_> {
    type Worker = AccWorker;

    fn worker(&self) -> AccWorker {
        AccWorker {
            accs: self.0.to_vec(),
            buffer: Vec::new(),
        }
    }

    fn start_block(&self, _w: &mut AccWorker, _block: u64) {}

    fn start_plan(&self, w: &mut AccWorker, k: usize) {
        w.accs[k].swap_buffer(&mut w.buffer);
    }

    fn push(&self, w: &mut AccWorker, k: usize, first: u64, out: &[Lane], count: usize) {
        w.accs[k].push_lanes(first, out, count);
    }

    fn end_plan(&self, w: &mut AccWorker, k: usize) {
        w.accs[k].flush();
        w.accs[k].swap_buffer(&mut w.buffer);
    }

    fn end_block(&self, w: &mut AccWorker, _block: u64) {
        for acc in &mut w.accs {
            acc.end_block();
        }
    }
}

/// A worker's finished blocks (each with every plan's record) and the
/// block it is on.
struct CollectWorker<B> {
    done: Vec<(u64, Vec<B>)>,
    records: Vec<B>,
}

/// Each plan's figures into its collector's record of the block.
struct Collectors<'a, C>(&'a [C]);

impl<C: super::BlockCollector> Sink for Collectors<'_, C> {
    type Worker = CollectWorker<C::Block>;

    fn worker(&self) -> Self::Worker {
        CollectWorker {
            done: Vec::new(),
            records: Vec::new(),
        }
    }

    fn start_block(&self, w: &mut Self::Worker, block: u64) {
        w.records = self.0.iter().map(|c| c.start(block)).collect();
    }

    fn push(&self, w: &mut Self::Worker, k: usize, first: u64, out: &[Lane], count: usize) {
        self.0[k].push(&mut w.records[k], first, out, count);
    }

    fn end_block(&self, w: &mut Self::Worker, block: u64) {
        let records = std::mem::take(&mut w.records);
        w.done.push((block, records));
    }
}

/// The one loop of a group: every worker takes blocks from a shared
/// counter; per block it runs the first plan from the trials' streams,
/// keeping each batch's draws on a tape, then every other plan from the
/// tapes, a whole plan's trials of the block at a time (so that each
/// plan's figures are taken while its buffers are in cache: measured on
/// reset.toml's sensitivity, accumulators filled a batch at a time, in
/// turn, took twice the time of a plain run's). The tapes of a block take
/// about 9 MB per worker on reset.toml (36 kB a batch). Returns every
/// worker's state.
fn drive<S: Sink>(plans: &[&Plan], seed: u64, trials: u64, sink: &S) -> Result<Vec<S::Worker>> {
    let Some(&first) = plans.first() else {
        return Ok(Vec::new());
    };
    if let Some(p) = plans.iter().position(|p| !same_draws(first, p)) {
        return Err(Error::Usage(format!(
            "internal: plan {p} of a shared-draws group draws differently from the first"
        )));
    }
    let shares: Vec<Sharing> = plans.iter().map(|p| Sharing::new(first, p)).collect();
    let blocks = block_count(trials);
    let next = AtomicU64::new(0);
    let workers: Vec<S::Worker> = rayon::broadcast(|_| {
        let mut w = sink.worker();
        let mut state = BatchState::new(first);
        // Each plan's per-trial constants (the state's are the first's).
        let mut lanes: Vec<PlanLanes> = plans.iter().map(|p| PlanLanes::new(p)).collect();
        let mut tapes: Vec<Tape> = Vec::new();
        loop {
            if INTERRUPTED.load(Ordering::Relaxed) {
                break;
            }
            let block = next.fetch_add(1, Ordering::Relaxed);
            if block >= blocks {
                break;
            }
            let start = block * BLOCK_TRIALS;
            let end = (start + BLOCK_TRIALS).min(trials);
            sink.start_block(&mut w, block);
            let batches = (end - start).div_ceil(LANES as u64) as usize;
            if tapes.len() < batches {
                tapes.resize_with(batches, Tape::new);
            }
            let count = |b: usize| (end - start - (b * LANES) as u64).min(LANES as u64) as usize;
            let first_of = |b: usize| start + (b * LANES) as u64;
            sink.start_plan(&mut w, 0);
            for (b, tape) in tapes[..batches].iter_mut().enumerate() {
                state.run_recording(first, seed, first_of(b), count(b), tape);
                sink.push(&mut w, 0, first_of(b), &state.out, count(b));
            }
            sink.end_plan(&mut w, 0);
            for (k, ((plan, share), pl)) in plans
                .iter()
                .zip(&shares)
                .zip(&mut lanes)
                .enumerate()
                .skip(1)
            {
                sink.start_plan(&mut w, k);
                for (b, tape) in tapes[..batches].iter_mut().enumerate() {
                    state.run_replay(plan, tape, share, pl);
                    sink.push(&mut w, k, first_of(b), &state.out, count(b));
                }
                sink.end_plan(&mut w, k);
            }
            sink.end_block(&mut w, block);
        }
        w
    });
    if INTERRUPTED.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    Ok(workers)
}
