//! `--trials-out`: one row per trial, the same bytes for any thread count
//! or sharding, figures that agree with summary.json, and files that are
//! not ours never overwritten.

use crate::common::*;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

const TRIALS: &str = "5000"; // 5 blocks of 1024, the last one partial

fn reset() -> PathBuf {
    root().join("scenarios/reset.toml")
}

fn ok(args: &[&str]) {
    let o = run(args);
    assert!(
        o.status.success(),
        "simulate {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn gunzip(p: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(fs::File::open(p).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The column of `name` in a trials CSV, as numbers.
fn column(csv: &str, name: &str) -> Vec<f64> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let k = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| l.split(',').nth(k).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn the_same_bytes_on_one_thread_or_two_and_figures_that_match_the_summary() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (threads, name) in [("1", "t1.csv"), ("2", "t2.csv"), ("2", "t2.csv.gz")] {
        ok(&[
            s(&reset()),
            "--trials",
            TRIALS,
            "--threads",
            threads,
            "--out",
            s(&d.join(format!("o{name}"))),
            "--no-charts",
            "--no-xlsx",
            "--quiet",
            "--trials-out",
            s(&d.join(name)),
        ]);
    }
    let one = fs::read(d.join("t1.csv")).unwrap();
    assert_eq!(one, fs::read(d.join("t2.csv")).unwrap());
    assert_eq!(one, gunzip(&d.join("t2.csv.gz")));
    let csv = String::from_utf8(one).unwrap();
    assert!(csv.starts_with("trial,status_quo value y3,status_quo value y4,status_quo value y5,reset value y3,reset gain y3,"));
    assert_eq!(csv.lines().count(), 1 + 5000);
    let trial = column(&csv, "trial");
    assert!(trial.iter().enumerate().all(|(i, &t)| t == i as f64));

    // The per-trial figures are the ones the summary aggregates.
    let summary = read_json(&d.join("ot1.csv/summary.json"));
    let base = column(&csv, "status_quo value y5");
    let value = column(&csv, "reset value y5");
    let gain = column(&csv, "reset gain y5");
    for ((b, v), g) in base.iter().zip(&value).zip(&gain) {
        assert_eq!(*g, v - b);
    }
    let n = value.len() as f64;
    let r = row(&summary, "reset", 5, "value", None);
    let mean = value.iter().sum::<f64>() / n;
    assert!((mean - f(r, "mean")).abs() < 1e-9 * mean.abs());
    let mut sorted = value.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(f(r, "min"), sorted[0]);
    assert_eq!(f(r, "max"), sorted[sorted.len() - 1]);
    // CVaR5 from the sketch against the exact mean of the worst 5%
    // (250 of 5000 trials), within the documented bound.
    let worst: Vec<f64> = sorted[..250].to_vec();
    let exact = worst.iter().sum::<f64>() / 250.0;
    let magnitude = worst.iter().map(|x| x.abs()).sum::<f64>() / 250.0;
    assert!(
        (f(r, "cvar") - exact).abs() <= 0.004 * magnitude,
        "cvar {} vs exact {exact}",
        f(r, "cvar")
    );
    assert_eq!(f(r, "var"), f(r, "p5"));
    let g = row(&summary, "reset", 5, "delta_value", None);
    let mut sorted = gain.clone();
    sorted.sort_by(f64::total_cmp);
    let exact = sorted[..250].iter().sum::<f64>() / 250.0;
    let magnitude = sorted[..250].iter().map(|x| x.abs()).sum::<f64>() / 250.0;
    assert!((f(g, "cvar") - exact).abs() <= 0.004 * magnitude);
}

#[test]
fn shards_write_parts_that_merge_into_the_single_runs_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&[
        s(&reset()),
        "--trials",
        TRIALS,
        "--out",
        s(&d.join("single")),
        "--no-charts",
        "--no-xlsx",
        "--quiet",
        "--trials-out",
        s(&d.join("single.csv.gz")),
        "--trials-out-units",
    ]);
    let parts = d.join("parts");
    for i in [2, 0, 1] {
        ok(&[
            s(&reset()),
            "--trials",
            TRIALS,
            "--shard",
            &format!("{i}/3"),
            "--out",
            s(&parts),
            "--no-charts",
            "--quiet",
            "--trials-out",
            s(&parts.join(format!("trials-{i}.csv.gz"))),
            "--trials-out-units",
        ]);
    }
    // Each part is a trials file of its own.
    let part0 = String::from_utf8(gunzip(&parts.join("trials-0.csv.gz"))).unwrap();
    assert!(part0.starts_with("trial,"));
    assert!(part0.contains("reset Quark value y5"));
    let merged = d.join("merged");
    ok(&[
        "merge",
        s(&parts),
        "--out",
        s(&merged),
        "--no-charts",
        "--quiet",
        "--trials-out",
        s(&merged.join("all.csv.gz")),
    ]);
    assert_eq!(
        fs::read(merged.join("all.csv.gz")).unwrap(),
        fs::read(d.join("single.csv.gz")).unwrap()
    );
    ok(&[
        "merge",
        s(&parts),
        "--out",
        s(&d.join("m2")),
        "--no-charts",
        "--quiet",
        "--trials-out",
        s(&d.join("all.csv")),
    ]);
    assert_eq!(
        fs::read(d.join("all.csv")).unwrap(),
        gunzip(&d.join("single.csv.gz"))
    );

    // A changed part is refused, and nothing is written.
    let p1 = parts.join("trials-1.csv.gz");
    let mut bytes = fs::read(&p1).unwrap();
    let k = bytes.len() / 2;
    bytes[k] ^= 1;
    fs::write(&p1, bytes).unwrap();
    let o = run(&[
        "merge",
        s(&parts),
        "--out",
        s(&d.join("m3")),
        "--quiet",
        "--trials-out",
        s(&d.join("bad.csv")),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("trials-1.csv.gz") && err.contains("checksum"),
        "{err}"
    );
    assert!(!d.join("bad.csv").exists() && !d.join("m3").exists());
    // A shard without a trials file cannot be joined.
    fs::remove_file(&p1).unwrap();
    let o = run(&[
        "merge",
        s(&parts),
        "--out",
        s(&d.join("m4")),
        "--quiet",
        "--trials-out",
        s(&d.join("bad.csv")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("beside its partial"));
}

#[test]
fn files_it_did_not_write_are_never_overwritten_and_failed_runs_keep_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let theirs = d.join("theirs.csv");
    fs::write(&theirs, "id,score\n1,2\n").unwrap();
    let o = run(&[
        s(&fixture("one_step.toml")),
        "--out",
        s(&d.join("o")),
        "--quiet",
        "--trials-out",
        s(&theirs),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not written by simulate"));
    assert_eq!(fs::read(&theirs).unwrap(), b"id,score\n1,2\n");
    assert!(!d.join("o").exists(), "refused before running");

    // Ours is replaced by the next run.
    let ours = d.join("ours.csv");
    let args = |trials: &'static str| {
        vec![
            s(&fixture("one_step.toml")).to_string(),
            "--out".into(),
            s(&d.join("o")).to_string(),
            "--quiet".into(),
            "--no-charts".into(),
            "--trials".into(),
            trials.into(),
            "--trials-out".into(),
            s(&ours).to_string(),
        ]
    };
    let a = args("10");
    ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(fs::read_to_string(&ours).unwrap().lines().count(), 11);
    let a = args("20");
    ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let before = fs::read(&ours).unwrap();
    assert_eq!(String::from_utf8_lossy(&before).lines().count(), 21);

    // A run that fails (an overflow, exit 3) leaves it as it was, and no
    // temporary file behind.
    let overflow = d.join("overflow.toml");
    fs::write(
        &overflow,
        fs::read_to_string(fixture("one_step.toml"))
            .unwrap()
            .replace("steps_per_year = 1", "steps_per_year = 4")
            .replace("horizons = [1]", "horizons = [1, 2]")
            .replace(
                "volatility = 0.0\nmargin = -0.1",
                "volatility = 0.5\nmargin = -0.1\njumps = { rate = 8, mean = 800, stdev = 1 }",
            ),
    )
    .unwrap();
    let o = run(&[
        s(&overflow),
        "--out",
        s(&d.join("o")),
        "--quiet",
        "--trials-out",
        s(&ours),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(fs::read(&ours).unwrap(), before);
    let names: Vec<String> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains(".tmp-")), "{names:?}");
}

#[test]
fn precision_rounds_stream_every_trial_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&[
        s(&fixture("one_unit.toml")),
        "--out",
        s(&d.join("o")),
        "--quiet",
        "--no-charts",
        "--trials",
        "1000",
        "--precision",
        "0.2%",
        "--max-trials",
        "8192",
        "--trials-out",
        s(&d.join("t.csv")),
    ]);
    let summary = read_json(&d.join("o/summary.json"));
    let n = summary["trials"].as_u64().unwrap() as usize;
    let csv = fs::read_to_string(d.join("t.csv")).unwrap();
    let trial = column(&csv, "trial");
    assert_eq!(trial.len(), n);
    assert!(trial.iter().enumerate().all(|(i, &t)| t == i as f64));
}

