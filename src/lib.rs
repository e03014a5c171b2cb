//! stratsim: a Monte Carlo simulator for corporate portfolio strategy.
//!
//! The pipeline is scenario -> model -> engine -> stats -> report:
//! [`scenario`] reads and validates a TOML file into [`model`] types,
//! [`engine`] runs the trials of [`model::trial`] in parallel blocks,
//! [`stats`] aggregates them as they come, and [`report`] writes what a run
//! reports. [`fit`] goes the other way, from a revenue history to the
//! scenario keys; [`optimize`] searches a policy's terms for the best
//! value under constraints. `main.rs` only parses arguments and maps
//! errors to exit codes.

pub mod cli;
pub mod console;
pub mod engine;
pub mod error;
pub mod fit;
pub mod input;
pub mod model;
pub mod optimize;
pub mod output;
pub mod report;
pub mod resources;
pub mod scenario;
pub mod shard;
pub mod stats;
pub mod study;
pub mod trials_out;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub use error::{Error, Result};

/// The default output folder of a scenario: `output/<file stem>`.
pub fn default_out(scenario: &Path) -> PathBuf {
    PathBuf::from("output").join(stem(scenario))
}

/// A progress bar on stderr that appears only once a run has lasted a
/// second, and never when stderr is not a terminal.
pub struct Progress {
    bar: ProgressBar,
    start: Instant,
    shown: AtomicBool,
    enabled: bool,
}

impl Progress {
    pub fn new(total: u64, enabled: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} trials ({eta} left)",
        ) {
            bar.set_style(style);
        }
        Progress {
            bar,
            start: Instant::now(),
            shown: AtomicBool::new(false),
            enabled: enabled && std::io::stderr().is_terminal(),
        }
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        if self.enabled
            && !self.shown.load(Ordering::Relaxed)
            && self.start.elapsed() > Duration::from_secs(1)
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// How long a signalled process waits for its run to stop by itself
/// before it exits anyway.
const STOP_GRACE: Duration = Duration::from_millis(300);

/// Installs the SIGINT/SIGTERM handler. One signal ends the process
/// within a second whatever it is doing: the run is asked to stop (the
/// engine and the long loops of studies, charts and merges check between
/// steps, remove their temporary folder and return), and if it has not
/// ended 0.3 s after the signal (blocked in a read, or in a step that does
/// not check), the handler removes the temporary folders and lock files
/// itself and exits with 130. A commit in progress (the final renames) is
/// waited for, so the output is the previous one or the new one, whole.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        if !engine::INTERRUPTED.swap(true, Ordering::SeqCst) {
            console::say("\ninterrupted: stopping");
            std::thread::sleep(STOP_GRACE);
        }
        output::remove_staging();
        trials_out::remove_temporary();
        std::process::exit(error::EXIT_INTERRUPTED as i32);
    });
}

/// Dispatches a parsed command line.
pub fn main_with(cli: &cli::Cli) -> Result<()> {
    match &cli.command {
        Some(cli::Command::Merge(args)) => merge(args),
        Some(cli::Command::Check { scenario }) => check(scenario),
        Some(cli::Command::Schema) => console::out(&scenario::json_schema()),
        Some(cli::Command::Fit(args)) => fit::run(args),
        Some(cli::Command::History(args)) => fit::synthetic::run(args),
        Some(cli::Command::Optimize(args)) => optimize::command(args),
        None if cli.run.watch => watch(&cli.run),
        None => run(&cli.run),
    }
}

