//! The study's engine passes: every variant's gain over the baseline and
//! P(beat) per policy, in as few passes over the draws as the variants
//! allow (see [`super::run`]): lever variants as extra policies of one
//! run, the others in groups sharing the draws, each keeping only the two
//! figures per policy the study reads ([`Gains`]), a variant of one unit
//! computing that unit alone on the base run's keeping
//! (`crate::kernel::Plan::solo_unit`); variants that move only what no
//! figure reads are the base scenario, run once (`Variants::inert`).

use super::{batch_size, Input, Owner};
use crate::engine::{self, BlockCollector, Stoppable, BLOCK_TRIALS};
use crate::error::Result;
use crate::kernel::batch::{Lane, LANES};
use crate::kernel::Plan;
use crate::model::{Metric, Policy, Scenario, Valuation};
use crate::stats::ExactSum;

mod screened;

/// Lever variants scored as extra policies of one run (their columns and
/// the run's layout grow with them).
const LEVERS_PER_RUN: usize = 64;

/// At most this many variants share one pass over the trials (fewer the
/// more units a scenario has, as [`batch_size`], of which it is 4 times
/// as many): each pass runs the base scenario again, keeping what the
/// variants of one unit read (`engine::shared`), so a pass takes every
/// variant a scenario's size allows. On reset.toml (13 units) that is
/// every variant in one pass: about 17 MB of scenarios and plans.
fn shared_size(base: &Scenario) -> usize {
    (8192 / base.units.len().max(1)).clamp(1, 512)
}

/// Where a column's pair comes from (a screened study, see
/// [`super::screen`]): the same trial's gain of the same policy in the
/// base scenario.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Pair {
    /// Not paired (an exact study).
    None,
    /// A slot of the same run, less another where given (the lever pass:
    /// the base scenario's policies run beside the variants).
    Slots(usize, Option<usize>),
    /// Column `c` of the group's first plan, the base scenario, whose
    /// record keeps every trial's values (`Gains::keep`).
    Lead(usize),
}

/// One column of [`Gains`]: a slot's value, less another slot's where
/// given (a policy's gain over a baseline), the shift its sum is taken
/// from, and its pair.
#[derive(Clone, Copy, Debug)]
struct Column {
    slot: usize,
    minus: Option<usize>,
    shift: f64,
    pair: Pair,
}

/// The figures the study reads, per block of trials: for each column,
/// the plain sum of (value - shift) over the block's trials in trial
/// order, the trials with a value above 0, and whether every value was
/// finite. These are the sums an [`crate::stats::Accumulator`] keeps for
/// the slot (see [`Tally::gain_and_beat`]), without its sketches. A screened
/// study also pairs each trial's value with the base scenario's (see
/// [`Rec`]).
struct Gains {
    columns: Vec<Column>,
    /// Keep every trial's values in the block's record (the base
    /// scenario leading a screened study's shared pass: its variants
    /// pair with them).
    keep: bool,
}

/// One column's sums over one block.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rec {
    /// The column's shift (the same in every block).
    shift: f64,
    /// Σ (value - shift), in trial order.
    sum: f64,
    /// Trials with a value above 0.
    positive: u64,
    /// Whether every value was finite.
    finite: bool,
    pairs: Pairs,
}

/// A column's pairs (a screened study): whether every trial had its pair;
/// then `d` and `d2` are Σ d and Σ d² of d = value - the pair's value (as
/// plain sums: estimates only), `moved` counts the trials with d not 0,
/// and `pair_positive` the trials with the pair's value above 0.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Pairs {
    paired: bool,
    d: f64,
    d2: f64,
    moved: u64,
    pair_positive: u64,
}

impl Pairs {
    fn new(paired: bool) -> Pairs {
        Pairs {
            paired,
            d: 0.0,
            d2: 0.0,
            moved: 0,
            pair_positive: 0,
        }
    }

    fn add(&mut self, other: &Pairs) {
        self.paired &= other.paired;
        self.d += other.d;
        self.d2 += other.d2;
        self.moved += other.moved;
        self.pair_positive += other.pair_positive;
    }
}

