//! The study's engine passes: every variant's gain over the baseline and
//! P(beat) per policy, in as few passes over the draws as the variants
//! allow (see [`super::run`]): lever variants as extra policies of one
//! run, the others in groups sharing the draws, each keeping only the two
//! figures per policy the study reads ([`Gains`]), a variant of one unit
//! computing that unit alone on the base run's keeping
//! (`crate::kernel::Plan::solo_unit`); variants that move only what no
//! figure reads are the base scenario, run once (`Variants::inert`).

use super::{batch_size, variant, Input, Owner};
use crate::engine::{self, BlockCollector};
use crate::error::{Error, Result};
use crate::kernel::batch::Lane;
use crate::kernel::Plan;
use crate::model::{Metric, Policy, Scenario, Valuation};
use crate::scenario::Loaded;
use crate::stats::ExactSum;

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

/// The figures the study reads, per block of trials: for each column (a
/// slot's value, less another slot's where given, i.e. a policy's gain
/// over a baseline), the plain sum of (value - shift) over the block's
/// trials in trial order, the trials with a value above 0, and whether
/// every value was finite. These are the sums an [`crate::stats::Accumulator`]
/// keeps for the slot (see [`gain_and_beat`]), without its sketches.
struct Gains {
    /// (slot, slot subtracted, shift).
    columns: Vec<(usize, Option<usize>, f64)>,
}

type GainBlock = Vec<(f64, u64, bool)>;

impl BlockCollector for Gains {
    type Block = GainBlock;

    fn start(&self, _block: u64) -> GainBlock {
        vec![(0.0, 0, true); self.columns.len()]
    }

    fn push(&self, block: &mut GainBlock, _first: u64, out: &[Lane], count: usize) {
        for (rec, &(a, minus, k)) in block.iter_mut().zip(&self.columns) {
            let mut add = |x: f64| {
                rec.0 += x - k;
                rec.1 += u64::from(x > 0.0);
                rec.2 &= x.is_finite();
            };
            let values = &out[a][..count];
            match minus {
                Some(b) => values
                    .iter()
                    .zip(&out[b][..count])
                    .for_each(|(x, y)| add(x - y)),
                None => values.iter().for_each(|&x| add(x)),
            }
        }
    }
}

impl Gains {
    /// Columns of `plan`'s slots, shifted by their trial 0's values as
    /// the engine's accumulator is (`engine::shifts`).
    fn new(plan: &Plan, seed: u64, columns: &[(usize, Option<usize>)]) -> Gains {
        let sh = engine::shifts(plan, seed);
        Gains {
            columns: columns
                .iter()
                .map(|&(a, b)| (a, b, b.map_or(sh[a], |b| sh[a] - sh[b])))
                .collect(),
        }
    }
}

/// Column `c`'s mean and share of trials above 0, as a summary computes
/// them (the mean from the shift and the exact sum of the blocks' plain
/// sums; the share over `trials`): the same bits as the summary's
/// `delta_value` mean and P(beat). None if a value was not finite.
fn gain_and_beat(blocks: &[GainBlock], gains: &Gains, c: usize, trials: u64) -> Option<(f64, f64)> {
    let mut s1 = ExactSum::new();
    let mut positive = 0;
    for b in blocks {
        let (sum, pos, finite) = b[c];
        if !finite {
            return None;
        }
        s1.add(sum);
        positive += pos;
    }
    let shift = gains.columns[c].2;
    let mean = shift + s1.value() / trials as f64;
    Some((mean, positive as f64 / trials.max(1) as f64))
}

/// One variant's gain over the baseline and P(beat), per policy of the
/// scenario (NaN for the baseline).
pub(super) type Figures = Vec<(f64, f64)>;

/// The variants of a study to run: `todo`'s (input, side, value) of
/// `inputs`, on `base`'s trials and seed, read at horizon `last`.
pub(super) struct Variants<'a> {
    pub loaded: &'a Loaded,
    pub base: &'a Scenario,
    pub inputs: &'a [Input],
    pub todo: &'a [(usize, usize, f64)],
    pub threads: Option<usize>,
    pub last: u32,
}

