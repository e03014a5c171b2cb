//! Ordinary shell use and hostile inputs never crash the tool: closed
//! pipes, full disks, FIFOs, devices, huge files, thread and memory
//! requests the machine cannot serve, forged partial results, and signals
//! at any phase. Through the real binary.

use crate::common::*;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The tests of this file run one at a time: the signal test measures
/// how fast a process ends, which a machine busy with the others' runs
/// would blur.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn reset() -> PathBuf {
    root().join("scenarios/reset.toml")
}

fn no_panic(o: &std::process::Output) {
    let err = stderr(o);
    assert!(
        !err.contains("panicked") && o.status.code() != Some(101),
        "{err}"
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // `simulate check s.toml | head -1`, `simulate s.toml | head -1`: the
    // reader goes away before the tool writes (or after one line).
    for args in [
        vec!["check".to_string(), reset().display().to_string()],
        vec!["schema".to_string()],
        vec![
            reset().display().to_string(),
            "--trials".into(),
            "1000".into(),
            "--no-charts".into(),
            "--out".into(),
            dir.path().join("o").display().to_string(),
        ],
    ] {
        let mut child = bin()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 1];
        if args[0] == "check" {
            // head -1: read a little, then close.
            let _ = out.read(&mut first);
        }
        drop(out);
        let (o, _) = wait_at_most(child, Duration::from_secs(120));
        no_panic(&o);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("error"), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn a_full_stdout_exits_4_with_a_message() {
    let _serial = serial();
    for args in [
        vec!["schema".to_string()],
        vec!["check".into(), reset().display().to_string()],
    ] {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = bin().args(&args).stdout(full).output().unwrap();
        no_panic(&o);
        assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
        assert!(stderr(&o).contains("standard output"), "{}", stderr(&o));
    }
}

#[test]
fn only_regular_scenario_files_of_a_sane_size_are_read() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.toml");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let huge = dir.path().join("huge.toml");
    // Sparse: 64 MB that take no disk.
    fs::File::create(&huge).unwrap().set_len(64 << 20).unwrap();
    let extends = |target: &str| {
        let p = dir
            .path()
            .join(format!("ext_{}.toml", target.replace('/', "_")));
        fs::write(&p, format!("extends = {target:?}\n")).unwrap();
        p
    };
    let cases: Vec<(PathBuf, &str)> = vec![
        (fifo.clone(), "FIFO"),
        (PathBuf::from("/dev/zero"), "a device"),
        (dir.path().to_path_buf(), "a folder"),
        (huge.clone(), "bytes"),
        (extends("/dev/zero"), "a device"),
        (extends(fifo.to_str().unwrap()), "FIFO"),
        (extends(huge.to_str().unwrap()), "bytes"),
    ];
    for (path, words) in cases {
        let p = path.to_str().unwrap();
        for args in [vec![p, "--quiet"], vec!["check", p]] {
            let child = bin()
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let (o, took) = wait_at_most(child, Duration::from_secs(20));
            no_panic(&o);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains(words), "{args:?}: want {words:?} in {err}");
            assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
        }
    }
}

