//! Which uncertainty matters: each drawn assumption's share of the
//! variance of every policy's value, and of its paired gain over the
//! baseline, at the last horizon ("which assumption should we research
//! before deciding").
//!
//! The measure is the squared correlation between the assumption's draw
//! and the outcome over the run's trials. Without `[[correlations]]` the
//! assumptions are drawn independently of one another, so each correlation is, up to sampling
//! noise, the assumption's standardized regression coefficient, and its
//! square the share of the outcome's variance it explains linearly; the
//! shares add up to the R² of the linear fit, and what is left is path
//! randomness (volatility, jumps, exit timing), interactions and
//! non-linearity. Unlike a full regression, each correlation needs only
//! the moments of the draw and of its product with the outcome, which the
//! kernel records as slots of the layout ([`crate::model::Layout::drawn`])
//! and the accumulators aggregate like every other figure: flat memory,
//! one pass, and the same bits on any thread count or sharding.

use crate::format::csv_field;
use crate::model::{Layout, Metric, Scenario};
use crate::stats::Accumulator;

/// The outcome an assumption's share is measured on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The policy's value V_h.
    Value,
    /// Its same-trial gain over the baseline (delta_value).
    Gain,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Value => "value",
            Outcome::Gain => "gain",
        }
    }
}

/// One assumption's part in one outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    pub unit: String,
    /// The key as the file writes it ("growth", "response.max_uplift").
    pub key: &'static str,
    /// The distribution's name.
    pub dist: &'static str,
    /// Correlation of the draw with the outcome over the trials.
    pub correlation: f64,
    /// correlation²: the share of the outcome's variance the assumption
    /// explains (linearly).
    pub share: f64,
    /// Change of the mean outcome per standard deviation of the
    /// assumption (money): the regression slope times its stdev.
    pub effect: f64,
}

/// Every assumption's part in one policy's outcome, largest share first.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    pub policy: String,
    pub outcome: Outcome,
    /// Years of the horizon (the last).
    pub horizon: u32,
    /// The outcome's standard deviation over the trials.
    pub stdev: f64,
    pub rows: Vec<Contribution>,
}

impl Panel {
    /// Sum of the shares: the variance the assumptions explain together
    /// (when they are drawn independently; correlated ones overlap).
    pub fn explained(&self) -> f64 {
        self.rows.iter().map(|r| r.share).sum::<f64>().min(1.0)
    }
}

/// The uncertainty view of a run: one panel per policy and outcome (gains
/// for every policy but the baseline), or None when nothing is drawn.
pub fn panels(scenario: &Scenario, layout: &Layout, acc: &Accumulator) -> Option<Vec<Panel>> {
    if layout.drawn.is_empty() || layout.horizons == 0 {
        return None;
    }
    let last = layout.horizons - 1;
    let horizon = scenario.horizons.get(last).copied().unwrap_or(0);
    let mut out = Vec::new();
    for outcome in [Outcome::Gain, Outcome::Value] {
        for (p, policy) in scenario.policies.iter().enumerate() {
            if outcome == Outcome::Gain && p == scenario.baseline {
                continue;
            }
            let metric = match outcome {
                Outcome::Value => Metric::Value,
                Outcome::Gain => Metric::DeltaValue,
            };
            let y = acc.stats(layout.index(p, last, metric));
            let mut rows: Vec<Contribution> = layout
                .drawn
                .iter()
                .enumerate()
                .map(|(d, &(unit, param))| {
                    let x = acc.stats(layout.drawn_index(d));
                    let xy = acc.stats(layout.cross_index(d, p, metric));
                    let n = x.n as f64;
                    // Sample covariance, (n - 1) denominator like the stdevs.
                    let cov = (xy.mean - x.mean * y.mean) * n / (n - 1.0).max(1.0);
                    let denom = x.stdev * y.stdev;
                    let correlation = if denom > 0.0 {
                        (cov / denom).clamp(-1.0, 1.0)
                    } else {
                        0.0
                    };
                    let u = &scenario.units[unit];
                    Contribution {
                        unit: u.name.clone(),
                        key: param.key(),
                        dist: u.drawn(param).map_or("", |d| d.name()),
                        correlation,
                        share: correlation * correlation,
                        effect: if x.stdev > 0.0 { cov / x.stdev } else { 0.0 },
                    }
                })
                .collect();
            rows.sort_by(|a, b| b.share.total_cmp(&a.share));
            out.push(Panel {
                policy: policy.name.clone(),
                outcome,
                horizon,
                stdev: y.stdev,
                rows,
            });
        }
    }
    Some(out)
}

/// uncertainty.csv: one row per policy, outcome and assumption.
pub fn to_csv(panels: &[Panel]) -> String {
    let mut s = String::from(
        "policy,horizon,outcome,unit,key,dist,share_of_variance,correlation,effect_per_stdev,outcome_stdev\n",
    );
    for p in panels {
        for r in &p.rows {
            let fields = [
                csv_field(&p.policy),
                p.horizon.to_string(),
                p.outcome.name().to_string(),
                csv_field(&r.unit),
                r.key.to_string(),
                r.dist.to_string(),
                crate::format::num(r.share),
                crate::format::num(r.correlation),
                crate::format::num(r.effect),
                crate::format::num(p.stdev),
            ];
            s.push_str(&fields.join(","));
            s.push('\n');
        }
    }
    s
}
