//! Command-line arguments (clap derive; the doc comments are the help).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::shard::ShardSpec;

/// Monte Carlo simulator for corporate portfolio strategy.
///
/// Reads a TOML scenario (see docs/model.md), runs every policy of it on
/// the same random draws, prints the headline table and writes
/// summary.json, summary.csv, PNG charts, report.md and report.html to the
/// output folder.
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

    /// Keep adding trials until the Monte Carlo standard error of the
    /// baseline's mean value (at the last horizon) is under this share of
    /// it, e.g. 0.5% or 0.005. Starts from --trials (rounded up to whole
    /// blocks of 1024) and doubles; deterministic for a given seed.
    #[arg(long, value_name = "SHARE", value_parser = parse_share)]
    pub precision: Option<f64>,

    /// Most trials --precision may use (at least --trials).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100_000_000,
        requires = "precision"
    )]
    pub max_trials: u64,

    /// Sweep a parameter: PATH=v1,v2,... where PATH is dotted as in the
    /// file (policies.reset.innovation.years, units."Quark".growth,
    /// scenario.discount_rate). Give it twice for a two-way grid. Replaces
    /// the scenario's [[sweep]] tables. Writes sweep.csv.
    #[arg(long, value_name = "PATH=V1,V2,...")]
    pub sweep: Vec<crate::study::Sweep>,

    /// Move each unit parameter (growth, volatility, margin, multiple
    /// median, max uplift) down and up by --sensitivity-step, one at a
    /// time, on the same draws; writes sensitivity.csv.
    #[arg(long)]
    pub sensitivity: bool,

    /// Relative step of --sensitivity: 10% or 0.1 (of each value).
    #[arg(
        long,
        value_name = "SHARE",
        default_value_t = 0.1,
        value_parser = parse_share,
        requires = "sensitivity"
    )]
    pub sensitivity_step: f64,

    /// Re-run on every save of the scenario (and the files it extends);
    /// an invalid edit prints its error and keeps the last good output.
    #[arg(long)]
    pub watch: bool,

    /// Skip the PNG charts (report.md and report.html are still written).
    /// Charts never change the numbers.
    #[arg(long)]
    pub no_charts: bool,

    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// "0.5%" or "0.005" -> 0.005. A bare number of 1 or more is refused as
/// ambiguous: `10` may mean 10% or ten times; it must be written `10%` or
/// `0.10`.
pub fn parse_share(s: &str) -> Result<f64, String> {
    let (num, percent) = match s.trim().strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (s.trim(), false),
    };
    let x: f64 = num
        .parse()
        .ok()
        .filter(|x: &f64| x.is_finite())
        .ok_or_else(|| format!("expected a share such as 0.5% or 0.005, got {s:?}"))?;
    if !percent && x >= 1.0 {
        return Err(format!(
            "{s} is ambiguous: write {s}% for {s} percent, or a fraction below 1 ({} for {s}%)",
            x / 100.0
        ));
    }
    let share = if percent { x / 100.0 } else { x };
    if !(share > 0.0 && share < 1.0) {
        return Err(format!(
            "the share must be above 0 and below 100% (e.g. 0.5% or 0.005), got {s:?}"
        ));
    }
    Ok(share)
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

    /// Output folder (required: a partial result never chooses where
    /// output goes). Replaced like a run's: only a new or empty folder, or
    /// one stratsim wrote; it must not hold the partials.
    #[arg(long, value_name = "DIR", required = true)]
    pub out: PathBuf,

    /// Skip the PNG charts (report.md and report.html are still written).
    #[arg(long)]
    pub no_charts: bool,

    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_unambiguous() {
        assert_eq!(parse_share("0.5%"), Ok(0.005));
        assert_eq!(parse_share("0.005"), Ok(0.005));
        assert_eq!(parse_share("0.5"), Ok(0.5));
        assert_eq!(parse_share("10%"), Ok(0.1));
        let e = parse_share("10").unwrap_err();
        assert!(
            e.contains("ambiguous") && e.contains("10%") && e.contains("0.1"),
            "{e}"
        );
        assert!(parse_share("1").unwrap_err().contains("ambiguous"));
        assert!(parse_share("150%").is_err());
        assert!(parse_share("0").is_err());
        assert!(parse_share("nan").is_err());
        assert!(parse_share("x").is_err());
    }
}
