//! The figures of `summary.json` and `summary.csv` in the form the model
//! contract gives: the types, their lookups and their text. Computing them
//! from a run's accumulators is `summary`'s; the sentences, `headline`'s.

use serde::Serialize;

use crate::format::{csv_field, num};

/// One row: a metric of one policy at one horizon.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Row {
    pub policy: String,
    pub horizon: u32,
    pub metric: &'static str,
    pub unit: Option<String>,
    pub mean: f64,
    pub stdev: f64,
    pub stderr: f64,
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
    pub min: f64,
    pub max: f64,
    /// Value at risk of level [`Summary::tail`], as a level: the
    /// `tail`-quantile (with the default 5%, the same as `p5`). An
    /// extension of the contract's rows.
    pub var: f64,
    /// Conditional value at risk (expected shortfall) of level
    /// [`Summary::tail`], as a level: the mean of the worst `tail` share of
    /// trials (from the sketch, within 0.4% of the tail's mean magnitude).
    /// An extension of the contract's rows.
    pub cvar: f64,
}

/// Share of trials in which a policy's value beat the baseline's.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Prob {
    pub policy: String,
    pub horizon: u32,
    pub p: f64,
    /// Monte Carlo standard error of `p`: sqrt(p (1 - p) / trials). An
    /// extension of the contract's summary.
    pub stderr: f64,
}

/// Group revenue (sum over held units) after a step: the fan chart's data.
/// An extension of the contract's summary, under the key `revenue_path`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PathPoint {
    pub policy: String,
    /// 1-based step count; `t` = step / steps_per_year.
    pub step: usize,
    pub t: f64,
    pub mean: f64,
    pub p5: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
}

/// The whole summary of a run.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    pub scenario: String,
    pub trials: u64,
    pub seed: u64,
    pub currency: String,
    /// The tail share `var` and `cvar` are taken at (0.05 unless
    /// `--tail` says otherwise). An extension of the contract's summary.
    pub tail: f64,
    pub rows: Vec<Row>,
    pub prob_beats_baseline: Vec<Prob>,
    pub revenue_path: Vec<PathPoint>,
    /// One sentence per policy and horizon, built from the figures above
    /// (see `results::headline`). An extension of the contract's summary.
    pub headline: Vec<Sentence>,
}

/// The tail share of VaR and CVaR unless `--tail` gives another.
pub const DEFAULT_TAIL: f64 = 0.05;

/// One headline sentence (`results::headline` writes them).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Sentence {
    pub policy: String,
    pub horizon: u32,
    pub text: String,
}

impl Summary {
    /// The row of a metric, if present.
    pub fn row(
        &self,
        policy: &str,
        horizon: u32,
        metric: &str,
        unit: Option<&str>,
    ) -> Option<&Row> {
        self.rows.iter().find(|r| {
            r.policy == policy
                && r.horizon == horizon
                && r.metric == metric
                && r.unit.as_deref() == unit
        })
    }

    pub fn prob(&self, policy: &str, horizon: u32) -> Option<f64> {
        self.prob_beats_baseline
            .iter()
            .find(|p| p.policy == policy && p.horizon == horizon)
            .map(|p| p.p)
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("summary serialises");
        s.push('\n');
        s
    }

    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "policy,horizon,metric,unit,mean,stdev,stderr,p5,p25,p50,p75,p95,min,max,tail,var,cvar,prob_beats_baseline,prob_stderr\n",
        );
        for r in &self.rows {
            // P(beat) and its error on the policy's delta_value rows (a
            // spreadsheet reads it beside the gain); empty elsewhere.
            let prob = (r.metric == "delta_value" && r.unit.is_none())
                .then(|| {
                    self.prob_beats_baseline
                        .iter()
                        .find(|p| p.policy == r.policy && p.horizon == r.horizon)
                })
                .flatten();
            let fields = [
                csv_field(&r.policy),
                r.horizon.to_string(),
                r.metric.to_string(),
                r.unit.as_deref().map(csv_field).unwrap_or_default(),
                num(r.mean),
                num(r.stdev),
                num(r.stderr),
                num(r.p5),
                num(r.p25),
                num(r.p50),
                num(r.p75),
                num(r.p95),
                num(r.min),
                num(r.max),
                num(self.tail),
                num(r.var),
                num(r.cvar),
                prob.map(|p| num(p.p)).unwrap_or_default(),
                prob.map(|p| num(p.stderr)).unwrap_or_default(),
            ];
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }
}
