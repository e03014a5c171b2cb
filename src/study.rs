//! Studies that run a scenario many times on the same draws: parameter
//! sweeps, one-at-a-time sensitivity and the funding study ([`funding`]).
//!
//! Every run of a study uses the scenario's seed, so each point sees the
//! same random worlds as the base run (common random numbers): differences
//! between points are the parameters' effect, not noise.

pub mod funding;

use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::model::trial::{Metric, Plan};
use crate::model::Scenario;
use crate::report::summary::{csv_field, num};
use crate::report::Summary;
use crate::scenario::{self, raw, Loaded};

/// Most grid points a sweep may have.
pub const MAX_SWEEP_POINTS: usize = 400;

/// One swept parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// Dotted path, e.g. `policies.reset.innovation.years`.
    pub path: String,
    pub values: Vec<f64>,
}

impl std::str::FromStr for Sweep {
    type Err = String;

    /// `PATH=v1,v2,...` (the command-line form).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (path, values) = s
            .split_once('=')
            .ok_or_else(|| format!("expected PATH=v1,v2,..., got {s:?}"))?;
        let values = values
            .split(',')
            .map(|v| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| format!("sweep value {v:?} is not a finite number"))
            })
            .collect::<std::result::Result<Vec<f64>, String>>()?;
        if values.is_empty() {
            return Err("a sweep needs at least one value".into());
        }
        Ok(Sweep {
            path: path.trim().to_string(),
            values,
        })
    }
}

/// Splits a dotted path; segments may be quoted ("Taobao & Tmall").
fn segments(path: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in path.chars() {
        match c {
            '"' => quoted = !quoted,
            '.' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("unbalanced quote in {path:?}"));
    }
    out.push(cur);
    if out.iter().any(|s| s.is_empty()) {
        return Err(format!("empty segment in {path:?}"));
    }
    Ok(out)
}

fn key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        toml_string(s)
    }
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

fn toml_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:?}")
    }
}

/// `a.b.c = v` as nested inline tables (`a = { b = { c = v } }`), which
/// toml can span, unlike tables created by dotted keys.
fn nested(rest: &[String], value: &str) -> String {
    match rest {
        [] => value.to_string(),
        [last] => format!("{} = {value}", key(last)),
        [first, more @ ..] => format!("{} = {{ {} }}", key(first), nested(more, value)),
    }
}

/// The TOML text that sets `path` to `value`.
pub fn patch_text(
    path: &str,
    value: f64,
    base: &raw::RawFile,
) -> std::result::Result<String, String> {
    let segs = segments(path)?;
    let v = toml_number(value);
    match segs.first().map(String::as_str) {
        Some("scenario") if segs.len() == 2 => {
            Ok(format!("[scenario]\n{}", nested(&segs[1..], &v)))
        }
        Some("valuation") if segs.len() == 2 => {
            Ok(format!("[valuation]\n{}", nested(&segs[1..], &v)))
        }
        Some("units") if segs.len() >= 3 => {
            let name = &segs[1];
            if !base.units.iter().any(|u| u.name.as_deref() == Some(name)) {
                return Err(format!("names no unit: \"{name}\""));
            }
            Ok(format!(
                "[[units]]\nname = {}\n{}",
                toml_string(name),
                nested(&segs[2..], &v)
            ))
        }
        Some("policies") if segs.len() >= 3 => {
            let name = &segs[1];
            if !base.policies.contains_key(name) {
                return Err(format!("names no policy: \"{name}\""));
            }
            Ok(format!(
                "[policies.{}]\n{}",
                key(name),
                nested(&segs[2..], &v)
            ))
        }
        _ => {
            Err("a sweep path starts with scenario.KEY, valuation.KEY, units.NAME.KEY or policies.NAME.KEY".into())
        }
    }
}

/// The scenario with `path` set to `value`.
pub fn apply(loaded: &Loaded, path: &str, value: f64) -> Result<Loaded> {
    let text = patch_text(path, value, &loaded.raw)
        .map_err(|m| Error::Usage(format!("sweep {path}: {m}")))?;
    let mut source = loaded.source.clone();
    let label = format!("sweep {path} = {}", toml_number(value));
    let patch = scenario::parse_text(&mut source, Path::new(&label), &text)?;
    Ok(Loaded {
        raw: loaded.raw.merge(&patch),
        source,
    })
}

