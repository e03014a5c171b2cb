//! The page's edits as a patch over the scenario: the same TOML a variant
//! file holds, merged into the scenario as read exactly as `extends`
//! merges a variant into its parent, then validated by the validator.
//!
//! One text serves both: the page's figures come from the scenario with
//! the patch merged in, and "Save as scenario" writes that same patch
//! under `extends = "<the scenario>"`, so `simulate` on the saved file
//! reads the scenario the page ran (and, with the page's trials and seed,
//! gives its figures bit for bit).

use std::fmt::Write as _;
use std::path::Path;

use indexmap::IndexMap;

use super::keys::{self, Key, Value};
use crate::error::Error;
use crate::format::{toml_key, toml_string};
use crate::model::Scenario;
use crate::scenario::{self, Loaded};

/// The name the patch is parsed under (errors located in it are the
/// page's values, and are shown beside their input, not as a file).
pub const PATCH_LABEL: &str = "<changes from the page>";

/// Most changes one request may carry.
pub const MAX_CHANGES: usize = 2_000;

/// One changed key.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub key: Key,
    pub value: Value,
}

/// A change (or a request) the page must be told is refused: which
/// change (by its index in the request), and why, in the validator's
/// words.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub index: Option<usize>,
    /// The key as the validator names it (empty when none).
    pub key: String,
    pub message: String,
}

impl Refusal {
    pub fn request(message: impl Into<String>) -> Refusal {
        Refusal {
            index: None,
            key: String::new(),
            message: message.into(),
        }
    }
}

/// Reads the `changes` of a request: a list of `{"path": [...], "value":
/// ...}`. A later change of the same key replaces an earlier one.
pub fn parse(
    raw: &scenario::raw::RawFile,
    steps_per_year: u32,
    json: Option<&serde_json::Value>,
) -> Result<Vec<Change>, Refusal> {
    let items = match json {
        None | Some(serde_json::Value::Null) => return Ok(Vec::new()),
        Some(serde_json::Value::Array(a)) => a,
        Some(_) => return Err(Refusal::request("`changes` must be a list")),
    };
    if items.len() > MAX_CHANGES {
        return Err(Refusal::request(format!(
            "at most {MAX_CHANGES} changes at once, got {}",
            items.len()
        )));
    }
    let mut out: Vec<Change> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = |message: String| Refusal {
            index: Some(i),
            key: String::new(),
            message,
        };
        let path: Vec<String> = match item.get("path") {
            Some(serde_json::Value::Array(p)) if p.len() <= 8 => p
                .iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| at("`path` must be a list of names".into()))?,
            _ => return Err(at("`path` must be a list of at most 8 names".into())),
        };
        if path
            .iter()
            .any(|s| s.len() > 256 || s.contains(['\n', '\r', '\0']))
        {
            return Err(at(
                "a name in `path` is too long or holds a line break".into()
            ));
        }
        let key = keys::resolve(raw, steps_per_year, &path).map_err(at)?;
        let value = match item.get("value") {
            Some(v) => Value::from_json(v).map_err(|m| Refusal {
                key: key.path.join("."),
                ..at(m)
            })?,
            None => return Err(at("missing `value`".into())),
        };
        if matches!(value, Value::Dist(_)) && !key.rule.dist {
            return Err(Refusal {
                key: key.path.join("."),
                ..at("must be a number (this key cannot be a distribution)".into())
            });
        }
        out.retain(|c| c.key.path != key.path);
        out.push(Change { key, value });
    }
    Ok(out)
}

/// A patch being built: sections, each a tree of keys.
#[derive(Default)]
struct Tree(IndexMap<String, Node>);

enum Node {
    Leaf(Value, Option<Value>),
    Table(Tree),
}

impl Tree {
    fn insert(&mut self, path: &[String], value: Value, old: Option<Value>) {
        match path {
            [] => {}
            [last] => {
                self.0.insert(last.clone(), Node::Leaf(value, old));
            }
            [first, rest @ ..] => {
                let node = self
                    .0
                    .entry(first.clone())
                    .or_insert_with(|| Node::Table(Tree::default()));
                if let Node::Leaf(..) = node {
                    *node = Node::Table(Tree::default());
                }
                if let Node::Table(t) = node {
                    t.insert(rest, value, old);
                }
            }
        }
    }
}

impl Node {
    fn toml(&self) -> String {
        match self {
            Node::Leaf(v, _) => v.toml(),
            Node::Table(t) => {
                let parts: Vec<String> =
                    t.0.iter()
                        .map(|(k, n)| format!("{} = {}", toml_key(k), n.toml()))
                        .collect();
                format!("{{ {} }}", parts.join(", "))
            }
        }
    }