/// `--trials-out` at the output folder's marker (or a partial result's
/// name) is refused before any work, and the previous output and its
/// marker stay as they were (before, the trials were silently lost).
#[test]
fn the_output_marker_is_never_a_trials_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let one = fixture("one_step.toml");
    ok(&[s(&one), "-q", "--no-charts", "--out", s(&out)]);
    let marker = fs::read(out.join(".stratsim-output")).unwrap();
    let summary = fs::read(out.join("summary.json")).unwrap();
    for name in [
        ".stratsim-output",
        "shard-0000-of-0002.partial",
        "uncertainty.csv",
        "funding.csv",
    ] {
        let o = run(&[
            s(&one),
            "-q",
            "--no-charts",
            "--out",
            s(&out),
            "--trials-out",
            s(&out.join(name)),
        ]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {e}");
        assert!(
            e.contains("--trials-out") && e.contains("choose another name"),
            "{e}"
        );
        assert_eq!(fs::read(out.join(".stratsim-output")).unwrap(), marker);
        assert_eq!(fs::read(out.join("summary.json")).unwrap(), summary);
    }
    // A marker of another folder stratsim wrote: refused too.
    let other = dir.path().join("other");
    ok(&[s(&one), "-q", "--no-charts", "--out", s(&other)]);
    let o = run(&[
        s(&one),
        "-q",
        "--no-charts",
        "--out",
        s(&out),
        "--trials-out",
        s(&other.join(".stratsim-output")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("marker"), "{}", stderr(&o));
}

/// The trials file's disk need is checked against the free space before
/// the first trial: on a 1 MB disk, a million rows are refused at once
/// (exit 2) and nothing is left there.
#[test]
fn a_trials_file_the_disk_cannot_hold_is_refused_before_work() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    fs::create_dir(&small).unwrap();
    let Some(_guard) = mount_tmpfs(&small, "1m") else {
        eprintln!(
            "SKIPPED a_trials_file_the_disk_cannot_hold: cannot mount a tmpfs here (needs root)"
        );
        return;
    };
    let out = dir.path().join("out");
    for name in ["t.csv", "t.csv.gz"] {
        let o = run(&[
            s(&reset()),
            "-q",
            "--no-charts",
            "--trials",
            "1000000",
            "--out",
            s(&out),
            "--trials-out",
            s(&small.join(name)),
        ]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(
            e.contains("will need about") && e.contains("free on the file system"),
            "{e}"
        );
        assert!(!out.exists());
        assert_eq!(fs::read_dir(&small).unwrap().count(), 0);
    }
    // What fits is written.
    ok(&[
        s(&fixture("one_step.toml")),
        "-q",
        "--no-charts",
        "--out",
        s(&out),
        "--trials-out",
        s(&small.join("t.csv")),
    ]);
    assert!(small.join("t.csv").exists());
}

/// A trials file's temporary file that a killed run left beside it
/// (`.NAME.tmp-PID` of a process that no longer exists) is removed by the
/// next run to that file, as the output folder's are; one that is not
/// ours (another header) stays.
#[test]
fn a_killed_runs_temporary_trials_file_is_cleaned_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let one = fixture("one_step.toml");
    let t = dir.path().join("t.csv");
    ok(&[
        s(&one),
        "-q",
        "--no-charts",
        "--out",
        s(&dir.path().join("o1")),
        "--trials-out",
        s(&t),
    ]);
    let header = fs::read_to_string(&t)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    // pids above Linux's largest (4194304) never run.
    let stale = dir.path().join(".t.csv.tmp-4194305");
    fs::write(&stale, format!("{header}\n0,1.5\n1,2")).unwrap();
    let empty = dir.path().join(".t.csv.tmp-4194306");
    fs::write(&empty, "").unwrap();
    let foreign = dir.path().join(".t.csv.tmp-4194307");
    fs::write(&foreign, "my notes\n").unwrap();
    ok(&[
        s(&one),
        "-q",
        "--no-charts",
        "--out",
        s(&dir.path().join("o2")),
        "--trials-out",
        s(&t),
    ]);
    assert!(!stale.exists() && !empty.exists());
    assert_eq!(fs::read_to_string(&foreign).unwrap(), "my notes\n");
    // And a real SIGKILL mid-run leaves one that the next run removes.
    let big = dir.path().join("big.csv");
    let mut child = bin()
        .args([
            s(&reset()),
            "-q",
            "--no-charts",
            "--trials",
            "50000000",
            "--out",
            s(&dir.path().join("o3")),
            "--trials-out",
            s(&big),
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let tmp = dir.path().join(format!(".big.csv.tmp-{}", child.id()));
    let start = std::time::Instant::now();
    while !tmp.exists() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(tmp.exists());
    ok(&[
        s(&one),
        "-q",
        "--no-charts",
        "--out",
        s(&dir.path().join("o4")),
        "--trials-out",
        s(&big),
    ]);
    assert!(!tmp.exists());
    assert!(big.exists());
}

/// `merge --trials-out` checks the joined file's disk need (the parts'
/// bytes) against the free space before it writes a byte of it.
#[test]
fn a_joined_trials_file_the_disk_cannot_hold_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let parts = d.join("parts");
    for i in ["0/2", "1/2"] {
        ok(&[
            s(&reset()),
            "--trials",
            "20000",
            "--shard",
            i,
            "--out",
            s(&parts),
            "--quiet",
            "--trials-out",
            s(&parts.join(format!("t{}.csv", &i[..1]))),
        ]);
    }
    let small = d.join("small");
    fs::create_dir(&small).unwrap();
    let Some(_guard) = mount_tmpfs(&small, "256k") else {
        eprintln!("SKIPPED a_joined_trials_file: cannot mount a tmpfs here (needs root)");
        return;
    };
    let mut partials: Vec<String> = fs::read_dir(&parts)
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_string())
        .filter(|p| p.ends_with(".partial"))
        .collect();
    partials.sort();
    let out = d.join("merged");
    let mut args = vec!["merge".to_string()];
    args.extend(partials);
    args.extend(
        [
            "--out",
            s(&out),
            "--quiet",
            "--no-charts",
            "--trials-out",
            s(&small.join("all.csv")),
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("joined") && e.contains("will need about"), "{e}");
    assert_eq!(fs::read_dir(&small).unwrap().count(), 0);
    assert!(!out.exists());
}
