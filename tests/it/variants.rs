//! Variant scenarios: `extends = "parent.toml"` plus overrides, with errors
//! located in whichever file holds the bad value.

use crate::common::*;

use std::fs;

fn parent_text() -> String {
    fs::read_to_string(fixture("deterministic.toml")).unwrap()
}

#[test]
fn a_variant_overrides_keys_and_adds_policies() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("base")).unwrap();
    fs::write(dir.path().join("base/parent.toml"), parent_text()).unwrap();
    let variant = dir.path().join("variant.toml");
    fs::write(
        &variant,
        r#"extends = "base/parent.toml"

[scenario]
name = "Variant"

[[units]]
name = "Core A"
growth = 0.08

[policies.reset.units."Venture D"]
budget = 5.0

[policies.bold]
reinvest_share = 1.0
core = { intensity = 0.3 }
non_core = { intensity = 0.0 }
innovation = { budget = 0.0, years = 1 }
"#,
    )
    .unwrap();
    let s = simulate(&variant, &dir.path().join("out_v"), &[]);
    let p = simulate(
        &dir.path().join("base/parent.toml"),
        &dir.path().join("out_p"),
        &[],
    );
    assert_eq!(s["scenario"], "Variant");
    // The new policy is there, the old ones still are.
    row(&s, "bold", 3, "value", None);
    row(&s, "status_quo", 3, "value", None);
    // Core A grows faster in the variant (growth 0.08 instead of 0.05).
    let rev = |x: &serde_json::Value| {
        f(
            row(x, "status_quo", 3, "unit_revenue", Some("Core A")),
            "mean",
        )
    };
    assert!(rev(&s) > rev(&p));
    // Untouched units are unchanged under the untouched baseline.
    let leg = |x: &serde_json::Value| {
        f(
            row(x, "status_quo", 3, "unit_revenue", Some("Legacy B")),
            "mean",
        )
    };
    assert_eq!(leg(&s), leg(&p));
    // The override of Venture D merged with the parent's override (its
    // gate is still there): its value differs from the parent's.
    let vd = |x: &serde_json::Value| f(row(x, "reset", 3, "unit_value", Some("Venture D")), "mean");
    assert_ne!(vd(&s), vd(&p));
}

fn refused(path: &std::path::Path, file: &str, line: usize, words: &str) {
    let o = run(&[
        path.to_str().unwrap(),
        "--out",
        path.with_extension("out").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{file}:{line}:")),
        "want {file}:{line}: in {err}"
    );
    assert!(err.contains(words), "want {words:?} in {err}");
}

#[test]
fn errors_name_the_file_that_holds_the_bad_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A bad value in the variant.
    fs::write(d.join("parent.toml"), parent_text()).unwrap();
    fs::write(
        d.join("v1.toml"),
        "extends = \"parent.toml\"\n\n[[units]]\nname = \"Core A\"\nvolatility = -1.0\n",
    )
    .unwrap();
    refused(&d.join("v1.toml"), "v1.toml", 5, "units[0].volatility");
    // A bad value in the parent, reached through the variant.
    let bad_parent = parent_text().replacen("margin = 0.10", "margin = 7.0", 1);
    let line = bad_parent
        .lines()
        .position(|l| l == "margin = 7.0")
        .unwrap()
        + 1;
    fs::write(d.join("bad_parent.toml"), &bad_parent).unwrap();
    fs::write(d.join("v2.toml"), "extends = \"bad_parent.toml\"\n").unwrap();
    refused(
        &d.join("v2.toml"),
        "bad_parent.toml",
        line,
        "units[1].margin",
    );
    // A missing parent.
    fs::write(d.join("v3.toml"), "# comment\nextends = \"nope.toml\"\n").unwrap();
    refused(
        &d.join("v3.toml"),
        "v3.toml",
        2,
        "cannot read the scenario it extends",
    );
    // A cycle.
    fs::write(d.join("a.toml"), "extends = \"b.toml\"\n").unwrap();
    fs::write(d.join("b.toml"), "extends = \"a.toml\"\n").unwrap();
    refused(&d.join("a.toml"), "b.toml", 1, "cycle");
    // A typo in a variant is still an unknown key.
    fs::write(
        d.join("v4.toml"),
        "extends = \"parent.toml\"\n[scenario]\nseeed = 3\n",
    )
    .unwrap();
    refused(&d.join("v4.toml"), "v4.toml", 3, "unknown field `seeed`");
}
