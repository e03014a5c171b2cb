//! A unit key that may be a distribution (model contract, "Uncertain
//! assumptions (v2)"): its parameters checked, and its support checked
//! against the key's own rule when the file is read, so that no draw can
//! break the rule at run time (nothing is clipped silently).

use std::ops::Range;

use toml::Spanned;

use super::{RawDist, RawParam, Sp, R, V};
use crate::model::Dist;

/// The distributions, as the file names them.
const NAMES: &str = "triangular, pert, uniform, normal, lognormal, discrete";
/// Least share of a normal's probability its min / max may keep (below
/// it, redrawing until a draw lands inside would take too long).
const MIN_TRUNCATED_MASS: f64 = 1e-3;

/// A key's value: the number, or the distribution's mean with the
/// distribution.
pub(super) struct Checked {
    pub(super) value: f64,
    pub(super) dist: Option<Dist>,
}

/// Checks a required key that may be a distribution: a number must follow
/// `ok` (described by `rule`), and so must every value a distribution can
/// draw.
pub(super) fn req_param(
    v: &V,
    x: &Option<Sp<RawParam>>,
    table: &Range<usize>,
    key: &str,
    ok: impl Fn(f64) -> bool,
    rule: &str,
) -> R<Checked> {
    param(v, v.req(x, table, key)?, key, ok, rule)
}

/// [`req_param`] for an optional key.
pub(super) fn opt_param(
    v: &V,
    x: &Option<Sp<RawParam>>,
    key: &str,
    ok: impl Fn(f64) -> bool,
    rule: &str,
) -> R<Option<Checked>> {
    x.as_ref().map(|x| param(v, x, key, ok, rule)).transpose()
}

fn param(v: &V, x: &Sp<RawParam>, key: &str, ok: impl Fn(f64) -> bool, rule: &str) -> R<Checked> {
    let span = x.span();
    match x.get_ref() {
        RawParam::Number(n) => {
            let n = v.num(&Sp(Spanned::new(span, *n)), key, ok, rule)?;
            Ok(Checked {
                value: n,
                dist: None,
            })
        }
        RawParam::Dist(d) => {
            let err = |m: String| v.err(span.clone(), key, m);
            let dist = parse(d).map_err(err)?;
            let (lo, hi) = dist.support();
            let lo_checked = if dist.lower_open() { lo.next_up() } else { lo };
            if !ok(lo_checked) || !ok(hi) {
                let range = match (lo.is_finite(), hi.is_finite()) {
                    (false, false) => "any value".to_string(),
                    (false, true) => format!("any value up to {hi}"),
                    (true, false) => format!("any value from {lo} up"),
                    _ if lo == hi => format!("{lo}"),
                    _ => format!("values from {lo} to {hi}"),
                };
                return Err(err(format!(
                    "{rule}, but this {} distribution can draw {range}: narrow it (or give min / max to a normal) so that every draw follows the rule",
                    dist.name()
                )));
            }
            Ok(Checked {
                value: dist.mean(),
                dist: Some(dist),
            })
        }
    }
}

/// A distribution whose mean or variance is not a finite 64-bit float
/// (a lognormal's dispersion near 38, a uniform from -1e308 to 1e308) is
/// refused: its draws or the figures built on them would overflow with no
/// key to name.
/// [`dist`] with [`finite_moments`]: the distribution as a run draws it.
pub(super) fn parse(d: &RawDist) -> Result<Dist, String> {
    dist(d).and_then(finite_moments)
}

fn finite_moments(d: Dist) -> Result<Dist, String> {
    for (what, x) in [("mean", d.mean()), ("variance", d.variance())] {
        if !x.is_finite() {
            return Err(format!(
                "this {} distribution's {what} is not a finite number in 64-bit floats (it overflows past 1.8e308); {}",
                d.name(),
                match d {
                    Dist::Discrete { .. } => "use smaller values, or smaller weights (only their ratios matter)",
                    Dist::Lognormal { .. } => "lower its dispersion (a lognormal's mean is median x exp(dispersion^2 / 2))",
                    _ => "narrow it so that its draws and their spread stay within what a 64-bit float holds",
                }
            ));
        }
    }
    Ok(d)
}

