//! `[optimize]` as written: the problem `simulate optimize` solves (see
//! docs/optimize.md). Spanned and `deny_unknown_fields` like the rest of
//! the file; validated by `crate::optimize::config`, which needs the
//! scenario itself (a lever is checked by building the scenario with it).

use schemars::JsonSchema;
use serde::Deserialize;

use super::{pick, Sp, O};

/// The statistics an objective or a constraint may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawMeasure {
    /// Mean value at the horizon.
    Mean,
    /// The `level` quantile of value (e.g. P5 with level 0.05), exact.
    Quantile,
    /// Mean of the worst `level` share of trials (expected shortfall), exact.
    Cvar,
    /// Share of trials in which the policy's value beats the baseline's.
    ProbBeatsBaseline,
    /// Mean minus `lambda` standard deviations.
    MeanMinusStdev,
    /// Standard deviation of value (constraints and the frontier).
    Stdev,
    /// Mean present value (at t = 0) of what the policy invests up to the
    /// horizon (constraints).
    InvestmentPv,
    /// investment_pv divided by the horizon's years (constraints).
    InvestmentPerYear,
}

/// `[optimize]`: the policy that maximizes a statistic of value at a
/// horizon, under constraints, by varying some of a policy's terms.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOptimize {
    /// The policy the search starts from; the optimum is written as a new
    /// policy beside it.
    pub policy: O<String>,
    /// Name of the new policy (default: "<policy>_optimized").
    pub name: O<String>,
    /// The year (one of scenario.horizons) the objective and constraints
    /// are read at (default: the last horizon).
    pub horizon: O<i64>,
    /// What to maximize: "mean" (default), "quantile", "cvar",
    /// "prob_beats_baseline" or "mean_minus_stdev".
    #[schemars(with = "Option<RawMeasure>")]
    pub objective: O<String>,
    /// quantile and cvar objectives: the share of trials, in (0, 1)
    /// (default 0.05: P5, or the mean of the worst 5%).
    pub level: O<f64>,
    /// mean_minus_stdev objective: the weight of the standard deviation,
    /// >= 0 (default 1).
    pub lambda: O<f64>,
    /// Trials each candidate is scored on (default: scenario.trials;
    /// --trials overrides).
    #[schemars(range(min = 1))]
    pub trials: O<i64>,
    /// Most candidates the search scores (default 1500).
    #[schemars(range(min = 10))]
    pub evaluations: O<i64>,
    /// The decision variables: each a dotted path into the policy's terms,
    /// with bounds.
    #[serde(default)]
    pub levers: Vec<Sp<RawLever>>,
    /// Limits every candidate must meet, on the same draws.
    #[serde(default)]
    pub constraints: Vec<Sp<RawConstraint>>,
    /// The efficient frontier: best mean for a range of risk limits.
    pub frontier: Option<RawFrontier>,
}

/// `[[optimize.levers]]`: one decision variable.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLever {
    /// Dotted path into the start policy, as in sweeps:
    /// "policies.reset.core.intensity",
    /// "policies.reset.units.\"Quark\".budget", "policies.reset.reinvest_share".
    pub path: O<String>,
    /// Lower bound.
    pub min: O<f64>,
    /// Upper bound (above min).
    pub max: O<f64>,
    /// Only whole numbers (default: true for `years`, false otherwise).
    pub integer: O<bool>,
}

/// `[[optimize.constraints]]`: one limit.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConstraint {
    /// What is limited: "investment_pv", "investment_per_year" or "stdev"
    /// (give `max`); "quantile", "cvar", "prob_beats_baseline" or "mean"
    /// (give `min`).
    #[schemars(with = "Option<RawMeasure>")]
    pub measure: O<String>,
    /// quantile and cvar: the share of trials, in (0, 1) (default 0.05).
    pub level: O<f64>,
    /// The floor (quantile, cvar, prob_beats_baseline, mean).
    pub min: O<f64>,
    /// The cap (investment_pv, investment_per_year, stdev).
    pub max: O<f64>,
}

/// `[optimize.frontier]`: best mean value for a range of limits on a
/// risk measure.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFrontier {
    /// "cvar", "quantile" or "stdev" (default: the objective's own risk
    /// measure, else cvar).
    #[schemars(with = "Option<RawMeasure>")]
    pub risk: O<String>,
    /// cvar and quantile: the share of trials (default: the objective's
    /// level, else 0.05).
    pub level: O<f64>,
    /// Points on the frontier, 0 (none) or 2 to 20 (default 6).
    #[schemars(range(min = 0, max = 20))]
    pub points: O<i64>,
    /// Most candidates scored per point (default: a third of
    /// `evaluations`).
    #[schemars(range(min = 10))]
    pub evaluations: O<i64>,
}

impl RawOptimize {
    /// `child` over `self`: keys field by field; a child's levers or
    /// constraints replace the parent's list whole.
    pub fn merge(a: &Self, b: &Self) -> Self {
        RawOptimize {
            policy: pick(&a.policy, &b.policy),
            name: pick(&a.name, &b.name),
            horizon: pick(&a.horizon, &b.horizon),
            objective: pick(&a.objective, &b.objective),
            level: pick(&a.level, &b.level),
            lambda: pick(&a.lambda, &b.lambda),
            trials: pick(&a.trials, &b.trials),
            evaluations: pick(&a.evaluations, &b.evaluations),
            levers: if b.levers.is_empty() {
                a.levers.clone()
            } else {
                b.levers.clone()
            },
            constraints: if b.constraints.is_empty() {
                a.constraints.clone()
            } else {
                b.constraints.clone()
            },
            frontier: match (&a.frontier, &b.frontier) {
                (Some(x), Some(y)) => Some(RawFrontier {
                    risk: pick(&x.risk, &y.risk),
                    level: pick(&x.level, &y.level),
                    points: pick(&x.points, &y.points),
                    evaluations: pick(&x.evaluations, &y.evaluations),
                }),
                (x, y) => y.clone().or_else(|| x.clone()),
            },
        }
    }

    /// Where the table is, by its first key.
    pub fn anchor(&self) -> Option<std::ops::Range<usize>> {
        let s = |x: &O<String>| x.as_ref().map(|v| v.span());
        s(&self.policy)
            .or_else(|| s(&self.name))
            .or_else(|| self.horizon.as_ref().map(|v| v.span()))
            .or_else(|| s(&self.objective))
            .or_else(|| self.levers.first().map(|l| l.span()))
            .or_else(|| self.constraints.first().map(|c| c.span()))
    }
}
