//! What a strategist reads first: the headline sentences (summary.json,
//! the table, the report pages), VaR and CVaR at the chosen tail, and the
//! unit path chart and its CSV, through the real binary.

use crate::common::*;

use std::fs;

#[test]
fn headline_sentences_reach_every_output_and_state_the_summary_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = run(&[
        root().join("scenarios/reset.toml").to_str().unwrap(),
        "--trials",
        "3000",
        "--out",
        out.to_str().unwrap(),
        "--no-charts",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    let s = read_json(&out.join("summary.json"));
    let headline = s["headline"].as_array().unwrap();
    assert_eq!(headline.len(), 2 * 3, "one per policy and horizon");
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    for h in headline {
        let text = h["text"].as_str().unwrap();
        assert!(table.contains(text), "table lacks {text}");
        assert!(
            html.contains(&text.replace('&', "&amp;")),
            "html lacks {text}"
        );
        // Markdown escapes its markup characters only.
        assert!(md.contains(&text.replace('_', "\\_")), "md lacks {text}");
    }
    use stratsim::format::{share, signed};
    for horizon in [3, 4, 5] {
        let text = headline
            .iter()
            .find(|h| h["policy"] == "reset" && h["horizon"] == horizon)
            .unwrap()["text"]
            .as_str()
            .unwrap();
        let g = row(&s, "reset", horizon, "delta_value", None);
        let p = s["prob_beats_baseline"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["policy"] == "reset" && x["horizon"] == horizon)
            .unwrap();
        let sentence = format!(
            "At year {horizon}, reset beats status_quo in {} of trials; median gain {} CNY bn (P5 {}, P95 {}).",
            share(f(p, "p")),
            signed(f(g, "p50")),
            signed(f(g, "p5")),
            signed(f(g, "p95"))
        );
        if f(g, "mean") * f(g, "p50") < 0.0 {
            // Mean and median disagree in sign: the sentence, then a note
            // that states the mean.
            assert!(
                text.starts_with(&format!(
                    "{sentence} The mean gain, {} CNY bn, has the other sign",
                    signed(f(g, "mean"))
                )),
                "{text}"
            );
        } else {
            assert_eq!(text, sentence);
        }
    }
    // The sentences come first in the report pages.
    let glance = md.find("## At a glance").unwrap();
    assert!(glance < md.find("## Policies").unwrap());
}

#[test]
fn tail_sets_var_and_cvar() {
    let dir = tempfile::tempdir().unwrap();
    let a = simulate_drawn(
        &fixture("twenty_units.toml"),
        &dir.path().join("a"),
        &["--trials", "4000", "--no-charts", "--no-xlsx"],
    );
    let b = simulate_drawn(
        &fixture("twenty_units.toml"),
        &dir.path().join("b"),
        &[
            "--trials",
            "4000",
            "--no-charts",
            "--no-xlsx",
            "--tail",
            "25%",
        ],
    );
    assert_eq!(a["tail"], 0.05);
    assert_eq!(b["tail"], 0.25);
    for r in a["rows"].as_array().unwrap() {
        assert_eq!(f(r, "var"), f(r, "p5"));
        assert!(f(r, "cvar") <= f(r, "var") + 1e-9 * f(r, "var").abs());
        assert!(f(r, "cvar") >= f(r, "min"));
    }
    for (ra, rb) in a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["rows"].as_array().unwrap())
    {
        assert_eq!(f(rb, "var"), f(rb, "p25"));
        // The mean of the worst quarter is at least that of the worst 5%.
        assert!(f(rb, "cvar") >= f(ra, "cvar") - 1e-9 * f(ra, "cvar").abs());
        // Everything else is the same.
        assert_eq!(f(ra, "mean"), f(rb, "mean"));
        assert_eq!(f(ra, "p50"), f(rb, "p50"));
    }
    let csv = fs::read_to_string(dir.path().join("b/summary.csv")).unwrap();
    assert!(csv.lines().nth(1).unwrap().contains(",0.25,"));
    let o = run(&[
        fixture("one_unit.toml").to_str().unwrap(),
        "--tail",
        "0",
        "--out",
        dir.path().join("c").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn unit_paths_are_drawn_and_written_with_charts_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    simulate_drawn(
        &root().join("scenarios/reset.toml"),
        &out,
        &["--trials", "2000", "--no-xlsx"],
    );
    check_png(&out.join("unit_paths.png"));
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("unit_paths.png"));
    let csv = fs::read_to_string(out.join("unit_paths.csv")).unwrap();
    assert!(csv.starts_with("policy,unit,figure,t,mean,p5,p25,p50,p75,p95\n"));
    // 2 policies x 13 units x 2 figures x (t = 0 and 5 year ends).
    assert_eq!(csv.lines().count(), 1 + 2 * 13 * 2 * 6);
    // Sold under reset by year 3: no EBITA left.
    let sold = csv
        .lines()
        .find(|l| l.starts_with("reset,Sun Art Retail,ebita,3.0,"))
        .unwrap();
    assert!(sold.ends_with(",0.0,0.0,0.0,0.0,0.0"), "{sold}");
    let plain = dir.path().join("plain");
    simulate_drawn(
        &root().join("scenarios/reset.toml"),
        &plain,
        &["--trials", "2000", "--no-xlsx", "--no-charts"],
    );
    assert!(!plain.join("unit_paths.csv").exists());
}
