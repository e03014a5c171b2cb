//! The page's panel of inputs: every policy lever and every unit
//! assumption of the scenario, each with its value in the file, the value
//! the model uses when the file leaves it out, the validator's range, and,
//! for an assumption drawn from a distribution, its P5 / P50 / P95.

use serde::Serialize;

use super::keys::{self, Rule, Value};
use crate::model::keys::{self as registry, Field, Owner, Place, TermField, UnitField};
use crate::model::{Policy, Role, Scenario, Unit, Valuation};
use crate::scenario::names;
use crate::scenario::raw::RawFile;

/// One input of the panel.
#[derive(Clone, Debug, Serialize)]
pub struct Lever {
    /// The key's path, as the page sends it back.
    pub path: Vec<String>,
    /// The panel it sits in ("Policy reset", "Unit Quark", "Scenario").
    pub group: String,
    /// The row label within the group ("innovation budget", "Quark
    /// budget", "growth").
    pub label: String,
    /// The value the scenario (with the page's changes) gives it; null
    /// when the file leaves it out.
    pub value: Option<serde_json::Value>,
    /// What the model uses: the policy's term for a unit without an
    /// override, the mean of a distribution; null when nothing applies
    /// (an exit that is not set keeps the unit).
    pub effective: Option<f64>,
    pub kind: &'static str,
    pub lo: Option<f64>,
    pub lo_open: bool,
    pub hi: Option<f64>,
    pub hi_open: bool,
    pub whole: bool,
    /// Whether the key may be a distribution.
    pub dist: bool,
    /// The validator's rule, in its words.
    pub rule: String,
    /// P5, P50, P95 of the value when it is a distribution.
    pub quantiles: Option<[f64; 3]>,
}

fn lever(
    raw: &RawFile,
    group: &str,
    label: &str,
    path: Vec<String>,
    rule: Rule,
    effective: Option<f64>,
) -> Lever {
    let value = keys::raw_value(raw, &path);
    Lever {
        value: value.as_ref().map(Value::to_json),
        path,
        group: group.to_string(),
        label: label.to_string(),
        effective,
        kind: rule.kind.name(),
        lo: rule.lo.map(|x| x.0),
        lo_open: rule.lo.is_some_and(|x| x.1),
        hi: rule.hi.map(|x| x.0),
        hi_open: rule.hi.is_some_and(|x| x.1),
        whole: rule.whole,
        dist: rule.dist,
        rule: rule.text,
        quantiles: None,
    }
}

fn strs(p: &[&str]) -> Vec<String> {
    p.iter().map(|s| s.to_string()).collect()
}

/// Every lever of `scenario` (validated from `raw`, the merged file with
/// the page's changes), in the panel's order: the scenario's keys, each
/// policy's levers and per-unit terms, then each unit's assumptions; every
/// key and its rule from the key registry.
pub fn levers(raw: &RawFile, scenario: &Scenario) -> Vec<Lever> {
    let mut out = Vec::new();
    let spy = scenario.steps_per_year;
    for k in registry::of(Owner::Scenario) {
        let effective = Place::new(k.field).get(scenario);
        let path = strs(&["scenario", k.path]);
        out.push(lever(
            raw,
            "Scenario",
            &k.label(),
            path,
            Rule::of(k, spy),
            effective,
        ));
    }
    if raw.valuation.is_some() {
        for k in registry::of(Owner::Valuation) {
            let label = format!("valuation {}", k.label());
            let path = strs(&["valuation", k.path]);
            out.push(lever(raw, "Scenario", &label, path, Rule::of(k, spy), None));
        }
    }
    for ((pname, _), policy) in raw.policies.iter().zip(&scenario.policies) {
        policy_levers(&mut out, raw, scenario, pname, policy);
    }
    for (ui, u) in scenario.units.iter().enumerate() {
        unit_levers(&mut out, raw, scenario, ui, u);
    }
    out
}

/// A dotted registry path as the page's segments.
fn segs(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split('.').map(str::to_string)
}

/// A policy's own keys, its role tables' terms (for roles some unit has)
/// and each unit's terms under it.
fn policy_levers(
    out: &mut Vec<Lever>,
    raw: &RawFile,
    scenario: &Scenario,
    pname: &str,
    policy: &Policy,
) {
    let group = format!("Policy {}", policy.name);
    let spy = scenario.steps_per_year;
    // The lever of key `k` under `at` (below the policy), its label and
    // the value the scenario gives it.
    let mut push = |k: &registry::Key, at: Vec<String>, label: String, effective: Option<f64>| {
        let mut path = strs(&["policies", pname]);
        path.extend(at);
        path.extend(segs(k.path));
        out.push(lever(
            raw,
            &group,
            &label,
            path,
            Rule::of(k, spy),
            effective,
        ));
    };
    for k in registry::of(Owner::Policy) {
        let effective = match k.field {
            Field::Policy(f) => Some(f.get(policy)),
            _ => None,
        };
        push(k, Vec::new(), k.label(), effective);
    }
    for role in [Role::Core, Role::NonCore, Role::Innovation] {
        if !scenario.units.iter().any(|u| u.role == role) {
            continue;
        }
        for k in registry::role_terms(role) {
            // What the table gives: the term of the first unit of the
            // role that does not override it.
            let effective = match k.field {
                Field::Term(f) => scenario
                    .units
                    .iter()
                    .zip(&policy.terms)
                    .find(|(u, t)| t.role == role && !overrides(raw, pname, &u.name, f))
                    .and_then(|(_, t)| f.get(t)),
                _ => None,
            };
            let label = format!("{} {}", role.as_str().replace('_', "-"), k.label());
            push(k, strs(&[role.as_str()]), label, effective);
        }
    }
    for (u, t) in scenario.units.iter().zip(&policy.terms) {
        for k in registry::role_terms(t.role) {
            let effective = match k.field {
                Field::Term(f) => f.get(t),
                _ => None,
            };
            let label = format!("{} {}", u.name, k.label());
            push(k, strs(&["units", &u.name]), label, effective);
        }
    }
}

