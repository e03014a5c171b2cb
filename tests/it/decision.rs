//! The decision studies through the real binary: `--sensitivity` ranks
//! inputs by how far they move the paired gain over the baseline, and its
//! figures equal separate runs of the changed files bit for bit; sweep.csv
//! carries the paired gain with its band; the study charts are drawn.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use crate::common::{self, check_png, fixture, run, stderr};

/// sensitivity.csv or sweep.csv as rows of named cells.
fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, key: &str) -> f64 {
    row[key]
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {:?} in {row:?}", row[key]))
}

/// The mean gain of `policy` at `horizon` and its chance of beating the
/// baseline, from a summary.json.
fn gain(s: &serde_json::Value, policy: &str, horizon: u64) -> (f64, f64) {
    let mean = common::f(common::row(s, policy, horizon, "delta_value", None), "mean");
    let p = s["prob_beats_baseline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["policy"] == policy && x["horizon"] == horizon)
        .unwrap();
    (mean, common::f(p, "p"))
}

/// The fixture with one line changed, run on its own.
fn separate(dir: &Path, name: &str, from: &str, to: &str) -> serde_json::Value {
    let text = fs::read_to_string(fixture("decision.toml")).unwrap();
    assert!(text.contains(from), "{from}");
    let changed = text.replacen(from, to, 1);
    let file = dir.join(format!("{name}.toml"));
    fs::write(&file, changed).unwrap();
    common::simulate_drawn(&file, &dir.join(name), &["--no-charts", "--no-xlsx"])
}

#[test]
fn sensitivity_ranks_the_gain_and_equals_separate_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sens");
    let base = common::simulate_drawn(
        &fixture("decision.toml"),
        &out,
        &["--sensitivity", "--no-xlsx"],
    );
    let rows = read_csv(&out.join("sensitivity.csv"));
    // Only the policy that is not the baseline has rows, ranked 1.. by
    // swing of the mean gain.
    assert!(rows.iter().all(|r| r["policy"] == "reset"));
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["rank"], (i + 1).to_string());
        if i > 0 {
            assert!(num(&rows[i - 1], "swing") >= num(r, "swing"), "{r:?}");
        }
    }
    let (g0, p0) = gain(&base, "reset", 2);
    let find = |path: &str| {
        rows.iter()
            .find(|r| r["path"] == path)
            .unwrap_or_else(|| panic!("no input {path}"))
    };
    // A unit's rate, a unit's level, a policy's lever, a per-unit override,
    // the baseline's lever and the discount rate: each step equals a run of
    // the file with that one value changed.
    let cases = [
        (
            "units.\"Core A\".growth",
            "growth = 0.05",
            "growth = {}",
            "rate",
        ),
        (
            "units.\"Bet.B\".revenue",
            "revenue = 10.0",
            "revenue = {}",
            "level",
        ),
        (
            "policies.\"reset\".core.intensity",
            "core = { intensity = 0.1 }",
            "core = { intensity = {} }",
            "rate",
        ),
        (
            "policies.\"reset\".units.\"Bet.B\".budget",
            "budget = 4.0",
            "budget = {}",
            "level",
        ),
        (
            "policies.\"keep\".innovation.years",
            "innovation = { budget = 1.0, years = 2 }",
            "innovation = { budget = 1.0, years = {} }",
            "level",
        ),
        (
            "scenario.discount_rate",
            "discount_rate = 0.09",
            "discount_rate = {}",
            "rate",
        ),
    ];
    for (k, (path, from, to, kind)) in cases.iter().enumerate() {
        let r = find(path);
        assert_eq!(r["step_kind"], *kind, "{path}");
        assert_eq!(num(r, "gain_base"), g0);
        assert_eq!(num(r, "prob_beats_base"), p0);
        for side in ["low", "high"] {
            let x = &r[side];
            let s = separate(
                dir.path(),
                &format!("c{k}{side}"),
                from,
                &to.replace("{}", x),
            );
            let (g, p) = gain(&s, "reset", 2);
            assert_eq!(num(r, &format!("gain_{side}")), g, "{path} {side}");
            assert_eq!(num(r, &format!("prob_beats_{side}")), p, "{path} {side}");
        }
    }
    // Rates move by one point, levels by 10%.
    let g = find("units.\"Core A\".growth");
    assert_eq!((num(g, "low"), num(g, "high")), (0.04, 0.06));
    let b = find("policies.\"reset\".units.\"Bet.B\".budget");
    assert_eq!((num(b, "low"), num(b, "high")), (3.6, 4.4));
    // A step the scenario refuses is skipped with its reason.
    let nc = find("policies.\"reset\".non_core.intensity");
    assert_eq!(nc["low"], "");
    assert_eq!(nc["gain_low"], "");
    assert!(nc["note"].contains("low step skipped"), "{nc:?}");
    // The headline names the top of the ranking.
    let top = &rows[0]["input"];
    let sentence = base["headline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["policy"] == "reset" && s["horizon"] == 2)
        .unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        sentence.contains(&format!("depends most on {top}:")),
        "{sentence}"
    );
    check_png(&out.join("tornado.png"));
    check_png(&out.join("spider.png"));
}

