//! Uncertain assumptions (model contract, v2) through the real binary:
//! closed forms of drawn growth, growth_fade against the product of its
//! step factors, numbers unchanged without distributions, and bad
//! distributions refused with file, line and key.

use crate::common::*;

use std::fs;
use std::path::Path;

/// One core unit, zero volatility, no investment: revenue at year h is
/// R0 (1 + g)^h for the trial's drawn g.
fn one_unit(growth: &str, horizons: &str, extra: &str) -> String {
    format!(
        r#"[scenario]
name = "drawn growth"
currency = "EUR m"
trials = 20_000
seed = 11
steps_per_year = 4
horizons = {horizons}
discount_rate = 0.08
baseline = "hold"

[[units]]
name = "Only"
role = "core"
revenue = 100.0
growth = {growth}
volatility = 0.0
margin = 0.2
multiple = {{ median = 1.5, dispersion = 0.0 }}
{extra}
[policies.hold]
reinvest_share = 0.5
core = {{ intensity = 0.0 }}
"#
    )
}

fn run_text(dir: &Path, name: &str, text: &str, extra: &[&str]) -> serde_json::Value {
    let path = dir.join(format!("{name}.toml"));
    fs::write(&path, text).unwrap();
    simulate_drawn(
        &path,
        &dir.join(name),
        &["--no-charts", "--no-xlsx"]
            .iter()
            .chain(extra)
            .copied()
            .collect::<Vec<_>>(),
    )
}

/// A distribution's quantile function.
type Quantile<'a> = &'a dyn Fn(f64) -> f64;

const QS: [(&str, f64); 5] = [
    ("p5", 0.05),
    ("p25", 0.25),
    ("p50", 0.5),
    ("p75", 0.75),
    ("p95", 0.95),
];

/// Revenue quantiles at year 3 are (1 + q_p)^3 R0, q_p the growth
/// distribution's own quantile (written here from its definition), within
/// the sketch's 0.5% and the sampling error of 20,000 trials.
#[test]
fn drawn_growth_gives_the_transformed_quantiles() {
    let dir = tempfile::tempdir().unwrap();
    let tri = |p: f64| {
        let (a, c, b) = (0.0f64, 0.04, 0.10);
        let fc = (c - a) / (b - a);
        if p < fc {
            a + (p * (b - a) * (c - a)).sqrt()
        } else {
            b - ((1.0 - p) * (b - a) * (b - c)).sqrt()
        }
    };
    let discrete = |p: f64| {
        // values 0, 0.04, 0.10 with weights 0.2, 0.5, 0.3.
        if p <= 0.2 {
            0.0
        } else if p <= 0.7 {
            0.04
        } else {
            0.10
        }
    };
    let cases: [(&str, &str, Quantile); 3] = [
        (
            "uniform",
            r#"{ dist = "uniform", min = -0.05, max = 0.15 }"#,
            &|p| -0.05 + 0.2 * p,
        ),
        (
            "triangular",
            r#"{ dist = "triangular", min = 0.0, mode = 0.04, max = 0.10 }"#,
            &tri,
        ),
        (
            "discrete",
            r#"{ dist = "discrete", values = [0.0, 0.04, 0.10], weights = [0.2, 0.5, 0.3] }"#,
            &discrete,
        ),
    ];
    for (name, dist, q) in cases {
        let s = run_text(dir.path(), name, &one_unit(dist, "[3]", ""), &[]);
        let r = row(&s, "hold", 3, "revenue", None);
        for (key, p) in QS {
            let want = 100.0 * (1.0 + q(p)).powi(3);
            let got = f(r, key);
            assert!(
                (got / want - 1.0).abs() < 0.006,
                "{name} {key}: revenue {got}, (1 + q)^3 R0 = {want}"
            );
        }
    }
}

/// At year 1 mean revenue is R0 (1 + E[g]); for PERT E[g] = (min + 4 mode
/// + max) / 6.
#[test]
fn horizon_one_mean_revenue_is_r0_times_one_plus_mean_growth() {
    let dir = tempfile::tempdir().unwrap();
    for (name, dist, mean, sd) in [
        (
            "pert",
            r#"{ dist = "pert", min = 0.0, mode = 0.04, max = 0.10 }"#,
            (0.0 + 4.0 * 0.04 + 0.10) / 6.0,
            0.02,
        ),
        (
            "normal",
            r#"{ dist = "normal", mean = 0.05, stdev = 0.03, min = -0.5 }"#,
            0.05,
            0.03,
        ),
    ] {
        let s = run_text(dir.path(), name, &one_unit(dist, "[1]", ""), &[]);
        let got = f(row(&s, "hold", 1, "revenue", None), "mean");
        let want = 100.0 * (1.0 + mean);
        // Four standard errors of the mean of 20,000 draws.
        let tol = 4.0 * 100.0 * sd / (20_000f64).sqrt();
        assert!((got - want).abs() < tol, "{name}: mean {got}, want {want}");
    }
}

