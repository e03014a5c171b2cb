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
//! any thread count. Memory: the tapes of a block's batches (one batch's,
//! for a sink that takes a batch at a time), one kernel state and one
//! value buffer per worker, and one accumulator (without its buffer) per
//! plan and worker; the caller bounds the number of plans per group.
//!
//! A study's sink that keeps only a few sums per plan
//! ([`run_group_collect`]) runs every plan's batch in turn, and a plan
//! that differs from the first in one unit computes that unit alone
//! (`crate::kernel::solo`): the same figures, bit for bit, for a fraction
//! of the work.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{accumulator, block_count, BLOCK_TRIALS, INTERRUPTED};
use crate::error::{Error, Result};
use crate::kernel::batch::{BatchState, Lane, PlanLanes, LANES};
use crate::kernel::tape::{same_draws, Sharing, Tape};
use crate::kernel::Plan;
use crate::stats::Accumulator;

/// A plan's replays alone (`BatchState::run_solo`) on one worker: how
/// many were tried, and how many diverged (the plan's budget share
/// differed from the first plan's in some step, so the batch was
/// replayed whole). A plan whose replays alone mostly diverge (its
/// budget cap binds in most batches: on benches/bench12_fade.toml, every
/// batch) is replayed whole from then on, on that worker, and the first
/// plan stops keeping once no plan tries: the figures are the same
/// either way, only the time differs.
#[derive(Clone, Copy, Default)]
struct Tries {
    tried: u32,
    diverged: u32,
}

impl Tries {
    /// Whether a replay alone is still worth trying: until 32 were tried,
    /// then while at most 3 in 4 diverged, about where trying stops
    /// paying (a replay alone costs about a fifth of a whole replay on
    /// reset.toml, 14k-19k instructions a batch against about 85k, so
    /// trying pays while fewer than about 4 in 5 diverge; one that
    /// diverges stops at that step).
    fn worth(&self) -> bool {
        self.tried < 32 || 4 * self.diverged <= 3 * self.tried
    }

    fn tell(&mut self, alone: bool) {
        self.tried += 1;
        self.diverged += u32::from(!alone);
    }
}

/// Batches a batch-major group runs at a time (see `drive`): each plan's
/// terms, which a solo replay reads once per step, stay in the cache
/// for that many batches, and that many batches' tapes (about 170 kB a
/// batch on reset.toml) fit in a core's L2 cache.
const RUN: usize = 8;

/// Runs `plans` (which all [`same_draws`] as the first) for `trials`
/// trials of `seed` on the current rayon pool, sharing each batch's
/// draws; returns each plan's accumulator, equal to what
/// [`super::run_blocks`] gives for it alone.
pub fn run_group(plans: &[&Plan], seed: u64, trials: u64) -> Result<Vec<Accumulator>> {
    let empty: Vec<Accumulator> = plans.iter().map(|p| accumulator(p, seed)).collect();
    let all = 0..block_count(trials);
    let parts = drive(plans, seed, trials, all, &Accumulators(&empty))?;
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
/// order, that [`super::run_blocks_collect`] gives it for that plan alone
/// (but for the revenue path's slots of a plan that differs from the
/// first in one unit, NaN: such a plan is replayed alone, see `drive`);
/// returns, per plan, its records in block order (so nothing built from
/// them depends on the thread count). Only the blocks in `blocks` are
/// run (all of them: `0..block_count(trials)`), so that a caller can
/// tell its progress between ranges.
pub fn run_group_collect<C: super::BlockCollector>(
    plans: &[&Plan],
    seed: u64,
    trials: u64,
    blocks: Range<u64>,
    collectors: &[C],
) -> Result<Vec<Vec<C::Block>>> {
    let parts = drive(plans, seed, trials, blocks, &Collectors(collectors))?;
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
    /// Whether a block's plans may be run batch by batch, every plan's
    /// batch in turn (a sink whose `start_plan` and `end_plan` do
    /// nothing): then a batch's tapes are all the memory a worker keeps,
    /// and plans that differ from the first in one unit run that unit
    /// alone (see `drive`).
    const BATCH_MAJOR: bool = false;
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
    /// Whether the run should stop before its next block.
    fn stopped(&self) -> bool {
        false
    }
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
    const BATCH_MAJOR: bool = true;

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
        // The first plan's batch is pushed before the others' (`drive`).
        match w.records.split_at_mut(k) {
            ([], mine) => self.0[k].push(&mut mine[0], first, out, count),
            (lead, mine) => self.0[k].push_paired(&mut mine[0], &lead[0], first, out, count),
        }
    }

    fn end_block(&self, w: &mut Self::Worker, block: u64) {
        let records = std::mem::take(&mut w.records);
        w.done.push((block, records));
    }

    fn stopped(&self) -> bool {
        self.0.iter().any(|c| c.stopped())
    }
}

