//! Criterion bench of the optimizer's scoring (docs/performance.md): 24
//! candidate policies of scenarios/optimize_reset.toml (reset.toml, the
//! reset policy with its eight levers moved) scored in one engine run, on
//! one generation of the draws, against the same 24 scored one run each.
//! The figures are the same bit for bit (tests: `score::tests`); the time
//! is not.
//!
//! ```sh
//! cargo bench --bench optimize
//! ```

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use stratsim::engine;
use stratsim::model::Policy;
use stratsim::optimize::config;
use stratsim::optimize::score::Scorer;

fn candidates() -> (stratsim::model::Scenario, config::Problem, Vec<Policy>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/optimize_reset.toml");
    let loaded = stratsim::scenario::load_raw(&path).expect("optimize_reset.toml loads");
    let mut s = loaded.scenario().expect("valid");
    let p = config::plan(&loaded, &s).expect("valid [optimize]");
    s.trials = 4096;
    let policies = (0..24)
        .map(|k| {
            let u = (k as f64 + 0.5) / 24.0;
            let x: Vec<f64> = p.levers.iter().map(|l| l.decode(u)).collect();
            p.policy_at(&x, &format!("c{k}"))
        })
        .collect();
    (s, p, policies)
}

fn score(c: &mut Criterion) {
    let (s, p, policies) = candidates();
    let scorer = Scorer::new(&s, &p);
    let mut g = c.benchmark_group("optimize");
    g.sample_size(10);
    g.throughput(Throughput::Elements(policies.len() as u64));
    g.bench_function("24 candidates, one batch (4096 trials, 2 threads)", |b| {
        b.iter(|| {
            engine::with_threads(Some(2), || scorer.run(&policies, s.seed, &|_| {}))
                .expect("pool")
                .expect("scores")
        })
    });
    g.bench_function(
        "24 candidates, one run each (4096 trials, 2 threads)",
        |b| {
            b.iter(|| {
                engine::with_threads(Some(2), || {
                    policies
                        .iter()
                        .map(|one| scorer.run(std::slice::from_ref(one), s.seed, &|_| {}))
                        .collect::<Vec<_>>()
                })
                .expect("pool")
            })
        },
    );
    g.finish();
}

criterion_group!(benches, score);
criterion_main!(benches);