/// The sweeps of a scenario: its `[[sweep]]` tables, or those given on the
/// command line instead.
pub fn sweeps(loaded: &Loaded, cli: &[Sweep]) -> Result<Vec<Sweep>> {
    let sweeps: Vec<Sweep> = if !cli.is_empty() {
        cli.to_vec()
    } else {
        let mut out = Vec::new();
        for (i, s) in loaded.raw.sweep.iter().enumerate() {
            let at = |k: &str, m: &str| {
                Error::from(loaded.source.error(s.span(), &format!("sweep[{i}].{k}"), m))
            };
            let path = s
                .path
                .as_ref()
                .ok_or_else(|| at("path", "missing required key `path`"))?;
            let values = s
                .values
                .as_ref()
                .ok_or_else(|| at("values", "missing required key `values`"))?;
            if values.is_empty() {
                return Err(at("values", "a sweep needs at least one value"));
            }
            let mut vs = Vec::new();
            for v in values.iter() {
                if !v.is_finite() {
                    return Err(Error::from(loaded.source.error(
                        v.span(),
                        &format!("sweep[{i}].values"),
                        "must be finite numbers",
                    )));
                }
                vs.push(**v);
            }
            // A bad path is reported at the path's line in the file.
            if let Err(m) = patch_text(path, vs[0], &loaded.raw) {
                return Err(Error::from(loaded.source.error(
                    path.span(),
                    &format!("sweep[{i}].path"),
                    m,
                )));
            }
            out.push(Sweep {
                path: path.get_ref().clone(),
                values: vs,
            });
        }
        out
    };
    if sweeps.len() > 2 {
        return Err(Error::Usage(format!(
            "at most two parameters can be swept at once, got {}",
            sweeps.len()
        )));
    }
    let points: usize = sweeps.iter().map(|s| s.values.len()).product();
    if points > MAX_SWEEP_POINTS {
        return Err(Error::Usage(format!(
            "the sweep has {points} points, more than the {MAX_SWEEP_POINTS} allowed"
        )));
    }
    Ok(sweeps)
}

/// The headline figures of one policy at one horizon of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Headline {
    pub policy: String,
    pub horizon: u32,
    pub mean: f64,
    pub stderr: f64,
    pub p5: f64,
    pub p50: f64,
    pub p95: f64,
    pub delta_mean: f64,
    pub prob_beats_baseline: f64,
}

fn headlines(s: &Summary, scenario: &Scenario) -> Vec<Headline> {
    let mut out = Vec::new();
    for p in &scenario.policies {
        for &h in &scenario.horizons {
            let (Some(v), Some(d)) = (
                s.row(&p.name, h, Metric::Value.name(), None),
                s.row(&p.name, h, Metric::DeltaValue.name(), None),
            ) else {
                continue;
            };
            out.push(Headline {
                policy: p.name.clone(),
                horizon: h,
                mean: v.mean,
                stderr: v.stderr,
                p5: v.p5,
                p50: v.p50,
                p95: v.p95,
                delta_mean: d.mean,
                prob_beats_baseline: s.prob(&p.name, h).unwrap_or(0.0),
            });
        }
    }
    out
}

/// One grid point of a sweep and its results.
#[derive(Clone, Debug)]
pub struct SweepPoint {
    /// One value per swept parameter.
    pub values: Vec<f64>,
    pub headlines: Vec<Headline>,
}

/// Runs every point of the sweep grid with the base run's trials and seed.
/// `run` simulates a scenario (the caller chooses threads and progress).
pub fn run_sweep(
    loaded: &Loaded,
    base: &Scenario,
    sweeps: &[Sweep],
    run: &dyn Fn(&Scenario) -> Result<Summary>,
) -> Result<Vec<SweepPoint>> {
    let mut grid: Vec<Vec<f64>> = vec![vec![]];
    for s in sweeps {
        grid = grid
            .into_iter()
            .flat_map(|g| {
                s.values.iter().map(move |&v| {
                    let mut g = g.clone();
                    g.push(v);
                    g
                })
            })
            .collect();
    }
    let mut out = Vec::new();
    for values in grid {
        let mut l = loaded.clone();
        for (s, &v) in sweeps.iter().zip(&values) {
            l = apply(&l, &s.path, v)?;
        }
        let mut sc = l.scenario()?;
        sc.trials = base.trials;
        sc.seed = base.seed;
        let summary = run(&sc)?;
        out.push(SweepPoint {
            values,
            headlines: headlines(&summary, &sc),
        });
    }
    Ok(out)
}

