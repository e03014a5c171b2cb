//! Numerical safety: extreme but valid inputs never put NaN or infinity in
//! an output; a figure that truly overflows stops the run with exit code 3,
//! naming the unit, policy and step, and writes nothing.

use crate::common::*;

use std::fs;

/// Every number in a JSON document is finite (serde_json would write NaN
/// and infinities as null; the only nulls allowed are `unit` columns).
fn all_finite(v: &serde_json::Value, path: &str) {
    match v {
        serde_json::Value::Null => assert!(path.ends_with(".unit"), "null at {path}"),
        serde_json::Value::Number(n) => {
            assert!(n.as_f64().is_some_and(f64::is_finite), "{path}: {n}")
        }
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| all_finite(x, &format!("{path}[{i}]"))),
        serde_json::Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| all_finite(x, &format!("{path}.{k}"))),
        _ => {}
    }
}

#[test]
fn extreme_valid_inputs_give_finite_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let s = simulate(
        &fixture("extreme.toml"),
        &dir.path().join("x"),
        &["--no-charts"],
    );
    all_finite(&s, "summary");
    let csv = fs::read_to_string(dir.path().join("x/summary.csv")).unwrap();
    for bad in ["NaN", "inf", "null"] {
        assert!(!csv.contains(bad), "{bad} in summary.csv");
    }
}

fn variant(extra_unit_lines: &str) -> String {
    fs::read_to_string(fixture("one_step.toml"))
        .unwrap()
        .replace("steps_per_year = 1", "steps_per_year = 4")
        .replace("horizons = [1]", "horizons = [1, 2]")
        .replace(
            "volatility = 0.0\nmargin = -0.1",
            &format!("volatility = 0.5\nmargin = -0.1\n{extra_unit_lines}"),
        )
}

#[test]
fn a_revenue_that_collapses_to_zero_is_not_an_overflow() {
    // Jumps of -800 in log revenue take unit B's revenue to exactly 0.0
    // while it is still funded: its growth uplift takes its limit.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("collapse.toml");
    fs::write(
        &file,
        variant("jumps = { rate = 8, mean = -800, stdev = 1 }"),
    )
    .unwrap();
    let s = simulate(&file, &dir.path().join("c"), &["--trials", "300"]);
    all_finite(&s, "summary");
    assert_eq!(f(row(&s, "only", 2, "unit_revenue", Some("B")), "p50"), 0.0);
}

#[test]
fn an_overflow_stops_the_run_with_exit_3_naming_unit_and_step() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    simulate(&fixture("one_step.toml"), &out, &[]);
    let before = fs::read(out.join("summary.json")).unwrap();
    let f = dir.path().join("overflow.toml");
    fs::write(&f, variant("jumps = { rate = 8, mean = 800, stdev = 1 }")).unwrap();
    let o = run(&[f.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("unit \"B\""), "{err}");
    assert!(err.contains("policy \"only\""), "{err}");
    assert!(err.contains("after step"), "{err}");
    assert!(!err.contains("panicked"));
    assert_eq!(fs::read(out.join("summary.json")).unwrap(), before);
}
