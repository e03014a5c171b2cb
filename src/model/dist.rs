//! Uncertain assumptions (model contract, "Uncertain assumptions (v2)"):
//! a unit key that is a distribution instead of a number, drawn once per
//! trial.
//!
//! This file says what a distribution *is* (its parameters, support,
//! mean, spread and quantiles, all closed forms or the statrs inverse
//! CDFs); how one is drawn is the kernel's business
//! (`crate::kernel::draws`), because the draws are part of the numbers'
//! definition.

use serde::{Deserialize, Serialize};
use statrs::distribution::{Beta, ContinuousCDF, Normal, Triangular};

/// The unit keys that may be a distribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Param {
    Revenue,
    Growth,
    Volatility,
    Margin,
    TargetMargin,
    MarginSpeed,
    MaxUplift,
    HalfSaturation,
}

impl Param {
    /// Every key, in the order a unit's draws are listed.
    pub const ALL: [Param; 8] = [
        Param::Revenue,
        Param::Growth,
        Param::Volatility,
        Param::Margin,
        Param::TargetMargin,
        Param::MarginSpeed,
        Param::MaxUplift,
        Param::HalfSaturation,
    ];

    /// The key as the scenario file writes it (and as its stream is named).
    pub fn key(self) -> &'static str {
        super::keys::of_param(self).path
    }
}

/// A distribution of one assumption (PERT's lambda is 4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case")]
pub enum Dist {
    Triangular {
        min: f64,
        mode: f64,
        max: f64,
    },
    /// min + (max - min) Beta(1 + 4 (mode - min) / (max - min),
    /// 1 + 4 (max - mode) / (max - min)).
    Pert {
        min: f64,
        mode: f64,
        max: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    /// Redrawn until inside [min, max] when they are given.
    Normal {
        mean: f64,
        stdev: f64,
        min: Option<f64>,
        max: Option<f64>,
    },
    /// median x exp(dispersion x N(0, 1)).
    Lognormal {
        median: f64,
        dispersion: f64,
    },
    /// values[k] with probability weights[k] / sum(weights).
    Discrete {
        values: Vec<f64>,
        weights: Vec<f64>,
    },
}

/// One unit key drawn per trial.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Uncertain {
    pub param: Param,
    pub dist: Dist,
    /// A drawn margin with no `target_margin` of its own: the target is
    /// the drawn margin too (the margin does not drift).
    #[serde(default)]
    pub also_target: bool,
}

/// Growth that starts at `from` and settles to the unit's `growth` over
/// `years` (model contract): base growth at step start t is
/// growth + (from - growth) x max(0, 1 - t / years).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrowthFade {
    pub from: f64,
    pub years: f64,
}

impl GrowthFade {
    /// max(0, 1 - t / years): the share of (from - growth) left at time t.
    pub fn weight(&self, t: f64) -> f64 {
        (1.0 - t / self.years).max(0.0)
    }
}

/// The standard normal's CDF and inverse (statrs).
fn std_normal() -> Normal {
    Normal::standard()
}

impl Dist {
    /// PERT's Beta shapes (a, b).
    pub fn pert_shapes(min: f64, mode: f64, max: f64) -> (f64, f64) {
        let w = max - min;
        (1.0 + 4.0 * (mode - min) / w, 1.0 + 4.0 * (max - mode) / w)
    }

