//! The validator on its own: raw TOML structs in, a [`Scenario`] or an
//! [`InputError`] naming the key and line out. (tests/ checks the same
//! rules through the binary, with their messages as the user reads them.)

use std::path::Path;

use super::*;
use crate::model::Valuation;
use crate::model::{Fade, Funding, PolicyField, UnitField};

/// A scenario with every role, a factor, an override of each kind, a
/// gate, jumps and a response: the base every test edits (a file of its
/// own, so that it reads as a scenario does).
const BASE: &str = include_str!("../../../tests/fixtures/validator/base.toml");

/// Parses and validates `text` (the validator only: no `extends`, no
/// check that runs before it).
fn check(text: &str) -> std::result::Result<Scenario, InputError> {
    let mut source = Source::default();
    let raw = crate::scenario::parse_text(&mut source, Path::new("t.toml"), text)
        .unwrap_or_else(|e| panic!("the test's TOML does not parse: {e}"));
    validate(&source, &raw)
}

/// `BASE` with `from` replaced by `to` (which must be there).
fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE has no {from:?}");
    BASE.replacen(from, to, 1)
}

/// The error of `text`: its key, line and message.
fn refusal(text: &str) -> InputError {
    match check(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

/// The 1-based line of `BASE` (as edited) that holds `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line holds {needle:?}"))
        + 1
}

#[test]
fn a_valid_scenario_resolves_names_defaults_and_overrides() {
    let s = check(BASE).unwrap();
    assert_eq!((s.trials, s.seed, s.steps_per_year), (1000, 7, 4));
    // Horizons sorted; the baseline and the factor by index.
    assert_eq!(s.horizons, vec![3, 5]);
    assert_eq!(s.policies[s.baseline].name, "keep");
    assert_eq!(s.factors, vec!["cycle".to_string()]);
    let [core, old, new] = &s.units[..] else {
        panic!("three units")
    };
    assert_eq!(core.loadings, vec![0.6]);
    assert_eq!(core.idiosyncratic, 0.8);
    let response =
        |u| [UnitField::MaxUplift, UnitField::HalfSaturation].map(|f: UnitField| f.get(u).unwrap());
    assert_eq!(response(core), [0.05, 0.1]);
    // Optional keys take their documented defaults.
    assert_eq!((core.target_margin, core.margin_speed), (0.2, 0.0));
    assert_eq!((old.target_margin, old.margin_speed), (0.08, 0.5));
    assert_eq!(new.loadings, vec![0.0]);
    assert_eq!(new.idiosyncratic, 1.0);
    assert_eq!(response(new), [0.0, 0.0]);
    assert_eq!(
        old.jumps.map(|j| (j.rate, j.mean, j.stdev)),
        Some((0.2, -0.1, 0.05))
    );
    assert!(new.jumps.is_none());
    assert!(s.units.iter().all(|u| u.valuation == Valuation::Multiple));
    // Each unit's terms under each policy: the role's table, then the
    // unit's override (found by name as read: "new" is "New").
    let keep = &s.policies[0];
    let recycle = PolicyField::Recycle.get(keep);
    assert_eq!((recycle, keep.description.as_str()), (0.0, ""));
    assert_eq!(keep.terms[0].intensity, 0.05);
    assert!(keep.terms[1].exit.is_none());
    assert_eq!((keep.terms[2].budget, keep.terms[2].years), (1.0, 3.0));
    assert!(keep.terms[2].gate.is_none());
    let reset = &s.policies[1];
    assert_eq!(reset.terms[0].intensity, 0.1);
    let exit = reset.terms[1].exit.unwrap();
    assert_eq!((exit.after, exit.window, exit.discount), (1.0, 0.0, 0.2));
    assert_eq!((reset.terms[2].budget, reset.terms[2].years), (3.0, 5.0));
    let gate = reset.terms[2].gate.unwrap();
    assert_eq!((gate.year, gate.min_revenue_multiple), (2.0, 1.2));
    assert!(s.funding.is_none());
}

#[test]
fn a_missing_key_is_reported_at_its_table() {
    let text = edit("growth = 0.3\n", "");
    let e = refusal(&text);
    assert_eq!(e.key, "units[2].growth");
    assert_eq!(e.message, "missing required key `growth`");
    // The [[units]] table the key belongs in.
    let table = text
        .match_indices("[[units]]")
        .nth(2)
        .map(|(i, _)| text[..i].lines().count() + 1)
        .unwrap();
    assert_eq!(e.line, table);
    assert_eq!(e.file, Path::new("t.toml"));
}

#[test]
fn values_outside_their_rule_name_their_key_and_line() {
    // (from, to, key, start of the message, text on the reported line)
    let cases = [
        (
            "trials = 1000",
            "trials = 0",
            "scenario.trials",
            "must be between 1 and",
            "trials = 0",
        ),
        (
            "seed = 7",
            "seed = -1",
            "scenario.seed",
            "must be a non-negative integer",
            "seed = -1",
        ),
        (
            "horizons = [5, 3]",
            "horizons = [5, 5]",
            "scenario.horizons[1]",
            "horizon 5 is listed twice",
            "horizons",
        ),
        (
            "horizons = [5, 3]",
            "horizons = []",
            "scenario.horizons",
            "must list at least one horizon",
            "horizons",
        ),
        (
            "horizons = [5, 3]",
            "horizons = [101]",
            "scenario.horizons[0]",
            "must be a whole number of years between 1 and 100",
            "horizons",
        ),
        (
            "steps_per_year = 4",
            "steps_per_year = 20000",
            "scenario.steps_per_year",
            "must be between 1 and 10000",
            "steps_per_year",
        ),
        (
            "discount_rate = 0.09",
            "discount_rate = -1.0",
            "scenario.discount_rate",
            "must be greater than -1",
            "discount_rate",
        ),
        (
            "revenue = 100.0",
            "revenue = 0.0",
            "units[0].revenue",
            "must be positive",
            "revenue = 0.0",
        ),
        (
            "growth = 0.04",
            "growth = nan",
            "units[0].growth",
            "must be a finite number",
            "growth = nan",
        ),
        (
            "volatility = 0.2\n",
            "volatility = -0.2\n",
            "units[0].volatility",
            "must be >= 0",
            "volatility = -0.2",
        ),
        (
            "margin = 0.2\n",
            "margin = 1.2\n",
            "units[0].margin",
            "must be <= 1 (a share of revenue)",
            "margin = 1.2",
        ),
        (
            "margin_speed = 0.5",
            "margin_speed = 5.0",
            "units[1].margin_speed",
            "must be in [0, steps_per_year = 4]",
            "margin_speed",
        ),
        (
            "median = 2.0",
            "median = -2.0",
            "units[0].multiple.median",
            "must be positive",
            "median = -2.0",
        ),
        (
            "loadings = { cycle = 0.6 }",
            "loadings = { cycle = 1.5 }",
            "units[0].loadings.cycle",
            "must be in [-1, 1]",
            "loadings",
        ),
        (
            "rate = 0.2",
            "rate = 20000.0",
            "units[1].jumps.rate",
            "must be in [0, 10000]",
            "jumps",
        ),
        (
            "reinvest_share = 0.6",
            "reinvest_share = 1.5",
            "policies.reset.reinvest_share",
            "must be a share in [0, 1]",
            "reinvest_share = 1.5",
        ),
        (
            "exit_discount = 0.2",
            "exit_discount = 2.0",
            "policies.reset.units.\"Old\".exit_discount",
            "must be a share in [0, 1]",
            "exit_discount",
        ),
        (
            "min_revenue_multiple = 1.2",
            "min_revenue_multiple = -1.0",
            "policies.reset.innovation.gate.min_revenue_multiple",
            "must be >= 0",
            "min_revenue_multiple",
        ),
    ];
    for (from, to, key, message, on_line) in cases {
        let text = edit(from, to);
        let e = refusal(&text);
        assert_eq!(e.key, key, "{to}");
        assert!(e.message.starts_with(message), "{to}: {}", e.message);
        assert_eq!(e.line, line_of(&text, on_line), "{to}: {e}");
    }
}

#[test]
fn loadings_must_name_factors_and_keep_their_squares_under_one() {
    let e = refusal(&edit(
        "loadings = { cycle = 0.6 }",
        "loadings = { cycel = 0.6 }",
    ));
    assert_eq!(e.key, "units[0].loadings.cycel");
    assert!(
        e.message.contains("unknown factor \"cycel\""),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("did you mean \"cycle\""),
        "{}",
        e.message
    );
    let e = refusal(&edit(
        "loadings = { cycle = 0.6 }",
        "loadings = { cycle = 0.6, CYCLE = 0.1 }",
    ));
    assert!(
        e.message
            .starts_with("a second loading on factor \"cycle\""),
        "{}",
        e.message
    );
    let text = edit(
        "[[factors]]\nname = \"cycle\"",
        "[[factors]]\nname = \"cycle\"\n\n[[factors]]\nname = \"trade\"",
    )
    .replacen(
        "loadings = { cycle = 0.6 }",
        "loadings = { cycle = 0.8, trade = 0.7 }",
        1,
    );
    let e = refusal(&text);
    assert_eq!(e.key, "units[0].loadings");
    assert!(
        e.message.contains("sum to 1.130000, more than 1"),
        "{}",
        e.message
    );
    // Rounding of typed decimals is tolerated: 0.6^2 + 0.8^2 is 1.
    let ok = text.replacen("cycle = 0.8, trade = 0.7", "cycle = 0.6, trade = 0.8", 1);
    assert_eq!(check(&ok).unwrap().units[0].idiosyncratic, 0.0);
}

#[test]
fn names_clash_as_a_reader_would_read_them() {
    // Units (and their overrides), factors and policies; the message says
    // why two spellings are one name.
    let e = refusal(&edit("name = \"Old\"", "name = \" core \""));
    assert_eq!(e.key, "units[1].name");
    assert!(
        e.message.starts_with("duplicate unit name \"core\""),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("(the same name as \"Core\""),
        "{}",
        e.message
    );
    let e = refusal(&edit(
        "[policies.reset.units.\"new\"]",
        "[policies.reset.units.\"Neu\"]",
    ));
    assert_eq!(e.key, "policies.reset.units.\"Neu\"");
    assert!(e.message.contains("did you mean \"New\""), "{}", e.message);
    let e = refusal(&edit("baseline = \"keep\"", "baseline = \"keap\""));
    assert_eq!(e.key, "scenario.baseline");
    assert!(e.message.contains("did you mean \"keep\""), "{}", e.message);
    assert!(
        e.message.contains("(policies are: keep, reset)"),
        "{}",
        e.message
    );
    // The baseline matches as read.
    let s = check(&edit("baseline = \"keep\"", "baseline = \" RESET\"")).unwrap();
    assert_eq!(s.baseline, 1);
}

#[test]
fn terms_follow_the_units_effective_role() {
    // An override may change the role; keys of another role are refused.
    let text = format!("{BASE}\n[policies.keep.units.\"Core\"]\nbudget = 2.0\n");
    let e = refusal(&text);
    assert_eq!(e.key, "policies.keep.units.\"Core\".budget");
    assert!(
        e.message
            .starts_with("`budget` does not apply to a core unit"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("(its terms are: intensity)"),
        "{}",
        e.message
    );
    let text = format!(
        "{BASE}\n[policies.keep.units.\"Core\"]\nrole = \"innovation\"\nbudget = 2.0\nyears = 4\n"
    );
    let s = check(&text).unwrap();
    let t = &s.policies[0].terms[0];
    assert_eq!(
        (t.role, t.budget, t.years, t.intensity),
        (Role::Innovation, 2.0, 4.0, 0.0)
    );
    // A role the policy gives no terms for.
    let e = refusal(&edit("innovation = { budget = 1.0, years = 3 }\n", ""));
    assert_eq!(e.key, "policies.keep.innovation");
    assert!(
        e.message
            .contains("gives no `innovation` terms, but unit \"New\" is innovation"),
        "{}",
        e.message
    );
    // The role table's own required keys, even when every unit overrides.
    let e = refusal(&edit(
        "innovation = { budget = 1.0, years = 3 }",
        "innovation = { budget = 1.0 }",
    ));
    assert_eq!(e.key, "policies.keep.innovation.years");
}

#[test]
fn exit_terms_without_exit_after_are_refused() {
    let e = refusal(&edit(
        "non_core = { intensity = 0.03 }",
        "non_core = { intensity = 0.03, exit_window = 1.0 }",
    ));
    assert_eq!(e.key, "policies.keep.non_core.exit_window");
    assert!(
        e.message.contains("unit \"Old\" has no `exit_after`"),
        "{}",
        e.message
    );
    // From an override too; and an exit_after anywhere makes them count.
    let e = refusal(&format!(
        "{BASE}\n[policies.keep.units.\"Old\"]\nexit_discount = 0.1\n"
    ));
    assert_eq!(e.key, "policies.keep.units.\"Old\".exit_discount");
    let text =
        format!("{BASE}\n[policies.keep.units.\"Old\"]\nexit_after = 2.0\nexit_window = 0.5\n");
    let exit = check(&text).unwrap().policies[0].terms[1].exit.unwrap();
    assert_eq!((exit.after, exit.window, exit.discount), (2.0, 0.5, 0.0));
}

#[test]
fn sizes_are_bounded() {
    let e = refusal(&edit("trials = 1000", "trials = 10_000_000_001"));
    assert_eq!(e.key, "scenario.trials");
    // Steps in a trial: 50 years x 4000 steps.
    let text = edit("horizons = [5, 3]", "horizons = [50, 3]").replacen(
        "steps_per_year = 4",
        "steps_per_year = 4000",
        1,
    );
    let e = refusal(&text);
    assert_eq!(e.key, "scenario.steps_per_year");
    assert!(
        e.message
            .starts_with("50 years x 4000 steps per year = 200000 steps per trial"),
        "{}",
        e.message
    );
    // Reported metrics: 1 policy x 100 horizons x (4 + 2 x 1000 units).
    let mut text = BASE
        .replacen(
            "horizons = [5, 3]",
            &format!("horizons = {:?}", (1..=100).collect::<Vec<_>>()),
            1,
        )
        .replacen("steps_per_year = 4", "steps_per_year = 1", 1);
    let policies = text.find("[policies.keep]").unwrap();
    text.truncate(policies);
    text.push_str("[policies.keep]\nreinvest_share = 0.5\ncore = { intensity = 0.05 }\nnon_core = { intensity = 0.03 }\ninnovation = { budget = 1.0, years = 3 }\n");
    for i in 3..1000 {
        text.push_str(&format!(
            "\n[[units]]\nname = \"u{i}\"\nrole = \"core\"\nrevenue = 1.0\ngrowth = 0.0\nvolatility = 0.1\nmargin = 0.1\nmultiple = {{ median = 1.0, dispersion = 0.1 }}\n"
        ));
    }
    let e = refusal(&text);
    assert_eq!(e.key, "units");
    assert!(
        e.message
            .contains("1 policies x 100 horizons x 1000 units make 200400 reported metrics"),
        "{}",
        e.message
    );
}

#[test]
fn valuation_keys_combine_unit_over_file_over_defaults() {
    let with = |valuation: &str, unit: &str| {
        edit("[[factors]]", &format!("{valuation}\n[[factors]]")).replacen(
            "multiple = { median = 4.0, dispersion = 0.5 }",
            &format!("multiple = {{ median = 4.0, dispersion = 0.5 }}\n{unit}"),
            1,
        )
    };
    let s = check(&with(
        "[valuation]\nmethod = \"fade\"\nsales_to_capital = 3.0\n",
        "valuation = { fade_years = 4 }",
    ))
    .unwrap();
    let fade = |u: usize| match s.units[u].valuation {
        Valuation::Fade(f) => f,
        Valuation::Multiple => panic!("unit {u} is valued by its multiple"),
    };
    assert_eq!(
        fade(0),
        Fade {
            years: 10,
            terminal_growth: 0.03,
            sales_to_capital: 3.0
        }
    );
    assert_eq!(
        fade(2),
        Fade {
            years: 4,
            terminal_growth: 0.03,
            sales_to_capital: 3.0
        }
    );
    let s = check(&with("", "valuation = { method = \"fade\" }")).unwrap();
    assert_eq!(s.units[0].valuation, Valuation::Multiple);
    assert!(matches!(s.units[2].valuation, Valuation::Fade(_)));
    // Rules: a unit's cash must grow slower than the discount rate for
    // ever, with the default's terminal growth too (reported where the
    // method was chosen).
    let e = refusal(&with(
        "[valuation]\nmethod = \"fade\"\nterminal_growth = 0.09\n",
        "",
    ));
    assert_eq!(e.key, "valuation.terminal_growth");
    assert!(
        e.message
            .contains("terminal_growth = 0.09 must stay below the discount rate (0.09)"),
        "{}",
        e.message
    );
    let e = refusal(&with("", "valuation = { method = \"fade\" }").replacen(
        "discount_rate = 0.09",
        "discount_rate = 0.02",
        1,
    ));
    assert_eq!(e.key, "units[2].valuation.terminal_growth");
    assert!(e.message.contains("(the default)"), "{}", e.message);
    let e = refusal(&with("", "valuation = { method = \"dcf\" }"));
    assert_eq!(e.key, "units[2].valuation.method");
    let e = refusal(&with("[valuation]\nfade_years = 2.5\n", ""));
    assert_eq!(e.key, "valuation.fade_years");
}

#[test]
fn the_funding_study_lists_innovation_units_and_years() {
    let s = check(&format!(
        "{BASE}\n[funding]\npolicy = \"reset\"\nyears = [5, 3, 0]\n"
    ))
    .unwrap();
    // Every innovation unit under the policy; 0 years first, ascending.
    assert_eq!(
        s.funding,
        Some(Funding {
            policy: 1,
            units: vec![2],
            years: vec![0.0, 3.0, 5.0]
        })
    );
    let refused = |funding: &str| refusal(&format!("{BASE}\n[funding]\n{funding}\n"));
    let e = refused("policy = \"reset\"\nunits = [\"Core\"]\nyears = [3]");
    assert_eq!(e.key, "funding.units[0]");
    assert!(
        e.message
            .contains("\"Core\" is core under policy \"reset\""),
        "{}",
        e.message
    );
    let e = refused("policy = \"reset\"\nyears = [3, 3]");
    assert_eq!(
        (e.key.as_str(), e.message.as_str()),
        ("funding.years[1]", "3 years is listed twice")
    );
    let e = refused("policy = \"sell\"\nyears = [3]");
    assert_eq!(e.key, "funding.policy");
    let e = refused(&format!(
        "policy = \"reset\"\nyears = {:?}",
        (1..=17).map(f64::from).collect::<Vec<_>>()
    ));
    assert!(e.message.starts_with("at most 16 values"), "{}", e.message);
}
