//! `optimized.toml`: the input scenario plus the optimum as a new policy,
//! runnable with `simulate`.
//!
//! The file extends the input by a relative path (so it stays one edit
//! away from the strategist's own file, and every other key keeps its
//! comments there) and adds the start policy's table under the new name,
//! with the levers' values written in: the policy exactly as the file
//! would state it, every number the search changed commented with its old
//! value. `[scenario]` sets the trials and seed the optimum was scored on,
//! so that `simulate optimized.toml` reproduces the in-sample figures bit
//! for bit. The text is read back through the ordinary loader before
//! anything is written, and the policy it yields must equal the candidate
//! the search scored, term for term ([`check`]).

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use super::config::{self, segments, trim};
use super::Outcome;
use crate::error::{Error, Result};
use crate::model::keys::{self, Owner};
use crate::model::{Policy, Role, Scenario};
use crate::scenario::raw::{RawOverride, RawPolicy};
use crate::scenario::{names, Loaded};

/// A value of a policy's table.
#[derive(Clone, Debug, PartialEq)]
enum Leaf {
    Num(f64),
    Text(String),
}

/// (table path below the policy, key, value), in the order written.
type Leaves = Vec<(Vec<String>, &'static str, Leaf)>;

fn num(
    out: &mut Leaves,
    table: &[String],
    key: &'static str,
    v: Option<&crate::scenario::raw::Sp<f64>>,
) {
    if let Some(v) = v {
        out.push((table.to_vec(), key, Leaf::Num(**v)));
    }
}

/// A registry path below a table: the tables it adds to `table`, and its
/// key ("gate.year" -> (table + ["gate"], "year")).
fn split(table: &[String], path: &'static str) -> (Vec<String>, &'static str) {
    let mut t = table.to_vec();
    let mut parts: Vec<&'static str> = path.split('.').collect();
    let key = parts.pop().unwrap_or(path);
    t.extend(parts.into_iter().map(String::from));
    (t, key)
}

fn override_leaves(out: &mut Leaves, table: &[String], o: &RawOverride) {
    if let Some(r) = &o.role {
        out.push((table.to_vec(), "role", Leaf::Text(r.get_ref().clone())));
    }
    for k in keys::terms() {
        if let keys::Field::Term(f) = k.field {
            let (t, key) = split(table, k.path);
            num(out, &t, key, o.term(f));
        }
    }
}

/// Every value of a raw policy (its description left out), in the
/// registry's order: the policy's own numbers, each role table's terms,
/// then each override's.
fn leaves(p: &RawPolicy) -> Leaves {
    let mut out = Leaves::new();
    for k in keys::of(Owner::Policy) {
        if let keys::Field::Policy(f) = k.field {
            num(&mut out, &[], k.path, p.share(f).as_ref());
        }
    }
    for role in [Role::Core, Role::NonCore, Role::Innovation] {
        for k in keys::role_terms(role) {
            if let keys::Field::Term(f) = k.field {
                let (t, key) = split(&[role.as_str().to_string()], k.path);
                num(&mut out, &t, key, p.role_term(role, f));
            }
        }
    }
    if let Some(units) = &p.units {
        for (name, o) in units {
            override_leaves(&mut out, &["units".into(), name.clone()], o);
        }
    }
    out
}

/// A TOML key, quoted when it is not bare.
fn key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        string(s)
    }
}

/// A TOML basic string.
fn string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// A number as TOML that reads back as the same f64.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:?}")
    }
}

/// The path from folder `from` to file `to` (both absolute).
pub fn relative(from: &Path, to: &Path) -> PathBuf {
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c.as_os_str());
    }
    out
}

fn same_path(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| names::same(x, y))
}

