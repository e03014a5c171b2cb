//! `[optimize]` validated: the problem, each refusal naming the file, line
//! and key.
//!
//! A lever is a dotted path into the start policy's terms, as in sweeps.
//! The optimizer never rebuilds the scenario per candidate: it learns once,
//! here, which terms of the validated policy each lever sets (by building
//! the scenario with the lever at its two bounds, through the same patches
//! sweeps use, and seeing what moved), then sets those terms directly on a
//! copy of the start policy for every candidate. The optimum is finally
//! written as TOML and read back through the ordinary loader, and the
//! policy it yields must equal the candidate's, term for term
//! (`super::toml_out`).

use std::ops::Range;
use std::path::Path;

use crate::error::{Error, InputError, Result};
use crate::model::keys::{self, Owner, PolicyField, TermField};
use crate::model::{Policy, Scenario};
use crate::scenario::raw::{RawConstraint, RawFrontier, RawLever, RawOptimize, Sp};
use crate::scenario::{self, names, Loaded};

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
    fn all(units: usize) -> Vec<Field> {
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

/// The last segments of the keys a lever may vary (the registry's).
fn lever_keys() -> Vec<&'static str> {
    keys::KEYS
        .iter()
        .filter(|k| k.lever)
        .map(|k| k.leaf())
        .collect()
}

const OBJECTIVES: [&str; 5] = [
    "mean",
    "quantile",
    "cvar",
    "prob_beats_baseline",
    "mean_minus_stdev",
];
const CONSTRAINT_MEASURES: [&str; 8] = [
    "investment_pv",
    "investment_per_year",
    "stdev",
    "quantile",
    "cvar",
    "prob_beats_baseline",
    "mean",
    "mean_minus_stdev",
];
const RISKS: [&str; 3] = ["cvar", "quantile", "stdev"];

/// Reads a problem's errors against its source.
struct At<'a> {
    loaded: &'a Loaded,
    anchor: Range<usize>,
}

impl At<'_> {
    fn err(&self, span: Range<usize>, key: &str, m: impl Into<String>) -> Error {
        Error::from(self.loaded.source.error(span, key, m))
    }

    fn at<T>(&self, v: &Option<Sp<T>>) -> Range<usize> {
        v.as_ref().map_or(self.anchor.clone(), |x| x.span())
    }

    fn share(&self, v: &Option<Sp<f64>>, key: &str) -> Result<Option<f64>> {
        match v {
            Some(x) if !(x.is_finite() && **x > 0.0 && **x < 1.0) => Err(self.err(
                x.span(),
                key,
                format!(
                    "must be a share above 0 and below 1 (0.05 for the worst 5%), got {}",
                    x.get_ref()
                ),
            )),
            Some(x) => Ok(Some(**x)),
            None => Ok(None),
        }
    }

    fn count(&self, v: &Option<Sp<i64>>, key: &str, lo: usize, hi: usize) -> Result<Option<usize>> {
        match v {
            Some(x) if **x < lo as i64 || **x > hi as i64 => Err(self.err(
                x.span(),
                key,
                format!("must be between {lo} and {hi}, got {}", x.get_ref()),
            )),
            Some(x) => Ok(Some(**x as usize)),
            None => Ok(None),
        }
    }
}

