//! `summary.json` and `summary.csv` computed from a run's accumulators
//! (the types are in `figures`, the sentences in `headline`).

use super::figures::{PathPoint, Prob, Row};
use crate::kernel::Plan;
use crate::model::{Layout, Metric, Scenario};
use crate::stats::{Accumulator, MetricAcc, Stats};

pub use super::figures::Summary;
use super::figures::DEFAULT_TAIL;

fn row(
    policy: &str,
    horizon: u32,
    metric: Metric,
    unit: Option<String>,
    s: Stats,
    tail: (f64, &MetricAcc),
) -> Row {
    let [p5, p25, p50, p75, p95] = s.quantiles;
    let (q, acc) = tail;
    Row {
        policy: policy.to_string(),
        horizon,
        metric: metric.name(),
        unit,
        mean: s.mean,
        stdev: s.stdev,
        stderr: s.stderr,
        p5,
        p25,
        p50,
        p75,
        p95,
        min: s.min,
        max: s.max,
        // The configured quantile of the reported ones is the same figure.
        var: match crate::stats::QUANTILES.iter().position(|&l| l == q) {
            Some(i) => s.quantiles[i],
            None => acc.quantile(q),
        },
        cvar: acc.lower_tail_mean(q),
    }
}

impl Summary {
    /// The summary of a run, VaR and CVaR at [`DEFAULT_TAIL`].
    pub fn new(scenario: &Scenario, plan: &Plan, acc: &Accumulator) -> Summary {
        Summary::with_tail(scenario, plan, acc, DEFAULT_TAIL)
    }

    /// The summary of a run, VaR and CVaR at tail share `tail` (in (0, 1)).
    pub fn with_tail(scenario: &Scenario, plan: &Plan, acc: &Accumulator, tail: f64) -> Summary {
        let layout: &Layout = &plan.layout;
        let mut rows = Vec::new();
        let mut probs = Vec::new();
        let delta_slots = layout.delta_indices();
        for (p, policy) in scenario.policies.iter().enumerate() {
            for (h, &years) in scenario.horizons.iter().enumerate() {
                for metric in layout.report_metrics() {
                    let unit = metric.unit().map(|u| scenario.units[u].name.clone());
                    let slot = layout.index(p, h, metric);
                    let s = acc.stats(slot);
                    let tail = (tail, &acc.metrics[slot]);
                    rows.push(row(&policy.name, years, metric, unit, s, tail));
                }
                let slot = layout.index(p, h, Metric::DeltaValue);
                let k = delta_slots.iter().position(|&d| d == slot).unwrap_or(0);
                let n = acc.trials.max(1) as f64;
                let p = acc.positive[k] as f64 / n;
                probs.push(Prob {
                    policy: policy.name.clone(),
                    horizon: years,
                    p,
                    stderr: (p * (1.0 - p) / n).sqrt(),
                });
            }
        }
        let mut revenue_path = Vec::new();
        for (p, policy) in scenario.policies.iter().enumerate() {
            for (i, &k) in layout.path_steps.iter().enumerate() {
                let s = acc.stats(layout.path_index(p, i));
                let [p5, p25, p50, p75, p95] = s.quantiles;
                revenue_path.push(PathPoint {
                    policy: policy.name.clone(),
                    step: k + 1,
                    t: (k + 1) as f64 / scenario.steps_per_year as f64,
                    mean: s.mean,
                    p5,
                    p25,
                    p50,
                    p75,
                    p95,
                });
            }
        }
        let mut summary = Summary {
            scenario: scenario.name.clone(),
            trials: acc.trials,
            seed: scenario.seed,
            currency: scenario.currency.clone(),
            tail,
            rows,
            prob_beats_baseline: probs,
            revenue_path,
            headline: Vec::new(),
        };
        summary.headline = super::headline::sentences(scenario, &summary, None);
        summary
    }
}
