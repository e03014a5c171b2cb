//! What sharing the draws saves a study: the variants `--sensitivity`
//! runs on a scenario, timed as separate runs (`study::simulate` of each,
//! what the studies did before) and as one `study::simulate_many`, whose
//! summaries are checked equal to the separate runs' (JSON, bit for bit).
//! Interleaved and repeated; the minimum of each is reported. See
//! docs/performance.md.
//!
//! ```sh
//! cargo build --release --example shared_draws
//! target/release/examples/shared_draws scenarios/reset.toml --trials 20000 --threads 2 --reps 3
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use stratsim::results::Summary;
use stratsim::study;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shared_draws: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut path = PathBuf::from("scenarios/reset.toml");
    let (mut trials, mut threads, mut reps) = (20_000u64, 2usize, 3usize);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--trials" => trials = value()?.parse().map_err(|e| format!("--trials: {e}"))?,
            "--threads" => threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--reps" => reps = value()?.parse().map_err(|e| format!("--reps: {e}"))?,
            _ if !a.starts_with('-') => path = PathBuf::from(a),
            _ => return Err(format!("unknown option {a}")),
        }
    }
    let loaded = stratsim::scenario::load_raw(&path).map_err(|e| e.to_string())?;
    let mut base = loaded.scenario().map_err(|e| e.to_string())?;
    base.trials = trials;
    let n_threads = threads;
    let threads = Some(threads);
    // The variant set the sensitivity stands for.
    let variants = study::sensitivity::variant_scenarios(
        &loaded,
        &base,
        stratsim::results::studies::Steps::default(),
    )
    .map_err(|e| e.to_string())?;
    let json = |s: &[Summary]| -> Vec<String> {
        s.iter()
            .map(|s| serde_json::to_string(s).expect("summary serialises"))
            .collect()
    };
    let (mut separate, mut shared) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        let one_by_one = variants
            .iter()
            .map(|v| study::simulate(v, threads))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        separate = separate.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let many = study::simulate_many(&variants, threads).map_err(|e| e.to_string())?;
        shared = shared.min(t.elapsed().as_secs_f64());
        if json(&one_by_one) != json(&many) {
            return Err("simulate_many differs from separate runs".into());
        }
    }
    println!(
        "{}: {} variants x {trials} trials, {} threads, best of {reps}",
        path.display(),
        variants.len(),
        n_threads
    );
    println!("separate runs  {:8.2} s", separate);
    println!("simulate_many  {:8.2} s", shared);
    println!("ratio          {:8.2} (summaries equal)", separate / shared);
    Ok(())
}
