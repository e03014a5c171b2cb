//! Studies that run a scenario many times on the same draws: parameter
//! sweeps, one-at-a-time sensitivity and the funding study ([`funding`]).
//!
//! Every run of a study uses the scenario's seed, so each point sees the
//! same random worlds as the base run (common random numbers): differences
//! between points are the parameters' effect, not noise. Studies hand
//! their variants to [`simulate_many`] a batch at a time, which may
//! generate the draws once for the whole batch; its figures equal
//! separate runs bit for bit either way.
//!
//! What the studies find ([`crate::results::Studies`]) lives in `results`,
//! below the report that presents it; this module runs them.

pub mod funding;
pub mod path;
pub mod sensitivity;
pub mod shared;
#[cfg(test)]
mod text_patch;

pub use path::segments;

use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;

use crate::error::{Error, InputError, Result};
use crate::format::{csv_field, num, toml_number};
use crate::kernel::Plan;
use crate::model::{Metric, Scenario};
use crate::results::{check_finite, Headline, Summary, Sweep, SweepPoint};
use crate::scenario::{names, Loaded};

/// Most grid points a sweep may have.
pub const MAX_SWEEP_POINTS: usize = 400;

/// Where a sweep was given, so that its errors point there.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// The `index`-th `[[sweep]]` table: the spans of its path and of each
    /// value.
    Table {
        index: usize,
        path: Range<usize>,
        values: Vec<Range<usize>>,
    },
    /// A `--sweep PATH=V1,...` flag.
    Flag,
}

/// The sweeps of a run, every grid point already built and validated
/// once. Points are rebuilt when they run rather than kept: 400 copies of
/// a 1 000-unit scenario would hold gigabytes.
#[derive(Clone, Debug, Default)]
pub struct SweepPlan {
    pub sweeps: Vec<Sweep>,
    pub origins: Vec<Origin>,
    /// Per grid point (the last parameter varying fastest): the index of
    /// each parameter's value.
    pub grid: Vec<Vec<usize>>,
    /// The scenario as read (each point sets its values on it), and the base
    /// run's trials and seed, which every point runs with.
    base: Option<(Loaded, u64, u64)>,
}

impl SweepPlan {
    pub fn is_empty(&self) -> bool {
        self.sweeps.is_empty()
    }

    /// Number of grid points.
    pub fn len(&self) -> usize {
        self.grid.len()
    }

    /// The swept values of point `i`.
    pub fn values(&self, i: usize) -> Vec<f64> {
        self.grid[i]
            .iter()
            .zip(&self.sweeps)
            .map(|(&k, s)| s.values[k])
            .collect()
    }

    /// The scenario of point `i`, with the base run's trials and seed.
    pub fn scenario(&self, i: usize) -> Result<Scenario> {
        let Some((loaded, trials, seed)) = &self.base else {
            return Err(Error::Usage("no sweep".into()));
        };
        let mut sc = build_point(loaded, &self.sweeps, &self.origins, &self.grid[i])?;
        sc.trials = *trials;
        sc.seed = *seed;
        Ok(sc)
    }
}

/// Keys that do not hold a number a point could vary: the whole run's
/// trials and seed (every point runs the base run's, on the same draws),
/// and names, text and lists.
fn unsweepable(segs: &[String]) -> Option<String> {
    let last = segs.last().map(String::as_str).unwrap_or("");
    match (segs.first().map(String::as_str), segs.len(), last) {
        (Some("scenario"), 2, "trials" | "seed") => Some(format!(
            "scenario.{last} is the same for every point of a sweep (the points run on one set of random draws, with the run's --trials and --seed); run the scenario once per {last} instead"
        )),
        (_, _, "name" | "currency" | "baseline" | "role" | "description" | "extends") => Some(
            format!("`{last}` is text, and a sweep varies numbers"),
        ),
        (Some("scenario"), 2, "horizons") => Some(
            "scenario.horizons is a list of years, and a sweep varies one number".into(),
        ),
        _ => None,
    }
}

/// A path in the form it is compared in (names as read, see
/// `crate::scenario::names`), to find a path swept twice.
fn canonical(segs: &[String]) -> Vec<String> {
    segs.iter().map(|s| names::key(s)).collect()
}

