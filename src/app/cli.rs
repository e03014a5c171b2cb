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
    pub sweep: Vec<crate::results::Sweep>,

    /// Sensitivity of the decision: move each input (every unit's
    /// assumptions, every policy's levers, the discount rate) down and up,
    /// one at a time, on the same draws, and rank the inputs by how much
    /// they move each policy's mean gain over the baseline (and its chance
    /// of beating it) at the last horizon. Rates move by
    /// --sensitivity-rate-step, levels by --sensitivity-step. Writes
    /// sensitivity.csv, tornado.png and spider.png.
    #[arg(long)]
    pub sensitivity: bool,

    /// Relative step of --sensitivity's levels (revenue, multiples,
    /// budgets, years, sales to capital): 10% or 0.1 (of each value).
    #[arg(
        long,
        value_name = "SHARE",
        default_value_t = 0.1,
        value_parser = parse_share,
        requires = "sensitivity"
    )]
    pub sensitivity_step: f64,

    /// Additive step of --sensitivity's rates (growth, margins, shares,
    /// intensities, terminal growth, the discount rate): 1% or 0.01 moves
    /// a growth of 4% to 3% and 5%.
    #[arg(
        long,
        value_name = "POINTS",
        default_value_t = 0.01,
        value_parser = parse_share,
        requires = "sensitivity"
    )]
    pub sensitivity_rate_step: f64,

    /// Screen --sensitivity for its top N inputs per policy: every input
    /// runs on the first trials (a sixty-fourth, at least 2,048), each
    /// trial paired with the base run's; an input whose swing cannot
    /// reach the top N (its upper bound, three standard errors out, below
    /// the N-th largest lower bound) stops there with its estimate, noted
    /// in sensitivity.csv; the others run on, the trials doubling. Those
    /// left run every trial: their figures are the full study's, bit for
    /// bit. About 4x faster on reset.toml; the charts show exact rows only.
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=10000),
        requires = "sensitivity"
    )]
    pub sensitivity_top: Option<u32>,

    #[command(flatten)]
    pub figures: FigureArgs,

    /// Write every trial's figures to FILE: CSV, gzip-compressed when the
    /// name ends in .gz; one row per trial in trial order (value per
    /// policy and horizon, and the gain over the baseline). The same seed
    /// and trials give the same bytes on any thread count. An existing
    /// FILE is replaced only if simulate wrote it. With --shard: the
    /// shard's trials (see `simulate merge --trials-out`).
    #[arg(long, value_name = "FILE")]
    pub trials_out: Option<PathBuf>,

    /// With --trials-out: add each unit's value per policy and horizon.
    #[arg(long, requires = "trials_out")]
    pub trials_out_units: bool,

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
    /// Estimate units' growth, volatility and factor loadings from a
    /// revenue history CSV; print a TOML fragment to paste into a scenario
    /// and a fit report (docs/fit.md).
    Fit(FitArgs),
    /// Write one trial's revenue path of a scenario as a history CSV
    /// (synthetic, for checking `fit`; docs/fit.md).
    History(HistoryArgs),
    /// Find the policy that maximizes a statistic of value under
    /// constraints, from the scenario's [optimize] table, and trace the
    /// efficient frontier; writes optimized.toml, a runnable scenario with
    /// the optimum as a new policy (docs/optimize.md).
    Optimize(OptimizeArgs),
    /// Serve a live what-if page for a scenario on this machine: every
    /// policy lever and unit assumption as an input, the answer redrawn
    /// on the same draws after each change, and "Save as scenario" to
    /// write the variant beside the scenario (docs/serve.md).
    Serve(ServeArgs),
}

