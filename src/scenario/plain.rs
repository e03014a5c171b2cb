//! serde's messages in words for the person editing the scenario.
//!
//! toml and serde describe a wrong type in Rust's terms ("invalid type:
//! map, expected a sequence", "expected f64"). The person editing a
//! scenario thinks in TOML: a number, text in quotes, a list, a table, an
//! array of tables. [`rewrite`] turns those messages into that language,
//! with an example of the right form for the key, and adds a "did you
//! mean" to an unknown key. Messages it does not recognise (TOML syntax
//! errors, which toml already words well) pass through unchanged.

use super::names;
use crate::model::keys::{self, Owner};
use crate::model::{Param, Role};

/// Keys that hold an array of tables (`[[units]]`).
const TABLE_ARRAYS: [&str; 3] = ["units", "factors", "sweep"];

/// An example value for a key, by its last dotted segment.
fn example(last: &str) -> Option<String> {
    if let Some(t) = table_example(last) {
        return Some(t);
    }
    Some(
        match last {
            "trials" => "100_000",
            "seed" => "20231116",
            "steps_per_year" => "4",
            "horizons" => "[3, 5]",
            "name" => "\"Cloud\"",
            "currency" => "\"CNY bn\"",
            "baseline" => "\"status_quo\"",
            "role" => "\"core\"",
            "loadings" => "{ china_consumption = 0.7 }",
            "core" => "{ intensity = 0.10 }",
            "non_core" => "{ intensity = 0.01, exit_after = 0.5 }",
            "innovation" => "{ budget = 4.0, years = 5 }",
            "gate" => "{ year = 2, min_revenue_multiple = 1.5 }",
            "path" => "\"policies.reset.innovation.years\"",
            "values" => "[3, 4, 5]",
            "extends" => "\"reset.toml\"",
            "description" => "\"what the policy does\"",
            // A number of the key registry, by its last segment.
            _ => {
                keys::KEYS
                    .iter()
                    // (a unit's table key is shown with its table, above)
                    .filter(|k| !(k.owner == Owner::Unit && k.path.contains('.')))
                    .find(|k| k.leaf() == last && !k.example.is_empty())?
                    .example
            }
        }
        .to_string(),
    )
}

/// A unit's table of registry keys (`response`, `multiple`, `jumps`)
/// written with each key's example: `{ median = 2.0, dispersion = 0.25 }`.
fn table_example(table: &str) -> Option<String> {
    let inner: Vec<String> = keys::of(Owner::Unit)
        .filter(|k| !k.example.is_empty())
        .filter_map(|k| {
            let leaf = k.path.strip_prefix(table)?.strip_prefix('.')?;
            Some(format!("{leaf} = {}", k.example))
        })
        .collect();
    (!inner.is_empty()).then(|| format!("{{ {} }}", inner.join(", ")))
}

/// The last segment of a dotted key, without an array index.
fn last(key: &str) -> &str {
    let l = key.rsplit('.').next().unwrap_or(key);
    l.split('[').next().unwrap_or(l)
}

/// What serde expected, in TOML words.
fn expected(what: &str) -> &'static str {
    let what = what.trim();
    if what == "f64" || what == "f32" || what.starts_with(super::raw::NUMBER_OR_DIST) {
        "a number"
    } else if matches!(
        what,
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize"
    ) {
        "a whole number"
    } else if what.contains("string") {
        "text in quotes"
    } else if what.contains("sequence") {
        "a list in brackets"
    } else if what.contains("map") || what.starts_with("struct") {
        "a table in braces"
    } else if what.contains("bool") {
        "true or false"
    } else {
        "another type"
    }
}

/// What was found instead, in TOML words.
fn found(what: &str) -> String {
    let what = what.trim();
    let quoted = |w: &str| {
        w.split_once(['`', '"'])
            .map(|(_, rest)| rest.trim_end_matches(['`', '"']).to_string())
            .unwrap_or_default()
    };
    if what.starts_with("string") {
        format!("the text \"{}\"", quoted(what))
    } else if what.starts_with("integer") {
        format!("the whole number {}", quoted(what))
    } else if what.starts_with("floating point") {
        format!("the number {}", quoted(what))
    } else if what.starts_with("boolean") {
        format!("the value {}", quoted(what))
    } else if what == "map" {
        "a table".into()
    } else if what == "sequence" {
        "a list".into()
    } else {
        what.to_string()
    }
}