#[test]
fn sensitivity_steps_are_configurable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sens");
    common::simulate_drawn(
        &fixture("decision.toml"),
        &out,
        &[
            "--sensitivity",
            "--sensitivity-rate-step",
            "2%",
            "--sensitivity-step",
            "0.25",
            "--no-charts",
            "--no-xlsx",
        ],
    );
    let rows = read_csv(&out.join("sensitivity.csv"));
    let find = |path: &str| rows.iter().find(|r| r["path"] == path).unwrap();
    let g = find("units.\"Core A\".growth");
    assert_eq!((num(g, "low"), num(g, "high")), (0.03, 0.07));
    let b = find("policies.\"reset\".units.\"Bet.B\".budget");
    assert_eq!((num(b, "low"), num(b, "high")), (3.0, 5.0));
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("rates ±2 points, levels ±25%"), "{md}");
}

#[test]
fn sweep_csv_has_the_paired_gain_of_separate_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    common::simulate_drawn(
        &fixture("decision.toml"),
        &out,
        &[
            "--sweep",
            "policies.reset.core.intensity=0.05,0.15",
            "--no-xlsx",
        ],
    );
    let rows = read_csv(&out.join("sweep.csv"));
    for x in ["0.05", "0.15"] {
        let s = separate(
            dir.path(),
            &format!("i{x}"),
            "core = { intensity = 0.1 }",
            &format!("core = {{ intensity = {x} }}"),
        );
        let r = rows
            .iter()
            .find(|r| {
                r["policies.reset.core.intensity"] == x
                    && r["policy"] == "reset"
                    && r["horizon"] == "2"
            })
            .unwrap();
        let d = common::row(&s, "reset", 2, "delta_value", None);
        assert_eq!(num(r, "delta_value_mean"), common::f(d, "mean"));
        assert_eq!(num(r, "delta_value_stderr"), common::f(d, "stderr"));
        assert_eq!(num(r, "delta_value_p50"), common::f(d, "p50"));
        assert_eq!(num(r, "prob_beats_baseline"), gain(&s, "reset", 2).1);
        let (m, se) = (num(r, "delta_value_mean"), num(r, "delta_value_stderr"));
        let (lo, hi) = (num(r, "delta_value_low95"), num(r, "delta_value_high95"));
        assert!(se > 0.0 && lo < m && m < hi, "{r:?}");
        assert!((hi - m - 1.96 * se).abs() < 1e-3 * se, "{r:?}");
        assert!((m - lo - 1.96 * se).abs() < 1e-3 * se, "{r:?}");
    }
    check_png(&out.join("sweep.png"));
}

#[test]
fn a_two_way_sweep_draws_a_heatmap() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grid");
    let f = fixture("decision.toml");
    let o = run(&[
        f.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
        "--no-xlsx",
        "--sweep",
        "policies.reset.core.intensity=0.05,0.1,0.15",
        "--sweep",
        "scenario.discount_rate=0.07,0.09",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    check_png(&out.join("sweep_heatmap.png"));
    assert!(!out.join("sweep.png").exists());
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<img src=\"sweep_heatmap.png\""));
}

#[test]
fn sensitivity_of_a_single_policy_says_there_is_nothing_to_rank() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("one");
    let f = fixture("one_unit.toml");
    let o = run(&[
        f.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--sensitivity",
        "--no-xlsx",
        "--no-charts",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the scenario has one policy"),
        "{}",
        stderr(&o)
    );
    let csv = fs::read_to_string(out.join("sensitivity.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1, "{csv}");
}
