//! Correlated assumptions (`[[correlations]]`): the Gaussian copula that
//! draws them, and the calibration of a pair with a discrete marginal
//! (`ties`), which meets the rank correlation written.

use rand::Rng;
use rand_distr::StandardNormal;

use super::rng::param_rng;
use crate::model::{Dist, Param, Scenario};

/// Correlated assumptions (`[[correlations]]`): a Gaussian copula over
/// their own streams. Each member draws one N(0, 1) score from its (seed,
/// trial, unit, key) stream; the scores are mixed by `factor` (F with F F^T
/// the normal-score correlation matrix) and each mixed score x becomes the
/// member's value through its own quantile function at Phi(x), so every
/// marginal is exactly the distribution written.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Copula {
    /// Per member: its index in `ParamPlan::drawn`.
    pub(super) members: Vec<usize>,
    /// F, members x members, row-major.
    factor: Vec<f64>,
    /// Per member: its distribution.
    dists: Vec<Dist>,
    /// Per member: its stream's (unit name, key).
    streams: Vec<(String, Param)>,
    /// Per member: its unit's index.
    units: Vec<usize>,
}

impl Copula {
    /// The copula of `s`'s correlations, `drawn` every drawn (unit, key)
    /// in `ParamPlan::drawn` order.
    pub(super) fn new(s: &Scenario, drawn: &[(usize, Param)]) -> Option<Copula> {
        use nalgebra::SymmetricEigen;
        if s.correlations.is_empty() {
            return None;
        }
        let (keys, mut m) = crate::scenario::validate::correlation_matrix(&s.correlations);
        // A discrete marginal's ties lower the rank correlation a normal
        // correlation gives: such a pair gets the normal correlation that
        // gives its rank correlation (`ties::calibrate`).
        let discrete = |d: Option<&Dist>| matches!(d, Some(Dist::Discrete { .. }));
        for c in &s.correlations {
            let (da, db) = (s.units[c.a.0].drawn(c.a.1), s.units[c.b.0].drawn(c.b.1));
            if let (Some(x), Some(y), true) = (da, db, discrete(da) || discrete(db)) {
                let at = |k| keys.iter().position(|&x| x == k).unwrap_or(0);
                let (i, j) = (at(c.a), at(c.b));
                let r = ties::calibrate(&ties::Margin::of(x), &ties::Margin::of(y), c.rank);
                m[(i, j)] = r;
                m[(j, i)] = r;
            }
        }
        let n = keys.len();
        let eig = SymmetricEigen::new(m);
        let mut factor = vec![0.0; n * n];
        for r in 0..n {
            for c in 0..n {
                factor[r * n + c] = eig.eigenvectors[(r, c)] * eig.eigenvalues[c].max(0.0).sqrt();
            }
        }
        let members: Vec<usize> = keys
            .iter()
            .map(|&(u, p)| {
                drawn
                    .iter()
                    .position(|&d| d == (u, p))
                    .expect("validation: correlated keys are drawn")
            })
            .collect();
        let dists = keys
            .iter()
            .map(|&(u, p)| s.units[u].drawn(p).cloned().expect("a drawn key"))
            .collect();
        let streams = keys
            .iter()
            .map(|&(u, p)| (s.units[u].name.clone(), p))
            .collect();
        Some(Copula {
            members,
            factor,
            dists,
            streams,
            units: keys.iter().map(|&(u, _)| u).collect(),
        })
    }
}

/// Rank correlation under a Gaussian copula when a marginal is discrete:
/// Spearman's rho with midranks is the correlation of the mid-distribution
/// functions, G(X) and H(Y); with X = Q(Phi(Z1)), Y = Q(Phi(Z2)) and
/// corr(Z1, Z2) = rho, E[G(X) H(Y)] is a one-dimensional integral over Z1
/// (E[H(Y) | Z1 = z] has a closed form), computed by Simpson's rule piece
/// by piece. [`calibrate`] inverts it by bisection (it rises with rho).
mod ties {
    use crate::model::Dist;
    use statrs::distribution::{Continuous, ContinuousCDF, Normal};

    /// Where the normal scale is cut off: Phi(-8.5) is about 1e-17.
    const EDGE: f64 = 8.5;
    /// Simpson intervals per piece (even).
    const SIMPSON: usize = 64;
    /// Pieces of [-EDGE, EDGE] for a continuous X.
    const PIECES: usize = 32;

    /// A marginal as the copula sees it.
    pub enum Margin {
        Continuous,
        /// Cut points on the normal scale (K + 1, from -EDGE to EDGE), each
        /// step's mid-distribution value (K), and the sum of p_k^3.
        Discrete {
            cuts: Vec<f64>,
            mids: Vec<f64>,
            cubes: f64,
        },
    }

