//! The v2 valuation and the funding study's table through the binary: bad
//! values are refused with the file, line, key and rule (exit 2, previous
//! output untouched); `[valuation]` merges through `extends`; a scenario
//! that states the default method gives the same bytes as one without
//! `[valuation]`.

use crate::common::*;

use std::fs;

use stratsim::model::{Fade, Valuation};

/// (what, text to find in tests/fixtures/fade.toml, replacement, text of
/// the line the error points at, key, words of the rule).
const CASES: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "terminal growth at the discount rate",
        "terminal_growth = 0.025",
        "terminal_growth = 0.09",
        "terminal_growth = 0.09",
        "valuation.terminal_growth",
        "terminal_growth = 0.09 must stay below the discount rate (0.09): a unit whose cash grows faster than the discount rate forever has no finite value",
    ),
    (
        "a unit's terminal growth above the discount rate",
        "fade_years = 0, terminal_growth = 0.01",
        "fade_years = 0, terminal_growth = 0.12",
        "fade_years = 0, terminal_growth = 0.12",
        "units[1].valuation.terminal_growth",
        "must stay below the discount rate (0.09)",
    ),
    (
        "the default terminal growth above a low discount rate",
        "discount_rate = 0.09",
        "discount_rate = 0.02",
        // Core takes the file's table, whose terminal_growth (0.025) is
        // checked where it is written.
        "terminal_growth = 0.025",
        "valuation.terminal_growth",
        "must stay below the discount rate (0.02)",
    ),
    (
        "upside jumps that keep the cash growing faster than the discount rate",
        "fade_years = 15, terminal_growth = -0.03",
        "fade_years = 15, terminal_growth = 0.03",
        "fade_years = 15, terminal_growth = 0.03",
        "units[4].valuation.terminal_growth",
        "unit \"Moonshot\" is valued by \"fade\": terminal_growth = 0.03 plus the unit's jumps' expected growth (+10.3% a year) must stay below the discount rate (0.09)",
    ),
    (
        "terminal growth at or below -1",
        "terminal_growth = 0.025",
        "terminal_growth = -1.0",
        "terminal_growth = -1.0",
        "valuation.terminal_growth",
        "greater than -1",
    ),
    (
        "zero sales to capital",
        "sales_to_capital = 1.8",
        "sales_to_capital = 0",
        "sales_to_capital = 0",
        "valuation.sales_to_capital",
        "must be positive",
    ),
    (
        "negative sales to capital in a unit",
        "valuation = { sales_to_capital = 1.2 }",
        "valuation = { sales_to_capital = -1.2 }",
        "valuation = { sales_to_capital = -1.2 }",
        "units[3].valuation.sales_to_capital",
        "must be positive",
    ),
    (
        "fractional fade years",
        "fade_years = 6",
        "fade_years = 2.5",
        "fade_years = 2.5",
        "valuation.fade_years",
        "whole number of years in [0, 50]",
    ),
    (
        "fade years past 50",
        "fade_years = 15,",
        "fade_years = 51,",
        "fade_years = 51,",
        "units[4].valuation.fade_years",
        "whole number of years in [0, 50]",
    ),
    (
        "unknown method",
        "method = \"fade\"",
        "method = \"dcf\"",
        "method = \"dcf\"",
        "valuation.method",
        "unknown valuation method \"dcf\"",
    ),
    (
        "unknown key",
        "sales_to_capital = 1.8",
        "sales_to_captial = 1.8",
        "sales_to_captial = 1.8",
        "valuation.sales_to_captial",
        "unknown field `sales_to_captial`",
    ),
    (
        "non-finite terminal growth",
        "terminal_growth = 0.025",
        "terminal_growth = nan",
        "terminal_growth = nan",
        "valuation.terminal_growth",
        "finite",
    ),
    (
        "funding naming no policy",
        "policy = \"push\"",
        "policy = \"pusj\"",
        "policy = \"pusj\"",
        "funding.policy",
        "names no policy: \"pusj\"",
    ),
    (
        "funding a unit that is not innovation",
        "years = [1, 2, 3]",
        "units = [\"Venture\", \"Core\"]\nyears = [1, 2, 3]",
        "units = [\"Venture\", \"Core\"]",
        "funding.units[1]",
        "\"Core\" is core under policy \"push\": funded years apply to innovation units only",
    ),
    (
        "funding naming no unit",
        "years = [1, 2, 3]",
        "units = [\"Ventura\"]\nyears = [1, 2, 3]",
        "units = [\"Ventura\"]",
        "funding.units[0]",
        "names no unit: \"Ventura\"",
    ),
    (
        "negative funded years",
        "years = [1, 2, 3]",
        "years = [1, -2, 3]",
        "years = [1, -2, 3]",
        "funding.years[1]",
        "must be a number of years in [0, 100]",
    ),
    (
        "funded years listed twice",
        "years = [1, 2, 3]",
        "years = [1, 2, 2]",
        "years = [1, 2, 2]",
        "funding.years[2]",
        "listed twice",
    ),
    (
        "no funded years",
        "years = [1, 2, 3]",
        "years = []",
        "years = []",
        "funding.years",
        "at least one",
    ),
    (
        "unknown funding key",
        "years = [1, 2, 3]",
        "yaers = [1, 2, 3]",
        "yaers = [1, 2, 3]",
        "funding.yaers",
        "unknown field `yaers`",
    ),
];

