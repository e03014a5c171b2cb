//! No run deletes a file stratsim did not write: an output folder is
//! replaced only when it is new, empty, or one stratsim wrote (and still
//! holds nothing else); everything else is refused before any work, with
//! the folder and the reason. Through the real binary.

use crate::common::*;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn scenario() -> PathBuf {
    fixture("one_step.toml")
}

fn run_to(out: &Path) -> std::process::Output {
    run(&[
        scenario().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ])
}

/// Refused with exit 2 before any work, naming the folder and `words`.
fn assert_refused(o: &std::process::Output, out: &Path, words: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&out.display().to_string()), "{err}");
    assert!(err.contains(words), "want {words:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_folder_holding_files_stratsim_did_not_write_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("d");
    fs::create_dir_all(d.join("sub")).unwrap();
    fs::write(d.join("thesis.xlsx"), "my thesis").unwrap();
    fs::write(d.join("sub/notes.txt"), "notes").unwrap();
    let o = run_to(&d);
    assert_refused(&o, &d, "thesis.xlsx");
    assert!(stderr(&o).contains("did not write"), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(d.join("thesis.xlsx")).unwrap(),
        "my thesis"
    );
    assert_eq!(
        fs::read_to_string(d.join("sub/notes.txt")).unwrap(),
        "notes"
    );
    assert!(!d.join("summary.json").exists());
    // Nothing left beside it either.
    let names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["d"]);
}

#[test]
fn a_folder_stratsim_wrote_is_replaced_until_someone_adds_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap(); // empty: fine
    assert!(run_to(&out).status.success());
    assert!(out.join(".stratsim-output").exists());
    assert!(run_to(&out).status.success(), "its own folder again");
    fs::write(out.join("my_notes.md"), "keep me").unwrap();
    let o = run_to(&out);
    assert_refused(&o, &out, "my_notes.md");
    assert_eq!(
        fs::read_to_string(out.join("my_notes.md")).unwrap(),
        "keep me"
    );
    assert!(out.join("summary.json").exists());
}

#[test]
fn a_folder_of_other_outputs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    fs::create_dir(&output).unwrap();
    let other = output.join("cloud");
    assert!(run_to(&other).status.success());
    let o = run_to(&output);
    assert_refused(&o, &output, "another run's output");
    assert!(other.join("summary.json").exists());
}

/// The folder rule has no exception: a folder without the marker that
/// holds only what a run writes (an output of a version before the
/// marker, or a user's summary.json) is refused, saying how to move it,
/// and left as it was.
#[test]
fn a_folder_without_the_marker_is_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for files in [
        &["summary.json"][..],
        &["summary.json", "summary.csv"][..],
        &["summary.json", "summary.csv", "report.md", "value_cdf.png"][..],
    ] {
        fs::create_dir(&out).unwrap();
        for f in files {
            fs::write(out.join(f), "mine").unwrap();
        }
        let o = run_to(&out);
        assert_refused(&o, &out, "summary.json");
        let e = stderr(&o);
        assert!(
            e.contains("no .stratsim-output marker") && e.contains("mv "),
            "{e}"
        );
        for f in files {
            assert_eq!(fs::read_to_string(out.join(f)).unwrap(), "mine", "{f}");
        }
        assert!(!out.join(".stratsim-output").exists());
        // Moved aside as the message says, the run goes on.
        let aside = dir.path().join("out.old");
        fs::rename(&out, &aside).unwrap();
        assert!(run_to(&out).status.success());
        fs::remove_dir_all(&out).unwrap();
        fs::remove_dir_all(&aside).unwrap();
    }
}

#[test]
fn a_folder_holding_the_scenario_its_parent_or_the_current_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("scenarios");
    fs::create_dir(&sc).unwrap();
    let base = sc.join("base.toml");
    fs::copy(scenario(), &base).unwrap();
    // The folder of the scenario itself.
    let o = run(&[base.to_str().unwrap(), "--out", sc.to_str().unwrap(), "-q"]);
    assert_refused(&o, &sc, "the scenario");
    assert!(base.exists());
    // A variant elsewhere, whose parent sits in the output folder.
    let variants = dir.path().join("variants");
    fs::create_dir(&variants).unwrap();
    let v = variants.join("v.toml");
    fs::write(
        &v,
        format!(
            "extends = {:?}\n[scenario]\nseed = 9\n",
            base.to_str().unwrap()
        ),
    )
    .unwrap();
    let o = run(&[v.to_str().unwrap(), "--out", sc.to_str().unwrap(), "-q"]);
    assert_refused(&o, &sc, "a scenario it extends");
    // A marked folder that holds the scenario is refused as well.
    let marked = dir.path().join("marked");
    assert!(run_to(&marked).status.success());
    let inside = marked.join("s.toml");
    fs::copy(scenario(), &inside).unwrap();
    let o = run(&[
        inside.to_str().unwrap(),
        "--out",
        marked.to_str().unwrap(),
        "-q",
    ]);
    assert_refused(&o, &marked, "the scenario");
    assert!(inside.exists());
    // The current folder ("." or a parent of it).
    let o = bin()
        .current_dir(&variants)
        .args([scenario().to_str().unwrap(), "--out", ".", "-q"])
        .output()
        .unwrap();
    assert_refused(&o, Path::new("."), "current folder");
    assert!(v.exists());
}

