//! Sensitivity of the decision: which inputs move each policy's paired
//! gain over the baseline, and its chance of beating it, at the last
//! horizon.
//!
//! A strategist choosing between policies does not ask what moves the
//! group's value (a big unit's multiple moves every policy alike) but what
//! could change the choice. So every input is moved down and up one at a
//! time: each unit's assumptions, each policy's levers (the keys its table
//! sets, per-unit overrides included, the baseline's too: they move every
//! other policy's gain) and the scenario's discount rate. Rates move by an
//! additive step (one point: a growth of 4% becomes 3% and 5%; a margin of
//! -1.6% becomes -2.6% and -0.6%), levels by a relative one (10%: a budget
//! of 6 becomes 5.4 and 6.6), so that a small margin is not moved by a
//! hundredth of a point.
//!
//! Each variant is the scenario with one key of the file changed, set on
//! the raw file by its registry field ([`raw::Slot`], no TOML text) and
//! validated as the file would be: a step the scenario refuses (a margin above 100%, a terminal
//! growth at the discount rate) is skipped with the validator's reason,
//! never clamped into a smaller step ranked as a full one. Variants run on
//! the base run's trials and seed, and every figure equals a separate run
//! of the changed file bit for bit; but a lever variant runs as one more
//! policy of one shared run, and every variant keeps only the two figures
//! per policy the study reads (see [`run`]).

use crate::error::{Error, Result};
use crate::format::{csv_field, num, toml_number};
use crate::model::keys::{self, Key, Place, Step, UnitField};
use crate::model::{Role, Scenario, Unit};
use crate::results::{Estimated, Owner, Sensitivity, StepKind, Steps, Summary};
use crate::scenario::{names, raw, Loaded};

mod passes;
mod screen;

/// One input the study moves.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub owner: Owner,
    pub owner_name: String,
    /// The key under its owner, dotted as in the file.
    pub parameter: String,
    /// The `--sweep` path that sets it.
    pub path: String,
    /// Where the variant sets it in the file, by registry field.
    pub slot: raw::Slot,
    pub kind: StepKind,
    pub base: f64,
}

/// `name` quoted as a path segment.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The study's step kind of a registry row (None: not an input).
fn kind(k: &Key) -> Option<StepKind> {
    k.step.map(|s| match s {
        Step::Additive => StepKind::Rate,
        Step::Relative => StepKind::Level,
    })
}

/// A unit's assumptions that apply to it, in the registry's order, each
/// with the registry's step: its revenue, growth, volatility, margin (and
/// its drift target and speed when it drifts), multiple, the response to
/// investment when it has one, and the fade's terminal growth and sales to
/// capital when it is valued by the fade. A key the unit draws from a
/// distribution is not moved (a step would replace the distribution by a
/// number): the uncertainty view (`results::uncertainty`) ranks it
/// instead, on the run's own draws.
fn unit_inputs(u: &Unit) -> Vec<(String, UnitField, StepKind, f64)> {
    let mut v = Vec::new();
    for k in keys::of(keys::Owner::Unit).chain(keys::of(keys::Owner::Valuation)) {
        let (Some(kind), keys::Field::Unit(f)) = (kind(k), k.field) else {
            continue;
        };
        let applies = match f {
            UnitField::TargetMargin | UnitField::MarginSpeed => u.target_margin != u.margin,
            UnitField::MaxUplift | UnitField::HalfSaturation => u.max_uplift > 0.0,
            _ => true,
        };
        let drawn = k.param.is_some_and(|p| u.drawn(p).is_some());
        let Some(x) = f.get(u).filter(|_| applies && !drawn) else {
            continue;
        };
        let param = match k.owner {
            keys::Owner::Valuation => format!("valuation.{}", k.path),
            _ => k.path.to_string(),
        };
        v.push((param, f, kind, x));
    }
    v
}

