//! Reading a scenario: TOML text -> raw structs -> validated model.
//!
//! Two steps, as in mdBook's config: `raw` mirrors the file (serde,
//! `deny_unknown_fields`, every value spanned), `validate` applies the
//! model contract's rules and resolves defaults and overrides. Between the
//! two, a variant file's parents (`extends = "..."`) are read and merged.

pub mod names;
pub mod plain;
pub mod plausible;
pub mod raw;
mod schema;
pub mod validate;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::Scenario;
pub use schema::json_schema;
pub use validate::Source;

/// Longest chain of `extends` followed.
const MAX_EXTENDS_DEPTH: usize = 32;

/// A scenario read and merged, before validation.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub raw: raw::RawFile,
    pub source: Source,
}

impl Loaded {
    /// Validates the merged file.
    pub fn scenario(&self) -> Result<Scenario> {
        Ok(validate::validate(&self.source, &self.raw)?)
    }

    /// Values that are valid but almost certainly not meant (see
    /// [`plausible`]), located like errors; printed, never fatal.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = plausible::warnings(&self.source, &self.raw);
        if let Ok((_, more)) = validate::validate_with_warnings(&self.source, &self.raw) {
            w.extend(more);
        }
        w
    }

    /// Every file the scenario was read from (itself and its parents), for
    /// `--watch`.
    pub fn files(&self) -> Vec<PathBuf> {
        self.source
            .files
            .iter()
            .map(|f| f.path.clone())
            .filter(|p| p.exists())
            .collect()
    }
}

/// Parses and validates scenario text; `path` names it in messages and
/// anchors the relative paths of `extends`.
pub fn parse(path: &Path, text: &str) -> Result<Scenario> {
    parse_raw(path, text)?.scenario()
}

/// Reads, parses and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario> {
    load_raw(path)?.scenario()
}

/// Reads a scenario file and its parents, merged, not yet validated.
pub fn load_raw(path: &Path) -> Result<Loaded> {
    let text = crate::input::read_text(path, "scenario", crate::input::MAX_SCENARIO_BYTES)?;
    parse_raw(path, &text)
}

/// Parses scenario text and its parents, merged, not yet validated.
pub fn parse_raw(path: &Path, text: &str) -> Result<Loaded> {
    let mut source = Source::default();
    let mut stack = vec![std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())];
    let raw = read_chain(path, text, &mut source, &mut stack)?;
    Ok(Loaded { raw, source })
}

/// Parses one text into raw structs, errors located in `source`.
pub fn parse_text(source: &mut Source, path: &Path, text: &str) -> Result<raw::RawFile> {
    let padded = source.add(path, text);
    let offset = source.files.last().map_or(0, |f| f.offset);
    toml::from_str(&padded).map_err(|e| {
        let span = e.span().unwrap_or(offset..offset);
        let key = key_at(text, span.start.saturating_sub(offset));
        let at = span.start.saturating_sub(offset).min(text.len());
        // A value as a spreadsheet writes it (`2%`, `1,000`): say what to
        // write instead of TOML's syntax error.
        let habit = text
            .get(..at)
            .and_then(|before| {
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                let eq = before[line_start..].rfind('=')? + line_start + 1;
                let end = text[eq..].find('\n').map_or(text.len(), |i| eq + i);
                plain::spreadsheet_habit(&text[eq..end])
            })
            .filter(|_| {
                !e.message().starts_with("invalid type")
                    && !e.message().starts_with("unknown field")
            });
        let message = habit.unwrap_or_else(|| plain::rewrite(e.message().trim(), &key));
        Error::from(source.error(span, &key, message))
    })
}

