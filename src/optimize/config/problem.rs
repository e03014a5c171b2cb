//! The validated `[optimize]` problem: its measures, constraints, levers
//! (each setting registry fields of the start policy) and frontier.

use std::ops::Range;

use crate::model::keys::{self, Owner, PolicyField, TermField};
use crate::model::{Policy, Scenario};

/// Default most candidates a search scores.
pub const DEFAULT_EVALUATIONS: usize = 1500;
/// Bounds on `evaluations`.
pub const MIN_EVALUATIONS: usize = 10;
pub const MAX_EVALUATIONS: usize = 1_000_000;
/// Most levers one problem may have.
pub const MAX_LEVERS: usize = 32;
/// Most points a frontier may have.
pub const MAX_FRONTIER_POINTS: usize = 20;
/// Default points of the frontier.
pub const DEFAULT_FRONTIER_POINTS: usize = 6;
/// Default tail share of quantile and CVaR measures.
pub const DEFAULT_LEVEL: f64 = 0.05;

/// A statistic of value at the horizon (or of investment) over trials.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Measure {
    Mean,
    /// The `level` quantile: the smallest value with at least that share of
    /// trials at or below it (x_(ceil(level n)) of the sorted values).
    Quantile(f64),
    /// Mean of the worst `level` share of trials, exactly: with k = level
    /// n, the k lowest values (the last one weighted by the fraction of
    /// k) over k.
    Cvar(f64),
    ProbBeatsBaseline,
    /// Mean minus lambda standard deviations.
    MeanMinusStdev(f64),
    Stdev,
    InvestmentPv,
    InvestmentPerYear,
}

impl Measure {
    /// Short name, as in the file (and in CSV headers).
    pub fn key(&self) -> String {
        match self {
            Measure::Mean => "mean".into(),
            Measure::Quantile(q) => format!("quantile_{}", level_label(*q)),
            Measure::Cvar(q) => format!("cvar_{}", level_label(*q)),
            Measure::ProbBeatsBaseline => "prob_beats_baseline".into(),
            Measure::MeanMinusStdev(l) => format!("mean_minus_{}_stdev", trim(*l)),
            Measure::Stdev => "stdev".into(),
            Measure::InvestmentPv => "investment_pv".into(),
            Measure::InvestmentPerYear => "investment_per_year".into(),
        }
    }

    /// A short label: "mean", "P5", "CVaR5", "stdev", ...
    pub fn short(&self) -> String {
        match self {
            Measure::Quantile(q) => format!("P{}", level_label(*q)),
            Measure::Cvar(q) => format!("CVaR{}", level_label(*q)),
            Measure::ProbBeatsBaseline => "P(beat baseline)".into(),
            Measure::MeanMinusStdev(l) => format!("mean - {} stdev", trim(*l)),
            Measure::InvestmentPv => "investment PV".into(),
            Measure::InvestmentPerYear => "investment per year".into(),
            other => other.key(),
        }
    }

    /// The measure in words, at year `years`.
    pub fn describe(&self, years: u32, baseline: &str) -> String {
        match self {
            Measure::Mean => format!("mean value at year {years}"),
            Measure::Quantile(q) => format!("P{} of value at year {years}", level_label(*q)),
            Measure::Cvar(q) => format!(
                "CVaR{} of value at year {years} (mean of the worst {}% of trials)",
                level_label(*q),
                level_label(*q)
            ),
            Measure::ProbBeatsBaseline => {
                format!("probability of beating {baseline} at year {years}")
            }
            Measure::MeanMinusStdev(l) => {
                format!("mean - {} x stdev of value at year {years}", trim(*l))
            }
            Measure::Stdev => format!("standard deviation of value at year {years}"),
            Measure::InvestmentPv => {
                format!("present value of investment to year {years}")
            }
            Measure::InvestmentPerYear => {
                format!("investment per year to year {years} (present value / {years})")
            }
        }
    }

    /// Whether more is better (the direction a floor limits).
    pub fn higher_is_better(&self) -> bool {
        !matches!(
            self,
            Measure::Stdev | Measure::InvestmentPv | Measure::InvestmentPerYear
        )
    }

