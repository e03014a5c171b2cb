//! The page's panel of inputs: every policy lever and every unit
//! assumption of the scenario, each with its value in the file, the value
//! the model uses when the file leaves it out, the validator's range, and,
//! for an assumption drawn from a distribution, its P5 / P50 / P95.

use serde::Serialize;

use super::keys::{self, Rule, Value};
use crate::model::{Param, Role, Scenario, Valuation};
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
/// policy's levers and per-unit terms, then each unit's assumptions.
pub fn levers(raw: &RawFile, scenario: &Scenario) -> Vec<Lever> {
    let mut out = Vec::new();
    let spy = scenario.steps_per_year;
    let rate_rule = keys::resolve(raw, spy, &strs(&["scenario", "discount_rate"]))
        .map(|k| k.rule)
        .ok();
    if let Some(r) = rate_rule {
        out.push(lever(
            raw,
            "Scenario",
            "discount rate",
            strs(&["scenario", "discount_rate"]),
            r,
            Some(scenario.discount_rate),
        ));
    }
    if raw.valuation.is_some() {
        for k in ["fade_years", "terminal_growth", "sales_to_capital"] {
            if let Some(r) = keys::valuation_rule(k) {
                out.push(lever(
                    raw,
                    "Scenario",
                    &format!("valuation {}", k.replace('_', " ")),
                    strs(&["valuation", k]),
                    r,
                    None,
                ));
            }
        }
    }
    let has = |role: Role| scenario.units.iter().any(|u| u.role == role);
    for ((pname, _), policy) in raw.policies.iter().zip(&scenario.policies) {
        let group = format!("Policy {}", policy.name);
        let mut add = |label: &str, key: &[&str], effective: Option<f64>| {
            let mut path = strs(&["policies", pname]);
            path.extend(strs(key));
            if let Some(r) = keys::policy_rule(key, false) {
                out.push(lever(raw, &group, label, path, r, effective));
            }
        };
        add(
            "reinvest share",
            &["reinvest_share"],
            Some(policy.reinvest_share),
        );
        add(
            "recycle share",
            &["recycle_share"],
            Some(policy.recycle_share),
        );
        let first = |role: Role| policy.terms.iter().find(|t| t.role == role).copied();
        if has(Role::Core) {
            add(
                "core intensity",
                &["core", "intensity"],
                first(Role::Core).map(|t| t.intensity),
            );
        }
        if has(Role::NonCore) {
            let t = first(Role::NonCore);
            add(
                "non-core intensity",
                &["non_core", "intensity"],
                t.map(|t| t.intensity),
            );
            add(
                "non-core exit after (years)",
                &["non_core", "exit_after"],
                None,
            );
            add(
                "non-core exit window (years)",
                &["non_core", "exit_window"],
                None,
            );
            add(
                "non-core exit discount",
                &["non_core", "exit_discount"],
                None,
            );
        }
        if has(Role::Innovation) {
            let t = first(Role::Innovation);
            add(
                "innovation budget (a year)",
                &["innovation", "budget"],
                t.map(|t| t.budget),
            );
            add(
                "innovation years",
                &["innovation", "years"],
                t.map(|t| t.years),
            );
            add(
                "innovation gate year",
                &["innovation", "gate", "year"],
                None,
            );
            add(
                "innovation gate revenue multiple",
                &["innovation", "gate", "min_revenue_multiple"],
                None,
            );
        }
        for (u, t) in scenario.units.iter().zip(&policy.terms) {
            let keys: &[(&str, &[&str])] = match t.role {
                Role::Core => &[("intensity", &["intensity"])],
                Role::NonCore => &[
                    ("intensity", &["intensity"]),
                    ("exit after", &["exit_after"]),
                    ("exit window", &["exit_window"]),
                    ("exit discount", &["exit_discount"]),
                ],
                Role::Innovation => &[
                    ("budget", &["budget"]),
                    ("years", &["years"]),
                    ("gate year", &["gate", "year"]),
                    ("gate revenue multiple", &["gate", "min_revenue_multiple"]),
                ],
            };
            for (label, key) in keys {
                let effective = match *key {
                    ["intensity"] => Some(t.intensity),
                    ["exit_after"] => t.exit.map(|e| e.after),
                    ["exit_window"] => t.exit.map(|e| e.window),
                    ["exit_discount"] => t.exit.map(|e| e.discount),
                    ["budget"] => Some(t.budget),
                    ["years"] => Some(t.years),
                    ["gate", "year"] => t.gate.map(|g| g.year),
                    ["gate", "min_revenue_multiple"] => t.gate.map(|g| g.min_revenue_multiple),
                    _ => None,
                };
                let mut path = strs(&["policies", pname, "units"]);
                path.push(u.name.clone());
                path.extend(strs(key));
                if let Some(r) = keys::policy_rule(key, true) {
                    out.push(lever(
                        raw,
                        &group,
                        &format!("{} {label}", u.name),
                        path,
                        r,
                        effective,
                    ));
                }
            }
        }
    }
    for u in &scenario.units {
        let group = format!("Unit {}", u.name);
        let mut add = |label: &str, key: &[&str], effective: Option<f64>, param: Option<Param>| {
            let mut path = vec!["units".to_string(), u.name.clone()];
            path.extend(strs(key));
            let Some(r) = keys::unit_rule(key, spy) else {
                return;
            };
            let mut l = lever(raw, &group, label, path, r, effective);
            if let Some(d) = param.and_then(|p| u.drawn(p)) {
                l.quantiles = Some([d.quantile(0.05), d.quantile(0.5), d.quantile(0.95)]);
            }
            out.push(l);
        };
        add(
            "revenue",
            &["revenue"],
            Some(u.revenue),
            Some(Param::Revenue),
        );
        add("growth", &["growth"], Some(u.growth), Some(Param::Growth));
        add(
            "volatility",
            &["volatility"],
            Some(u.volatility),
            Some(Param::Volatility),
        );
        add("margin", &["margin"], Some(u.margin), Some(Param::Margin));
        add(
            "target margin",
            &["target_margin"],
            Some(u.target_margin),
            Some(Param::TargetMargin),
        );
        add(
            "margin speed",
            &["margin_speed"],
            Some(u.margin_speed),
            Some(Param::MarginSpeed),
        );
        add(
            "multiple median",
            &["multiple", "median"],
            Some(u.multiple_median),
            None,
        );
        add(
            "multiple dispersion",
            &["multiple", "dispersion"],
            Some(u.multiple_dispersion),
            None,
        );
        for (f, x) in scenario.factors.iter().zip(&u.loadings) {
            add(&format!("loading on {f}"), &["loadings", f], Some(*x), None);
        }
        add(
            "response max uplift",
            &["response", "max_uplift"],
            Some(u.max_uplift),
            Some(Param::MaxUplift),
        );
        add(
            "response half saturation",
            &["response", "half_saturation"],
            Some(u.half_saturation),
            Some(Param::HalfSaturation),
        );
        add(
            "jumps a year",
            &["jumps", "rate"],
            u.jumps.map(|j| j.rate),
            None,
        );
        add(
            "jump mean",
            &["jumps", "mean"],
            u.jumps.map(|j| j.mean),
            None,
        );
        add(
            "jump stdev",
            &["jumps", "stdev"],
            u.jumps.map(|j| j.stdev),
            None,
        );
        add(
            "growth fade from",
            &["growth_fade", "from"],
            u.growth_fade.map(|g| g.from),
            None,
        );
        add(
            "growth fade years",
            &["growth_fade", "years"],
            u.growth_fade.map(|g| g.years),
            None,
        );
        if let Valuation::Fade(f) = u.valuation {
            add(
                "terminal growth",
                &["valuation", "terminal_growth"],
                Some(f.terminal_growth),
                None,
            );
            add(
                "sales to capital",
                &["valuation", "sales_to_capital"],
                Some(f.sales_to_capital),
                None,
            );
            add(
                "fade years",
                &["valuation", "fade_years"],
                Some(f64::from(f.years)),
                None,
            );
        }
    }
    out
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
