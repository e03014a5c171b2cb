//! Command-line arguments (clap derive; the doc comments are the help).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::shard::ShardSpec;

/// Monte Carlo simulator for corporate portfolio strategy.
///
/// Reads a TOML scenario (see docs/model.md), runs every policy of it on
/// the same random draws, prints the headline table and writes
/// summary.json and summary.csv to the output folder.
#[derive(Debug, Parser)]
#[command(
    name = "simulate",
    version,
    about,
    long_about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: RunArgs,
}

/// `simulate SCENARIO [options]`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    #[arg(required = true)]
    pub scenario: Option<PathBuf>,

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

    /// Run only shard I of N (0-based) and write a partial result
    /// `shard-I-of-N.partial` into the output folder; combine the shards
    /// with `simulate merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<ShardSpec>,

    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Combine the partial results of a sharded run into the outputs of a
    /// single run (identical summary.json and summary.csv).
    Merge(MergeArgs),
    /// Validate a scenario without running it and print a digest of it.
    Check {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
    /// Print the JSON Schema of scenario files (for editor completion and
    /// checking; see the README).
    Schema,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Partial result files (or folders holding *.partial files).
    #[arg(required = true, value_name = "PARTIAL")]
    pub partials: Vec<PathBuf>,

    /// Output folder [default: output/<scenario file stem of the run>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}