/// The levers the table of policy `name` (as the file names it) sets,
/// per-unit overrides included, as (key under the policy, where it is in
/// the file, step kind, value), in the registry's order.
fn policy_levers(
    name: &str,
    p: &raw::RawPolicy,
    units: &[Unit],
) -> Vec<(String, raw::Slot, StepKind, f64)> {
    let mut out = Vec::new();
    let mut push = |key: String, slot: raw::Slot, k: &Key, v: Option<&raw::Sp<f64>>| {
        if let (Some(v), Some(kind)) = (v, kind(k)) {
            out.push((key, slot, kind, **v));
        }
    };
    for k in keys::of(keys::Owner::Policy) {
        if let keys::Field::Policy(f) = k.field {
            let slot = raw::Slot::Policy(name.into(), f);
            push(k.path.to_string(), slot, k, p.share(f).as_ref());
        }
    }
    for role in [Role::Core, Role::NonCore, Role::Innovation] {
        for k in keys::role_terms(role) {
            if let keys::Field::Term(f) = k.field {
                push(
                    format!("{}.{}", role.as_str(), k.path),
                    raw::Slot::Role(name.into(), role, f),
                    k,
                    p.role_term(role, f),
                );
            }
        }
    }
    for (unit, o) in p.units.iter().flatten() {
        // The unit as the model names it (the file may spell it otherwise).
        let model_name = units
            .iter()
            .find(|u| names::same(&u.name, unit))
            .map_or(unit.as_str(), |u| u.name.as_str());
        for k in keys::terms() {
            if let keys::Field::Term(f) = k.field {
                push(
                    format!("units.{model_name}.{}", k.path),
                    raw::Slot::Override(name.into(), unit.clone(), f),
                    k,
                    o.term(f),
                );
            }
        }
    }
    out
}

/// Every input of the scenario the study moves, in order: the discount
/// rate, each unit's assumptions, each policy's levers.
pub fn inputs(loaded: &Loaded, base: &Scenario) -> Vec<Input> {
    let mut out: Vec<Input> = keys::of(keys::Owner::Scenario)
        .filter_map(|k| {
            Some(Input {
                owner: Owner::Scenario,
                owner_name: "scenario".into(),
                parameter: k.path.into(),
                path: format!("scenario.{}", k.path),
                slot: match k.field {
                    keys::Field::DiscountRate => raw::Slot::DiscountRate,
                    _ => return None,
                },
                kind: kind(k)?,
                base: Place {
                    field: k.field,
                    unit: 0,
                    policy: 0,
                }
                .get(base)?,
            })
        })
        .collect();
    for u in &base.units {
        // The unit as the file names it.
        let file_name = loaded
            .raw
            .units
            .iter()
            .filter_map(|r| r.get_ref().name.as_deref())
            .find(|n| names::same(n, &u.name))
            .map_or(u.name.clone(), |n| n.to_string());
        for (param, field, kind, value) in unit_inputs(u) {
            out.push(Input {
                owner: Owner::Unit,
                owner_name: u.name.clone(),
                path: format!("units.{}.{param}", quoted(&u.name)),
                slot: raw::Slot::Unit(file_name.clone(), field),
                parameter: param,
                kind,
                base: value,
            });
        }
    }
    for (file_name, p) in &loaded.raw.policies {
        let name = base
            .policies
            .iter()
            .find(|q| names::same(&q.name, file_name))
            .map_or(file_name.as_str(), |q| q.name.as_str());
        for (key, slot, kind, value) in policy_levers(file_name, p, &base.units) {
            // A unit's name in the path is quoted: it may hold dots.
            let path_key = match key.strip_prefix("units.") {
                Some(rest) => {
                    let unit = base
                        .units
                        .iter()
                        .map(|u| u.name.as_str())
                        .find(|u| rest.starts_with(&format!("{u}.")))
                        .unwrap_or("");
                    format!("units.{}.{}", quoted(unit), &rest[unit.len() + 1..])
                }
                None => key.clone(),
            };
            out.push(Input {
                owner: Owner::Policy,
                owner_name: name.to_string(),
                parameter: key,
                path: format!("policies.{}.{path_key}", quoted(name)),
                slot,
                kind,
                base: value,
            });
        }
    }
    out
}

/// `x` to 12 significant digits: 0.04 + 0.01 is 0.05, as a reader (and a
/// file) would write it, not 0.05000000000000001.
fn tidy(x: f64) -> f64 {
    format!("{x:.11e}").parse().unwrap_or(x)
}

/// The low and high values of an input; None where a level is 0 (no
/// relative step moves it).
pub fn moved(input: &Input, steps: Steps) -> Option<(f64, f64)> {
    let b = input.base;
    match input.kind {
        StepKind::Rate => Some((tidy(b - steps.rate), tidy(b + steps.rate))),
        StepKind::Level if b == 0.0 => None,
        StepKind::Level => Some((tidy(b * (1.0 - steps.level)), tidy(b * (1.0 + steps.level)))),
    }
}

