//! `simulate check` and `simulate schema`.

use crate::common::*;

use std::fs;

#[test]
fn check_prints_a_digest_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .current_dir(dir.path())
        .args([
            "check",
            root().join("scenarios/reset.toml").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    for word in [
        "Alibaba reset",
        "13 units",
        "Taobao & Tmall",
        "Quark",
        "2 policies",
        "baseline: status_quo",
        "gate 1.25x at 2 y",
        "valid",
        // The fade valuation's schedule and held multiple per horizon.
        "g today",
        "g y5",
        "A y5",
    ] {
        assert!(out.contains(word), "digest lacks {word:?}:\n{out}");
    }
    // Taobao & Tmall: 4% today, 3.0% at year 5 (a tenth of the fade a
    // year, from 4% to its 2%), and its A at year 5.
    let taobao = out
        .lines()
        .find(|l| l.contains("Taobao & Tmall") && l.contains('x') && l.contains("3.0%"))
        .unwrap_or_else(|| panic!("no schedule line for Taobao & Tmall:\n{out}"));
    assert!(taobao.contains("4.0%"), "{taobao}");
    assert!(out.lines().count() <= 52, "more than a tall screen:\n{out}");
    assert!(!dir.path().join("output").exists(), "check wrote output");
}

#[test]
fn check_refuses_a_bad_scenario_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = fs::read_to_string(fixture("one_step.toml")).unwrap();
    fs::write(&bad, text.replace("volatility = 0.0", "volatility = -2")).unwrap();
    let o = run(&["check", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.toml:") && err.contains("units[0].volatility"),
        "{err}"
    );
}

#[test]
fn schema_is_json_schema_of_the_format_and_is_committed() {
    let o = run(&["schema"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(schema["$schema"]
        .as_str()
        .unwrap()
        .contains("json-schema.org"));
    let defs = &schema["$defs"];
    // Unknown keys are flagged, as the parser refuses them.
    for def in ["RawUnit", "RawPolicy", "RawHeader", "RawOverride"] {
        assert_eq!(defs[def]["additionalProperties"], false, "{def}");
    }
    for key in [
        "revenue",
        "growth",
        "volatility",
        "multiple",
        "loadings",
        "jumps",
    ] {
        assert!(defs["RawUnit"]["properties"][key].is_object(), "{key}");
    }
    // docs/scenario.schema.json is the same text (regenerate it with
    // `cargo run -- schema > docs/scenario.schema.json`).
    let committed = fs::read_to_string(root().join("docs/scenario.schema.json")).unwrap();
    assert_eq!(committed, text, "docs/scenario.schema.json is stale");
}
