//! The optimizer (`simulate optimize`, docs/optimize.md) on problems whose
//! optimum the test finds itself, by dense grids on the same draws.

use crate::common::*;

use stratsim::engine;
use stratsim::optimize::config::{self, Measure, Problem};
use stratsim::optimize::score::{Sample, Scorer};
use stratsim::optimize::{self, Outcome, Settings};
use stratsim::scenario::{self, Loaded};

fn load(name: &str) -> (Loaded, stratsim::model::Scenario, Problem) {
    let path = fixture(&format!("optimize/{name}"));
    let loaded = scenario::load_raw(&path).unwrap();
    let s = loaded.scenario().unwrap();
    let p = config::plan(&loaded, &s).unwrap();
    (loaded, s, p)
}

fn solve(loaded: &Loaded, s: &stratsim::model::Scenario, p: &Problem, threads: usize) -> Outcome {
    engine::with_threads(Some(threads), || {
        optimize::optimize(loaded, s, p, Settings::default(), &|_| {})
    })
    .unwrap()
    .unwrap()
}

/// Every point of `grid` (lever values), scored on the run's draws.
fn score(s: &stratsim::model::Scenario, p: &Problem, grid: &[Vec<f64>]) -> Vec<Sample> {
    let scorer = Scorer::new(s, p);
    let mut out = Vec::new();
    for chunk in grid.chunks(64) {
        let policies: Vec<_> = chunk.iter().map(|x| p.policy_at(x, "grid")).collect();
        out.extend(
            engine::with_threads(Some(2), || scorer.run(&policies, s.seed, &|_| {}))
                .unwrap()
                .unwrap(),
        );
    }
    out
}

fn linspace(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect()
}

