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
    fn suggestions_are_close_or_none() {
        let keys = ["growth", "volatility", "margin"];
        assert_eq!(suggest("growht", keys), Some("growth"));
        assert_eq!(suggest("volatilty", keys), Some("volatility"));
        assert_eq!(suggest("MARGIN", keys), Some("margin"));
        assert_eq!(suggest("zzz", keys), None);
        assert_eq!(did_you_mean("x", keys), "");
    }
}
