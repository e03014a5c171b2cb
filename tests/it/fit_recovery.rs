//! `fit` recovers the parameters of histories the engine itself generated
//! (`simulate history`'s library path: one trial of a scenario, recorded
//! per quarter), over many seeds: growth and volatility within two
//! standard errors in about 95% of them, loadings with the truth's signs
//! and order, seasonality read as a pattern and never as volatility, jumps
//! flagged.
//!
//! The truth is tests/fixtures/fit_truth.toml: eight units on two
//! factors, no jumps, no investment uplift.

use std::path::Path;

use crate::common;

use stratsim::fit::{self, period::Frequency, synthetic, Fit, Options};
use stratsim::model::Scenario;

const SEASONS: [f64; 4] = [0.92, 0.97, 0.95, 1.16];

fn truth() -> Scenario {
    stratsim::scenario::load(&common::fixture("fit_truth.toml")).expect("fixture loads")
}

/// Generates trial `trial` under `seed` (as CSV text, then read back the
/// way `simulate fit` reads a file) and fits it.
fn fit_trial(
    s: &Scenario,
    years: u32,
    frequency: Frequency,
    seasonality: Option<[f64; 4]>,
    trial: u64,
    options: &Options,
) -> Fit {
    let request = synthetic::Request {
        policy: 0,
        years,
        seed: 99,
        trial,
        seasonality,
        start_year: 2000,
        frequency,
    };
    let path = Path::new("synthetic.csv");
    let h = synthetic::generate(s, &request, path).unwrap();
    let text = synthetic::to_csv(&h, s, path, &request).unwrap();
    let read = fit::history::parse(path, text.as_bytes()).unwrap();
    assert_eq!(read.frequency, frequency);
    fit::fit(&read, options).unwrap()
}

/// Share of (seed, unit) fits within 2 standard errors of the truth, for
/// growth and for volatility, and the mean standardised errors.
struct Coverage {
    growth: f64,
    volatility: f64,
    /// Mean error of growth, in standard errors.
    growth_z: f64,
    /// Mean relative error of volatility.
    volatility_bias: f64,
    worst_unit: f64,
}

fn coverage(years: u32, frequency: Frequency, seeds: u64) -> Coverage {
    let s = truth();
    let no_factors = Options {
        factors: Some(0),
        ..Options::default()
    };
    let n = s.units.len();
    let (mut g_in, mut v_in) = (vec![0usize; n], vec![0usize; n]);
    let (mut gz, mut vb) = (0.0, 0.0);
    let seasonality = (frequency == Frequency::Quarterly).then_some(SEASONS);
    for trial in 0..seeds {
        let f = fit_trial(&s, years, frequency, seasonality, trial, &no_factors);
        for (i, (u, t)) in f.units.iter().zip(&s.units).enumerate() {
            let e = u.estimate.as_ref().expect("long enough to estimate");
            let z_g = (e.growth - t.growth) / e.growth_se;
            let z_v = (e.volatility - t.volatility) / e.volatility_se;
            g_in[i] += usize::from(z_g.abs() <= 2.0);
            v_in[i] += usize::from(z_v.abs() <= 2.0);
            gz += z_g;
            vb += e.volatility / t.volatility - 1.0;
        }
    }
    let total = (seeds as usize * n) as f64;
    let worst = g_in
        .iter()
        .chain(&v_in)
        .map(|&c| c as f64 / seeds as f64)
        .fold(1.0, f64::min);
    Coverage {
        growth: g_in.iter().sum::<usize>() as f64 / total,
        volatility: v_in.iter().sum::<usize>() as f64 / total,
        growth_z: gz / total,
        volatility_bias: vb / total,
        worst_unit: worst,
    }
}

#[test]
fn growth_and_volatility_are_within_two_standard_errors_in_most_seeds() {
    // Ten years of quarters, with a Q4 festival: what a strategist has.
    let c = coverage(10, Frequency::Quarterly, 200);
    println!(
        "quarterly, 10 years, 200 seeds x 8 units: growth {:.1}%, volatility {:.1}% within 2 se; growth's mean error {:+.3} se, volatility's {:+.2}%; worst unit {:.1}%",
        100.0 * c.growth,
        100.0 * c.volatility,
        c.growth_z,
        100.0 * c.volatility_bias,
        100.0 * c.worst_unit
    );
    assert!(c.growth >= 0.90, "growth coverage {}", c.growth);
    assert!(c.volatility >= 0.90, "volatility coverage {}", c.volatility);
    assert!(
        c.worst_unit >= 0.85,
        "a unit's coverage is {}",
        c.worst_unit
    );
    // No bias: growth's errors average about zero, volatility's about
    // the -1/(4 df) = -0.7% of a square root of an unbiased variance.
    assert!(c.growth_z.abs() < 0.15, "growth bias {}", c.growth_z);
    assert!(
        c.volatility_bias.abs() < 0.02,
        "volatility bias {}",
        c.volatility_bias
    );
}