/// `sweep.csv`: one row per grid point, policy and horizon.
pub fn sweep_csv(sweeps: &[Sweep], points: &[SweepPoint]) -> String {
    let mut out = String::new();
    for s in sweeps {
        let _ = write!(out, "{},", csv_field(&s.path));
    }
    out.push_str("policy,horizon,value_mean,value_stderr,value_p5,value_p50,value_p95,delta_value_mean,prob_beats_baseline\n");
    for p in points {
        for h in &p.headlines {
            for v in &p.values {
                let _ = write!(out, "{},", toml_number(*v));
            }
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{}",
                csv_field(&h.policy),
                h.horizon,
                num(h.mean),
                num(h.stderr),
                num(h.p5),
                num(h.p50),
                num(h.p95),
                num(h.delta_mean),
                num(h.prob_beats_baseline)
            );
        }
    }
    out
}

/// The unit parameters sensitivity moves, with how to read and set them.
/// `terminal_growth` and `sales_to_capital` move only units valued by the
/// growth-fade DCF (they mean nothing to the others).
pub const SENSITIVITY_PARAMETERS: [&str; 7] = [
    "growth",
    "volatility",
    "margin",
    "multiple_median",
    "max_uplift",
    "terminal_growth",
    "sales_to_capital",
];

/// A unit's parameter, or None where it does not apply to the unit.
fn get(u: &crate::model::Unit, p: &str) -> Option<f64> {
    let fade = match u.valuation {
        crate::model::Valuation::Fade(f) => Some(f),
        crate::model::Valuation::Multiple => None,
    };
    match p {
        "growth" => Some(u.growth),
        "volatility" => Some(u.volatility),
        "margin" => Some(u.margin),
        "multiple_median" => Some(u.multiple_median),
        "terminal_growth" => fade.map(|f| f.terminal_growth),
        "sales_to_capital" => fade.map(|f| f.sales_to_capital),
        _ => Some(u.max_uplift),
    }
}

/// Sets a parameter within its rules (`discount_rate` bounds the terminal
/// growth: a perpetuity must grow slower than money is discounted).
fn set(u: &mut crate::model::Unit, p: &str, x: f64, discount_rate: f64) {
    if let crate::model::Valuation::Fade(f) = &mut u.valuation {
        match p {
            "terminal_growth" => {
                f.terminal_growth = x.max(-0.99).min(discount_rate - 1e-3);
                return;
            }
            "sales_to_capital" => {
                f.sales_to_capital = x.max(f64::MIN_POSITIVE);
                return;
            }
            _ => {}
        }
    }
    match p {
        "growth" => u.growth = x.max(-0.99),
        "volatility" => u.volatility = x.max(0.0),
        "margin" => {
            // A margin with no drift target follows the margin.
            if u.target_margin == u.margin {
                u.target_margin = x.min(1.0);
            }
            u.margin = x.min(1.0)
        }
        "multiple_median" => u.multiple_median = x.max(f64::MIN_POSITIVE),
        _ => u.max_uplift = x.max(0.0),
    }
}

/// One row of the sensitivity study.
#[derive(Clone, Debug)]
pub struct Sensitivity {
    pub unit: String,
    pub parameter: &'static str,
    pub base: f64,
    pub low: f64,
    pub high: f64,
    pub policy: String,
    /// Median value at the last horizon: base run, parameter low, high.
    pub median_base: f64,
    pub median_low: f64,
    pub median_high: f64,
}

impl Sensitivity {
    /// The larger of the two moves of the median.
    pub fn swing(&self) -> f64 {
        (self.median_high - self.median_base)
            .abs()
            .max((self.median_low - self.median_base).abs())
    }
}

/// Moves each unit parameter by `step` (relative) down and up, one at a
/// time, on the same draws, and records the median value at the last
/// horizon of every policy. Parameters at 0 have no relative step and are
/// skipped, as are the fade's parameters of units valued by their multiple.
/// Rows come sorted by swing, largest first, per policy.
pub fn run_sensitivity(
    base: &Scenario,
    base_summary: &Summary,
    step: f64,
    run: &dyn Fn(&Scenario) -> Result<Summary>,
) -> Result<Vec<Sensitivity>> {
    let last = *base.horizons.last().unwrap_or(&1);
    let median = |s: &Summary, p: &str| s.row(p, last, "value", None).map_or(f64::NAN, |r| r.p50);
    let mut rows = Vec::new();
    for (ui, u) in base.units.iter().enumerate() {
        for param in SENSITIVITY_PARAMETERS {
            let Some(b) = get(u, param).filter(|&b| b != 0.0) else {
                continue;
            };
            let mut results = Vec::new();
            for factor in [1.0 - step, 1.0 + step] {
                let mut sc = base.clone();
                set(&mut sc.units[ui], param, b * factor, base.discount_rate);
                let used = get(&sc.units[ui], param).unwrap_or(b);
                results.push((used, run(&sc)?));
            }
            for p in &base.policies {
                rows.push(Sensitivity {
                    unit: u.name.clone(),
                    parameter: param,
                    base: b,
                    low: results[0].0,
                    high: results[1].0,
                    policy: p.name.clone(),
                    median_base: median(base_summary, &p.name),
                    median_low: median(&results[0].1, &p.name),
                    median_high: median(&results[1].1, &p.name),
                });
            }
        }
    }
    rows.sort_by(|a, b| {
        a.policy
            .cmp(&b.policy)
            .then(b.swing().total_cmp(&a.swing()))
    });
    Ok(rows)
}

