//! Every kind of bad input named in the model contract, through the real
//! binary: exit code 2, a message naming the file, line and key, no panic,
//! and the previous output left untouched.

use crate::common::*;

use std::fs;

/// A case: (what, text to find in the base scenario, replacement,
/// expected key in the message, expected words in the message).
/// The expected line is the first line that differs from the good file.
const CASES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "negative volatility",
        "volatility = 0.0\nmargin = 0.20",
        "volatility = -0.1\nmargin = 0.20",
        "units[0].volatility",
        "must be >= 0",
    ),
    (
        "loadings whose squares sum past 1",
        "margin = 0.10\n",
        "margin = 0.10\nloadings = { f1 = 0.8, f2 = 0.7 }\n",
        "units[1].loadings",
        "more than 1",
    ),
    (
        "loading on an unknown factor",
        "margin = 0.10\n",
        "margin = 0.10\nloadings = { nope = 0.5 }\n",
        "units[1].loadings.nope",
        "unknown factor",
    ),
    (
        "baseline naming nothing",
        "baseline = \"status_quo\"",
        "baseline = \"status_qou\"",
        "scenario.baseline",
        "names no policy",
    ),
    (
        "override naming nothing",
        "[policies.reset.units.\"Venture D\"]",
        "[policies.reset.units.\"Venture Z\"]",
        "policies.reset.units.\"Venture Z\"",
        "names no unit",
    ),
    (
        "duplicate unit names",
        "name = \"Legacy B\"",
        "name = \"Core A\"",
        "units[1].name",
        "duplicate unit name",
    ),
    (
        "share above 1",
        "reinvest_share = 0.5",
        "reinvest_share = 1.5",
        "policies.reset.reinvest_share",
        "[0, 1]",
    ),
    (
        "share below 0",
        "recycle_share = 0.6",
        "recycle_share = -0.1",
        "policies.reset.recycle_share",
        "[0, 1]",
    ),
    (
        "exit discount outside [0, 1]",
        "exit_discount = 0.1",
        "exit_discount = 1.1",
        "policies.reset.non_core.exit_discount",
        "[0, 1]",
    ),
    (
        "non-finite number (nan)",
        "revenue = 40.0",
        "revenue = nan",
        "units[1].revenue",
        "finite",
    ),
    (
        "non-finite number (inf)",
        "growth = 0.05\nvolatility = 0.0\nmargin = -0.2",
        "growth = inf\nvolatility = 0.0\nmargin = -0.2",
        "units[3].growth",
        "finite",
    ),
    (
        "unknown key (typo)",
        "volatility = 0.0\nmargin = 0.10",
        "volatilty = 0.0\nmargin = 0.10",
        "units[1].volatilty",
        "unknown field `volatilty`",
    ),
    (
        "missing required key",
        "revenue = 5.0\n",
        "",
        "units[2].revenue",
        "missing required key `revenue`",
    ),
    (
        "unknown role",
        "role = \"non_core\"",
        "role = \"noncore\"",
        "units[1].role",
        "unknown role",
    ),
    (
        "wrong type",
        "trials = 3",
        "trials = \"three\"",
        "scenario.trials",
        "invalid type",
    ),
    (
        "growth at or below -1",
        "growth = -0.02",
        "growth = -1.0",
        "units[1].growth",
        "greater than -1",
    ),
    (
        "override key that does not apply to the role",
        "budget = 3.0",
        "intensity = 3.0",
        "policies.reset.units.\"Venture D\".intensity",
        "does not apply",
    ),
    (
        "duplicate horizon",
        "horizons = [1, 2, 3]",
        "horizons = [1, 2, 2]",
        "scenario.horizons[2]",
        "listed twice",
    ),
    (
        "policy missing terms for a role that has units",
        "innovation = { budget = 0.5, years = 3 }\n",
        "",
        "policies.status_quo.innovation",
        "gives no `innovation` terms",
    ),
    (
        "TOML syntax error",
        "seed = 1",
        "seed = = 1",
        "scenario.seed",
        "",
    ),
];

fn base() -> String {
    fs::read_to_string(fixture("deterministic.toml")).unwrap()
}

#[test]
fn each_bad_input_is_refused_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // A good run first: its output must survive every bad run.
    simulate(&fixture("deterministic.toml"), &out, &[]);
    let before = fs::read(out.join("summary.json")).unwrap();

    let text = base();
    for (i, (what, find, replace, key, words)) in CASES.iter().enumerate() {
        assert!(text.contains(find), "case {what}: base lacks {find:?}");
        let bad = text.replacen(find, replace, 1);
        let path = dir.path().join(format!("bad_{i}.toml"));
        fs::write(&path, &bad).unwrap();
        let o = run(&[path.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(2),
            "case {what}: exit code, stderr: {err}"
        );
        assert!(!err.contains("panicked"), "case {what}: panic: {err}");
        // The first line that differs from the good file.
        let line = text
            .lines()
            .zip(bad.lines())
            .position(|(a, b)| a != b)
            .unwrap()
            + 1;
        // An override table has no span of its own (toml cannot span
        // tables that dotted keys may create): it is located by its first key.
        let line = if what.starts_with("override naming") {
            line + 1
        } else {
            line
        };
        let file = path.display().to_string();
        let want_loc = if replace.is_empty() {
            // A removed key is reported at its table.
            format!("{file}:")
        } else {
            format!("{file}:{line}:")
        };
        assert!(
            err.contains(&want_loc),
            "case {what}: want {want_loc} in: {err}"
        );
        assert!(err.contains(key), "case {what}: want key {key} in: {err}");
        assert!(err.contains(words), "case {what}: want {words:?} in: {err}");
        assert!(o.stdout.is_empty(), "case {what}: printed to stdout");
        assert_eq!(
            fs::read(out.join("summary.json")).unwrap(),
            before,
            "case {what}"
        );
    }
    // Nothing half-written left beside the output.
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn missing_file_and_bad_arguments_exit_2() {
    let o = run(&["/nonexistent/scenario.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/scenario.toml"));
    let o = run(&[fixture("one_step.toml").to_str().unwrap(), "--trials", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[fixture("one_step.toml").to_str().unwrap(), "--threads", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&[fixture("one_step.toml").to_str().unwrap(), "--bogus"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn unwritable_output_exits_4_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a_file");
    fs::write(&file, "x").unwrap();
    let o = run(&[
        fixture("one_step.toml").to_str().unwrap(),
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&[
        fixture("one_step.toml").to_str().unwrap(),
        "--out",
        file.join("sub").to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
