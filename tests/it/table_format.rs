//! The terminal table and `check`'s digest through the real binary:
//! columns stay aligned for large values, a probability never reads
//! "±0.0", per-unit policy terms are named, sweeps are mentioned.

use std::fs;

use crate::common::{fixture, root, run};

/// The table's rows (header to the last policy row) of a run's stdout.
fn table(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("value:"))
        .map(String::from)
        .collect()
}

#[test]
fn large_values_stay_aligned_and_probabilities_keep_their_error() {
    let dir = tempfile::tempdir().unwrap();
    // Revenue of ten million: values with many digits; the second policy
    // rarely beats the first.
    let text = fs::read_to_string(fixture("decision.toml"))
        .unwrap()
        .replace("revenue = 100.0", "revenue = 10000000.0")
        .replace("budget = 4.0", "budget = 400000.0");
    let file = dir.path().join("big.toml");
    fs::write(&file, text).unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-charts",
        "--no-xlsx",
        "--trials",
        "2000",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    let rows = table(&stdout);
    assert!(rows.len() >= 6, "{stdout}");
    // Every line of the table is as wide as its header, and each "±"
    // sits in the same column on every row that has it.
    let width = rows[0].chars().count();
    for r in &rows {
        assert_eq!(r.chars().count(), width, "{stdout}");
    }
    let pm = |r: &str| -> Vec<usize> {
        r.chars()
            .enumerate()
            .filter(|(_, c)| *c == '±')
            .map(|(i, _)| i)
            .collect()
    };
    let policy_rows: Vec<&String> = rows.iter().filter(|r| r.starts_with("reset")).collect();
    assert_eq!(pm(policy_rows[0]), pm(policy_rows[1]), "{stdout}");
    // The chance of beating the baseline: small, with an error that shows.
    for r in &policy_rows {
        let cell = r.rsplit("  ").next().unwrap().trim();
        assert!(cell.contains('%') && cell.contains('±'), "{cell}");
        let se = cell.split('±').nth(1).unwrap();
        assert!(
            se.trim_start_matches(['0', '.'])
                .chars()
                .any(|c| c.is_ascii_digit()),
            "an error that reads as zero: {cell}"
        );
    }
}

#[test]
fn check_names_per_unit_terms_and_mentions_sweeps() {
    let o = run(&[
        "check",
        root().join("scenarios/reset.toml").to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("per unit: 1688 gate 1.15x at 2 y; Quark budget 6/yr"),
        "{out}"
    );
    assert!(out.contains("sweeps: none"), "{out}");
    let o = run(&[
        "check",
        root()
            .join("scenarios/innovation_cycles.toml")
            .to_str()
            .unwrap(),
    ]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("sweep: policies.reset.innovation.years"),
        "{out}"
    );
}
