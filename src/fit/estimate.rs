//! What one unit's revenue history says about its `growth` and
//! `volatility`, read the way the model writes revenue.
//!
//! The model moves log revenue by (ln(1 + g) - vol^2 / 2) dt + vol sqrt(dt) Z
//! a step. So the mean year-over-year log growth mu estimates
//! ln(1 + g) - vol^2 / 2, whatever the seasonal pattern (a quarter is
//! compared with the same quarter a year before), and g = exp(mu + vol^2 /
//! 2) - 1. The volatility comes from period-on-period log growth once each
//! season's mean is removed (so a Q4 shopping festival is a pattern, not
//! noise). Jump-like outliers are flagged with a robust score (median and
//! MAD, so the jumps themselves cannot hide in the scale they are measured
//! by). docs/fit.md derives the standard errors.
//!
//! A period's revenue may be the sum of several model steps (annual data
//! under a quarterly model): averaging within a period damps the
//! period-on-period variance by (2m^2 + 1) / (3m^2) for m steps a period
//! (Working 1960), which the volatility undoes.

use statrs::statistics::{Data, OrderStatistics, Statistics};

use super::history::Series;
use super::period::{Frequency, Period};

/// Scale that makes the MAD of normal data estimate its standard deviation.
const MAD_TO_SD: f64 = 1.482_602_218_505_602;
/// Same, for the mean absolute deviation (sqrt(pi / 2)).
const MEAN_AD_TO_SD: f64 = 1.253_314_137_315_500_3;
/// Below this many years of history the report warns that the standard
/// errors are wide.
pub const SHORT_YEARS: usize = 5;

/// How histories are read.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// The model's steps per year (each period sums steps_per_year /
    /// periods per year of them).
    pub steps_per_year: u32,
    /// A period-on-period residual whose robust z-score exceeds this in
    /// absolute value is flagged as an outlier.
    pub outlier_threshold: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            steps_per_year: 4,
            outlier_threshold: 3.5,
        }
    }
}

/// A period whose growth is far outside the unit's usual range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outlier {
    /// The period the growth leads into.
    pub period: Period,
    /// Log growth beyond the season's median.
    pub residual: f64,
    /// Robust z-score (residual / robust scale).
    pub z: f64,
}

/// The estimates of a unit with enough history.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// mu: mean year-over-year log growth (per year).
    pub log_drift: f64,
    pub log_drift_se: f64,
    /// Annual volatility of log revenue.
    pub volatility: f64,
    pub volatility_se: f64,
    /// The model's `growth`: exp(mu + vol^2 / 2) - 1.
    pub growth: f64,
    pub growth_se: f64,
    /// The volatility read from the median absolute deviation (not moved
    /// by outliers).
    pub robust_volatility: f64,
    /// The volatility without the flagged outliers, when there are some.
    pub volatility_without_outliers: Option<f64>,
    /// Seasonal factors (revenue of each quarter over the average
    /// quarter, mean 1), Q1 first; empty for annual data.
    pub seasonal: Vec<f64>,
    pub outliers: Vec<Outlier>,
    /// Year-over-year growth figures averaged.
    pub yoy_count: usize,
    /// Degrees of freedom of the volatility.
    pub df: usize,
}

/// Everything fit says about one unit.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitFit {
    pub name: String,
    pub periods: usize,
    pub first: Period,
    pub last: Period,
    /// Annual run-rate during the last period: its revenue x periods per
    /// year, divided by its seasonal factor when there is one.
    pub revenue: f64,
    /// Whether `revenue` was seasonally adjusted.
    pub revenue_adjusted: bool,
    /// `None` when the history is too short (see `warnings`).
    pub estimate: Option<Estimate>,
    /// Deseasonalised log growth into each period from `first.plus(1)`,
    /// outliers clipped to the threshold: what the factors are read from.
    pub residuals: Vec<f64>,
    pub warnings: Vec<String>,
}

/// Fewest periods a unit needs for any estimate: two years and a period
/// of quarters (every season seen twice), or four years.
pub fn min_periods(frequency: Frequency) -> usize {
    match frequency {
        Frequency::Quarterly => 9,
        Frequency::Annual => 4,
    }
}