/// growth_fade on a deterministic unit: revenue at each horizon is R0
/// times the product of the step factors (1 + g_k)^dt, g_k = growth +
/// (from - growth) max(0, 1 - t_k / years).
#[test]
fn growth_fade_is_the_product_of_its_step_factors() {
    let dir = tempfile::tempdir().unwrap();
    let text = one_unit(
        "0.05",
        "[1, 2, 4]",
        "growth_fade = { from = 0.40, years = 2.5 }\n",
    );
    let s = run_text(dir.path(), "fade", &text, &["--trials", "50"]);
    let mut r = 100.0;
    let dt = 0.25;
    for k in 0..16 {
        let t = k as f64 * dt;
        let g = 0.05 + (0.40 - 0.05) * (1.0 - t / 2.5f64).max(0.0);
        r *= (1.0f64 + g).powf(dt);
        if (k + 1) % 4 == 0 {
            let h = (k + 1) / 4;
            if [1, 2, 4].contains(&h) {
                let row = row(&s, "hold", h, "revenue", None);
                assert!(
                    (f(row, "mean") / r - 1.0).abs() < 1e-12,
                    "year {h}: {} vs {r}",
                    f(row, "mean")
                );
                assert_eq!(f(row, "min"), f(row, "max"), "deterministic");
            }
        }
    }
}

/// Numbers of a run without distributions are unchanged when a key is
/// written as a distribution that can only take one value: the per-trial
/// path gives the plain path's bits.
#[test]
fn a_one_value_distribution_changes_no_figure() {
    let dir = tempfile::tempdir().unwrap();
    let reset = root().join("scenarios/reset.toml");
    let plain = format!("extends = {:?}\n", reset.to_str().unwrap());
    let drawn = format!(
        "{plain}\n[[units]]\nname = \"Cloud Intelligence\"\ngrowth = {{ dist = \"uniform\", min = 0.02, max = 0.02 }}\nmargin = {{ dist = \"triangular\", min = 0.05, mode = 0.05, max = 0.05 }}\ntarget_margin = 0.10\n"
    );
    let a = run_text(dir.path(), "plain", &plain, &["--trials", "2000"]);
    let b = run_text(dir.path(), "drawn", &drawn, &["--trials", "2000"]);
    assert_eq!(a["rows"], b["rows"]);
    assert_eq!(a["prob_beats_baseline"], b["prob_beats_baseline"]);
    // The uncertainty view is written, and says nothing is explained.
    let csv = fs::read_to_string(dir.path().join("drawn/uncertainty.csv")).unwrap();
    for l in csv.lines().skip(1) {
        let share: f64 = l.split(',').nth(6).unwrap().parse().unwrap();
        assert_eq!(share, 0.0, "{csv}");
    }
}

