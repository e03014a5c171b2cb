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
use crate::kernel::batch::{BatchState, PlanLanes, LANES};
use crate::kernel::tape::{same_draws, Sharing, Tape};
use crate::kernel::Plan;
use crate::stats::Accumulator;

/// Trials recorded before they are replayed for the other plans: a whole
/// block, so that each plan's accumulator takes the block's trials in one
/// go, with the worker's value buffer in cache and its sketches fetched
/// once (measured on reset.toml's sensitivity: accumulators filled a batch
/// at a time, in turn, took twice the time of a plain run's). The tapes
/// of a block take about 9 MB per worker on reset.toml (36 kB a batch).
const STRETCH_TRIALS: u64 = BLOCK_TRIALS;

/// Runs `plans` (which all [`same_draws`] as the first) for `trials`
/// trials of `seed` on the current rayon pool, sharing each batch's
/// draws; returns each plan's accumulator, equal to what
/// [`super::run_blocks`] gives for it alone.
pub fn run_group(plans: &[&Plan], seed: u64, trials: u64) -> Result<Vec<Accumulator>> {
    let Some(&first) = plans.first() else {
        return Ok(Vec::new());
    };
    if let Some(p) = plans.iter().position(|p| !same_draws(first, p)) {
        return Err(Error::Usage(format!(
            "internal: plan {p} of a shared-draws group draws differently from the first"
        )));
    }
    let shares: Vec<Sharing> = plans.iter().map(|p| Sharing::new(first, p)).collect();
    let empty: Vec<Accumulator> = plans.iter().map(|p| accumulator(p, seed)).collect();
    let blocks = block_count(trials);
    let next = AtomicU64::new(0);
    let parts: Vec<Vec<Accumulator>> = rayon::broadcast(|_| {
        let mut accs = empty.clone();
        let mut state = BatchState::new(first);
        // Each plan's per-trial constants (the state's are the first's).
        let mut lanes: Vec<PlanLanes> = plans.iter().map(|p| PlanLanes::new(p)).collect();
        let mut tapes: Vec<Tape> = Vec::new();
        // The one value buffer the accumulators take turns with.
        let mut buffer: Vec<f64> = Vec::new();
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
            let mut at = start;
            while at < end {
                // A stretch of batches recorded, then replayed plan by
                // plan: each plan's accumulator takes a run of trials
                // while its buffers are in cache.
                let stretch = (end - at).min(STRETCH_TRIALS);
                let batches = stretch.div_ceil(LANES as u64) as usize;
                if tapes.len() < batches {
                    tapes.resize_with(batches, Tape::new);
                }
                let count = |b: usize| (stretch - (b * LANES) as u64).min(LANES as u64) as usize;
                let first_of = |b: usize| at + (b * LANES) as u64;
                accs[0].swap_buffer(&mut buffer);
                for (b, tape) in tapes[..batches].iter_mut().enumerate() {
                    state.run_recording(first, seed, first_of(b), count(b), tape);
                    accs[0].push_lanes(first_of(b), &state.out, count(b));
                }
                accs[0].flush();
                accs[0].swap_buffer(&mut buffer);
                for (((plan, share), acc), pl) in plans
                    .iter()
                    .zip(&shares)
                    .zip(&mut accs)
                    .zip(&mut lanes)
                    .skip(1)
                {
                    acc.swap_buffer(&mut buffer);
                    for (b, tape) in tapes[..batches].iter_mut().enumerate() {
                        state.run_replay(plan, tape, share, pl);
                        acc.push_lanes(first_of(b), &state.out, count(b));
                    }
                    acc.flush();
                    acc.swap_buffer(&mut buffer);
                }
                at += stretch;
            }
            for acc in &mut accs {
                acc.end_block();
            }
        }
        accs
    });
    if INTERRUPTED.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    let mut parts = parts.into_iter();
    let mut out = parts.next().unwrap_or(empty);
    for part in parts {
        for (a, b) in out.iter_mut().zip(&part) {
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
    let parts: Vec<Vec<(u64, Vec<C::Block>)>> = rayon::broadcast(|_| {
        let mut state = BatchState::new(first);
        let mut lanes: Vec<PlanLanes> = plans.iter().map(|p| PlanLanes::new(p)).collect();
        let mut tapes: Vec<Tape> = Vec::new();
        let mut done = Vec::new();
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
            let mut records: Vec<C::Block> = collectors.iter().map(|c| c.start(block)).collect();
            let batches = (end - start).div_ceil(LANES as u64) as usize;
            if tapes.len() < batches {
                tapes.resize_with(batches, Tape::new);
            }
            let count = |b: usize| (end - start - (b * LANES) as u64).min(LANES as u64) as usize;
            let first_of = |b: usize| start + (b * LANES) as u64;
            for (b, tape) in tapes[..batches].iter_mut().enumerate() {
                state.run_recording(first, seed, first_of(b), count(b), tape);
                collectors[0].push(&mut records[0], first_of(b), &state.out, count(b));
            }
            for (k, ((plan, share), pl)) in plans
                .iter()
                .zip(&shares)
                .zip(&mut lanes)
                .enumerate()
                .skip(1)
            {
                for (b, tape) in tapes[..batches].iter_mut().enumerate() {
                    state.run_replay(plan, tape, share, pl);
                    collectors[k].push(&mut records[k], first_of(b), &state.out, count(b));
                }
            }
            done.push((block, records));
        }
        done
    });
    if INTERRUPTED.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    let mut all: Vec<(u64, Vec<C::Block>)> = parts.into_iter().flatten().collect();
    all.sort_by_key(|(b, _)| *b);
    let mut out: Vec<Vec<C::Block>> = plans.iter().map(|_| Vec::new()).collect();
    for (_, records) in all {
        for (o, r) in out.iter_mut().zip(records) {
            o.push(r);
        }
    }
    Ok(out)
}
