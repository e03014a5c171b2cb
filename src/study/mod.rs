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
pub mod sensitivity;
pub mod shared;

use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;

use crate::error::{Error, InputError, Result};
use crate::format::{csv_field, num, toml_key, toml_number, toml_string};
use crate::kernel::Plan;
use crate::model::{Metric, Scenario};
use crate::results::{check_finite, Headline, Summary, Sweep, SweepPoint};
use crate::scenario::{self, names, raw, Loaded};

/// Most grid points a sweep may have.
pub const MAX_SWEEP_POINTS: usize = 400;

/// Splits a dotted path; segments may be quoted ("Taobao & Tmall"), with
/// `\"` for a quote and `\\` for a backslash inside the quotes (any other
/// backslash is itself), and none may be empty or blank.
pub fn segments(path: &str) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted && matches!(chars.peek(), Some('"' | '\\')) => {
                cur.extend(chars.next());
            }
            '"' => quoted = !quoted,
            '.' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("unbalanced quote in {path:?}"));
    }
    out.push(cur);
    if out.iter().any(|s| s.trim().is_empty()) {
        return Err(format!("empty segment in {path:?}"));
    }
    Ok(out)
}

/// `a.b.c = v` as nested inline tables (`a = { b = { c = v } }`), which
/// toml can span, unlike tables created by dotted keys.
fn nested(rest: &[String], value: &str) -> String {
    match rest {
        [] => value.to_string(),
        [last] => format!("{} = {value}", toml_key(last)),
        [first, more @ ..] => format!("{} = {{ {} }}", toml_key(first), nested(more, value)),
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
            let known: Vec<&str> = base
                .units
                .iter()
                .filter_map(|u| u.name.as_deref().map(String::as_str))
                .collect();
            // The unit as the file spells it, so the patch merges into it.
            let Some(name) = known.iter().find(|u| names::same(u, name)) else {
                return Err(format!(
                    "names no unit: \"{name}\"{}",
                    names::did_you_mean(name, known.iter().copied())
                ));
            };
            Ok(format!(
                "[[units]]\nname = {}\n{}",
                toml_string(name),
                nested(&segs[2..], &v)
            ))
        }
        Some("policies") if segs.len() >= 3 => {
            let name = &segs[1];
            let Some(name) = base.policies.keys().find(|p| names::same(p, name)) else {
                return Err(format!(
                    "names no policy: \"{name}\"{}",
                    names::did_you_mean(name, base.policies.keys().map(String::as_str))
                ));
            };
            let mut rest = segs[2..].to_vec();
            // An override's unit as the file spells it, likewise.
            if rest.len() >= 3 && rest[0] == "units" {
                let units: Vec<&str> = base
                    .units
                    .iter()
                    .filter_map(|u| u.name.as_deref().map(String::as_str))
                    .collect();
                match units.iter().find(|u| names::same(u, &rest[1])) {
                    Some(u) => rest[1] = u.to_string(),
                    None => {
                        return Err(format!(
                            "names no unit: \"{}\"{}",
                            rest[1],
                            names::did_you_mean(&rest[1], units.iter().copied())
                        ))
                    }
                }
            }
            Ok(format!("[policies.{}]\n{}", toml_key(name), nested(&rest, &v)))
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
    let patch = scenario::parse_text(&mut source, Path::new(&patch_label(path, value)), &text)?;
    Ok(Loaded {
        raw: loaded.raw.merge(&patch),
        source,
    })
}

/// The name a sweep point's patch is parsed under (never shown: errors
/// located in it are moved to the sweep's own place, see [`Origin`]).
fn patch_label(path: &str, value: f64) -> String {
    format!("<sweep {path} = {}>", toml_number(value))
}

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
    /// The scenario as read (the points are patches over it), and the base
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
/// patch itself is at fault, the key it sets; elsewhere, the file and key.
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
        if let Err(m) = patch_text(&s.path, s.values[0], &loaded.raw) {
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
        let v = s.values[k];
        let label = patch_label(&s.path, v);
        l = apply(&l, &s.path, v).map_err(|e| {
            // The patch did not parse: a key the path names that does not
            // exist is the path's fault, a wrong type the value's. (The
            // patch's own key is not the file's: only the message is told.)
            let (m, at) = match &e {
                Error::Input(i) if i.file == Path::new(&label) => (
                    i.message.clone(),
                    i.message.starts_with("invalid type").then_some(k),
                ),
                _ => (point_error(&e, &label), Some(k)),
            };
            at_origin(loaded, s, &origins[j], at, &m)
        })?;
    }
    l.scenario().map_err(|e| {
        // Blame the sweep whose patch holds the refused value (the last
        // one when the refusal is elsewhere).
        let labels: Vec<String> = sweeps
            .iter()
            .zip(ks)
            .map(|(s, &k)| patch_label(&s.path, s.values[k]))
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

    #[test]
    fn paths_become_toml() {
        let mut base = raw::RawFile::default();
        base.policies
            .insert("reset".into(), raw::RawPolicy::default());
        let unit: raw::RawUnit = toml::from_str("name = \"Quark\"").unwrap();
        base.units.push(raw::Sp(toml::Spanned::new(0..0, unit)));
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
        // Names as read: the file's spelling goes into the patch.
        assert_eq!(
            patch_text("policies.RESET.units.quark.budget", 6.5, &base).unwrap(),
            "[policies.reset]\nunits = { Quark = { budget = 6.5 } }"
        );
        let e = patch_text("units.Quakr.growth", 1.0, &base).unwrap_err();
        assert!(e.contains("did you mean \"Quark\""), "{e}");
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