/// The value of `m` at each point of a grid, and the best point (the
/// first on ties) among those `ok` accepts.
fn best_on(
    s: &stratsim::model::Scenario,
    p: &Problem,
    grid: &[Vec<f64>],
    m: Measure,
    ok: &dyn Fn(&Sample) -> bool,
) -> (Vec<f64>, f64) {
    let samples = score(s, p, grid);
    let mut best: Option<(usize, f64)> = None;
    for (i, smp) in samples.iter().enumerate() {
        let v = smp.measure(m, p.years);
        if ok(smp) && best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    let (i, v) = best.expect("a feasible grid point");
    (grid[i].clone(), v)
}

/// A fine grid around the best point of a coarse one, along lever `k`.
fn refine(
    s: &stratsim::model::Scenario,
    p: &Problem,
    at: &[f64],
    k: usize,
    half: f64,
    ok: &dyn Fn(&Sample) -> bool,
) -> (Vec<f64>, f64) {
    let l = &p.levers[k];
    let grid: Vec<Vec<f64>> = linspace((at[k] - half).max(l.min), (at[k] + half).min(l.max), 801)
        .into_iter()
        .map(|v| {
            let mut x = at.to_vec();
            x[k] = v;
            x
        })
        .collect();
    best_on(s, p, &grid, Measure::Mean, ok)
}

fn any(_: &Sample) -> bool {
    true
}

#[test]
fn one_unit_lands_within_1e3_of_a_dense_grid() {
    let (l, s, p) = load("one_unit.toml");
    let coarse: Vec<Vec<f64>> = linspace(0.0, 0.24, 241)
        .into_iter()
        .map(|x| vec![x])
        .collect();
    let (at, _) = best_on(&s, &p, &coarse, Measure::Mean, &any);
    let (grid, grid_value) = refine(&s, &p, &at, 0, 0.002, &any);
    let o = solve(&l, &s, &p, 2);
    assert!(
        (o.best.x[0] - grid[0]).abs() < 1e-3,
        "optimizer {} vs grid {}",
        o.best.x[0],
        grid[0]
    );
    assert!(grid[0] > 0.01 && grid[0] < 0.2, "interior: {}", grid[0]);
    assert!(o.best.objective >= grid_value - 1e-6 * grid_value.abs());
}

#[test]
fn separable_units_each_reach_their_own_optimum() {
    let (l, s, p) = load("two_units.toml");
    let o = solve(&l, &s, &p, 2);
    for k in 0..2 {
        // Unit k alone, the other lever anywhere (here: the optimizer's).
        let coarse: Vec<Vec<f64>> = linspace(0.0, 0.28, 281)
            .into_iter()
            .map(|v| {
                let mut x = o.best.x.clone();
                x[k] = v;
                x
            })
            .collect();
        let (at, _) = best_on(&s, &p, &coarse, Measure::Mean, &any);
        let (grid, _) = refine(&s, &p, &at, k, 0.002, &any);
        assert!(
            (o.best.x[k] - grid[k]).abs() < 1e-3,
            "lever {k}: optimizer {} vs grid {}",
            o.best.x[k],
            grid[k]
        );
    }
    // Separable: moving one lever changes the value by the same amount
    // whatever the other is.
    let pts = [
        vec![0.05, 0.02],
        vec![0.15, 0.02],
        vec![0.05, 0.20],
        vec![0.15, 0.20],
    ];
    let v: Vec<f64> = score(&s, &p, &pts)
        .iter()
        .map(|x| x.measure(Measure::Mean, p.years))
        .collect();
    assert!(((v[1] - v[0]) - (v[3] - v[2])).abs() < 1e-9 * v[0].abs());
}

#[test]
fn a_binding_budget_puts_the_optimum_on_it() {
    let (l, s, mut p) = load("one_unit.toml");
    let free = solve(&l, &s, &p, 2);
    p.constraints.push(config::Constraint {
        measure: Measure::InvestmentPv,
        bound: config::Bound::AtMost(f64::MAX),
        span: 0..0,
        key: "test".into(),
    });
    let budget = 0.6 * score(&s, &p, std::slice::from_ref(&free.best.x))[0].investment_pv();
    p.constraints[0].bound = config::Bound::AtMost(budget);
    let ok = |smp: &Sample| smp.investment_pv() <= budget;
    let coarse: Vec<Vec<f64>> = linspace(0.0, 0.24, 241)
        .into_iter()
        .map(|x| vec![x])
        .collect();
    let (at, _) = best_on(&s, &p, &coarse, Measure::Mean, &ok);
    let (grid, _) = refine(&s, &p, &at, 0, 0.002, &ok);
    let o = solve(&l, &s, &p, 2);
    assert!(o.best.feasible);
    assert!(
        (o.best.x[0] - grid[0]).abs() < 1e-3,
        "optimizer {} vs grid {}",
        o.best.x[0],
        grid[0]
    );
    // On the constraint: within 0.5% of the budget, below the free optimum.
    let used = o.best.constraints[0];
    assert!(
        used <= budget && used > 0.995 * budget,
        "{used} vs {budget}"
    );
    assert!(o.best.x[0] < free.best.x[0]);
}

#[test]
fn a_whole_number_lever_stays_whole_and_is_found() {
    let (l, s, p) = load("innovation_years.toml");
    assert!(p.levers[1].integer && !p.levers[0].integer);
    let mut best: Option<(Vec<f64>, f64)> = None;
    for years in 0..=5 {
        let coarse: Vec<Vec<f64>> = linspace(0.0, 10.0, 201)
            .into_iter()
            .map(|b| vec![b, years as f64])
            .collect();
        let (at, v) = best_on(&s, &p, &coarse, Measure::Mean, &any);
        if best.as_ref().is_none_or(|(_, b)| v > *b) {
            best = Some((at, v));
        }
    }
    let (at, _) = best.unwrap();
    let (grid, _) = refine(&s, &p, &at, 0, 0.06, &any);
    assert!(
        grid[1] > 0.0 && grid[1] < 5.0,
        "interior years: {}",
        grid[1]
    );
    let o = solve(&l, &s, &p, 2);
    assert_eq!(o.best.x[1], grid[1], "years");
    assert!(o.log.iter().all(|e| e.x[1].fract() == 0.0));
    assert!(
        (o.best.x[0] - grid[0]).abs() < 1e-3,
        "budget: optimizer {} vs grid {}",
        o.best.x[0],
        grid[0]
    );
}

#[test]
fn a_chance_constraint_binds() {
    let (l, s, p) = load("chance.toml");
    let floor = 0.72;
    let ok = |smp: &Sample| smp.prob_beats_baseline() >= floor;
    let coarse: Vec<Vec<f64>> = linspace(0.0, 0.19, 191)
        .into_iter()
        .map(|x| vec![x])
        .collect();
    let (at, _) = best_on(&s, &p, &coarse, Measure::Mean, &ok);
    let (grid, _) = refine(&s, &p, &at, 0, 0.002, &ok);
    // Without the constraint the best mean is elsewhere (it binds).
    let (free, _) = best_on(&s, &p, &coarse, Measure::Mean, &any);
    assert!((free[0] - grid[0]).abs() > 2e-3, "{free:?} {grid:?}");
    let o = solve(&l, &s, &p, 2);
    assert!(o.best.feasible);
    assert!(o.best.constraints[0] >= floor && o.best.constraints[0] < floor + 0.01);
    assert!(
        (o.best.x[0] - grid[0]).abs() < 1e-3,
        "optimizer {} vs grid {}",
        o.best.x[0],
        grid[0]
    );
}

#[test]
fn the_frontier_never_lowers_the_best_mean_for_more_risk() {
    let (l, s, mut p) = load("chance.toml");
    // With the chance constraint the feasible intensities are few and the
    // frontier is one point (checked below); without it, a curve.
    let narrow = solve(&l, &s, &p, 2);
    assert_eq!(narrow.frontier.as_ref().unwrap().points.len(), 1);
    p.constraints.clear();
    let o = solve(&l, &s, &p, 2);
    let f = o.frontier.as_ref().expect("a frontier");
    assert_eq!(f.points.len(), 5);
    assert_eq!(f.risk, Measure::Cvar(0.1));
    for w in f.points.windows(2) {
        // Left to right the CVaR floor is lower: more risk allowed.
        if let (Some(a), Some(b)) = (w[0].limit, w[1].limit) {
            assert!(b < a);
        }
        assert!(w[1].mean >= w[0].mean, "{:?}", f.points);
        assert!(w[1].risk <= w[0].risk + 1e-9, "{:?}", f.points);
    }
    // Each point meets its own limit.
    for pt in &f.points {
        if let Some(limit) = pt.limit {
            assert!(pt.risk >= limit, "{pt:?}");
        }
    }
    let names: Vec<&str> = f.placed.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["hold", "push", "push_optimized"]);
}

