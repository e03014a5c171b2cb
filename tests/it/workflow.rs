//! The strategist's workflow through the binary: sweeps, sensitivity,
//! --precision and --watch, on real scenario files.

use crate::common::*;

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn csv(path: &std::path::Path) -> Vec<Vec<String>> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn the_shipped_innovation_cycle_sweep_runs_on_common_draws() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ic");
    simulate(
        &root().join("scenarios/innovation_cycles.toml"),
        &out,
        &["--trials", "2000"],
    );
    let rows = csv(&out.join("sweep.csv"));
    assert_eq!(rows[0][0], "policies.reset.innovation.years");
    assert_eq!(
        rows.len(),
        1 + 3 * 2 * 4,
        "3 points x 2 policies x 4 horizons"
    );
    let get = |years: &str, policy: &str, h: &str, col: usize| -> f64 {
        rows.iter()
            .find(|r| r[0] == years && r[1] == policy && r[2] == h)
            .unwrap_or_else(|| panic!("no row {years} {policy} {h}"))[col]
            .parse()
            .unwrap()
    };
    // Same draws: funding years beyond 3 cannot change year-3 figures, and
    // the baseline does not move at all.
    assert_eq!(get("3", "reset", "3", 3), get("5", "reset", "3", 3));
    assert_eq!(
        get("3", "status_quo", "5", 3),
        get("5", "status_quo", "5", 3)
    );
    // ...but they do change year-5 figures.
    assert_ne!(get("3", "reset", "5", 3), get("5", "reset", "5", 3));
    // The base run's outputs are written too.
    assert!(out.join("summary.json").exists());
}

#[test]
fn command_line_sweeps_make_a_two_way_grid() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("grid");
    simulate(
        &root().join("scenarios/cloud_spinoff.toml"),
        &out,
        &[
            "--trials",
            "1000",
            "--sweep",
            "policies.spin_off.non_core.exit_discount=0,0.2",
            "--sweep",
            "units.\"Cloud Intelligence\".growth=0.0,0.05,0.1",
        ],
    );
    let rows = csv(&out.join("sweep.csv"));
    assert_eq!(rows.len(), 1 + 2 * 3 * 2 * 2);
    assert_eq!(rows[0][0], "policies.spin_off.non_core.exit_discount");
    assert_eq!(rows[0][1], "\"units.\"\"Cloud Intelligence\"\".growth\"");
    // A bigger discount lowers the value of selling Cloud.
    let value = |disc: &str, growth: &str| -> f64 {
        rows.iter()
            .find(|r| r[0] == disc && r[1] == growth && r[2] == "spin_off" && r[3] == "5")
            .unwrap()[4]
            .parse()
            .unwrap()
    };
    assert!(value("0.2", "0.05") < value("0", "0.05"));
}

