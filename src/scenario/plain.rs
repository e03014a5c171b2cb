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

/// Keys that hold an array of tables (`[[units]]`).
const TABLE_ARRAYS: [&str; 3] = ["units", "factors", "sweep"];

/// An example value for a key, by its last dotted segment.
fn example(last: &str) -> Option<&'static str> {
    Some(match last {
        "trials" => "100_000",
        "seed" => "20231116",
        "steps_per_year" => "4",
        "horizons" => "[3, 5]",
        "discount_rate" => "0.09",
        "name" => "\"Cloud\"",
        "currency" => "\"CNY bn\"",
        "baseline" => "\"status_quo\"",
        "role" => "\"core\"",
        "revenue" => "100.0",
        "growth" => "0.04",
        "volatility" => "0.08",
        "margin" | "target_margin" => "0.20",
        "margin_speed" => "0.3",
        "multiple" => "{ median = 2.0, dispersion = 0.25 }",
        "loadings" => "{ china_consumption = 0.7 }",
        "response" => "{ max_uplift = 0.05, half_saturation = 0.05 }",
        "jumps" => "{ rate = 0.1, mean = -0.10, stdev = 0.05 }",
        "reinvest_share" | "recycle_share" => "0.6",
        "core" => "{ intensity = 0.10 }",
        "non_core" => "{ intensity = 0.01, exit_after = 0.5 }",
        "innovation" => "{ budget = 4.0, years = 5 }",
        "gate" => "{ year = 2, min_revenue_multiple = 1.5 }",
        "intensity" => "0.10",
        "budget" => "4.0",
        "years" => "5",
        "year" => "2",
        "exit_after" | "exit_window" => "1.0",
        "exit_discount" => "0.15",
        "path" => "\"policies.reset.innovation.years\"",
        "values" => "[3, 4, 5]",
        "extends" => "\"reset.toml\"",
        "description" => "\"what the policy does\"",
        _ => return None,
    })
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
    }
    m
}

fn unknown_field(field: &str, tail: &str) -> String {
    // tail: ", expected one of `a`, `b`" or ", expected `a`" or ", there
    // are no fields".
    let known: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
    let mut m = format!("unknown field `{field}`");
    if let Some(s) = names::suggest(field, known.iter().copied()) {
        m.push_str(&format!("; did you mean `{s}`?"));
    }
    if !known.is_empty() {
        m.push_str(&format!(" (keys here: {})", known.join(", ")));
    }
    m
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
}