#[test]
fn the_same_optimum_on_one_thread_or_two() {
    let (l, s, p) = load("two_units.toml");
    let a = solve(&l, &s, &p, 1);
    let b = solve(&l, &s, &p, 2);
    assert_eq!(a.log, b.log);
    assert_eq!(a.best, b.best);
    assert_eq!(a.honest, b.honest);
}

/// The frontier's searches run as one population (each on a thread of
/// its own, every round one engine run): the same points, candidates and
/// optimum on one thread or two.
#[test]
fn the_same_frontier_on_one_thread_or_two() {
    let (l, s, mut p) = load("chance.toml");
    p.constraints.clear();
    let a = solve(&l, &s, &p, 1);
    let b = solve(&l, &s, &p, 2);
    let f = a.frontier.as_ref().expect("a frontier");
    assert_eq!(f.points.len(), 5);
    assert_eq!(a.frontier, b.frontier);
    assert_eq!(a.best, b.best);
    assert_eq!(a.honest, b.honest);
}

/// `simulate optimize` through the real binary: every output, and
/// `optimized.toml` run with `simulate` reproduces the in-sample figures
/// bit for bit.
#[test]
fn optimized_toml_reproduces_the_in_sample_figures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("opt");
    // chance.toml with a looser chance constraint: a frontier with room.
    let input = dir.path().join("loose.toml");
    std::fs::write(
        &input,
        format!(
            "extends = {:?}\n[[optimize.constraints]]\nmeasure = \"prob_beats_baseline\"\nmin = 0.3\n",
            fixture("optimize/chance.toml").to_str().unwrap()
        ),
    )
    .unwrap();
    let o = run(&[
        "optimize",
        input.to_str().unwrap(),
        "--trials",
        "600",
        "--evaluations",
        "60",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("objective out of sample"), "{stdout}");
    for f in [
        "optimized.toml",
        "optimize.csv",
        "frontier.csv",
        "optimum.json",
        "summary.json",
        "report.md",
        "report.html",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    for png in ["frontier.png", "convergence.png"] {
        check_png(&out.join(png));
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Optimization"), "{report}");
    assert!(
        report.contains("| policies.push.core.intensity |"),
        "{report}"
    );
    assert!(report.contains("frontier.png") && report.contains("convergence.png"));
    let optimum = read_json(&out.join("optimum.json"));
    assert_eq!(optimum["evaluations"], 60);
    let csv = std::fs::read_to_string(out.join("optimize.csv")).unwrap();
    assert_eq!(csv.lines().count(), 61);
    assert!(csv.starts_with("evaluation,phase,batch,policies.push.core.intensity,objective_mean,"));
    let toml = std::fs::read_to_string(out.join("optimized.toml")).unwrap();
    assert!(toml.contains("trials = 600"), "{toml}");
    assert!(toml.contains("# was 0.1"), "{toml}");
    // Run it like a user would, into another folder.
    let again = dir.path().join("again");
    let summary = simulate_drawn(&out.join("optimized.toml"), &again, &[]);
    let row = row(&summary, "push_optimized", 2, "value", None);
    for key in ["mean", "stdev", "stderr"] {
        assert_eq!(
            f(row, key).to_bits(),
            f(&optimum, key).to_bits(),
            "{key}: {row} vs {optimum}"
        );
    }
    let p = summary["prob_beats_baseline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["policy"] == "push_optimized")
        .unwrap();
    assert_eq!(
        f(p, "p").to_bits(),
        f(&optimum, "prob_beats_baseline").to_bits()
    );
    // The whole summary is the one the optimizer wrote.
    assert_eq!(summary, read_json(&out.join("summary.json")));
}

/// A bad `[optimize]` table: `simulate optimize` exits 2, naming the file,
/// line and key, and writes nothing.
fn refused(table: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let base = fixture("optimize/one_unit.toml");
    std::fs::write(
        &path,
        format!("extends = {:?}\n\n{table}", base.to_str().unwrap()),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = run(&[
        "optimize",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.toml:"), "{stderr}");
    assert!(!out.exists(), "nothing written");
    stderr
}

#[test]
fn bad_optimize_tables_exit_2_with_file_line_and_key() {
    let head = "[optimize]\npolicy = \"base\"\n";
    let lever =
        "[[optimize.levers]]\npath = \"policies.base.core.intensity\"\nmin = 0.0\nmax = 0.2\n";
    let e = refused(&format!(
        "{head}[[optimize.levers]]\npath = \"policies.base.core.intensty\"\nmin = 0.0\nmax = 0.2\n"
    ));
    assert!(
        e.contains("bad.toml:6:") && e.contains("optimize.levers[0].path"),
        "{e}"
    );
    assert!(e.contains("did you mean \"intensity\""), "{e}");
    let e = refused(&format!(
        "{head}[[optimize.levers]]\npath = \"policies.base.core.intensity\"\nmin = 0.2\nmax = 0.1\n"
    ));
    assert!(
        e.contains("bad.toml:8:") && e.contains("optimize.levers[0].max"),
        "{e}"
    );
    assert!(e.contains("bounds reversed"), "{e}");
    let e = refused(&format!("{head}objective = \"sharpe\"\n{lever}"));
    assert!(
        e.contains("bad.toml:5:") && e.contains("optimize.objective"),
        "{e}"
    );
    assert!(e.contains("unknown objective"), "{e}");
    let e = refused(&format!("{head}horizon = 5\n{lever}"));
    assert!(
        e.contains("optimize.horizon") && e.contains("horizons (3)"),
        "{e}"
    );
    let e = refused(&format!(
        "{head}{lever}[[optimize.constraints]]\nmeasure = \"investment_pv\"\nmax = -1.0\n"
    ));
    assert!(
        e.contains("bad.toml:11:") && e.contains("optimize.constraints[0].max"),
        "{e}"
    );
    assert!(
        e.contains("no candidate of the") && e.contains("closest any came was"),
        "{e}"
    );
    // And `simulate check` refuses the same tables.
    let o = run(&["check", fixture("optimize/one_unit.toml").to_str().unwrap()]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("optimize: maximize mean value at year 3"));
}

/// Any budget, however small, ends with an optimum and no panic: the
/// search stops where the budget does.
#[test]
fn small_budgets_finish_cleanly() {
    for name in ["two_units.toml", "innovation_years.toml"] {
        let (l, s, mut p) = load(name);
        for budget in [10, 11, 17, 25, 37, 64] {
            p.evaluations = budget;
            let o = solve(&l, &s, &p, 2);
            assert!(o.log.len() <= budget, "{name}: {} > {budget}", o.log.len());
            assert!(o.best.feasible);
        }
    }
}

/// A signal stops `simulate optimize` within a second, with exit 130, and
/// leaves the previous output as it was.
#[test]
fn interrupting_an_optimization_keeps_the_previous_output() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    simulate_drawn(&fixture("optimize/one_unit.toml"), &out, &[]);
    let before = std::fs::read(out.join("summary.json")).unwrap();
    let child = bin()
        .args([
            "optimize",
            fixture("optimize/chance.toml").to_str().unwrap(),
            "--trials",
            "2000000",
            "--out",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let staging = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().starts_with('.'))
    };
    while !staging() {
        assert!(start.elapsed() < Duration::from_secs(30), "never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(sent.elapsed() < Duration::from_secs(5));
    assert_eq!(std::fs::read(out.join("summary.json")).unwrap(), before);
    assert!(!staging(), "temporary folder left behind");
}
