//! The funding study (`[funding]`) through the binary, on
//! tests/fixtures/fade.toml (policy "push", units Venture and Moonshot,
//! 1, 2 and 3 funded years, gate at year 1) and the shipped
//! scenarios/innovation_cycles.toml.

use crate::common::*;

use std::collections::HashMap;
use std::fs;
use std::path::Path;

/// funding.csv as one map per row, keyed by column name.
fn rows(path: &Path) -> Vec<HashMap<String, String>> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

fn num(r: &HashMap<String, String>, k: &str) -> f64 {
    r[k].parse()
        .unwrap_or_else(|_| panic!("{k} = {:?} is not a number", r[k]))
}

fn find<'a>(
    rows: &'a [HashMap<String, String>],
    unit: &str,
    years: &str,
    h: &str,
) -> &'a HashMap<String, String> {
    rows.iter()
        .find(|r| r["unit"] == unit && r["funded_years"] == years && r["horizon"] == h)
        .unwrap_or_else(|| panic!("no row {unit} {years} {h}"))
}

#[test]
fn funding_figures_are_those_of_separate_runs_on_the_same_draws() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("study");
    simulate_drawn(&fixture("fade.toml"), &out, &["--trials", "3000"]);
    let rows = rows(&out.join("funding.csv"));
    assert_eq!(
        rows.len(),
        2 * 4 * 3,
        "2 units x 4 funded years x 3 horizons"
    );
    // Each variant is the policy with one unit's years changed: a separate
    // run of that scenario gives the unit the same value, to the bit.
    for (unit, years) in [("Venture", "2"), ("Moonshot", "3"), ("Venture", "0")] {
        let variant = dir.path().join(format!("{unit}_{years}.toml"));
        fs::write(
            &variant,
            format!(
                "extends = {:?}\n\n[policies.push.units.\"{unit}\"]\nyears = {years}\n",
                fixture("fade.toml").to_str().unwrap()
            ),
        )
        .unwrap();
        let s = simulate_drawn(&variant, &dir.path().join("v"), &["--trials", "3000"]);
        for h in ["1", "2", "4"] {
            let r = find(&rows, unit, years, h);
            let v = row(&s, "push", h.parse().unwrap(), "unit_value", Some(unit));
            assert_eq!(
                num(r, "value_mean"),
                f(v, "mean"),
                "{unit} {years} y at {h}"
            );
            assert_eq!(num(r, "value_p50"), f(v, "p50"), "{unit} {years} y at {h}");
        }
    }
    for unit in ["Venture", "Moonshot"] {
        for h in ["1", "2", "4"] {
            let zero = find(&rows, unit, "0", h);
            assert_eq!(num(zero, "gain_mean"), 0.0);
            assert_eq!(num(zero, "spend_pv_mean"), 0.0);
            assert_eq!(
                rows.iter()
                    .filter(|r| r["unit"] == unit && r["horizon"] == h && r["best"] == "true")
                    .count(),
                1,
                "{unit} at {h}: one best"
            );
            // The largest mean gain; on a tie, the fewest years (rows come
            // in ascending years).
            let mut best = zero;
            for r in rows
                .iter()
                .filter(|r| r["unit"] == unit && r["horizon"] == h)
            {
                if num(r, "gain_mean") > num(best, "gain_mean") {
                    best = r;
                }
            }
            assert_eq!(best["best"], "true", "{unit} at {h}");
            for years in ["1", "2", "3"] {
                let r = find(&rows, unit, years, h);
                // Paired: the gain's mean is the difference of the means...
                let diff = num(r, "value_mean") - num(zero, "value_mean");
                assert!(
                    (num(r, "gain_mean") - diff).abs() <= 1e-9 * diff.abs().max(1.0),
                    "{unit} {years} y at {h}: {} vs {diff}",
                    r["gain_mean"]
                );
                // ...and far more precise than either level.
                assert!(num(r, "gain_stderr") < num(r, "value_stderr"));
                assert!(num(r, "spend_pv_mean") > 0.0);
                let p = num(r, "prob_gain_positive");
                assert!((0.0..=1.0).contains(&p));
                let share = num(r, "gate_pass_share");
                assert!((0.0..=1.0).contains(&share) && share > 0.0 && share < 1.0);
            }
            // More years cannot spend less.
            let spend = |y: &str| num(find(&rows, unit, y, h), "spend_pv_mean");
            assert!(spend("1") <= spend("2") && spend("2") <= spend("3"));
        }
        // Years past a horizon change nothing at that horizon.
        for col in [
            "value_mean",
            "gain_mean",
            "spend_pv_mean",
            "group_gain_mean",
        ] {
            assert_eq!(
                find(&rows, unit, "1", "1")[col],
                find(&rows, unit, "3", "1")[col],
                "{unit} {col}"
            );
        }
    }
}

#[test]
fn the_study_changes_no_figure_of_the_run_and_needs_no_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(fixture("fade.toml")).unwrap();
    let (plain_text, _) = text.split_once("[funding]").unwrap();
    let plain = dir.path().join("plain.toml");
    fs::write(&plain, plain_text).unwrap();
    let a = dir.path().join("a");
    simulate_drawn(&plain, &a, &["--trials", "2000"]);
    assert!(!a.join("funding.csv").exists());
    assert!(!a.join("funding.png").exists());
    let mut outs = Vec::new();
    for threads in ["1", "2"] {
        let b = dir.path().join(format!("b{threads}"));
        simulate_drawn(
            &fixture("fade.toml"),
            &b,
            &["--trials", "2000", "--threads", threads],
        );
        assert_eq!(
            fs::read(a.join("summary.json")).unwrap(),
            fs::read(b.join("summary.json")).unwrap()
        );
        outs.push(fs::read(b.join("funding.csv")).unwrap());
    }
    assert_eq!(outs[0], outs[1], "thread count changed funding.csv");
}

#[test]
fn innovation_cycles_answers_how_long_to_fund_each_unit() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ic");
    let o = run(&[
        root()
            .join("scenarios/innovation_cycles.toml")
            .to_str()
            .unwrap(),
        "--trials",
        "2000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("How long to fund each innovation unit"),
        "{stdout}"
    );
    let rows = rows(&out.join("funding.csv"));
    for unit in ["1688", "Xianyu", "DingTalk", "Quark"] {
        assert!(stdout.contains(unit), "table lacks {unit}");
        for years in ["0", "3", "4", "5"] {
            for h in ["3", "4", "5", "6"] {
                find(&rows, unit, years, h);
            }
        }
    }
    assert_eq!(rows.len(), 4 * 4 * 4);
    check_png(&out.join("funding.png"));
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("## How long to fund each innovation unit"),
        "{md}"
    );
    for unit in ["1688", "Xianyu", "DingTalk", "Quark"] {
        assert!(
            md.lines().any(|l| l.starts_with(&format!("- {unit}: "))),
            "no sentence for {unit}"
        );
    }
    assert!(md.contains("(funding.png)"));
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<img src=\"funding.png\""));
}
