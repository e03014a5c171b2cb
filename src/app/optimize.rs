//! `simulate optimize SCENARIO`: the command around [`crate::optimize`]
//! (the search itself knows no command line): options, output folder,
//! progress, and the run of the optimized scenario whose outputs it writes
//! like a run's, with the optimizer's files and report section added.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::cli;
use super::progress::Progress;
use crate::error::{Error, Result};
use crate::model::Scenario;
use crate::optimize::report::{
    blocks, check_reproduced, console_text, evaluations_csv, figures, frontier_csv, optimum_json,
};
use crate::optimize::{self, toml_out, Outcome};
use crate::report::{self, charts::frontier as chart};
use crate::results::{Run, Summary};
use crate::scenario::Loaded;

/// The default output folder: `output/<file stem>-optimize`.
pub fn default_out(scenario: &Path) -> PathBuf {
    PathBuf::from("output").join(format!("{}-optimize", super::run::stem(scenario)))
}

/// `simulate optimize SCENARIO`: validates the `[optimize]` table, runs
/// the search and the frontier, re-scores the optimum out of sample,
/// writes `optimized.toml` and runs it like `simulate optimized.toml`
/// would (summary, charts, report with an optimization section), into an
/// output folder replaced like a run's.
pub fn optimize(args: &cli::OptimizeArgs) -> Result<()> {
    let path = args.scenario.as_path();
    let loaded = crate::scenario::load_raw(path)?;
    let mut scenario = loaded.scenario()?;
    let problem = optimize::config::plan(&loaded, &scenario)?;
    if let Some(t) = problem.trials {
        scenario.trials = t;
    }
    super::run::override_trials_and_seed(&mut scenario, args.trials, args.seed)?;
    let mut problem = problem;
    if let Some(e) = args.evaluations {
        problem.evaluations = e as usize;
    }
    let dest = args.out.clone().unwrap_or_else(|| default_out(path));
    let threads = crate::resources::threads(args.threads)?;
    crate::resources::set_global_threads(threads);
    if !args.quiet {
        for w in loaded.warnings() {
            crate::console::say(&format!("warning: {w}"));
        }
    }
    crate::resources::check_memory_with(
        &scenario,
        threads,
        scenario.trials,
        1,
        Some(&per_trial_memory(&problem)),
    )?;
    let staged =
        crate::output::Staged::prepare(&dest, args.out.is_none(), &super::run::inputs(&loaded))?;
    let total = problem.evaluations
        + problem
            .frontier
            .as_ref()
            .filter(|_| !args.no_frontier)
            .map_or(0, |f| f.evaluations * f.points);
    let bar = Progress::candidates(total as u64, !args.quiet);
    let seen = AtomicUsize::new(0);
    let tell = |n: usize| {
        let m = seen.fetch_max(n, Ordering::Relaxed).max(n);
        bar.set(m as u64);
    };
    if !args.quiet {
        crate::console::say(&format!(
            "optimize: {} lever{}, at most {} candidates of {} trials each{}",
            problem.levers.len(),
            if problem.levers.len() == 1 { "" } else { "s" },
            problem.evaluations,
            scenario.trials,
            match (&problem.frontier, args.no_frontier) {
                (Some(f), false) => format!(", then a frontier of {} points", f.points),
                _ => String::new(),
            }
        ));
    }
    let settings = optimize::Settings {
        method: optimize::search::Method::Hybrid,
        no_frontier: args.no_frontier,
    };
    let outcome = crate::engine::with_threads(Some(threads), || {
        optimize::optimize(&loaded, &scenario, &problem, settings, &tell)
    })??;
    bar.finish();
    write(&loaded, path, outcome, staged, args, threads)
}

/// Writes `optimized.toml`, runs it, and writes every output into
/// `staged` (then puts it in place); prints the summary.
fn write(
    loaded: &Loaded,
    input: &Path,
    o: Outcome,
    staged: crate::output::Staged,
    args: &cli::OptimizeArgs,
    threads: usize,
) -> Result<()> {
    let here = std::fs::canonicalize(staged.path()).map_err(|e| Error::output(staged.path(), e))?;
    let target = std::fs::canonicalize(input).map_err(|e| Error::output(input, e))?;
    let extends = toml_out::relative(&here, &target);
    let extends = extends.to_string_lossy().replace('\\', "/");
    let text = toml_out::render(loaded, input, &o, &extends)?;
    staged.write("optimized.toml", &text)?;
    let scenario: Scenario = toml_out::check(&staged.path().join("optimized.toml"), &o)?;
    if !args.quiet {
        crate::console::say(&format!(
            "optimize: running optimized.toml ({} policies, {} trials)",
            scenario.policies.len(),
            scenario.trials
        ));
    }
    let charts = !args.no_charts;
    let plan = crate::kernel::Plan::for_run(&scenario, charts);
    let progress = Progress::new(scenario.trials, !args.quiet);
    let (plan, acc) =
        crate::engine::run_plan(plan, &scenario, Some(threads), &|n| progress.inc(n), None)?;
    progress.finish();
    let run = Run::checked(scenario, plan, acc)?;
    let options = crate::report::WriteOptions {
        quiet: true,
        charts,
        xlsx: !args.no_xlsx,
        tail: args.tail,
    };
    let kept: std::cell::RefCell<Option<Summary>> = std::cell::RefCell::new(None);
    let dest = staged.dest().to_path_buf();
    report::write_results_with(staged, &run, options, |staged, summary| {
        check_reproduced(&o, summary)?;
        staged.write("optimize.csv", evaluations_csv(&o))?;
        if let Some(f) = frontier_csv(&o) {
            staged.write("frontier.csv", f)?;
        }
        staged.write("optimum.json", optimum_json(&o))?;
        if charts {
            let (f, c) = figures(&o);
            if let Some(f) = f {
                chart::draw_frontier(&staged.path().join("frontier.png"), &f)?;
            }
            chart::draw_convergence(&staged.path().join("convergence.png"), &c)?;
        }
        *kept.borrow_mut() = Some(summary.clone());
        Ok(report::Findings {
            sections: blocks(&o, charts),
            ..Default::default()
        })
    })?;
    if !args.quiet {
        if let Some(summary) = kept.borrow().as_ref() {
            crate::console::out(&crate::report::table::render(&run.scenario, summary))?;
        }
        crate::console::out(&console_text(&o))?;
        crate::console::outln(&format!("wrote {}", dest.display()))?;
    }
    Ok(())
}

/// What the search keeps per trial: a batch of candidates (the swarm's
/// particles, the baseline beside them) is scored together, and each keeps
/// every trial's value (and its gain and investment when a measure reads
/// them) twice at the peak (per block, then gathered in trial order), plus
/// the sorted copies its quantiles read.
fn per_trial_memory(problem: &optimize::config::Problem) -> crate::resources::PerTrial {
    let (with_baseline, with_spend) = problem.needs();
    let columns = 1 + usize::from(with_baseline) + usize::from(with_spend);
    let batch = optimize::search::particles(problem.levers.len()) + 1;
    crate::resources::PerTrial {
        bytes: (batch * columns * 2 * 8 + 2 * 8) as f64,
        what: format!(
            "the search's candidates ({batch} scored together, {columns} figure{} each kept per trial)",
            if columns == 1 { "" } else { "s" }
        ),
        hint: "lower `trials` in [optimize] or --trials".into(),
    }
}
