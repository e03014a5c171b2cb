//! Nothing a user types or a machine does loses work: interruptions, full
//! disks and bad output paths leave the previous output intact, with clear
//! messages and exit codes.

use crate::common::*;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill {sig} {pid} failed");
}

/// Starts a long run into `out`, waits until it is computing, interrupts it
/// with `signals` (sent 50 ms apart) and returns its exit code and stderr.
fn interrupt(out: &Path, signals: &[&str]) -> (Option<i32>, String, Duration) {
    let child = bin()
        .args([
            root().join("scenarios/reset.toml").to_str().unwrap(),
            "--trials",
            "50000000",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its temporary folder appears once the run has started.
    let parent = out.parent().unwrap();
    let start = Instant::now();
    while leftovers(parent).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    for s in signals {
        signal(child.id(), s);
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        sent.elapsed(),
    )
}

#[test]
fn interrupting_a_run_keeps_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    simulate(&fixture("one_step.toml"), &out, &[]);
    let before = fs::read(out.join("summary.json")).unwrap();

    for signals in [&["-INT"][..], &["-TERM"][..], &["-INT", "-INT"][..]] {
        let (code, err, took) = interrupt(&out, signals);
        assert_eq!(code, Some(130), "{signals:?}: {err}");
        assert!(err.contains("interrupted"), "{signals:?}: {err}");
        assert!(took < Duration::from_secs(20), "{signals:?}: took {took:?}");
        assert_eq!(
            fs::read(out.join("summary.json")).unwrap(),
            before,
            "{signals:?}"
        );
        assert!(
            leftovers(dir.path()).is_empty(),
            "{signals:?}: {:?}",
            leftovers(dir.path())
        );
    }
}

#[test]
fn output_path_problems_exit_4_with_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = fixture("one_step.toml");
    let file = dir.path().join("file");
    fs::write(&file, "x").unwrap();
    for (out, words) in [
        (file.clone(), "a file is in the way"),
        (file.join("sub"), "does not exist"),
        (dir.path().join("missing/out"), "does not exist"),
    ] {
        let o = run(&[scenario.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(4), "{}: {err}", out.display());
        assert!(err.contains(words), "{err}");
    }
    // An unwritable folder (root can write anywhere, so only as a user).
    let ro = dir.path().join("ro");
    fs::create_dir(&ro).unwrap();
    let _ = Command::new("chmod")
        .args(["555", ro.to_str().unwrap()])
        .status();
    if fs::write(ro.join("probe"), "x").is_err() {
        let o = run(&[
            scenario.to_str().unwrap(),
            "--out",
            ro.join("out").to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(4));
    }
}

#[test]
fn a_full_disk_exits_4_and_keeps_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    fs::create_dir(&small).unwrap();
    let Some(_guard) = mount_tmpfs(&small, "48k") else {
        eprintln!("SKIPPED a_full_disk_exits_4: cannot mount a tmpfs here (needs root)");
        return;
    };
    let out = small.join("out");
    // A small summary fits (without charts)...
    simulate(&fixture("one_step.toml"), &out, &["--no-charts"]);
    let before = fs::read(out.join("summary.json")).unwrap();
    // ...the reset scenario's does not.
    let o = run(&[
        root().join("scenarios/reset.toml").to_str().unwrap(),
        "--trials",
        "1000",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(fs::read(out.join("summary.json")).unwrap(), before);
    assert!(leftovers(&small).is_empty(), "{:?}", leftovers(&small));
}