/// `message` (from toml/serde, about `key`) in plain words.
pub fn rewrite(message: &str, key: &str) -> String {
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((got, want)) = rest.split_once(", expected ") {
            return wrong_type(key, got, want);
        }
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((field, tail)) = rest.split_once('`') {
            return unknown_field(field, tail);
        }
    }
    message.to_string()
}

fn wrong_type(key: &str, got: &str, want: &str) -> String {
    let name = last(key);
    if TABLE_ARRAYS.contains(&name) && want.contains("sequence") && got.trim() == "map" {
        return format!(
            "invalid type: `{name}` is written as one table ([{name}]), but it is an array of tables: write [[{name}]] (double brackets) above each entry"
        );
    }
    let want_words = if TABLE_ARRAYS.contains(&name) && want.contains("sequence") {
        "an array of tables"
    } else {
        expected(want)
    };
    let mut m = format!(
        "invalid type: `{name}` must be {want_words}, not {}",
        found(got)
    );
    if let Some(ex) = example(name) {
        m.push_str(&format!(", e.g. `{name} = {ex}`"));
    }
    if want_words == "a number" && got.trim().starts_with("string") {
        m.push_str(" (numbers take no quotes)");
    }
    if want.trim().starts_with(super::raw::NUMBER_OR_DIST) {
        m.push_str(&format!(
            ", or a distribution, e.g. `{name} = {{ dist = \"pert\", min = 0.0, mode = 0.04, max = 0.10 }}`"
        ));
    } else if want_words == "a number" && got.trim() == "map" {
        m.push_str(&format!(
            " (`{name}` takes no distribution; the keys that may be one are {})",
            drawn_keys()
        ));
    }
    m
}

/// The keys that may be a distribution instead of a number (model
/// contract, "Uncertain assumptions"), in the registry's words:
/// "revenue, ..., margin_speed, and max_uplift / ... inside response".
pub fn drawn_keys() -> String {
    let paths: Vec<&str> = Param::ALL.iter().map(|p| p.key()).collect();
    let (top, inside): (Vec<&str>, Vec<&str>) = paths.iter().partition(|p| !p.contains('.'));
    let table = inside
        .first()
        .and_then(|p| p.split_once('.'))
        .map_or("", |t| t.0);
    let leaves: Vec<&str> = inside
        .iter()
        .filter_map(|p| p.split_once('.').map(|t| t.1))
        .collect();
    format!(
        "{}, and {} inside {table}",
        top.join(", "),
        leaves.join(" / ")
    )
}

/// Words a spreadsheet or a textbook uses for a key, and the key.
const SYNONYMS: &[(&str, &str)] = &[
    ("most_likely", "mode"),
    ("likely", "mode"),
    ("ml", "mode"),
    ("peak", "mode"),
    ("minimum", "min"),
    ("low", "min"),
    ("lower", "min"),
    ("maximum", "max"),
    ("high", "max"),
    ("upper", "max"),
    ("sd", "stdev"),
    ("std", "stdev"),
    ("sigma", "stdev"),
    ("standard_deviation", "stdev"),
    ("std_dev", "stdev"),
    ("mu", "mean"),
    ("average", "mean"),
    ("avg", "mean"),
    ("probabilities", "weights"),
    ("probs", "weights"),
    ("p", "weights"),
    ("type", "dist"),
    ("kind", "dist"),
    ("distribution", "dist"),
    ("cagr", "growth"),
    ("growth_rate", "growth"),
    ("sales", "revenue"),
    ("vol", "volatility"),
    ("ebita_margin", "margin"),
    ("ev_revenue", "multiple"),
];

