//! A sweep's dotted path (`policies.reset.innovation.years`), read once
//! into the number of the file it names ([`Slot`], by the key registry),
//! and a point of the sweep: the file with that number set, spanned in a
//! text of its own so that the validator's refusal of the value is told
//! at the sweep, not in the file. No TOML text is written or parsed.

use std::ops::Range;
use std::path::Path;

use crate::format::toml_number;
use crate::model::keys::{self, Field, Owner};
use crate::model::Role;
use crate::scenario::raw::{DistKey, RawFile, Slot};
use crate::scenario::{names, Loaded};

/// Splits a dotted path; segments may be quoted ("Taobao & Tmall"), with
/// `\"` for a quote and `\\` for a backslash inside the quotes (any other
/// backslash is itself), and none may be empty or blank.
pub fn segments(path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted && matches!(chars.peek(), Some('"' | '\\')) => {
                cur.extend(chars.next());
            }
            '"' => quoted = !quoted,
            '.' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(format!("unbalanced quote in {path:?}"));
    }
    out.push(cur);
    if out.iter().any(|s| s.trim().is_empty()) {
        return Err(format!("empty segment in {path:?}"));
    }
    Ok(out)
}

/// The number of the file `path` names, its unit and policy names as the
/// file spells them; Err says what is wrong with the path (a name the
/// file does not have, a key that is not one, with the nearest that is).
pub fn slot(path: &str, raw: &RawFile) -> Result<Slot, String> {
    let segs = segments(path)?;
    let rest = |from: usize| segs[from..].join(".");
    match segs[0].as_str() {
        "scenario" if segs.len() == 2 => match segs[1].as_str() {
            "discount_rate" => Ok(Slot::DiscountRate),
            "steps_per_year" => Ok(Slot::StepsPerYear),
            other => Err(unknown(other, ["discount_rate", "steps_per_year"])),
        },
        "valuation" if segs.len() == 2 => match keys::find(Owner::Valuation, &segs[1]) {
            Some(k) => Ok(Slot::Valuation(unit_field(k))),
            None => Err(unknown(&segs[1], keys::of(Owner::Valuation).map(|k| k.path))),
        },
        "units" if segs.len() >= 3 => {
            let name = unit(raw, &segs[1])?;
            unit_slot(name, &segs[2..], &rest(2))
        }
        "policies" if segs.len() >= 3 => {
            let Some(name) = raw.policies.keys().find(|p| names::same(p, &segs[1])) else {
                return Err(format!(
                    "names no policy: \"{}\"{}",
                    segs[1],
                    names::did_you_mean(&segs[1], raw.policies.keys().map(String::as_str))
                ));
            };
            let name = name.clone();
            let head = segs[2].as_str();
            if segs.len() == 3 {
                if let Some(k) = keys::find(Owner::Policy, head) {
                    if let Field::Policy(f) = k.field {
                        return Ok(Slot::Policy(name, f));
                    }
                }
            }
            if let Some(role) = Role::parse(head) {
                let term = rest(3);
                return match keys::role_terms(role).find(|k| k.path == term) {
                    Some(k) => Ok(Slot::Role(name, role, term_field(k))),
                    None => Err(unknown(&term, keys::role_terms(role).map(|k| k.path))),
                };
            }
            if head == "units" && segs.len() >= 5 {
                let unit = unit(raw, &segs[3])?.to_string();
                let term = rest(4);
                return match keys::terms().find(|k| k.path == term) {
                    Some(k) => Ok(Slot::Override(name, unit, term_field(k))),
                    None => Err(unknown(&term, keys::terms().map(|k| k.path))),
                };
            }
            let here = keys::of(Owner::Policy)
                .map(|k| k.path)
                .chain(["core", "non_core", "innovation", "units.UNIT"]);
            Err(unknown(&rest(2), here))
        }
        _ => Err("a sweep path starts with scenario.KEY, valuation.KEY, units.NAME.KEY or policies.NAME.KEY".into()),
    }
}

