//! Scoring candidates: many policies in one run of the engine, on one
//! generation of the draws.
//!
//! Every candidate differs from the start policy only in its terms, and
//! the engine runs all policies of a scenario on the same draws, each
//! policy's figures bit-identical to a run with that policy alone (policies
//! never interact). So a batch (a swarm's generation, a frontier's warm
//! start) is scored as one scenario whose policies are [baseline, if a
//! measure reads it] + the candidates: the draws, most of a trial's cost,
//! are paid once per batch, not once per candidate, and every candidate is
//! scored on the same random worlds (common random numbers).
//!
//! Only what the measures read is kept, per trial and in trial order: each
//! candidate's value at the horizon, its gain over the baseline in the same
//! trial (when a measure reads the baseline) and the present value of what
//! it invested (when a constraint caps investment; from the per-unit spend
//! the funding study already tracks, summed over units). No summary, no
//! quantile sketch. The run stops at the horizon's step: later steps cannot
//! change the figures read there. Quantiles and CVaR are exact, from the
//! sorted values; the mean and standard deviation are computed the way the
//! engine's summary computes them (shifted by trial 0's value, plain sums
//! per block of trials in trial order, exact sums across blocks), so the
//! figures equal a full run's `summary.json` bit for bit.

use crate::engine::{self, BlockCollector, BLOCK_TRIALS};
use crate::error::{Error, Result};
use crate::kernel::batch::Lane;
use crate::kernel::Plan;
use crate::model::{Extra, Metric, Tracked};
use crate::model::{Policy, Scenario};
use crate::stats::ExactSum;

use super::config::{Measure, Problem};

/// Groups of trials the standard errors of quantiles, CVaR and
/// mean - lambda stdev are estimated from (batch means).
pub const SE_GROUPS: usize = 20;

/// Scores policies of one scenario at one horizon.
pub struct Scorer {
    /// The scenario, cut at the horizon, its policies replaced per batch.
    scenario: Scenario,
    baseline: Policy,
    /// Whether measures read the baseline / investment.
    with_baseline: bool,
    with_spend: bool,
    /// Years of the horizon.
    pub years: u32,
}

/// One policy's figures in every trial, in trial order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// Value at the horizon.
    pub value: Vec<f64>,
    /// Value minus the baseline's (empty unless a measure reads it).
    pub delta: Vec<f64>,
    /// Present value of investment to the horizon (empty unless read).
    pub spend: Vec<f64>,
}

/// What a block leaves: per column (policy-major: value, then delta, then
/// spend, as present), the block's trials in order.
struct Collector {
    /// Slots read per column; a spend column sums several (its units').
    columns: Vec<Vec<usize>>,
}

impl BlockCollector for Collector {
    type Block = Vec<Vec<f64>>;

    fn start(&self, _block: u64) -> Self::Block {
        self.columns
            .iter()
            .map(|_| Vec::with_capacity(BLOCK_TRIALS as usize))
            .collect()
    }

    fn push(&self, block: &mut Self::Block, _first: u64, out: &[Lane], count: usize) {
        for (col, slots) in block.iter_mut().zip(&self.columns) {
            if let [one] = slots.as_slice() {
                col.extend_from_slice(&out[*one][..count]);
                continue;
            }
            // Units in order, from 0.0: a fixed order of additions.
            col.extend((0..count).map(|j| slots.iter().fold(0.0, |acc, &s| acc + out[s][j])));
        }
    }
}

impl Scorer {
    /// A scorer of `problem`'s measures over `scenario` (whose trials and
    /// seed are the run's).
    pub fn new(scenario: &Scenario, problem: &Problem) -> Scorer {
        let (with_baseline, with_spend) = problem.needs();
        Scorer::with_needs(scenario, problem.horizon, with_baseline, with_spend)
    }