#[test]
fn merge_never_replaces_its_partials_and_needs_an_out() {
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("parts");
    for i in 0..2 {
        let o = run(&[
            scenario().to_str().unwrap(),
            "--trials",
            "3000",
            "--shard",
            &format!("{i}/2"),
            "--out",
            parts.to_str().unwrap(),
            "-q",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = run(&[
        "merge",
        parts.to_str().unwrap(),
        "--out",
        parts.to_str().unwrap(),
    ]);
    assert_refused(&o, &parts, "partial result");
    assert!(parts.join("shard-0000-of-0002.partial").exists());
    assert!(parts.join("shard-0001-of-0002.partial").exists());
    // No --out: the output path never comes from a partial (whose `stem`
    // could say "../../x").
    let o = bin()
        .current_dir(dir.path())
        .args(["merge", parts.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--out"), "{}", stderr(&o));
    assert!(!dir.path().join("output").exists());
    let merged = dir.path().join("merged");
    let o = run(&[
        "merge",
        parts.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_symlink_is_followed_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    // Dangling: refused, nothing created.
    let o = run_to(&link);
    assert_refused(&o, &link, "symbolic link to nothing");
    assert!(!real.exists());
    fs::create_dir(&real).unwrap();
    assert!(run_to(&link).status.success());
    assert!(run_to(&link).status.success());
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(real.join("summary.json").exists());
    // The folder it points to follows the same rules.
    fs::write(real.join("mine.txt"), "x").unwrap();
    assert_refused(&run_to(&link), &link, "mine.txt");
}

#[test]
fn temporary_folders_of_killed_runs_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // As a SIGKILLed run leaves them: pid 4194304 is above Linux's largest.
    let stale = dir.path().join(".out.tmp-4194304");
    fs::create_dir(&stale).unwrap();
    fs::write(
        stale.join(".stratsim-output"),
        "stratsim output folder: a later run may replace this folder when it holds only the files listed here\n",
    )
    .unwrap();
    fs::write(stale.join("summary.json"), "{}").unwrap();
    // A folder of that shape stratsim did not make is left alone.
    let foreign = dir.path().join(".out.tmp-4194305");
    fs::create_dir(&foreign).unwrap();
    fs::write(foreign.join("x"), "not stratsim's").unwrap();
    assert!(run_to(&out).status.success());
    assert!(!stale.exists());
    assert!(foreign.join("x").exists());
    // And a real SIGKILL mid-run leaves one that the next run removes.
    let child = bin()
        .args([
            root().join("scenarios/reset.toml").to_str().unwrap(),
            "--trials",
            "50000000",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let tmp = dir.path().join(format!(".out.tmp-{}", child.id()));
    let start = Instant::now();
    while !tmp.join(".stratsim-output").exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = wait_at_most(child, Duration::from_secs(10));
    assert!(tmp.exists(), "SIGKILL leaves it");
    assert!(run_to(&out).status.success());
    assert!(!tmp.exists(), "the next run removes it");
    assert!(!dir.path().join(".out.lock").exists());
}

#[test]
fn a_second_run_to_the_same_folder_says_so_and_the_first_wins() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let first = bin()
        .args([
            root().join("scenarios/reset.toml").to_str().unwrap(),
            "--trials",
            "20000",
            "--no-charts",
            "--out",
            out.to_str().unwrap(),
            "-q",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lock = dir.path().join(".out.lock");
    let start = Instant::now();
    while !lock.exists() {
        assert!(start.elapsed() < Duration::from_secs(30), "never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = run_to(&out);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("is writing this folder now"), "{err}");
    assert!(err.contains(&first.id().to_string()), "{err}");
    let (o, _) = wait_at_most(first, Duration::from_secs(300));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("summary.json").exists());
    assert!(!lock.exists());
    // Many at once: each either writes or says the folder is busy; none
    // fails on the renames (exit 4) and the output is whole.
    let kids: Vec<_> = (0..6)
        .map(|_| {
            bin()
                .args([
                    scenario().to_str().unwrap(),
                    "--no-charts",
                    "--out",
                    out.to_str().unwrap(),
                    "-q",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for k in kids {
        let (o, _) = wait_at_most(k, Duration::from_secs(120));
        let err = stderr(&o);
        match o.status.code() {
            Some(0) => {}
            Some(2) => assert!(err.contains("is writing this folder now"), "{err}"),
            c => panic!("exit {c:?}: {err}"),
        }
    }
    assert!(read_json(&out.join("summary.json"))["rows"].is_array());
}

#[test]
fn a_mount_point_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let Some(_guard) = mount_tmpfs(&mnt, "1m") else {
        eprintln!("SKIPPED a_mount_point_is_refused: cannot mount a tmpfs here (needs root)");
        return;
    };
    // A run that would take minutes: refused at once.
    let child = bin()
        .args([
            root().join("scenarios/reset.toml").to_str().unwrap(),
            "--trials",
            "50000000",
            "--out",
            mnt.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (o, took) = wait_at_most(child, Duration::from_secs(20));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(
        err.contains("mount point") && err.contains("inside it"),
        "{err}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    // A folder inside it is fine.
    assert!(run_to(&mnt.join("run")).status.success());
}