impl Variants<'_> {
    /// Variant `i` as the scenario it is run as: the last horizon only,
    /// no funding study (neither changes a figure read here).
    fn scenario(&self, i: usize) -> Result<Scenario> {
        let (k, _, x) = self.todo[i];
        let sc = variant(self.loaded, self.base, &self.inputs[k], x).map_err(Error::Usage)?;
        Ok(self.as_run(sc))
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
        let (levers, whole) = self.split()?;
        let mut figures: Vec<Option<Figures>> = vec![None; total];
        let mut done = 0;
        for chunk in levers.chunks(LEVERS_PER_RUN) {
            self.lever_pass(chunk, &mut figures)?;
            done += chunk.len();
            tell(done);
        }
        // A variant that moves only what no figure reads (see `inert`) is
        // the base scenario: run once (as job None) for all of them.
        let base = self.as_run(self.base.clone());
        let mut jobs: Vec<Option<usize>> = Vec::new();
        let mut like_base = Vec::new();
        for &i in &whole {
            if self.inert(self.scenario(i)?) == base {
                like_base.push(i);
            } else {
                jobs.push(Some(i));
            }
        }
        if !like_base.is_empty() {
            jobs.push(None);
        }
        let mut base_figures = None;
        for chunk in jobs.chunks(shared_size(self.base)) {
            let weight = chunk
                .iter()
                .map(|j| j.map_or(like_base.len(), |_| 1))
                .sum::<usize>();
            // Told as the pass's share of the trials is done, in about
            // as many steps as the pass has batches of variants.
            let ranges = chunk.len().div_ceil(step);
            let part = |r: usize| done + weight * r / ranges;
            self.shared_pass(chunk, ranges, &mut figures, &mut base_figures, &|r| {
                tell(part(r))
            })?;
            done += weight;
            tell(done);
        }
        for i in like_base {
            figures[i] = base_figures.clone();
        }
        // A variant with a figure that is not finite: run as a whole,
        // which says why (or gives its figures).
        figures
            .into_iter()
            .enumerate()
            .map(|(i, f)| match f {
                Some(f) => Ok(f),
                None => self.whole_run(i),
            })
            .collect()
    }

    /// The lever variants, as (variant, the policy it changes, that
    /// policy), and the others' places in `todo`. A lever variant must
    /// differ from the base scenario in its policy alone (checked, not
    /// assumed).
    #[allow(clippy::type_complexity)]
    fn split(&self) -> Result<(Vec<(usize, usize, Policy)>, Vec<usize>)> {
        let base = self.base;
        let mut levers = Vec::new();
        let mut whole = Vec::new();
        for (i, &(k, _, x)) in self.todo.iter().enumerate() {
            let input = &self.inputs[k];
            let sc = variant(self.loaded, base, input, x).map_err(Error::Usage)?;
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
                    probe == sc
                });
            match changed {
                Some(pi) => levers.push((i, pi, sc.policies[pi].clone())),
                None => whole.push(i),
            }
        }
        Ok((levers, whole))
    }

    /// Lever variants as more policies of the base scenario, one run on
    /// one generation of the draws: per variant, per policy of the base
    /// scenario, its gain over the baseline (over the changed baseline
    /// when the variant changes it: the difference of two policies' values
    /// in the same trial, as the engine takes it).
    fn lever_pass(
        &self,
        chunk: &[(usize, usize, Policy)],
        figures: &mut [Option<Figures>],
    ) -> Result<()> {
        engine::check_interrupted()?;
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
        let mut columns: Vec<(usize, Option<usize>)> = Vec::new();
        for (j, &(_, pi, _)) in chunk.iter().enumerate() {
            let v = policies + j;
            for q in 0..policies {
                columns.push(if pi == b {
                    (value(q), Some(value(v)))
                } else if q == pi {
                    (delta(v), None)
                } else {
                    (delta(q), None)
                });
            }
        }
        let gains = Gains::new(&plan, sc.seed, &columns);
        let blocks = engine::with_threads(self.threads, || {
            engine::run_blocks_collect(
                &plan,
                sc.seed,
                n,
                0..engine::block_count(n),
                &|_| {},
                &gains,
            )
        })??;
        for (j, &(i, _, _)) in chunk.iter().enumerate() {
            figures[i] = (0..policies)
                .map(|q| gain_and_beat(&blocks, &gains, j * policies + q, n))
                .collect();
        }
        Ok(())
    }

    /// Variants that change more than a policy (a unit's assumptions,
    /// the discount rate), in groups that draw alike, each group's plans
    /// on one generation of the draws (`engine::shared`). The base
    /// scenario leads: a variant that differs from it in one unit runs
    /// that unit alone on what the base run kept of the others
    /// ([`crate::kernel::Plan::solo_unit`]), so the fewer passes, the
    /// fewer times the base scenario runs. The trials are run in
    /// `ranges` ranges of blocks, `progress` told of each range done.
    /// `jobs`: variants by their place in `todo`, None for the base
    /// scenario (its figures into `base`).
    fn shared_pass(
        &self,
        jobs: &[Option<usize>],
        ranges: usize,
        figures: &mut [Option<Figures>],
        base: &mut Option<Figures>,
        progress: &dyn Fn(usize),
    ) -> Result<()> {
        let (policies, n, seed) = (self.base.policies.len(), self.base.trials, self.base.seed);
        let variants: Vec<usize> = jobs.iter().flatten().copied().collect();
        let scenarios = std::iter::once(Ok(self.as_run(self.base.clone())))
            .chain(variants.iter().map(|&i| self.scenario(i)))
            .collect::<Result<Vec<Scenario>>>()?;
        let plans: Vec<Plan> = scenarios.iter().map(Plan::new).collect();
        // Each group's plans and collectors.
        let groups: Vec<(Vec<usize>, Vec<Gains>)> =
            super::super::shared::groups(&scenarios, &plans)
                .into_iter()
                // The base scenario runs for the variants it leads, or when
                // its own figures are asked for.
                .filter(|g| g[..] != [0] || jobs.iter().any(Option::is_none))
                .map(|group| {
                    let gains = group
                        .iter()
                        .map(|&g| {
                            let p = &plans[g];
                            let d = (0..policies)
                                .map(|q| (p.layout.index(q, 0, Metric::DeltaValue), None))
                                .collect::<Vec<_>>();
                            Gains::new(p, seed, &d)
                        })
                        .collect();
                    (group, gains)
                })
                .collect();
        let mut blocks: Vec<Vec<Vec<GainBlock>>> = groups
            .iter()
            .map(|(g, _)| vec![Vec::new(); g.len()])
            .collect();
        let all = engine::block_count(n);
        let ranges = ranges.clamp(1, all.max(1) as usize) as u64;
        for r in 0..ranges {
            engine::check_interrupted()?;
            let range = all * r / ranges..all * (r + 1) / ranges;
            for ((group, gains), blocks) in groups.iter().zip(&mut blocks) {
                let ps: Vec<&Plan> = group.iter().map(|&g| &plans[g]).collect();
                let got = engine::with_threads(self.threads, || {
                    engine::shared::run_group_collect(&ps, seed, n, range.clone(), gains)
                })??;
                for (b, got) in blocks.iter_mut().zip(got) {
                    b.extend(got);
                }
            }
            progress(r as usize + 1);
        }
        for ((group, gains), blocks) in groups.iter().zip(&blocks) {
            for ((&g, blocks), gains) in group.iter().zip(blocks).zip(gains) {
                let f = (0..policies)
                    .map(|q| gain_and_beat(blocks, gains, q, n))
                    .collect();
                match g {
                    0 => *base = f,
                    g => figures[variants[g - 1]] = f,
                }
            }
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
        let sc = self.scenario(i)?;
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
