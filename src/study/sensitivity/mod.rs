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
//! Each variant is the scenario with one key of the file changed (the
//! `--sweep` path that sets it, [`super::apply`]), validated as the file
//! would be: a step the scenario refuses (a margin above 100%, a terminal
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
use crate::results::{Owner, Sensitivity, StepKind, Steps, Summary};
use crate::scenario::{names, raw, Loaded};

mod passes;

/// One input the study moves.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub owner: Owner,
    pub owner_name: String,
    /// The key under its owner, dotted as in the file.
    pub parameter: String,
    /// The `--sweep` path that sets it.
    pub path: String,
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
fn unit_inputs(u: &Unit) -> Vec<(String, StepKind, f64)> {
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
        v.push((param, kind, x));
    }
    v
}

/// The levers a policy's table sets (per-unit overrides included), as
/// (key under the policy, step kind, value), in the registry's order.
fn policy_levers(p: &raw::RawPolicy, units: &[Unit]) -> Vec<(String, StepKind, f64)> {
    let mut out = Vec::new();
    let mut push = |key: String, k: &Key, v: Option<&raw::Sp<f64>>| {
        if let (Some(v), Some(kind)) = (v, kind(k)) {
            out.push((key, kind, **v));
        }
    };
    for k in keys::of(keys::Owner::Policy) {
        if let keys::Field::Policy(f) = k.field {
            push(k.path.to_string(), k, p.share(f).as_ref());
        }
    }
    for role in [Role::Core, Role::NonCore, Role::Innovation] {
        for k in keys::role_terms(role) {
            if let keys::Field::Term(f) = k.field {
                push(
                    format!("{}.{}", role.as_str(), k.path),
                    k,
                    p.role_term(role, f),
                );
            }
        }
    }
    for (name, o) in p.units.iter().flatten() {
        // The unit as the model names it (the file may spell it otherwise).
        let name = units
            .iter()
            .find(|u| names::same(&u.name, name))
            .map_or(name.as_str(), |u| u.name.as_str());
        for k in keys::terms() {
            if let keys::Field::Term(f) = k.field {
                push(format!("units.{name}.{}", k.path), k, o.term(f));
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
        for (param, kind, value) in unit_inputs(u) {
            out.push(Input {
                owner: Owner::Unit,
                owner_name: u.name.clone(),
                path: format!("units.{}.{param}", quoted(&u.name)),
                parameter: param,
                kind,
                base: value,
            });
        }
    }
    for (name, p) in &loaded.raw.policies {
        let name = base
            .policies
            .iter()
            .find(|q| names::same(&q.name, name))
            .map_or(name.as_str(), |q| q.name.as_str());
        for (key, kind, value) in policy_levers(p, &base.units) {
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
    let l = super::apply(loaded, &input.path, x).map_err(one_line)?;
    let mut sc = l.scenario().map_err(one_line)?;
    sc.trials = base.trials;
    sc.seed = base.seed;
    Ok(sc)
}

/// At most this many variants are simulated at once (and fewer the more
/// units a scenario has), so that a large scenario's study does not hold
/// thousands of copies of it.
pub fn batch_size(scenario: &Scenario) -> usize {
    (2048 / scenario.units.len().max(1)).clamp(1, 64)
}

/// Each input's two steps: the value to run (and its place in the list
/// of variants to run), or the note of its skip; and the variants to run
/// as (input, side, value).
type Planned = (
    Vec<[std::result::Result<(f64, usize), String>; 2]>,
    Vec<(usize, usize, f64)>,
);

/// Checks every step of `inputs` (see [`run`]): `say` is told of each
/// skipped one.
fn plan(
    loaded: &Loaded,
    base: &Scenario,
    inputs: &[Input],
    steps: Steps,
    say: &dyn Fn(String),
) -> Planned {
    let mut plans: Vec<[std::result::Result<(f64, usize), String>; 2]> = Vec::new();
    let mut todo: Vec<(usize, usize, f64)> = Vec::new();
    for (k, input) in inputs.iter().enumerate() {
        let Some((lo, hi)) = moved(input, steps) else {
            continue;
        };
        let mut sides = [Err(String::new()), Err(String::new())];
        for (s, (side, x)) in [("low", lo), ("high", hi)].into_iter().enumerate() {
            match variant(loaded, base, input, x) {
                Ok(_) => {
                    sides[s] = Ok((x, todo.len()));
                    todo.push((k, s, x));
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
    (plans, todo)
}

/// The scenarios the study's variants stand for, in order (each equal,
/// in what it reports at the last horizon, to the run the study reads):
/// for a benchmark against separate runs (examples/shared_draws.rs).
pub fn variant_scenarios(loaded: &Loaded, base: &Scenario, steps: Steps) -> Result<Vec<Scenario>> {
    let inputs = inputs(loaded, base);
    let (_, todo) = plan(loaded, base, &inputs, steps, &|_| {});
    let last = *base.horizons.last().unwrap_or(&1);
    todo.iter()
        .map(|&(k, _, x)| {
            let mut sc = variant(loaded, base, &inputs[k], x).map_err(Error::Usage)?;
            sc.horizons = vec![last];
            Ok(sc)
        })
        .collect()
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
///   at the last horizon only;
/// - every variant keeps only what the study reads (a plain sum and a
///   count per policy and block), not a summary with its sketches.
///
/// A variant whose figures are not all finite runs again as a whole
/// scenario ([`super::simulate_many`]), which reports why as a run of it
/// would.
pub fn run(
    loaded: &Loaded,
    base: &Scenario,
    base_summary: &Summary,
    steps: Steps,
    threads: Option<usize>,
    say: &dyn Fn(String),
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<Sensitivity>> {
    if base.policies.len() < 2 {
        say("sensitivity: the scenario has one policy, and the study ranks what moves a policy's gain over the baseline; add a policy to compare (nothing was run)".into());
        return Ok(Vec::new());
    }
    let last = *base.horizons.last().unwrap_or(&1);
    let inputs = inputs(loaded, base);
    let (plans, todo) = plan(loaded, base, &inputs, steps, say);
    let variants = passes::Variants {
        loaded,
        base,
        inputs: &inputs,
        todo: &todo,
        threads,
        last,
    };
    let mut figures = variants.figures(progress)?;
    let b = base.baseline;
    for f in &mut figures {
        // The baseline's own gain is not read.
        f[b] = (f64::NAN, f64::NAN);
    }
    let gain = |s: &Summary, p: &str| {
        s.row(p, last, "delta_value", None)
            .map_or(f64::NAN, |r| r.mean)
    };
    let beat = |s: &Summary, p: &str| s.prob(p, last).unwrap_or(f64::NAN);
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
            let notes: Vec<&str> = sides
                .iter()
                .filter_map(|s| s.as_ref().err().map(String::as_str))
                .collect();
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
            });
        }
        crate::results::studies::rank(&mut mine);
        rows.extend(mine);
    }
    Ok(rows)
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
mod tests {
    use super::*;

    fn reset() -> (Loaded, Scenario) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/reset.toml");
        let loaded = crate::scenario::load_raw(&path).unwrap();
        let sc = loaded.scenario().unwrap();
        (loaded, sc)
    }

    /// Every figure of the study equals the one read from a whole run
    /// of its variant (`simulate_many`, itself tested against separate
    /// runs), bit for bit, on 1 and 2 threads: the lever variants run as
    /// extra policies (the baseline's too), the others on shared draws,
    /// all keeping two figures per policy.
    #[test]
    fn figures_equal_whole_runs_of_the_variants() {
        let (loaded, mut base) = reset();
        base.trials = 1024 + 333;
        let steps = Steps::default();
        let last = *base.horizons.last().unwrap();
        let summary = super::super::simulate(&base, Some(2)).unwrap();
        let variants = variant_scenarios(&loaded, &base, steps).unwrap();
        let whole = super::super::simulate_many(&variants, Some(2)).unwrap();
        let inputs = inputs(&loaded, &base);
        let (plans, _) = plan(&loaded, &base, &inputs, steps, &|_| {});
        for threads in [1, 2] {
            let rows = run(
                &loaded,
                &base,
                &summary,
                steps,
                Some(threads),
                &|_| {},
                &|_, _| {},
            )
            .unwrap();
            assert!(!rows.is_empty());
            let mut checked = 0;
            for r in &rows {
                let k = inputs
                    .iter()
                    .filter(|i| moved(i, steps).is_some())
                    .position(|i| i.path == r.path)
                    .unwrap();
                for (side, (gain, beat)) in [(r.gain_low, r.beat_low), (r.gain_high, r.beat_high)]
                    .into_iter()
                    .enumerate()
                {
                    let Ok((_, i)) = &plans[k][side] else {
                        continue;
                    };
                    let s = &whole[*i];
                    let want = s.row(&r.policy, last, "delta_value", None).unwrap().mean;
                    assert_eq!(gain.to_bits(), want.to_bits(), "{} {side}", r.path);
                    let want = s.prob(&r.policy, last).unwrap();
                    assert_eq!(beat.to_bits(), want.to_bits(), "{} {side}", r.path);
                    checked += 1;
                }
            }
            // Lever variants of both policies, the baseline's included.
            assert!(rows.iter().any(|r| r.owner_name == "status_quo"));
            assert!(checked > 250, "{checked}");
        }
    }

    #[test]
    fn inputs_cover_units_levers_and_the_discount_rate() {
        let (loaded, sc) = reset();
        let all = inputs(&loaded, &sc);
        let find = |path: &str| {
            all.iter()
                .find(|i| i.path == path)
                .unwrap_or_else(|| panic!("no input {path}: {all:#?}"))
        };
        assert_eq!(find("scenario.discount_rate").kind, StepKind::Rate);
        let g = find("units.\"Quark\".growth");
        assert_eq!((g.kind, g.base), (StepKind::Rate, 0.10));
        assert_eq!(find("units.\"Quark\".revenue").kind, StepKind::Level);
        let b = find("policies.\"reset\".units.\"Quark\".budget");
        assert_eq!((b.kind, b.base), (StepKind::Level, 6.0));
        assert_eq!(
            find("policies.\"reset\".core.intensity").kind,
            StepKind::Rate
        );
        assert_eq!(find("policies.\"status_quo\".innovation.years").base, 5.0);
        find("policies.\"reset\".units.\"1688\".gate.min_revenue_multiple");
        find("policies.\"reset\".innovation.gate.year");
        // Units sold at their multiple have no fade inputs; units without
        // a response no response inputs; margins that do not drift no
        // target.
        assert!(!all
            .iter()
            .any(|i| i.path == "units.\"Intime\".valuation.terminal_growth"));
        assert!(!all
            .iter()
            .any(|i| i.path == "units.\"Intime\".response.max_uplift"));
        assert!(!all.iter().any(|i| i.path == "units.\"1688\".target_margin"));
        // Every input's path is one --sweep takes.
        for i in &all {
            super::super::patch_text(&i.path, i.base, &loaded.raw)
                .unwrap_or_else(|e| panic!("{}: {e}", i.path));
        }
    }

    #[test]
    fn rates_move_by_points_levels_by_shares() {
        let input = |kind, base| Input {
            owner: Owner::Unit,
            owner_name: "A".into(),
            parameter: "x".into(),
            path: "units.A.x".into(),
            kind,
            base,
        };
        let s = Steps::default();
        assert_eq!(moved(&input(StepKind::Rate, 0.04), s), Some((0.03, 0.05)));
        assert_eq!(
            moved(&input(StepKind::Rate, -0.016), s),
            Some((-0.026, -0.006))
        );
        assert_eq!(moved(&input(StepKind::Rate, 0.0), s), Some((-0.01, 0.01)));
        assert_eq!(moved(&input(StepKind::Level, 6.0), s), Some((5.4, 6.6)));
        assert_eq!(moved(&input(StepKind::Level, 0.0), s), None);
        let wide = Steps {
            rate: 0.02,
            level: 0.25,
        };
        assert_eq!(moved(&input(StepKind::Level, 4.0), wide), Some((3.0, 5.0)));
        assert_eq!(moved(&input(StepKind::Rate, 0.1), wide), Some((0.08, 0.12)));
    }

    #[test]
    fn a_step_the_scenario_refuses_is_explained() {
        let (loaded, sc) = reset();
        let all = inputs(&loaded, &sc);
        let tg = all
            .iter()
            .find(|i| i.path == "units.\"Cainiao\".valuation.terminal_growth")
            .unwrap();
        // 3% + 6 points reaches the 9% discount rate (Cainiao has no
        // jumps to lower its long-run growth).
        let e = variant(&loaded, &sc, tg, 0.09).unwrap_err();
        assert!(e.contains("discount"), "{e}");
        let ok = variant(&loaded, &sc, tg, 0.05).unwrap();
        let cloud = ok.units.iter().find(|u| u.name == "Cainiao").unwrap();
        assert!(
            matches!(cloud.valuation, crate::model::Valuation::Fade(f) if f.terminal_growth == 0.05)
        );
        assert_eq!((ok.trials, ok.seed), (sc.trials, sc.seed));
    }

    #[test]
    fn labels_read_as_words() {
        let (loaded, sc) = reset();
        let all = inputs(&loaded, &sc);
        let row = |path: &str| {
            let i = all.iter().find(|i| i.path == path).unwrap();
            Sensitivity {
                policy: "reset".into(),
                owner: i.owner,
                owner_name: i.owner_name.clone(),
                parameter: i.parameter.clone(),
                path: i.path.clone(),
                kind: i.kind,
                base: i.base,
                low: f64::NAN,
                high: f64::NAN,
                gain_base: 1.0,
                gain_low: f64::NAN,
                gain_high: 3.0,
                beat_base: 0.5,
                beat_low: f64::NAN,
                beat_high: 0.4,
                note: None,
            }
        };
        assert_eq!(row("units.\"Quark\".growth").label(), "Quark growth");
        assert_eq!(
            row("policies.\"reset\".units.\"Quark\".budget").label(),
            "reset Quark budget"
        );
        assert_eq!(
            row("policies.\"reset\".units.\"1688\".gate.year").label(),
            "reset 1688 gate year"
        );
        assert_eq!(
            row("policies.\"reset\".core.intensity").label(),
            "reset core intensity"
        );
        assert_eq!(row("scenario.discount_rate").label(), "discount rate");
        let r = row("units.\"Quark\".growth");
        assert_eq!(r.swing(), 2.0);
        assert!((r.beat_swing() - 0.1).abs() < 1e-12);
        assert_eq!(r.show(0.05), "5.0%");
        assert_eq!(r.show(-0.026), "-2.6%");
        assert_eq!(r.show(0.0325), "3.25%");
    }
}
