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
//! any thread count. Memory: one tape (a batch) and one kernel state per
//! worker, and one accumulator per plan and worker; the caller bounds the
//! number of plans per group.

use std::sync::atomic::{AtomicU64, Ordering};

use super::{accumulator, block_count, BLOCK_TRIALS, INTERRUPTED};
use crate::error::{Error, Result};
use crate::kernel::batch::{BatchState, LANES};
use crate::kernel::tape::{same_draws, Sharing, Tape};
use crate::kernel::Plan;
use crate::stats::Accumulator;

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
        let mut tape = Tape::new();
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
                let count = (end - at).min(LANES as u64) as usize;
                state.run_recording(first, seed, at, count, &mut tape);
                accs[0].push_lanes(at, &state.out, count);
                for ((plan, share), acc) in plans.iter().zip(&shares).zip(&mut accs).skip(1) {
                    state.run_replay(plan, &mut tape, share);
                    acc.push_lanes(at, &state.out, count);
                }
                at += count as u64;
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