/// `simulate serve SCENARIO [options]`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The scenario file (TOML); variants are saved beside it.
    pub scenario: PathBuf,

    /// Port to listen on; 0 picks a free one (the URL is printed).
    #[arg(long, value_name = "P", default_value_t = 8000)]
    pub port: u16,

    /// Trials of every run of the page (at most 200,000: each change
    /// waits for a whole run). The same trials and seed on every change:
    /// moving one lever changes only what it moves.
    #[arg(long, value_name = "N", default_value_t = crate::serve::DEFAULT_TRIALS)]
    pub trials: u64,

    /// Random seed [default: the scenario's].
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// Listen on another address than 127.0.0.1 (e.g. 0.0.0.0): the
    /// page is then open to other machines, without a password; a
    /// warning says so.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<std::net::IpAddr>,

    /// Worker threads of the runs [default: RAYON_NUM_THREADS or the
    /// number of cores]. The numbers do not depend on it.
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// Open the page in the desktop's browser (xdg-open), if it can.
    #[arg(long)]
    pub open: bool,
}

impl From<&ServeArgs> for crate::serve::Options {
    fn from(a: &ServeArgs) -> Self {
        crate::serve::Options {
            scenario: a.scenario.clone(),
            port: a.port,
            bind: a.bind,
            limits: crate::serve::Limits {
                trials: a.trials,
                seed: a.seed,
            },
            threads: a.threads,
            open: a.open,
        }
    }
}

/// `simulate optimize SCENARIO [options]`.
#[derive(Debug, Args)]
pub struct OptimizeArgs {
    /// The scenario file (TOML), with an [optimize] table.
    pub scenario: PathBuf,

    /// Trials each candidate is scored on (overrides [optimize] trials
    /// and scenario.trials).
    #[arg(long, value_name = "N")]
    pub trials: Option<u64>,

    /// Random seed (overrides scenario.seed); same seed, same optimum.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// Most candidates the search scores (overrides [optimize]
    /// evaluations).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(10..=1_000_000))]
    pub evaluations: Option<u64>,

    /// Output folder [default: output/<scenario file stem>-optimize].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Worker threads [default: RAYON_NUM_THREADS or the number of cores].
    /// The optimum does not depend on it.
    #[arg(long, value_name = "T", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// Skip the efficient frontier (frontier.csv and frontier.png).
    #[arg(long)]
    pub no_frontier: bool,

    /// Tail share of the VaR and CVaR figures of the summary and report
    /// (as for a run).
    #[arg(long, value_name = "SHARE", default_value = "5%", value_parser = parse_share)]
    pub tail: f64,

    /// Do not write summary.xlsx (the Excel workbook).
    #[arg(long)]
    pub no_xlsx: bool,

    /// Skip the PNG charts (report.md and report.html are still written).
    #[arg(long)]
    pub no_charts: bool,

    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// How a run's (or a merge's) figures are reported.
#[derive(Debug, Args)]
pub struct FigureArgs {
    /// Tail share of the VaR and CVaR figures (summary.json/csv, the
    /// table, the report and the workbook): with 5%, VaR is the P5 level
    /// and CVaR the mean of the worst 5% of trials, of value and of the
    /// gain over the baseline.
    #[arg(long, value_name = "SHARE", default_value = "5%", value_parser = parse_share)]
    pub tail: f64,

    /// Do not write summary.xlsx (the Excel workbook).
    #[arg(long)]
    pub no_xlsx: bool,
}

impl FigureArgs {
    /// The options of writing a run's outputs.
    pub fn write_options(&self, quiet: bool, no_charts: bool) -> crate::report::WriteOptions {
        crate::report::WriteOptions {
            quiet,
            charts: !no_charts,
            xlsx: !self.no_xlsx,
            tail: self.tail,
        }
    }
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

    #[command(flatten)]
    pub figures: FigureArgs,

    /// Join the shards' --trials-out files (found beside their partial
    /// results) into FILE, in trial order: the same bytes a single run
    /// writes. Gzip-compressed when the name ends in .gz.
    #[arg(long, value_name = "FILE")]
    pub trials_out: Option<PathBuf>,

    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `simulate fit HISTORY.csv [options]`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// The history: a CSV with the columns period, unit, revenue (periods
    /// such as 2021Q3, 2021-Q3, 2021 or dates 2021-09-30; lines starting
    /// with # are comments).
    #[arg(value_name = "HISTORY.csv")]
    pub history: PathBuf,

