//! One `[[units]]` table: its assumptions (numbers or distributions),
//! multiple, loadings, response and jumps.

use super::*;
use crate::model::keys;

/// Why a unit table without `role` is refused: it names no unit of this
/// file or of the files it extends (a variant changes a unit by naming it
/// as its parent does), so it adds a new unit, which needs a role; and the
/// existing unit it most likely meant: the closest name, or the one whose
/// name starts with it ("Cloud" for "Cloud Intelligence").
fn new_unit_needs_role(name: &str, others: &[&str]) -> String {
    let mut m = format!(
        "missing required key `role`: no unit is named \"{name}\" in this file or the files it extends, so this [[units]] table adds a new unit, and a new unit needs `role` (\"core\", \"non_core\" or \"innovation\")"
    );
    let key = names::key(name);
    let starting: Vec<&str> = others
        .iter()
        .copied()
        .filter(|o| !key.is_empty() && names::key(o).starts_with(&key))
        .collect();
    let meant = names::suggest(name, others.iter().copied())
        .or_else(|| (starting.len() == 1).then(|| starting[0]));
    if let Some(c) = meant {
        m.push_str(&format!(
            "; did you mean \"{c}\"? (to change that unit, write its name exactly)"
        ));
    }
    m
}

pub(super) fn unit(
    v: &V,
    i: usize,
    ru: &Sp<RawUnit>,
    spy: i64,
    factors: &[String],
    earlier: &[Unit],
    others: &[&str],
) -> R<Unit> {
    let k = |field: &str| format!("units[{i}].{field}");
    let us = ru.span();
    let u = ru.get_ref();
    let name = v.text(&u.name, &us, &k("name"))?;
    if let Some(e) = earlier.iter().find(|e| names::same(&e.name, &name)) {
        let span = u.name.as_ref().map_or(us.clone(), |s| s.span());
        return Err(v.err(
            span,
            &k("name"),
            format!(
                "duplicate unit name \"{name}\"{}",
                same_as(&e.name, u.name.as_deref().map_or("", |n| n.as_str()))
            ),
        ));
    }
    let Some(role) = &u.role else {
        return Err(v.err(us, &k("role"), new_unit_needs_role(&name, others)));
    };
    let role = v.role(role, &k("role"))?;
    // Keys that may be distributions: the number (or the distribution's
    // mean) in the unit's field, the distribution in `uncertain`.
    let mut out = Unit::new(name, role);
    let mut uncertain: Vec<Uncertain> = Vec::new();
    let mut keep = |out: &mut Unit, param: Param, c: dist::Checked| {
        if let Some(dist) = c.dist {
            uncertain.push(Uncertain {
                param,
                dist,
                also_target: false,
            });
        }
        if let keys::Field::Unit(f) = keys::of_param(param).field {
            f.set(out, c.value);
        }
    };
    let drawn = |p: Param, table: Option<&Range<usize>>| drawn(v, u.param(p), p, table, &k, spy);
    for p in [
        Param::Revenue,
        Param::Growth,
        Param::Volatility,
        Param::Margin,
    ] {
        let c = drawn(p, Some(&us))?.ok_or_else(|| v.err(us.clone(), &k(p.key()), ""))?;
        keep(&mut out, p, c);
    }
    // The margin drifts toward its target (by default, itself) at
    // margin_speed (by default 0); margin_speed x dt must stay <= 1 or the
    // margin would overshoot its target within one step.
    out.target_margin = out.margin;
    for p in [Param::TargetMargin, Param::MarginSpeed] {
        if let Some(c) = drawn(p, None)? {
            keep(&mut out, p, c);
        }
    }
    // The plain numbers, each by its registry rule.
    let num = |x: &Option<Sp<f64>>, table: &Range<usize>, path: &str| number(v, x, table, path, &k);
    let growth_fade = match &u.growth_fade {
        Some(f) => Some(GrowthFade {
            from: num(&f.from, &f.span(), "growth_fade.from")?,
            years: num(&f.years, &f.span(), "growth_fade.years")?,
        }),
        None => None,
    };
    let m = v.req(&u.multiple, &us, &k("multiple"))?;
    let multiple_median = num(&m.median, &m.span(), "multiple.median")?;
    let multiple_dispersion = num(&m.dispersion, &m.span(), "multiple.dispersion")?;
    let loadings = loadings(v, u, factors, &k)?;
    let idiosyncratic = (1.0 - loadings.iter().map(|x| x * x).sum::<f64>())
        .max(0.0)
        .sqrt();
    // The response to investment: both keys when the table is given,
    // none (no uplift) without it.
    if let Some(r) = &u.response {
        for p in [Param::MaxUplift, Param::HalfSaturation] {
            let c = drawn(p, Some(&r.span()))?.ok_or_else(|| v.err(r.span(), &k(p.key()), ""))?;
            keep(&mut out, p, c);
        }
    }
    // A drawn margin with no target of its own does not drift: its
    // target is the drawn margin.
    if u.target_margin.is_none() {
        for x in uncertain.iter_mut().filter(|x| x.param == Param::Margin) {
            x.also_target = true;
        }
    }
    uncertain.sort_by_key(|x| Param::ALL.iter().position(|p| *p == x.param));
    let jumps = match &u.jumps {
        Some(j) => Some(Jumps {
            rate: num(&j.rate, &j.span(), "jumps.rate")?,
            mean: num(&j.mean, &j.span(), "jumps.mean")?,
            stdev: num(&j.stdev, &j.span(), "jumps.stdev")?,
        }),
        None => None,
    };
    out.multiple_median = multiple_median;
    out.multiple_dispersion = multiple_dispersion;
    out.loadings = loadings;
    out.idiosyncratic = idiosyncratic;
    out.jumps = jumps;
    out.uncertain = uncertain;
    out.growth_fade = growth_fade;
    Ok(out)
}