#[test]
fn bad_valuation_and_funding_inputs_are_refused_with_file_line_key_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    simulate(&fixture("fade.toml"), &out, &["--trials", "200"]);
    let before = fs::read(out.join("summary.json")).unwrap();
    let text = fs::read_to_string(fixture("fade.toml")).unwrap();
    for (i, (what, find, replace, at, key, words)) in CASES.iter().enumerate() {
        assert!(text.contains(find), "case {what}: fixture lacks {find:?}");
        let bad = text.replacen(find, replace, 1);
        let path = dir.path().join(format!("bad_{i}.toml"));
        fs::write(&path, &bad).unwrap();
        for args in [
            vec![path.to_str().unwrap(), "--out", out.to_str().unwrap()],
            vec!["check", path.to_str().unwrap()],
        ] {
            let o = run(&args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "case {what}: {err}");
            assert!(!err.contains("panicked"), "case {what}: {err}");
            let line = bad
                .lines()
                .position(|l| l.contains(at))
                .unwrap_or_else(|| panic!("case {what}: no line {at:?}"))
                + 1;
            let loc = format!("{}:{line}:", path.display());
            assert!(err.contains(&loc), "case {what}: want {loc} in: {err}");
            assert!(
                err.contains(&format!("key `{key}`")),
                "case {what}: want key {key} in: {err}"
            );
            assert!(err.contains(words), "case {what}: want {words:?} in: {err}");
            assert!(o.stdout.is_empty(), "case {what}: printed to stdout");
        }
        assert_eq!(
            fs::read(out.join("summary.json")).unwrap(),
            before,
            "case {what}: previous output changed"
        );
    }
}

#[test]
fn valuation_merges_through_extends() {
    let dir = tempfile::tempdir().unwrap();
    let variant = dir.path().join("variant.toml");
    fs::write(
        &variant,
        format!(
            "extends = {:?}\n\n[valuation]\nterminal_growth = 0.02\n\n[[units]]\nname = \"Venture\"\nvaluation = {{ fade_years = 3 }}\n\n[[units]]\nname = \"Core\"\nvaluation = {{ method = \"multiple\" }}\n",
            fixture("fade.toml").to_str().unwrap()
        ),
    )
    .unwrap();
    let s = stratsim::scenario::load(&variant).unwrap_or_else(|e| panic!("{e}"));
    let by_name = |n: &str| s.units.iter().find(|u| u.name == n).unwrap().valuation;
    assert_eq!(by_name("Core"), Valuation::Multiple);
    // The parent's unit keys stay; the child's file-level key reaches the
    // units that do not set their own.
    assert_eq!(
        by_name("Venture"),
        Valuation::Fade(Fade {
            years: 3,
            terminal_growth: 0.02,
            sales_to_capital: 1.2
        })
    );
    assert_eq!(
        by_name("Gordon"),
        Valuation::Fade(Fade {
            years: 0,
            terminal_growth: 0.01,
            sales_to_capital: 1.8
        })
    );
    assert_eq!(by_name("Holding"), Valuation::Multiple);
    assert_eq!(
        by_name("Moonshot"),
        Valuation::Fade(Fade {
            years: 15,
            terminal_growth: -0.03,
            sales_to_capital: 0.9
        })
    );
}