/// The `[optimize]` table of `loaded` (validated as `scenario`), or an
/// error naming the file, line and key.
pub fn plan(loaded: &Loaded, scenario: &Scenario) -> Result<Problem> {
    let Some(raw) = &loaded.raw.optimize else {
        return Err(Error::Usage(
            "the scenario has no [optimize] table: add one saying which policy to start from, the levers and the objective (see docs/optimize.md)".into(),
        ));
    };
    let at = At {
        loaded,
        anchor: raw.anchor().unwrap_or(0..0),
    };
    let pv = raw.policy.as_ref().ok_or_else(|| {
        at.err(
            at.anchor.clone(),
            "optimize.policy",
            "missing required key `policy`: the policy the search starts from",
        )
    })?;
    let names_: Vec<&str> = scenario.policies.iter().map(|p| p.name.as_str()).collect();
    let policy = scenario
        .policies
        .iter()
        .position(|p| names::same(&p.name, pv))
        .ok_or_else(|| {
            at.err(
                pv.span(),
                "optimize.policy",
                format!(
                    "names no policy: \"{}\"{} (policies are: {})",
                    pv.get_ref(),
                    names::did_you_mean(pv, names_.iter().copied()),
                    names_.join(", ")
                ),
            )
        })?;
    let start = scenario.policies[policy].clone();
    let name = match &raw.name {
        Some(n) => {
            let clean = names::clean(n);
            if clean.is_empty() {
                return Err(at.err(n.span(), "optimize.name", "must not be empty"));
            }
            if let Some(why) = names::unsafe_reason(n) {
                return Err(at.err(
                    n.span(),
                    "optimize.name",
                    format!("{:?} {why}", n.get_ref()),
                ));
            }
            clean
        }
        None => format!("{}_optimized", start.name),
    };
    if let Some(p) = scenario
        .policies
        .iter()
        .find(|p| names::same(&p.name, &name))
    {
        return Err(at.err(
            at.at(&raw.name),
            "optimize.name",
            format!(
                "the new policy's name \"{name}\" is taken by policy \"{}\"; give the optimum another `name`",
                p.name
            ),
        ));
    }
    let horizon = match &raw.horizon {
        Some(h) => scenario
            .horizons
            .iter()
            .position(|&y| i64::from(y) == **h)
            .ok_or_else(|| {
                let hs: Vec<String> = scenario.horizons.iter().map(|h| h.to_string()).collect();
                at.err(
                    h.span(),
                    "optimize.horizon",
                    format!(
                        "year {} is not one of the scenario's horizons ({}); the objective is read at a reported horizon",
                        h.get_ref(),
                        hs.join(", ")
                    ),
                )
            })?,
        None => scenario.horizons.len() - 1,
    };
    let years = scenario.horizons[horizon];
    let level = at.share(&raw.level, "optimize.level")?;
    let lambda = match &raw.lambda {
        Some(l) if !(l.is_finite() && **l >= 0.0) => {
            return Err(at.err(
                l.span(),
                "optimize.lambda",
                format!("must be a number >= 0, got {}", l.get_ref()),
            ))
        }
        l => l.as_ref().map(|l| **l),
    };
    let objective = match &raw.objective {
        None => Measure::Mean,
        Some(o) => measure(&at, o, "optimize.objective", &OBJECTIVES, level, lambda)?,
    };
    if let Some(l) = &raw.level {
        if !matches!(objective, Measure::Quantile(_) | Measure::Cvar(_)) {
            return Err(at.err(
                l.span(),
                "optimize.level",
                "`level` is the share of a quantile or cvar objective; this objective has none (a constraint takes its own `level`)",
            ));
        }
    }
    if let Some(l) = &raw.lambda {
        if !matches!(objective, Measure::MeanMinusStdev(_)) {
            return Err(at.err(
                l.span(),
                "optimize.lambda",
                "`lambda` weighs the standard deviation of a mean_minus_stdev objective; this objective has none",
            ));
        }
    }
    let trials = match &raw.trials {
        Some(t) if **t < 1 || **t as u64 > scenario::validate::MAX_TRIALS => {
            return Err(at.err(
                t.span(),
                "optimize.trials",
                format!(
                    "must be between 1 and {}, got {}",
                    scenario::validate::MAX_TRIALS,
                    t.get_ref()
                ),
            ))
        }
        t => t.as_ref().map(|t| **t as u64),
    };
    let evaluations = at
        .count(
            &raw.evaluations,
            "optimize.evaluations",
            MIN_EVALUATIONS,
            MAX_EVALUATIONS,
        )?
        .unwrap_or(DEFAULT_EVALUATIONS);
    let constraints = raw
        .constraints
        .iter()
        .enumerate()
        .map(|(i, c)| constraint(&at, c, i))
        .collect::<Result<Vec<_>>>()?;
    let frontier = frontier(&at, raw, objective, evaluations)?;
    let levers = levers(loaded, scenario, raw, &at, policy)?;
    Ok(Problem {
        policy,
        name,
        horizon,
        years,
        objective,
        constraints,
        levers,
        trials,
        evaluations,
        frontier,
        start,
    })
}

