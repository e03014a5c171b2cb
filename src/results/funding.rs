//! What the funding study found (`crate::study::funding` runs it): per
//! unit, funded years and horizon, the unit's and the group's paired gains;
//! and the sentences that say it in words, which the headline, the report
//! and the workbook share.

use std::fmt::Write as _;

use crate::format::{for_years, gain, money, years};
use crate::model::Gate;
use crate::stats::Stats;

/// One unit funded for one number of years, at one horizon.
#[derive(Clone, Debug, PartialEq)]
pub struct FundingRow {
    pub unit: String,
    pub years: f64,
    pub horizon: u32,
    /// The unit's value: its discounted cash flows plus its exit proceeds
    /// or its value while held.
    pub value: Stats,
    /// The unit's value minus its value when not funded, same trial.
    pub gain: Stats,
    /// Share of trials with a gain above 0.
    pub prob_gain: f64,
    /// Mean present value (at t = 0) of what was invested in the unit up
    /// to the horizon.
    pub spend_pv: f64,
    /// Share of trials in which the unit passed its gate; None when it has
    /// no gate under the policy or the gate comes after the horizon.
    pub gate_pass: Option<f64>,
    /// The group's value minus its value with the unit not funded.
    pub group_gain: Stats,
    pub prob_group_gain: f64,
    /// The number of years with the largest mean gain for this unit and
    /// horizon (0 when no funding adds value on average).
    pub best: bool,
}

/// Below this paired probability of beating the runner-up, a best cycle
/// is called a toss-up.
pub const TOSS_UP: f64 = 0.6;

/// How sure the study is of one unit's best cycle, read where every cycle
/// has ended ([`FundingStudy::read_at`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FundingChoice {
    pub unit: String,
    /// The best number of funded years (0: not funding it).
    pub best: f64,
    /// The next best (by mean gain), when more than one was tried.
    pub runner_up: Option<f64>,
    /// Share of trials in which the best cycle gives the unit more value
    /// than the runner-up, same draws.
    pub over_runner_up: Option<f64>,
    /// Share of trials in which the best cycle gives the unit more value
    /// than not funding it (None when not funding is best).
    pub over_none: Option<f64>,
}

impl FundingChoice {
    /// Whether the best cycle beats the runner-up in fewer than
    /// [`TOSS_UP`] of the trials.
    pub fn toss_up(&self) -> bool {
        self.over_runner_up.is_some_and(|p| p < TOSS_UP)
    }
}

/// A share of trials with its Monte Carlo standard error, as "62% ±0.3".
pub fn share_with_error(p: f64, trials: u64) -> String {
    let se = (p * (1.0 - p) / trials.max(1) as f64).sqrt();
    format!("{:.0}% ±{:.1}", 100.0 * p, 100.0 * se)
}

/// What the funding study found.
#[derive(Clone, Debug, PartialEq)]
pub struct FundingStudy {
    /// The policy whose innovation terms were varied.
    pub policy: String,
    pub units: Vec<String>,
    /// Funded years, ascending, 0 first.
    pub years: Vec<f64>,
    pub horizons: Vec<u32>,
    /// The year at which cycles are compared: every studied cycle has
    /// ended by then (the longest, or the scenario's last horizon if
    /// later). One of `horizons`.
    pub read_at: u32,
    /// Per unit, the best cycle at `read_at` and how sure it is.
    pub choices: Vec<FundingChoice>,
    /// Per unit: its budget per year and gate under the policy.
    pub budgets: Vec<f64>,
    pub gates: Vec<Option<Gate>>,
    pub trials: u64,
    pub currency: String,
    /// Unit by unit, then funded years, then horizon.
    pub rows: Vec<FundingRow>,
}

impl FundingStudy {
    pub fn row(&self, unit: &str, years: f64, horizon: u32) -> Option<&FundingRow> {
        self.rows
            .iter()
            .find(|r| r.unit == unit && r.years == years && r.horizon == horizon)
    }

    /// The best number of years for `unit` at `horizon`.
    pub fn best(&self, unit: &str, horizon: u32) -> Option<&FundingRow> {
        self.rows
            .iter()
            .find(|r| r.unit == unit && r.horizon == horizon && r.best)
    }

    /// The choice made for `unit`.
    pub fn choice(&self, unit: &str) -> Option<&FundingChoice> {
        self.choices.iter().find(|c| c.unit == unit)
    }

    /// Whether every studied cycle has ended by `horizon` (no unit is
    /// still funded in its last step).
    pub fn cycles_over(&self, horizon: u32) -> bool {
        self.years.iter().all(|&y| y <= horizon as f64)
    }
}