/// `sensitivity.csv`.
pub fn sensitivity_csv(rows: &[Sensitivity]) -> String {
    let mut out = String::from(
        "policy,unit,parameter,base,low,high,median_value_base,median_value_low,median_value_high,change_low,change_high,swing\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&r.policy),
            csv_field(&r.unit),
            r.parameter,
            num(r.base),
            num(r.low),
            num(r.high),
            num(r.median_base),
            num(r.median_low),
            num(r.median_high),
            num(r.median_low - r.median_base),
            num(r.median_high - r.median_base),
            num(r.swing())
        );
    }
    out
}

/// What the studies of a run found, for the report and its charts.
#[derive(Clone, Debug, Default)]
pub struct Studies {
    /// The swept parameters (none when the run had no sweep).
    pub sweeps: Vec<Sweep>,
    /// One point per cell of the sweep grid, the last parameter varying
    /// fastest.
    pub points: Vec<SweepPoint>,
    /// Sensitivity rows, sorted by swing per policy (empty without
    /// `--sensitivity`).
    pub sensitivity: Vec<Sensitivity>,
    /// The relative step the sensitivity study moved each parameter by.
    pub sensitivity_step: f64,
    /// The funding study (`[funding]`), when the scenario has one.
    pub funding: Option<funding::FundingStudy>,
}

impl Studies {
    pub fn has_sweep(&self) -> bool {
        !self.sweeps.is_empty() && !self.points.is_empty()
    }

    pub fn has_sensitivity(&self) -> bool {
        !self.sensitivity.is_empty()
    }

    pub fn has_funding(&self) -> bool {
        self.funding.is_some()
    }

    pub fn is_empty(&self) -> bool {
        !self.has_sweep() && !self.has_sensitivity() && !self.has_funding()
    }
}

/// Runs a scenario and summarises it (used by the studies).
pub fn simulate(scenario: &Scenario, threads: Option<usize>) -> Result<Summary> {
    let (plan, acc): (Plan, _) = crate::engine::run(scenario, threads, &|_| {})?;
    crate::check_finite(scenario, &plan, &acc)?;
    Ok(Summary::new(scenario, &plan, &acc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_arguments_parse() {
        let s: Sweep = "policies.reset.innovation.years=3,4,5".parse().unwrap();
        assert_eq!(s.path, "policies.reset.innovation.years");
        assert_eq!(s.values, vec![3.0, 4.0, 5.0]);
        assert!("x".parse::<Sweep>().is_err());
        assert!("a=1,b".parse::<Sweep>().is_err());
        assert!("a=nan".parse::<Sweep>().is_err());
    }

    #[test]
    fn paths_become_toml() {
        let mut base = raw::RawFile::default();
        base.policies
            .insert("reset".into(), raw::RawPolicy::default());
        assert_eq!(
            patch_text("policies.reset.innovation.years", 4.0, &base).unwrap(),
            "[policies.reset]\ninnovation = { years = 4 }"
        );
        assert_eq!(
            patch_text("policies.reset.units.\"Quark\".budget", 6.5, &base).unwrap(),
            "[policies.reset]\nunits = { Quark = { budget = 6.5 } }"
        );
        assert_eq!(
            patch_text("scenario.discount_rate", 0.1, &base).unwrap(),
            "[scenario]\ndiscount_rate = 0.1"
        );
        assert_eq!(
            patch_text("valuation.terminal_growth", 0.02, &base).unwrap(),
            "[valuation]\nterminal_growth = 0.02"
        );
        assert!(patch_text("policies.nope.core.intensity", 1.0, &base).is_err());
        assert!(patch_text("units.Nobody.growth", 1.0, &base).is_err());
        assert!(patch_text("factors.x", 1.0, &base).is_err());
        assert_eq!(
            segments("units.\"Taobao & Tmall\".growth").unwrap()[1],
            "Taobao & Tmall"
        );
    }
}
