//! Messages that tell the user what to write instead (issue "Recommendations
//! a strategist can defend"): a new unit that was meant to change an
//! existing one, a key in the wrong table, spreadsheet habits, synonyms of
//! distribution keys, distributions where none are taken. In-process
//! through the scenario loader: the binary adds nothing to these.

use std::fs;

use crate::common::*;

/// The message of loading `child` (which extends a copy of reset.toml).
fn refusal(child: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        root().join("scenarios/reset.toml"),
        dir.path().join("reset.toml"),
    )
    .unwrap();
    let path = dir.path().join("variant.toml");
    fs::write(&path, format!("extends = \"reset.toml\"\n{child}")).unwrap();
    match stratsim::scenario::load(&path) {
        Ok(_) => panic!("accepted:\n{child}"),
        Err(e) => {
            assert_eq!(e.exit_code(), 2, "{e}");
            e.to_string()
        }
    }
}

#[test]
fn a_new_unit_that_meant_an_existing_one_gets_did_you_mean() {
    for name in ["Cloud", "Cloud Inteligence", "cloud intelligenc"] {
        let m = refusal(&format!("[[units]]\nname = \"{name}\"\ngrowth = 0.0\n"));
        assert!(m.contains("missing required key `role`"), "{m}");
        assert!(m.contains("adds a new unit"), "{m}");
        assert!(
            m.contains("did you mean \"Cloud Intelligence\"?"),
            "{name}: {m}"
        );
    }
    // Nothing close: the reason, no guess.
    let m = refusal("[[units]]\nname = \"Ant Group\"\ngrowth = 0.0\n");
    assert!(m.contains("adds a new unit"), "{m}");
    assert!(!m.contains("did you mean"), "{m}");
}

#[test]
fn a_key_in_the_wrong_table_names_its_table() {
    let m = refusal("[[units]]\nname = \"Quark\"\nbudget = 3.0\n");
    assert!(m.contains("variant.toml:4:"), "{m}");
    assert!(m.contains("policy's innovation term"), "{m}");
    let m = refusal("[[units]]\nname = \"Quark\"\ndiscount_rate = 0.1\n");
    assert!(m.contains("[scenario] table"), "{m}");
    let m = refusal("[policies.reset]\nterminal_growth = 0.02\n");
    assert!(m.contains("[valuation]"), "{m}");
}

#[test]
fn spreadsheet_habits_say_what_to_write() {
    for (value, want) in [
        ("growth = 2%", "write 0.02"),
        ("revenue = 1,000", "write 1000 or 1_000"),
        ("multiple = { median = 10x, dispersion = 0.2 }", "write 10"),
        ("revenue = $5", "write 5"),
    ] {
        let m = refusal(&format!("[[units]]\nname = \"Quark\"\n{value}\n"));
        assert!(m.contains(want), "{value}: {m}");
        assert!(!m.contains("expected newline"), "{value}: {m}");
        assert!(m.contains("variant.toml:4:"), "{value}: {m}");
    }
}

#[test]
fn distribution_keys_get_did_you_mean_and_distributions_say_where_they_go() {
    let m = refusal(
        "[[units]]\nname = \"Quark\"\ngrowth = { dist = \"pert\", min = 0.0, most_likely = 0.1, max = 0.3 }\n",
    );
    assert!(m.contains("did you mean `mode`?"), "{m}");
    let m = refusal(
        "[[units]]\nname = \"Quark\"\nmultiple = { dist = \"uniform\", min = 1.0, max = 3.0 }\n",
    );
    assert!(m.contains("takes no distribution"), "{m}");
    assert!(
        m.contains("(the keys that may be one are revenue, growth, volatility, margin, target_margin, margin_speed, and max_uplift / half_saturation inside response)"),
        "{m}"
    );
    assert!(!m.contains("must be a number, not a table"), "{m}");
    let m = refusal("[scenario]\ndiscount_rate = { dist = \"uniform\", min = 0.08, max = 0.1 }\n");
    assert!(m.contains("takes no distribution"), "{m}");
}