/// A measure name of the file, with its level or lambda.
fn measure(
    at: &At,
    name: &Sp<String>,
    key: &str,
    allowed: &[&str],
    level: Option<f64>,
    lambda: Option<f64>,
) -> Result<Measure> {
    let n = name.get_ref().trim();
    if !allowed.contains(&n) {
        return Err(at.err(
            name.span(),
            key,
            format!(
                "unknown {}: \"{n}\"{} (one of: {})",
                key.rsplit('.').next().unwrap_or(key),
                names::did_you_mean(n, allowed.iter().copied()),
                allowed.join(", ")
            ),
        ));
    }
    Ok(match n {
        "mean" => Measure::Mean,
        "quantile" => Measure::Quantile(level.unwrap_or(DEFAULT_LEVEL)),
        "cvar" => Measure::Cvar(level.unwrap_or(DEFAULT_LEVEL)),
        "prob_beats_baseline" => Measure::ProbBeatsBaseline,
        "mean_minus_stdev" => Measure::MeanMinusStdev(lambda.unwrap_or(1.0)),
        "stdev" => Measure::Stdev,
        "investment_pv" => Measure::InvestmentPv,
        _ => Measure::InvestmentPerYear,
    })
}

fn constraint(at: &At, c: &Sp<RawConstraint>, i: usize) -> Result<Constraint> {
    let key = |k: &str| format!("optimize.constraints[{i}].{k}");
    let inner = At {
        loaded: at.loaded,
        anchor: c.span(),
    };
    let m = c.measure.as_ref().ok_or_else(|| {
        at.err(
            c.span(),
            &key("measure"),
            format!(
                "missing required key `measure` (one of: {})",
                CONSTRAINT_MEASURES.join(", ")
            ),
        )
    })?;
    let level = inner.share(&c.level, &key("level"))?;
    let measure = measure(at, m, &key("measure"), &CONSTRAINT_MEASURES, level, None)?;
    if c.level.is_some() && !matches!(measure, Measure::Quantile(_) | Measure::Cvar(_)) {
        return Err(at.err(
            inner.at(&c.level),
            &key("level"),
            "`level` applies to quantile and cvar constraints only",
        ));
    }
    let (bound, span, k) = if measure.higher_is_better() {
        if let Some(x) = &c.max {
            return Err(at.err(
                x.span(),
                &key("max"),
                format!(
                    "a {} constraint is a floor: give `min` (more is better)",
                    m.get_ref().trim()
                ),
            ));
        }
        let x = c.min.as_ref().ok_or_else(|| {
            at.err(
                c.span(),
                &key("min"),
                format!(
                    "missing required key `min`: the floor of {}",
                    m.get_ref().trim()
                ),
            )
        })?;
        (Bound::AtLeast(**x), x.span(), key("min"))
    } else {
        if let Some(x) = &c.min {
            return Err(at.err(
                x.span(),
                &key("min"),
                format!(
                    "a {} constraint is a cap: give `max` (less is safer or cheaper)",
                    m.get_ref().trim()
                ),
            ));
        }
        let x = c.max.as_ref().ok_or_else(|| {
            at.err(
                c.span(),
                &key("max"),
                format!(
                    "missing required key `max`: the cap on {}",
                    m.get_ref().trim()
                ),
            )
        })?;
        (Bound::AtMost(**x), x.span(), key("max"))
    };
    if !bound.value().is_finite() {
        return Err(at.err(span, &k, "must be a finite number"));
    }
    if measure == Measure::ProbBeatsBaseline && !(0.0..=1.0).contains(&bound.value()) {
        return Err(at.err(
            span,
            &k,
            format!("a probability is between 0 and 1, got {}", bound.value()),
        ));
    }
    Ok(Constraint {
        measure,
        bound,
        span,
        key: k,
    })
}