/// The one loop of a group: every worker takes blocks from a shared
/// counter; per block it runs the first plan from the trials' streams,
/// keeping each batch's draws on a tape, then every other plan from the
/// tapes. For a sink of accumulators, a whole plan's trials of the block
/// at a time (so that each plan's figures are taken while its buffers are
/// in cache: measured on reset.toml's sensitivity, accumulators filled a
/// batch at a time, in turn, took twice the time of a plain run's; the
/// tapes of a block take about 9 MB per worker on reset.toml, 36 kB a
/// batch). For a sink that takes a batch at a time
/// ([`Sink::BATCH_MAJOR`]), every plan's batch in turn, one batch's tapes
/// at a time; and a plan that differs from the first in one unit alone
/// ([`Plan::solo_unit`]) computes that unit only, on what the first
/// plan's batch kept of the others (`crate::kernel::batch::BatchState::run_solo`),
/// or, in a batch where its budget share left the first plan's, the
/// whole batch from the draws. Returns every worker's state.
fn drive<S: Sink>(
    plans: &[&Plan],
    seed: u64,
    trials: u64,
    blocks: Range<u64>,
    sink: &S,
) -> Result<Vec<S::Worker>> {
    let Some(&first) = plans.first() else {
        return Ok(Vec::new());
    };
    if let Some(p) = plans.iter().position(|p| !same_draws(first, p)) {
        return Err(Error::Usage(format!(
            "internal: plan {p} of a shared-draws group draws differently from the first"
        )));
    }
    let shares: Vec<Sharing> = plans.iter().map(|p| Sharing::new(first, p)).collect();
    let solo: Vec<Option<usize>> = plans
        .iter()
        .enumerate()
        .map(|(k, p)| {
            (S::BATCH_MAJOR && k > 0)
                .then(|| first.solo_unit(p))
                .flatten()
        })
        .collect();
    let keep = solo.iter().any(Option::is_some);
    let next = AtomicU64::new(blocks.start);
    let workers: Vec<S::Worker> = rayon::broadcast(|_| {
        let mut w = sink.worker();
        let mut state = BatchState::new(first);
        // Each plan's per-trial constants (the state's are the first's).
        let mut lanes: Vec<PlanLanes> = plans.iter().map(|p| PlanLanes::new(p)).collect();
        let mut tapes: Vec<Tape> = Vec::new();
        let mut kept: Vec<Tape> = Vec::new();
        let mut tries = vec![Tries::default(); plans.len()];
        loop {
            if INTERRUPTED.load(Ordering::Relaxed) || sink.stopped() {
                break;
            }
            let block = next.fetch_add(1, Ordering::Relaxed);
            if block >= blocks.end {
                break;
            }
            let start = block * BLOCK_TRIALS;
            let end = (start + BLOCK_TRIALS).min(trials);
            sink.start_block(&mut w, block);
            let batches = (end - start).div_ceil(LANES as u64) as usize;
            let count = |b: usize| (end - start - (b * LANES) as u64).min(LANES as u64) as usize;
            let first_of = |b: usize| start + (b * LANES) as u64;
            let others = plans.iter().zip(&shares).zip(&mut lanes).zip(&solo);
            if S::BATCH_MAJOR {
                // RUN batches at a time, each plan over all of them in
                // turn, so that a plan's terms are fetched once for RUN
                // batches (a group of many plans does not fit the cache).
                tapes.resize_with(RUN, Tape::new);
                kept.resize_with(RUN, Tape::new);
                let mut others: Vec<_> = others.collect();
                // (A stopped run ends within RUN batches: `drive` fails.)
                for run in (0..batches).step_by(RUN).take_while(|_| !sink.stopped()) {
                    let run = run..(run + RUN).min(batches);
                    let keep = keep
                        && solo
                            .iter()
                            .zip(&tries)
                            .any(|(s, t)| s.is_some() && t.worth());
                    for (b, (tape, kept)) in run.clone().zip(tapes.iter_mut().zip(&mut kept)) {
                        if keep {
                            state.run_keeping(first, seed, first_of(b), count(b), tape, kept);
                        } else {
                            state.run_recording(first, seed, first_of(b), count(b), tape);
                        }
                        sink.push(&mut w, 0, first_of(b), &state.out, count(b));
                    }
                    for (k, (((plan, share), pl), solo)) in others.iter_mut().enumerate().skip(1) {
                        let solo = solo.filter(|_| keep && tries[k].worth());
                        for (b, (tape, kept)) in run.clone().zip(tapes.iter_mut().zip(&kept)) {
                            let alone = solo.is_some_and(|u| {
                                let alone = state.run_solo(plan, tape, share, pl, (kept, u));
                                tries[k].tell(alone);
                                alone
                            });
                            if !alone {
                                state.run_replay(plan, tape, share, pl);
                            }
                            sink.push(&mut w, k, first_of(b), &state.out, count(b));
                        }
                    }
                }
            } else {
                if tapes.len() < batches {
                    tapes.resize_with(batches, Tape::new);
                }
                sink.start_plan(&mut w, 0);
                for (b, tape) in tapes[..batches].iter_mut().enumerate() {
                    state.run_recording(first, seed, first_of(b), count(b), tape);
                    sink.push(&mut w, 0, first_of(b), &state.out, count(b));
                }
                sink.end_plan(&mut w, 0);
                for (k, (((plan, share), pl), _)) in others.enumerate().skip(1) {
                    sink.start_plan(&mut w, k);
                    for (b, tape) in tapes[..batches].iter_mut().enumerate() {
                        state.run_replay(plan, tape, share, pl);
                        sink.push(&mut w, k, first_of(b), &state.out, count(b));
                    }
                    sink.end_plan(&mut w, k);
                }
            }
            sink.end_block(&mut w, block);
        }
        w
    });
    if INTERRUPTED.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    if sink.stopped() {
        return Err(super::stopped());
    }
    Ok(workers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::simd::LaneStore;
    use crate::model::Metric;

    /// Every trial's value and delta at the last horizon, per policy, as
    /// bits, in trial order.
    struct Values(Vec<usize>);

    impl super::super::BlockCollector for Values {
        type Block = Vec<u64>;
        fn start(&self, _: u64) -> Vec<u64> {
            Vec::new()
        }
        fn push(&self, block: &mut Vec<u64>, _: u64, out: &[Lane], count: usize) {
            for lane in 0..count {
                let bits = self.0.iter().map(|&slot| out[slot].get(lane).to_bits());
                block.extend(bits);
            }
        }
    }

    #[test]
    fn a_plan_whose_replays_alone_mostly_diverge_is_replayed_whole() {
        let mut t = Tries::default();
        for _ in 0..32 {
            assert!(t.worth(), "the first 32 are tried");
            t.tell(false);
        }
        assert!(!t.worth());
        let mut t = Tries::default();
        for i in 0..400 {
            t.tell(i % 4 == 0);
        }
        assert!(t.worth(), "3 in 4 diverged");
        t.tell(false);
        assert!(!t.worth(), "more than 3 in 4");
    }

    /// A group whose plans differ from the first in one unit (replayed
    /// alone, or whole where the budget share moves) gives each plan its
    /// own run's figures, on 1 and 2 threads, run whole or in ranges of
    /// blocks.
    #[test]
    fn a_group_with_solo_plans_gives_each_plan_its_own_figures() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut s = crate::scenario::load(&root.join("scenarios/reset.toml")).unwrap();
        s.trials = 2 * BLOCK_TRIALS + 37;
        s.horizons = vec![*s.horizons.last().unwrap()];
        let mut grown = s.clone();
        grown.units[7].growth += 0.05;
        // A thinner margin on the group's cash engine: the budget cap
        // binds in some batches (replayed whole there), not in others.
        let mut thin = s.clone();
        thin.units[0].margin = 0.36;
        thin.units[0].target_margin = 0.36;
        let mut two = s.clone();
        two.units[1].growth += 0.01;
        two.units[2].growth += 0.01;
        // A unit that loses fifty times its revenue: the cap binds in
        // every batch, so the plan is soon replayed whole (`Tries`).
        let mut crushed = s.clone();
        crushed.units[3].margin = -50.0;
        crushed.units[3].target_margin = -50.0;
        let plans: Vec<Plan> = [&s, &grown, &thin, &two, &crushed].map(Plan::new).into();
        let first = &plans[0];
        assert_eq!(first.solo_unit(&plans[1]), Some(7));
        assert_eq!(first.solo_unit(&plans[2]), Some(0));
        assert_eq!(first.solo_unit(&plans[3]), None);
        assert_eq!(first.solo_unit(&plans[4]), Some(3));
        let last = first.layout.horizons - 1;
        let slots: Vec<usize> = (0..first.layout.policies)
            .flat_map(|p| {
                [Metric::Value, Metric::DeltaValue].map(|m| first.layout.index(p, last, m))
            })
            .collect();
        let collectors: Vec<Values> = plans.iter().map(|_| Values(slots.clone())).collect();
        let refs: Vec<&Plan> = plans.iter().collect();
        let mut thin_moved = false;
        for threads in [1, 2] {
            let got = crate::engine::with_threads(Some(threads), || {
                run_group_collect(
                    &refs,
                    s.seed,
                    s.trials,
                    0..block_count(s.trials),
                    &collectors,
                )
            })
            .unwrap()
            .unwrap();
            for (k, plan) in plans.iter().enumerate() {
                let alone = crate::engine::with_threads(Some(threads), || {
                    let blocks = 0..super::super::block_count(s.trials);
                    super::super::run_blocks_collect(
                        plan,
                        s.seed,
                        s.trials,
                        blocks,
                        &|_| {},
                        &collectors[k],
                    )
                })
                .unwrap()
                .unwrap();
                assert_eq!(got[k], alone, "plan {k} on {threads} threads");
            }
            thin_moved |= got[2] != got[0];
            // Run in ranges of blocks, as the sensitivity study tells its
            // progress: the same records, in block order.
            let mut ranged: Vec<Vec<Vec<u64>>> = vec![Vec::new(); plans.len()];
            for range in [0..1, 1..block_count(s.trials)] {
                let part = crate::engine::with_threads(Some(threads), || {
                    run_group_collect(&refs, s.seed, s.trials, range, &collectors)
                })
                .unwrap()
                .unwrap();
                for (r, p) in ranged.iter_mut().zip(part) {
                    r.extend(p);
                }
            }
            assert_eq!(ranged, got, "in ranges, on {threads} threads");
        }
        assert!(thin_moved);
    }
}