/// A block's record: its first trial, each column's sums, and (kept by
/// the base scenario leading a screened shared pass) each column's
/// values, [`BLOCK_TRIALS`] a column, in trial order.
#[derive(Clone, Debug, PartialEq)]
struct GainBlock {
    first: u64,
    cols: Vec<Rec>,
    values: Vec<f64>,
}

impl BlockCollector for Gains {
    type Block = GainBlock;

    fn start(&self, block: u64) -> GainBlock {
        let cols = self
            .columns
            .iter()
            .map(|c| Rec {
                shift: c.shift,
                sum: 0.0,
                positive: 0,
                finite: true,
                pairs: Pairs::new(c.pair != Pair::None),
            })
            .collect();
        let values = if self.keep {
            vec![f64::NAN; self.columns.len() * BLOCK_TRIALS as usize]
        } else {
            Vec::new()
        };
        GainBlock {
            first: block * BLOCK_TRIALS,
            cols,
            values,
        }
    }

    fn push(&self, block: &mut GainBlock, first: u64, out: &[Lane], count: usize) {
        self.take(block, None, first, out, count);
    }

    fn push_paired(
        &self,
        block: &mut GainBlock,
        lead: &GainBlock,
        first: u64,
        out: &[Lane],
        count: usize,
    ) {
        self.take(block, Some(lead), first, out, count);
    }
}

impl Gains {
    /// Columns of `plan`'s slots (a slot, less another where given, and
    /// its pair), shifted by their trial 0's values as the engine's
    /// accumulator is (`engine::shifts`).
    fn new(plan: &Plan, seed: u64, columns: &[(usize, Option<usize>, Pair)]) -> Gains {
        let sh = engine::shifts(plan, seed);
        Gains {
            columns: columns
                .iter()
                .map(|&(slot, minus, pair)| Column {
                    slot,
                    minus,
                    shift: minus.map_or(sh[slot], |b| sh[slot] - sh[b]),
                    pair,
                })
                .collect(),
            keep: false,
        }
    }

    /// Trials `first .. first + count` into `block`, each paired (where
    /// its column is) with the same trial of `lead`, the base scenario's
    /// record of the block.
    fn take(
        &self,
        block: &mut GainBlock,
        lead: Option<&GainBlock>,
        first: u64,
        out: &[Lane],
        count: usize,
    ) {
        let at = (first - block.first) as usize;
        let per = BLOCK_TRIALS as usize;
        for (c, (rec, col)) in block.cols.iter_mut().zip(&self.columns).enumerate() {
            let value = |i: usize| match col.minus {
                Some(b) => out[col.slot][i] - out[b][i],
                None => out[col.slot][i],
            };
            for i in 0..count {
                let x = value(i);
                rec.sum += x - col.shift;
                rec.positive += u64::from(x > 0.0);
                rec.finite &= x.is_finite();
            }
            if self.keep {
                let kept = &mut block.values[c * per + at..][..count];
                for (i, v) in kept.iter_mut().enumerate() {
                    *v = value(i);
                }
            }
            let pair = match (col.pair, lead) {
                (Pair::None, _) => continue,
                (Pair::Slots(a, b), _) => {
                    let mut y = [0.0; LANES];
                    for (i, y) in y.iter_mut().enumerate().take(count) {
                        *y = b.map_or(out[a][i], |b| out[a][i] - out[b][i]);
                    }
                    y
                }
                (Pair::Lead(lc), Some(lead)) if !lead.values.is_empty() => {
                    let mut y = [0.0; LANES];
                    let from = &lead.values[lc * per + (first - lead.first) as usize..];
                    y[..count].copy_from_slice(&from[..count]);
                    y
                }
                (Pair::Lead(_), _) => {
                    rec.pairs.paired = false;
                    continue;
                }
            };
            for (i, &y) in pair.iter().enumerate().take(count) {
                let d = value(i) - y;
                let p = &mut rec.pairs;
                p.d += d;
                p.d2 += d * d;
                p.moved += u64::from(d != 0.0);
                p.pair_positive += u64::from(y > 0.0);
            }
        }
    }
}