fn frontier(
    at: &At,
    raw: &RawOptimize,
    objective: Measure,
    evaluations: usize,
) -> Result<Option<FrontierSpec>> {
    let default = RawFrontier::default();
    let f = raw.frontier.as_ref().unwrap_or(&default);
    let level = at.share(&f.level, "optimize.frontier.level")?;
    let risk = match &f.risk {
        Some(r) => measure(at, r, "optimize.frontier.risk", &RISKS, level, None)?,
        None => match objective {
            Measure::Quantile(q) => Measure::Quantile(level.unwrap_or(q)),
            Measure::Cvar(q) => Measure::Cvar(level.unwrap_or(q)),
            Measure::MeanMinusStdev(_) => Measure::Stdev,
            _ => Measure::Cvar(level.unwrap_or(DEFAULT_LEVEL)),
        },
    };
    if let (Measure::Stdev, Some(l)) = (risk, &f.level) {
        return Err(at.err(
            l.span(),
            "optimize.frontier.level",
            "`level` applies to a cvar or quantile frontier, not stdev",
        ));
    }
    let points = match &f.points {
        Some(p) if **p != 0 && !(2..=MAX_FRONTIER_POINTS as i64).contains(&**p) => {
            return Err(at.err(
                p.span(),
                "optimize.frontier.points",
                format!(
                    "must be 0 (no frontier) or between 2 and {MAX_FRONTIER_POINTS}, got {}",
                    p.get_ref()
                ),
            ))
        }
        Some(p) => **p as usize,
        None => DEFAULT_FRONTIER_POINTS,
    };
    let per_point = at
        .count(
            &f.evaluations,
            "optimize.frontier.evaluations",
            MIN_EVALUATIONS,
            MAX_EVALUATIONS,
        )?
        .unwrap_or((evaluations / 3).max(MIN_EVALUATIONS));
    Ok((points > 0).then_some(FrontierSpec {
        risk,
        points,
        evaluations: per_point,
    }))
}

/// Splits a dotted path (quoted segments may hold dots), as sweeps do.
pub(crate) use crate::study::segments;

/// The scenario with `path` set to `value` (the patch sweeps use).
pub(crate) fn patched(
    loaded: &Loaded,
    path: &str,
    value: f64,
) -> std::result::Result<Loaded, String> {
    let text = crate::study::patch_text(path, value, &loaded.raw)?;
    let mut source = loaded.source.clone();
    let label = format!("<optimize {path} = {value}>");
    let patch =
        scenario::parse_text(&mut source, Path::new(&label), &text).map_err(|e| match e {
            Error::Input(i) => i.message,
            other => other.to_string(),
        })?;
    Ok(Loaded {
        raw: loaded.raw.merge(&patch),
        source,
    })
}

/// What an error of the scenario built at one bound says, in one line.
fn refusal(e: &Error) -> String {
    match e {
        Error::Input(i) => one_line(i),
        other => other.to_string(),
    }
}

fn one_line(i: &InputError) -> String {
    if i.key.is_empty() {
        i.message.clone()
    } else {
        format!("key `{}`: {}", i.key, i.message)
    }
}

/// The policy terms a lever at `lo` and at `hi` sets in `base`, and the
/// two scenarios; or why it cannot be a lever.
fn probe(
    base: &Loaded,
    path: &str,
    policy: usize,
    (lo, hi): (f64, f64),
) -> std::result::Result<(Vec<Field>, Scenario), (Option<bool>, String)> {
    let build = |v: f64, is_hi: bool| -> std::result::Result<Scenario, (Option<bool>, String)> {
        let l = patched(base, path, v).map_err(|m| (None, m))?;
        l.scenario().map_err(|e| {
            (
                Some(is_hi),
                format!(
                    "at {} = {} the scenario is refused: {}",
                    if is_hi { "max" } else { "min" },
                    trim(v),
                    refusal(&e)
                ),
            )
        })
    };
    let a = build(lo, false)?;
    let b = build(hi, true)?;
    let (pa, pb) = (&a.policies[policy], &b.policies[policy]);
    let mut targets = Vec::new();
    for f in Field::all(a.units.len()) {
        let (x, y) = (f.get(pa), f.get(pb));
        if x.map(f64::to_bits) == y.map(f64::to_bits) {
            continue;
        }
        if x == Some(lo) && y == Some(hi) {
            targets.push(f);
        } else {
            return Err((
                None,
                format!(
                    "changes the {} in a way the optimizer cannot follow",
                    f.describe(&a)
                ),
            ));
        }
    }
    for (i, (p, q)) in a.policies.iter().zip(&b.policies).enumerate() {
        if i != policy && p != q {
            return Err((None, "changes another policy".into()));
        }
    }
    for (ta, tb) in pa.terms.iter().zip(&pb.terms) {
        if ta.role != tb.role || ta.exit.is_some() != tb.exit.is_some() {
            return Err((None, "changes a unit's role or exit".into()));
        }
    }
    Ok((targets, a))
}