/// The scenario with `input` set to `x` (the base run's trials and seed),
/// or why the scenario refuses that value.
fn variant(
    loaded: &Loaded,
    base: &Scenario,
    input: &Input,
    x: f64,
) -> std::result::Result<Scenario, String> {
    let one_line = |e: Error| match e {
        Error::Input(i) if i.key.is_empty() => i.message,
        Error::Input(i) => format!("{}: {}", i.key, i.message),
        other => other.to_string(),
    };
    let mut raw = loaded.raw.clone();
    raw.set(&input.slot, x)?;
    let mut sc = crate::scenario::validate::validate(&loaded.source, &raw)
        .map_err(|e| one_line(e.into()))?;
    sc.trials = base.trials;
    sc.seed = base.seed;
    Ok(sc)
}

/// Variants simulated at once by a sweep, and the step in which the
/// study tells its progress (fewer the more units a scenario has), so
/// that a large scenario's sweep does not hold thousands of copies of
/// it; the study's shared passes take 4 times as many (see
/// `passes::shared_size`).
pub fn batch_size(scenario: &Scenario) -> usize {
    (2048 / scenario.units.len().max(1)).clamp(1, 64)
}

/// Each input's two steps: the value to run (and its place in the list
/// of variants to run), or the note of its skip; the variants to run as
/// (input, side, value); and each variant's scenario, as validated.
type Planned = (
    Vec<[std::result::Result<(f64, usize), String>; 2]>,
    Vec<(usize, usize, f64)>,
    Vec<Scenario>,
);

/// Checks every step of `inputs` (see [`run`]) on `threads` threads:
/// `say` is told of each skipped one, in the inputs' order.
fn plan(
    loaded: &Loaded,
    base: &Scenario,
    inputs: &[Input],
    steps: Steps,
    threads: Option<usize>,
    say: &dyn Fn(String),
) -> Planned {
    // Each input's two steps, validated in parallel (hundreds of variants
    // of a large scenario), then taken in order.
    let jobs: Vec<(usize, f64, f64)> = inputs
        .iter()
        .enumerate()
        .filter_map(|(k, input)| moved(input, steps).map(|(lo, hi)| (k, lo, hi)))
        .collect();
    let build = || -> Vec<[std::result::Result<Scenario, String>; 2]> {
        use rayon::prelude::*;
        jobs.par_iter()
            .map(|&(k, lo, hi)| [lo, hi].map(|x| variant(loaded, base, &inputs[k], x)))
            .collect()
    };
    let built = crate::engine::with_threads(threads, build).unwrap_or_else(|_| build());
    let mut plans: Vec<[std::result::Result<(f64, usize), String>; 2]> = Vec::new();
    let mut todo: Vec<(usize, usize, f64)> = Vec::new();
    let mut scenarios = Vec::new();
    for (&(k, lo, hi), found) in jobs.iter().zip(built) {
        let input = &inputs[k];
        let mut sides = [Err(String::new()), Err(String::new())];
        for (s, ((side, x), found)) in [("low", lo), ("high", hi)]
            .into_iter()
            .zip(found)
            .enumerate()
        {
            match found {
                Ok(sc) => {
                    sides[s] = Ok((x, todo.len()));
                    todo.push((k, s, x));
                    scenarios.push(sc);
                }
                Err(why) => {
                    let note = format!(
                        "{side} step skipped: {} {} -> {} is out of range ({why})",
                        input.parameter,
                        toml_number(input.base),
                        toml_number(x)
                    );
                    say(format!("sensitivity: {}: {note}", input.owner_name));
                    sides[s] = Err(note);
                }
            }
        }
        plans.push(sides);
    }
    (plans, todo, scenarios)
}

/// The scenarios the study's variants stand for, in order (each equal,
/// in what it reports at the last horizon, to the run the study reads):
/// for a benchmark against separate runs (examples/shared_draws.rs).
pub fn variant_scenarios(loaded: &Loaded, base: &Scenario, steps: Steps) -> Result<Vec<Scenario>> {
    let inputs = inputs(loaded, base);
    let (_, _, mut scenarios) = plan(loaded, base, &inputs, steps, None, &|_| {});
    let last = *base.horizons.last().unwrap_or(&1);
    for sc in &mut scenarios {
        sc.horizons = vec![last];
    }
    Ok(scenarios)
}