#[test]
fn annual_totals_of_quarterly_steps_are_read_without_bias() {
    // An annual figure sums four quarterly steps, which damps the
    // year-on-year variance to 11/16 of the model's; fit undoes it.
    let c = coverage(30, Frequency::Annual, 150);
    println!(
        "annual, 30 years, 150 seeds x 8 units: growth {:.1}%, volatility {:.1}% within 2 se; growth's mean error {:+.3} se, volatility's {:+.2}%",
        100.0 * c.growth,
        100.0 * c.volatility,
        c.growth_z,
        100.0 * c.volatility_bias
    );
    assert!(c.growth >= 0.88, "growth coverage {}", c.growth);
    assert!(c.volatility >= 0.88, "volatility coverage {}", c.volatility);
    // Without undoing the damping, volatility would read sqrt(11/16) - 1
    // = -17% low.
    assert!(
        c.volatility_bias.abs() < 0.03,
        "volatility bias {}",
        c.volatility_bias
    );
}

#[test]
fn loadings_keep_their_signs_and_order() {
    let s = truth();
    let f_of = |name: &str| s.factors.iter().position(|f| f == name).unwrap();
    let (cons, tech) = (f_of("consumption"), f_of("technology"));
    let two = Options {
        factors: Some(2),
        ..Options::default()
    };
    let seeds = 50;
    let n = s.units.len();
    let mut mean = vec![[0.0; 2]; n];
    let (mut pattern, mut pairs, mut pairs_right) = (0, 0, 0);
    for trial in 0..seeds {
        let f = fit_trial(&s, 40, Frequency::Quarterly, Some(SEASONS), trial, &two);
        let ff = f.factors.as_ref().expect("two factors fitted");
        assert_eq!(ff.units, (0..n).collect::<Vec<_>>());
        let l = &ff.factors.loadings;
        // Fitted factor 0 should be consumption (it explains more), 1
        // technology; each unit loads mostly on its own, with its sign.
        let want = |i: usize| [s.units[i].loadings[cons], s.units[i].loadings[tech]];
        let ok = (0..n).all(|i| {
            let w = want(i);
            let own = if w[0] != 0.0 { 0 } else { 1 };
            l[(i, own)].abs() > l[(i, 1 - own)].abs() && l[(i, own)].signum() == w[own].signum()
        });
        pattern += usize::from(ok);
        for j in 0..2 {
            for a in 0..n {
                for b in 0..n {
                    let (wa, wb) = (want(a)[j], want(b)[j]);
                    if wb != 0.0 && wa.abs() > wb.abs() {
                        pairs += 1;
                        pairs_right += usize::from(l[(a, j)].abs() > l[(b, j)].abs());
                    }
                }
            }
            for (i, m) in mean.iter_mut().enumerate() {
                m[j] += l[(i, j)] / seeds as f64;
            }
        }
        // Every unit keeps part of its own shock, as the model requires.
        for row in l.row_iter() {
            assert!(row.norm_squared() <= 1.0);
        }
    }
    let pattern_rate = pattern as f64 / seeds as f64;
    let order_rate = pairs_right as f64 / pairs as f64;
    println!(
        "loadings, 40 years, {seeds} seeds: signs and own factor right in {:.0}%, pairs in order {:.1}%; mean loadings {mean:.3?}",
        100.0 * pattern_rate,
        100.0 * order_rate
    );
    assert!(pattern_rate >= 0.9, "{pattern_rate}");
    assert!(order_rate >= 0.9, "{order_rate}");
    for (i, m) in mean.iter().enumerate() {
        let w = [s.units[i].loadings[cons], s.units[i].loadings[tech]];
        for j in 0..2 {
            assert!(
                (m[j] - w[j]).abs() < 0.06,
                "unit {i} factor {j}: mean loading {} vs {}",
                m[j],
                w[j]
            );
        }
    }
}

