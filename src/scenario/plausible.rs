//! Warnings for values that are valid but almost certainly not meant.
//!
//! Rates are fractions a year: `growth = 0.10` is 10%. A `growth = 10`
//! passes every rule of the model (it is above -1) and runs, at +1000% a
//! year, to a unit worth millions of times the group. Such values are not
//! refused (a venture may really triple), but the run says what they mean
//! and how to write the likely intent. Warnings go to stderr and never stop
//! a run.

use std::ops::Range;

use super::raw::{RawFile, RawOverride, RawParam, Sp};
use super::validate::{raw_dist, Source};
use crate::model::Dist;

/// One rate key: where it is, its dotted key, what it is a rate of, and
/// the largest value (or smallest, for margins) taken as plausible.
struct Check {
    value: Option<(Range<usize>, Value)>,
    key: String,
    rule: Rule,
}

/// A key's value: a number, or a distribution it is drawn from.
enum Value {
    Plain(f64),
    Drawn(Dist),
}

#[derive(Clone, Copy)]
enum Rule {
    /// An annual rate: implausible above the bound.
    Above(f64, &'static str),
    /// A margin: implausible below the bound.
    Below(f64, &'static str),
}

/// `x` as a percentage, without trailing zeros.
fn pct(x: f64) -> String {
    let p = x * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{:.0}%", p.round())
    } else {
        format!("{p}%")
    }
}

/// The fraction a percentage typed as a whole number most likely meant.
fn as_fraction(x: f64) -> String {
    let s = format!("{:.6}", x / 100.0);
    let s = s.trim_end_matches('0');
    // At least two decimals: 0.10, not 0.1.
    match s.split_once('.') {
        Some((_, d)) if d.len() < 2 => format!("{s}{}", "0".repeat(2 - d.len())),
        _ => s.to_string(),
    }
}

fn message(name: &str, x: f64, rule: Rule) -> Option<String> {
    let (what, hint) = match rule {
        Rule::Above(bound, what) if x > bound => (what, x.abs() >= 1.0 && x.abs() <= 100.0),
        Rule::Below(bound, what) if x < bound => (what, x.abs() >= 1.0 && x.abs() <= 100.0),
        _ => return None,
    };
    let sign = if x > 0.0 && what.contains("growth") {
        "+"
    } else {
        ""
    };
    let mut m = format!("{name} = {x} means {sign}{} {what}", pct(x));
    if hint {
        m.push_str(&format!("; for {x}% write {}", as_fraction(x)));
    }
    m.push_str(" (rates are fractions: 0.10 is 10%)");
    Some(m)
}

fn push(out: &mut Vec<Check>, value: &Option<Sp<f64>>, key: String, rule: Rule) {
    out.push(Check {
        value: value.as_ref().map(|v| (v.span(), Value::Plain(**v))),
        key,
        rule,
    });
}

/// [`push`] for a key that may be a distribution.
fn push_param(out: &mut Vec<Check>, x: &Option<Sp<RawParam>>, key: String, rule: Rule) {
    let value = x.as_ref().and_then(|x| {
        let v = match x.get_ref() {
            RawParam::Number(n) => Value::Plain(*n),
            RawParam::Dist(d) => Value::Drawn(raw_dist(d)?),
        };
        Some((x.span(), v))
    });
    out.push(Check { value, key, rule });
}

/// The draw a rule is checked at: the end of the support on the rule's
/// side, or (unbounded there) its 0.1% or 99.9% quantile; with what it is.
fn extreme(d: &Dist, rule: Rule) -> (f64, &'static str) {
    let (lo, hi) = d.support();
    match rule {
        Rule::Above(..) if hi.is_finite() => (hi, "largest draw"),
        Rule::Above(..) => (d.quantile(0.999), "99.9th percentile"),
        Rule::Below(..) if lo.is_finite() => (lo, "smallest draw"),
        Rule::Below(..) => (d.quantile(0.001), "0.1st percentile"),
    }
}

fn policy_terms(out: &mut Vec<Check>, key: &str, o: &RawOverride) {
    push(
        out,
        &o.intensity,
        format!("{key}.intensity"),
        Rule::Above(1.0, "of revenue invested a year"),
    );
}

/// The warnings of a parsed (merged) file, located like errors.
pub fn warnings(src: &Source, raw: &RawFile) -> Vec<String> {
    let mut checks: Vec<Check> = Vec::new();
    if let Some(h) = &raw.scenario {
        push(
            &mut checks,
            &h.discount_rate,
            "scenario.discount_rate".into(),
            Rule::Above(0.5, "a year"),
        );
    }
    for (i, u) in raw.units.iter().enumerate() {
        let k = |f: &str| format!("units[{i}].{f}");
        let u = u.get_ref();
        push_param(
            &mut checks,
            &u.growth,
            k("growth"),
            Rule::Above(1.0, "growth a year"),
        );
        push_param(
            &mut checks,
            &u.volatility,
            k("volatility"),
            Rule::Above(1.5, "volatility a year"),
        );
        push_param(
            &mut checks,
            &u.margin,
            k("margin"),
            Rule::Below(-1.0, "of revenue (a loss larger than revenue)"),
        );
        push_param(
            &mut checks,
            &u.target_margin,
            k("target_margin"),
            Rule::Below(-1.0, "of revenue (a loss larger than revenue)"),
        );
        if let Some(r) = &u.response {
            push_param(
                &mut checks,
                &r.get_ref().max_uplift,
                k("response.max_uplift"),
                Rule::Above(1.0, "extra growth a year"),
            );
        }
    }
    for (pname, p) in &raw.policies {
        let k = |f: &str| format!("policies.{pname}.{f}");
        if let Some(c) = &p.core {
            push(
                &mut checks,
                &c.get_ref().intensity,
                k("core.intensity"),
                Rule::Above(1.0, "of revenue invested a year"),
            );
        }
        if let Some(c) = &p.non_core {
            push(
                &mut checks,
                &c.get_ref().intensity,
                k("non_core.intensity"),
                Rule::Above(1.0, "of revenue invested a year"),
            );
        }
        for (uname, o) in p.units.iter().flatten() {
            policy_terms(&mut checks, &k(&format!("units.\"{uname}\"")), o);
        }
    }
    let mut out = Vec::new();
    for c in checks {
        let Some((span, v)) = c.value else { continue };
        let name = c.key.rsplit('.').next().unwrap_or(&c.key);
        let m = match v {
            Value::Plain(x) if x.is_finite() => message(name, x, c.rule),
            Value::Plain(_) => None,
            Value::Drawn(d) => {
                let (x, which) = extreme(&d, c.rule);
                let m = message(name, x, c.rule).filter(|_| x.is_finite());
                m.map(|m| {
                    format!(
                        "drawn from a {} distribution whose {which} is {x}: {m}",
                        d.name()
                    )
                })
            }
        };
        if let Some(m) = m {
            out.push(src.error(span, &c.key, m).to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_typed_as_numbers_are_explained() {
        assert_eq!(
            message("growth", 10.0, Rule::Above(1.0, "growth a year")).unwrap(),
            "growth = 10 means +1000% growth a year; for 10% write 0.10 (rates are fractions: 0.10 is 10%)"
        );
        assert_eq!(
            message("discount_rate", 9.0, Rule::Above(0.5, "a year")).unwrap(),
            "discount_rate = 9 means 900% a year; for 9% write 0.09 (rates are fractions: 0.10 is 10%)"
        );
        assert!(message("growth", 0.25, Rule::Above(1.0, "growth a year")).is_none());
        let m = message("margin", -5.0, Rule::Below(-1.0, "of revenue")).unwrap();
        assert!(m.contains("for -5% write -0.05"), "{m}");
    }
}