    /// Number of common factors to fit to the units' residual growth
    /// [default: 1 when two or more units can be fitted].
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(usize))]
    pub factors: Option<usize>,

    /// Names of the factors, comma-separated [default: fit_factor_1, ...].
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub factor_names: Vec<String>,

    /// How several factors are turned for reading (the simulation is the
    /// same either way).
    #[arg(long, value_enum, default_value_t = crate::fit::Rotation::Varimax)]
    pub rotation: crate::fit::Rotation,

    /// Steps per year of the model the fit is for: each period's revenue
    /// is read as the sum of that many steps a year.
    #[arg(long, value_name = "S", default_value_t = 4)]
    pub steps_per_year: u32,

    /// Flag growth whose robust z-score (median / MAD) exceeds this.
    #[arg(long, value_name = "Z", default_value_t = 3.5)]
    pub outlier_threshold: f64,

    /// Write the TOML fragment (with the report in its comments) to FILE
    /// instead of printing it; prints the report. Only a file `simulate
    /// fit` wrote is ever replaced.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Also write the report (Markdown) to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Print nothing but errors (and the TOML when there is no --out).
    #[arg(long, short)]
    pub quiet: bool,
}

/// `simulate history SCENARIO --years N [options]`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The scenario whose model generates the history.
    pub scenario: PathBuf,

    /// Years of history (the first N years of one trial).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub years: u32,

    /// Write the CSV to FILE instead of printing it. Only a file `simulate
    /// history` wrote is ever replaced.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Policy whose path is recorded [default: the first in the file].
    #[arg(long, value_name = "NAME")]
    pub policy: Option<String>,

    /// Random seed [default: the scenario's].
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,

    /// Which trial of the run to record (0-based): the same draws as
    /// trial J of `simulate SCENARIO`.
    #[arg(long, value_name = "J", default_value_t = 0)]
    pub trial: u64,

    /// Multiply each quarter's revenue by a seasonal factor, Q1,Q2,Q3,Q4
    /// (scaled to average 1), e.g. 0.92,0.96,0.95,1.17.
    #[arg(
        long,
        value_name = "Q1,Q2,Q3,Q4",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    pub seasonality: Option<Vec<f64>>,

    /// First calendar year of the history.
    #[arg(long, value_name = "YEAR", default_value_t = 2014, value_parser = clap::value_parser!(i64).range(1000..=9000))]
    pub start: i64,

    /// Annual totals instead of quarters.
    #[arg(long)]
    pub annual: bool,

    /// Print nothing but errors (and the CSV when there is no --out).
    #[arg(long, short)]
    pub quiet: bool,
}

impl From<&FitArgs> for crate::fit::Job {
    fn from(a: &FitArgs) -> Self {
        crate::fit::Job {
            history: a.history.clone(),
            options: crate::fit::Options {
                settings: crate::fit::Settings {
                    steps_per_year: a.steps_per_year,
                    outlier_threshold: a.outlier_threshold,
                },
                factors: a.factors,
                factor_names: a.factor_names.clone(),
                rotation: a.rotation,
            },
            out: a.out.clone(),
            report: a.report.clone(),
            quiet: a.quiet,
        }
    }
}

impl From<&HistoryArgs> for crate::fit::synthetic::Job {
    fn from(a: &HistoryArgs) -> Self {
        crate::fit::synthetic::Job {
            scenario: a.scenario.clone(),
            years: a.years,
            out: a.out.clone(),
            policy: a.policy.clone(),
            seed: a.seed,
            trial: a.trial,
            seasonality: a.seasonality.clone(),
            start: a.start,
            annual: a.annual,
            quiet: a.quiet,
        }
    }
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