/// One sentence per unit, read where every cycle has ended, for the
/// report: the best cycle, what it adds, and how sure the choice is.
pub fn sentences(study: &FundingStudy) -> Vec<String> {
    let h = study.read_at;
    let c = &study.currency;
    let mut out = Vec::new();
    for (i, unit) in study.units.iter().enumerate() {
        let Some(best) = study.best(unit, h) else {
            continue;
        };
        let by_horizon: Vec<String> = study
            .horizons
            .iter()
            .filter_map(|&hh| study.best(unit, hh).map(|r| (hh, r.years)))
            .map(|(hh, y)| format!("year {hh}: {} y", years(y)))
            .collect();
        let same_everywhere = study
            .horizons
            .iter()
            .all(|&hh| study.best(unit, hh).map(|r| r.years) == Some(best.years));
        // The row the sentence speaks of: the best cycle, or when not
        // funding is best, the least bad funded cycle (what funding costs).
        let shown = if best.years == 0.0 {
            study
                .rows
                .iter()
                .filter(|r| &r.unit == unit && r.horizon == h && r.years != 0.0)
                .max_by(|a, b| a.gain.mean.total_cmp(&b.gain.mean))
        } else {
            Some(best)
        };
        let Some(r) = shown else {
            continue;
        };
        let toss = study.choice(unit).is_some_and(FundingChoice::toss_up);
        let mut s = if best.years == 0.0 {
            format!(
                "{unit}: {}not funding it is best at year {h} under these assumptions; even its best cycle, {}, changes its own value by {} {c} (P(gain > 0) = {:.0}%) for {} {c} spent on it (present value), and the group's by {} {c}.",
                if toss { "a toss-up: " } else { "" },
                for_years(r.years),
                gain(r.gain.mean, r.gain.stderr),
                100.0 * r.prob_gain,
                money(r.spend_pv),
                gain(r.group_gain.mean, r.group_gain.stderr),
            )
        } else {
            let noise = r.gain.mean - 1.96 * r.gain.stderr <= 0.0;
            format!(
                "{unit}: {}funding it for {} is best at year {h} under these assumptions: {} {c} to its own value{} (P(gain > 0) = {:.0}%) for {} {c} spent on it (present value); the group gains {} {c}.",
                if toss { "a toss-up: " } else { "" },
                for_years(r.years),
                gain(r.gain.mean, r.gain.stderr),
                if noise { ", within Monte Carlo noise of nothing" } else { "" },
                100.0 * r.prob_gain,
                money(r.spend_pv),
                gain(r.group_gain.mean, r.group_gain.stderr),
            )
        };
        if let Some(c) = study.choice(unit) {
            let _ = write!(s, " {}", how_sure(c, study.trials));
        }
        if !same_everywhere {
            let _ = write!(s, " Best by horizon: {}.", by_horizon.join(", "));
        }
        if let (Some(g), Some(pass)) = (study.gates[i], r.gate_pass) {
            let _ = write!(
                s,
                " Funded for {}, it passes its gate ({}x revenue by year {}) in {:.0}% of trials.",
                for_years(r.years),
                g.min_revenue_multiple,
                g.year,
                100.0 * pass
            );
        }
        out.push(s);
    }
    out
}

/// How sure a choice is, in words: the paired probabilities that the best
/// cycle beats the runner-up and not funding, with their Monte Carlo
/// errors; a toss-up says so.
pub fn how_sure(c: &FundingChoice, trials: u64) -> String {
    let mut parts = Vec::new();
    if let (Some(r), Some(p)) = (c.runner_up, c.over_runner_up) {
        let runner = if r == 0.0 {
            "not funding it".to_string()
        } else {
            for_years(r)
        };
        let who = if c.best == 0.0 {
            "not funding it".to_string()
        } else {
            format!("funding it for {}", for_years(c.best))
        };
        parts.push(format!(
            "{who} beats the runner-up ({runner}) in {} of trials",
            share_with_error(p, trials)
        ));
    }
    if let (Some(p), true) = (c.over_none, c.runner_up != Some(0.0)) {
        parts.push(format!(
            "beats not funding it in {}",
            share_with_error(p, trials)
        ));
    }
    if parts.is_empty() {
        return String::new();
    }
    let verdict = if c.toss_up() {
        format!(
            " Under {:.0}% against the runner-up, the choice is a toss-up: the cycles are worth about the same, so decide on what the model leaves out.",
            100.0 * TOSS_UP
        )
    } else {
        String::new()
    };
    format!("How sure: {}.{verdict}", parts.join(" and "))
}
