//! The shipped scenarios run end to end through the real binary, and the
//! figures do not depend on the thread count.

use crate::common::*;

use std::fs;

/// Structural checks every summary must pass.
fn check_summary(s: &serde_json::Value, policies: usize, horizons: usize, units: usize) {
    let rows = s["rows"].as_array().unwrap();
    assert_eq!(rows.len(), policies * horizons * (4 + 2 * units));
    assert_eq!(
        s["prob_beats_baseline"].as_array().unwrap().len(),
        policies * horizons
    );
    for r in rows {
        let q: Vec<f64> = ["min", "p5", "p25", "p50", "p75", "p95", "max"]
            .iter()
            .map(|k| f(r, k))
            .collect();
        assert!(
            q.windows(2).all(|w| w[0] <= w[1]),
            "quantiles not monotone: {r}"
        );
        assert!(f(r, "stdev") >= 0.0 && f(r, "stderr") >= 0.0);
        assert!(
            f(r, "min") <= f(r, "mean") && f(r, "mean") <= f(r, "max"),
            "{r}"
        );
    }
    for p in s["prob_beats_baseline"].as_array().unwrap() {
        let x = f(p, "p");
        assert!((0.0..=1.0).contains(&x));
    }
}

#[test]
fn reset_scenario_runs_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reset");
    let o = run(&[
        root().join("scenarios/reset.toml").to_str().unwrap(),
        "--trials",
        "3000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    for word in ["status_quo", "reset", "P(beat)", "value", "revenue"] {
        assert!(table.contains(word), "table lacks {word}:\n{table}");
    }
    let s = read_json(&out.join("summary.json"));
    assert_eq!(s["trials"], 3000);
    assert_eq!(s["seed"], 20231116);
    assert_eq!(s["currency"], "CNY bn");
    check_summary(&s, 2, 3, 13);
    // Innovation units report a value at 3, 4 and 5 years under both policies.
    for unit in ["1688", "Xianyu", "DingTalk", "Quark"] {
        for h in [3, 4, 5] {
            row(&s, "reset", h, "unit_value", Some(unit));
        }
    }
    // Non-core holdings are sold under reset by year 3 (exit within 1.5 years).
    for unit in ["Sun Art Retail", "Intime", "Freshippo"] {
        assert_eq!(
            f(row(&s, "reset", 3, "unit_revenue", Some(unit)), "max"),
            0.0
        );
        assert!(f(row(&s, "status_quo", 3, "unit_revenue", Some(unit)), "min") > 0.0);
    }
    // The baseline's delta is zero by construction.
    assert_eq!(f(row(&s, "status_quo", 5, "delta_value", None), "max"), 0.0);
    let csv = fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(csv.starts_with(
        "policy,horizon,metric,unit,mean,stdev,stderr,p5,p25,p50,p75,p95,min,max,tail,var,cvar,prob_beats_baseline,prob_stderr\n"
    ));
    // P(beat) sits on each policy's delta_value rows, as summary.json has it.
    let p = s["prob_beats_baseline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["policy"] == "reset" && p["horizon"] == 5)
        .unwrap()["p"]
        .as_f64()
        .unwrap();
    let line = csv
        .lines()
        .find(|l| l.starts_with("reset,5,delta_value,,"))
        .unwrap();
    let cells: Vec<&str> = line.split(',').collect();
    assert_eq!(cells[17].parse::<f64>().unwrap(), p);
    assert!(csv
        .lines()
        .filter(|l| l.contains(",value,"))
        .all(|l| l.ends_with(",,")));
    assert_eq!(csv.lines().count(), 1 + s["rows"].as_array().unwrap().len());
}

#[test]
fn cloud_spinoff_scenario_runs() {
    let dir = tempfile::tempdir().unwrap();
    let s = simulate(
        &root().join("scenarios/cloud_spinoff.toml"),
        dir.path(),
        &["--trials", "2000"],
    );
    check_summary(&s, 2, 2, 2);
    // The override sells Cloud under spin_off only.
    assert_eq!(
        f(
            row(
                &s,
                "spin_off",
                3,
                "unit_revenue",
                Some("Cloud Intelligence")
            ),
            "max"
        ),
        0.0
    );
    assert!(
        f(
            row(
                &s,
                "keep_cloud",
                3,
                "unit_revenue",
                Some("Cloud Intelligence")
            ),
            "min"
        ) > 0.0
    );
}

#[test]
fn default_output_folder_is_output_slash_stem() {
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .current_dir(dir.path())
        .args([fixture("one_step.toml").to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(dir.path().join("output/one_step/summary.json").exists());
    assert!(dir.path().join("output/one_step/summary.csv").exists());
}

#[test]
fn same_seed_same_bytes_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = root().join("scenarios/reset.toml");
    let mut outputs = Vec::new();
    for threads in ["1", "2", "5"] {
        let out = dir.path().join(format!("t{threads}"));
        simulate(&scenario, &out, &["--trials", "5000", "--threads", threads]);
        outputs.push((
            fs::read(out.join("summary.json")).unwrap(),
            fs::read(out.join("summary.csv")).unwrap(),
        ));
    }
    assert!(
        outputs.windows(2).all(|w| w[0] == w[1]),
        "thread count changed the numbers"
    );
    // A different seed does change them.
    let out = dir.path().join("other_seed");
    simulate(&scenario, &out, &["--trials", "5000", "--seed", "99"]);
    assert_ne!(fs::read(out.join("summary.json")).unwrap(), outputs[0].0);
}

#[test]
fn cli_overrides_trials_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let s = simulate(
        &fixture("gbm.toml"),
        dir.path(),
        &["--trials", "1500", "--seed", "42"],
    );
    assert_eq!(s["trials"], 1500);
    assert_eq!(s["seed"], 42);
}