/// An error of one sweep, placed at its origin: the `[[sweep]]` entry's
/// file, line and key, or the `--sweep` flag.
fn at_origin(
    loaded: &Loaded,
    sweep: &Sweep,
    origin: &Origin,
    value: Option<usize>,
    m: &str,
) -> Error {
    match origin {
        Origin::Table {
            index,
            path,
            values,
        } => {
            let (span, key) = match value {
                Some(k) => (values[k].clone(), format!("sweep[{index}].values[{k}]")),
                None => (path.clone(), format!("sweep[{index}].path")),
            };
            Error::from(loaded.source.error(span, &key, m))
        }
        Origin::Flag => {
            let vs: Vec<String> = sweep.values.iter().map(|v| toml_number(*v)).collect();
            Error::Usage(format!("--sweep {}={}: {m}", sweep.path, vs.join(",")))
        }
    }
}

/// What a scenario error at one sweep point says, in one line: where the
/// value the point set is at fault, the key it sets; elsewhere, the file and key.
fn point_error(e: &Error, label: &str) -> String {
    match e {
        Error::Input(i) => one_line(i, label),
        other => other.to_string(),
    }
}

fn one_line(i: &InputError, label: &str) -> String {
    if i.file == Path::new(label) || i.line == 0 {
        if i.key.is_empty() {
            i.message.clone()
        } else {
            format!("key `{}`: {}", i.key, i.message)
        }
    } else {
        i.one_line()
    }
}

/// The sweeps of a run, `--sweep` flags or else the scenario's
/// `[[sweep]]` tables, checked and built point by point before any work,
/// the same way for `simulate check` as for a run: a path that cannot
/// vary or is given twice, a value the scenario refuses at any point, is
/// refused at the sweep's own file, line and key (or its flag).
///
/// `check_point` is called with each point's scenario as it is checked
/// (the run checks that each fits in memory).
pub fn plan(
    loaded: &Loaded,
    base: &Scenario,
    cli: &[Sweep],
    check_point: &mut dyn FnMut(&Scenario) -> Result<()>,
) -> Result<SweepPlan> {
    let (sweeps, origins) = given(loaded, cli)?;
    let mut seen: Vec<Vec<String>> = Vec::new();
    for (s, o) in sweeps.iter().zip(&origins) {
        let segs = segments(&s.path).map_err(|m| at_origin(loaded, s, o, None, &m))?;
        if let Some(m) = unsweepable(&segs) {
            return Err(at_origin(loaded, s, o, None, &m));
        }
        if let Err(m) = path::slot(&s.path, &loaded.raw) {
            return Err(at_origin(loaded, s, o, None, &m));
        }
        let c = canonical(&segs);
        if seen.contains(&c) {
            return Err(at_origin(
                loaded,
                s,
                o,
                None,
                &format!(
                    "{} is swept twice; give each parameter once, with all its values",
                    s.path
                ),
            ));
        }
        seen.push(c);
        let mut distinct = s.values.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if distinct.len() != s.values.len() {
            return Err(at_origin(
                loaded,
                s,
                o,
                None,
                &format!("{} lists a value twice; each point runs once", s.path),
            ));
        }
    }
    if sweeps.len() > 2 {
        let m = format!(
            "at most two parameters can be swept at once, got {}",
            sweeps.len()
        );
        return Err(at_origin(loaded, &sweeps[2], &origins[2], None, &m));
    }
    let count: usize = sweeps.iter().map(|s| s.values.len()).product();
    if count > MAX_SWEEP_POINTS {
        let m = format!("the sweep has {count} points, more than the {MAX_SWEEP_POINTS} allowed");
        return Err(at_origin(loaded, &sweeps[0], &origins[0], None, &m));
    }
    // Every point, built and validated now: a value the scenario refuses
    // is found before any work, not after the base run.
    let mut grid: Vec<Vec<usize>> = vec![vec![]];
    for s in &sweeps {
        grid = grid
            .into_iter()
            .flat_map(|g| {
                (0..s.values.len()).map(move |k| {
                    let mut g = g.clone();
                    g.push(k);
                    g
                })
            })
            .collect();
    }
    if sweeps.is_empty() {
        return Ok(SweepPlan::default());
    }
    let plan = SweepPlan {
        sweeps,
        origins,
        grid,
        base: Some((loaded.clone(), base.trials, base.seed)),
    };
    for i in 0..plan.len() {
        check_point(&plan.scenario(i)?)?;
    }
    Ok(plan)
}

/// The sweeps as given, `--sweep` flags or else the `[[sweep]]` tables
/// (each with a path and finite values), and where each was given.
fn given(loaded: &Loaded, cli: &[Sweep]) -> Result<(Vec<Sweep>, Vec<Origin>)> {
    let mut sweeps = Vec::new();
    let mut origins = Vec::new();
    if !cli.is_empty() {
        sweeps.extend(cli.iter().cloned());
        origins.resize(cli.len(), Origin::Flag);
    } else {
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
            sweeps.push(Sweep {
                path: path.get_ref().clone(),
                values: vs,
            });
            origins.push(Origin::Table {
                index: i,
                path: path.span(),
                values: values.iter().map(|v| v.span()).collect(),
            });
        }
    }
    Ok((sweeps, origins))
}