/// Runs the study: every input of [`inputs`] moved by `steps` down and up,
/// on the base run's draws (common random numbers), on `threads` worker
/// threads, and for each policy other than the baseline the mean paired
/// gain over the baseline and the share of trials beating it at the last
/// horizon. `say` is told of each skipped step; `progress` of the variants
/// done (variants done, variants in all). Rows come per policy (in the
/// scenario's order), largest swing of the mean gain first; inputs with
/// both steps skipped last.
///
/// Every figure is the one a separate run of the changed file gives, bit
/// for bit, but far fewer trials are run:
/// - a policy's lever changes that policy alone, so every lever variant
///   runs as one more policy of one scenario (the base scenario's
///   policies, then each lever variant's changed policy), all on one
///   generation of the draws, as the optimizer scores its candidates; a
///   gain over a changed baseline is the difference of two policies'
///   values in the same trial, as the engine takes it;
/// - the other variants (a unit's assumptions, the discount rate) run in
///   groups that share the draws (`engine::shared::run_group_collect`),
///   at the last horizon only, led by the base scenario; a variant of one
///   unit's assumptions computes that unit alone on what the base run
///   kept of the others (`crate::kernel::Plan::solo_unit`), the whole
///   trial only where the change moves the budget share;
/// - every variant keeps only what the study reads (a plain sum and a
///   count per policy and block), not a summary with its sketches.
///
/// A variant whose figures are not all finite runs again as a whole
/// scenario ([`super::simulate_many`]), which reports why as a run of it
/// would.
///
/// With `top` (`--sensitivity-top N`), the study is screened (see
/// [`screen`]): the inputs that can rank among the top N of some policy
/// run every trial and get the exact figures above, bit for bit; the
/// others stop as soon as their first trials show they cannot, and
/// report estimates ([`Sensitivity::estimated`]).
///
/// `cancelled` stops the study (with an error) within a batch or a few
/// of saying so: `simulate serve` stops a study a newer request overtakes.
#[allow(clippy::too_many_arguments)]
pub fn run(
    loaded: &Loaded,
    base: &Scenario,
    base_summary: &Summary,
    steps: Steps,
    top: Option<usize>,
    threads: Option<usize>,
    say: &dyn Fn(String),
    progress: &dyn Fn(usize, usize),
    cancelled: Option<&(dyn Fn() -> bool + Sync)>,
) -> Result<Vec<Sensitivity>> {
    if base.policies.len() < 2 {
        say("sensitivity: the scenario has one policy, and the study ranks what moves a policy's gain over the baseline; add a policy to compare (nothing was run)".into());
        return Ok(Vec::new());
    }
    let last = *base.horizons.last().unwrap_or(&1);
    let inputs = inputs(loaded, base);
    let (plans, todo, scenarios) = plan(loaded, base, &inputs, steps, threads, say);
    let variants = passes::Variants {
        base,
        inputs: &inputs,
        todo: &todo,
        scenarios: &scenarios,
        threads,
        last,
        cancelled,
    };
    let gain = |s: &Summary, p: &str| {
        s.row(p, last, "delta_value", None)
            .map_or(f64::NAN, |r| r.mean)
    };
    let beat = |s: &Summary, p: &str| s.prob(p, last).unwrap_or(f64::NAN);
    let (mut figures, estimates) = match top {
        None => (variants.figures(progress)?, vec![None; todo.len()]),
        Some(top) => {
            let sides: Vec<[Option<usize>; 2]> = plans
                .iter()
                .map(|s| s.each_ref().map(|s| s.as_ref().ok().map(|&(_, i)| i)))
                .collect();
            // The base run's gain, P(beat) and the gain's spread, per policy.
            let at_base: Vec<(f64, f64)> = base
                .policies
                .iter()
                .map(|p| (gain(base_summary, &p.name), beat(base_summary, &p.name)))
                .collect();
            let spread: Vec<f64> = base
                .policies
                .iter()
                .map(|p| {
                    base_summary
                        .row(&p.name, last, "delta_value", None)
                        .map_or(f64::NAN, |r| r.stdev)
                })
                .collect();
            variants.screened(&sides, top, &at_base, &spread, progress)?
        }
    };
    let b = base.baseline;
    for f in &mut figures {
        // The baseline's own gain is not read.
        f[b] = (f64::NAN, f64::NAN);
    }
    let moved_inputs: Vec<&Input> = inputs
        .iter()
        .filter(|i| moved(i, steps).is_some())
        .collect();
    let mut rows = Vec::new();
    for (pi, p) in base.policies.iter().enumerate() {
        if pi == base.baseline {
            continue;
        }
        let mut mine = Vec::new();
        for (input, sides) in moved_inputs.iter().zip(&plans) {
            let at = |s: usize, which: usize| match &sides[s] {
                Ok((_, i)) => {
                    let (g, p) = figures[*i][pi];
                    if which == 0 {
                        g
                    } else {
                        p
                    }
                }
                Err(_) => f64::NAN,
            };
            let value = |s: usize| sides[s].as_ref().map_or(f64::NAN, |(x, _)| *x);
            let mut notes: Vec<String> = sides
                .iter()
                .filter_map(|s| s.as_ref().err().cloned())
                .collect();
            let estimated = estimated(sides, &estimates, pi);
            if let Some(e) = estimated {
                notes.push(screened_note(e, top.unwrap_or(0), base.trials));
            }
            mine.push(Sensitivity {
                policy: p.name.clone(),
                owner: input.owner,
                owner_name: input.owner_name.clone(),
                parameter: input.parameter.clone(),
                path: input.path.clone(),
                kind: input.kind,
                base: input.base,
                low: value(0),
                high: value(1),
                gain_base: gain(base_summary, &p.name),
                gain_low: at(0, 0),
                gain_high: at(1, 0),
                beat_base: beat(base_summary, &p.name),
                beat_low: at(0, 1),
                beat_high: at(1, 1),
                note: (!notes.is_empty()).then(|| notes.join("; ")),
                estimated,
            });
        }
        crate::results::studies::rank(&mut mine);
        rows.extend(mine);
    }
    Ok(rows)
}

