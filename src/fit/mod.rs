//! Calibration from history: `simulate fit HISTORY.csv` turns each unit's
//! past revenue into the scenario keys the model needs (`growth` with its
//! uncertainty, `volatility`, `loadings` on common factors), and
//! `simulate history` writes the revenue path of one trial, so the round
//! trip can be checked against known parameters.
//!
//! Every [asm] number of a scenario is a guess where history could speak;
//! this is how it speaks. The pipeline: [`history`] reads and checks the
//! CSV, [`estimate`] fits each unit, [`factors`] fits loadings to the
//! correlation of what is left, [`render`] writes the TOML fragment and
//! the report. docs/fit.md says exactly what is estimated.

pub mod estimate;
pub mod factors;
mod files;
pub mod history;
pub mod period;
pub mod render;
pub mod synthetic;

use std::path::{Path, PathBuf};

use nalgebra::DMatrix;

use crate::error::{Error, Result};
pub use estimate::{Settings, UnitFit};
pub use factors::Rotation;
use history::History;
use period::{Frequency, Period};

/// Fewest periods all factor units must share for loadings.
pub const MIN_COMMON_PERIODS: usize = 12;
/// Most units the factors are fitted to (each iteration decomposes a
/// units x units matrix).
pub const MAX_FACTOR_UNITS: usize = 100;
/// Longest factor name accepted.
const MAX_FACTOR_NAME: usize = 64;

/// What `fit` is asked for, besides the history.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    pub settings: Settings,
    /// Number of common factors; `None`: one when two or more units can
    /// be fitted.
    pub factors: Option<usize>,
    /// Names of the factors (default `fit_factor_1`, ...).
    pub factor_names: Vec<String>,
    pub rotation: Rotation,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            settings: Settings::default(),
            factors: None,
            factor_names: Vec::new(),
            rotation: Rotation::Varimax,
        }
    }
}

/// Loadings of the fitted units on the common factors.
#[derive(Clone, Debug, PartialEq)]
pub struct FactorFit {
    pub names: Vec<String>,
    /// Index into [`Fit::units`] of each row of the loadings.
    pub units: Vec<usize>,
    /// The periods whose growth all those units share.
    pub first: Period,
    pub last: Period,
    pub periods: usize,
    pub rotation: Rotation,
    pub factors: factors::Factors,
}

impl FactorFit {
    /// The loadings of unit `unit` (index into [`Fit::units`]), if it was
    /// in the analysis.
    pub fn loadings_of(&self, unit: usize) -> Option<Vec<f64>> {
        let row = self.units.iter().position(|&u| u == unit)?;
        Some(self.factors.loadings.row(row).iter().copied().collect())
    }
}

/// The whole fit of a history.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// The history file, as named on the command line.
    pub source: PathBuf,
    pub frequency: Frequency,
    pub settings: Settings,
    pub units: Vec<UnitFit>,
    pub factors: Option<FactorFit>,
    /// Warnings about the whole fit (each unit has its own).
    pub warnings: Vec<String>,
}

