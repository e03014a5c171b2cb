//! The keys the page may change: where each lives in a scenario file, its
//! value in the raw (merged, unvalidated) file, and the range the
//! validator allows it (so the page can offer a slider and a step).
//!
//! The page names a key by its path of segments, as the file spells it
//! (`["policies", "reset", "units", "Quark", "budget"]`); only the paths
//! below are accepted, and names must name a unit, policy or factor of
//! the scenario. The validator stays the judge of every value: the ranges
//! here only shape the inputs, a value outside them is still sent and
//! answered with the validator's own message.

use serde_json::{json, Map};

use crate::format::{toml_number, toml_string};
use crate::scenario::names;
use crate::scenario::raw::{RawDist, RawFile, RawParam, RawPolicy, RawUnit};

/// A key's value: a number, or (for the unit keys that may be drawn) a
/// distribution.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Number(f64),
    Dist(Dist),
}

/// A distribution as the file writes it: its name, its numeric keys and
/// (for `discrete`) its lists, each in the file's order of keys.
#[derive(Clone, Debug, PartialEq)]
pub struct Dist {
    pub name: String,
    pub numbers: Vec<(&'static str, f64)>,
    pub lists: Vec<(&'static str, Vec<f64>)>,
}

/// The numeric keys of a distribution, in the order they are written.
pub const DIST_NUMBERS: [&str; 7] = [
    "min",
    "mode",
    "max",
    "mean",
    "stdev",
    "median",
    "dispersion",
];
/// Its list keys.
pub const DIST_LISTS: [&str; 2] = ["values", "weights"];
/// Longest list a distribution may be given from the page.
pub const MAX_DIST_LIST: usize = 64;

impl Value {
    /// The value as TOML text.
    pub fn toml(&self) -> String {
        match self {
            Value::Number(x) => toml_number(*x),
            Value::Dist(d) => {
                let mut parts = vec![format!("dist = {}", toml_string(&d.name))];
                for (k, x) in &d.numbers {
                    parts.push(format!("{k} = {}", toml_number(*x)));
                }
                for (k, xs) in &d.lists {
                    let xs: Vec<String> = xs.iter().map(|x| toml_number(*x)).collect();
                    parts.push(format!("{k} = [{}]", xs.join(", ")));
                }
                format!("{{ {} }}", parts.join(", "))
            }
        }
    }

    /// The value as the page reads it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Number(x) => json!(x),
            Value::Dist(d) => {
                let mut m = Map::new();
                m.insert("dist".into(), json!(d.name));
                for (k, x) in &d.numbers {
                    m.insert((*k).into(), json!(x));
                }
                for (k, xs) in &d.lists {
                    m.insert((*k).into(), json!(xs));
                }
                serde_json::Value::Object(m)
            }
        }
    }

    /// A value sent by the page: a number, text that reads as one, or a
    /// distribution object; anything else is refused with a message for
    /// the input.
    pub fn from_json(v: &serde_json::Value) -> Result<Value, String> {
        match v {
            serde_json::Value::Number(n) => n
                .as_f64()
                .filter(|x| x.is_finite())
                .map(Value::Number)
                .ok_or_else(|| format!("must be a finite number, got {n}")),
            serde_json::Value::String(s) => number_text(s).map(Value::Number),
            serde_json::Value::Object(m) => {
                let name = match m.get("dist") {
                    Some(serde_json::Value::String(s)) => s.trim().to_string(),
                    _ => return Err("a distribution needs `dist` (its name)".into()),
                };
                if name.is_empty()
                    || name.len() > 32
                    || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Err(format!("unknown distribution {name:?}"));
                }
                let mut numbers = Vec::new();
                let mut lists = Vec::new();
                for (k, x) in m {
                    if k == "dist" {
                        continue;
                    }
                    if let Some(key) = DIST_NUMBERS.iter().find(|d| **d == k) {
                        let x = match x {
                            serde_json::Value::String(s) => number_text(s),
                            serde_json::Value::Number(n) => n
                                .as_f64()
                                .filter(|x| x.is_finite())
                                .ok_or_else(|| format!("must be a finite number, got {n}")),
                            other => Err(format!("must be a number, got {other}")),
                        }
                        .map_err(|m| format!("{k}: {m}"))?;
                        numbers.push((*key, x));
                    } else if let Some(key) = DIST_LISTS.iter().find(|d| **d == k) {
                        let serde_json::Value::Array(xs) = x else {
                            return Err(format!("{k}: must be a list of numbers"));
                        };
                        if xs.len() > MAX_DIST_LIST {
                            return Err(format!("{k}: at most {MAX_DIST_LIST} numbers"));
                        }
                        let xs = xs
                            .iter()
                            .map(|x| x.as_f64().filter(|x| x.is_finite()))
                            .collect::<Option<Vec<f64>>>()
                            .ok_or_else(|| format!("{k}: must be a list of finite numbers"))?;
                        lists.push((*key, xs));
                    } else {
                        return Err(format!("a distribution has no key `{k}`"));
                    }
                }
                numbers.sort_by_key(|(k, _)| DIST_NUMBERS.iter().position(|d| d == k));
                lists.sort_by_key(|(k, _)| DIST_LISTS.iter().position(|d| d == k));
                Ok(Value::Dist(Dist {
                    name,
                    numbers,
                    lists,
                }))
            }
            other => Err(format!("must be a number, got {other}")),
        }
    }
}

