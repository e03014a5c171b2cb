//! stratsim: a Monte Carlo simulator for corporate portfolio strategy.
//!
//! The pipeline is scenario -> model -> engine -> stats -> report:
//! [`scenario`] reads and validates a TOML file into [`model`] types,
//! [`engine`] runs the trials of [`model::trial`] in parallel blocks,
//! [`stats`] aggregates them as they come, and [`report`] writes what a run
//! reports. `main.rs` only parses arguments and maps errors to exit codes.

pub mod cli;
pub mod engine;
pub mod error;
pub mod model;
pub mod output;
pub mod report;
pub mod scenario;
pub mod stats;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub use error::{Error, Result};

/// The default output folder of a scenario: `output/<file stem>`.
pub fn default_out(scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    PathBuf::from("output").join(stem)
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

/// Installs the SIGINT/SIGTERM handler: the first signal stops the run
/// (the previous output stays), a second exits at once.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        if engine::INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(error::EXIT_INTERRUPTED as i32);
        }
        eprintln!("\ninterrupted: stopping (press Ctrl-C again to quit at once)");
    });
}

/// `simulate SCENARIO`: the whole run.
pub fn run(cli: &cli::Cli) -> Result<()> {
    let mut scenario = scenario::load(&cli.scenario)?;
    if let Some(t) = cli.trials {
        if t == 0 || t > scenario::validate::MAX_TRIALS {
            return Err(Error::Usage(format!(
                "--trials must be between 1 and {}, got {t}",
                scenario::validate::MAX_TRIALS
            )));
        }
        scenario.trials = t;
    }
    if let Some(s) = cli.seed {
        scenario.seed = s;
    }
    let dest = cli
        .out
        .clone()
        .unwrap_or_else(|| default_out(&cli.scenario));
    let staged = output::Staged::new(&dest)?;

    let progress = Progress::new(scenario.trials, !cli.quiet);
    let (plan, acc) = engine::run(&scenario, cli.threads.map(usize::from), &|n| {
        progress.inc(n)
    })?;
    progress.finish();
    check_finite(&scenario, &plan, &acc)?;

    let summary = report::Summary::new(&scenario, &plan, &acc);
    staged.write("summary.json", summary.to_json())?;
    staged.write("summary.csv", summary.to_csv())?;
    report::write_report(
        staged.path(),
        &scenario,
        &plan,
        &acc,
        &summary,
        !cli.no_charts,
    )?;
    staged.commit()?;
    if !cli.quiet {
        print!("{}", report::table::render(&scenario, &summary));
        println!("wrote {}", dest.display());
    }
    Ok(())
}

/// Refuses to report a run in which a figure overflowed.
fn check_finite(
    scenario: &model::Scenario,
    plan: &model::trial::Plan,
    acc: &stats::Accumulator,
) -> Result<()> {
    if let Some((slot, trial)) = acc.non_finite {
        let what = describe_slot(scenario, plan, slot);
        return Err(Error::Numeric(format!(
            "{what} is not a finite number in trial {trial}; the inputs drive values past what a 64-bit float holds (lower volatility, growth, jump sizes or the horizon)"
        )));
    }
    Ok(())
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
    }
    format!("output slot {slot}")
}
