//! `[[correlations]]`: rank correlations between drawn assumptions. The
//! targets and the marginals are checked at 200,000 draws beside the
//! kernel (`kernel::draws::tests`); here the shipped scenario runs the
//! same bytes on 1 and 2 threads and as 3 merged shards, and every bad
//! table is refused with file, line and key.

use std::fs;

use crate::common::*;

#[test]
fn correlated_runs_are_the_same_bytes_on_any_thread_count_and_shard_split() {
    let dir = tempfile::tempdir().unwrap();
    let sc = root().join("scenarios/reset_correlated.toml");
    let args = ["--trials", "3000", "--no-charts", "--no-xlsx"];
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    simulate(&sc, &one, &[&args[..], &["--threads", "1"]].concat());
    simulate(&sc, &two, &[&args[..], &["--threads", "2"]].concat());
    let a = fs::read(one.join("summary.json")).unwrap();
    assert_eq!(a, fs::read(two.join("summary.json")).unwrap());
    // Three shards, merged.
    let parts = dir.path().join("parts");
    for i in 0..3 {
        let shard = format!("{i}/3");
        let o = run(&[
            sc.to_str().unwrap(),
            "--trials",
            "3000",
            "--shard",
            &shard,
            "--out",
            parts.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let merged = dir.path().join("merged");
    let o = run(&[
        "merge",
        parts.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
        "--no-charts",
        "--no-xlsx",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(a, fs::read(merged.join("summary.json")).unwrap());
    // Correlations change the figures (they are not ignored) and keep
    // every row of the uncorrelated scenario.
    let plain = dir.path().join("plain");
    simulate(
        &root().join("scenarios/reset_uncertain.toml"),
        &plain,
        &args,
    );
    assert_ne!(a, fs::read(plain.join("summary.json")).unwrap());
}

/// The message of loading a variant of reset_uncertain.toml.
fn refusal(tail: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    for f in ["reset.toml", "reset_uncertain.toml"] {
        fs::copy(root().join("scenarios").join(f), dir.path().join(f)).unwrap();
    }
    let path = dir.path().join("v.toml");
    fs::write(&path, format!("extends = \"reset_uncertain.toml\"\n{tail}")).unwrap();
    let e = stratsim::scenario::load(&path).expect_err(tail);
    assert_eq!(e.exit_code(), 2);
    e.to_string()
}

#[test]
fn bad_correlations_are_refused_with_file_line_and_key() {
    let entry = |a: &str, b: &str, r: &str| {
        format!("[[correlations]]\nbetween = [\"{a}\", \"{b}\"]\nrank = {r}\n")
    };
    let m = refusal(&entry("Quark.growth", "DingTalk.growth", "1.5"));
    assert!(
        m.contains("v.toml:4:") && m.contains("correlations[0].rank"),
        "{m}"
    );
    assert!(m.contains("must be in [-1, 1]"), "{m}");
    let m = refusal(&entry("Quark.growth", "Taobao & Tmall.growth", "0.5"));
    assert!(m.contains("correlations[0].between[1]"), "{m}");
    assert!(m.contains("as a number, not a distribution"), "{m}");
    let m = refusal(&entry("Quark.growth", "Quark.growth", "0.5"));
    assert!(m.contains("twice"), "{m}");
    let m = refusal(&entry("Quark.groth", "DingTalk.growth", "0.5"));
    assert!(m.contains("is not UNIT.key"), "{m}");
    let m = refusal(&entry("Quarkk.growth", "DingTalk.growth", "0.5"));
    assert!(m.contains("did you mean \"Quark\"?"), "{m}");
    let m = refusal(
        &(entry("Quark.growth", "DingTalk.growth", "0.5")
            + &entry("DingTalk.growth", "Quark.growth", "0.2")),
    );
    assert!(m.contains("correlations[1].between"), "{m}");
    assert!(m.contains("already correlated by correlations[0]"), "{m}");
    // A with B and A with C strongly, B against C strongly: no joint
    // distribution has these.
    let m = refusal(
        &(entry("Quark.growth", "DingTalk.growth", "0.9")
            + &entry("Quark.growth", "Xianyu.growth", "0.9")
            + &entry("DingTalk.growth", "Xianyu.growth", "-0.9")),
    );
    assert!(m.contains("not positive semi-definite"), "{m}");
    assert!(m.contains("smallest eigenvalue -"), "{m}");
    assert!(m.contains("DingTalk.growth ~ Xianyu.growth (-0.9)"), "{m}");
    // A variant's pair replaces its parent's, in either order.
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "reset.toml",
        "reset_uncertain.toml",
        "reset_correlated.toml",
    ] {
        fs::copy(root().join("scenarios").join(f), dir.path().join(f)).unwrap();
    }
    let path = dir.path().join("w.toml");
    fs::write(
        &path,
        format!(
            "extends = \"reset_correlated.toml\"\n{}",
            entry("DingTalk.growth", "Quark.growth", "0.1")
        ),
    )
    .unwrap();
    let s = stratsim::scenario::load(&path).unwrap();
    assert_eq!(s.correlations.len(), 4);
    assert!(s.correlations.iter().any(|c| c.rank == 0.1));
}