/// A key that may be a distribution, checked by its registry rule:
/// required (reported missing at `table`) or optional (None when not
/// given).
fn drawn(
    v: &V,
    x: &Option<Sp<RawParam>>,
    p: Param,
    table: Option<&Range<usize>>,
    key: &dyn Fn(&str) -> String,
    spy: i64,
) -> R<Option<dist::Checked>> {
    let row = keys::of_param(p);
    let spy = spy as u32;
    let (key, rule) = (key(row.path), row.rule.text(spy));
    let ok = |x: f64| row.rule.allows(x, spy);
    match table {
        Some(t) => dist::req_param(v, x, t, &key, ok, &rule).map(Some),
        None => dist::opt_param(v, x, &key, ok, &rule),
    }
}

/// The unit's loading on each factor (0 where not given), by factor name
/// as read, each in [-1, 1] and their squares summing to at most 1.
fn loadings(v: &V, u: &RawUnit, factors: &[String], k: &dyn Fn(&str) -> String) -> R<Vec<f64>> {
    let mut loadings = vec![0.0; factors.len()];
    if let Some(l) = &u.loadings {
        let mut sum_sq = 0.0;
        let mut given: Vec<Option<&str>> = vec![None; factors.len()];
        for (fname, x) in l.iter() {
            let key = k(&format!("loadings.{fname}"));
            let Some(fi) = factors.iter().position(|f| names::same(f, fname)) else {
                let known = if factors.is_empty() {
                    "no [[factors]] are defined".to_string()
                } else {
                    format!("factors are: {}", factors.join(", "))
                };
                return Err(v.err(
                    x.span(),
                    &key,
                    format!(
                        "loading on unknown factor \"{fname}\"{} ({known})",
                        names::did_you_mean(fname, factors.iter().map(String::as_str))
                    ),
                ));
            };
            if let Some(other) = given[fi].replace(fname) {
                return Err(v.err(
                    x.span(),
                    &key,
                    format!(
                        "a second loading on factor \"{}\" (also given as \"{other}\"; names are compared ignoring case, surrounding spaces and Unicode form)",
                        factors[fi]
                    ),
                ));
            }
            let x = v.num(x, &key, |x| (-1.0..=1.0).contains(&x), "must be in [-1, 1]")?;
            loadings[fi] = x;
            sum_sq += x * x;
        }
        if sum_sq > 1.0 + LOADING_TOLERANCE {
            return Err(v.err(
                l.span(),
                &k("loadings"),
                format!("the squares of the loadings sum to {sum_sq:.6}, more than 1"),
            ));
        }
    }
    Ok(loadings)
}

/// A required number of the unit at registry `path`, checked by its rule
/// (missing: reported at `table`).
fn number(
    v: &V,
    x: &Option<Sp<f64>>,
    table: &Range<usize>,
    path: &str,
    key: &dyn Fn(&str) -> String,
) -> R<f64> {
    let key = key(path);
    match keys::find(keys::Owner::Unit, path) {
        Some(row) => v.req_num(x, table, &key, |x| row.rule.allows(x, 1), row.rule.text),
        None => Err(v.err(table.clone(), &key, "not a key of a unit")),
    }
}
