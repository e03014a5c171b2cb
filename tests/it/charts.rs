//! Charts and report pages, through the real binary: every chart file is a
//! real, non-blank PNG of at least 1600 x 1000 for scenarios of very
//! different shapes, the report pages reference every chart, and
//! `--no-charts` changes nothing but the pictures.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::check_png;

const CHARTS: [&str; 6] = [
    "value_distribution.png",
    "value_cdf.png",
    "delta_vs_baseline.png",
    "revenue_fan.png",
    "innovation_horizons.png",
    "unit_values.png",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `simulate` on a scenario of the repository into `out`.
fn simulate_drawn(scenario: &str, out: &Path, extra: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_simulate"))
        .arg(root().join(scenario))
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .status()
        .expect("simulate runs");
    assert!(status.success(), "simulate {scenario} failed: {status}");
}

/// Every chart is drawn and listed; innovation_horizons.png only when the
/// scenario has innovation units (and then it must be).
fn check_output(out: &Path) {
    let innovation = fs::read_to_string(out.join("report.md"))
        .unwrap()
        .contains("innovation_horizons.png");
    let charts: Vec<&str> = CHARTS
        .into_iter()
        .filter(|c| *c != "innovation_horizons.png" || innovation)
        .collect();
    if !innovation {
        assert!(!out.join("innovation_horizons.png").exists());
    }
    for chart in &charts {
        check_png(&out.join(chart));
    }
    for page in ["report.md", "report.html"] {
        let text = fs::read_to_string(out.join(page)).expect("report page written");
        for chart in &charts {
            assert!(text.contains(chart), "{page} does not reference {chart}");
        }
    }
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    for chart in &charts {
        assert!(html.contains(&format!("<img src=\"{chart}\"")));
    }
}

#[test]
fn innovation_horizons_only_for_scenarios_with_innovation_units() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("one");
    simulate_drawn("tests/fixtures/one_unit.toml", &out, &["--trials", "500"]);
    assert!(!out.join("innovation_horizons.png").exists());
    let out = dir.path().join("dec");
    simulate_drawn("tests/fixtures/decision.toml", &out, &[]);
    check_png(&out.join("innovation_horizons.png"));
}

#[test]
fn shipped_scenario_gets_every_chart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reset");
    simulate_drawn("scenarios/reset.toml", &out, &["--trials", "3000"]);
    check_output(&out);
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| status\\_quo (baseline) | 3 |"), "{md}");
}

#[test]
fn one_unit_one_policy_still_draws_every_chart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("one");
    simulate_drawn("tests/fixtures/one_unit.toml", &out, &["--trials", "500"]);
    check_output(&out);
}

#[test]
fn twenty_units_four_policies_draw_every_chart() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("twenty");
    simulate_drawn(
        "tests/fixtures/twenty_units.toml",
        &out,
        &["--trials", "1000"],
    );
    check_output(&out);
}

#[test]
fn no_charts_changes_nothing_but_the_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let with = dir.path().join("with");
    let without = dir.path().join("without");
    let args = ["--trials", "2000", "--seed", "11"];
    simulate_drawn("tests/fixtures/twenty_units.toml", &with, &args);
    let mut no = args.to_vec();
    no.push("--no-charts");
    simulate_drawn("tests/fixtures/twenty_units.toml", &without, &no);
    let pngs: Vec<_> = fs::read_dir(&without)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .collect();
    assert!(pngs.is_empty(), "--no-charts wrote {pngs:?}");
    for file in ["summary.json", "summary.csv"] {
        assert_eq!(
            fs::read(with.join(file)).unwrap(),
            fs::read(without.join(file)).unwrap(),
            "{file} differs with and without charts"
        );
    }
    let md = fs::read_to_string(without.join("report.md")).unwrap();
    assert!(md.contains("--no-charts") && !md.contains(".png"));
    assert!(without.join("report.html").exists());
}

#[test]
fn unwritable_chart_folder_is_an_output_error() {
    let scenario = stratsim::scenario::load(&root().join("tests/fixtures/one_unit.toml")).unwrap();
    let mut scenario = scenario;
    scenario.trials = 100;
    let (plan, acc) = stratsim::engine::run(&scenario, Some(1), &|_| {}).unwrap();
    let run = stratsim::results::Run::checked(scenario, plan, acc).unwrap();
    let summary = stratsim::results::Summary::new(&run.scenario, &run.plan, &run.acc);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("does/not/exist");
    let input = stratsim::report::Input::new(&run, &summary);
    let err = stratsim::report::write_report(&missing, &input, true)
        .expect_err("writing into a missing folder fails");
    assert!(matches!(err, stratsim::Error::Output { .. }), "{err}");
    assert_eq!(err.exit_code(), stratsim::error::EXIT_OUTPUT);
}