/// Where a key that is unknown in one table belongs, in words with an
/// example (None for keys of no table).
fn belongs(field: &str) -> Option<String> {
    const INNOVATION: &str = "it is a policy's innovation term: `innovation = { budget = 4.0, years = 5 }` under [policies.NAME], or for one unit [policies.NAME.units.\"UNIT\"] with `budget = 3.0`";
    const POLICY: &str = "it belongs to a policy's table, [policies.NAME]";
    const SCENARIO: &str = "it belongs to the [scenario] table";
    const VALUATION: &str = "it belongs to [valuation], or to one unit's `valuation = { ... }`";
    const UNIT: &str = "it is a unit's key: write it in the unit's [[units]] table";
    let home = match field {
        "gate" => INNOVATION,
        "description" => POLICY,
        "trials" | "seed" | "steps_per_year" | "horizons" | "baseline" | "currency" => SCENARIO,
        "method" => VALUATION,
        "multiple" | "loadings" | "response" | "jumps" | "growth_fade" | "role" => UNIT,
        // A key of the registry, by where it lives.
        _ => {
            let k = keys::KEYS
                .iter()
                .find(|k| k.path == field || k.path == format!("response.{field}"))?;
            match k.owner {
                Owner::Scenario => SCENARIO,
                Owner::Valuation => VALUATION,
                Owner::Policy => POLICY,
                Owner::Unit if k.path.starts_with("response.") => {
                    return Some(format!(
                        "it goes inside a unit's `response = {}`",
                        table_example("response")?
                    ));
                }
                Owner::Unit => UNIT,
                Owner::Terms(roles) if roles.contains(&Role::Innovation) => INNOVATION,
                Owner::Terms(roles) if roles.contains(&Role::Core) => {
                    "it is a policy's term: `core = { intensity = 0.10 }` under [policies.NAME], or for one unit [policies.NAME.units.\"UNIT\"] with `intensity = 0.05`"
                }
                Owner::Terms(_) => {
                    "it is a policy's non_core term: `non_core = { intensity = 0.01, exit_after = 0.5 }` under [policies.NAME]"
                }
            }
        }
    };
    Some(home.to_string())
}

fn unknown_field(field: &str, tail: &str) -> String {
    // tail: ", expected one of `a`, `b`" or ", expected `a`" or ", there
    // are no fields".
    let known: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    let mut m = format!("unknown field `{field}`");
    let lower = field.to_lowercase();
    let synonym = SYNONYMS
        .iter()
        .find(|(w, k)| *w == lower && known.contains(k))
        .map(|(_, k)| *k);
    if field == "dist" && !known.contains(&"dist") {
        m.push_str(&format!(
            ": this key takes no distribution (the keys that may be one are {})",
            drawn_keys()
        ));
        if known.contains(&"dispersion") {
            m.push_str("; a multiple's uncertainty is its `dispersion`, drawn per trial");
        }
    } else if let Some(s) = synonym.or_else(|| names::suggest(field, known.iter().copied())) {
        m.push_str(&format!("; did you mean `{s}`?"));
    } else if let Some(home) = belongs(field) {
        m.push_str(&format!(": not a key of this table; {home}"));
    }
    if !known.is_empty() {
        m.push_str(&format!(" (keys here: {})", known.join(", ")));
    }
    m
}

/// A value written as a spreadsheet writes it (`2%`, `1,000`, `10x`,
/// `$5`, `100bn`), which TOML cannot read: what to write instead. `value`
/// is the text after the key's `=`.
pub fn spreadsheet_habit(value: &str) -> Option<String> {
    let v = value.trim();
    let v = v.split(['#', '}', ']', '\n']).next().unwrap_or(v).trim();
    let is_num = |t: &str| {
        !t.is_empty() && t.parse::<f64>().is_ok() && !t.contains(['e', 'E', 'i', 'n', 'N'])
    };
    let token: String = v.chars().take_while(|c| !c.is_whitespace()).collect();
    let token = token.trim_end_matches(',');
    if let Some(n) = token.strip_suffix('%') {
        if is_num(n) {
            let x: f64 = n.parse().ok()?;
            return Some(format!(
                "`{token}` is not a number TOML can read: write {} (rates and shares are decimals: 2% is 0.02)",
                crate::format::sig(x / 100.0, 12)
            ));
        }
    }
    // 1,000 or 1,000.5: thousands separators.
    let digits = v
        .split_once(|c: char| c.is_whitespace() || c == '}' || c == ']')
        .map_or(v, |(a, _)| a)
        .trim_end_matches(',');
    let groups: Vec<&str> = digits.split(',').collect();
    if groups.len() > 1
        && (1..=3).contains(&groups[0].trim_start_matches('-').len())
        && groups[0]
            .trim_start_matches('-')
            .chars()
            .all(|c| c.is_ascii_digit())
        && groups[1..groups.len() - 1]
            .iter()
            .all(|g| g.len() == 3 && g.chars().all(|c| c.is_ascii_digit()))
        && {
            let l = groups[groups.len() - 1];
            let int = l.split('.').next().unwrap_or(l);
            int.len() == 3 && int.chars().all(|c| c.is_ascii_digit()) && is_num(l)
        }
    {
        let plain = groups.concat();
        return Some(format!(
            "`{digits}` is not a number TOML can read: write {plain} or {} (no thousands commas; `_` may group digits)",
            group_digits(&plain)
        ));
    }
    for (suffix, what) in [
        ("x", "a multiple is a plain number"),
        ("X", "a multiple is a plain number"),
        ("bn", "money is in the scenario's currency, without a unit"),
        ("m", "money is in the scenario's currency, without a unit"),
        ("k", "money is in the scenario's currency, without a unit"),
    ] {
        if let Some(n) = token.strip_suffix(suffix) {
            if is_num(n) {
                return Some(format!(
                    "`{token}` is not a number TOML can read: write {n} ({what})"
                ));
            }
        }
    }
    for sym in ['$', '€', '¥', '£'] {
        if let Some(n) = token.strip_prefix(sym) {
            if is_num(n) {
                return Some(format!(
                    "`{token}` is not a number TOML can read: write {n} (money is in the scenario's currency, without a symbol)"
                ));
            }
        }
    }
    None
}