    /// "was X" for a leaf, "was: a = X, b.c = Y" for a table.
    fn was(&self) -> String {
        fn old(v: &Option<Value>) -> String {
            v.as_ref()
                .map_or_else(|| "not set".to_string(), Value::toml)
        }
        fn walk(prefix: &str, t: &Tree, out: &mut Vec<String>) {
            for (k, n) in &t.0 {
                let name = if prefix.is_empty() {
                    toml_key(k)
                } else {
                    format!("{prefix}.{}", toml_key(k))
                };
                match n {
                    Node::Leaf(_, o) => out.push(format!("{name} = {}", old(o))),
                    Node::Table(t) => walk(&name, t, out),
                }
            }
        }
        match self {
            Node::Leaf(_, o) => format!("was {}", old(o)),
            Node::Table(t) => {
                let mut parts = Vec::new();
                walk("", t, &mut parts);
                format!("was: {}", parts.join(", "))
            }
        }
    }
}

/// Lines of a section: `key = value`, with the old value in a comment
/// when `comments`.
fn lines(out: &mut String, t: &Tree, comments: bool) {
    for (k, n) in &t.0 {
        let _ = write!(out, "{} = {}", toml_key(k), n.toml());
        if comments {
            let _ = write!(out, "   # {}", n.was());
        }
        out.push('\n');
    }
}

/// The patch text: `header` lines first in `[scenario]` (the page's
/// trials and seed when a saved file needs them), then the changes,
/// grouped as a file groups them. `base` is the scenario as read, whose
/// values the comments give as the old ones.
pub fn patch_text(
    changes: &[Change],
    base: &scenario::raw::RawFile,
    header: &[(String, String)],
    comments: bool,
) -> String {
    let mut scen = Tree::default();
    let mut valuation = Tree::default();
    let mut units: IndexMap<String, Tree> = IndexMap::new();
    let mut policies: IndexMap<String, Tree> = IndexMap::new();
    for c in changes {
        let p = &c.key.path;
        let old = keys::raw_value(base, p);
        let v = c.value.clone();
        match p.first().map(String::as_str) {
            Some("scenario") => scen.insert(&p[1..], v, old),
            Some("valuation") => valuation.insert(&p[1..], v, old),
            Some("units") if p.len() > 2 => {
                units
                    .entry(p[1].clone())
                    .or_default()
                    .insert(&p[2..], v, old)
            }
            Some("policies") if p.len() > 2 => {
                policies
                    .entry(p[1].clone())
                    .or_default()
                    .insert(&p[2..], v, old)
            }
            _ => {}
        }
    }
    let mut out = String::new();
    if !header.is_empty() || !scen.0.is_empty() {
        out.push_str("[scenario]\n");
        for (line, comment) in header {
            let _ = write!(out, "{line}");
            if comments && !comment.is_empty() {
                let _ = write!(out, "   # {comment}");
            }
            out.push('\n');
        }
        lines(&mut out, &scen, comments);
        out.push('\n');
    }
    if !valuation.0.is_empty() {
        out.push_str("[valuation]\n");
        lines(&mut out, &valuation, comments);
        out.push('\n');
    }
    for (name, t) in &units {
        let _ = writeln!(out, "[[units]]\nname = {}", toml_string(name));
        lines(&mut out, t, comments);
        out.push('\n');
    }
    for (name, t) in &policies {
        let _ = writeln!(out, "[policies.{}]", toml_key(name));
        lines(&mut out, t, comments);
        out.push('\n');
    }
    out
}

/// The scenario as read with `changes` merged in (as `extends` merges a
/// variant), not yet validated.
pub fn apply(base: &Loaded, changes: &[Change]) -> crate::error::Result<Loaded> {
    if changes.is_empty() {
        return Ok(base.clone());
    }
    let text = patch_text(changes, &base.raw, &[], false);
    let mut source = base.source.clone();
    let patch = scenario::parse_text(&mut source, Path::new(PATCH_LABEL), &text)?;
    Ok(Loaded {
        raw: base.raw.merge(&patch),
        source,
    })
}

/// An error of the changed scenario in one line: the validator's message,
/// and where it is when that is the file rather than a changed value.
fn message(e: &Error) -> (String, String) {
    match e {
        Error::Input(i) if i.file == Path::new(PATCH_LABEL) || i.line == 0 => {
            (i.key.clone(), i.message.clone())
        }
        Error::Input(i) => (i.key.clone(), i.one_line()),
        other => (String::new(), other.to_string()),
    }
}

