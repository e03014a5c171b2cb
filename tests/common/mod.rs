//! Helpers shared by the integration tests: run the real `simulate` binary
//! on real files and read what it wrote.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_simulate"))
}

/// The repository root (where scenarios/ and tests/fixtures/ live).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// Runs `simulate` with `args`; returns the output (stdout, stderr, status).
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("simulate runs")
}

/// Runs a scenario into `out` and returns the parsed summary.json.
pub fn simulate(scenario: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(
        o.status.success(),
        "simulate {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    read_json(&out.join("summary.json"))
}

pub fn read_json(p: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// The row of (policy, horizon, metric, unit) in a summary.
pub fn row<'a>(
    s: &'a serde_json::Value,
    policy: &str,
    horizon: u64,
    metric: &str,
    unit: Option<&str>,
) -> &'a serde_json::Value {
    s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["policy"] == policy
                && r["horizon"] == horizon
                && r["metric"] == metric
                && r["unit"].as_str() == unit
        })
        .unwrap_or_else(|| panic!("no row {policy} {horizon} {metric} {unit:?}"))
}

pub fn f(v: &serde_json::Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}