    impl Margin {
        pub fn of(d: &Dist) -> Margin {
            let Dist::Discrete { values, weights } = d else {
                return Margin::Continuous;
            };
            let total: f64 = weights.iter().sum();
            let mut pairs: Vec<(f64, f64)> = values
                .iter()
                .copied()
                .zip(weights.iter().map(|w| w / total))
                .collect();
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
            // Equal values are one tie group.
            let mut steps: Vec<(f64, f64)> = Vec::new();
            for (v, p) in pairs {
                match steps.last_mut() {
                    Some(last) if last.0 == v => last.1 += p,
                    _ => steps.push((v, p)),
                }
            }
            let phi = Normal::standard();
            let mut cuts = vec![-EDGE];
            let mut mids = Vec::new();
            let mut below = 0.0;
            for (_, p) in &steps {
                mids.push(below + p / 2.0);
                below += p;
                cuts.push(phi.inverse_cdf(below.min(1.0)).clamp(-EDGE, EDGE));
            }
            if let Some(last) = cuts.last_mut() {
                *last = EDGE;
            }
            let cubes = steps.iter().map(|(_, p)| p * p * p).sum();
            Margin::Discrete { cuts, mids, cubes }
        }

        /// The variance of its mid-distribution value: (1 - sum p^3) / 12.
        fn variance(&self) -> f64 {
            match self {
                Margin::Continuous => 1.0 / 12.0,
                Margin::Discrete { cubes, .. } => (1.0 - cubes) / 12.0,
            }
        }
    }

    /// E[H(Y) | Z1 = z] when corr(Z1, Z2) = rho.
    fn conditional(y: &Margin, rho: f64, z: f64, phi: &Normal) -> f64 {
        match y {
            Margin::Continuous => phi.cdf(rho * z / (2.0 - rho * rho).sqrt()),
            Margin::Discrete { cuts, mids, .. } => {
                let s = (1.0 - rho * rho).sqrt();
                let mut out = 0.0;
                let mut lower = 0.0;
                for (k, m) in mids.iter().enumerate() {
                    let upper = if k + 1 == mids.len() {
                        1.0
                    } else {
                        phi.cdf((cuts[k + 1] - rho * z) / s)
                    };
                    out += m * (upper - lower);
                    lower = upper;
                }
                out
            }
        }
    }

    /// Simpson's rule of `f` over [a, b].
    fn simpson(a: f64, b: f64, f: impl Fn(f64) -> f64) -> f64 {
        let h = (b - a) / SIMPSON as f64;
        let mut sum = f(a) + f(b);
        for i in 1..SIMPSON {
            let w = if i % 2 == 1 { 4.0 } else { 2.0 };
            sum += w * f(a + i as f64 * h);
        }
        sum * h / 3.0
    }

    /// Spearman's rho (midranks) of X and Y under normal correlation rho.
    pub fn spearman(x: &Margin, y: &Margin, rho: f64) -> f64 {
        let phi = Normal::standard();
        let part = |g: &dyn Fn(f64) -> f64, a: f64, b: f64| {
            simpson(a, b, |z| phi.pdf(z) * g(z) * conditional(y, rho, z, &phi))
        };
        let e: f64 = match x {
            Margin::Continuous => {
                let w = 2.0 * EDGE / PIECES as f64;
                (0..PIECES)
                    .map(|k| {
                        let a = -EDGE + k as f64 * w;
                        part(&|z| phi.cdf(z), a, a + w)
                    })
                    .sum()
            }
            Margin::Discrete { cuts, mids, .. } => mids
                .iter()
                .enumerate()
                .map(|(k, &m)| part(&|_| m, cuts[k], cuts[k + 1]))
                .sum(),
        };
        (e - 0.25) / (x.variance() * y.variance()).sqrt()
    }

    /// The normal correlation whose rank correlation of X and Y is
    /// `target` (the nearest reachable where ties cap it).
    pub fn calibrate(x: &Margin, y: &Margin, target: f64) -> f64 {
        let (mut lo, mut hi) = (-0.999_999, 0.999_999);
        for _ in 0..50 {
            let mid = 0.5 * (lo + hi);
            if spearman(x, y, mid) < target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Two continuous marginals: the integral gives the copula's closed
        /// form, 6 / pi asin(rho / 2).
        #[test]
        fn the_integral_is_the_closed_form_without_ties() {
            for rho in [-0.8, -0.3, 0.0, 0.4, 0.9] {
                let want = 6.0 / std::f64::consts::PI * (rho / 2.0f64).asin();
                let got = spearman(&Margin::Continuous, &Margin::Continuous, rho);
                assert!((got - want).abs() < 1e-6, "{rho}: {got} vs {want}");
            }
        }
    }
}

impl Copula {
    /// The members' values: one N(0, 1) score from each member's own
    /// stream, mixed by the factor, then each member's quantile at Phi of
    /// its mixed score. With `only`, the values of that unit's members
    /// alone (every score is still drawn: they mix).
    pub(super) fn draw(
        &self,
        seed: u64,
        trial: u64,
        (values, scores): (&mut [f64], &mut Vec<f64>),
        only: Option<usize>,
    ) {
        use statrs::distribution::{ContinuousCDF, Normal};
        let n = self.members.len();
        scores.clear();
        for (unit, param) in &self.streams {
            let mut rng = param_rng(seed, trial, unit, param.key());
            scores.push(rng.sample(StandardNormal));
        }
        let phi = Normal::standard();
        for (r, (&i, dist)) in self.members.iter().zip(&self.dists).enumerate() {
            if only.is_some_and(|j| self.units[r] != j) {
                continue;
            }
            let x: f64 = (0..n).map(|k| self.factor[r * n + k] * scores[k]).sum();
            // Kept inside (0, 1), so that unbounded marginals stay finite.
            let u = phi.cdf(x).clamp(1e-15, 1.0 - 1e-15);
            values[i] = dist.quantile(u);
        }
    }
}
