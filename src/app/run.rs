//! `simulate SCENARIO`: one run (or one shard of it), its studies, and
//! `--precision`'s rounds.

use std::path::{Path, PathBuf};

use super::cli;
use super::progress::Progress;
use crate::error::{Error, Result};
use crate::kernel::Plan;
use crate::model::{Metric, Scenario};
use crate::results::{Run, Steps, Studies, Summary};
use crate::stats::Accumulator;
use crate::{console, engine, output, report, resources, scenario, shard, study, trials_out};

/// The default output folder of a scenario: `output/<file stem>`.
pub fn default_out(scenario: &Path) -> PathBuf {
    PathBuf::from("output").join(stem(scenario))
}

/// `simulate SCENARIO`: the whole run (or one shard of it).
pub fn run(args: &cli::RunArgs) -> Result<()> {
    let path = args
        .scenario
        .as_deref()
        .ok_or_else(|| Error::Usage("a scenario file is required".into()))?;
    let loaded = scenario::load_raw(path)?;
    let mut scenario = loaded.scenario()?;
    check_options(args, &loaded)?;
    override_trials_and_seed(&mut scenario, args.trials, args.seed)?;
    if args.precision.is_some() && args.max_trials < scenario.trials {
        return Err(Error::Usage(format!(
            "--max-trials {} is below the {} trials --precision starts from; raise --max-trials or lower --trials",
            args.max_trials, scenario.trials
        )));
    }
    let dest = args.out.clone().unwrap_or_else(|| default_out(path));
    let threads = resources::threads(args.threads)?;
    resources::set_global_threads(threads);
    if !args.quiet {
        for w in loaded.warnings() {
            console::say(&format!("warning: {w}"));
        }
        if loaded.raw.optimize.is_some() {
            console::say(&format!(
                "note: this run ignores [optimize]; `simulate optimize {}` runs the search",
                path.display()
            ));
        }
    }
    match args.shard {
        Some(shard) => run_one_shard(args, path, &scenario, shard, threads, &dest),
        None => run_whole(args, &loaded, scenario, threads, &dest),
    }
}

/// `--shard I/N`: this shard's trial blocks, written as one part file in
/// `dest` for `simulate merge`.
fn run_one_shard(
    args: &cli::RunArgs,
    path: &Path,
    scenario: &Scenario,
    shard: shard::ShardSpec,
    threads: usize,
    dest: &Path,
) -> Result<()> {
    let trials = shard.blocks(scenario.trials);
    let count = (trials.end * engine::BLOCK_TRIALS).min(scenario.trials)
        - (trials.start * engine::BLOCK_TRIALS).min(scenario.trials);
    resources::check_memory(scenario, threads, count, 0)?;
    output::prepare_shard_dir(dest, args.out.is_none())?;
    let progress = Progress::new(count, !args.quiet);
    let outputs = shard::ShardOutputs {
        // Unit paths are recorded for the chart that shows them.
        unit_paths: !args.no_charts,
        trials_out: args.trials_out.as_deref(),
        trials_out_units: args.trials_out_units,
    };
    let file = shard::run_shard(
        scenario,
        &stem(path),
        shard,
        Some(threads),
        dest,
        outputs,
        &|n| progress.inc(n),
    )?;
    progress.finish();
    if !args.quiet {
        console::outln(&format!(
            "shard {}/{}: trial blocks {}..{} of {}; wrote {}",
            shard.index,
            shard.count,
            trials.start,
            trials.end,
            engine::block_count(scenario.trials),
            file.display()
        ))?;
    }
    Ok(())
}

