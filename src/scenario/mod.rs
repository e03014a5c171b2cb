//! Reading a scenario file: TOML text -> raw structs -> validated model.
//!
//! Two steps, as in mdBook's config: `raw` mirrors the file (serde,
//! `deny_unknown_fields`, every value spanned), `validate` applies the
//! model contract's rules and resolves defaults and overrides.

pub mod raw;
pub mod validate;

use std::path::Path;

use crate::error::{Error, Result};
use crate::model::Scenario;
pub use validate::Source;

/// Parses and validates scenario text; `path` is used in messages only.
pub fn parse(path: &Path, text: &str) -> Result<Scenario> {
    let src = Source { path, text };
    let raw: raw::RawFile = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let key = key_at(text, span.start);
        src.error(span, &key, clean_message(e.message()))
    })?;
    Ok(validate::validate(&src, &raw)?)
}

/// Reads, parses and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::file(path, format!("cannot read scenario: {e}")))?;
    parse(path, &text)
}

/// serde's messages for unknown keys list the expected ones; keep them but
/// drop trailing whitespace.
fn clean_message(m: &str) -> String {
    m.trim().to_string()
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