/// `simulate check`: validates the scenario and its sweeps exactly as a
/// run would, prints its warnings and a digest, runs nothing.
pub fn check(path: &Path) -> Result<()> {
    let loaded = scenario::load_raw(path)?;
    let s = loaded.scenario()?;
    let sweeps = study::plan(&loaded, &s, &[], &mut |_| Ok(()))?;
    let optimize = match loaded.raw.optimize {
        Some(_) => Some(optimize::config::plan(&loaded, &s)?),
        None => None,
    };
    for w in loaded.warnings() {
        console::say(&format!("warning: {w}"));
    }
    console::out(&report::digest::render(&s))?;
    if !sweeps.is_empty() {
        let what: Vec<&str> = sweeps.sweeps.iter().map(|s| s.path.as_str()).collect();
        console::outln(&format!(
            "\nsweep: {} ({} points, each checked)",
            what.join(" x "),
            sweeps.len()
        ))?;
    }
    if let Some(p) = optimize {
        console::outln(&format!("\n{}", p.describe(&s)))?;
    }
    console::outln(&format!("\n{}: valid", path.display()))
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

fn shard_and_watch() -> Error {
    Error::Usage(
        "--shard and --watch do not go together: a shard runs once and writes a partial result"
            .into(),
    )
}

/// The files a run reads, which its output folder must not hold.
fn inputs(loaded: &scenario::Loaded) -> output::Inputs {
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

/// `--watch`: runs, then re-runs whenever the scenario or a file it
/// extends changes. A failed run (an invalid edit) prints its error and,
/// like any failed run, leaves the last good output in place.
pub fn watch(args: &cli::RunArgs) -> Result<()> {
    let path = args
        .scenario
        .as_deref()
        .ok_or_else(|| Error::Usage("a scenario file is required".into()))?;
    if args.shard.is_some() {
        return Err(shard_and_watch());
    }
    let stamp = |files: &[PathBuf]| -> Vec<Option<(std::time::SystemTime, u64)>> {
        files
            .iter()
            .map(|f| {
                std::fs::metadata(f)
                    .ok()
                    .and_then(|m| Some((m.modified().ok()?, m.len())))
            })
            .collect()
    };
    loop {
        // Watch what the scenario reads now (an edit may change `extends`).
        let files = scenario::load_raw(path)
            .map(|l| l.files())
            .unwrap_or_else(|_| vec![path.to_path_buf()]);
        let before = stamp(&files);
        match run(args) {
            Err(e @ (Error::Interrupted | Error::ClosedPipe | Error::Stdout(_))) => return Err(e),
            Err(e) => console::say(&format!(
                "error: {e}
(keeping the last good output)"
            )),
            Ok(()) => {}
        }
        console::say(&format!(
            "watching {} for changes (Ctrl-C to stop)",
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        loop {
            std::thread::sleep(Duration::from_millis(200));
            if engine::INTERRUPTED.load(Ordering::Relaxed) {
                return Err(Error::Interrupted);
            }
            if stamp(&files) != before {
                // Let the editor finish writing.
                std::thread::sleep(Duration::from_millis(100));
                break;
            }
        }
    }
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
    if let Some(t) = args.trials {
        if t == 0 || t > scenario::validate::MAX_TRIALS {
            return Err(Error::Usage(format!(
                "--trials must be between 1 and {}, got {t}",
                scenario::validate::MAX_TRIALS
            )));
        }
        scenario.trials = t;
    }
    if let Some(s) = args.seed {
        scenario.seed = s;
    }
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
    }

    // Unit paths are recorded for the chart that shows them.
    let unit_paths = !args.no_charts;
    if let Some(shard) = args.shard {
        let trials = shard.blocks(scenario.trials);
        let count = (trials.end * engine::BLOCK_TRIALS).min(scenario.trials)
            - (trials.start * engine::BLOCK_TRIALS).min(scenario.trials);
        resources::check_memory(&scenario, threads, count, 0)?;
        output::prepare_shard_dir(&dest, args.out.is_none())?;
        let progress = Progress::new(count, !args.quiet);
        let outputs = shard::ShardOutputs {
            unit_paths,
            trials_out: args.trials_out.as_deref(),
            trials_out_units: args.trials_out_units,
        };
        let file = shard::run_shard(
            &scenario,
            &stem(path),
            shard,
            Some(threads),
            &dest,
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
        return Ok(());
    }

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
    let sweeps = study::plan(&loaded, &scenario, &args.sweep, &mut |sc| {
        resources::check_memory(sc, threads, sc.trials, kept)
    })?;
    let staged = output::Staged::prepare(&dest, args.out.is_none(), &inputs(&loaded))?;
    let plan = model::trial::Plan::for_run(&scenario, unit_paths);
    let target = args
        .trials_out
        .as_deref()
        .map(|p| trials_out::Target::new(p, Some(&staged)))
        .transpose()?;
    let columns = trials_out::Columns::new(&scenario, &plan.layout, args.trials_out_units);
    let streamer = target
        .as_ref()
        .map(|t| trials_out::Streamer::new(t, &columns, 0, Some(threads)))
        .transpose()?;
    let sink = streamer.as_ref().map(|s| s as &dyn engine::TrialSink);
    let (plan, acc) = match args.precision {
        Some(target) => {
            let (plan, acc) = run_to_precision(
                &scenario,
                plan,
                Some(threads),
                target,
                args.max_trials,
                args.quiet,
                sink,
            )?;
            scenario.trials = acc.trials;
            (plan, acc)
        }
        None => {
            let progress = Progress::new(scenario.trials, !args.quiet);
            let done =
                engine::run_plan(plan, &scenario, Some(threads), &|n| progress.inc(n), sink)?;
            progress.finish();
            done
        }
    };
    if let Some(s) = streamer {
        s.finish(0..engine::block_count(scenario.trials))?;
    }
    check_finite(&scenario, &plan, &acc)?;
    let options = WriteOptions {
        quiet: args.quiet,
        charts: !args.no_charts,
        xlsx: !args.no_xlsx,
        tail: args.tail,
    };
    write_results_with(
        staged,
        &scenario,
        &plan,
        &acc,
        options,
        |staged, summary| studies(args, &sweeps, &scenario, summary, staged, threads),
    )?;
    if let Some(t) = target {
        let dest = t.dest().to_path_buf();
        t.commit()?;
        if !args.quiet {
            console::outln(&format!("wrote {}", dest.display()))?;
        }
    }
    Ok(())
}

/// Sweeps and sensitivity, when asked for: more runs of the scenario on
/// the same draws, written beside the summary (and returned for the
/// report's charts).
fn studies(
    args: &cli::RunArgs,
    sweeps: &study::SweepPlan,
    base: &model::Scenario,
    summary: &report::Summary,
    staged: &output::Staged,
    threads: usize,
) -> Result<study::Studies> {
    let mut out = study::Studies {
        sensitivity_step: args.sensitivity_step,
        ..Default::default()
    };
    let say = |m: String| {
        if !args.quiet {
            console::say(&m);
        }
    };
    if !sweeps.is_empty() {
        let total = sweeps.len();
        let count = std::sync::atomic::AtomicUsize::new(0);
        let points = study::run_sweep(sweeps, &|sc| {
            let n = count.fetch_add(1, Ordering::Relaxed) + 1;
            say(format!("sweep: point {n} of {total}"));
            study::simulate(sc, Some(threads))
        })?;
        staged.write("sweep.csv", study::sweep_csv(&sweeps.sweeps, &points))?;
        (out.sweeps, out.points) = (sweeps.sweeps.clone(), points);
    }
    if args.sensitivity {
        let params = study::SENSITIVITY_PARAMETERS.len();
        let total = 2 * base.units.len() * params;
        let count = std::sync::atomic::AtomicUsize::new(0);
        let rows = study::run_sensitivity(
            base,
            summary,
            args.sensitivity_step,
            &|sc| {
                let n = count.fetch_add(1, Ordering::Relaxed) + 1;
                say(format!("sensitivity: run {n} of at most {total}"));
                study::simulate(sc, Some(threads))
            },
            &|m| console::say(&format!("warning: {m}")),
        )?;
        staged.write("sensitivity.csv", study::sensitivity_csv(&rows))?;
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
    scenario: &model::Scenario,
    plan: model::trial::Plan,
    threads: Option<usize>,
    target: f64,
    max_trials: u64,
    quiet: bool,
    sink: Option<&dyn engine::TrialSink>,
) -> Result<(model::trial::Plan, stats::Accumulator)> {
    let slot = plan.layout.index(
        scenario.baseline,
        plan.layout.horizons - 1,
        model::trial::Metric::Value,
    );
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

/// `simulate merge PARTIAL...`: the outputs of a single run from shards.
///
/// The output folder is `--out`, never a name read from a partial (a
/// partial is data from elsewhere: its contents must not choose what is
/// replaced). It is checked, and must not hold the partials, before any
/// partial is read.
pub fn merge(args: &cli::MergeArgs) -> Result<()> {
    let threads = resources::threads(None)?;
    resources::set_global_threads(threads);
    let files = shard::expand(&args.partials)?;
    let inputs = output::Inputs(
        files
            .iter()
            .map(|f| ("a partial result being merged,", f.clone()))
            .collect(),
    );
    let dest = &args.out;
    let staged = output::Staged::prepare(dest, false, &inputs)?;
    let (total, files, parts) = shard::merge(&files)?;
    let plan = model::trial::Plan::for_run(&total.scenario, total.unit_paths);
    check_finite(&total.scenario, &plan, &total.accumulator)?;
    let target = match &args.trials_out {
        Some(p) => {
            let target = trials_out::Target::new(p, Some(&staged))?;
            trials_out::join(&target, &shard::trials_parts(&parts)?)?;
            Some(target)
        }
        None => None,
    };
    if !args.quiet {
        console::outln(&format!("merged {} partial results", files.len()))?;
    }
    let options = WriteOptions {
        quiet: args.quiet,
        charts: !args.no_charts,
        xlsx: !args.no_xlsx,
        tail: args.tail,
    };
    write_results(staged, &total.scenario, &plan, &total.accumulator, options)?;
    if let Some(t) = target {
        let dest = t.dest().to_path_buf();
        t.commit()?;
        if !args.quiet {
            console::outln(&format!("wrote {}", dest.display()))?;
        }
    }
    Ok(())
}

/// How the outputs of a finished run are written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WriteOptions {
    /// Print nothing (no table).
    pub quiet: bool,
    /// Draw the PNG charts.
    pub charts: bool,
    /// Write summary.xlsx.
    pub xlsx: bool,
    /// Tail share of VaR and CVaR.
    pub tail: f64,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            quiet: false,
            charts: true,
            xlsx: true,
            tail: report::summary::DEFAULT_TAIL,
        }
    }
}

/// Writes every output of a finished run into `staged` and puts it in place.
pub fn write_results(
    staged: output::Staged,
    scenario: &model::Scenario,
    plan: &model::trial::Plan,
    acc: &stats::Accumulator,
    options: WriteOptions,
) -> Result<()> {
    write_results_with(staged, scenario, plan, acc, options, |_, _| {
        Ok(study::Studies::default())
    })
}

/// [`write_results`], with `extra` writing more files into the staged
/// folder before it is put in place and returning the studies it ran
/// (their findings join the headline sentences).
pub fn write_results_with(
    staged: output::Staged,
    scenario: &model::Scenario,
    plan: &model::trial::Plan,
    acc: &stats::Accumulator,
    options: WriteOptions,
    extra: impl FnOnce(&output::Staged, &report::Summary) -> Result<study::Studies>,
) -> Result<()> {
    let mut summary = report::Summary::with_tail(scenario, plan, acc, options.tail);
    let studies = extra(&staged, &summary)?;
    summary.headline = report::headline::sentences(scenario, &summary, Some(&studies));
    staged.write("summary.json", summary.to_json())?;
    staged.write("summary.csv", summary.to_csv())?;
    let studies = (!studies.is_empty()).then_some(&studies);
    report::write_report(
        staged.path(),
        scenario,
        plan,
        acc,
        &summary,
        studies,
        options.charts,
    )?;
    if options.xlsx {
        report::workbook::write(
            staged.path(),
            &report::workbook::Input {
                scenario,
                layout: &plan.layout,
                acc,
                summary: &summary,
                studies,
            },
        )?;
    }
    let dest = staged.dest().to_path_buf();
    if let Some(note) = staged.commit()? {
        console::say(&note);
    }
    if !options.quiet {
        console::out(&report::table::render(scenario, &summary))?;
        if let Some(f) = studies.and_then(|s| s.funding.as_ref()) {
            console::out(&study::funding::table(f))?;
        }
        console::outln(&format!("wrote {}", dest.display()))?;
    }
    Ok(())
}

/// The scenario file's stem, naming its default output folder.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into())
}

/// Refuses to report a run in which a figure overflowed, and says where:
/// the offending trial is re-run step by step to find the first unit,
/// policy and step whose figures stopped being finite numbers.
pub(crate) fn check_finite(
    scenario: &model::Scenario,
    plan: &model::trial::Plan,
    acc: &stats::Accumulator,
) -> Result<()> {
    let Some((slot, trial)) = acc.non_finite else {
        if let Some(slot) = acc.moments_overflow() {
            let m = &acc.metrics[slot];
            return Err(Error::Numeric(format!(
                "{} reaches {:.3e}; its values spread too widely for a standard deviation in 64-bit floats (their squared deviations sum past 1.8e308), so stdev and stderr cannot be reported (lower the volatility, growth, jump sizes or the horizon). Nothing was written.",
                describe_slot(scenario, plan, slot),
                m.max().abs().max(m.min().abs())
            )));
        }
        return Ok(());
    };
    let mut state = model::trial::TrialState::new(plan);
    let found = state.diagnose(plan, &mut engine::rng::trial_rng(scenario.seed, trial));
    let place = match found {
        Some(o) => {
            let year = (o.step + 1) as f64 / scenario.steps_per_year as f64;
            let unit = o
                .unit
                .map(|u| format!(" of unit \"{}\"", scenario.units[u].name))
                .unwrap_or_default();
            format!(
                "the {}{unit} under policy \"{}\" is not a finite number after step {} (year {year}) of trial {trial}",
                o.what,
                scenario.policies[o.policy].name,
                o.step + 1,
            )
        }
        None => format!(
            "{} is not a finite number in trial {trial}",
            describe_slot(scenario, plan, slot)
        ),
    };
    Err(Error::Numeric(format!(
        "{place}; the inputs drive figures past what a 64-bit float holds (lower the volatility, growth, jump sizes or the horizon). Nothing was written."
    )))
}

/// Human description of an output slot.
pub fn describe_slot(scenario: &model::Scenario, plan: &model::trial::Plan, slot: usize) -> String {
    let l = &plan.layout;
    for p in 0..l.policies {
        for h in 0..l.horizons {
            for m in l.report_metrics() {
                if l.index(p, h, m) == slot {
                    let unit = m
                        .unit()
                        .map(|u| format!(" of unit \"{}\"", scenario.units[u].name))
                        .unwrap_or_default();
                    return format!(
                        "{}{unit} under policy \"{}\" at year {}",
                        m.name(),
                        scenario.policies[p].name,
                        scenario.horizons[h]
                    );
                }
            }
        }
        for (i, &k) in l.path_steps.iter().enumerate() {
            if l.path_index(p, i) == slot {
                return format!(
                    "group revenue under policy \"{}\" after step {}",
                    scenario.policies[p].name,
                    k + 1
                );
            }
        }
        for (i, &k) in l.unit_path_steps.iter().enumerate() {
            for (u, unit) in scenario.units.iter().enumerate() {
                for (figure, what) in [
                    (model::trial::UnitFigure::Ebita, "EBITA"),
                    (model::trial::UnitFigure::Cash, "cumulative cash"),
                ] {
                    if l.unit_path_index(p, i, u, figure) == slot {
                        return format!(
                            "{what} of unit \"{}\" under policy \"{}\" after step {}",
                            unit.name,
                            scenario.policies[p].name,
                            k + 1
                        );
                    }
                }
            }
        }
    }
    format!("output slot {slot}")
}