/// Model steps summed in one period: steps_per_year / periods per year,
/// at least 1.
pub fn steps_per_period(frequency: Frequency, steps_per_year: u32) -> usize {
    (steps_per_year as usize / frequency.per_year()).max(1)
}

/// Var(first difference of period log revenue) in units of one step's
/// variance vol^2 / steps_per_year, when a period averages m steps of the
/// random walk: (2m^2 + 1) / (3m) (it would be m without the averaging;
/// 1 for m = 1). See docs/fit.md.
fn damping(m: usize) -> f64 {
    let m = m as f64;
    (2.0 * m * m + 1.0) / (3.0 * m)
}

/// Var(mean year-over-year log growth) / (vol^2 / steps per year): the
/// estimator is a weighted sum of the step shocks; this is the sum of the
/// squared weights (period log revenue taken as the mean of its steps'
/// log run-rates).
fn drift_variance_factor(n: usize, per_year: usize, m: usize) -> f64 {
    let count = (n - per_year) as f64;
    // Weight of period p's log revenue in the mean of the YoY growths.
    let b = |p: usize| -> f64 {
        let plus = if p >= per_year { 1.0 } else { 0.0 };
        let minus = if p + per_year < n { 1.0 } else { 0.0 };
        (plus - minus) / count
    };
    // Step s's log run-rate has weight b(p) / m; shock j (between steps j
    // and j + 1) moves every later log run-rate, so its weight is the sum
    // of the weights of steps j + 1 onwards. Walking back through period
    // p's steps that sum grows by c = b(p) / m a step, so the period adds
    // sum_{i=1..k} (t + i c)^2 for its k steps after step 0, in closed form.
    let mut tail = 0.0;
    let mut sum_sq = 0.0;
    for p in (0..n).rev() {
        let c = b(p) / m as f64;
        let k = if p == 0 { m - 1 } else { m } as f64;
        sum_sq += k * tail * tail
            + 2.0 * tail * c * k * (k + 1.0) / 2.0
            + c * c * k * (k + 1.0) * (2.0 * k + 1.0) / 6.0;
        tail += k * c;
    }
    sum_sq
}

fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    OrderStatistics::median(&mut Data::new(values.into_iter().collect::<Vec<f64>>()))
}

/// Fits one unit: its run-rate always, its estimates when the history is
/// long enough and they are finite.
pub fn fit_unit(series: &Series, frequency: Frequency, settings: &Settings) -> UnitFit {
    let n = series.revenue.len();
    let per_year = frequency.per_year();
    let last = series.last();
    let latest = series.revenue[n - 1];
    let mut fit = UnitFit {
        name: series.name.clone(),
        periods: n,
        first: series.first,
        last,
        revenue: latest * per_year as f64,
        revenue_adjusted: false,
        estimate: None,
        residuals: Vec::new(),
        warnings: Vec::new(),
    };
    if !fit.revenue.is_finite() {
        fit.warnings.push(
            "the latest revenue x periods per year is past what a 64-bit float holds: no run-rate"
                .to_string(),
        );
    }
    let need = min_periods(frequency);
    if n < need {
        fit.warnings.push(format!(
            "{n} {}{} of history: too short to estimate growth or volatility (fit needs at least {need})",
            frequency.period_name(),
            if n == 1 { "" } else { "s" }
        ));
        return fit;
    }
    let (estimate, residuals) = estimate(series, frequency, settings);
    if let Some(&f) = estimate.seasonal.get(last.season()) {
        fit.revenue = latest / f * per_year as f64;
        fit.revenue_adjusted = true;
    }

    let e = &estimate;
    let estimates = [
        e.log_drift,
        e.volatility,
        e.growth,
        e.growth_se,
        fit.revenue,
    ];
    if estimates.iter().any(|v| !v.is_finite()) {
        fit.warnings.push(
            "the revenue moves by more than a 64-bit float can hold: no estimate".to_string(),
        );
        return fit;
    }
    let years = n / per_year;
    if years < SHORT_YEARS {
        fit.warnings.push(format!(
            "only {n} {}s (under {SHORT_YEARS} years): the estimates are rough, their standard errors wide",
            frequency.period_name()
        ));
    }
    fit.residuals = residuals;
    fit.estimate = Some(estimate);
    fit
}