fn levers(
    loaded: &Loaded,
    scenario: &Scenario,
    raw: &RawOptimize,
    at: &At,
    policy: usize,
) -> Result<Vec<Lever>> {
    if raw.levers.is_empty() {
        return Err(at.err(
            at.anchor.clone(),
            "optimize.levers",
            "no levers: add [[optimize.levers]] tables, each with a `path` into the policy's terms and its `min` and `max`",
        ));
    }
    if raw.levers.len() > MAX_LEVERS {
        return Err(at.err(
            raw.levers[MAX_LEVERS].span(),
            "optimize.levers",
            format!(
                "{} levers, more than the {MAX_LEVERS} a search can handle",
                raw.levers.len()
            ),
        ));
    }
    let pname = &scenario.policies[policy].name;
    let mut checked: Vec<(Lever, Range<usize>, String)> = Vec::new();
    for (i, l) in raw.levers.iter().enumerate() {
        let key = |k: &str| format!("optimize.levers[{i}].{k}");
        let lever = lever_bounds(at, l, &key)?;
        let (path, path_span) = (lever.0.clone(), lever.1.clone());
        let segs = segments(&path).map_err(|m| at.err(path_span.clone(), &key("path"), m))?;
        let wrong_policy = segs.len() < 3 || segs[0] != "policies" || !names::same(&segs[1], pname);
        if wrong_policy {
            return Err(at.err(
                path_span,
                &key("path"),
                format!(
                    "a lever varies a term of the policy the search starts from: write policies.{}.KEY (or policies.{}.units.\"UNIT\".KEY), not {path}",
                    dotted(pname),
                    dotted(pname)
                ),
            ));
        }
        let last = segs[segs.len() - 1].as_str();
        let lever_keys = lever_keys();
        if !lever_keys.contains(&last) {
            return Err(at.err(
                path_span,
                &key("path"),
                format!(
                    "`{last}` is not a number of a policy's terms{} (a lever may set: {})",
                    names::did_you_mean(last, lever_keys.iter().copied()),
                    lever_keys.join(", ")
                ),
            ));
        }
        let canonical: Vec<String> = segs.iter().map(|s| names::key(s)).collect();
        if let Some((j, _)) = checked.iter().enumerate().find(|(_, (c, _, _))| {
            segments(&c.path)
                .map(|s| s.iter().map(|x| names::key(x)).collect::<Vec<_>>() == canonical)
                .unwrap_or(false)
        }) {
            return Err(at.err(
                path_span,
                &key("path"),
                format!("the same path as optimize.levers[{j}]; give each lever once"),
            ));
        }
        let integer = l.integer.as_ref().map_or(last == "years", |b| **b);
        let (lo, hi) = (lever.2, lever.3);
        let (plo, phi) = if integer {
            let (a, b) = (lo.ceil(), hi.floor());
            if b <= a {
                return Err(at.err(
                    lever.5.clone(),
                    &key("max"),
                    format!(
                        "a whole-number lever needs two whole numbers within its bounds, [{}, {}] holds {}",
                        trim(lo),
                        trim(hi),
                        if b == a { "one" } else { "none" }
                    ),
                ));
            }
            (a, b)
        } else {
            (lo, hi)
        };
        let (targets, _) = probe(loaded, &path, policy, (plo, phi))
            .map_err(|(side, m)| lever_error(at, &lever, side, &key, &path, &m))?;
        if targets.is_empty() {
            return Err(at.err(
                path_span,
                &key("path"),
                format!(
                    "sets no term of any unit under policy \"{pname}\" (every unit it could reach overrides it, or has another role)"
                ),
            ));
        }
        let starts: Vec<Option<f64>> = targets
            .iter()
            .map(|t| t.get(&scenario.policies[policy]))
            .collect();
        let Some(start) = starts[0] else {
            return Err(at.err(
                path_span,
                &key("path"),
                format!(
                    "policy \"{pname}\" gives {} no value to start from (no exit or gate): give it one in the file first",
                    targets[0].describe(scenario)
                ),
            ));
        };
        if let Some((t, v)) = targets
            .iter()
            .zip(&starts)
            .find(|(_, v)| **v != Some(start))
        {
            return Err(at.err(
                path_span,
                &key("path"),
                format!(
                    "sets terms that differ under policy \"{pname}\" ({} = {}, {} = {}): vary them one by one, each through its unit's override",
                    targets[0].describe(scenario),
                    trim(start),
                    t.describe(scenario),
                    v.map_or("none".into(), trim)
                ),
            ));
        }
        checked.push((
            Lever {
                path,
                min: lo,
                max: hi,
                integer,
                start,
                targets,
            },
            path_span,
            key("path"),
        ));
    }
    // Every lever written at its start value: the scenario must not move
    // (a lever's own override now exists), and the terms each lever sets,
    // probed again there, must not overlap.
    let mut base = loaded.clone();
    for (l, span, key) in &checked {
        base = patched(&base, &l.path, l.start).map_err(|m| at.err(span.clone(), key, m))?;
    }
    let rebuilt = base.scenario().map_err(|e| {
        Error::Usage(format!(
            "[optimize]: the scenario with every lever at its start value is refused: {e}"
        ))
    })?;
    if rebuilt.policies[policy] != scenario.policies[policy] {
        return Err(at.err(
            checked[0].1.clone(),
            &checked[0].2,
            "the levers at their start values change the start policy; they cannot all be followed",
        ));
    }
    // What each lever reaches on its own (before the others' overrides).
    let alone: Vec<(Vec<Field>, String)> = checked
        .iter()
        .map(|(l, _, _)| (l.targets.clone(), l.path.clone()))
        .collect();
    let mut owner: Vec<(Field, usize)> = Vec::new();
    let mut out = Vec::new();
    for (i, (mut l, span, key)) in checked.into_iter().enumerate() {
        let (lo, hi) = if l.integer {
            (l.min.ceil(), l.max.floor())
        } else {
            (l.min, l.max)
        };
        let (targets, _) = probe(&base, &l.path, policy, (lo, hi))
            .map_err(|(_, m)| at.err(span.clone(), &key, m))?;
        if targets.is_empty() {
            // Every term it reached alone is another lever's now: it
            // would be searched and reported, and move nothing.
            let by: Vec<String> = alone
                .iter()
                .enumerate()
                .filter(|(j, (t, _))| *j != i && t.iter().any(|f| l.targets.contains(f)))
                .map(|(j, (_, path))| format!("optimize.levers[{j}] ({path})"))
                .collect();
            return Err(at.err(
                span.clone(),
                &key,
                format!(
                    "moves no term of any unit: every unit it reaches ({}) has a lever of its own, {}; remove this lever or one of those",
                    l.targets
                        .iter()
                        .map(|t| t.describe(scenario))
                        .collect::<Vec<_>>()
                        .join(", "),
                    by.join(", ")
                ),
            ));
        }
        for t in &targets {
            if let Some((_, j)) = owner.iter().find(|(f, _)| f == t) {
                return Err(at.err(
                    span.clone(),
                    &key,
                    format!(
                        "sets the {} that optimize.levers[{j}] sets too; give each term one lever",
                        t.describe(scenario)
                    ),
                ));
            }
            owner.push((*t, i));
        }
        l.targets = targets;
        out.push(l);
    }
    Ok(out)
}