/// The whole run: its studies planned and every output checked before
/// any work, the trials (to `--precision` when asked), then the results,
/// studies and `--trials-out` written into `dest`.
fn run_whole(
    args: &cli::RunArgs,
    loaded: &scenario::Loaded,
    mut scenario: Scenario,
    threads: usize,
    dest: &Path,
) -> Result<()> {
    // Everything a study will run is built and checked now, before any
    // work: a bad sweep point fails at once, not after the base run.
    let most_trials = if args.precision.is_some() {
        args.max_trials
    } else {
        scenario.trials
    };
    let studies_run = !args.sweep.is_empty()
        || !loaded.raw.sweep.is_empty()
        || args.sensitivity
        || scenario.funding.is_some();
    let kept = usize::from(studies_run) + usize::from(args.precision.is_some());
    resources::check_memory(&scenario, threads, most_trials, kept)?;
    let sweeps = study::plan(loaded, &scenario, &args.sweep, &mut |sc| {
        resources::check_memory(sc, threads, sc.trials, kept)
    })?;
    let staged = output::Staged::prepare(dest, args.out.is_none(), &inputs(loaded))?;
    // Unit paths are recorded for the chart that shows them.
    let plan = Plan::for_run(&scenario, !args.no_charts);
    let target = args
        .trials_out
        .as_deref()
        .map(|p| trials_out::Target::new(p, Some(&staged)))
        .transpose()?;
    let columns = trials_out::Columns::new(&scenario, &plan.layout, args.trials_out_units);
    if let Some(t) = &target {
        t.check_room(&columns, most_trials)?;
    }
    let streamer = target
        .as_ref()
        .map(|t| trials_out::Streamer::new(t, &columns, 0, Some(threads)))
        .transpose()?;
    let sink = streamer.as_ref().map(|s| s as &dyn engine::TrialSink);
    let (plan, acc) = simulate(args, &mut scenario, plan, threads, sink)?;
    if let Some(s) = streamer {
        s.finish(0..engine::block_count(scenario.trials))?;
    }
    let run = Run::checked(scenario, plan, acc)?;
    let options = args.figures.write_options(args.quiet, args.no_charts);
    report::write_results_with(staged, &run, options, |staged, summary| {
        studies(
            args,
            loaded,
            &sweeps,
            &run.scenario,
            summary,
            staged,
            threads,
        )
        .map(Into::into)
    })?;
    super::commit_trials(target, args.quiet)
}

/// The run's trials, with a progress bar, or in rounds to `--precision`
/// (the scenario then holds the trials that took).
fn simulate(
    args: &cli::RunArgs,
    scenario: &mut Scenario,
    plan: Plan,
    threads: usize,
    sink: Option<&dyn engine::TrialSink>,
) -> Result<(Plan, Accumulator)> {
    match args.precision {
        Some(target) => {
            let (plan, acc) = run_to_precision(
                scenario,
                plan,
                Some(threads),
                target,
                args.max_trials,
                args.quiet,
                sink,
            )?;
            scenario.trials = acc.trials;
            Ok((plan, acc))
        }
        None => {
            let progress = Progress::new(scenario.trials, !args.quiet);
            let done = engine::run_plan(plan, scenario, Some(threads), &|n| progress.inc(n), sink)?;
            progress.finish();
            Ok(done)
        }
    }
}

/// Sweeps and sensitivity, when asked for: more runs of the scenario on
/// the same draws, written beside the summary (and returned for the
/// report's charts).
fn studies(
    args: &cli::RunArgs,
    loaded: &scenario::Loaded,
    sweeps: &study::SweepPlan,
    base: &Scenario,
    summary: &Summary,
    staged: &output::Staged,
    threads: usize,
) -> Result<Studies> {
    let mut out = Studies {
        sensitivity_steps: Steps {
            rate: args.sensitivity_rate_step,
            level: args.sensitivity_step,
        },
        sensitivity_top: args.sensitivity_top.map(|n| n as usize),
        ..Default::default()
    };
    let say = |m: String| {
        if !args.quiet {
            console::say(&m);
        }
    };
    let many = |scs: &[Scenario]| study::simulate_many(scs, Some(threads));
    if !sweeps.is_empty() {
        let points = study::run_sweep(sweeps, &many, &|n, total| {
            say(format!("sweep: {n} of {total} points"))
        })?;
        staged.write("sweep.csv", study::sweep_csv(&sweeps.sweeps, &points))?;
        (out.sweeps, out.points) = (sweeps.sweeps.clone(), points);
    }
    if args.sensitivity {
        let rows = study::sensitivity::run(
            loaded,
            base,
            summary,
            out.sensitivity_steps,
            out.sensitivity_top,
            Some(threads),
            &|m| console::say(&format!("warning: {m}")),
            &|n, total| say(format!("sensitivity: {n} of {total} runs")),
            None,
        )?;
        staged.write("sensitivity.csv", study::sensitivity::csv(&rows))?;
        if let Some(top) = args.sensitivity_top {
            let screened = rows.iter().filter(|r| r.estimated.is_some()).count();
            say(format!(
                "sensitivity: {} of {} rows exact (the top {top} per policy and every input that could reach it), {screened} screened out on their first trials (estimates, noted in sensitivity.csv)",
                rows.len() - screened,
                rows.len()
            ));
        }
        out.sensitivity = rows;
    }
    if let Some(f) = &base.funding {
        say(format!(
            "funding study: {} runs on the same draws",
            f.units.len() * f.years.len()
        ));
        if let Some(found) = study::funding::run(base, Some(threads))? {
            staged.write("funding.csv", study::funding::csv(&found))?;
            out.funding = Some(found);
        }
    }
    Ok(out)
}