/// Text typed into an input, read as a number ("0.05", "5%", "1_000").
pub fn number_text(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 0.01),
        None => (t, 1.0),
    };
    let x: f64 = num
        .replace('_', "")
        .parse()
        .map_err(|_| format!("must be a number, got {:?}", truncate(t, 40)))?;
    let x = x * scale;
    if x.is_finite() {
        Ok(x)
    } else {
        Err(format!(
            "must be a finite number, got {:?}",
            truncate(t, 40)
        ))
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn dist_of(d: &RawDist) -> Value {
    let numbers = [
        ("min", d.min),
        ("mode", d.mode),
        ("max", d.max),
        ("mean", d.mean),
        ("stdev", d.stdev),
        ("median", d.median),
        ("dispersion", d.dispersion),
    ]
    .into_iter()
    .filter_map(|(k, x)| x.map(|x| (k, x)))
    .collect();
    let lists = [("values", &d.values), ("weights", &d.weights)]
        .into_iter()
        .filter_map(|(k, x)| x.clone().map(|x| (k, x)))
        .collect();
    Value::Dist(Dist {
        name: d.dist.clone().unwrap_or_default(),
        numbers,
        lists,
    })
}

fn param(p: &Option<crate::scenario::raw::Sp<RawParam>>) -> Option<Value> {
    p.as_ref().map(|p| match p.get_ref() {
        RawParam::Number(x) => Value::Number(*x),
        RawParam::Dist(d) => dist_of(d),
    })
}

fn num(x: &Option<crate::scenario::raw::Sp<f64>>) -> Option<Value> {
    x.as_ref().map(|x| Value::Number(*x.get_ref()))
}

/// What kind of number a key holds: how the page shows and steps it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// A share of something, shown in percent, step 0.5 points.
    Share,
    /// A rate a year, shown in percent, step 0.5 points.
    Rate,
    /// Money or a multiple, step about 1% of the value.
    Level,
    /// Years (or a count), step 0.5 or 1.
    Years,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Share => "share",
            Kind::Rate => "rate",
            Kind::Level => "level",
            Kind::Years => "years",
        }
    }
}

/// The validator's rule for a key, as the page uses it.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub kind: Kind,
    /// Lowest value allowed, and whether it is itself refused.
    pub lo: Bound,
    /// Highest value allowed, and whether it is itself refused.
    pub hi: Bound,
    /// Whole numbers only.
    pub whole: bool,
    /// The key may be a distribution.
    pub dist: bool,
    /// The rule in the validator's words.
    pub text: String,
}

fn rule(kind: Kind, lo: Bound, hi: Bound, text: &str) -> Rule {
    Rule {
        kind,
        lo,
        hi,
        whole: false,
        dist: false,
        text: text.to_string(),
    }
}