/// Whether `policy`'s override of `unit` sets the term `f`.
fn overrides(raw: &RawFile, policy: &str, unit: &str, f: TermField) -> bool {
    let Some(os) = raw.policies.get(policy).and_then(|p| p.units.as_ref()) else {
        return false;
    };
    os.iter()
        .any(|(name, o)| names::same(name, unit) && (o.term(f).is_some() || o.role.is_some()))
}

/// A unit's assumptions (its loadings after its multiple), and its
/// fade's terms when it is valued by the fade.
fn unit_levers(out: &mut Vec<Lever>, raw: &RawFile, scenario: &Scenario, ui: usize, u: &Unit) {
    let group = format!("Unit {}", u.name);
    let spy = scenario.steps_per_year;
    let fade = matches!(u.valuation, Valuation::Fade(_));
    let unit_keys = registry::of(Owner::Unit).map(|k| (k, false));
    let valuation_keys = registry::of(Owner::Valuation).map(|k| (k, true));
    for (k, valued) in unit_keys.chain(valuation_keys.filter(|_| fade)) {
        let effective = Place {
            unit: ui,
            ..Place::new(k.field)
        }
        .get(scenario);
        let mut path = vec!["units".to_string(), u.name.clone()];
        if valued {
            path.push("valuation".into());
        }
        path.extend(segs(k.path));
        let mut l = lever(raw, &group, &k.label(), path, Rule::of(k, spy), effective);
        if let Some(d) = k.param.and_then(|p| u.drawn(p)) {
            l.quantiles = Some([d.quantile(0.05), d.quantile(0.5), d.quantile(0.95)]);
        }
        out.push(l);
        if k.field == Field::Unit(UnitField::MultipleDispersion) {
            for (f, x) in scenario.factors.iter().zip(&u.loadings) {
                let path = vec!["units".into(), u.name.clone(), "loadings".into(), f.clone()];
                if let Some(r) = keys::unit_rule(&["loadings", f], spy) {
                    let label = format!("loading on {f}");
                    out.push(lever(raw, &group, &label, path, r, Some(*x)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_lever_of_reset_resolves_and_reads_back() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for name in [
            "reset.toml",
            "reset_uncertain.toml",
            "innovation_cycles.toml",
        ] {
            let loaded = crate::scenario::load_raw(&root.join("scenarios").join(name)).unwrap();
            let s = loaded.scenario().unwrap();
            let ls = levers(&loaded.raw, &s);
            assert!(ls.len() > 20, "{name}: {}", ls.len());
            for l in &ls {
                let k = keys::resolve(&loaded.raw, s.steps_per_year, &l.path)
                    .unwrap_or_else(|e| panic!("{name}: {:?}: {e}", l.path));
                assert_eq!(k.path, l.path, "{name}");
                // A key the file sets is what the model uses (numbers).
                if let (Some(serde_json::Value::Number(v)), Some(e)) = (&l.value, l.effective) {
                    if !l.path.contains(&"loadings".to_string()) {
                        assert_eq!(v.as_f64(), Some(e), "{name}: {:?}", l.path);
                    }
                }
            }
        }
        let loaded =
            crate::scenario::load_raw(&root.join("scenarios/reset_uncertain.toml")).unwrap();
        let s = loaded.scenario().unwrap();
        let all = levers(&loaded.raw, &s);
        let drawn: Vec<&Lever> = all.iter().filter(|l| l.quantiles.is_some()).collect();
        assert!(!drawn.is_empty());
        for l in drawn {
            let [p5, p50, p95] = l.quantiles.unwrap();
            assert!(p5 <= p50 && p50 <= p95, "{:?}", l.path);
            assert!(matches!(l.value, Some(serde_json::Value::Object(_))));
        }
    }

    #[test]
    fn quark_budget_is_a_lever_with_its_override() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let loaded = crate::scenario::load_raw(&root.join("scenarios/reset.toml")).unwrap();
        let s = loaded.scenario().unwrap();
        let ls = levers(&loaded.raw, &s);
        let q = ls
            .iter()
            .find(|l| l.path.join("/") == "policies/reset/units/Quark/budget")
            .unwrap();
        assert_eq!(q.value, Some(serde_json::json!(6.0)));
        assert_eq!(q.effective, Some(6.0));
        let x = ls
            .iter()
            .find(|l| l.path.join("/") == "policies/reset/units/Xianyu/budget")
            .unwrap();
        assert_eq!(x.value, None);
        assert_eq!(x.effective, Some(4.0));
        let g = ls
            .iter()
            .find(|l| l.path.join("/") == "units/Cloud Intelligence/growth")
            .unwrap();
        assert_eq!(g.value, Some(serde_json::json!(0.02)));
        assert_eq!(g.kind, "rate");
    }
}
