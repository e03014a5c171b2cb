//! Levers: each `[[optimize.levers]]` path checked, and the policy terms
//! it sets learnt once by building the scenario at its two bounds.

use std::ops::Range;

use super::{trim, At, Field, Lever, MAX_LEVERS};
use crate::error::{Error, InputError, Result};
use crate::model::keys;
use crate::model::Scenario;
use crate::scenario::raw::{RawLever, RawOptimize, Sp};
use crate::scenario::{names, Loaded};

/// The last segments of the keys a lever may vary (the registry's).
fn lever_keys() -> Vec<&'static str> {
    keys::KEYS
        .iter()
        .filter(|k| k.lever)
        .map(|k| k.leaf())
        .collect()
}

/// Splits a dotted path (quoted segments may hold dots), as sweeps do.
pub(crate) use crate::study::segments;

/// The scenario with `path` set to `value`, as a sweep sets it.
pub(crate) fn patched(
    loaded: &Loaded,
    path: &str,
    value: f64,
) -> std::result::Result<Loaded, String> {
    crate::study::path::apply(loaded, path, value).map_err(|(m, _)| m)
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

pub(super) fn levers(
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
    let mut checked: Checked = Vec::new();
    for (i, l) in raw.levers.iter().enumerate() {
        let lever = one_lever(loaded, scenario, at, policy, (i, l), &checked)?;
        checked.push(lever);
    }
    apart(loaded, scenario, at, policy, checked)
}

/// The levers checked one by one: each with its span and dotted key.
type Checked = Vec<(Lever, Range<usize>, String)>;

/// The `i`-th lever checked on its own (against the levers before it):
/// its path, bounds, and the terms it sets, all alike at the start.
fn one_lever(
    loaded: &Loaded,
    scenario: &Scenario,
    at: &At,
    policy: usize,
    (i, l): (usize, &Sp<RawLever>),
    checked: &Checked,
) -> Result<(Lever, Range<usize>, String)> {
    let pname = &scenario.policies[policy].name;
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
    let (plo, phi) = probe_bounds(at, &lever, integer, &key)?;
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
    Ok((
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
    ))
}

/// The bounds a lever is probed at: its own, or for a whole-number lever
/// the whole numbers within them (at least two).
fn probe_bounds(
    at: &At,
    lever: &LeverBounds,
    integer: bool,
    key: &dyn Fn(&str) -> String,
) -> Result<(f64, f64)> {
    let (lo, hi) = (lever.2, lever.3);
    Ok(if integer {
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
    })
}

/// The levers together: every lever written at its start value must leave
/// the start policy as it is, and the terms each sets there must not
/// overlap another's.
fn apart(
    loaded: &Loaded,
    scenario: &Scenario,
    at: &At,
    policy: usize,
    checked: Checked,
) -> Result<Vec<Lever>> {
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