    /// Whether the measure reads the baseline's value.
    pub fn needs_baseline(&self) -> bool {
        matches!(self, Measure::ProbBeatsBaseline)
    }

    /// Whether the measure reads investment.
    pub fn needs_spend(&self) -> bool {
        matches!(self, Measure::InvestmentPv | Measure::InvestmentPerYear)
    }
}

/// A share as a label: 0.05 -> "5", 0.025 -> "2.5".
pub fn level_label(q: f64) -> String {
    trim(100.0 * q)
}

/// A number without trailing zeros (at most 6 decimals).
pub fn trim(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Which side of a constraint's bound is allowed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    AtLeast(f64),
    AtMost(f64),
}

impl Bound {
    pub fn value(&self) -> f64 {
        match *self {
            Bound::AtLeast(x) | Bound::AtMost(x) => x,
        }
    }

    /// How far `x` is on the wrong side (0 when met), in units of the
    /// bound's scale.
    pub fn violation(&self, x: f64) -> f64 {
        let scale = self.value().abs().max(1e-9);
        if !x.is_finite() {
            return f64::INFINITY;
        }
        match *self {
            Bound::AtLeast(b) => ((b - x) / scale).max(0.0),
            Bound::AtMost(b) => ((x - b) / scale).max(0.0),
        }
    }

    pub fn symbol(&self) -> &'static str {
        match self {
            Bound::AtLeast(_) => ">=",
            Bound::AtMost(_) => "<=",
        }
    }
}

/// One constraint.
#[derive(Clone, Debug, PartialEq)]
pub struct Constraint {
    pub measure: Measure,
    pub bound: Bound,
    /// Where it was written (the bound's value) and its dotted key, for
    /// the message of a problem no candidate could meet.
    pub span: Range<usize>,
    pub key: String,
}

/// A term of a validated policy a lever sets: a number of the policy
/// itself, or a term of one unit (by index) under it; both rows of the
/// key registry ([`crate::model::keys`]), read and set through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Policy(PolicyField),
    Term(usize, TermField),
}

impl Field {
    /// Every field of a policy over `units` units that a lever may set, in
    /// the registry's order (the policy's own first, then unit by unit).
    pub(super) fn all(units: usize) -> Vec<Field> {
        let mut v: Vec<Field> = keys::of(Owner::Policy)
            .filter(|k| k.lever)
            .filter_map(|k| match k.field {
                keys::Field::Policy(f) => Some(Field::Policy(f)),
                _ => None,
            })
            .collect();
        for u in 0..units {
            v.extend(
                keys::terms()
                    .filter(|k| k.lever)
                    .filter_map(|k| match k.field {
                        keys::Field::Term(f) => Some(Field::Term(u, f)),
                        _ => None,
                    }),
            );
        }
        v
    }

    /// The term's value (None: the unit has no exit or gate).
    pub fn get(self, p: &Policy) -> Option<f64> {
        match self {
            Field::Policy(f) => Some(f.get(p)),
            Field::Term(u, f) => f.get(&p.terms[u]),
        }
    }

    /// Sets the term (an exit or gate term only where the unit has one;
    /// levers are checked to target only those).
    pub fn set(self, p: &mut Policy, x: f64) {
        match self {
            Field::Policy(f) => f.set(p, x),
            Field::Term(u, f) => f.set(&mut p.terms[u], x),
        }
    }

    /// The term in words (`intensity of "Cloud"`).
    pub fn describe(self, s: &Scenario) -> String {
        match self {
            Field::Policy(f) => f.key().words.into(),
            Field::Term(u, f) => format!("{} of \"{}\"", f.key().words, s.units[u].name),
        }
    }
}

/// One decision variable.
#[derive(Clone, Debug, PartialEq)]
pub struct Lever {
    /// The dotted path, as written.
    pub path: String,
    pub min: f64,
    pub max: f64,
    /// Whole numbers only (the search rounds inside the objective).
    pub integer: bool,
    /// Its value under the start policy.
    pub start: f64,
    /// The policy terms it sets (one or more units' terms, or a policy
    /// share).
    pub targets: Vec<Field>,
}

