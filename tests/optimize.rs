//! The optimizer (`simulate optimize`, docs/optimize.md) on problems whose
//! optimum the test finds itself, by dense grids on the same draws.

mod common;
use common::*;

use std::path::Path;

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
    let grid: Vec<Vec<f64>> = linspace(
        (at[k] - half).max(l.min),
        (at[k] + half).min(l.max),
        801,
    )
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
    let coarse: Vec<Vec<f64>> = linspace(0.0, 0.24, 241).into_iter().map(|x| vec![x]).collect();
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
    let budget = 0.6 * score(&s, &p, &[free.best.x.clone()])[0].investment_pv();
    p.constraints[0].bound = config::Bound::AtMost(budget);
    let ok = |smp: &Sample| smp.investment_pv() <= budget;
    let coarse: Vec<Vec<f64>> = linspace(0.0, 0.24, 241).into_iter().map(|x| vec![x]).collect();
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
    assert!(used <= budget && used > 0.995 * budget, "{used} vs {budget}");
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
    assert!(grid[1] > 0.0 && grid[1] < 5.0, "interior years: {}", grid[1]);
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
    let coarse: Vec<Vec<f64>> = linspace(0.0, 0.19, 191).into_iter().map(|x| vec![x]).collect();
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