/// The text of `optimized.toml`. `extends` is the input's path relative
/// to the folder the file is written in.
pub fn render(loaded: &Loaded, input: &Path, o: &Outcome, extends: &str) -> Result<String> {
    let p = &o.problem;
    let s = &o.scenario;
    let start = &p.start.name;
    let raw_key = loaded
        .raw
        .policies
        .keys()
        .find(|k| names::same(k, start))
        .cloned()
        .ok_or_else(|| Error::Usage(format!("policy \"{start}\" not found")))?;
    let mut patched = loaded.clone();
    for (l, &x) in p.levers.iter().zip(&o.best.x) {
        patched = config::patched(&patched, &l.path, x)
            .map_err(|m| Error::Usage(format!("optimized.toml: {}: {m}", l.path)))?;
    }
    let old = leaves(&loaded.raw.policies[&raw_key]);
    let new = leaves(&patched.raw.policies[&raw_key]);
    // Each lever's place in the policy's table.
    let lever_at: Vec<(Vec<String>, usize)> = p
        .levers
        .iter()
        .enumerate()
        .filter_map(|(i, l)| segments(&l.path).ok().map(|s| (s[2..].to_vec(), i)))
        .collect();
    let file = input
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let header = &loaded.raw.scenario;
    let file_trials = header.as_ref().and_then(|h| h.trials.as_ref()).map(|t| **t);
    let file_seed = header.as_ref().and_then(|h| h.seed.as_ref()).map(|t| **t);
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Written by `simulate optimize` from {file}: policy \"{}\" is \"{start}\"\n# with the levers the search chose, to maximize {}.\n# Every number the search changed says what it was. Run it with\n#   simulate optimized.toml\n# It extends the scenario by a relative path: keep it where it was written,\n# or edit `extends`.",
        p.name,
        super::objective_words(o)
    );
    let _ = writeln!(t, "extends = {}\n", string(extends));
    let _ = writeln!(t, "[scenario]");
    let said = |file: Option<i64>, used: u64| match file {
        Some(f) if f as u64 == used => "as in the scenario".to_string(),
        Some(f) => format!("the scenario says {f}"),
        None => "the scenario's own".to_string(),
    };
    let _ = writeln!(
        t,
        "trials = {}   # the trials the optimum was scored on ({})",
        s.trials,
        said(file_trials, s.trials)
    );
    let _ = writeln!(
        t,
        "seed = {}   # the draws it was scored on ({})",
        s.seed,
        said(file_seed, s.seed)
    );
    let pk = key(&p.name);
    let mut current: Option<Vec<String>> = None;
    let open = |t: &mut String, table: &[String]| {
        let mut head = format!("policies.{pk}");
        for seg in table {
            head.push('.');
            head.push_str(&key(seg));
        }
        let _ = writeln!(t, "\n[{head}]");
    };
    open(&mut t, &[]);
    let _ = writeln!(
        t,
        "description = {}",
        string(&format!(
            "{start}, optimized by simulate optimize for the {}",
            super::objective_words(o)
        ))
    );
    current = current.or(Some(Vec::new()));
    for (table, k, leaf) in &new {
        if current.as_deref() != Some(table.as_slice()) {
            open(&mut t, table);
            current = Some(table.clone());
        }
        let mut full = table.clone();
        full.push((*k).to_string());
        let lever = lever_at.iter().find(|(path, _)| same_path(path, &full));
        let before = old
            .iter()
            .find(|(tb, kb, _)| kb == k && same_path(tb, table))
            .map(|(_, _, l)| l.clone());
        match leaf {
            Leaf::Text(v) => {
                let _ = writeln!(t, "{k} = {}", string(v));
            }
            Leaf::Num(v) => {
                let comment = match (&before, lever) {
                    (Some(Leaf::Num(b)), _) if b.to_bits() != v.to_bits() => {
                        format!("   # was {}", number(*b))
                    }
                    (Some(_), Some(_)) => "   # optimized: unchanged".to_string(),
                    (None, Some((_, i))) => format!(
                        "   # was {} (from the role's terms; now set for this unit alone)",
                        number(p.levers[*i].start)
                    ),
                    _ => String::new(),
                };
                let _ = writeln!(t, "{k} = {}{comment}", number(*v));
            }
        }
    }
    Ok(t)
}

/// Reads `optimized.toml` back (written at `path`) and checks that it is
/// the scenario the optimum was scored on: the same trials and seed, the
/// input's policies unchanged, and the new policy equal to the candidate,
/// term for term. Returns the scenario.
pub fn check(path: &Path, o: &Outcome) -> Result<Scenario> {
    let loaded = crate::scenario::load_raw(path)?;
    let s = loaded.scenario()?;
    let want = o.policy();
    let fail = |what: &str| {
        Error::Usage(format!(
            "internal error: optimized.toml does not reproduce the optimum ({what}); please report it"
        ))
    };
    if s.trials != o.scenario.trials || s.seed != o.scenario.seed {
        return Err(fail("trials or seed"));
    }
    if s.policies.len() != o.scenario.policies.len() + 1
        || s.policies[..o.scenario.policies.len()] != o.scenario.policies[..]
    {
        return Err(fail("the scenario's policies"));
    }
    let got: &Policy = &s.policies[s.policies.len() - 1];
    if got.name != want.name
        || keys::of(Owner::Policy).any(|k| match k.field {
            keys::Field::Policy(f) => f.get(got).to_bits() != f.get(&want).to_bits(),
            _ => false,
        })
        || got.terms != want.terms
    {
        return Err(fail("the new policy's terms"));
    }
    Ok(s)
}

/// The old and new value of every lever, as the report's table shows them.
pub fn lever_rows(o: &Outcome) -> Vec<(String, f64, f64)> {
    o.problem
        .levers
        .iter()
        .zip(&o.best.x)
        .map(|(l, &x)| (l.path.clone(), l.start, x))
        .collect()
}

/// A lever value as the report prints it.
pub fn show(x: f64) -> String {
    trim(x)
}
