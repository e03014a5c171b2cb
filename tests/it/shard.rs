//! Sharded runs merge into exactly the outputs of a single run, and every
//! kind of bad partial is refused.

use crate::common::*;

use std::fs;
use std::path::{Path, PathBuf};

const TRIALS: &str = "5000"; // 5 blocks of 1024, the last one partial

fn scenario() -> PathBuf {
    root().join("scenarios/reset.toml")
}

fn shard(dir: &Path, i: u32, n: u32, extra: &[&str]) -> PathBuf {
    let spec = format!("{i}/{n}");
    let mut args = vec![scenario().to_str().unwrap().to_string()];
    if !extra.contains(&"--trials") {
        args.extend(["--trials".to_string(), TRIALS.to_string()]);
    }
    args.extend([
        "--shard".into(),
        spec,
        "--out".into(),
        dir.to_str().unwrap().into(),
        "--quiet".into(),
    ]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = bin().args(&args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    dir.join(format!("shard-{i:04}-of-{n:04}.partial"))
}

fn merge(out: &Path, partials: &[PathBuf]) -> std::process::Output {
    let mut cmd = bin();
    cmd.arg("merge");
    cmd.args(partials);
    cmd.args(["--out", out.to_str().unwrap(), "--quiet"]);
    cmd.output().unwrap()
}

#[test]
fn merged_shards_equal_a_single_run_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("single");
    simulate(&scenario(), &single, &["--trials", TRIALS]);
    let want_json = fs::read(single.join("summary.json")).unwrap();
    let want_csv = fs::read(single.join("summary.csv")).unwrap();
    for n in [1u32, 2, 3, 7] {
        let parts = dir.path().join(format!("parts{n}"));
        // Shards in reverse order, one of them on 2 threads: order and
        // threads must not matter. With 7 shards and 5 blocks some are empty.
        let files: Vec<PathBuf> = (0..n)
            .rev()
            .map(|i| shard(&parts, i, n, if i == 0 { &["--threads", "2"] } else { &[] }))
            .collect();
        let out = dir.path().join(format!("merged{n}"));
        let o = merge(&out, &files);
        assert!(
            o.status.success(),
            "n={n}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            fs::read(out.join("summary.json")).unwrap(),
            want_json,
            "n={n}"
        );
        assert_eq!(
            fs::read(out.join("summary.csv")).unwrap(),
            want_csv,
            "n={n}"
        );
        // A folder of partials works too.
        let out2 = dir.path().join(format!("merged{n}_dir"));
        let o = merge(&out2, std::slice::from_ref(&parts));
        assert!(o.status.success());
        assert_eq!(fs::read(out2.join("summary.json")).unwrap(), want_json);
    }
}

fn refused(out: &Path, partials: &[PathBuf], words: &str) {
    let o = merge(out, partials);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(2),
        "want refusal ({words}), got: {err}"
    );
    assert!(err.contains(words), "want {words:?} in: {err}");
    assert!(!err.contains("panicked"));
    assert!(
        !out.join("summary.json").exists(),
        "a refused merge wrote output"
    );
}

#[test]
fn bad_partials_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a0 = shard(&d.join("a"), 0, 2, &[]);
    let a1 = shard(&d.join("a"), 1, 2, &[]);
    let out = d.join("out");

    // Different seed, trials, scenario, shard count.
    let seed1 = shard(&d.join("seed"), 1, 2, &["--seed", "5"]);
    refused(&out, &[a0.clone(), seed1], "seed 5 vs 20231116");
    let trials1 = shard(&d.join("trials"), 1, 2, &["--trials", "6000"]);
    refused(&out, &[a0.clone(), trials1], "trials 6000 vs 5000");
    let o = bin()
        .args([
            root()
                .join("scenarios/cloud_spinoff.toml")
                .to_str()
                .unwrap(),
            "--trials",
            TRIALS,
            "--shard",
            "1/2",
            "--out",
            d.join("other").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    refused(
        &out,
        &[a0.clone(), d.join("other/shard-0001-of-0002.partial")],
        "scenario",
    );
    let three = shard(&d.join("three"), 1, 3, &[]);
    refused(&out, &[a0.clone(), three], "shard count");

    // Duplicate and missing shards.
    let copy = d.join("copy.partial");
    fs::copy(&a0, &copy).unwrap();
    refused(&out, &[a0.clone(), copy, a1.clone()], "duplicate shard 0/2");
    refused(&out, std::slice::from_ref(&a0), "missing shard 1/2");

    // Truncated, corrupted, unknown version, not a partial at all.
    let bytes = fs::read(&a1).unwrap();
    let truncated = d.join("truncated.partial");
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    refused(&out, &[a0.clone(), truncated], "truncated or corrupted");
    let mut flipped = bytes.clone();
    let k = bytes.len() - 100;
    flipped[k] = if flipped[k] == b'1' { b'2' } else { b'1' };
    let corrupted = d.join("corrupted.partial");
    fs::write(&corrupted, &flipped).unwrap();
    refused(&out, &[a0.clone(), corrupted], "truncated or corrupted");
    let text = String::from_utf8(bytes.clone()).unwrap();
    let future = d.join("future.partial");
    fs::write(
        &future,
        text.replacen("stratsim-partial 1 ", "stratsim-partial 9 ", 1),
    )
    .unwrap();
    refused(&out, &[a0.clone(), future], "format version 9");
    let junk = d.join("junk.partial");
    fs::write(&junk, "hello\n{}").unwrap();
    refused(&out, &[a0.clone(), junk], "not a stratsim partial");
    refused(&out, &[a0.clone(), d.join("nope.partial")], "cannot read");

    // And the good pair still merges.
    let o = merge(&out, &[a1, a0]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn bad_shard_specs_are_refused() {
    for spec in ["2/2", "1/0", "a/b", "3"] {
        let o = run(&[
            scenario().to_str().unwrap(),
            "--shard",
            spec,
            "--out",
            "/tmp/never-written",
        ]);
        assert_eq!(o.status.code(), Some(2), "{spec}");
    }
}