#[test]
fn seasonality_does_not_inflate_volatility() {
    let s = truth();
    let none = Options {
        factors: Some(0),
        ..Options::default()
    };
    let strong = [0.7, 0.9, 0.9, 1.5];
    for trial in 0..5 {
        let plain = fit_trial(&s, 10, Frequency::Quarterly, None, trial, &none);
        let seasonal = fit_trial(&s, 10, Frequency::Quarterly, Some(strong), trial, &none);
        for (a, b) in plain.units.iter().zip(&seasonal.units) {
            let (ea, eb) = (a.estimate.as_ref().unwrap(), b.estimate.as_ref().unwrap());
            assert!(
                (ea.volatility - eb.volatility).abs() < 1e-9,
                "{} vs {}",
                ea.volatility,
                eb.volatility
            );
            assert!((ea.growth - eb.growth).abs() < 1e-9);
            // The pattern is found (scaled to average 1)...
            let norm = strong.iter().sum::<f64>() / 4.0;
            for (got, want) in eb.seasonal.iter().zip(strong) {
                assert!((got / (want / norm) - 1.0).abs() < 0.1, "{got} vs {want}");
            }
            // ...and the run-rate is net of it.
            assert!(
                (a.revenue / b.revenue - 1.0).abs() < 0.01,
                "{} vs {}",
                a.revenue,
                b.revenue
            );
        }
    }
    // A naive reading (spread of raw quarter-on-quarter growth) would
    // have taken the festival for volatility.
    let request = synthetic::Request {
        policy: 0,
        years: 10,
        seed: 99,
        trial: 0,
        seasonality: Some(strong),
        start_year: 2000,
        frequency: Frequency::Quarterly,
    };
    let h = synthetic::generate(&s, &request, Path::new("x")).unwrap();
    let x: Vec<f64> = h.units[0].revenue.iter().map(|v| v.ln()).collect();
    let d: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    let naive =
        (d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (d.len() - 1) as f64 * 4.0).sqrt();
    assert!(naive > 3.0 * s.units[0].volatility, "naive {naive}");
}

#[test]
fn jumps_are_flagged_and_quiet_units_rarely_are() {
    // The shipped synthetic scenario: "Digital Media" has downside jumps.
    let s =
        stratsim::scenario::load(&common::root().join("scenarios/history/synthetic.toml")).unwrap();
    let jumpy = s.units.iter().position(|u| u.jumps.is_some()).unwrap();
    let none = Options {
        factors: Some(0),
        ..Options::default()
    };
    let seeds = 100;
    let (mut flagged_jumpy, mut negative, mut quiet_flags, mut quiet_periods) = (0, 0, 0, 0);
    for trial in 0..seeds {
        let f = fit_trial(&s, 20, Frequency::Quarterly, Some(SEASONS), trial, &none);
        for (i, u) in f.units.iter().enumerate() {
            let e = u.estimate.as_ref().unwrap();
            if i == jumpy {
                flagged_jumpy += usize::from(!e.outliers.is_empty());
                negative += e.outliers.iter().filter(|o| o.residual < 0.0).count();
                assert!(e.outliers.iter().all(|o| o.z.abs() > 3.5));
            } else {
                quiet_flags += e.outliers.len();
                quiet_periods += u.periods - 1;
            }
        }
    }
    let false_rate = quiet_flags as f64 / quiet_periods as f64;
    println!(
        "jumps: flagged in {flagged_jumpy}/{seeds} histories of the jumpy unit ({negative} downside flags); false flags {:.2}% of quarters",
        100.0 * false_rate
    );
    // About 4 jumps of -35% in 20 years against a 10% quarterly spread.
    assert!(flagged_jumpy >= 70, "{flagged_jumpy}");
    assert!(false_rate < 0.01, "{false_rate}");
}

#[test]
fn sold_units_stop_reporting_after_their_last_whole_quarter() {
    // Under "reset" the non-core units are sold within 0.5 to 1.5 years.
    let s = stratsim::scenario::load(&common::root().join("scenarios/reset.toml")).unwrap();
    let policy = s.policies.iter().position(|p| p.name == "reset").unwrap();
    let request = synthetic::Request {
        policy,
        years: 3,
        seed: s.seed,
        trial: 0,
        seasonality: None,
        start_year: 2024,
        frequency: Frequency::Quarterly,
    };
    let h = synthetic::generate(&s, &request, Path::new("x")).unwrap();
    for u in &s.units {
        let series = h.units.iter().find(|x| x.name == u.name);
        let len = series.map_or(0, |x| x.revenue.len());
        let sold = s.policies[policy].terms[s.units.iter().position(|x| x.name == u.name).unwrap()]
            .exit
            .is_some();
        if sold {
            assert!((1..=6).contains(&len), "{}: {len} quarters", u.name);
        } else {
            assert_eq!(len, 12, "{}", u.name);
            // The first quarter books a quarter of the starting run-rate.
            let first = series.unwrap().revenue[0];
            assert!(
                (first - u.revenue / 4.0).abs() < 1e-9 * u.revenue,
                "{}",
                u.name
            );
        }
    }
}
