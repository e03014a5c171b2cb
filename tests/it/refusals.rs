//! Nothing accepted and silently ignored, nothing said in Rust's words:
//! numbers that cannot be computed exit 3, sweeps and options that cannot
//! mean what they say are refused where they are written, names compare as
//! people read them, implausible rates get a warning, and CSV cells never
//! start a formula. Through the real binary, on real files.

use crate::common::*;

use std::fs;
use std::path::{Path, PathBuf};

fn reset() -> PathBuf {
    root().join("scenarios/reset.toml")
}

fn one_step() -> String {
    fs::read_to_string(fixture("one_step.toml")).unwrap()
}

/// Writes `text` as `name` in `dir` and runs it (plus `args`) into
/// `dir/out`.
fn run_text(dir: &Path, name: &str, text: &str, args: &[&str]) -> std::process::Output {
    let f = dir.join(name);
    fs::write(&f, text).unwrap();
    let out = dir.join("out");
    let mut a = vec![f.to_str().unwrap(), "--out", out.to_str().unwrap()];
    a.extend_from_slice(args);
    run(&a)
}

/// Writes `text` as `name` in `dir` and loads it in-process, as every run
/// does first: for refusals of the file itself the binary adds nothing
/// (its exit code is the error's, tested in bad_input.rs). The message.
fn load_refused(dir: &Path, name: &str, text: &str, words: &[&str]) -> String {
    let f = dir.join(name);
    fs::write(&f, text).unwrap();
    let err = match stratsim::scenario::load(&f) {
        Ok(_) => panic!("accepted {name}:\n{text}"),
        Err(e) => e,
    };
    assert_eq!(err.exit_code(), 2, "{err}");
    let m = err.to_string();
    for w in words {
        assert!(m.contains(w), "want {w:?} in: {m}");
    }
    m
}

fn refused(o: &std::process::Output, words: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for w in words {
        assert!(err.contains(w), "want {w:?} in: {err}");
    }
}