/// The estimates of a unit with at least [`min_periods`] of history, and
/// its deseasonalised growth with the outliers clipped (what the factors
/// are read from). See docs/fit.md for each formula.
fn estimate(series: &Series, frequency: Frequency, settings: &Settings) -> (Estimate, Vec<f64>) {
    let n = series.revenue.len();
    let per_year = frequency.per_year();
    let m = steps_per_period(frequency, settings.steps_per_year);
    let steps_per_year = (per_year * m) as f64;
    let x: Vec<f64> = series.revenue.iter().map(|y| y.ln()).collect();

    // Growth: mean year-over-year log growth.
    let yoy: Vec<f64> = (0..n - per_year).map(|k| x[k + per_year] - x[k]).collect();
    let log_drift = Statistics::mean(&yoy);

    // Volatility: period-on-period log growth less its season's mean.
    let d: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let season = |k: usize| series.period(k + 1).season();
    let (season_mean, season_median) = season_stats(&d, per_year, season);
    let resid: Vec<f64> = (0..d.len())
        .map(|k| d[k] - season_mean[season(k)])
        .collect();
    let df = d.len() - per_year;
    let to_annual = steps_per_year / damping(m);
    let sum_sq: f64 = resid.iter().map(|r| r * r).sum();
    let volatility = (sum_sq / df as f64 * to_annual).sqrt();
    let volatility_se = volatility / (2.0 * df as f64).sqrt();
    let log_drift_se =
        (volatility * volatility / steps_per_year * drift_variance_factor(n, per_year, m)).sqrt();
    let growth = (log_drift + volatility * volatility / 2.0).exp() - 1.0;
    let growth_se =
        (1.0 + growth) * (log_drift_se.powi(2) + (volatility * volatility_se).powi(2)).sqrt();

    // Outliers: robust z-scores around each season's median.
    let robust: Vec<f64> = (0..d.len())
        .map(|k| d[k] - season_median[season(k)])
        .collect();
    let (scale, flagged) = flag_outliers(series, &robust, settings.outlier_threshold);
    let robust_volatility = scale * to_annual.sqrt();
    let mut residuals = resid.clone();
    let limit = settings.outlier_threshold * scale;
    for &(k, _) in &flagged {
        residuals[k] = resid[k].clamp(-limit, limit);
    }
    let outliers: Vec<Outlier> = flagged.into_iter().map(|(_, o)| o).collect();
    let volatility_without_outliers = volatility_without(series, &resid, &outliers, df, to_annual);

    let estimate = Estimate {
        log_drift,
        log_drift_se,
        volatility,
        volatility_se,
        growth,
        growth_se,
        robust_volatility,
        volatility_without_outliers,
        seasonal: seasonal_factors(&season_mean),
        outliers,
        yoy_count: yoy.len(),
        df,
    };
    (estimate, residuals)
}

/// The mean and the median of the period-on-period growth `d` into each
/// season (`season(k)` is the season growth `k` leads into).
fn season_stats(
    d: &[f64],
    per_year: usize,
    season: impl Fn(usize) -> usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut season_mean = vec![0.0; per_year];
    let mut season_median = vec![0.0; per_year];
    for (c, (mean, med)) in season_mean.iter_mut().zip(&mut season_median).enumerate() {
        let of_season: Vec<f64> = (0..d.len())
            .filter(|&k| season(k) == c)
            .map(|k| d[k])
            .collect();
        *mean = Statistics::mean(&of_season);
        *med = median(of_season);
    }
    (season_mean, season_median)
}

/// The robust scale of `robust` (growth less its season's median: a
/// standard deviation of one period's growth) and the growth figures whose
/// robust z-score exceeds `threshold`, each with its index.
fn flag_outliers(series: &Series, robust: &[f64], threshold: f64) -> (f64, Vec<(usize, Outlier)>) {
    let center = median(robust.iter().copied());
    let mut scale = MAD_TO_SD * median(robust.iter().map(|r| (r - center).abs()));
    if scale.is_nan() || scale <= 1e-12 {
        // More than half the residuals equal: fall back on the mean
        // absolute deviation (Iglewicz & Hoaglin's modified z-score).
        scale = MEAN_AD_TO_SD * Statistics::mean(robust.iter().map(|r| (r - center).abs()));
    }
    let mut flagged = Vec::new();
    if scale > 1e-12 {
        for (k, r) in robust.iter().enumerate() {
            let z = (r - center) / scale;
            if z.abs() > threshold {
                let outlier = Outlier {
                    period: series.period(k + 1),
                    residual: r - center,
                    z,
                };
                flagged.push((k, outlier));
            }
        }
    }
    (scale, flagged)
}

