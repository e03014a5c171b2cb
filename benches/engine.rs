//! Criterion benches of the hot paths, on the bench12 scenario (12 units,
//! 3 factors, 2 policies, quarterly steps over 5 years):
//!
//! - `kernel/*`: the trial kernel - one batch of LANES trials (what the
//!   engine runs), one trial of the scalar reference, one step of a batch;
//! - `aggregation/*`: one block of trials into an accumulator
//!   (`push_lanes` for every batch, then `end_block`);
//! - `merge/*`: merging sketches and whole accumulators (what threads and
//!   shards do at the end of a run).
//!
//! ```sh
//! cargo bench --bench engine               # all
//! cargo bench --bench engine -- kernel     # a group
//! ```

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use stratsim::engine::{self, BLOCK_TRIALS};
use stratsim::kernel::batch::{BatchState, Lane, LANES};
use stratsim::kernel::{Plan, TrialState};
use stratsim::model::Scenario;
use stratsim::stats::{Accumulator, Sketch};

fn bench12() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/bench12.toml");
    stratsim::scenario::load(&path).expect("benches/bench12.toml loads")
}

fn kernel(c: &mut Criterion) {
    let s = bench12();
    let plan = Plan::new(&s);
    let mut g = c.benchmark_group("kernel");

    g.throughput(Throughput::Elements(LANES as u64));
    let mut batch = BatchState::new(&plan);
    let mut first = 0u64;
    g.bench_function("batch of LANES trials", |b| {
        b.iter(|| {
            batch.run(&plan, s.seed, first, LANES);
            first += LANES as u64;
            black_box(&batch.out);
        })
    });

    g.throughput(Throughput::Elements(1));
    let mut scalar = TrialState::new(&plan);
    let mut trial = 0u64;
    g.bench_function("one trial, scalar reference", |b| {
        b.iter(|| {
            scalar.run(&plan, s.seed, trial);
            trial += 1;
            black_box(&scalar.out);
        })
    });
    g.finish();
}

/// One block's figures, as the kernel hands them to the accumulator.
fn block_of_figures(plan: &Plan, seed: u64, block: u64) -> Vec<Vec<Lane>> {
    let mut state = BatchState::new(plan);
    (0..BLOCK_TRIALS / LANES as u64)
        .map(|b| {
            state.run(plan, seed, block * BLOCK_TRIALS + b * LANES as u64, LANES);
            state.out.clone()
        })
        .collect()
}

fn aggregation(c: &mut Criterion) {
    let s = bench12();
    let plan = Plan::new(&s);
    let figures = block_of_figures(&plan, s.seed, 1);
    let mut acc = engine::accumulator(&plan, s.seed);
    let mut g = c.benchmark_group("aggregation");
    g.throughput(Throughput::Elements(BLOCK_TRIALS));
    // Steady state: the same accumulator takes block after block, as a
    // worker's does.
    g.bench_function("push_lanes + end_block (one block, 1024 trials)", |b| {
        b.iter(|| {
            for (i, out) in figures.iter().enumerate() {
                acc.push_lanes(BLOCK_TRIALS + (i * LANES) as u64, out, LANES);
            }
            acc.end_block();
        })
    });
    g.bench_function("end_block only (1024 trials)", |b| {
        b.iter_batched_ref(
            || {
                let mut a = acc.clone();
                for (i, out) in figures.iter().enumerate() {
                    a.push_lanes(BLOCK_TRIALS + (i * LANES) as u64, out, LANES);
                }
                a
            },
            |a| a.end_block(),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// An accumulator after `blocks` blocks starting at `first_block`.
fn filled(plan: &Plan, seed: u64, first_block: u64, blocks: u64) -> Accumulator {
    let mut acc = engine::accumulator(plan, seed);
    let mut state = BatchState::new(plan);
    for block in first_block..first_block + blocks {
        engine::run_block(plan, seed, u64::MAX, block, &mut state, &mut acc, None);
    }
    acc
}

fn merge(c: &mut Criterion) {
    let s = bench12();
    let plan = Plan::new(&s);
    let a = filled(&plan, s.seed, 0, 20);
    let b = filled(&plan, s.seed, 20, 20);
    let mut g = c.benchmark_group("merge");
    // The widest sketch of the run (most buckets).
    let widest = (0..a.metrics.len())
        .max_by_key(|&i| a.metrics[i].sketch.buckets().len())
        .expect("metrics");
    let (sa, sb): (Sketch, Sketch) = (
        a.metrics[widest].sketch.clone(),
        b.metrics[widest].sketch.clone(),
    );
    g.bench_function("sketch (widest metric, 20 blocks each)", |bench| {
        bench.iter_batched_ref(|| sa.clone(), |x| x.merge(&sb), BatchSize::SmallInput)
    });
    g.bench_function("accumulator (all metrics, 20 blocks each)", |bench| {
        bench.iter_batched_ref(|| a.clone(), |x| x.merge(&b), BatchSize::LargeInput)
    });
    g.finish();
}

criterion_group!(benches, kernel, aggregation, merge);
criterion_main!(benches);