/// The distribution a table describes, or why it describes none.
fn dist(d: &RawDist) -> Result<Dist, String> {
    let Some(name) = d.dist.as_deref() else {
        return Err(format!(
            "a distribution needs `dist = \"...\"`, one of {NAMES} (or write a plain number)"
        ));
    };
    shape(d, name)?;
    let all = [
        d.min,
        d.mode,
        d.max,
        d.mean,
        d.stdev,
        d.median,
        d.dispersion,
    ];
    let lists = d.values.iter().chain(&d.weights).flatten();
    if let Some(x) = all.iter().flatten().chain(lists).find(|x| !x.is_finite()) {
        return Err(format!(
            "every number of a distribution must be finite, got {x}"
        ));
    }
    let num = |x: Option<f64>| x.unwrap_or(f64::NAN);
    let ordered = |min: f64, mode: f64, max: f64| -> Result<(), String> {
        if min <= mode && mode <= max {
            Ok(())
        } else {
            Err(format!(
                "a {name} distribution needs min <= mode <= max, got min = {min}, mode = {mode}, max = {max}"
            ))
        }
    };
    Ok(match name {
        "triangular" | "pert" => {
            let (min, mode, max) = (num(d.min), num(d.mode), num(d.max));
            ordered(min, mode, max)?;
            if name == "pert" {
                Dist::Pert { min, mode, max }
            } else {
                Dist::Triangular { min, mode, max }
            }
        }
        "uniform" => {
            let (min, max) = (num(d.min), num(d.max));
            if min > max {
                return Err(format!(
                    "a uniform distribution needs min <= max, got min = {min}, max = {max}"
                ));
            }
            Dist::Uniform { min, max }
        }
        "normal" => normal(d)?,
        "lognormal" => {
            let (median, dispersion) = (num(d.median), num(d.dispersion));
            if median <= 0.0 {
                return Err(format!(
                    "a lognormal's median must be positive, got {median}"
                ));
            }
            if dispersion < 0.0 {
                return Err(format!("dispersion must be >= 0, got {dispersion}"));
            }
            Dist::Lognormal { median, dispersion }
        }
        _ => discrete(d)?,
    })
}

/// Refuses a key the named distribution does not take, or one it needs
/// and is not given.
fn shape(d: &RawDist, name: &str) -> Result<(), String> {
    // The keys each distribution takes: (required, optional).
    let (required, optional): (&[&str], &[&str]) = match name {
        "triangular" | "pert" => (&["min", "mode", "max"], &[]),
        "uniform" => (&["min", "max"], &[]),
        "normal" => (&["mean", "stdev"], &["min", "max"]),
        "lognormal" => (&["median", "dispersion"], &[]),
        "discrete" => (&["values"], &["weights"]),
        other => {
            return Err(format!(
                "unknown distribution \"{other}\": expected one of {NAMES}"
            ))
        }
    };
    let given = [
        ("min", d.min.is_some()),
        ("mode", d.mode.is_some()),
        ("max", d.max.is_some()),
        ("mean", d.mean.is_some()),
        ("stdev", d.stdev.is_some()),
        ("median", d.median.is_some()),
        ("dispersion", d.dispersion.is_some()),
        ("values", d.values.is_some()),
        ("weights", d.weights.is_some()),
    ];
    let keys = required
        .iter()
        .chain(optional)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    for (k, there) in given {
        if there && !required.contains(&k) && !optional.contains(&k) {
            return Err(format!(
                "`{k}` does not belong to a {name} distribution (its keys: {keys})"
            ));
        }
    }
    if let Some((k, _)) = given
        .iter()
        .find(|(k, there)| required.contains(k) && !there)
    {
        return Err(format!(
            "a {name} distribution needs `{k}` (its keys: {keys})"
        ));
    }
    Ok(())
}

/// A normal, its truncation keeping enough of its mass.
fn normal(d: &RawDist) -> Result<Dist, String> {
    let (mean, stdev) = (d.mean.unwrap_or(f64::NAN), d.stdev.unwrap_or(f64::NAN));
    if stdev < 0.0 {
        return Err(format!("stdev must be >= 0, got {stdev}"));
    }
    if let (Some(lo), Some(hi)) = (d.min, d.max) {
        if lo > hi {
            return Err(format!(
                "a normal's truncation needs min <= max, got min = {lo}, max = {hi}"
            ));
        }
    }
    let dist = Dist::Normal {
        mean,
        stdev,
        min: d.min,
        max: d.max,
    };
    let kept = if stdev == 0.0 {
        if d.min.is_some_and(|lo| mean < lo) || d.max.is_some_and(|hi| mean > hi) {
            0.0
        } else {
            1.0
        }
    } else {
        dist.kept_mass()
    };
    if kept < MIN_TRUNCATED_MASS {
        return Err(format!(
            "min / max keep {:.2e} of this normal's probability (at least {MIN_TRUNCATED_MASS} is needed): move them toward the mean",
            kept
        ));
    }
    Ok(dist)
}