/// `--precision`: runs rounds of whole blocks (the first of `trials`
/// rounded up, then doubling the total) until the baseline's mean value at
/// the last horizon has a standard error under `target` of its size.
/// Blocks combine exactly, so the result equals a plain run with the final
/// trial count, bit for bit.
fn run_to_precision(
    scenario: &Scenario,
    plan: Plan,
    threads: Option<usize>,
    target: f64,
    max_trials: u64,
    quiet: bool,
    sink: Option<&dyn engine::TrialSink>,
) -> Result<(Plan, Accumulator)> {
    let slot = plan
        .layout
        .index(scenario.baseline, plan.layout.horizons - 1, Metric::Value);
    let max_blocks = engine::block_count(max_trials.max(1)).max(1);
    let mut acc = engine::accumulator(&plan, scenario.seed);
    let mut done = 0u64;
    let mut next = engine::block_count(scenario.trials).clamp(1, max_blocks);
    loop {
        let trials = next * engine::BLOCK_TRIALS;
        let progress = Progress::new(trials - done * engine::BLOCK_TRIALS, !quiet);
        let part = engine::with_threads(threads, || {
            engine::run_blocks_to(
                &plan,
                scenario.seed,
                trials,
                done..next,
                &|n| progress.inc(n),
                sink,
            )
        })??;
        progress.finish();
        acc.merge(&part);
        done = next;
        let s = acc.stats(slot);
        let share = s.stderr / s.mean.abs();
        if !quiet {
            console::say(&format!(
                "precision: {} trials, standard error {:.3}% of the baseline's mean value (target {:.3}%)",
                acc.trials,
                100.0 * share,
                100.0 * target
            ));
        }
        if share < target || !share.is_finite() {
            break;
        }
        if done >= max_blocks {
            if !quiet {
                console::say(&format!(
                    "warning: --precision {:.3}% not reached within --max-trials {max_trials}",
                    100.0 * target
                ));
            }
            break;
        }
        next = (done * 2).min(max_blocks);
    }
    Ok((plan, acc))
}

/// Option combinations that cannot all be meant, refused before any work.
fn check_options(args: &cli::RunArgs, loaded: &scenario::Loaded) -> Result<()> {
    if args.shard.is_some() {
        let mut studies = Vec::new();
        if !args.sweep.is_empty() {
            studies.push("--sweep");
        } else if !loaded.raw.sweep.is_empty() {
            studies.push("the scenario's [[sweep]] tables");
        }
        if args.sensitivity {
            studies.push("--sensitivity");
        }
        if args.precision.is_some() {
            studies.push("--precision");
        }
        if loaded.raw.funding.is_some() {
            studies.push("the scenario's [funding] study");
        }
        if !studies.is_empty() {
            return Err(Error::Usage(format!(
                "--shard runs a share of the trials of one simulation and cannot share out {}; run that study without --shard (or shard a copy of the scenario without [[sweep]] or [funding] tables)",
                studies.join(" or ")
            )));
        }
        if args.watch {
            return Err(shard_and_watch());
        }
    }
    Ok(())
}

pub(super) fn shard_and_watch() -> Error {
    Error::Usage(
        "--shard and --watch do not go together: a shard runs once and writes a partial result"
            .into(),
    )
}

/// The files a run reads, which its output folder must not hold.
pub(super) fn inputs(loaded: &scenario::Loaded) -> output::Inputs {
    let files = loaded.files();
    output::Inputs(
        files
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                let what = if i == 0 {
                    "the scenario"
                } else {
                    "a scenario it extends"
                };
                (what, f)
            })
            .collect(),
    )
}

/// `--trials` and `--seed` over the file's values (a command's
/// overrides are checked like the file's).
pub(super) fn override_trials_and_seed(
    scenario: &mut Scenario,
    trials: Option<u64>,
    seed: Option<u64>,
) -> Result<()> {
    if let Some(t) = trials {
        if t == 0 || t > scenario::validate::MAX_TRIALS {
            return Err(Error::Usage(format!(
                "--trials must be between 1 and {}, got {t}",
                scenario::validate::MAX_TRIALS
            )));
        }
        scenario.trials = t;
    }
    if let Some(s) = seed {
        scenario.seed = s;
    }
    Ok(())
}

/// The scenario file's stem, naming its default output folder.
pub(super) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into())
}