#[test]
fn bad_sweeps_are_refused_with_their_location() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad_sweep.toml");
    fs::write(
        &f,
        "extends = \"../../scenarios/reset.toml\"\n\n[[sweep]]\npath = \"policies.reset.innovation.yeras\"\nvalues = [3, 4]\n",
    )
    .unwrap();
    // extends is relative to the file: point it at the real reset.toml.
    let text = fs::read_to_string(&f).unwrap().replace(
        "../../scenarios/reset.toml",
        root().join("scenarios/reset.toml").to_str().unwrap(),
    );
    fs::write(&f, text).unwrap();
    let o = run(&[
        f.to_str().unwrap(),
        "--trials",
        "100",
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("unknown key `yeras`; did you mean `years`?"),
        "{err}"
    );
    let o = run(&[
        root().join("scenarios/reset.toml").to_str().unwrap(),
        "--sweep",
        "units.Nobody.growth=0.1",
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("names no unit"), "{err}");
    assert!(!dir.path().join("o").exists());
}

#[test]
fn sensitivity_ranks_inputs_by_their_effect_on_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sens");
    simulate(
        &root().join("scenarios/cloud_spinoff.toml"),
        &out,
        &["--trials", "1000", "--sensitivity"],
    );
    let rows = csv(&out.join("sensitivity.csv"));
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    assert_eq!(rows[0][..3], ["policy", "rank", "input"]);
    // Only the policy compared with the baseline has rows, largest swing of
    // its mean gain first.
    assert!(rows[1..].iter().all(|r| r[0] == "spin_off"));
    let swings: Vec<f64> = rows[1..]
        .iter()
        .map(|r| r[col("swing")].parse().unwrap())
        .collect();
    assert!(
        swings.windows(2).all(|w| w[0] >= w[1]),
        "not sorted: {swings:?}"
    );
    let row = |input: &str| {
        rows.iter()
            .find(|r| r[col("input")] == input)
            .unwrap_or_else(|| panic!("no input {input}"))
    };
    // The multiple of a unit that is kept and valued by its own cash under
    // both policies moves each policy alike: nothing for the decision.
    let taobao = row("Taobao & Tmall multiple median");
    assert_eq!(taobao[col("swing")], "0.0");
    // The multiple Cloud is sold at moves the gain of selling it.
    let cloud = row("Cloud Intelligence multiple median");
    let lo: f64 = cloud[col("gain_change_low")].parse().unwrap();
    let hi: f64 = cloud[col("gain_change_high")].parse().unwrap();
    assert!(lo < 0.0 && hi > 0.0, "{lo} {hi}");
    // Policy levers and the discount rate are inputs too.
    assert!(rows.iter().any(|r| r[col("owner")] == "policy"));
    row("discount rate");
}

#[test]
fn precision_adds_blocks_until_the_standard_error_is_small_enough() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p");
    let s = simulate(
        &root().join("scenarios/reset.toml"),
        &out,
        &["--trials", "1000", "--precision", "0.25%"],
    );
    let trials = s["trials"].as_u64().unwrap();
    assert!(trials > 1024 && trials.is_multiple_of(1024), "{trials}");
    let v = row(&s, "status_quo", 5, "value", None);
    assert!(f(v, "stderr") / f(v, "mean") < 0.0025);
    // Exactly a plain run with that many trials.
    let plain = dir.path().join("plain");
    simulate(
        &root().join("scenarios/reset.toml"),
        &plain,
        &["--trials", &trials.to_string()],
    );
    assert_eq!(
        fs::read(out.join("summary.json")).unwrap(),
        fs::read(plain.join("summary.json")).unwrap()
    );
    // A cap stops it.
    let capped = dir.path().join("capped");
    let s = simulate(
        &root().join("scenarios/reset.toml"),
        &capped,
        &[
            "--trials",
            "1000",
            "--precision",
            "0.0001%",
            "--max-trials",
            "3000",
        ],
    );
    assert_eq!(s["trials"], 3072);
    let o = run(&[
        root().join("scenarios/reset.toml").to_str().unwrap(),
        "--precision",
        "150%",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn watch_reruns_on_save_and_keeps_the_last_good_output() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("w.toml");
    let good = fs::read_to_string(fixture("one_step.toml")).unwrap();
    fs::write(&scenario, &good).unwrap();
    let out = dir.path().join("out");
    let mut child = bin()
        .args([
            scenario.to_str().unwrap(),
            "--watch",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_for = |what: &str| {
        let start = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(l) if l.contains(what) => return,
                Ok(_) => {}
                Err(_) => panic!("no {what:?} from --watch"),
            }
            assert!(start.elapsed() < Duration::from_secs(30), "no {what:?}");
        }
    };
    wait_for("watching");
    let first = read_json(&out.join("summary.json"));
    assert_eq!(first["seed"], 3);
    // A good edit re-runs.
    std::thread::sleep(Duration::from_millis(50));
    fs::write(&scenario, good.replace("seed = 3", "seed = 4")).unwrap();
    wait_for("watching");
    assert_eq!(read_json(&out.join("summary.json"))["seed"], 4);
    // An invalid edit reports and keeps the last good output.
    fs::write(&scenario, good.replace("seed = 3", "seed = -4")).unwrap();
    wait_for("scenario.seed");
    wait_for("watching");
    assert_eq!(read_json(&out.join("summary.json"))["seed"], 4);
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
}