/// Builds and validates one grid point (`ks`: each sweep's value index),
/// its errors placed at the sweep's origin.
fn build_point(
    loaded: &Loaded,
    sweeps: &[Sweep],
    origins: &[Origin],
    ks: &[usize],
) -> Result<Scenario> {
    let mut l = loaded.clone();
    for (j, (s, &k)) in sweeps.iter().zip(ks).enumerate() {
        l = path::apply(&l, &s.path, s.values[k])
            .map_err(|(m, value)| at_origin(loaded, s, &origins[j], value.then_some(k), &m))?;
    }
    l.scenario().map_err(|e| {
        // Blame the sweep whose value is the refused one (the last
        // one when the refusal is elsewhere).
        let labels: Vec<String> = sweeps
            .iter()
            .zip(ks)
            .map(|(s, &k)| path::label(&s.path, s.values[k]))
            .collect();
        let j = match &e {
            Error::Input(i) => labels
                .iter()
                .position(|l| i.file == Path::new(l))
                .unwrap_or(labels.len() - 1),
            _ => labels.len() - 1,
        };
        let what: Vec<String> = sweeps
            .iter()
            .zip(ks)
            .map(|(s, &k)| format!("{} = {}", s.path, toml_number(s.values[k])))
            .collect();
        let m = format!(
            "at the point {} the scenario is refused: {}",
            what.join(", "),
            point_error(&e, &labels[j])
        );
        at_origin(loaded, &sweeps[j], &origins[j], Some(ks[j]), &m)
    })
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
                delta_stderr: d.stderr,
                delta_p50: d.p50,
                prob_beats_baseline: s.prob(&p.name, h).unwrap_or(0.0),
                prob_stderr: s
                    .prob_beats_baseline
                    .iter()
                    .find(|x| x.policy == p.name && x.horizon == h)
                    .map_or(0.0, |x| x.stderr),
            });
        }
    }
    out
}

/// Runs every point of a [`SweepPlan`] (each with the base run's trials
/// and seed, so on the base run's draws) through `simulate_many`, a batch
/// of points at a time; `progress` is told (points done, points in all)
/// after each batch. Stops between batches on an interrupt.
pub fn run_sweep(
    plan: &SweepPlan,
    simulate_many: &dyn Fn(&[Scenario]) -> Result<Vec<Summary>>,
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<SweepPoint>> {
    let mut out = Vec::new();
    if plan.is_empty() {
        return Ok(out);
    }
    let batch = plan
        .scenario(0)
        .map(|s| sensitivity::batch_size(&s))
        .unwrap_or(1);
    let all: Vec<usize> = (0..plan.len()).collect();
    for chunk in all.chunks(batch) {
        crate::engine::check_interrupted()?;
        let scenarios = chunk
            .iter()
            .map(|&i| plan.scenario(i))
            .collect::<Result<Vec<Scenario>>>()?;
        let summaries = simulate_many(&scenarios)?;
        for ((&i, sc), summary) in chunk.iter().zip(&scenarios).zip(&summaries) {
            out.push(SweepPoint {
                values: plan.values(i),
                headlines: headlines(summary, sc),
            });
        }
        progress(out.len(), plan.len());
    }
    Ok(out)
}

/// `sweep.csv`: one row per grid point, policy and horizon.
pub fn sweep_csv(sweeps: &[Sweep], points: &[SweepPoint]) -> String {
    let mut out = String::new();
    for s in sweeps {
        let _ = write!(out, "{},", csv_field(&s.path));
    }
    out.push_str("policy,horizon,value_mean,value_stderr,value_p5,value_p50,value_p95,delta_value_mean,prob_beats_baseline,delta_value_stderr,delta_value_low95,delta_value_high95,delta_value_p50,prob_beats_baseline_stderr\n");
    for p in points {
        for h in &p.headlines {
            for v in &p.values {
                let _ = write!(out, "{},", toml_number(*v));
            }
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_field(&h.policy),
                h.horizon,
                num(h.mean),
                num(h.stderr),
                num(h.p5),
                num(h.p50),
                num(h.p95),
                num(h.delta_mean),
                num(h.prob_beats_baseline),
                num(h.delta_stderr),
                num(h.delta_band().0),
                num(h.delta_band().1),
                num(h.delta_p50),
                num(h.prob_stderr)
            );
        }
    }
    out
}