/// A variant's sums over the blocks run so far, per column (one per
/// policy), added up as the blocks come: memory does not grow with the
/// trials.
#[derive(Clone, Debug, Default)]
struct Tally {
    cols: Vec<ColumnTally>,
    /// Trials added.
    trials: u64,
}

/// One column's [`Rec`]s added up: the plain sums exactly (so any split
/// of the blocks into passes gives the same figure).
#[derive(Clone, Debug)]
struct ColumnTally {
    shift: f64,
    sum: ExactSum,
    positive: u64,
    finite: bool,
    pairs: Pairs,
}

impl Tally {
    /// Adds columns `cols` of `block` (of a run of `trials` trials).
    fn add(&mut self, block: &GainBlock, cols: std::ops::Range<usize>, trials: u64) {
        let recs = &block.cols[cols];
        if self.cols.is_empty() {
            self.cols = recs
                .iter()
                .map(|r| ColumnTally {
                    shift: r.shift,
                    sum: ExactSum::new(),
                    positive: 0,
                    finite: true,
                    pairs: Pairs::new(true),
                })
                .collect();
        }
        for (t, r) in self.cols.iter_mut().zip(recs) {
            t.shift = r.shift;
            t.finite &= r.finite;
            if r.finite {
                t.sum.add(r.sum);
            }
            t.positive += r.positive;
            t.pairs.add(&r.pairs);
        }
        self.trials += trials.saturating_sub(block.first).min(BLOCK_TRIALS);
    }

    /// Column `c`'s mean and share of trials above 0, as a summary
    /// computes them (the mean from the shift and the exact sum of the
    /// blocks' plain sums; the share over `trials`): the same bits as the
    /// summary's `delta_value` mean and P(beat). None if a value was not
    /// finite, or no block was added.
    fn gain_and_beat(&self, c: usize, trials: u64) -> Option<(f64, f64)> {
        let t = self.cols.get(c).filter(|t| t.finite)?;
        let mean = t.shift + t.sum.value() / trials as f64;
        Some((mean, t.positive as f64 / trials.max(1) as f64))
    }
}

/// Each variant's sums over the blocks run so far (by place in `todo`).
type Records = Vec<Tally>;

/// A shared pass's variants (by place in `todo`, None for the base
/// scenario), its blocks, the ranges they run in (progress is told after
/// each) and whether each trial pairs with the base run's.
struct SharedPass<'a> {
    jobs: &'a [Option<usize>],
    blocks: std::ops::Range<u64>,
    ranges: usize,
    paired: bool,
}

/// One variant's gain over the baseline and P(beat), per policy of the
/// scenario (NaN for the baseline).
pub(super) type Figures = Vec<(f64, f64)>;

/// The variants of a study to run: `todo`'s (input, side, value) of
/// `inputs`, on `base`'s trials and seed, read at horizon `last`.
pub(super) struct Variants<'a> {
    pub base: &'a Scenario,
    pub inputs: &'a [Input],
    pub todo: &'a [(usize, usize, f64)],
    /// Each variant of `todo` as validated.
    pub scenarios: &'a [Scenario],
    pub threads: Option<usize>,
    pub last: u32,
    /// Stops the study, between its passes and within a pass's runs,
    /// when it says so (`simulate serve`: a newer request overtook this
    /// one).
    pub cancelled: Option<&'a (dyn Fn() -> bool + Sync)>,
}