#[test]
fn rayon_num_threads_is_capped_like_threads() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    for (value, words) in [("100000", "1024"), ("lots", "not a number")] {
        let o = run_env(
            &[
                fixture("one_step.toml").to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            &[("RAYON_NUM_THREADS", value)],
        );
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("RAYON_NUM_THREADS") && stderr(&o).contains(words));
        assert!(!out.exists());
    }
    let o = run_env(
        &[
            fixture("one_step.toml").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "-q",
        ],
        &[("RAYON_NUM_THREADS", "3")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_run_that_would_not_fit_in_memory_is_refused_with_the_figure() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    // Within every documented limit: 1000 units x 9 policies x 11 horizons.
    let big = dir.path().join("big.toml");
    fs::write(&big, generated_scenario(1000, 9, 11)).unwrap();
    let out = dir.path().join("o");
    let child = bin()
        .args([big.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .env("STRATSIM_MEMORY", "2G")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (o, took) = wait_at_most(child, Duration::from_secs(60));
    no_panic(&o);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for words in [
        "needs about",
        "GB",
        "2.1 GB",
        "units, policies or horizons",
        "1000 units",
    ] {
        assert!(err.contains(words), "want {words:?} in {err}");
    }
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert!(!out.exists());
    // Threads multiply it: refused whatever the machine's memory.
    let o = run(&[
        big.to_str().unwrap(),
        "--threads",
        "1024",
        "--out",
        out.to_str().unwrap(),
    ]);
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("1024 worker threads"), "{}", stderr(&o));
    // A bad STRATSIM_MEMORY is refused, not ignored.
    let o = run_env(&[big.to_str().unwrap()], &[("STRATSIM_MEMORY", "plenty")]);
    assert_eq!(o.status.code(), Some(2));
}

/// `simulate optimize` keeps each candidate's value in every trial; the
/// memory estimate counts it, so a huge trial count is refused before
/// work (exit 2, as the run's memory refusal) instead of growing until
/// the allocator aborts (exit 134).
#[test]
fn an_optimization_that_would_not_fit_in_memory_is_refused_before_work() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let scenario = root().join("scenarios/optimize_reset.toml");
    let mut child = bin();
    child
        .args([
            "optimize",
            scenario.to_str().unwrap(),
            "--trials",
            "100000000",
            "--out",
            out.to_str().unwrap(),
        ])
        .env("STRATSIM_MEMORY", "8G")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let (o, took) = wait_at_most(child.spawn().unwrap(), Duration::from_secs(60));
    no_panic(&o);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for words in [
        "needs about",
        "for the search's candidates",
        "bytes a trial x 100000000 trials",
        "8.6 GB set by STRATSIM_MEMORY",
        "trials fit",
    ] {
        assert!(err.contains(words), "want {words:?} in {err}");
    }
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert!(!out.exists());
}

/// The shards of a small run, in `dir`.
fn partials(dir: &Path) -> Vec<PathBuf> {
    (0..2)
        .map(|i| {
            let o = run(&[
                fixture("one_step.toml").to_str().unwrap(),
                "--trials",
                "3000",
                "--shard",
                &format!("{i}/2"),
                "--out",
                dir.to_str().unwrap(),
                "-q",
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
            dir.join(format!("shard-{i:04}-of-0002.partial"))
        })
        .collect()
}

/// Rewrites a partial's body with `edit` and a recomputed checksum (what a
/// forger would do).
fn forge(src: &Path, dst: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let bytes = fs::read(src).unwrap();
    let nl = bytes.iter().position(|&b| b == b'\n').unwrap();
    let mut body: serde_json::Value = serde_json::from_slice(&bytes[nl + 1..]).unwrap();
    edit(&mut body);
    let body = serde_json::to_vec(&body).unwrap();
    let sum = sha256_hex(&body);
    let mut out = format!("stratsim-partial 1 {sum}\n").into_bytes();
    out.extend_from_slice(&body);
    fs::write(dst, out).unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let o = child.wait_with_output().unwrap();
    String::from_utf8(o.stdout).unwrap()[..64].to_string()
}

#[test]
fn forged_partials_are_refused_without_aborting() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("parts");
    let files = partials(&parts);
    let forged = dir.path().join("forged");
    fs::create_dir(&forged).unwrap();
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "a huge sketch offset",
            Box::new(|b| {
                b["accumulator"]["metrics"][0]["sketch"]["positive"]["offset"] =
                    9_000_000_000_000_000_000i64.into()
            }),
            "outside the range",
        ),
        (
            "trials = 0, consistent with itself",
            Box::new(|b| {
                b["trials"] = 0.into();
                b["scenario"]["trials"] = 0.into();
            }),
            "0 trials",
        ),
        (
            "a sketch count that does not add up",
            Box::new(|b| {
                let c = b["accumulator"]["metrics"][1]["sketch"]["count"]
                    .as_u64()
                    .unwrap();
                b["accumulator"]["metrics"][1]["sketch"]["count"] = (c + 7).into();
            }),
            "do not add up",
        ),
        (
            "trials that are not its blocks'",
            Box::new(|b| b["accumulator"]["trials"] = 66_208.into()),
            "do not add up",
        ),
        (
            "a shard count of four billion",
            Box::new(|b| b["shard"]["count"] = 4_000_000_000u32.into()),
            "no run has",
        ),
        (
            "moment sums of the wrong length",
            Box::new(|b| b["accumulator"]["metrics"][0]["s1"]["chunks"] = serde_json::json!([1])),
            "malformed",
        ),
        (
            "a wrong number of figures",
            Box::new(|b| {
                b["accumulator"]["metrics"].as_array_mut().unwrap().pop();
            }),
            "figures",
        ),
        (
            "shifts that are not the run's",
            Box::new(|b| b["accumulator"]["shift"][0] = 12345.5.into()),
            "shifts",
        ),
        (
            "more trials beating the baseline than run",
            Box::new(|b| b["accumulator"]["positive"][0] = 1_000_000.into()),
            "beat the baseline",
        ),
        (
            "a correlation of keys that are not drawn (the copula would panic)",
            Box::new(|b| {
                b["scenario"]["correlations"] =
                    serde_json::json!([{"a": [0, "growth"], "b": [1, "growth"], "rank": 0.5}])
            }),
            "correlations outside their rules",
        ),
        (
            "a correlation naming a unit that does not exist",
            Box::new(|b| {
                b["scenario"]["correlations"] =
                    serde_json::json!([{"a": [99, "growth"], "b": [0, "growth"], "rank": 0.5}])
            }),
            "correlations outside their rules",
        ),
    ];
    for (i, (what, edit, words)) in cases.iter().enumerate() {
        let f = forged.join(format!("case{i}.partial"));
        forge(&files[0], &f, edit);
        let out = dir.path().join(format!("m{i}"));
        let o = run(&[
            "merge",
            f.to_str().unwrap(),
            files[1].to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        no_panic(&o);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(words), "{what}: want {words:?} in {err}");
        assert!(!out.exists(), "{what}");
    }
    // A FIFO or a device as a partial is refused at once, never opened.
    let fifo = dir.path().join("shard-0000-of-0001.partial");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for (p, words) in [("/dev/zero", "a device"), (fifo.to_str().unwrap(), "FIFO")] {
        let child = bin()
            .args(["merge", p, "--out", dir.path().join("x").to_str().unwrap()])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (o, _) = wait_at_most(child, Duration::from_secs(20));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(words), "{}", stderr(&o));
    }
}