/// Where an input's figures for policy `pi` are estimates (screened out,
/// `--sensitivity-top`): the fewer trials and the larger margin of its
/// two sides.
fn estimated(
    sides: &[std::result::Result<(f64, usize), String>; 2],
    estimates: &[Option<screen::Estimate>],
    pi: usize,
) -> Option<Estimated> {
    sides
        .iter()
        .filter_map(|s| s.as_ref().ok())
        .filter_map(|&(_, i)| estimates[i].as_ref())
        .map(|e| Estimated {
            trials: e.trials,
            margin: e.margin[pi],
        })
        .reduce(|a, b| Estimated {
            trials: a.trials.min(b.trials),
            margin: a.margin.max(b.margin),
        })
}

/// The note of a screened-out input's row.
fn screened_note(e: Estimated, top: usize, trials: u64) -> String {
    format!(
        "screened out of the top {top}: estimated from the first {} of {trials} trials, each gain within {} of the exact figure (three standard errors)",
        e.trials,
        crate::format::sig(e.margin, 2),
    )
}

/// `sensitivity.csv`: one row per policy (other than the baseline) and
/// input, ranked as the study ranks them. A skipped step's cells are
/// empty, not "null".
pub fn csv(rows: &[Sensitivity]) -> String {
    let mut out = String::from(
        "policy,rank,input,owner,parameter,path,step_kind,base,low,high,gain_low,gain_base,gain_high,gain_change_low,gain_change_high,swing,prob_beats_low,prob_beats_base,prob_beats_high,prob_swing,note\n",
    );
    let cell = |x: f64| if x.is_nan() { String::new() } else { num(x) };
    let mut rank = 0;
    let mut policy = "";
    for r in rows {
        if r.policy != policy {
            policy = &r.policy;
            rank = 0;
        }
        rank += 1;
        let owner = match r.owner {
            Owner::Unit => "unit",
            Owner::Policy => "policy",
            Owner::Scenario => "scenario",
        };
        let fields = [
            csv_field(&r.policy),
            rank.to_string(),
            csv_field(&r.label()),
            owner.to_string(),
            csv_field(&r.parameter),
            csv_field(&r.path),
            r.kind.name().to_string(),
            num(r.base),
            cell(r.low),
            cell(r.high),
            cell(r.gain_low),
            cell(r.gain_base),
            cell(r.gain_high),
            cell(r.gain_low - r.gain_base),
            cell(r.gain_high - r.gain_base),
            num(r.swing()),
            cell(r.beat_low),
            cell(r.beat_base),
            cell(r.beat_high),
            num(r.beat_swing()),
            csv_field(r.note.as_deref().unwrap_or_default()),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
