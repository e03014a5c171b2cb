//! `[optimize]` validated: the problem, each refusal naming the file, line
//! and key.
//!
//! A lever is a dotted path into the start policy's terms, as in sweeps.
//! The optimizer never rebuilds the scenario per candidate: it learns once,
//! here, which terms of the validated policy each lever sets (by building
//! the scenario with the lever at its two bounds, setting it as
//! sweeps do, and seeing what moved), then sets those terms directly on a
//! copy of the start policy for every candidate. The optimum is finally
//! written as TOML and read back through the ordinary loader, and the
//! policy it yields must equal the candidate's, term for term
//! (`super::toml_out`).

use std::ops::Range;

use crate::error::{Error, Result};
use crate::model::Scenario;
use crate::scenario::raw::{RawConstraint, RawFrontier, RawOptimize, Sp};
use crate::scenario::{self, names, Loaded};

mod levers;
mod problem;

use levers::levers;
pub(crate) use levers::{patched, segments};
pub use problem::*;

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
pub(super) struct At<'a> {
    loaded: &'a Loaded,
    anchor: Range<usize>,
}

impl At<'_> {
    pub(super) fn err(&self, span: Range<usize>, key: &str, m: impl Into<String>) -> Error {
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
    let (policy, name) = policy_and_name(&at, raw, scenario)?;
    let start = scenario.policies[policy].clone();
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
    let objective = objective(&at, raw)?;
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

/// The start policy's index and the new policy's name (given, or the
/// start's with "_optimized"), neither taken.
fn policy_and_name(at: &At, raw: &RawOptimize, scenario: &Scenario) -> Result<(usize, String)> {
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
    let start = &scenario.policies[policy];
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
    Ok((policy, name))
}

/// The objective, with the `level` or `lambda` it takes (and only then).
fn objective(at: &At, raw: &RawOptimize) -> Result<Measure> {
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
        Some(o) => measure(at, o, "optimize.objective", &OBJECTIVES, level, lambda)?,
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
    Ok(objective)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::InputError;
    use crate::model::keys::{PolicyField, TermField};
    use std::path::Path;

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
