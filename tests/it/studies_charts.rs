//! The study charts through the real binary: a sweep draws sweep.png, a
//! two-way grid too, `--sensitivity` draws tornado.png, the report pages
//! list them, and `--no-charts` draws neither but keeps the CSVs.

use std::fs;
use std::path::Path;

use crate::common::{self, check_png, root};

/// Runs `simulate` on a scenario of the repository into `out`.
fn simulate_drawn(scenario: &str, out: &Path, extra: &[&str]) {
    common::simulate_drawn(&root().join(scenario), out, extra);
}

/// Both report pages list `chart` (and the HTML shows it).
fn listed(out: &Path, chart: &str) {
    for page in ["report.md", "report.html"] {
        let text = fs::read_to_string(out.join(page)).unwrap();
        assert!(text.contains(chart), "{page} does not list {chart}");
    }
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains(&format!("<img src=\"{chart}\"")));
}

#[test]
fn scenario_sweep_draws_sweep_png() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cycles");
    simulate_drawn(
        "scenarios/innovation_cycles.toml",
        &out,
        &["--trials", "1000"],
    );
    assert!(out.join("sweep.csv").exists());
    check_png(&out.join("sweep.png"));
    listed(&out, "sweep.png");
    assert!(!out.join("tornado.png").exists());
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("policies.reset.innovation.years = 3, 4, 5"),
        "{md}"
    );
}

#[test]
fn two_way_sweep_draws_a_heatmap() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grid");
    simulate_drawn(
        "scenarios/cloud_spinoff.toml",
        &out,
        &[
            "--trials",
            "500",
            "--sweep",
            "policies.spin_off.core.intensity=0.05,0.1,0.15",
            "--sweep",
            "scenario.discount_rate=0.07,0.09,0.11",
        ],
    );
    let csv = fs::read_to_string(out.join("sweep.csv")).unwrap();
    // 9 grid points x 2 policies x 2 horizons, plus the header.
    assert_eq!(csv.lines().count(), 1 + 9 * 2 * 2);
    check_png(&out.join("sweep_heatmap.png"));
    listed(&out, "sweep_heatmap.png");
    assert!(!out.join("sweep.png").exists());
}

#[test]
fn sensitivity_draws_tornado_png() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tornado");
    simulate_drawn(
        "scenarios/cloud_spinoff.toml",
        &out,
        &["--sensitivity", "--trials", "500"],
    );
    assert!(out.join("sensitivity.csv").exists());
    check_png(&out.join("tornado.png"));
    listed(&out, "tornado.png");
    check_png(&out.join("spider.png"));
    listed(&out, "spider.png");
    assert!(!out.join("sweep.png").exists());
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("Sensitivity of the decision:"), "{md}");
}

#[test]
fn no_charts_draws_neither_but_keeps_the_csvs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plain");
    simulate_drawn(
        "scenarios/cloud_spinoff.toml",
        &out,
        &[
            "--trials",
            "300",
            "--sweep",
            "scenario.discount_rate=0.07,0.09",
            "--sensitivity",
            "--no-charts",
        ],
    );
    for csv in ["sweep.csv", "sensitivity.csv"] {
        assert!(out.join(csv).exists(), "{csv} missing");
    }
    for png in ["sweep.png", "tornado.png"] {
        assert!(!out.join(png).exists(), "--no-charts wrote {png}");
    }
    // The report still says what the studies ran and where the figures are.
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        md.contains("sweep.csv") && md.contains("sensitivity.csv"),
        "{md}"
    );
    assert!(!md.contains(".png"), "{md}");
}

/// `--sensitivity-top N` through the binary: the top N rows of
/// sensitivity.csv are the full study's, byte for byte; most others are
/// screened estimates, noted; the report says so, the tornado draws the
/// exact rows; a top of 0, or without --sensitivity, is refused.
#[test]
fn screened_sensitivity_keeps_the_top_rows_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (full, top) = (dir.path().join("full"), dir.path().join("top"));
    let args = ["--sensitivity", "--trials", "6000"];
    common::simulate(&root().join("scenarios/reset.toml"), &full, &args);
    let mut screened_args = args.to_vec();
    screened_args.extend(["--sensitivity-top", "5"]);
    simulate_drawn("scenarios/reset.toml", &top, &screened_args);
    let lines = |out: &Path| -> Vec<String> {
        let csv = fs::read_to_string(out.join("sensitivity.csv")).unwrap();
        csv.lines().map(str::to_string).collect()
    };
    let (a, b) = (lines(&full), lines(&top));
    assert_eq!(a.len(), b.len());
    assert_eq!(a[..6], b[..6], "the header and the top 5 rows");
    let screened = b
        .iter()
        .filter(|l| l.contains("screened out of the top 5"))
        .count();
    assert!(screened > 100, "{screened} screened rows");
    check_png(&top.join("tornado.png"));
    let md = fs::read_to_string(top.join("report.md")).unwrap();
    assert!(
        md.contains("Screened for the top 5 (--sensitivity-top)"),
        "{md}"
    );
    let scenario = root().join("scenarios/reset.toml");
    let scenario = scenario.to_str().unwrap();
    for bad in [
        vec![scenario, "--sensitivity", "--sensitivity-top", "0"],
        vec![scenario, "--sensitivity-top", "5"],
    ] {
        let o = common::run(&bad);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {}", common::stderr(&o));
    }
}