/// The validated scenario with `changes` merged in; a refusal names the
/// change at fault (the first whose addition makes the scenario invalid)
/// and gives the validator's message.
pub fn build(base: &Loaded, changes: &[Change]) -> Result<(Loaded, Scenario), Refusal> {
    let whole = apply(base, changes).and_then(|l| l.scenario().map(|s| (l, s)));
    let err = match whole {
        Ok(found) => return Ok(found),
        Err(e) => e,
    };
    for k in 1..=changes.len() {
        if let Err(e) = apply(base, &changes[..k]).and_then(|l| l.scenario()) {
            let (key, message) = message(&e);
            return Err(Refusal {
                index: Some(k - 1),
                key,
                message,
            });
        }
    }
    let (key, message) = message(&err);
    Err(Refusal {
        index: None,
        key,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reset() -> Loaded {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        scenario::load_raw(&root.join("scenarios/reset.toml")).unwrap()
    }

    fn changes(base: &Loaded, j: serde_json::Value) -> Vec<Change> {
        parse(&base.raw, 4, Some(&j)).unwrap()
    }

    #[test]
    fn the_patch_groups_keys_as_a_file_does() {
        let base = reset();
        let cs = changes(
            &base,
            json!([
                {"path": ["policies", "reset", "units", "Quark", "budget"], "value": 3},
                {"path": ["units", "Cloud Intelligence", "growth"], "value": 0.0},
                {"path": ["policies", "reset", "innovation", "gate", "year"], "value": "3"},
                {"path": ["policies", "reset", "core", "intensity"], "value": 0.06},
                {"path": ["units", "Cloud Intelligence", "multiple", "median"], "value": 3.5},
                {"path": ["scenario", "discount_rate"], "value": 0.1},
            ]),
        );
        let text = patch_text(&cs, &base.raw, &[], true);
        assert_eq!(
            text,
            "[scenario]\n\
             discount_rate = 0.1   # was 0.09\n\n\
             [[units]]\n\
             name = \"Cloud Intelligence\"\n\
             growth = 0   # was 0.02\n\
             multiple = { median = 3.5 }   # was: median = 3\n\n\
             [policies.reset]\n\
             units = { Quark = { budget = 3 } }   # was: Quark.budget = 6\n\
             innovation = { gate = { year = 3 } }   # was: gate.year = 2\n\
             core = { intensity = 0.06 }   # was: intensity = 0.05\n\n"
        );
        let (_, s) = build(&base, &cs).unwrap();
        let quark = s.units.iter().position(|u| u.name == "Quark").unwrap();
        let cloud = s
            .units
            .iter()
            .position(|u| u.name == "Cloud Intelligence")
            .unwrap();
        assert_eq!(s.policies[1].terms[quark].budget, 3.0);
        assert_eq!(s.units[cloud].growth, 0.0);
        assert_eq!(s.units[cloud].multiple_median, 3.5);
        assert_eq!(s.discount_rate, 0.1);
        // Other keys of the merged tables keep the file's values.
        assert_eq!(s.units[cloud].multiple_dispersion, 0.35);
        assert_eq!(s.policies[1].terms[quark].years, 5.0);
    }

    #[test]
    fn a_later_change_of_a_key_wins() {
        let base = reset();
        let cs = changes(
            &base,
            json!([
                {"path": ["policies", "reset", "reinvest_share"], "value": 0.2},
                {"path": ["policies", "RESET", "reinvest_share"], "value": 0.3},
            ]),
        );
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].value, Value::Number(0.3));
    }

    #[test]
    fn bad_values_get_the_validators_message_at_their_change() {
        let base = reset();
        let cs = changes(
            &base,
            json!([
                {"path": ["policies", "reset", "reinvest_share"], "value": 0.2},
                {"path": ["policies", "reset", "core", "intensity"], "value": -1},
            ]),
        );
        let r = build(&base, &cs).unwrap_err();
        assert_eq!(r.index, Some(1));
        assert_eq!(r.message, "must be >= 0, got -1");
        assert_eq!(r.key, "policies.reset.core.intensity");
        let cs = changes(
            &base,
            json!([{"path": ["units", "Quark", "growth"], "value": -1.5}]),
        );
        let r = build(&base, &cs).unwrap_err();
        assert_eq!(
            (r.index, r.message.as_str()),
            (Some(0), "must be greater than -1, got -1.5")
        );
        // A value that is not a number is refused before the validator.
        let r = parse(
            &base.raw,
            4,
            Some(&json!([{"path": ["units", "Quark", "growth"], "value": "fast"}])),
        )
        .unwrap_err();
        assert_eq!(r.index, Some(0));
        assert!(r.message.contains("must be a number"), "{}", r.message);
        // A distribution where the key takes only numbers.
        let r = parse(
            &base.raw,
            4,
            Some(&json!([{"path": ["policies", "reset", "reinvest_share"],
                           "value": {"dist": "uniform", "min": 0, "max": 1}}])),
        )
        .unwrap_err();
        assert!(
            r.message.contains("cannot be a distribution"),
            "{}",
            r.message
        );
        // A distribution the validator refuses.
        let cs = changes(
            &base,
            json!([{"path": ["units", "Quark", "growth"],
                    "value": {"dist": "pert", "min": 0.3, "mode": 0.1, "max": 0.2}}]),
        );
        let r = build(&base, &cs).unwrap_err();
        assert_eq!(r.index, Some(0));
        assert!(!r.message.is_empty());
    }

    #[test]
    fn requests_are_bounded() {
        let base = reset();
        let many: Vec<serde_json::Value> = (0..=MAX_CHANGES)
            .map(|_| json!({"path": ["scenario", "discount_rate"], "value": 0.1}))
            .collect();
        assert!(parse(&base.raw, 4, Some(&json!(many))).is_err());
        assert!(parse(&base.raw, 4, Some(&json!({"a": 1}))).is_err());
        let long = json!([{"path": ["units", "x".repeat(300), "growth"], "value": 0.1}]);
        assert!(parse(&base.raw, 4, Some(&long)).is_err());
        let nl = json!([{"path": ["units", "Quark\n[x]", "growth"], "value": 0.1}]);
        assert!(parse(&base.raw, 4, Some(&nl)).is_err());
    }
}