    /// A scorer at horizon index `horizon` that keeps the baseline's gain
    /// and investment when asked.
    pub fn with_needs(
        scenario: &Scenario,
        horizon: usize,
        with_baseline: bool,
        with_spend: bool,
    ) -> Scorer {
        let years = scenario.horizons[horizon];
        let mut sc = scenario.clone();
        sc.horizons = vec![years];
        sc.funding = None;
        Scorer {
            baseline: scenario.policies[scenario.baseline].clone(),
            scenario: sc,
            with_baseline,
            with_spend,
            years,
        }
    }

    /// Whether the gain over the baseline is kept.
    pub fn has_baseline(&self) -> bool {
        self.with_baseline
    }

    /// Trials per policy.
    pub fn trials(&self) -> u64 {
        self.scenario.trials
    }

    /// Runs `policies` together on the draws of `seed` (on the current
    /// rayon pool) and returns each one's figures, in order.
    pub fn run(
        &self,
        policies: &[Policy],
        seed: u64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Vec<Sample>> {
        if policies.is_empty() {
            return Ok(Vec::new());
        }
        let mut sc = self.scenario.clone();
        sc.seed = seed;
        let offset = usize::from(self.with_baseline);
        sc.policies = Vec::with_capacity(policies.len() + offset);
        if self.with_baseline {
            sc.policies.push(self.baseline.clone());
        }
        sc.policies.extend(policies.iter().cloned());
        sc.baseline = 0;
        let units = sc.units.len();
        let tracked: Vec<Tracked> = if self.with_spend {
            (0..policies.len())
                .flat_map(|k| {
                    (0..units).map(move |unit| Tracked {
                        policy: k + offset,
                        unit,
                        reference: k + offset,
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let plan = Plan::with_tracked(&sc, tracked);
        let l = &plan.layout;
        let mut columns = Vec::new();
        for k in 0..policies.len() {
            let p = k + offset;
            columns.push(vec![l.index(p, 0, Metric::Value)]);
            if self.with_baseline {
                columns.push(vec![l.index(p, 0, Metric::DeltaValue)]);
            }
            if self.with_spend {
                columns.push(
                    (0..units)
                        .map(|u| l.extra_index(k * units + u, 0, Extra::SpendPv))
                        .collect(),
                );
            }
        }
        let per_policy = 1 + usize::from(self.with_baseline) + usize::from(self.with_spend);
        let collector = Collector { columns };
        let blocks = engine::run_blocks_collect(
            &plan,
            seed,
            sc.trials,
            0..engine::block_count(sc.trials),
            progress,
            &collector,
        )?;
        let n = sc.trials as usize;
        let mut out: Vec<Sample> = Vec::with_capacity(policies.len());
        for k in 0..policies.len() {
            let gather = |c: usize| -> Vec<f64> {
                let mut v = Vec::with_capacity(n);
                for b in &blocks {
                    v.extend_from_slice(&b[k * per_policy + c]);
                }
                v
            };
            let mut c = 0;
            let value = gather(c);
            let delta = if self.with_baseline {
                c += 1;
                gather(c)
            } else {
                Vec::new()
            };
            let spend = if self.with_spend {
                c += 1;
                gather(c)
            } else {
                Vec::new()
            };
            out.push(Sample {
                value,
                delta,
                spend,
            });
        }
        Ok(out)
    }
}

/// Mean and sample standard deviation of `xs` computed as the engine's
/// summary computes them (see the module docs): the same bits as
/// `summary.json` for the same trials.
pub fn moments(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let shift = xs[0];
    let mut s1 = ExactSum::new();
    let mut s2 = ExactSum::new();
    for block in xs.chunks(BLOCK_TRIALS as usize) {
        let (mut a, mut b) = (0.0, 0.0);
        for &x in block {
            let d = x - shift;
            a += d;
            b += d * d;
        }
        s1.add(a);
        s2.add(b);
    }
    crate::stats::mean_stdev(shift, s1.value(), s2.value(), n as u64)
}

/// The exact `q`-quantile of `sorted` (ascending): x_(ceil(q n)).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let k = ((q * n as f64).ceil() as usize).clamp(1, n);
    sorted[k - 1]
}

/// The exact mean of the worst share `q` of `sorted` (ascending): the
/// floor(q n) lowest values plus the next one weighted by the fraction
/// left, over q n (Rockafellar and Uryasev's CVaR of a sample).
pub fn cvar(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let k = q * n as f64;
    let whole = (k.floor() as usize).min(n);
    let mut sum = 0.0;
    for &x in &sorted[..whole] {
        sum += x;
    }
    let part = k - whole as f64;
    if part > 0.0 && whole < n {
        sum += part * sorted[whole];
    }
    if k < 1.0 && whole == 0 {
        // Fewer than one trial's worth: the worst trial.
        return sorted[0];
    }
    sum / k
}

fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    v
}

impl Sample {
    /// Trials.
    pub fn n(&self) -> usize {
        self.value.len()
    }

    /// The share of trials in which the policy beat the baseline (as the
    /// summary counts it: a gain above 0).
    pub fn prob_beats_baseline(&self) -> f64 {
        let n = self.delta.len().max(1) as f64;
        self.delta.iter().filter(|&&d| d > 0.0).count() as f64 / n
    }

    /// Mean present value of investment to the horizon.
    pub fn investment_pv(&self) -> f64 {
        moments(&self.spend).0
    }

    /// The value of measure `m` over these trials (`years`: the horizon).
    pub fn measure(&self, m: Measure, years: u32) -> f64 {
        measure_of(&self.value, &self.delta, &self.spend, m, years)
    }

    /// The Monte Carlo standard error of measure `m`: sd / sqrt(n) for the
    /// mean, sqrt(p (1 - p) / n) for a probability, and batch means over
    /// [`SE_GROUPS`] groups of consecutive trials for the others.
    pub fn stderr(&self, m: Measure, years: u32) -> f64 {
        let n = self.n();
        match m {
            Measure::Mean => moments(&self.value).1 / (n as f64).sqrt(),
            Measure::InvestmentPv => moments(&self.spend).1 / (n as f64).sqrt(),
            Measure::InvestmentPerYear => {
                moments(&self.spend).1 / (n as f64).sqrt() / f64::from(years.max(1))
            }
            Measure::ProbBeatsBaseline => {
                let p = self.prob_beats_baseline();
                (p * (1.0 - p) / n.max(1) as f64).sqrt()
            }
            _ => {
                let groups = SE_GROUPS.min(n / 2).max(1);
                if groups < 2 {
                    return f64::NAN;
                }
                let size = n / groups;
                let vals: Vec<f64> = (0..groups)
                    .map(|g| {
                        let r = g * size..if g + 1 == groups { n } else { (g + 1) * size };
                        let d = if self.delta.is_empty() {
                            &self.delta[..]
                        } else {
                            &self.delta[r.clone()]
                        };
                        let s = if self.spend.is_empty() {
                            &self.spend[..]
                        } else {
                            &self.spend[r.clone()]
                        };
                        measure_of(&self.value[r], d, s, m, years)
                    })
                    .collect();
                let (_, sd) = moments(&vals);
                sd / (groups as f64).sqrt()
            }
        }
    }
}

/// The gain of measure `m` from sample `b` to sample `a` (scored on the
/// same draws) and its standard error: per-trial differences for the mean
/// (a paired comparison), batch means of the two measures' difference
/// over [`SE_GROUPS`] groups of trials otherwise.
pub fn gain(a: &Sample, b: &Sample, m: Measure, years: u32) -> (f64, f64) {
    let value = a.measure(m, years) - b.measure(m, years);
    let n = a.n().min(b.n());
    if m == Measure::Mean {
        let d: Vec<f64> = a.value.iter().zip(&b.value).map(|(x, y)| x - y).collect();
        return (value, moments(&d).1 / (n as f64).sqrt());
    }
    let groups = SE_GROUPS.min(n / 2).max(1);
    if groups < 2 {
        return (value, f64::NAN);
    }
    let size = n / groups;
    let part = |s: &Sample, r: std::ops::Range<usize>| Sample {
        value: s.value[r.clone()].to_vec(),
        delta: if s.delta.is_empty() {
            Vec::new()
        } else {
            s.delta[r.clone()].to_vec()
        },
        spend: if s.spend.is_empty() {
            Vec::new()
        } else {
            s.spend[r].to_vec()
        },
    };
    let diffs: Vec<f64> = (0..groups)
        .map(|g| {
            let r = g * size..if g + 1 == groups { n } else { (g + 1) * size };
            part(a, r.clone()).measure(m, years) - part(b, r).measure(m, years)
        })
        .collect();
    (value, moments(&diffs).1 / (groups as f64).sqrt())
}

fn measure_of(value: &[f64], delta: &[f64], spend: &[f64], m: Measure, years: u32) -> f64 {
    match m {
        Measure::Mean => moments(value).0,
        Measure::Stdev => moments(value).1,
        Measure::MeanMinusStdev(l) => {
            let (mean, sd) = moments(value);
            mean - l * sd
        }
        Measure::Quantile(q) => quantile(&sorted(value), q),
        Measure::Cvar(q) => cvar(&sorted(value), q),
        Measure::ProbBeatsBaseline => {
            let n = delta.len().max(1) as f64;
            delta.iter().filter(|&&d| d > 0.0).count() as f64 / n
        }
        Measure::InvestmentPv => moments(spend).0,
        Measure::InvestmentPerYear => moments(spend).0 / f64::from(years.max(1)),
    }
}

/// A sample that cannot be scored (a figure overflowed): which policy.
pub fn check_finite(samples: &[Sample]) -> std::result::Result<(), usize> {
    match samples.iter().position(|s| {
        s.value.iter().any(|x| !x.is_finite())
            || s.delta.iter().any(|x| !x.is_finite())
            || s.spend.iter().any(|x| !x.is_finite())
    }) {
        Some(i) => Err(i),
        None => Ok(()),
    }
}

/// `Error::Interrupted` passes through; anything else is the engine's.
pub fn is_interrupt(e: &Error) -> bool {
    matches!(e, Error::Interrupted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn exact_tail_figures() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&xs, 0.05), 5.0);
        assert_eq!(quantile(&xs, 0.051), 6.0);
        assert_eq!(cvar(&xs, 0.05), 3.0);
        // 2.5 trials: 1 + 2 + half of 3, over 2.5.
        assert_eq!(cvar(&xs, 0.025), (1.0 + 2.0 + 1.5) / 2.5);
        assert_eq!(cvar(&[7.0], 0.05), 7.0);
    }

    /// A batch of policies scores each exactly as a run of that policy
    /// alone, and the mean and deviation are the summary's, bit for bit.
    #[test]
    fn a_batch_equals_separate_runs_and_the_summary() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/reset.toml");
        let mut s = crate::scenario::load(&path).unwrap();
        s.trials = 2500;
        let reset = s.policies[1].clone();
        let mut other = reset.clone();
        other.name = "other".into();
        other.terms[0].intensity = 0.2;
        other.terms[6].years = 2.0;
        let scorer = Scorer::with_needs(&s, 2, true, true);
        let together = scorer
            .run(&[reset.clone(), other.clone()], s.seed, &|_| {})
            .unwrap();
        let alone = scorer.run(&[other.clone()], s.seed, &|_| {}).unwrap();
        assert_eq!(together[1], alone[0]);
        // The whole scenario, as a run reports it.
        let mut full = s.clone();
        full.policies.push(other);
        let (plan, acc) = crate::engine::run(&full, Some(2), &|_| {}).unwrap();
        let summary = crate::results::Summary::new(&full, &plan, &acc);
        for (k, name) in ["reset", "other"].iter().enumerate() {
            let row = summary.row(name, 5, "value", None).unwrap();
            let (mean, sd) = moments(&together[k].value);
            assert_eq!(mean.to_bits(), row.mean.to_bits(), "{name}");
            assert_eq!(sd.to_bits(), row.stdev.to_bits(), "{name}");
            assert_eq!(
                together[k].prob_beats_baseline(),
                summary.prob(name, 5).unwrap()
            );
        }
        // Spend: positive, and more for more intensity.
        assert!(together[1].investment_pv() > together[0].investment_pv());
    }
}