/// The volatility read from the residual growth `resid` without the
/// outliers, when there are some and enough growth figures remain.
fn volatility_without(
    series: &Series,
    resid: &[f64],
    outliers: &[Outlier],
    df: usize,
    to_annual: f64,
) -> Option<f64> {
    (!outliers.is_empty() && df > outliers.len()).then(|| {
        let kept: f64 = resid
            .iter()
            .enumerate()
            .filter(|(k, _)| !outliers.iter().any(|o| o.period == series.period(k + 1)))
            .map(|(_, r)| r * r)
            .sum();
        (kept / (df - outliers.len()) as f64 * to_annual).sqrt()
    })
}

/// Seasonal factors from the mean growth into each season: those means
/// differ from the drift by the change in the seasonal log level. Empty
/// for annual data.
fn seasonal_factors(season_mean: &[f64]) -> Vec<f64> {
    let per_year = season_mean.len();
    if per_year <= 1 {
        return Vec::new();
    }
    let mean_step = Statistics::mean(season_mean);
    let mut level = vec![0.0; per_year];
    for c in 1..per_year {
        level[c] = level[c - 1] + season_mean[c] - mean_step;
    }
    let factors: Vec<f64> = level.iter().map(|l| l.exp()).collect();
    let avg = Statistics::mean(&factors);
    factors.iter().map(|f| f / avg).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(first: Period, revenue: Vec<f64>) -> Series {
        Series {
            name: "u".into(),
            first,
            revenue,
        }
    }

    #[test]
    fn a_steady_series_has_its_growth_and_no_volatility() {
        // 10% a year, quarterly, no noise, no seasonality.
        let q = 1.1f64.powf(0.25);
        let rev: Vec<f64> = (0..20).map(|k| 25.0 * q.powi(k)).collect();
        let f = fit_unit(
            &series(Period::quarter(2019, 1), rev),
            Frequency::Quarterly,
            &Settings::default(),
        );
        let e = f.estimate.unwrap();
        assert!((e.growth - 0.10).abs() < 1e-12, "{}", e.growth);
        assert!(e.volatility < 1e-12);
        assert!(e.outliers.is_empty());
        assert!(e.seasonal.iter().all(|s| (s - 1.0).abs() < 1e-12));
        // Run-rate: the last quarter x 4.
        assert!((f.revenue - 100.0 * 1.1f64.powf(19.0 / 4.0)).abs() < 1e-9);
        assert_eq!(e.yoy_count, 16);
        assert_eq!(e.df, 15);
    }

    #[test]
    fn seasonality_is_a_pattern_not_volatility() {
        let s = [0.9, 0.95, 0.95, 1.2];
        let q = 1.08f64.powf(0.25);
        let rev: Vec<f64> = (0..24)
            .map(|k| 10.0 * q.powi(k) * s[k as usize % 4])
            .collect();
        let f = fit_unit(
            &series(Period::quarter(2018, 1), rev),
            Frequency::Quarterly,
            &Settings::default(),
        );
        let e = f.estimate.unwrap();
        assert!((e.growth - 0.08).abs() < 1e-12);
        assert!(e.volatility < 1e-12, "{}", e.volatility);
        for (got, want) in e.seasonal.iter().zip(s) {
            assert!((got - want).abs() < 1e-12, "{got} {want}");
        }
        // The run-rate undoes Q4's festival.
        assert!(f.revenue_adjusted);
        assert!((f.revenue - 40.0 * q.powi(23)).abs() < 1e-9);
    }

    #[test]
    fn seasons_start_where_the_series_does() {
        // Starting in Q3 must give the same factors, in Q1..Q4 order.
        let s = [0.9, 0.95, 0.95, 1.2];
        let rev: Vec<f64> = (2..26)
            .map(|k| 10.0 * 1.02f64.powi(k) * s[k as usize % 4])
            .collect();
        let f = fit_unit(
            &series(Period::quarter(2018, 3), rev),
            Frequency::Quarterly,
            &Settings::default(),
        );
        for (got, want) in f.estimate.unwrap().seasonal.iter().zip(s) {
            assert!((got - want).abs() < 1e-12, "{got} {want}");
        }
    }

    #[test]
    fn a_single_jump_is_flagged_and_clipped() {
        // Alternating small moves, one -30% drop.
        let mut x = 0.0;
        let mut rev = Vec::new();
        for k in 0..40 {
            x += 0.02 + if k % 2 == 0 { 0.03 } else { -0.03 } + if k == 21 { -0.30 } else { 0.0 };
            rev.push(100.0 * f64::exp(x));
        }
        let f = fit_unit(
            &series(Period::quarter(2010, 1), rev),
            Frequency::Quarterly,
            &Settings::default(),
        );
        let e = f.estimate.unwrap();
        assert_eq!(e.outliers.len(), 1, "{:?}", e.outliers);
        assert_eq!(e.outliers[0].period, Period::quarter(2010, 1).plus(21));
        assert!(e.outliers[0].residual < -0.25);
        assert!(e.volatility_without_outliers.unwrap() < e.volatility);
        assert!(e.robust_volatility < e.volatility);
        assert!(f.residuals[20].abs() < 0.30 * 0.8);
    }

    #[test]
    fn short_series_are_not_estimated() {
        let f = fit_unit(
            &series(Period::quarter(2020, 1), vec![1.0; 8]),
            Frequency::Quarterly,
            &Settings::default(),
        );
        assert!(f.estimate.is_none());
        assert!(f.warnings[0].contains("too short"));
        assert_eq!(f.revenue, 4.0);
        let f = fit_unit(
            &series(Period::year(2020), vec![1.0, 2.0, 4.0, 8.0]),
            Frequency::Annual,
            &Settings::default(),
        );
        let e = f.estimate.unwrap();
        assert!((e.growth - 1.0).abs() < 1e-12);
        assert!(f.warnings[0].contains("rough"));
    }

    #[test]
    fn drift_variance_matches_closed_forms() {
        // Annual data, annual steps: (x_n - x_0) / (n - 1), variance 1 / (n - 1).
        for n in [4, 10, 30] {
            let v = drift_variance_factor(n, 1, 1);
            assert!((v - 1.0 / (n - 1) as f64).abs() < 1e-12, "{n}: {v}");
        }
        // Quarterly, quarterly steps: in steps of variance 1/4, the mean
        // YoY of n quarters weighs shock j by c_j / (n - 4), c_j the
        // number of 4-quarter windows holding it.
        let n = 12;
        let count = (n - 4) as f64;
        let direct: f64 = (0..n - 1)
            .map(|j| {
                let c = (0..n - 4).filter(|&k| k <= j && j < k + 4).count() as f64;
                (c / count).powi(2)
            })
            .sum();
        assert!((drift_variance_factor(n, 4, 1) - direct).abs() < 1e-12);
        // Periods of several steps: the closed form per period equals the
        // step-by-step sum.
        for (n, per_year, m) in [(12, 1, 4), (20, 4, 3), (9, 4, 1), (5, 1, 12)] {
            let count = (n - per_year) as f64;
            let b = |p: usize| {
                (f64::from(u8::from(p >= per_year)) - f64::from(u8::from(p + per_year < n))) / count
            };
            let (mut tail, mut direct) = (0.0, 0.0);
            for s in (1..n * m).rev() {
                tail += b(s / m) / m as f64;
                direct += tail * tail;
            }
            let v = drift_variance_factor(n, per_year, m);
            assert!(
                (v - direct).abs() < 1e-12 * direct.max(1.0),
                "{n} {per_year} {m}: {v} {direct}"
            );
        }
        // Long series: close to vol^2 / years.
        let n = 400;
        let v = drift_variance_factor(n, 4, 1) / 4.0;
        assert!((v * (n as f64 - 4.0) / 4.0 - 1.0).abs() < 0.01, "{v}");
    }

    #[test]
    fn damping_is_workings_factor() {
        assert_eq!(damping(1), 1.0);
        // Annual sums of 4 quarterly steps: m (2m^2+1)/(3m^2) = 33/12.
        assert!((damping(4) - 33.0 / 12.0).abs() < 1e-15);
    }
}
