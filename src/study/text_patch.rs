//! The way sweeps set a value before the key registry: TOML text over
//! the file, parsed and merged. Kept for tests only, as an independent
//! check that a [`super::path`] slot lands where the file would have held
//! the value (the same scenario, or the same refusal).

use std::path::Path;

use super::path::segments;
use crate::error::{Error, Result};
use crate::format::{toml_key, toml_number, toml_string};
use crate::scenario::{self, names, raw, Loaded};

/// `a.b.c = v` as nested inline tables (`a = { b = { c = v } }`), which
/// toml can span, unlike tables created by dotted keys.
fn nested(rest: &[String], value: &str) -> String {
    match rest {
        [] => value.to_string(),
        [last] => format!("{} = {value}", toml_key(last)),
        [first, more @ ..] => format!("{} = {{ {} }}", toml_key(first), nested(more, value)),
    }
}

/// The TOML text that sets `path` to `value`.
pub fn patch_text(
    path: &str,
    value: f64,
    base: &raw::RawFile,
) -> std::result::Result<String, String> {
    let segs = segments(path)?;
    let v = toml_number(value);
    match segs.first().map(String::as_str) {
        Some("scenario") if segs.len() == 2 => {
            Ok(format!("[scenario]\n{}", nested(&segs[1..], &v)))
        }
        Some("valuation") if segs.len() == 2 => {
            Ok(format!("[valuation]\n{}", nested(&segs[1..], &v)))
        }
        Some("units") if segs.len() >= 3 => {
            let name = &segs[1];
            let known: Vec<&str> = base
                .units
                .iter()
                .filter_map(|u| u.name.as_deref().map(String::as_str))
                .collect();
            // The unit as the file spells it, so the patch merges into it.
            let Some(name) = known.iter().find(|u| names::same(u, name)) else {
                return Err(format!(
                    "names no unit: \"{name}\"{}",
                    names::did_you_mean(name, known.iter().copied())
                ));
            };
            Ok(format!(
                "[[units]]\nname = {}\n{}",
                toml_string(name),
                nested(&segs[2..], &v)
            ))
        }
        Some("policies") if segs.len() >= 3 => {
            let name = &segs[1];
            let Some(name) = base.policies.keys().find(|p| names::same(p, name)) else {
                return Err(format!(
                    "names no policy: \"{name}\"{}",
                    names::did_you_mean(name, base.policies.keys().map(String::as_str))
                ));
            };
            let mut rest = segs[2..].to_vec();
            // An override's unit as the file spells it, likewise.
            if rest.len() >= 3 && rest[0] == "units" {
                let units: Vec<&str> = base
                    .units
                    .iter()
                    .filter_map(|u| u.name.as_deref().map(String::as_str))
                    .collect();
                match units.iter().find(|u| names::same(u, &rest[1])) {
                    Some(u) => rest[1] = u.to_string(),
                    None => {
                        return Err(format!(
                            "names no unit: \"{}\"{}",
                            rest[1],
                            names::did_you_mean(&rest[1], units.iter().copied())
                        ))
                    }
                }
            }
            Ok(format!("[policies.{}]\n{}", toml_key(name), nested(&rest, &v)))
        }
        _ => {
            Err("a sweep path starts with scenario.KEY, valuation.KEY, units.NAME.KEY or policies.NAME.KEY".into())
        }
    }
}

/// The scenario with `path` set to `value` by TOML text over the file.
pub fn apply(loaded: &Loaded, path: &str, value: f64) -> Result<Loaded> {
    let text = patch_text(path, value, &loaded.raw)
        .map_err(|m| Error::Usage(format!("sweep {path}: {m}")))?;
    let mut source = loaded.source.clone();
    let label = format!("<patch {path} = {}>", toml_number(value));
    let patch = scenario::parse_text(&mut source, Path::new(&label), &text)?;
    Ok(Loaded {
        raw: loaded.raw.merge(&patch),
        source,
    })
}