/// Runs a scenario and summarises it (used by the studies).
pub fn simulate(scenario: &Scenario, threads: Option<usize>) -> Result<Summary> {
    let (plan, acc): (Plan, _) = crate::engine::run(scenario, threads, &|_| {})?;
    check_finite(scenario, &plan, &acc)?;
    Ok(Summary::new(scenario, &plan, &acc))
}

/// Runs several variants of a scenario (the same structure, other
/// numbers: unit parameters, policy levers, the discount rate...) and
/// summarises each: the same `Summary` as [`simulate`] of each variant,
/// bit for bit, for any thread count, with each block's draws generated
/// once and shared by every variant that draws alike (see
/// [`shared`]). Variants that draw differently (other units, factors,
/// steps, jump rates, seed or trials) run on their own draws.
pub fn simulate_many(scenarios: &[Scenario], threads: Option<usize>) -> Result<Vec<Summary>> {
    shared::simulate_many(scenarios, threads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::raw;

    #[test]
    fn paths_become_slots() {
        use crate::model::{PolicyField, Role, TermField, UnitField};
        use raw::Slot;
        let mut base = raw::RawFile::default();
        base.policies
            .insert("reset".into(), raw::RawPolicy::default());
        let unit: raw::RawUnit = toml::from_str("name = \"Quark\"").unwrap();
        base.units.push(raw::Sp(toml::Spanned::new(0..0, unit)));
        let slot = |p: &str| path::slot(p, &base);
        let reset = || "reset".to_string();
        let quark = || "Quark".to_string();
        for (p, want) in [
            (
                "policies.reset.innovation.years",
                Slot::Role(reset(), Role::Innovation, TermField::Years),
            ),
            (
                "policies.reset.innovation.gate.year",
                Slot::Role(reset(), Role::Innovation, TermField::GateYear),
            ),
            (
                "policies.reset.units.\"Quark\".budget",
                Slot::Override(reset(), quark(), TermField::Budget),
            ),
            (
                "policies.reset.reinvest_share",
                Slot::Policy(reset(), PolicyField::Reinvest),
            ),
            ("scenario.discount_rate", Slot::DiscountRate),
            ("scenario.steps_per_year", Slot::StepsPerYear),
            (
                "valuation.terminal_growth",
                Slot::Valuation(UnitField::TerminalGrowth),
            ),
            (
                "units.Quark.valuation.terminal_growth",
                Slot::Unit(quark(), UnitField::TerminalGrowth),
            ),
            (
                "units.Quark.multiple.median",
                Slot::Unit(quark(), UnitField::MultipleMedian),
            ),
            (
                "units.Quark.growth.mode",
                Slot::Dist(quark(), UnitField::Growth, raw::DistKey::Mode),
            ),
            (
                "units.Quark.loadings.ai",
                Slot::Loading(quark(), "ai".into()),
            ),
            // Names as read: the file's spelling is the slot's.
            (
                "policies.RESET.units.quark.budget",
                Slot::Override(reset(), quark(), TermField::Budget),
            ),
        ] {
            assert_eq!(slot(p), Ok(want), "{p}");
        }
        for (p, words) in [
            ("policies.nope.core.intensity", "names no policy"),
            ("units.Nobody.growth", "names no unit"),
            ("factors.x", "a sweep path starts with"),
            ("units.Quakr.growth", "did you mean \"Quark\""),
            ("policies.reset.core.intensty", "did you mean `intensity`"),
            ("policies.reset.core.budget", "unknown key `budget`"),
            ("units.Quark.volatilty", "did you mean `volatility`"),
            ("units.Quark.growth.moed", "did you mean `mode`"),
            ("scenario.years", "unknown key `years`"),
        ] {
            let e = slot(p).unwrap_err();
            assert!(e.contains(words), "{p}: {e}");
        }
        assert_eq!(
            segments("units.\"Taobao & Tmall\".growth").unwrap()[1],
            "Taobao & Tmall"
        );
        // Quotes and backslashes inside a quoted name, escaped; any other
        // backslash is itself; and what path_segment writes reads back.
        assert_eq!(
            segments(r#"units."Say \"hi\" \\o/ C:\x".growth"#).unwrap()[1],
            r#"Say "hi" \o/ C:\x"#
        );
        for name in ["plain", "Taobao & Tmall", "a\"b", "back\\", "\\\"", "a.b"] {
            let path = format!("units.{}.growth", crate::format::path_segment(name));
            assert_eq!(
                segments(&path).unwrap(),
                ["units", name, "growth"],
                "{path}"
            );
        }
        assert!(segments(r#"units."a\".growth"#).is_err());
    }
}
