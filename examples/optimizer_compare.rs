//! Compares search methods on the optimizer's test problems (the fixtures
//! of tests/it/optimize.rs) and on reset.toml's eight levers: argmin's
//! particle swarm alone, argmin's Nelder-Mead alone, the cmaes crate's
//! CMA-ES, and the hybrid `simulate optimize` uses (swarm, then
//! Nelder-Mead polish with restarts, then whole numbers). Every method
//! gets the same budget of candidates, the same scorer and the same draws;
//! the table (docs/optimize.md) gives the best objective each found, its
//! shortfall from the best any found, candidates scored, engine runs and
//! wall time.
//!
//! ```sh
//! cargo run --release --example optimizer_compare --features compare-cmaes
//! ```

use std::path::Path;
use std::time::Instant;

use stratsim::engine;
use stratsim::optimize::config::{self, Problem};
use stratsim::optimize::score::Scorer;
use stratsim::optimize::search::{search, Eval, Evaluator, Goal, Method};

#[derive(Clone, Copy, PartialEq)]
enum Which {
    Ours(Method),
    Cmaes,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Ours(Method::Hybrid) => "hybrid (swarm + Nelder-Mead + restarts)",
            Which::Ours(Method::Swarm) => "argmin particle swarm",
            Which::Ours(Method::NelderMead) => "Nelder-Mead",
            Which::Cmaes => "cmaes CMA-ES",
        }
    }
}

struct Row {
    which: Which,
    best: Option<Eval>,
    used: usize,
    runs: usize,
    ms: f64,
}

fn run(which: Which, p: &Problem, scorer: &Scorer, seed: u64, budget: usize) -> Row {
    let ev = Evaluator::new(p, scorer, Goal::of(p), seed, budget, &|_| {});
    let start: Vec<f64> = ev.encode(&p.start_values());
    let t = Instant::now();
    let best = match which {
        Which::Ours(m) => search(&ev, std::slice::from_ref(&start), m, seed).ok(),
        Which::Cmaes => {
            let f = |x: &cmaes::DVector<f64>| -> f64 {
                ev.costs(&[x.iter().copied().collect()])
                    .map(|c| c[0])
                    .unwrap_or(f64::NAN)
            };
            if let Ok(mut c) = cmaes::CMAESOptions::new(start.clone(), 0.2)
                .max_function_evals(budget)
                .seed(seed)
                .build(f)
            {
                let _ = c.run();
            }
            ev.best()
        }
    };
    let (used, runs) = ev.used();
    Row {
        which,
        best,
        used,
        runs,
        ms: t.elapsed().as_secs_f64() * 1e3,
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let problems: Vec<(&str, std::path::PathBuf, Option<(u64, usize)>)> = vec![
        (
            "one unit (1 lever)",
            root.join("tests/fixtures/optimize/one_unit.toml"),
            None,
        ),
        (
            "two separable units (2)",
            root.join("tests/fixtures/optimize/two_units.toml"),
            None,
        ),
        (
            "budget and whole years (2)",
            root.join("tests/fixtures/optimize/innovation_years.toml"),
            None,
        ),
        (
            "chance constraint (1)",
            root.join("tests/fixtures/optimize/chance.toml"),
            None,
        ),
        (
            "reset.toml, 8 levers, 5k trials",
            root.join("scenarios/optimize_reset.toml"),
            Some((
                5000,
                std::env::var("BUDGET")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1000),
            )),
        ),
    ];
    let only_reset = std::env::var("ONLY_RESET").is_ok();
    let methods = [
        Which::Ours(Method::Hybrid),
        Which::Ours(Method::Swarm),
        Which::Ours(Method::NelderMead),
        Which::Cmaes,
    ];
    println!("| problem | method | best objective | short of the best found | feasible | candidates | engine runs | ms |");
    println!("|---|---|---:|---:|---|---:|---:|---:|");
    for (name, path, overrides) in problems {
        if only_reset && overrides.is_none() {
            continue;
        }
        let loaded = match stratsim::scenario::load_raw(&path) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                continue;
            }
        };
        let Ok(mut s) = loaded.scenario() else {
            continue;
        };
        let Ok(mut p) = config::plan(&loaded, &s) else {
            continue;
        };
        if let Some(t) = p.trials {
            s.trials = t;
        }
        if let Some((t, budget)) = overrides {
            s.trials = t;
            p.evaluations = budget;
        }
        let scorer = Scorer::new(&s, &p);
        let rows: Vec<Row> = engine::with_threads(Some(2), || {
            methods
                .iter()
                .filter(|m| !only_reset || **m == Which::Ours(Method::Hybrid))
                .map(|&m| run(m, &p, &scorer, s.seed, p.evaluations))
                .collect()
        })
        .unwrap_or_default();
        let top = rows
            .iter()
            .filter_map(|r| r.best.as_ref().filter(|b| b.feasible).map(|b| b.objective))
            .fold(f64::NEG_INFINITY, f64::max);
        for r in rows {
            let (obj, short, feasible) = match &r.best {
                Some(b) => (
                    format!("{:.6}", b.objective),
                    format!("{:.2e}", top - b.objective),
                    b.feasible.to_string(),
                ),
                None => ("-".into(), "-".into(), "false".into()),
            };
            if std::env::var("PRINT_X").is_ok() {
                if let Some(b) = &r.best {
                    eprintln!("{:?}", b.x);
                }
            }
            println!(
                "| {name} | {} | {obj} | {short} | {feasible} | {} | {} | {:.0} |",
                r.which.name(),
                r.used,
                r.runs,
                r.ms
            );
        }
    }
    let _ = config::DEFAULT_EVALUATIONS;
}