/// A bound and whether it is itself refused.
type Bound = Option<(f64, bool)>;
const SHARE: (Bound, Bound) = (Some((0.0, false)), Some((1.0, false)));
const NONNEG: Bound = Some((0.0, false));
const ABOVE_M1: Bound = Some((-1.0, true));
const POSITIVE: Bound = Some((0.0, true));

/// The rule of a unit key (`key` below the unit: `["growth"]`,
/// `["multiple", "median"]`, `["loadings", FACTOR]`).
pub fn unit_rule(key: &[&str], steps_per_year: u32) -> Option<Rule> {
    let r = match key {
        ["revenue"] => Rule {
            dist: true,
            ..rule(Kind::Level, POSITIVE, None, "must be positive")
        },
        ["growth"] => Rule {
            dist: true,
            ..rule(Kind::Rate, ABOVE_M1, None, "must be greater than -1")
        },
        ["volatility"] => Rule {
            dist: true,
            ..rule(Kind::Rate, NONNEG, None, "must be >= 0")
        },
        ["margin"] | ["target_margin"] => Rule {
            dist: true,
            ..rule(
                Kind::Share,
                None,
                Some((1.0, false)),
                "must be <= 1 (a share of revenue)",
            )
        },
        ["margin_speed"] => Rule {
            dist: true,
            ..rule(
                Kind::Level,
                NONNEG,
                Some((f64::from(steps_per_year), false)),
                &format!("must be in [0, steps_per_year = {steps_per_year}] (per year)"),
            )
        },
        ["multiple", "median"] => rule(Kind::Level, POSITIVE, None, "must be positive"),
        ["multiple", "dispersion"] => rule(Kind::Level, NONNEG, None, "must be >= 0"),
        ["response", "max_uplift"] => Rule {
            dist: true,
            ..rule(Kind::Rate, NONNEG, None, "must be >= 0")
        },
        ["response", "half_saturation"] => Rule {
            dist: true,
            ..rule(Kind::Share, NONNEG, None, "must be >= 0")
        },
        ["jumps", "rate"] => rule(
            Kind::Level,
            NONNEG,
            Some((crate::scenario::validate::MAX_JUMP_RATE, false)),
            "must be in [0, 10000] (jumps per year)",
        ),
        ["jumps", "mean"] => rule(Kind::Rate, None, None, "any number"),
        ["jumps", "stdev"] => rule(Kind::Rate, NONNEG, None, "must be >= 0"),
        ["growth_fade", "from"] => rule(Kind::Rate, ABOVE_M1, None, "must be greater than -1"),
        ["growth_fade", "years"] => rule(
            Kind::Years,
            POSITIVE,
            None,
            "must be positive (years until growth has settled)",
        ),
        ["loadings", _] => rule(
            Kind::Level,
            Some((-1.0, false)),
            Some((1.0, false)),
            "must be in [-1, 1]",
        ),
        ["valuation", k] => valuation_rule(k)?,
        _ => return None,
    };
    Some(r)
}

/// The rule of a `[valuation]` key (the scenario's or a unit's).
pub fn valuation_rule(key: &str) -> Option<Rule> {
    Some(match key {
        "fade_years" => Rule {
            whole: true,
            ..rule(
                Kind::Years,
                NONNEG,
                Some((50.0, false)),
                "must be a whole number of years in [0, 50]",
            )
        },
        "terminal_growth" => rule(
            Kind::Rate,
            ABOVE_M1,
            None,
            "must be greater than -1 (and below the discount rate)",
        ),
        "sales_to_capital" => rule(
            Kind::Level,
            POSITIVE,
            None,
            "must be positive (revenue added per unit of capital invested)",
        ),
        _ => return None,
    })
}