/// Fits every unit of `history`, then the common factors.
pub fn fit(history: &History, options: &Options) -> Result<Fit> {
    let settings = options.settings;
    check_settings(history.frequency, &settings)?;
    let units: Vec<UnitFit> = history
        .units
        .iter()
        .map(|s| estimate::fit_unit(s, history.frequency, &settings))
        .collect();
    let mut warnings = Vec::new();

    // Units the factors can be read from: estimated and not constant.
    let candidates: Vec<usize> = (0..units.len())
        .filter(|&i| {
            units[i].estimate.is_some() && units[i].residuals.iter().any(|r| r.abs() > 1e-12)
        })
        .collect();
    let k = factor_count(history, options.factors, candidates.len())?;
    let names = factor_names(k, &options.factor_names)?;
    let mut factor_fit = None;
    if k > 0 {
        factor_fit = fit_factors(
            history,
            &units,
            &candidates,
            names,
            options.rotation,
            &mut warnings,
        );
        let left_out: Vec<&str> = (0..units.len())
            .filter(|i| !candidates.contains(i))
            .map(|i| units[i].name.as_str())
            .collect();
        if factor_fit.is_some() && !left_out.is_empty() {
            warnings.push(format!(
                "no loadings for {}: too short a history or no variation",
                left_out
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(Fit {
        source: history.path.clone(),
        frequency: history.frequency,
        settings,
        units,
        factors: factor_fit,
        warnings,
    })
}

/// How many factors to fit to `p` candidate units: as asked (fewer than
/// `p`), or one when there are two or more.
fn factor_count(history: &History, asked: Option<usize>, p: usize) -> Result<usize> {
    match asked {
        Some(k) => {
            if k > 0 && k >= p {
                return Err(Error::Usage(format!(
                    "--factors {k} needs more than {k} units with enough varying history; {} has {p}",
                    history.path.display()
                )));
            }
            Ok(k)
        }
        None => Ok(usize::from(p >= 2)),
    }
}

/// Fits one factor per name to the residual growth of the `candidates`
/// (indices into `units`) over the periods they all share; `None`, with a
/// warning saying why, when there are too many units, too few shared
/// periods or no variation.
fn fit_factors(
    history: &History,
    units: &[UnitFit],
    candidates: &[usize],
    names: Vec<String>,
    rotation: Rotation,
    warnings: &mut Vec<String>,
) -> Option<FactorFit> {
    let p = candidates.len();
    let k = names.len();
    // The residual of period j of unit i is its growth into
    // first + 1 + j; keep the window every unit covers.
    let start = candidates
        .iter()
        .map(|&i| units[i].first.index + 1)
        .max()
        .unwrap_or(0);
    let end = candidates
        .iter()
        .map(|&i| units[i].last.index)
        .min()
        .unwrap_or(0);
    let periods = (end - start + 1).max(0) as usize;
    if p > MAX_FACTOR_UNITS {
        warnings.push(format!(
            "no factor loadings: {p} units are more than the {MAX_FACTOR_UNITS} fit reads factors from at once (fit them in groups)"
        ));
        return None;
    }
    if periods < MIN_COMMON_PERIODS {
        warnings.push(format!(
            "no factor loadings: the units share {periods} {}s of growth, fewer than the {MIN_COMMON_PERIODS} needed to read how they move together",
            history.frequency.period_name()
        ));
        return None;
    }
    let data = DMatrix::from_fn(periods, p, |row, col| {
        let u = &units[candidates[col]];
        u.residuals[(start - u.first.index - 1) as usize + row]
    });
    let Some(f) = factors::correlation(&data).and_then(|c| factors::fit(&c, k, rotation)) else {
        warnings.push(
            "no factor loadings: the residual growth of some unit does not vary over the shared periods"
                .to_string(),
        );
        return None;
    };
    let fitted_units: Vec<&str> = candidates.iter().map(|&i| units[i].name.as_str()).collect();
    factor_warnings(&f, &fitted_units, k, periods, history.frequency, warnings);
    Some(FactorFit {
        names,
        units: candidates.to_vec(),
        first: Period {
            index: start,
            frequency: history.frequency,
        },
        last: Period {
            index: end,
            frequency: history.frequency,
        },
        periods,
        rotation,
        factors: f,
    })
}

/// How far to trust `k` fitted factors `f` of the units named `fitted`
/// (its rows) over `periods` shared periods: too many factors for the units,
/// no convergence, capped communalities, a short shared history.
fn factor_warnings(
    f: &factors::Factors,
    fitted: &[&str],
    k: usize,
    periods: usize,
    frequency: Frequency,
    warnings: &mut Vec<String>,
) {
    let p = fitted.len();
    if (p - k) * (p - k) < p + k {
        warnings.push(format!(
            "{k} factors on {p} units are more than the data can pin down ((units - factors)^2 < units + factors): these loadings are one of many that fit equally well"
        ));
    }
    if !f.converged {
        warnings.push("the factor fit did not settle within its iteration limit; treat the loadings as approximate".to_string());
    }
    for &row in &f.capped {
        warnings.push(format!(
            "unit {:?} moves almost entirely with the factors: its loadings are capped so that it keeps {:.0}% of its shock",
            fitted[row],
            100.0 * (1.0 - factors::MAX_COMMUNALITY)
        ));
    }
    if periods < 4 * p {
        warnings.push(format!(
            "the loadings rest on {periods} shared {}s for {p} units: read them as rough",
            frequency.period_name()
        ));
    }
}

fn check_settings(frequency: Frequency, s: &Settings) -> Result<()> {
    let per_year = frequency.per_year() as u32;
    if s.steps_per_year == 0 || s.steps_per_year > 10_000 {
        return Err(Error::Usage(format!(
            "--steps-per-year must be between 1 and 10000, got {}",
            s.steps_per_year
        )));
    }
    if s.steps_per_year > per_year && !s.steps_per_year.is_multiple_of(per_year) {
        return Err(Error::Usage(format!(
            "--steps-per-year {} does not split a {} into whole model steps (use a multiple of {per_year})",
            s.steps_per_year,
            frequency.period_name()
        )));
    }
    if !(s.outlier_threshold.is_finite() && s.outlier_threshold >= 1.0) {
        return Err(Error::Usage(format!(
            "--outlier-threshold must be a number of at least 1 (robust standard deviations), got {}",
            s.outlier_threshold
        )));
    }
    Ok(())
}

fn factor_names(k: usize, given: &[String]) -> Result<Vec<String>> {
    if given.is_empty() {
        return Ok((1..=k).map(|i| format!("fit_factor_{i}")).collect());
    }
    if given.len() != k {
        return Err(Error::Usage(format!(
            "--factor-names gives {} name{} for {k} factor{}",
            given.len(),
            if given.len() == 1 { "" } else { "s" },
            if k == 1 { "" } else { "s" }
        )));
    }
    for (i, n) in given.iter().enumerate() {
        if n.trim().is_empty()
            || n.chars().count() > MAX_FACTOR_NAME
            || n.chars().any(char::is_control)
        {
            return Err(Error::Usage(format!(
                "--factor-names: {n:?} is not a usable name (1 to {MAX_FACTOR_NAME} printable characters)"
            )));
        }
        if given[..i].contains(n) {
            return Err(Error::Usage(format!(
                "--factor-names: {n:?} is given twice"
            )));
        }
    }
    Ok(given.to_vec())
}

/// What `simulate fit` is asked to do. The application builds it from its
/// command line (`fit` knows no command line).
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// The history CSV.
    pub history: PathBuf,
    /// How to fit it.
    pub options: Options,
    /// Where the TOML fragment goes (with the report in its comments);
    /// `None`: standard output.
    pub out: Option<PathBuf>,
    /// Where the report (Markdown) also goes, if anywhere.
    pub report: Option<PathBuf>,
    /// Print nothing but errors (and the TOML when there is no `out`).
    pub quiet: bool,
}

/// `simulate fit`: reads, fits, and prints or writes the TOML fragment
/// and the report.
pub fn run(args: &Job) -> Result<()> {
    let options = &args.options;
    if let (Some(a), Some(b)) = (&args.out, &args.report) {
        if a == b {
            return Err(Error::Usage(
                "--out and --report name the same file; give them two".into(),
            ));
        }
    }
    // Refuse a bad destination before reading anything.
    for p in [&args.out, &args.report].into_iter().flatten() {
        files::check_destination(p, render::MARKER)?;
    }
    let history = history::read(&args.history)?;
    let fit = fit(&history, options)?;
    let report = render::report(&fit);
    let toml = render::toml(&fit, &report);
    if let Some(p) = &args.report {
        files::write_generated(p, render::MARKER, &render::report_file(&report))?;
    }
    match &args.out {
        Some(p) => {
            files::write_generated(p, render::MARKER, &toml)?;
            if !args.quiet {
                // The report ends with the warnings.
                files::print(&format!("{report}\nwrote {}\n", p.display()))?;
            }
        }
        None => {
            files::print(&toml)?;
            // The TOML may go to a file: say the warnings where they are seen.
            if !args.quiet {
                for w in render::all_warnings(&fit) {
                    files::warn(&w);
                }
            }
        }
    }
    Ok(())
}

/// The file name shown in reports: as given on the command line.
pub(crate) fn shown(path: &Path) -> String {
    path.display().to_string()
}