/// A key below a unit: its own (`growth`, `multiple.median`), its own
/// valuation's (`valuation.terminal_growth`), a loading
/// (`loadings.FACTOR`) or a number of the distribution a key holds
/// (`growth.mode`).
fn unit_slot(name: &str, segs: &[String], key: &str) -> Result<Slot, String> {
    let name = name.to_string();
    if let Some(k) = keys::find(Owner::Unit, key) {
        return Ok(Slot::Unit(name, unit_field(k)));
    }
    if let Some(k) = key
        .strip_prefix("valuation.")
        .and_then(|v| keys::find(Owner::Valuation, v))
    {
        return Ok(Slot::Unit(name, unit_field(k)));
    }
    if let [first, factor] = segs {
        if first == "loadings" {
            return Ok(Slot::Loading(name, factor.clone()));
        }
    }
    if let Some((param, last)) = key.rsplit_once('.') {
        if let Some(k) = keys::find(Owner::Unit, param).filter(|k| k.param.is_some()) {
            return match DistKey::ALL.into_iter().find(|d| d.as_str() == last) {
                Some(d) => Ok(Slot::Dist(name, unit_field(k), d)),
                None => Err(unknown(last, DistKey::ALL.map(DistKey::as_str))),
            };
        }
    }
    let valuation: Vec<String> = keys::of(Owner::Valuation)
        .map(|k| format!("valuation.{}", k.path))
        .collect();
    let here = keys::of(Owner::Unit)
        .map(|k| k.path)
        .chain(valuation.iter().map(String::as_str))
        .chain(["loadings.FACTOR"]);
    Err(unknown(key, here))
}

/// The unit the path names, as the file spells it.
fn unit<'a>(raw: &'a RawFile, name: &str) -> Result<&'a str, String> {
    let known = || {
        raw.units
            .iter()
            .filter_map(|u| u.get_ref().name.as_ref().map(|n| n.get_ref().as_str()))
    };
    known().find(|u| names::same(u, name)).ok_or_else(|| {
        format!(
            "names no unit: \"{name}\"{}",
            names::did_you_mean(name, known())
        )
    })
}

fn unit_field(k: &keys::Key) -> crate::model::UnitField {
    match k.field {
        Field::Unit(f) => f,
        // Unit and valuation rows hold unit fields (the registry's test).
        _ => crate::model::UnitField::Revenue,
    }
}

fn term_field(k: &keys::Key) -> crate::model::TermField {
    match k.field {
        Field::Term(f) => f,
        // Term rows hold term fields (the registry's test).
        _ => crate::model::TermField::Intensity,
    }
}

/// An unknown key, with the nearest known one and the keys a sweep can
/// set there.
fn unknown<'a>(key: &str, here: impl IntoIterator<Item = &'a str>) -> String {
    let here: Vec<&str> = here.into_iter().collect();
    let mut m = format!("unknown key `{key}`");
    if let Some(s) = names::suggest(key, here.iter().copied()) {
        m.push_str(&format!("; did you mean `{s}`?"));
    }
    m.push_str(&format!(
        " (numbers a sweep can set here: {})",
        here.join(", ")
    ));
    m
}

/// The name a sweep point's value is spanned under (never shown: errors
/// located in it are moved to the sweep's own place).
pub fn label(path: &str, value: f64) -> String {
    format!("<sweep {path} = {}>", toml_number(value))
}

/// Why a point could not be built: the message, and whether the value
/// (not the path) is at fault.
pub type Refused = (String, bool);

/// `loaded` with `path` set to `value`, the value spanned in a text of its
/// own named [`label`].
pub fn apply(loaded: &Loaded, path: &str, value: f64) -> Result<Loaded, Refused> {
    let slot = slot(path, &loaded.raw).map_err(|m| (m, false))?;
    let mut source = loaded.source.clone();
    let span: Range<usize> = source.add_label(Path::new(&label(path, value)), &toml_number(value));
    let mut raw = loaded.raw.clone();
    raw.set_spanned(&slot, value, Some(span))
        .map_err(|m| (m, matches!(slot, Slot::StepsPerYear)))?;
    Ok(Loaded { raw, source })
}