impl Lever {
    /// The value a point `u` in [0, 1] of the search's unit box stands for:
    /// min + u (max - min), rounded for an integer lever (to the nearest
    /// whole number in the bounds).
    pub fn decode(&self, u: f64) -> f64 {
        let u = if u.is_nan() { 0.0 } else { u.clamp(0.0, 1.0) };
        let x = self.min + u * (self.max - self.min);
        if self.integer {
            x.round().clamp(self.min.ceil(), self.max.floor())
        } else {
            x.clamp(self.min, self.max)
        }
    }

    /// The point of the unit box that decodes to `x` (clamped to the
    /// bounds).
    pub fn encode(&self, x: f64) -> f64 {
        ((x - self.min) / (self.max - self.min)).clamp(0.0, 1.0)
    }
}

/// The frontier to trace.
#[derive(Clone, Debug, PartialEq)]
pub struct FrontierSpec {
    /// Cvar, Quantile or Stdev.
    pub risk: Measure,
    pub points: usize,
    pub evaluations: usize,
}

/// A validated `[optimize]` table.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Index of the start policy in the scenario.
    pub policy: usize,
    /// Name of the new policy.
    pub name: String,
    /// Index of the horizon in `scenario.horizons`, and its years.
    pub horizon: usize,
    pub years: u32,
    pub objective: Measure,
    pub constraints: Vec<Constraint>,
    pub levers: Vec<Lever>,
    /// Trials per candidate, if the table sets them.
    pub trials: Option<u64>,
    pub evaluations: usize,
    pub frontier: Option<FrontierSpec>,
    /// The start policy, as validated.
    pub start: Policy,
}

impl Problem {
    /// The start policy with every lever set to `x` (decoded values).
    pub fn policy_at(&self, x: &[f64], name: &str) -> Policy {
        let mut p = self.start.clone();
        p.name = name.to_string();
        for (lever, &v) in self.levers.iter().zip(x) {
            for t in &lever.targets {
                t.set(&mut p, v);
            }
        }
        p
    }

    /// The levers' values under the start policy.
    pub fn start_values(&self) -> Vec<f64> {
        self.levers.iter().map(|l| l.start).collect()
    }

    /// Whether any measure of the problem (frontier included) reads the
    /// baseline, or investment.
    pub fn needs(&self) -> (bool, bool) {
        let mut all = vec![self.objective];
        all.extend(self.constraints.iter().map(|c| c.measure));
        (
            all.iter().any(Measure::needs_baseline),
            all.iter().any(Measure::needs_spend),
        )
    }

    /// One line per part of the problem, for `simulate check`.
    pub fn describe(&self, s: &Scenario) -> String {
        let base = &s.policies[s.baseline].name;
        let mut out = format!(
            "optimize: maximize {} by varying {} lever{} of policy \"{}\" (new policy \"{}\")",
            self.objective.describe(self.years, base),
            self.levers.len(),
            if self.levers.len() == 1 { "" } else { "s" },
            self.start.name,
            self.name
        );
        for l in &self.levers {
            let what: Vec<String> = l.targets.iter().map(|t| t.describe(s)).collect();
            out.push_str(&format!(
                "\n  lever {} in [{}, {}]{}, now {} (sets {})",
                l.path,
                trim(l.min),
                trim(l.max),
                if l.integer { ", whole numbers" } else { "" },
                trim(l.start),
                what.join(", ")
            ));
        }
        for c in &self.constraints {
            out.push_str(&format!(
                "\n  constraint: {} {} {}",
                c.measure.describe(self.years, base),
                c.bound.symbol(),
                trim(c.bound.value())
            ));
        }
        match &self.frontier {
            Some(f) => out.push_str(&format!(
                "\n  frontier: {} points, mean value against {}",
                f.points,
                f.risk.describe(self.years, base)
            )),
            None => out.push_str("\n  frontier: none"),
        }
        out
    }
}