fn read_chain(
    path: &Path,
    text: &str,
    source: &mut Source,
    stack: &mut Vec<PathBuf>,
) -> Result<raw::RawFile> {
    let file = parse_text(source, path, text)?;
    same_names_in_one_file(source, &file)?;
    let Some(ext) = &file.extends else {
        return Ok(file);
    };
    let at = |message: String| Error::from(source.error(ext.span(), "extends", message));
    if stack.len() > MAX_EXTENDS_DEPTH {
        return Err(at(format!(
            "more than {MAX_EXTENDS_DEPTH} files extend one another"
        )));
    }
    let parent_path = path.parent().unwrap_or(Path::new(".")).join(ext.get_ref());
    let canonical = std::fs::canonicalize(&parent_path).map_err(|e| {
        at(format!(
            "cannot read the scenario it extends, {}: {e}",
            parent_path.display()
        ))
    })?;
    if let Some(i) = stack.iter().position(|p| p == &canonical) {
        let mut cycle: Vec<String> = stack[i..].iter().map(|p| p.display().to_string()).collect();
        cycle.push(canonical.display().to_string());
        return Err(at(format!("extends forms a cycle: {}", cycle.join(" -> "))));
    }
    // One budget for the whole chain: each text is also parsed behind
    // padding as long as the texts before it (see `Source`).
    let read_so_far: usize = source.files.iter().map(|f| f.text.len()).sum();
    let budget = crate::input::MAX_SCENARIO_BYTES.saturating_sub(read_so_far as u64);
    let parent_text = crate::input::read_text(&parent_path, "scenario", budget).map_err(|e| {
        let why = match &e {
            Error::Input(i) => i
                .message
                .trim_start_matches("cannot read scenario: ")
                .to_string(),
            other => other.to_string(),
        };
        at(format!(
            "cannot read the scenario it extends, {}: {why}",
            parent_path.display()
        ))
    })?;
    stack.push(canonical);
    let parent = read_chain(&parent_path, &parent_text, source, stack)?;
    stack.pop();
    Ok(parent.merge(&file))
}

/// Two units, factors or policies of one file whose names are the same to
/// a reader ("Quark" and "quark ") are refused here, before a variant's
/// entries are merged into its parent's by name (where they would merge
/// into one entry without a word).
fn same_names_in_one_file(source: &Source, file: &raw::RawFile) -> Result<()> {
    fn check<'a>(
        source: &Source,
        what: &str,
        key: &dyn Fn(usize) -> String,
        items: impl Iterator<Item = (&'a str, std::ops::Range<usize>)>,
    ) -> Result<()> {
        let mut seen: Vec<(String, &str)> = Vec::new();
        for (i, (name, span)) in items.enumerate() {
            let k = names::key(name);
            if let Some((_, first)) = seen.iter().find(|(s, _)| *s == k) {
                return Err(Error::from(source.error(
                    span,
                    &key(i),
                    format!(
                        "duplicate {what} name \"{name}\" (the same name as \"{first}\": names are compared ignoring case, surrounding spaces and Unicode form)"
                    ),
                )));
            }
            seen.push((k, name));
        }
        Ok(())
    }
    fn named(x: &Option<raw::Sp<String>>) -> Option<(&str, std::ops::Range<usize>)> {
        x.as_ref().map(|n| (n.get_ref().as_str(), n.span()))
    }
    check(
        source,
        "unit",
        &|i| format!("units[{i}].name"),
        file.units.iter().filter_map(|u| named(&u.name)),
    )?;
    check(
        source,
        "factor",
        &|i| format!("factors[{i}].name"),
        file.factors.iter().filter_map(|f| named(&f.name)),
    )?;
    let anchor = |p: &raw::RawPolicy| p.anchor().unwrap_or(0..0);
    check(
        source,
        "policy",
        &|_| "policies".to_string(),
        file.policies.iter().map(|(n, p)| (n.as_str(), anchor(p))),
    )
}

/// Best-effort dotted key for a parse error: the table header in force at
/// `offset` plus the key on the error's line, if any.
fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let mut table = String::new();
    let mut line_key = String::new();
    let mut arrays: std::collections::HashMap<String, usize> = Default::default();
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let end = pos + line.len();
        let t = line.trim();
        if t.starts_with('[') {
            let name = t
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            table = if t.starts_with("[[") {
                // An array of tables: name the element, e.g. units[2].
                let n = arrays.entry(name.clone()).or_insert(0);
                *n += 1;
                format!("{name}[{}]", *n - 1)
            } else {
                name
            };
        }
        if offset >= pos && offset < end.max(pos + 1) {
            if let Some((k, _)) = t.split_once('=') {
                if !t.starts_with('[') && !t.starts_with('#') {
                    line_key = k.trim().to_string();
                }
            }
            break;
        }
        pos = end;
    }
    match (table.is_empty(), line_key.is_empty()) {
        (true, _) => line_key,
        (false, true) => table,
        (false, false) => format!("{table}.{line_key}"),
    }
}