#[test]
fn standard_deviations_are_right_or_the_run_stops() {
    let dir = tempfile::tempdir().unwrap();
    let spread = |revenue: &str| {
        one_step()
            .replace("revenue = 100.0", &format!("revenue = {revenue}"))
            .replace(
                "median = 2.0, dispersion = 0.0",
                "median = 2.0, dispersion = 0.5",
            )
            .replace("trials = 2", "trials = 200")
    };
    // Large but representable: a real spread, not 0.
    let o = run_text(dir.path(), "big.toml", &spread("1e150"), &["-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = read_json(&dir.path().join("out/summary.json"));
    let v = row(&s, "only", 1, "value", None);
    assert!(f(v, "stdev") > 1e149 && f(v, "stderr") > 1e147, "{v}");
    let before = fs::read(dir.path().join("out/summary.json")).unwrap();
    // Past ~1e154 the squared deviations overflow: exit 3, not a stdev of 0.
    let o = run_text(dir.path(), "huge.toml", &spread("1e160"), &["-q"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("standard deviation") && err.contains("Nothing was written"),
        "{err}"
    );
    assert_eq!(
        fs::read(dir.path().join("out/summary.json")).unwrap(),
        before
    );
}

#[test]
fn sensitivity_skips_a_step_out_of_range_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // A margin of 99.5% one point up is above 100%.
    let text = fs::read_to_string(fixture("decision.toml"))
        .unwrap()
        .replace("margin = 0.05", "margin = 0.995")
        .replace("trials = 300", "trials = 200");
    let o = run_text(
        dir.path(),
        "m.toml",
        &text,
        &["--sensitivity", "--no-charts"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("high step skipped") && err.contains("1.005"),
        "{err}"
    );
    let csv = fs::read_to_string(dir.path().join("out/sensitivity.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(header.last(), Some(&"note"));
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let margin = csv
        .lines()
        .find(|l| l.contains(",Old C margin,"))
        .unwrap_or_else(|| panic!("{csv}"));
    let cells: Vec<&str> = margin.split(',').collect();
    // high, gain_high and its change are empty: not 100% ranked as a
    // full step.
    assert_eq!(cells[col("high")], "", "{margin}");
    assert_eq!(cells[col("gain_high")], "", "{margin}");
    assert_eq!(cells[col("gain_change_high")], "", "{margin}");
    assert!(!cells[col("low")].is_empty(), "the low step ran: {margin}");
    assert!(margin.contains("out of range"), "{margin}");
    let md = fs::read_to_string(dir.path().join("out/report.md")).unwrap();
    assert!(md.contains("skipped, not clamped"), "{md}");
}

#[test]
fn sweeps_that_cannot_vary_or_repeat_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let r = reset();
    let base = [
        r.to_str().unwrap(),
        "--trials",
        "1000",
        "--out",
        out.to_str().unwrap(),
    ];
    for (sweeps, words) in [
        (
            vec!["scenario.trials=10,100000"],
            vec!["--sweep scenario.trials", "same for every point"],
        ),
        (
            vec!["scenario.seed=1,2"],
            vec!["--sweep scenario.seed", "same for every point"],
        ),
        (
            vec!["units.Xianyu.growth=0.1", "units.\"xianyu \".growth=0.2"],
            vec!["swept twice"],
        ),
        (
            vec!["units.Xianyu.growth=0.1,0.1"],
            vec!["lists a value twice"],
        ),
        (vec!["units.Xianyu.name=1"], vec!["`name` is text"]),
        (
            vec!["units.Xianyu.volatility=0.1,-0.1"],
            vec![
                "--sweep units.Xianyu.volatility=0.1,-0.1",
                "= -0.1",
                "must be >= 0",
            ],
        ),
        (
            vec!["units.Xianyu.volatilty=0.1"],
            vec![
                "--sweep units.Xianyu.volatilty",
                "did you mean `volatility`",
            ],
        ),
    ] {
        let mut a = base.to_vec();
        for s in &sweeps {
            a.extend(["--sweep", s]);
        }
        let o = run(&a);
        refused(&o, &words);
        assert!(
            !stderr(&o).contains("<sweep"),
            "no made-up file: {}",
            stderr(&o)
        );
        assert!(!out.exists(), "{sweeps:?}: refused before any work");
    }
}

#[test]
fn check_validates_sweeps_as_a_run_does_and_names_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let variant = |name: &str, sweep: &str| {
        let p = dir.path().join(name);
        fs::write(
            &p,
            format!(
                "extends = {:?}\n\n[[sweep]]\n{sweep}\n",
                reset().to_str().unwrap()
            ),
        )
        .unwrap();
        p
    };
    for (file, sweep, line, key, words) in [
        (
            "typo.toml",
            "path = \"policies.reset.core.intensty\"\nvalues = [0.1, 0.2]",
            4,
            "sweep[0].path",
            "did you mean `intensity`",
        ),
        (
            "value.toml",
            "path = \"units.Xianyu.volatility\"\nvalues = [0.1, -0.2]",
            5,
            "sweep[0].values[1]",
            "must be >= 0",
        ),
        (
            "trials.toml",
            "path = \"scenario.trials\"\nvalues = [10, 100]",
            4,
            "sweep[0].path",
            "same for every point",
        ),
    ] {
        let p = variant(file, sweep);
        let want = format!("{}:{line}:", p.display());
        let o = run(&["check", p.to_str().unwrap()]);
        refused(&o, &[&want, key, words]);
        let o = run(&[
            p.to_str().unwrap(),
            "--out",
            dir.path().join("o").to_str().unwrap(),
        ]);
        refused(&o, &[&want, key, words]);
    }
    let good = variant(
        "good.toml",
        "path = \"units.Xianyu.volatility\"\nvalues = [0.1, 0.2]",
    );
    let o = run(&["check", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 points, each checked"));
}

#[test]
fn shards_refuse_studies_instead_of_dropping_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parts");
    let r = reset();
    let swept = dir.path().join("swept.toml");
    fs::write(
        &swept,
        format!(
            "extends = {:?}\n[[sweep]]\npath = \"units.Xianyu.growth\"\nvalues = [0.1, 0.2]\n",
            r.to_str().unwrap()
        ),
    )
    .unwrap();
    for (scenario, extra, words) in [
        (
            &r,
            vec!["--sweep", "units.Xianyu.growth=0.1,0.2"],
            "--sweep",
        ),
        (&swept, vec![], "[[sweep]]"),
        (&r, vec!["--sensitivity"], "--sensitivity"),
        (&r, vec!["--precision", "1%"], "--precision"),
    ] {
        let mut a = vec![
            scenario.to_str().unwrap(),
            "--shard",
            "0/2",
            "--out",
            out.to_str().unwrap(),
        ];
        a.extend(extra);
        refused(&run(&a), &["--shard", words]);
        assert!(!out.exists());
    }
    let o = run(&[
        r.to_str().unwrap(),
        "--shard",
        "0/2",
        "--watch",
        "--out",
        out.to_str().unwrap(),
    ]);
    refused(&o, &["--shard and --watch"]);
}

#[test]
fn option_combinations_are_consistent() {
    let r = reset();
    let r = r.to_str().unwrap();
    // Like --max-trials without --precision.
    refused(&run(&[r, "--sensitivity-step", "0.2"]), &["--sensitivity"]);
    refused(&run(&[r, "--max-trials", "5000"]), &["--precision"]);
    refused(
        &run(&[
            r,
            "--trials",
            "5000",
            "--precision",
            "1%",
            "--max-trials",
            "2000",
        ]),
        &["--max-trials 2000", "below"],
    );
    refused(
        &run(&[r, "--precision", "10"]),
        &["ambiguous", "10%", "0.1"],
    );
    refused(
        &run(&[r, "--sensitivity", "--sensitivity-step", "10"]),
        &["ambiguous"],
    );
    refused(&run(&[r, "--precision", "150%"]), &["100%"]);
}

#[test]
fn type_errors_and_typos_speak_toml_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let base = one_step();
    for (what, text, words) in [
        (
            "[units] for [[units]]",
            base.replacen("[[units]]", "[units]", 1)
                .replacen("[[units]]", "[more_units]", 1),
            vec!["write [[units]] (double brackets)"],
        ),
        (
            "a quoted number",
            base.replace("growth = 0.05", "growth = \"0.05\""),
            vec![
                "must be a number, not the text \"0.05\"",
                "growth = 0.04",
                "no quotes",
            ],
        ),
        (
            "a typo",
            base.replace("growth = 0.05", "growht = 0.05"),
            vec!["unknown field `growht`", "did you mean `growth`"],
        ),
        (
            "a baseline typo",
            base.replace("baseline = \"only\"", "baseline = \"onyl\""),
            vec!["names no policy", "did you mean \"only\""],
        ),
        (
            "a role typo",
            base.replace("role = \"core\"", "role = \"croe\""),
            vec!["unknown role", "did you mean \"core\""],
        ),
        (
            "an override naming a unit with a typo",
            base.clone() + "[policies.only.units.\"Aa\"]\nintensity = 0.2\n",
            vec!["override names no unit", "did you mean \"A\""],
        ),
    ] {
        let err = load_refused(dir.path(), "t.toml", &text, &words);
        assert!(
            !err.contains("f64") && !err.contains("a sequence"),
            "{what}: {err}"
        );
    }
}

#[test]
fn names_compare_as_people_read_them() {
    let dir = tempfile::tempdir().unwrap();
    let base = one_step();
    // NFD "Cafe" + combining accent vs NFC "Café"; a trailing space; case.
    for (second, words) in [
        ("Cafe\u{301}", "duplicate unit name"),
        ("Caf\u{e9} ", "duplicate unit name"),
        ("CAF\u{c9}", "duplicate unit name"),
    ] {
        let text = base
            .replace("name = \"A\"", "name = \"Caf\u{e9}\"")
            .replace("name = \"B\"", &format!("name = \"{second}\""));
        load_refused(dir.path(), "dup.toml", &text, &[words, "ignoring case"]);
    }
    // An empty policy name, and duplicate policies differing in case.
    load_refused(
        dir.path(),
        "p.toml",
        &base.replace("[policies.only]", "[policies.\"\"]"),
        &["must not be empty"],
    );
    load_refused(
        dir.path(),
        "p2.toml",
        &(base.clone() + "[policies.ONLY]\nreinvest_share = 0.5\ncore = { intensity = 0.1 }\ninnovation = { budget = 1.0, years = 1 }\n"),
        &["duplicate policy name"],
    );
    // A variant whose unit differs only in case changes that unit: it
    // does not add one.
    let parent = dir.path().join("parent.toml");
    fs::write(&parent, &base).unwrap();
    let o = run_text(
        dir.path(),
        "variant.toml",
        &format!(
            "extends = {:?}\n[[units]]\nname = \"a \"\ngrowth = 0.07\n[policies.ONLY.units.b]\nbudget = 5.0\n",
            parent.to_str().unwrap()
        ),
        &["-q"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = read_json(&dir.path().join("out/summary.json"));
    let units: std::collections::BTreeSet<&str> = s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["unit"].as_str())
        .collect();
    assert_eq!(units.len(), 2, "{units:?}");
    // Two entries of one variant that both name the parent's unit.
    load_refused(
        dir.path(),
        "variant2.toml",
        &format!(
            "extends = {:?}\n[[units]]\nname = \"a \"\ngrowth = 0.07\n[[units]]\nname = \"A\"\ngrowth = 0.08\n",
            parent.to_str().unwrap()
        ),
        &[
            "variant2.toml:6:",
            "duplicate unit name \"A\"",
            "the same name as \"a \"",
        ],
    );
}

#[test]
fn exit_terms_without_exit_after_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let base = one_step().replace("role = \"core\"", "role = \"non_core\"");
    let policy = "core = { intensity = 0.1 }";
    for (terms, key) in [
        (
            "non_core = { intensity = 0.1, exit_window = 1.0 }",
            "non_core.exit_window",
        ),
        (
            "non_core = { intensity = 0.1, exit_discount = 0.2 }",
            "non_core.exit_discount",
        ),
    ] {
        load_refused(
            dir.path(),
            "x.toml",
            &base.replace(policy, terms),
            &[key, "exit_after", "never sold"],
        );
    }
    // With exit_after it runs.
    let ok = base.replace(
        policy,
        "non_core = { intensity = 0.1, exit_after = 0.5, exit_window = 1.0 }",
    );
    let o = run_text(dir.path(), "ok.toml", &ok, &["-q"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn implausible_rates_get_a_warning_and_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let text = one_step()
        .replace("growth = 0.05", "growth = 10")
        .replace("discount_rate = 0.1", "discount_rate = 9");
    let o = run_text(dir.path(), "w.toml", &text, &["--no-charts"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("growth = 10 means +1000% growth a year; for 10% write 0.10"),
        "{err}"
    );
    assert!(
        err.contains("discount_rate = 9 means 900% a year; for 9% write 0.09"),
        "{err}"
    );
    assert!(err.contains("w.toml:"), "located: {err}");
    // check says it too; --quiet does not.
    let o = run(&["check", dir.path().join("w.toml").to_str().unwrap()]);
    assert!(o.status.success() && stderr(&o).contains("warning:"));
    let o = run_text(dir.path(), "w.toml", &text, &["--no-charts", "-q"]);
    assert!(o.status.success() && !stderr(&o).contains("warning"));
}

#[test]
fn no_csv_cell_starts_a_formula() {
    let dir = tempfile::tempdir().unwrap();
    let text = one_step()
        .replace(
            "name = \"A\"",
            "name = \"=HYPERLINK(\\\"http://x\\\",\\\"A\\\")\"",
        )
        .replace("name = \"B\"", "name = \"@SUM(1)\"")
        .replace("[policies.only]", "[policies.\"+only\"]")
        .replace("baseline = \"only\"", "baseline = \"+only\"")
        .replace("volatility = 0.0", "volatility = 0.1")
        // A unit worth less than nothing: negative figures in the CSV.
        .replace(
            "median = 3.0, dispersion = 0.0",
            "median = 0.5, dispersion = 0.0",
        )
        // A second policy, so that sensitivity.csv has rows (it measures
        // the gain over the baseline).
        + "\n[policies.\"-more\"]\nreinvest_share = 0.6\ncore = { intensity = 0.2 }\ninnovation = { budget = 5.0, years = 1 }\n";
    let o = run_text(
        dir.path(),
        "csv.toml",
        &text,
        &[
            "-q",
            "--no-charts",
            "--sensitivity",
            "--sweep",
            "scenario.discount_rate=0.1,0.2",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for file in ["summary.csv", "sweep.csv", "sensitivity.csv"] {
        let csv = fs::read_to_string(dir.path().join("out").join(file)).unwrap();
        for line in csv.lines() {
            for cell in split_csv(line) {
                let text = cell.trim_start_matches('"');
                assert!(!starts_formula(text), "{file}: cell {cell:?} in {line:?}");
            }
        }
        assert!(
            csv.contains("'+only") || csv.contains("'-more"),
            "{file}: {csv}"
        );
    }
    let summary = fs::read_to_string(dir.path().join("out/summary.csv")).unwrap();
    assert!(summary.contains("'=HYPERLINK") && summary.contains("'@SUM(1)"));
    // Negative numbers stay numbers.
    assert!(summary.lines().any(|l| l
        .split(',')
        .any(|c| c.starts_with('-') && c.parse::<f64>().is_ok())));
}

/// Would a spreadsheet read this cell as a formula? (A negative number
/// is a number.)
fn starts_formula(text: &str) -> bool {
    let formula = text.starts_with(['=', '+', '@', '\t', '\r']);
    let dash_text = text.starts_with('-') && text.parse::<f64>().is_err();
    formula || dash_text
}

/// Cells of one CSV line (RFC 4180 quotes).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}