/// A policy name as a path segment.
fn dotted(name: &str) -> String {
    crate::format::path_segment(name)
}

/// (path, its span, min, max, min's span, max's span).
type LeverBounds = (String, Range<usize>, f64, f64, Range<usize>, Range<usize>);

fn lever_bounds(at: &At, l: &Sp<RawLever>, key: &dyn Fn(&str) -> String) -> Result<LeverBounds> {
    let path = l.path.as_ref().ok_or_else(|| {
        at.err(
            l.span(),
            &key("path"),
            "missing required key `path` (e.g. \"policies.reset.core.intensity\")",
        )
    })?;
    let min = l
        .min
        .as_ref()
        .ok_or_else(|| at.err(l.span(), &key("min"), "missing required key `min`"))?;
    let max = l
        .max
        .as_ref()
        .ok_or_else(|| at.err(l.span(), &key("max"), "missing required key `max`"))?;
    for (v, k) in [(min, "min"), (max, "max")] {
        if !v.is_finite() {
            return Err(at.err(v.span(), &key(k), "must be a finite number"));
        }
    }
    if **max < **min {
        return Err(at.err(
            max.span(),
            &key("max"),
            format!(
                "bounds reversed: max {} is below min {}",
                trim(**max),
                trim(**min)
            ),
        ));
    }
    if **max == **min {
        return Err(at.err(
            max.span(),
            &key("max"),
            format!(
                "max equals min ({}): a lever needs room to move (to fix the value, set it in the policy instead)",
                trim(**min)
            ),
        ));
    }
    Ok((
        path.get_ref().trim().to_string(),
        path.span(),
        **min,
        **max,
        min.span(),
        max.span(),
    ))
}

