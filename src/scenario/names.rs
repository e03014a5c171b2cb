//! Names as people read them: "Café" typed on two keyboards, "Quark " with
//! a stray space and "quark" are one name to a reader, so they are one name
//! here too.
//!
//! A name is stored in its display form ([`clean`]: Unicode NFC, surrounding
//! white space trimmed) and compared by its [`key`] (the display form, case
//! folded). Two units, factors or policies whose keys are equal are
//! duplicates; a reference (a baseline, an override, a loading, a sweep
//! path, a variant's unit) matches the name with the same key. References
//! that match nothing get a "did you mean" ([`suggest`]).

use unicode_normalization::UnicodeNormalization;

/// The display form of a name: NFC, trimmed.
pub fn clean(name: &str) -> String {
    name.trim().nfc().collect()
}

/// Longest name (unit, factor, policy, scenario, currency, `[optimize]`
/// name), in characters: a name heads spreadsheet columns and chart series
/// (two of them in one header, under Excel's 32 767 characters a cell) and
/// is printed in terminal tables.
pub const MAX_NAME_CHARS: usize = 200;

/// Why `name` (as read, before [`clean`]) is not safe in every file a run
/// writes, or `None` when it is. One rule for every name: no control
/// character (a line break would start a new TOML key in optimized.toml, a
/// new CSV row, a new terminal line), at most [`MAX_NAME_CHARS`]
/// characters, and nothing a spreadsheet chart reads as a reference or a
/// formula instead of text (`Plan!B2`, `=(...)`). Quotes, `!`, a leading
/// `=` and the like are otherwise escaped where they are written (CSV
/// cells, TOML strings, HTML, dotted paths).
pub fn unsafe_reason(name: &str) -> Option<String> {
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        let what = match c {
            '\n' => " (a line break)".to_string(),
            '\r' => " (a carriage return)".to_string(),
            '\t' => " (a tab)".to_string(),
            _ => String::new(),
        };
        return Some(format!(
            "contains the control character U+{:04X}{what}: a name is written on one line of the terminal, a CSV cell, a TOML string and a spreadsheet, where it would start a new line or key; remove it",
            c as u32
        ));
    }
    let n = name.chars().count();
    if n > MAX_NAME_CHARS {
        return Some(format!(
            "is {n} characters long, more than the {MAX_NAME_CHARS} a name may have (names head spreadsheet columns and chart series, and terminal tables); shorten it"
        ));
    }
    let t = name.trim();
    if let Some((sheet, cell)) = t.split_once('!') {
        if is_cell_range(&cell.replace('$', "")) {
            return Some(format!(
                "reads as a spreadsheet reference (cell {cell} of a sheet {sheet:?}), which a chart of summary.xlsx would show instead of the name; write it without the `!` (e.g. {:?})",
                format!("{sheet} {cell}")
            ));
        }
    }
    if t.starts_with("=(") || (t.starts_with('=') && t.contains('[')) {
        return Some(
            "starts like a spreadsheet formula (`=(` or `=` with `[`), which a chart of summary.xlsx would evaluate instead of showing the name; write it without the leading `=`".into(),
        );
    }
    None
}

/// Whether `s` is an A1-style cell or range (`B2`, `A1:C3`) as spreadsheet
/// writers read the part of a chart's text after a `!`.
fn is_cell_range(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.ends_with(|c: char| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == ':')
}

/// The form names are compared in: [`clean`], then case folded.
pub fn key(name: &str) -> String {
    clean(name).to_lowercase()
}

/// True when two names are the same name to a reader.
pub fn same(a: &str, b: &str) -> bool {
    key(a) == key(b)
}

/// The candidate `wrong` most likely meant, if one is close enough: equal
/// keys first, then the smallest edit distance (transpositions count as
/// one edit) within a third of the name's length.
pub fn suggest<'a, I>(wrong: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let w = key(wrong);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let k = key(c);
        if k == w {
            return Some(c);
        }
        let d = strsim::damerau_levenshtein(&w, &k);
        let limit = (w.chars().count().max(k.chars().count()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `"; did you mean \"X\"?"` when a candidate is close, else nothing.
pub fn did_you_mean<'a, I>(wrong: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    suggest(wrong, candidates)
        .map(|c| format!("; did you mean \"{c}\"?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_read() {
        // NFC "Café" and NFD "Cafe" + combining acute accent.
        assert!(same("Caf\u{e9}", "Cafe\u{301}"));
        assert!(same("Quark ", "quark"));
        assert!(!same("Quark", "Quarks"));
        assert_eq!(clean("  Cafe\u{301} "), "Caf\u{e9}");
    }

    #[test]
    fn names_unsafe_in_some_file_are_caught() {
        for bad in [
            "a\nb = 1",
            "x\r",
            "tab\there",
            "nul\u{0}",
            "del\u{7f}",
            "c1\u{85}",
            "Plan!B2",
            "Summary!A1",
            " Sheet 1!$A$1:$B$3 ",
            "=(1+2)",
            "=Table[Col]",
        ] {
            assert!(unsafe_reason(bad).is_some(), "{bad:?}");
        }
        let long = "x".repeat(MAX_NAME_CHARS + 1);
        assert!(unsafe_reason(&long).unwrap().contains("200"));
        assert!(unsafe_reason(&"é".repeat(MAX_NAME_CHARS)).is_none());
        for good in [
            "Taobao & Tmall",
            "Say \"hi\"",
            "Wow!",
            "Plan!b2",
            "Plan! B2",
            "=HYPERLINK(\"x\")",
            "+1",
            "back\\slash",
            "<b>html</b>",
            "'quoted'",
        ] {
            assert_eq!(unsafe_reason(good), None, "{good:?}");
        }
        assert!(unsafe_reason("Plan!B2").unwrap().contains("\"Plan B2\""));
    }

    #[test]
    fn suggestions_are_close_or_none() {
        let keys = ["growth", "volatility", "margin"];
        assert_eq!(suggest("growht", keys), Some("growth"));
        assert_eq!(suggest("volatilty", keys), Some("volatility"));
        assert_eq!(suggest("MARGIN", keys), Some("margin"));
        assert_eq!(suggest("zzz", keys), None);
        assert_eq!(did_you_mean("x", keys), "");
    }
}
