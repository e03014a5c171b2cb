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