    /// The name of the distribution as the file writes it.
    pub fn name(&self) -> &'static str {
        match self {
            Dist::Triangular { .. } => "triangular",
            Dist::Pert { .. } => "pert",
            Dist::Uniform { .. } => "uniform",
            Dist::Normal { .. } => "normal",
            Dist::Lognormal { .. } => "lognormal",
            Dist::Discrete { .. } => "discrete",
        }
    }

    /// The smallest and largest value a draw can take (infinite where
    /// unbounded).
    pub fn support(&self) -> (f64, f64) {
        match self {
            Dist::Triangular { min, max, .. }
            | Dist::Pert { min, max, .. }
            | Dist::Uniform { min, max } => (*min, *max),
            Dist::Normal {
                mean,
                stdev,
                min,
                max,
            } => {
                if *stdev == 0.0 {
                    (*mean, *mean)
                } else {
                    (
                        min.unwrap_or(f64::NEG_INFINITY),
                        max.unwrap_or(f64::INFINITY),
                    )
                }
            }
            Dist::Lognormal { median, dispersion } => {
                if *dispersion == 0.0 {
                    (*median, *median)
                } else {
                    (0.0, f64::INFINITY)
                }
            }
            Dist::Discrete { values, weights } => {
                let used = values.iter().zip(weights).filter(|(_, &w)| w > 0.0);
                used.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (&v, _)| {
                    (lo.min(v), hi.max(v))
                })
            }
        }
    }

    /// Whether the support's lower end is open (a lognormal never reaches
    /// 0), for rules like "revenue > 0".
    pub fn lower_open(&self) -> bool {
        matches!(self, Dist::Lognormal { dispersion, .. } if *dispersion > 0.0)
    }

    /// The normal's truncation in standard units: (alpha, beta, Phi(alpha),
    /// Phi(beta)).
    fn normal_bounds(mean: f64, stdev: f64, min: Option<f64>, max: Option<f64>) -> [f64; 4] {
        let n = std_normal();
        let a = min.map_or(f64::NEG_INFINITY, |x| (x - mean) / stdev);
        let b = max.map_or(f64::INFINITY, |x| (x - mean) / stdev);
        [a, b, n.cdf(a), n.cdf(b)]
    }

    /// The share of the untruncated distribution a draw may land in (a
    /// normal's min / max; 1 for the others).
    pub fn kept_mass(&self) -> f64 {
        match self {
            Dist::Normal {
                mean,
                stdev,
                min,
                max,
            } if *stdev > 0.0 => {
                let [_, _, pa, pb] = Self::normal_bounds(*mean, *stdev, *min, *max);
                pb - pa
            }
            _ => 1.0,
        }
    }

    /// The mean of a draw.
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Triangular { min, mode, max } => (min + mode + max) / 3.0,
            Dist::Pert { min, mode, max } => (min + 4.0 * mode + max) / 6.0,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Normal {
                mean,
                stdev,
                min,
                max,
            } => {
                if *stdev == 0.0 || (min.is_none() && max.is_none()) {
                    return *mean;
                }
                let [a, b, pa, pb] = Self::normal_bounds(*mean, *stdev, *min, *max);
                let phi = |x: f64| {
                    if x.is_finite() {
                        (-x * x / 2.0).exp()
                    } else {
                        0.0
                    }
                };
                let k = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
                mean + stdev * k * (phi(a) - phi(b)) / (pb - pa)
            }
            Dist::Lognormal { median, dispersion } => {
                median * (dispersion * dispersion / 2.0).exp()
            }
            Dist::Discrete { values, weights } => {
                let total: f64 = weights.iter().sum();
                values.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() / total
            }
        }
    }

    /// The standard deviation of a draw.
    pub fn stdev(&self) -> f64 {
        self.variance().max(0.0).sqrt()
    }

    /// The variance of a draw, as computed (not clamped: NaN or infinite
    /// where the parameters overflow 64-bit floats, which the validator
    /// refuses).
    pub fn variance(&self) -> f64 {
        match self {
            Dist::Triangular { min, mode, max } => {
                (min * min + mode * mode + max * max - min * mode - min * max - mode * max) / 18.0
            }
            Dist::Pert { min, mode, max } => {
                if max == min {
                    0.0
                } else {
                    let (a, b) = Self::pert_shapes(*min, *mode, *max);
                    a * b * (max - min) * (max - min) / ((a + b) * (a + b) * (a + b + 1.0))
                }
            }
            Dist::Uniform { min, max } => (max - min) * (max - min) / 12.0,
            Dist::Normal {
                mean,
                stdev,
                min,
                max,
            } => {
                if *stdev == 0.0 || (min.is_none() && max.is_none()) {
                    stdev * stdev
                } else {
                    let [a, b, pa, pb] = Self::normal_bounds(*mean, *stdev, *min, *max);
                    let k = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
                    let phi = |x: f64| {
                        if x.is_finite() {
                            k * (-x * x / 2.0).exp()
                        } else {
                            0.0
                        }
                    };
                    let xphi = |x: f64| if x.is_finite() { x * phi(x) } else { 0.0 };
                    let z = pb - pa;
                    let d = (phi(a) - phi(b)) / z;
                    stdev * stdev * (1.0 + (xphi(a) - xphi(b)) / z - d * d)
                }
            }
            Dist::Lognormal { median, dispersion } => {
                let s2 = dispersion * dispersion;
                median * median * s2.exp() * s2.exp_m1()
            }
            Dist::Discrete { values, weights } => {
                let total: f64 = weights.iter().sum();
                let m = self.mean();
                values
                    .iter()
                    .zip(weights)
                    .map(|(v, w)| w * (v - m) * (v - m))
                    .sum::<f64>()
                    / total
            }
        }
    }

    /// The p-quantile (0 < p < 1) of a draw: closed forms, or statrs's
    /// inverse CDFs (Beta for PERT, the normal's for its truncation).
    pub fn quantile(&self, p: f64) -> f64 {
        match self {
            Dist::Triangular { min, mode, max } => {
                if max == min {
                    return *min;
                }
                Triangular::new(*min, *max, *mode).map_or(f64::NAN, |d| d.inverse_cdf(p))
            }
            Dist::Pert { min, mode, max } => {
                if max == min {
                    return *min;
                }
                let (a, b) = Self::pert_shapes(*min, *mode, *max);
                Beta::new(a, b).map_or(f64::NAN, |d| min + (max - min) * d.inverse_cdf(p))
            }
            Dist::Uniform { min, max } => min + (max - min) * p,
            Dist::Normal {
                mean,
                stdev,
                min,
                max,
            } => {
                if *stdev == 0.0 {
                    return *mean;
                }
                let [_, _, pa, pb] = Self::normal_bounds(*mean, *stdev, *min, *max);
                mean + stdev * std_normal().inverse_cdf(pa + p * (pb - pa))
            }
            Dist::Lognormal { median, dispersion } => {
                median * (dispersion * std_normal().inverse_cdf(p)).exp()
            }
            Dist::Discrete { values, weights } => {
                let total: f64 = weights.iter().sum();
                let mut pairs: Vec<(f64, f64)> = values
                    .iter()
                    .copied()
                    .zip(weights.iter().copied())
                    .collect();
                pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
                let mut cdf = 0.0;
                for &(v, w) in &pairs {
                    cdf += w / total;
                    if cdf >= p {
                        return v;
                    }
                }
                pairs.last().map_or(f64::NAN, |x| x.0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_and_quantiles_follow_the_closed_forms() {
        let t = Dist::Triangular {
            min: 0.0,
            mode: 0.04,
            max: 0.10,
        };
        assert!((t.mean() - 0.14 / 3.0).abs() < 1e-15);
        // CDF at the mode is (mode - min) / (max - min) = 0.4.
        assert!((t.quantile(0.4) - 0.04).abs() < 1e-12);
        let p = Dist::Pert {
            min: 0.0,
            mode: 0.04,
            max: 0.10,
        };
        assert!((p.mean() - 0.26 / 6.0).abs() < 1e-15);
        // Beta(2.6, 3.4): var = ab / ((a+b)^2 (a+b+1)) x width^2.
        let var: f64 = 2.6 * 3.4 / (36.0 * 7.0) * 0.01;
        assert!((p.stdev() - var.sqrt()).abs() < 1e-15);
        let u = Dist::Uniform { min: 1.0, max: 3.0 };
        assert_eq!((u.mean(), u.quantile(0.25)), (2.0, 1.5));
        let n = Dist::Normal {
            mean: 0.0,
            stdev: 1.0,
            min: Some(0.0),
            max: None,
        };
        // Half-normal: mean sqrt(2 / pi), var 1 - 2 / pi, median 0.6745.
        assert!((n.mean() - (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-12);
        assert!((n.stdev() - (1.0 - 2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-12);
        assert!((n.quantile(0.5) - 0.674_489_750_196).abs() < 1e-9);
        let l = Dist::Lognormal {
            median: 100.0,
            dispersion: 0.1,
        };
        assert!((l.quantile(0.5) - 100.0).abs() < 1e-9);
        let d = Dist::Discrete {
            values: vec![0.1, 0.0, 0.04],
            weights: vec![3.0, 2.0, 5.0],
        };
        assert!((d.mean() - 0.05).abs() < 1e-15);
        assert_eq!(
            (d.quantile(0.1), d.quantile(0.5), d.quantile(0.95)),
            (0.0, 0.04, 0.1)
        );
        assert_eq!(d.support(), (0.0, 0.1));
    }
}