/// The rule of a policy key (`key` below `[policies.NAME]`, or below one
/// of its per-unit overrides when `over` is true).
pub fn policy_rule(key: &[&str], over: bool) -> Option<Rule> {
    let share = |t: &str| rule(Kind::Share, SHARE.0, SHARE.1, t);
    let r = match (over, key) {
        (false, ["reinvest_share"] | ["recycle_share"]) => share("must be a share in [0, 1]"),
        (false, ["core", "intensity"] | ["non_core", "intensity"]) | (true, ["intensity"]) => {
            rule(Kind::Share, NONNEG, None, "must be >= 0")
        }
        (false, ["non_core", "exit_after"] | ["non_core", "exit_window"])
        | (true, ["exit_after"] | ["exit_window"]) => {
            rule(Kind::Years, NONNEG, None, "must be >= 0 (years)")
        }
        (false, ["non_core", "exit_discount"]) | (true, ["exit_discount"]) => {
            share("must be a share in [0, 1]")
        }
        (false, ["innovation", "budget"]) | (true, ["budget"]) => {
            rule(Kind::Level, NONNEG, None, "must be >= 0")
        }
        (false, ["innovation", "years"]) | (true, ["years"]) => {
            rule(Kind::Years, NONNEG, None, "must be >= 0")
        }
        (false, ["innovation", "gate", "year"]) | (true, ["gate", "year"]) => {
            rule(Kind::Years, NONNEG, None, "must be >= 0 (years)")
        }
        (false, ["innovation", "gate", "min_revenue_multiple"])
        | (true, ["gate", "min_revenue_multiple"]) => {
            rule(Kind::Level, NONNEG, None, "must be >= 0")
        }
        _ => return None,
    };
    Some(r)
}

/// A path the page may change, its names spelled as the file spells
/// them.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// Every segment, names included.
    pub path: Vec<String>,
    pub rule: Rule,
}

/// Checks a path sent by the page against the scenario as read: its shape
/// must be one of the keys above and its names must name a unit, policy
/// or factor (as a reader matches names); the names come back as the file
/// spells them, so the patch merges into the file's entries.
pub fn resolve(raw: &RawFile, steps_per_year: u32, path: &[String]) -> Result<Key, String> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let units: Vec<&str> = raw
        .units
        .iter()
        .filter_map(|u| u.name.as_deref().map(String::as_str))
        .collect();
    let find_unit = |n: &str| -> Result<String, String> {
        units
            .iter()
            .find(|u| names::same(u, n))
            .map(|u| u.to_string())
            .ok_or_else(|| {
                format!(
                    "names no unit: \"{n}\"{}",
                    names::did_you_mean(n, units.iter().copied())
                )
            })
    };
    let unknown = || format!("cannot be changed here: {}", path.join("."));
    let (path, rule) = match p.as_slice() {
        ["scenario", "discount_rate"] => (
            path.to_vec(),
            rule(Kind::Rate, ABOVE_M1, None, "must be greater than -1"),
        ),
        ["valuation", k] => (path.to_vec(), valuation_rule(k).ok_or_else(unknown)?),
        ["units", u, rest @ ..] => {
            let rule = unit_rule(rest, steps_per_year).ok_or_else(unknown)?;
            if let ["loadings", f] = rest {
                let factors: Vec<&str> = raw
                    .factors
                    .iter()
                    .filter_map(|x| x.name.as_deref().map(String::as_str))
                    .collect();
                let f = factors
                    .iter()
                    .find(|x| names::same(x, f))
                    .ok_or_else(|| format!("names no factor: \"{f}\""))?;
                let p = vec![
                    "units".into(),
                    find_unit(u)?,
                    "loadings".into(),
                    f.to_string(),
                ];
                (p, rule)
            } else {
                let mut p = vec!["units".to_string(), find_unit(u)?];
                p.extend(rest.iter().map(|s| s.to_string()));
                (p, rule)
            }
        }
        ["policies", pn, rest @ ..] => {
            let pol = raw
                .policies
                .keys()
                .find(|k| names::same(k, pn))
                .ok_or_else(|| {
                    format!(
                        "names no policy: \"{pn}\"{}",
                        names::did_you_mean(pn, raw.policies.keys().map(String::as_str))
                    )
                })?
                .clone();
            match rest {
                ["units", u, key @ ..] => {
                    let rule = policy_rule(key, true).ok_or_else(unknown)?;
                    let mut p = vec!["policies".into(), pol, "units".into(), find_unit(u)?];
                    p.extend(key.iter().map(|s| s.to_string()));
                    (p, rule)
                }
                key => {
                    let rule = policy_rule(key, false).ok_or_else(unknown)?;
                    let mut p = vec!["policies".into(), pol];
                    p.extend(key.iter().map(|s| s.to_string()));
                    (p, rule)
                }
            }
        }
        _ => return Err(unknown()),
    };
    Ok(Key { path, rule })
}

