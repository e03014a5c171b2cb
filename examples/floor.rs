//! The floor the engine is measured against: only the standard normals a
//! scenario's trials need on their step loop ((factors + units) x steps per
//! trial), from the same generator seeded the same way (one
//! xoshiro256++ stream per trial, `stratsim::kernel::rng::trial_rng`), on
//! the same rayon pool and the same 1024-trial blocks, summed so that the
//! draws cannot be optimised away. No model, no statistics, no output.
//!
//! ```sh
//! cargo build --release --example floor
//! target/release/examples/floor benches/bench12.toml --trials 200000 --threads 2
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use rand::Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use stratsim::engine::{block_count, with_threads, BLOCK_TRIALS};
use stratsim::kernel::rng;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut scenario: Option<PathBuf> = None;
    let mut trials: Option<u64> = None;
    let mut threads: Option<usize> = None;
    while let Some(a) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match a.as_str() {
            "--trials" => trials = Some(value("--trials")),
            "--threads" => threads = Some(value("--threads") as usize),
            _ => scenario = Some(PathBuf::from(a)),
        }
    }
    let Some(path) = scenario else {
        eprintln!("usage: floor SCENARIO [--trials N] [--threads T]");
        return ExitCode::from(2);
    };
    let s = match stratsim::scenario::load(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let trials = trials.unwrap_or(s.trials);
    let per_trial = s.steps() * (s.factors.len() + s.units.len());
    let seed = s.seed;
    let sum: f64 = with_threads(threads, || {
        (0..block_count(trials))
            .into_par_iter()
            .map(|block| {
                let start = block * BLOCK_TRIALS;
                let end = (start + BLOCK_TRIALS).min(trials);
                let mut acc = 0.0;
                for trial in start..end {
                    let mut r = rng::trial_rng(seed, trial);
                    for _ in 0..per_trial {
                        let z: f64 = r.sample(StandardNormal);
                        acc += z;
                    }
                }
                acc
            })
            .sum()
    })
    .expect("thread pool");
    println!(
        "{} normals ({trials} trials x {per_trial}); sum {sum:.3}",
        trials * per_trial as u64
    );
    ExitCode::SUCCESS
}