/// 1000000 as 1_000_000.
fn group_digits(plain: &str) -> String {
    let (int, frac) = plain
        .split_once('.')
        .map_or((plain, None), |(a, b)| (a, Some(b)));
    let (sign, int) = int.strip_prefix('-').map_or(("", int), |r| ("-", r));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push('_');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_errors_speak_toml() {
        assert_eq!(
            rewrite("invalid type: map, expected a sequence", "units"),
            "invalid type: `units` is written as one table ([units]), but it is an array of tables: write [[units]] (double brackets) above each entry"
        );
        let m = rewrite(
            "invalid type: string \"x\", expected f64",
            "units[0].growth",
        );
        assert_eq!(
            m,
            "invalid type: `growth` must be a number, not the text \"x\", e.g. `growth = 0.04` (numbers take no quotes)"
        );
        let m = rewrite(
            "invalid type: integer `3`, expected struct RawMultiple",
            "units[0].multiple",
        );
        assert!(
            m.contains("must be a table in braces, not the whole number 3"),
            "{m}"
        );
        let m = rewrite(
            "invalid type: string \"three\", expected i64",
            "scenario.trials",
        );
        assert!(m.contains("must be a whole number"), "{m}");
        assert!(!m.contains("i64"), "{m}");
    }

    #[test]
    fn unknown_fields_get_a_suggestion() {
        let m = rewrite(
            "unknown field `growht`, expected one of `name`, `role`, `growth`",
            "units[0].growht",
        );
        assert_eq!(
            m,
            "unknown field `growht`; did you mean `growth`? (keys here: name, role, growth)"
        );
        assert_eq!(rewrite("expected `=`", "x"), "expected `=`");
    }

    #[test]
    fn keys_in_the_wrong_table_say_where_they_belong() {
        let m = rewrite(
            "unknown field `budget`, expected one of `name`, `role`, `growth`",
            "units[0].budget",
        );
        assert!(m.contains("not a key of this table"), "{m}");
        assert!(m.contains("[policies.NAME.units.\"UNIT\"]"), "{m}");
        let m = rewrite(
            "unknown field `most_likely`, expected one of `dist`, `min`, `mode`, `max`",
            "units[0].growth",
        );
        assert!(m.contains("did you mean `mode`?"), "{m}");
        let m = rewrite(
            "unknown field `dist`, expected one of `median`, `dispersion`",
            "units[0].multiple",
        );
        assert!(m.contains("takes no distribution"), "{m}");
        assert!(m.contains("dispersion"), "{m}");
        assert!(!m.contains("must be a number"), "{m}");
        let m = rewrite("invalid type: map, expected f64", "scenario.discount_rate");
        assert!(m.contains("takes no distribution"), "{m}");
    }

    #[test]
    fn spreadsheet_habits_get_what_to_write() {
        let h = |v: &str| spreadsheet_habit(v).unwrap_or_default();
        assert!(h("2%").contains("write 0.02"), "{}", h("2%"));
        assert!(
            h(" 12.5% # growth").contains("write 0.125"),
            "{}",
            h("12.5%")
        );
        assert!(h("1,000").contains("write 1000 or 1_000"), "{}", h("1,000"));
        assert!(h("1,234,567.5").contains("write 1234567.5 or 1_234_567.5"));
        assert!(h("10x, dispersion = 0.2 }").contains("write 10 (a multiple"));
        assert!(h("$5").contains("write 5"));
        assert!(h("100bn").contains("write 100"));
        assert_eq!(spreadsheet_habit("0.02"), None);
        assert_eq!(spreadsheet_habit("\"text\""), None);
        assert_eq!(spreadsheet_habit("1,2"), None);
    }
}