/// `[valuation] method = "multiple"` (with fade keys that then apply to no
/// unit) gives the bytes of the same file without `[valuation]`.
#[test]
fn the_default_method_changes_no_figure() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    simulate(&fixture("reset_v1.toml"), &plain, &["--trials", "3000"]);
    let text = fs::read_to_string(fixture("reset_v1.toml")).unwrap();
    let stated = dir.path().join("stated.toml");
    fs::write(
        &stated,
        format!(
            "{text}\n[valuation]\nmethod = \"multiple\"\nfade_years = 5\nterminal_growth = 0.02\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("stated");
    simulate(&stated, &out, &["--trials", "3000"]);
    for file in ["summary.json", "summary.csv"] {
        assert_eq!(
            fs::read(plain.join(file)).unwrap(),
            fs::read(out.join(file)).unwrap(),
            "{file}"
        );
    }
}

/// Growth bought by investment now shows at the horizon: under "fade" a
/// unit's value rises with the growth rate it ends on, where revenue x
/// multiple ignores it.
#[test]
fn fade_values_growth_that_multiple_ignores() {
    let dir = tempfile::tempdir().unwrap();
    let base = fs::read_to_string(fixture("one_unit.toml")).unwrap();
    let value = |growth: &str, valuation: &str| -> f64 {
        let path = dir.path().join("u.toml");
        let text = base
            .replace(
                "growth = 0.05\nvolatility = 0.2",
                &format!("growth = {growth}\nvolatility = 0.0"),
            )
            .replace("dispersion = 0.3", "dispersion = 0.0");
        fs::write(&path, format!("{text}\n{valuation}")).unwrap();
        let out = dir.path().join("o");
        let s = simulate(&path, &out, &["--trials", "8"]);
        f(
            row(&s, "hold", 2, "unit_value", Some("Only Business")),
            "mean",
        )
    };
    let fade = "[valuation]\nmethod = \"fade\"\nsales_to_capital = 3.0\n";
    // Same revenue path shape, different end growth: only fade tells them apart.
    let (slow, fast) = (value("0.02", fade), value("0.08", fade));
    assert!(fast > slow * 1.05, "fade: {fast} vs {slow}");
    let (slow_m, fast_m) = (value("0.02", ""), value("0.08", ""));
    // Under "multiple" the gap is only the revenue gap after 2 years.
    assert!(fast_m / slow_m < 1.15, "multiple: {fast_m} vs {slow_m}");
    assert!(
        fast / slow > fast_m / slow_m,
        "fade {fast}/{slow}, multiple {fast_m}/{slow_m}"
    );
}

/// A fade that relies on the default terminal growth (3%) in a scenario
/// discounting at 2% is refused at the line that asked for the fade.
#[test]
fn the_default_terminal_growth_is_checked_against_the_discount_rate() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(fixture("one_unit.toml"))
        .unwrap()
        .replace("discount_rate = 0.08", "discount_rate = 0.02");
    for (extra, key) in [
        (
            "\n[valuation]\nmethod = \"fade\"\n",
            "valuation.terminal_growth",
        ),
        (
            "valuation = { method = \"fade\" }\n",
            "units[0].valuation.terminal_growth",
        ),
    ] {
        let text = if extra.starts_with('\n') {
            format!("{text}{extra}")
        } else {
            text.replace("[policies.hold]", &format!("{extra}\n[policies.hold]"))
        };
        let path = dir.path().join("low_rate.toml");
        fs::write(&path, &text).unwrap();
        let o = run(&["check", path.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        let line = text.lines().position(|l| l.contains("\"fade\"")).unwrap() + 1;
        assert!(err.contains(&format!("low_rate.toml:{line}:")), "{err}");
        assert!(err.contains(&format!("key `{key}`")), "{err}");
        assert!(
            err.contains(
                "terminal_growth = 0.03 (the default) must stay below the discount rate (0.02)"
            ),
            "{err}"
        );
    }
}