fn unit_value(u: &RawUnit, key: &[&str]) -> Option<Value> {
    match key {
        ["revenue"] => param(&u.revenue),
        ["growth"] => param(&u.growth),
        ["volatility"] => param(&u.volatility),
        ["margin"] => param(&u.margin),
        ["target_margin"] => param(&u.target_margin),
        ["margin_speed"] => param(&u.margin_speed),
        ["multiple", k] => u.multiple.as_ref().and_then(|m| match *k {
            "median" => num(&m.median),
            "dispersion" => num(&m.dispersion),
            _ => None,
        }),
        ["response", k] => u.response.as_ref().and_then(|r| match *k {
            "max_uplift" => param(&r.max_uplift),
            "half_saturation" => param(&r.half_saturation),
            _ => None,
        }),
        ["jumps", k] => u.jumps.as_ref().and_then(|j| match *k {
            "rate" => num(&j.rate),
            "mean" => num(&j.mean),
            "stdev" => num(&j.stdev),
            _ => None,
        }),
        ["growth_fade", k] => u.growth_fade.as_ref().and_then(|g| match *k {
            "from" => num(&g.from),
            "years" => num(&g.years),
            _ => None,
        }),
        ["loadings", f] => u.loadings.as_ref().and_then(|l| {
            l.iter()
                .find(|(k, _)| names::same(k, f))
                .map(|(_, x)| Value::Number(*x.get_ref()))
        }),
        ["valuation", k] => u.valuation.as_ref().and_then(|v| valuation_value(v, k)),
        _ => None,
    }
}

fn valuation_value(v: &crate::scenario::raw::RawValuation, k: &str) -> Option<Value> {
    match k {
        "fade_years" => num(&v.fade_years),
        "terminal_growth" => num(&v.terminal_growth),
        "sales_to_capital" => num(&v.sales_to_capital),
        _ => None,
    }
}

