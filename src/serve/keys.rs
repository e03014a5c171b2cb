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
use crate::model::keys::{self as registry, Bound, Field, Key as KeyRow, Owner};
use crate::model::Role;
use crate::scenario::names;
use crate::scenario::raw::{RawDist, RawFile, RawParam, RawPolicy, RawUnit, Sp};

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

pub use crate::model::keys::Kind;

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

impl Rule {
    /// The registry row's rule, for a scenario of `spy` steps a year.
    pub fn of(k: &KeyRow, spy: u32) -> Rule {
        Rule {
            kind: k.kind,
            lo: k.rule.lo,
            hi: k.rule.hi(spy),
            whole: k.rule.whole,
            dist: k.dist(),
            text: k.rule.text(spy),
        }
    }
}

/// The rule of a unit key (`key` below the unit: `["growth"]`,
/// `["multiple", "median"]`, `["loadings", FACTOR]`).
pub fn unit_rule(key: &[&str], steps_per_year: u32) -> Option<Rule> {
    match key {
        // A loading is keyed by its factor's name, not a registry row.
        ["loadings", _] => Some(Rule {
            kind: Kind::Level,
            lo: Some((-1.0, false)),
            hi: Some((1.0, false)),
            whole: false,
            dist: false,
            text: "must be in [-1, 1]".into(),
        }),
        ["valuation", k] => valuation_rule(k),
        _ => registry::find(Owner::Unit, &key.join(".")).map(|k| Rule::of(k, steps_per_year)),
    }
}

/// The rule of a `[valuation]` key (the scenario's or a unit's).
pub fn valuation_rule(key: &str) -> Option<Rule> {
    registry::find(Owner::Valuation, key).map(|k| Rule::of(k, 1))
}

/// The registry row of a policy key (`key` below `[policies.NAME]`, or
/// below one of its per-unit overrides when `over` is true).
pub fn policy_key(key: &[&str], over: bool) -> Option<&'static KeyRow> {
    match (over, key) {
        (true, _) => registry::terms().find(|k| k.path == key.join(".")),
        (false, [role, rest @ ..]) => match Role::parse(role) {
            Some(role) => registry::role_terms(role).find(|k| k.path == rest.join(".")),
            None => registry::find(Owner::Policy, &key.join(".")),
        },
        (false, []) => None,
    }
}

/// The rule of a policy key (see [`policy_key`]).
pub fn policy_rule(key: &[&str], over: bool) -> Option<Rule> {
    policy_key(key, over).map(|k| Rule::of(k, 1))
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
        ["scenario", k] => (
            path.to_vec(),
            registry::find(Owner::Scenario, k)
                .map(|k| Rule::of(k, steps_per_year))
                .ok_or_else(unknown)?,
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
    // A key that may be drawn, by its registry row.
    let drawn = registry::find(Owner::Unit, &key.join(".")).and_then(|k| k.param);
    if let Some(p) = drawn {
        return param(u.param(p));
    }
    match key {
        ["multiple", k] => u.multiple.as_ref().and_then(|m| match *k {
            "median" => num(&m.median),
            "dispersion" => num(&m.dispersion),
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
    let value = |x: Option<&Sp<f64>>| x.map(|x| Value::Number(**x));
    match key {
        ["units", u, rest @ ..] => {
            let (_, o) = p.units.as_ref()?.iter().find(|(k, _)| names::same(k, u))?;
            match policy_key(rest, true)?.field {
                Field::Term(f) => value(o.term(f)),
                _ => None,
            }
        }
        [role, ..] => match (Role::parse(role), policy_key(key, false)?.field) {
            (Some(role), Field::Term(f)) => value(p.role_term(role, f)),
            (None, Field::Policy(f)) => value(p.share(f).as_ref()),
            _ => None,
        },
        [] => None,
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