/// A discrete distribution: values and positive weights, one each.
fn discrete(d: &RawDist) -> Result<Dist, String> {
    let values = d.values.clone().unwrap_or_default();
    if values.is_empty() {
        return Err("a discrete distribution needs at least one value".into());
    }
    let weights = d.weights.clone().unwrap_or_else(|| vec![1.0; values.len()]);
    if weights.len() != values.len() {
        return Err(format!(
            "a discrete distribution needs one weight per value: {} values, {} weights",
            values.len(),
            weights.len()
        ));
    }
    if let Some(w) = weights.iter().find(|&&w| w <= 0.0) {
        return Err(format!("every weight must be positive, got {w}"));
    }
    let total: f64 = weights.iter().sum();
    if !total.is_finite() {
        let top = weights.iter().fold(0.0, |m: f64, &x| m.max(x));
        let scaled: Vec<String> = weights
            .iter()
            .map(|w| crate::format::sig(w / top, 6))
            .collect();
        return Err(format!(
            "the weights sum past what a 64-bit float holds (1.8e308); only their ratios matter, so scale them down, e.g. weights = [{}]",
            scaled.join(", ")
        ));
    }
    Ok(Dist::Discrete { values, weights })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(d: RawDist) -> Result<Dist, String> {
        dist(&d).and_then(finite_moments)
    }

    fn named(name: &str) -> RawDist {
        RawDist {
            dist: Some(name.into()),
            ..RawDist::default()
        }
    }

    #[test]
    fn distributions_that_overflow_are_refused_and_others_kept() {
        let discrete = |values: Vec<f64>, weights: Vec<f64>| RawDist {
            values: Some(values),
            weights: Some(weights),
            ..named("discrete")
        };
        // Finite weights whose sum is infinite (this panicked inside rand).
        let e = checked(discrete(vec![0.0, 0.1], vec![1e308, 1e308])).unwrap_err();
        assert!(
            e.contains("weights sum past") && e.contains("[1.0, 1.0]"),
            "{e}"
        );
        // Finite values whose weighted mean overflows.
        let e = checked(discrete(vec![1e308, 1e308], vec![1.0, 1.0])).unwrap_err();
        assert!(e.contains("mean is not a finite number"), "{e}");
        // Zero, negative and non-finite weights.
        for w in [0.0, -1.0, f64::INFINITY, f64::NAN] {
            assert!(
                checked(discrete(vec![0.0, 0.1], vec![1.0, w])).is_err(),
                "{w}"
            );
        }
        let lognormal = |dispersion: f64| RawDist {
            median: Some(1.0),
            dispersion: Some(dispersion),
            ..named("lognormal")
        };
        let e = checked(lognormal(38.0)).unwrap_err();
        assert!(
            e.contains("lognormal distribution's mean") && e.contains("dispersion"),
            "{e}"
        );
        // exp(d^2) overflows before exp(d^2 / 2) does.
        let e = checked(lognormal(27.0)).unwrap_err();
        assert!(e.contains("variance"), "{e}");
        assert!(checked(lognormal(3.0)).is_ok());
        let e = checked(RawDist {
            min: Some(-1e308),
            max: Some(1e308),
            ..named("uniform")
        })
        .unwrap_err();
        assert!(e.contains("uniform distribution's variance"), "{e}");
        let e = checked(RawDist {
            mean: Some(0.0),
            stdev: Some(1e200),
            ..named("normal")
        })
        .unwrap_err();
        assert!(e.contains("normal distribution's variance"), "{e}");
        for name in ["triangular", "pert"] {
            let e = checked(RawDist {
                min: Some(-1e308),
                mode: Some(0.0),
                max: Some(1e308),
                ..named(name)
            })
            .unwrap_err();
            assert!(e.contains(&format!("{name} distribution's")), "{e}");
        }
        // Wide but representable: kept.
        assert!(checked(RawDist {
            min: Some(-1e150),
            max: Some(1e150),
            ..named("uniform")
        })
        .is_ok());
        assert!(checked(discrete(vec![0.0, 0.1], vec![1e300, 3e300])).is_ok());
    }
}
