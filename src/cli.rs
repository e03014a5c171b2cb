//! Command-line arguments (clap derive; the doc comments are the help).

use std::path::PathBuf;

use clap::Parser;

/// Monte Carlo simulator for corporate portfolio strategy.
///
/// Reads a TOML scenario (see docs/model.md), runs every policy of it on
/// the same random draws, prints the headline table and writes
/// summary.json, summary.csv, PNG charts, report.md and report.html to the
/// output folder.
#[derive(Debug, Parser)]
#[command(name = "simulate", version, about, long_about)]
pub struct Cli {
    /// The scenario file (TOML).
    pub scenario: PathBuf,

    /// Number of Monte Carlo trials (overrides scenario.trials).
    #[arg(long, value_name = "N")]
    pub trials: Option<u64>,

    /// Random seed (overrides scenario.seed); same seed, same numbers.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// Output folder [default: output/<scenario file stem>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Worker threads [default: RAYON_NUM_THREADS or the number of cores].
    /// The numbers do not depend on it.
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// Skip the PNG charts (report.md and report.html are still written).
    /// Charts never change the numbers.
    #[arg(long)]
    pub no_charts: bool,

    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}