/// Spawns `args`, waits until `ready` holds, sends `sig`, and returns the
/// exit code, stderr and the time from signal to exit.
fn signal_at(
    args: &[&str],
    ready: impl Fn() -> bool,
    sig: &str,
) -> (Option<i32>, String, Duration) {
    let child = bin()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(60), "never got ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    let sent = Instant::now();
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args([sig, &pid])
        .status()
        .unwrap()
        .success());
    let (o, _) = wait_at_most(child, Duration::from_secs(30));
    (o.status.code(), stderr(&o), sent.elapsed())
}

#[test]
fn one_signal_ends_the_process_within_a_second_at_any_phase() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    simulate(&fixture("one_step.toml"), &out, &[]);
    let before = fs::read(out.join("summary.json")).unwrap();
    let tmp_exists = || {
        fs::read_dir(dir.path()).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".out.tmp-")
        })
    };
    // Drawing charts: a chart is in the temporary folder (a run used to
    // draw on, then put the new output in place and exit 0).
    let drawing = || {
        fs::read_dir(dir.path()).unwrap().any(|e| {
            let e = e.unwrap();
            e.file_name().to_string_lossy().starts_with(".out.tmp-")
                && fs::read_dir(e.path()).is_ok_and(|mut d| {
                    d.any(|f| f.is_ok_and(|f| f.path().extension().is_some_and(|x| x == "png")))
                })
        })
    };
    let charts_run = [
        reset().to_str().unwrap().to_string(),
        "--trials".into(),
        "1000".into(),
        "--out".into(),
        out.to_str().unwrap().into(),
    ];
    // Building and checking 400 sweep points of a 1000-unit scenario: no
    // step of it looks at the signal flag (the handler ends it).
    let big = dir.path().join("big.toml");
    let values: Vec<String> = (0..400).map(|i| format!("{}", 0.001 * i as f64)).collect();
    fs::write(
        &big,
        generated_scenario(1000, 1, 1)
            + &format!(
                "[[sweep]]\npath = \"units.u1.growth\"\nvalues = [{}]\n",
                values.join(", ")
            ),
    )
    .unwrap();
    let long_run = [
        reset().to_str().unwrap().to_string(),
        "--trials".into(),
        "50000000".into(),
        "--out".into(),
        out.to_str().unwrap().into(),
    ];
    let sweep_run = [
        reset().to_str().unwrap().to_string(),
        "--trials".into(),
        "2000".into(),
        "--sweep".into(),
        "units.Xianyu.growth=0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8".into(),
        "--out".into(),
        out.to_str().unwrap().into(),
    ];
    let planning = [
        big.to_str().unwrap().to_string(),
        "--out".into(),
        out.to_str().unwrap().into(),
    ];
    let started = Instant::now();
    let after = |ms: u64| move || started.elapsed() > Duration::from_millis(ms);
    for sig in ["-TERM", "-INT"] {
        type Ready<'a> = Box<dyn Fn() -> bool + 'a>;
        // (arguments, when it is in the phase, least time from the start)
        let cases: Vec<(&[String], Ready, u64)> = vec![
            (&long_run, Box::new(tmp_exists), 400),
            (&sweep_run, Box::new(tmp_exists), 400),
            (&charts_run, Box::new(drawing), 0),
            (&planning, Box::new(after(0)), 400),
        ];
        for (args, ready, least) in cases {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let start = Instant::now();
            let ready = move || ready() && start.elapsed() > Duration::from_millis(least);
            let (code, err, took) = signal_at(&args, ready, sig);
            assert_eq!(code, Some(130), "{sig} {args:?}: {err}");
            assert!(
                took < Duration::from_millis(1500),
                "{sig} {args:?}: took {took:?}"
            );
            assert_eq!(fs::read(out.join("summary.json")).unwrap(), before);
            let left: Vec<String> = fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".out"))
                .collect();
            assert!(left.is_empty(), "{sig} {args:?}: left {left:?}");
        }
    }
}