/// The shipped variant runs and ranks its assumptions: every drawn key
/// appears for every policy's value and for the reset's gain, with
/// shares in [0, 1] that sum to at most 1.
#[test]
fn reset_uncertain_ranks_its_assumptions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ru");
    let o = run(&[
        root()
            .join("scenarios/reset_uncertain.toml")
            .to_str()
            .unwrap(),
        "--trials",
        "3000",
        "--out",
        out.to_str().unwrap(),
        "--no-xlsx",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("Which uncertain assumption matters most"),
        "{table}"
    );
    let csv = fs::read_to_string(out.join("uncertainty.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // 12 drawn keys; value for 2 policies, gain for 1.
    assert_eq!(rows.len(), 12 * 3, "{csv}");
    for outcome in ["reset,5,gain", "reset,5,value", "status_quo,5,value"] {
        let shares: Vec<f64> = csv
            .lines()
            .filter(|l| l.starts_with(outcome))
            .map(|l| l.split(',').nth(6).unwrap().parse().unwrap())
            .collect();
        assert_eq!(shares.len(), 12);
        assert!(shares.iter().all(|s| (0.0..=1.0).contains(s)));
        assert!(shares.windows(2).all(|w| w[0] >= w[1]), "largest first");
        assert!(shares.iter().sum::<f64>() <= 1.0);
    }
    check_png(&out.join("uncertainty.png"));
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Which uncertainty matters"), "{md}");
}

/// A strong assumption is found: with growth the only thing drawn and no
/// path noise, it explains (almost) all of the value's variance.
#[test]
fn the_only_source_of_variance_explains_it() {
    let dir = tempfile::tempdir().unwrap();
    let text = one_unit(r#"{ dist = "uniform", min = 0.0, max = 0.2 }"#, "[2]", "");
    run_text(dir.path(), "only", &text, &["--trials", "4000"]);
    let csv = fs::read_to_string(dir.path().join("only/uncertainty.csv")).unwrap();
    let share: f64 = csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .nth(6)
        .unwrap()
        .parse()
        .unwrap();
    // Value is nearly linear in g over [0, 0.2]: R^2 above 0.98.
    assert!(share > 0.98, "{csv}");
}

/// Bad distributions exit 2 naming the file, the line and the key, with
/// the rule in words.
#[test]
fn bad_distributions_are_refused_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "growth = 0.05",
            r#"growth = { dist = "triangular", min = 0.1, mode = 0.04, max = 0.2 }"#,
            "units[0].growth",
            "min <= mode <= max",
        ),
        (
            "growth = 0.05",
            r#"growth = { dist = "normal", mean = 0.05, stdev = -0.01 }"#,
            "units[0].growth",
            "stdev must be >= 0",
        ),
        (
            "growth = 0.05",
            r#"growth = { dist = "discrete", values = [0.0, 0.1], weights = [1.0, -1.0] }"#,
            "units[0].growth",
            "weight must be positive",
        ),
        (
            "volatility = 0.2",
            r#"volatility = { dist = "normal", mean = 0.2, stdev = 0.05 }"#,
            "units[0].volatility",
            "must be >= 0, but this normal distribution can draw any value",
        ),
        (
            "margin = 0.15",
            r#"margin = { dist = "uniform", min = 0.5, max = 1.2 }"#,
            "units[0].margin",
            "must be <= 1",
        ),
        (
            "growth = 0.05",
            r#"growth = { dist = "gamma", min = 0.0 }"#,
            "units[0].growth",
            "unknown distribution \"gamma\"",
        ),
        (
            "growth = 0.05",
            r#"growth = { dist = "uniform", min = 0.0, mode = 0.02, max = 0.1 }"#,
            "units[0].growth",
            "`mode` does not belong to a uniform distribution",
        ),
        (
            "growth = 0.05",
            r#"growth = { dist = "pert", min = 0.0, max = 0.1 }"#,
            "units[0].growth",
            "needs `mode`",
        ),
        (
            "growth = 0.05",
            "growth = 0.05\ngrowth_fade = { from = 0.5, years = 0 }",
            "units[0].growth_fade.years",
            "must be positive",
        ),
    ];
    let base = fs::read_to_string(fixture("one_unit.toml")).unwrap();
    for (i, (from, to, key, words)) in cases.iter().enumerate() {
        let text = base.replacen(from, to, 1);
        assert_ne!(text, base);
        let line = text
            .lines()
            .position(|l| l.starts_with(to.lines().last().unwrap()))
            .unwrap()
            + 1;
        let path = dir.path().join(format!("bad{i}.toml"));
        fs::write(&path, &text).unwrap();
        let o = run(&["check", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{to}");
        let e = stderr(&o);
        assert!(e.contains(&format!("bad{i}.toml:{line}:")), "{to}: {e}");
        assert!(e.contains(key), "{to}: {e}");
        assert!(e.contains(words), "{to}: {e}");
    }
}

/// Same seed, same draws: the uncertainty view (and every figure) is the
/// same on one thread or several, and sharded then merged.
#[test]
fn the_uncertainty_view_does_not_depend_on_threads_or_shards() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = root().join("scenarios/reset_uncertain.toml");
    let sc = scenario.to_str().unwrap();
    let go = |args: &[&str]| {
        let o = run(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    };
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let common = ["--trials", "2500", "--no-charts", "--no-xlsx", "-q"];
    let (one, three, shards, merged) = (out("one"), out("three"), out("shards"), out("merged"));
    go(&[&[sc, "--threads", "1", "--out", &one][..], &common].concat());
    go(&[&[sc, "--threads", "3", "--out", &three][..], &common].concat());
    for i in ["0/2", "1/2"] {
        go(&[&[sc, "--shard", i, "--out", &shards][..], &common].concat());
    }
    let mut partials: Vec<String> = fs::read_dir(&shards)
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_string())
        .filter(|p| p.ends_with(".partial"))
        .collect();
    partials.sort();
    let mut args = vec!["merge", "--out", &merged, "--no-charts", "-q"];
    args.extend(partials.iter().map(String::as_str));
    go(&args);
    for file in ["summary.json", "uncertainty.csv"] {
        let a = fs::read(Path::new(&one).join(file)).unwrap();
        for other in [&three, &merged] {
            assert!(
                a == fs::read(Path::new(other).join(file)).unwrap(),
                "{file}: {other}"
            );
        }
    }
}