fn lever_error(
    at: &At,
    lever: &LeverBounds,
    side: Option<bool>,
    key: &dyn Fn(&str) -> String,
    path: &str,
    m: &str,
) -> Error {
    match side {
        Some(false) => at.err(lever.4.clone(), &key("min"), m),
        Some(true) => at.err(lever.5.clone(), &key("max"), m),
        None => at.err(lever.1.clone(), &key("path"), format!("{path}: {m}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(extra: &str) -> Result<Problem> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(root.join("scenarios/reset.toml")).unwrap() + extra;
        let loaded = scenario::parse_raw(&root.join("scenarios/reset.toml"), &text)?;
        let s = loaded.scenario()?;
        plan(&loaded, &s)
    }

    #[test]
    fn levers_find_the_terms_they_set() {
        let p = problem(
            r#"
[optimize]
policy = "reset"
[[optimize.levers]]
path = "policies.reset.core.intensity"
min = 0.0
max = 0.3
[[optimize.levers]]
path = 'policies.reset.units."Cloud Intelligence".intensity'
min = 0.0
max = 0.3
[[optimize.levers]]
path = 'policies.reset.units."Xianyu".years'
min = 1
max = 5
[[optimize.levers]]
path = "policies.reset.reinvest_share"
min = 0.3
max = 0.9
"#,
        )
        .unwrap();
        assert_eq!(p.name, "reset_optimized");
        assert_eq!(p.objective, Measure::Mean);
        assert_eq!(p.horizon, 2);
        // Core intensity: the six core units but Cloud, which has its own lever.
        assert_eq!(p.levers[0].targets.len(), 5);
        assert!(!p.levers[0]
            .targets
            .contains(&Field::Term(1, TermField::Intensity)));
        assert_eq!(
            p.levers[1].targets,
            vec![Field::Term(1, TermField::Intensity)]
        );
        assert_eq!(p.levers[1].start, 0.05);
        assert!(p.levers[2].integer);
        assert_eq!(p.levers[2].targets, vec![Field::Term(7, TermField::Years)]);
        assert_eq!(
            p.levers[3].targets,
            vec![Field::Policy(PolicyField::Reinvest)]
        );
        let x = [0.2, 0.05, 3.0, 0.7];
        let pol = p.policy_at(&x, "n");
        assert_eq!(pol.terms[0].intensity, 0.2);
        assert_eq!(pol.terms[1].intensity, 0.05);
        assert_eq!(pol.terms[7].years, 3.0);
        assert_eq!(pol.terms[6].years, 5.0);
        assert_eq!(pol.reinvest_share, 0.7);
    }

    #[test]
    fn a_role_wide_lever_every_unit_of_which_has_its_own_is_refused() {
        let head = "\n[optimize]\npolicy = \"reset\"\n[[optimize.levers]]\npath = \"policies.reset.core.intensity\"\nmin = 0.0\nmax = 0.3\n";
        let units = [
            "Taobao & Tmall",
            "Cloud Intelligence",
            "International Digital Commerce",
            "Cainiao",
            "Local Services",
            "Digital Media & Entertainment",
        ];
        let own = |u: &str| {
            format!("[[optimize.levers]]\npath = 'policies.reset.units.\"{u}\".intensity'\nmin = 0.0\nmax = 0.3\n")
        };
        let all: String = units.iter().map(|u| own(u)).collect();
        let e = refused(&format!("{head}{all}"));
        assert_eq!(e.key, "optimize.levers[0].path");
        assert!(
            e.message.contains("moves no term of any unit"),
            "{}",
            e.message
        );
        for j in 1..=units.len() {
            assert!(
                e.message.contains(&format!("optimize.levers[{j}]")),
                "{j}: {}",
                e.message
            );
        }
        // One unit left to it: accepted, and it moves that unit only.
        let some: String = units[1..].iter().map(|u| own(u)).collect();
        let p = problem(&format!("{head}{some}")).unwrap();
        assert_eq!(
            p.levers[0].targets,
            vec![Field::Term(0, TermField::Intensity)]
        );
    }

    fn refused(extra: &str) -> InputError {
        match problem(extra) {
            Err(Error::Input(i)) => *i,
            other => panic!("expected an input error, got {other:?}"),
        }
    }

    #[test]
    fn bad_tables_name_the_key() {
        let head = "\n[optimize]\npolicy = \"reset\"\n";
        let lever =
            "[[optimize.levers]]\npath = \"policies.reset.core.intensity\"\nmin = 0.0\nmax = 0.3\n";
        let e = refused(&format!(
            "{head}[[optimize.levers]]\npath = \"policies.reset.core.intensty\"\nmin = 0.0\nmax = 0.3\n"
        ));
        assert_eq!(e.key, "optimize.levers[0].path");
        assert!(
            e.message.contains("did you mean \"intensity\""),
            "{}",
            e.message
        );
        let e = refused(&format!(
            "{head}[[optimize.levers]]\npath = \"policies.reset.core.intensity\"\nmin = 0.3\nmax = 0.1\n"
        ));
        assert_eq!(e.key, "optimize.levers[0].max");
        assert!(e.message.contains("reversed"), "{}", e.message);
        let e = refused(&format!("{head}objective = \"meen\"\n{lever}"));
        assert_eq!(e.key, "optimize.objective");
        assert!(e.message.contains("did you mean \"mean\""), "{}", e.message);
        let e = refused(&format!("{head}horizon = 7\n{lever}"));
        assert_eq!(e.key, "optimize.horizon");
        assert!(e.message.contains("3, 4, 5"), "{}", e.message);
        let e = refused(&format!(
            "{head}[[optimize.levers]]\npath = \"policies.status_quo.core.intensity\"\nmin = 0.0\nmax = 0.3\n"
        ));
        assert!(e.message.contains("policies.reset.KEY"), "{}", e.message);
        let e = refused(&format!(
            "{head}[[optimize.levers]]\npath = 'policies.reset.units.\"Quark\".budget'\nmin = -1.0\nmax = 3\n"
        ));
        assert_eq!(e.key, "optimize.levers[0].min");
        assert!(e.message.contains("must be >= 0"), "{}", e.message);
        let e = refused(&format!(
            "{head}{lever}[[optimize.constraints]]\nmeasure = \"investment_pv\"\nmin = 3.0\n"
        ));
        assert_eq!(e.key, "optimize.constraints[0].min");
        assert!(e.line > 250, "line {}", e.line);
    }
}