#[test]
fn paths_become_toml() {
    let mut base = raw::RawFile::default();
    base.policies
        .insert("reset".into(), raw::RawPolicy::default());
    let unit: raw::RawUnit = toml::from_str("name = \"Quark\"").unwrap();
    base.units.push(raw::Sp(toml::Spanned::new(0..0, unit)));
    assert_eq!(
        patch_text("policies.reset.innovation.years", 4.0, &base).unwrap(),
        "[policies.reset]\ninnovation = { years = 4 }"
    );
    assert_eq!(
        patch_text("policies.RESET.units.quark.budget", 6.5, &base).unwrap(),
        "[policies.reset]\nunits = { Quark = { budget = 6.5 } }"
    );
}

/// A sweep's point (its path read into a slot, the value spanned at the
/// sweep) is the scenario the same value written as TOML text over the
/// file gives, or the same refusal: keys of each owner, tables and
/// overrides the file lacks, loadings, a refused value.
#[test]
fn a_sweep_point_is_the_scenario_text_gives() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cases: &[(&str, &[(&str, f64)])] = &[
        (
            "scenarios/reset.toml",
            &[
                ("scenario.discount_rate", 0.12),
                ("scenario.steps_per_year", 12.0),
                ("valuation.terminal_growth", 0.02),
                ("units.Quark.growth", 0.3),
                ("units.quark.multiple.median", 5.0),
                ("units.Quark.response.max_uplift", 0.2),
                ("units.Quark.valuation.sales_to_capital", 3.0),
                ("units.Quark.jumps.rate", 0.5),
                ("units.Quark.volatility", -0.1),
                ("units.\"Taobao & Tmall\".margin", 0.3),
                ("policies.reset.innovation.years", 4.0),
                ("policies.reset.innovation.gate.year", 3.0),
                ("policies.reset.core.intensity", 0.3),
                ("policies.reset.reinvest_share", 0.7),
                ("policies.reset.units.Quark.budget", 6.5),
                ("policies.reset.units.Cainiao.intensity", 0.2),
                ("policies.status_quo.innovation.budget", 3.0),
                ("policies.reset.non_core.exit_discount", 2.0),
            ],
        ),
        (
            "scenarios/cloud_spinoff.toml",
            &[
                ("units.\"Cloud Intelligence\".loadings.ai_cycle", 0.3),
                (
                    "units.\"Cloud Intelligence\".loadings.china_consumption",
                    0.9,
                ),
            ],
        ),
    ];
    for (file, paths) in cases {
        let loaded = crate::scenario::load_raw(&root.join(file)).unwrap();
        let base = loaded.scenario().unwrap();
        for &(p, x) in *paths {
            let by_slot = super::path::apply(&loaded, p, x)
                .map_err(|(m, _)| Error::Usage(m))
                .and_then(|l| l.scenario());
            let by_text = apply(&loaded, p, x).and_then(|l| l.scenario());
            match (by_slot, by_text) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{file}: {p} = {x}");
                    assert_ne!(a, base, "{file}: {p} = {x} moved nothing");
                }
                (Err(Error::Input(a)), Err(Error::Input(b))) => {
                    assert_eq!((a.key, a.message), (b.key, b.message), "{file}: {p}");
                }
                (a, b) => panic!("{file}: {p} = {x}: {a:?} against {b:?}"),
            }
        }
    }
}

/// A number of a distribution, which text over the file cannot set (it
/// replaces the whole table): the slot sets it in place.
#[test]
fn a_sweep_sets_a_number_of_a_distribution() {
    use crate::model::{Dist, Param};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let loaded = crate::scenario::load_raw(&root.join("scenarios/reset_uncertain.toml")).unwrap();
    let sc = super::path::apply(&loaded, "units.1688.growth.mode", 0.05)
        .map_err(|(m, _)| m)
        .unwrap()
        .scenario()
        .unwrap();
    let u = sc.units.iter().find(|u| u.name == "1688").unwrap();
    let g = u
        .uncertain
        .iter()
        .find(|x| x.param == Param::Growth)
        .unwrap();
    assert!(
        matches!(g.dist, Dist::Pert { mode, .. } if mode == 0.05),
        "{:?}",
        g.dist
    );
    let e = super::path::apply(&loaded, "units.Cainiao.revenue.mode", 1.0).unwrap_err();
    assert!(e.0.contains("one number here"), "{}", e.0);
}