impl Variants<'_> {
    /// Ctrl-C, or the caller's `cancelled`, stops the study here (and a
    /// pass's run within a batch or a few: [`Variants::stop`]).
    fn check(&self) -> Result<()> {
        engine::check_interrupted()?;
        match self.cancelled {
            Some(c) if c() => Err(engine::stopped()),
            _ => Ok(()),
        }
    }

    /// What stops a pass's run within a batch or a few: the caller's
    /// `cancelled`, or nothing.
    fn stop(&self) -> &(dyn Fn() -> bool + Sync) {
        fn never() -> bool {
            false
        }
        self.cancelled.unwrap_or(&never)
    }

    /// Variant `i` as the scenario it is run as: the last horizon only,
    /// no funding study (neither changes a figure read here).
    fn scenario(&self, i: usize) -> Scenario {
        self.as_run(self.scenarios[i].clone())
    }

    /// `sc` as a variant is run: the last horizon only, no funding study.
    pub(super) fn as_run(&self, mut sc: Scenario) -> Scenario {
        sc.horizons = vec![self.last];
        sc.funding = None;
        sc
    }

    /// Every variant's figures, per policy of the base scenario, in
    /// `todo`'s order; `progress` is told of the variants done in steps
    /// of a batch (variants done, variants in all).
    pub fn figures(&self, progress: &dyn Fn(usize, usize)) -> Result<Vec<Figures>> {
        let total = self.todo.len();
        let step = batch_size(self.base);
        let told = std::cell::Cell::new(0);
        let tell = |done: usize| {
            while told.get() + step <= done || (done == total && told.get() < done) {
                told.set((told.get() + step).min(total));
                progress(told.get(), total);
            }
        };
        let all = 0..engine::block_count(self.base.trials);
        let (levers, whole) = self.split();
        let mut records: Records = vec![Tally::default(); total];
        let mut done = 0;
        for chunk in levers.chunks(LEVERS_PER_RUN) {
            self.lever_pass(chunk, all.clone(), false, &mut records)?;
            done += chunk.len();
            tell(done);
        }
        // A variant that moves only what no figure reads (see `inert`) is
        // the base scenario: run once (as job None) for all of them.
        let (jobs, like_base) = self.inert_split(&whole);
        let mut jobs: Vec<Option<usize>> = jobs.into_iter().map(Some).collect();
        if !like_base.is_empty() {
            jobs.push(None);
        }
        let mut base_records = Tally::default();
        for chunk in jobs.chunks(shared_size(self.base)) {
            let weight = chunk
                .iter()
                .map(|j| j.map_or(like_base.len(), |_| 1))
                .sum::<usize>();
            // Told as the pass's share of the trials is done, in about
            // as many steps as the pass has batches of variants.
            let ranges = chunk.len().div_ceil(step);
            let part = |r: usize| done + weight * r / ranges;
            let pass = SharedPass {
                jobs: chunk,
                blocks: all.clone(),
                ranges,
                paired: false,
            };
            self.shared_pass(&pass, &mut records, &mut base_records, &|r| tell(part(r)))?;
            done += weight;
            tell(done);
        }
        for i in like_base {
            records[i] = base_records.clone();
        }
        // A variant with a figure that is not finite: run as a whole,
        // which says why (or gives its figures).
        records
            .iter()
            .enumerate()
            .map(|(i, r)| match self.read(r) {
                Some(f) => Ok(f),
                None => self.whole_run(i),
            })
            .collect()
    }

    /// A variant's figures from its sums over every block, per policy;
    /// None if a value was not finite.
    fn read(&self, tally: &Tally) -> Option<Figures> {
        (0..self.base.policies.len())
            .map(|q| tally.gain_and_beat(q, self.base.trials))
            .collect()
    }

    /// `whole`'s variants split into those to run and those that are the
    /// base scenario once what no figure reads is set back (see
    /// [`Variants::inert`]).
    fn inert_split(&self, whole: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let base = self.as_run(self.base.clone());
        let mut jobs = Vec::new();
        let mut like_base = Vec::new();
        for &i in whole {
            if self.inert(self.scenario(i)) == base {
                like_base.push(i);
            } else {
                jobs.push(i);
            }
        }
        (jobs, like_base)
    }

    /// The lever variants, as (variant, the policy it changes, that
    /// policy), and the others' places in `todo`. A lever variant must
    /// differ from the base scenario in its policy alone (checked, not
    /// assumed).
    #[allow(clippy::type_complexity)]
    fn split(&self) -> (Vec<(usize, usize, Policy)>, Vec<usize>) {
        let base = self.base;
        let mut levers = Vec::new();
        let mut whole = Vec::new();
        for (i, &(k, _, _)) in self.todo.iter().enumerate() {
            let input = &self.inputs[k];
            let sc = &self.scenarios[i];
            let changed = (input.owner == Owner::Policy)
                .then(|| {
                    base.policies
                        .iter()
                        .position(|p| p.name == input.owner_name)
                })
                .flatten()
                .filter(|&pi| {
                    let mut probe = base.clone();
                    probe.policies[pi] = sc.policies[pi].clone();
                    probe == *sc
                });
            match changed {
                Some(pi) => levers.push((i, pi, sc.policies[pi].clone())),
                None => whole.push(i),
            }
        }
        (levers, whole)
    }

    /// Lever variants as more policies of the base scenario, one run on
    /// one generation of the draws, over `blocks`: per variant, per
    /// policy of the base scenario, its gain over the baseline (over the
    /// changed baseline when the variant changes it: the difference of
    /// two policies' values in the same trial, as the engine takes it),
    /// each block's record added to the variant's `records`; `paired`:
    /// each trial's gain paired with the base scenario's policy's, which
    /// runs beside it.
    fn lever_pass(
        &self,
        chunk: &[(usize, usize, Policy)],
        blocks: std::ops::Range<u64>,
        paired: bool,
        records: &mut [Tally],
    ) -> Result<()> {
        self.check()?;
        let base = self.base;
        let (policies, b, n) = (base.policies.len(), base.baseline, base.trials);
        let mut sc = base.clone();
        sc.horizons = vec![self.last];
        sc.funding = None;
        sc.policies.extend(chunk.iter().map(|(_, _, p)| p.clone()));
        let plan = Plan::new(&sc);
        let l = &plan.layout;
        let value = |p: usize| l.index(p, 0, Metric::Value);
        let delta = |p: usize| l.index(p, 0, Metric::DeltaValue);
        let mut columns: Vec<(usize, Option<usize>, Pair)> = Vec::new();
        for (j, &(_, pi, _)) in chunk.iter().enumerate() {
            let v = policies + j;
            for q in 0..policies {
                let pair = if paired && q != b {
                    Pair::Slots(delta(q), None)
                } else {
                    Pair::None
                };
                columns.push(if pi == b {
                    (value(q), Some(value(v)), pair)
                } else if q == pi {
                    (delta(v), None, pair)
                } else {
                    (delta(q), None, pair)
                });
            }
        }
        let gains = Gains::new(&plan, sc.seed, &columns);
        let gains = Stoppable {
            inner: &gains,
            stop: self.stop(),
        };
        let got = engine::with_threads(self.threads, || {
            engine::run_blocks_collect(&plan, sc.seed, n, blocks, &|_| {}, &gains)
        })??;
        for (j, &(i, _, _)) in chunk.iter().enumerate() {
            for g in &got {
                records[i].add(g, j * policies..(j + 1) * policies, n);
            }
        }
        Ok(())
    }

    /// Variants that change more than a policy (a unit's assumptions,
    /// the discount rate), in groups that draw alike, each group's plans
    /// on one generation of the draws (`engine::shared`). The base
    /// scenario leads: a variant that differs from it in one unit runs
    /// that unit alone on what the base run kept of the others
    /// ([`crate::kernel::Plan::solo_unit`]), so the fewer passes, the
    /// fewer times the base scenario runs. The pass's blocks are run in
    /// its ranges, `progress` told of each range done; each block's
    /// record is added to its variant's `records` (the base scenario's,
    /// job None, to `base`). Paired: a variant of the base scenario's
    /// group pairs each trial's gains with the base run's (which keeps
    /// them for it).
    fn shared_pass(
        &self,
        pass: &SharedPass,
        records: &mut [Tally],
        base: &mut Tally,
        progress: &dyn Fn(usize),
    ) -> Result<()> {
        let (policies, n, seed) = (self.base.policies.len(), self.base.trials, self.base.seed);
        let jobs = pass.jobs;
        let variants: Vec<usize> = jobs.iter().flatten().copied().collect();
        let scenarios: Vec<Scenario> = std::iter::once(self.as_run(self.base.clone()))
            .chain(variants.iter().map(|&i| self.scenario(i)))
            .collect();
        let plans: Vec<Plan> = scenarios.iter().map(Plan::new).collect();
        // Each group's plans and collectors.
        let groups: Vec<(Vec<usize>, Vec<Gains>)> =
            super::super::shared::groups(&scenarios, &plans)
                .into_iter()
                // The base scenario runs for the variants it leads, or when
                // its own figures are asked for.
                .filter(|g| g[..] != [0] || jobs.iter().any(Option::is_none))
                .map(|group| {
                    let led = pass.paired && group[0] == 0;
                    let gains = group
                        .iter()
                        .map(|&g| {
                            let p = &plans[g];
                            let d = (0..policies)
                                .map(|q| {
                                    let pair = if led && g != 0 {
                                        Pair::Lead(q)
                                    } else {
                                        Pair::None
                                    };
                                    (p.layout.index(q, 0, Metric::DeltaValue), None, pair)
                                })
                                .collect::<Vec<_>>();
                            let mut gains = Gains::new(p, seed, &d);
                            gains.keep = led && g == 0 && group.len() > 1;
                            gains
                        })
                        .collect();
                    (group, gains)
                })
                .collect();
        let all = &pass.blocks;
        let count = all.end - all.start;
        let ranges = pass.ranges.clamp(1, count.max(1) as usize) as u64;
        for r in 0..ranges {
            self.check()?;
            let range = all.start + count * r / ranges..all.start + count * (r + 1) / ranges;
            for (group, gains) in &groups {
                let ps: Vec<&Plan> = group.iter().map(|&g| &plans[g]).collect();
                let gains: Vec<Stoppable<Gains>> = gains
                    .iter()
                    .map(|inner| Stoppable {
                        inner,
                        stop: self.stop(),
                    })
                    .collect();
                let got = engine::with_threads(self.threads, || {
                    engine::shared::run_group_collect(&ps, seed, n, range.clone(), &gains)
                })??;
                for (&g, got) in group.iter().zip(got) {
                    let tally = match g {
                        0 => &mut *base,
                        g => &mut records[variants[g - 1]],
                    };
                    for b in &got {
                        tally.add(b, 0..policies, n);
                    }
                }
            }
            progress(r as usize + 1);
        }
        Ok(())
    }

    /// `sc` with what no figure of the study reads set as in the base
    /// scenario: the multiple of a unit valued by "fade" that no policy
    /// sells (the multiple prices only a held unit valued by "multiple"
    /// and a sale; its draw is taken either way). Such a variant is then
    /// the base scenario, run once for all of them.
    pub(super) fn inert(&self, mut sc: Scenario) -> Scenario {
        for (i, (u, b)) in sc.units.iter_mut().zip(&self.base.units).enumerate() {
            let sold = sc.policies.iter().any(|p| p.terms[i].exit.is_some());
            if matches!(u.valuation, Valuation::Fade(_)) && !sold {
                u.multiple_median = b.multiple_median;
                u.multiple_dispersion = b.multiple_dispersion;
            }
        }
        sc
    }

    /// Variant `i` as a whole run ([`super::super::simulate_many`]),
    /// which reports why a figure is not finite as a run of it would.
    fn whole_run(&self, i: usize) -> Result<Figures> {
        let sc = self.scenario(i);
        let s = super::super::shared::simulate_many(std::slice::from_ref(&sc), self.threads)?;
        Ok(self
            .base
            .policies
            .iter()
            .map(|p| {
                let gain = s[0]
                    .row(&p.name, self.last, "delta_value", None)
                    .map_or(f64::NAN, |r| r.mean);
                (gain, s[0].prob(&p.name, self.last).unwrap_or(f64::NAN))
            })
            .collect())
    }
}