fn policy_value(p: &RawPolicy, key: &[&str]) -> Option<Value> {
    match key {
        ["reinvest_share"] => num(&p.reinvest_share),
        ["recycle_share"] => num(&p.recycle_share),
        ["core", "intensity"] => p.core.as_ref().and_then(|c| num(&c.intensity)),
        ["non_core", k] => p.non_core.as_ref().and_then(|c| match *k {
            "intensity" => num(&c.intensity),
            "exit_after" => num(&c.exit_after),
            "exit_window" => num(&c.exit_window),
            "exit_discount" => num(&c.exit_discount),
            _ => None,
        }),
        ["innovation", "gate", k] => p
            .innovation
            .as_ref()
            .and_then(|c| c.gate.as_ref())
            .and_then(|g| gate_value(g, k)),
        ["innovation", k] => p.innovation.as_ref().and_then(|c| match *k {
            "budget" => num(&c.budget),
            "years" => num(&c.years),
            _ => None,
        }),
        ["units", u, rest @ ..] => {
            let (_, o) = p.units.as_ref()?.iter().find(|(k, _)| names::same(k, u))?;
            match rest {
                ["intensity"] => num(&o.intensity),
                ["exit_after"] => num(&o.exit_after),
                ["exit_window"] => num(&o.exit_window),
                ["exit_discount"] => num(&o.exit_discount),
                ["budget"] => num(&o.budget),
                ["years"] => num(&o.years),
                ["gate", k] => o.gate.as_ref().and_then(|g| gate_value(g, k)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn gate_value(g: &crate::scenario::raw::RawGate, k: &str) -> Option<Value> {
    match k {
        "year" => num(&g.year),
        "min_revenue_multiple" => num(&g.min_revenue_multiple),
        _ => None,
    }
}

/// The value a path has in a raw (merged) file; `None` when the file
/// does not set it.
pub fn raw_value(raw: &RawFile, path: &[String]) -> Option<Value> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["scenario", "discount_rate"] => raw.scenario.as_ref().and_then(|s| num(&s.discount_rate)),
        ["valuation", k] => raw.valuation.as_ref().and_then(|v| valuation_value(v, k)),
        ["units", u, rest @ ..] => raw
            .units
            .iter()
            .find(|x| x.name.as_deref().is_some_and(|n| names::same(n, u)))
            .and_then(|x| unit_value(x.get_ref(), rest)),
        ["policies", pn, rest @ ..] => raw
            .policies
            .iter()
            .find(|(k, _)| names::same(k, pn))
            .and_then(|(_, x)| policy_value(x, rest)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn reset() -> RawFile {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        crate::scenario::load_raw(&root.join("scenarios/reset.toml"))
            .unwrap()
            .raw
    }

    fn p(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn paths_resolve_to_the_files_spelling() {
        let raw = reset();
        let k = resolve(
            &raw,
            4,
            &p(&["policies", "RESET", "units", "quark", "budget"]),
        )
        .unwrap();
        assert_eq!(
            k.path,
            p(&["policies", "reset", "units", "Quark", "budget"])
        );
        let k = resolve(&raw, 4, &p(&["units", "cloud intelligence", "growth"])).unwrap();
        assert_eq!(k.path, p(&["units", "Cloud Intelligence", "growth"]));
        assert!(k.rule.dist);
        let k = resolve(&raw, 4, &p(&["units", "Quark", "loadings", "AI_CYCLE"])).unwrap();
        assert_eq!(k.path[3], "ai_cycle");
        let e = resolve(&raw, 4, &p(&["units", "Quakr", "growth"])).unwrap_err();
        assert!(e.contains("did you mean \"Quark\""), "{e}");
        for bad in [
            &["units", "Quark", "name"][..],
            &["units", "Quark", "role"],
            &["scenario", "trials"],
            &["scenario", "seed"],
            &["extends"],
            &["policies", "reset", "description"],
            &["policies", "reset", "units", "Quark", "role"],
            &["units", "Quark", "loadings", "weather"],
            &["..", "etc"],
            &[],
        ] {
            assert!(resolve(&raw, 4, &p(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn raw_values_are_read_where_the_file_sets_them() {
        let raw = reset();
        let v = |s: &[&str]| raw_value(&raw, &p(s));
        assert_eq!(
            v(&["policies", "reset", "units", "Quark", "budget"]),
            Some(Value::Number(6.0))
        );
        assert_eq!(
            v(&["policies", "reset", "innovation", "gate", "year"]),
            Some(Value::Number(2.0))
        );
        assert_eq!(v(&["units", "Quark", "growth"]), Some(Value::Number(0.1)));
        assert_eq!(v(&["units", "Cainiao", "jumps", "rate"]), None);
        assert_eq!(v(&["scenario", "discount_rate"]), Some(Value::Number(0.09)));
        assert_eq!(
            v(&["units", "Quark", "valuation", "terminal_growth"]),
            Some(Value::Number(-0.06))
        );
    }

    #[test]
    fn values_from_the_page() {
        use serde_json::json;
        assert_eq!(Value::from_json(&json!(0.25)), Ok(Value::Number(0.25)));
        assert_eq!(Value::from_json(&json!("5%")), Ok(Value::Number(0.05)));
        assert_eq!(
            Value::from_json(&json!(" 1_000 ")),
            Ok(Value::Number(1000.0))
        );
        assert!(Value::from_json(&json!("abc"))
            .unwrap_err()
            .contains("number"));
        assert!(Value::from_json(&json!("inf")).is_err());
        assert!(Value::from_json(&json!(null)).is_err());
        assert!(Value::from_json(&json!([1])).is_err());
        let d = Value::from_json(&json!({"dist": "pert", "max": 0.3, "min": 0.1, "mode": "0.2"}))
            .unwrap();
        assert_eq!(
            d.toml(),
            "{ dist = \"pert\", min = 0.1, mode = 0.2, max = 0.3 }"
        );
        assert!(Value::from_json(&json!({"dist": "x\"y"})).is_err());
        assert!(Value::from_json(&json!({"dist": "pert", "evil": 1})).is_err());
        assert!(Value::from_json(&json!({"min": 1})).is_err());
    }
}
