//! Uncertain assumptions, drawn once per trial (model contract,
//! "Uncertain assumptions (v2)"), and the growth fade of `growth_fade`.
//!
//! Each drawn (unit, key) has a stream of its own, seeded from (seed,
//! trial, unit name, key) and apart from the trial's path stream
//! (`super::rng`): a scenario without distributions draws exactly what it
//! drew before, and adding, removing or reordering one distribution moves
//! no other draw. The values hold for the whole trial and for every policy.
//!
//! [`ParamPlan`] holds what a run computes once (the samplers, built from
//! rand_distr's distributions); [`TrialParams`] is one trial's copy of the
//! plan's unit constants with the drawn values in place, rebuilt per trial
//! and, for units whose growth fades, per step. The scalar reference runs
//! on it; the batch kernel keeps one per lane and reads its constants
//! lane by lane (`batch::LaneParams`), with the same operations.

use rand::distr::weighted::WeightedIndex;
use rand::distr::Uniform;
use rand::Rng;
use rand_distr::{Beta, Distribution, Normal, StandardNormal, Triangular};

use super::math::GrowthFactor;
use super::plan::{held_of_unit, margin_path, DrawPlan, PolicyPlan};
use super::rng::{mix, trial_state, TrialRng};
use super::valuation::unit_growth;
use crate::model::{Dist, Fade, GrowthFade, Param, Scenario, Valuation};

/// Separates the assumption streams from the path streams.
const PARAM_SALT: u64 = 0x5041_5241_4D53_2121;
/// Most redraws of a truncated normal (validation refuses a truncation
/// that keeps less than 0.1% of the mass, so this is never reached in
/// practice; past it the draw is clamped into the interval).
const MAX_REDRAWS: usize = 1_000_000;

/// FNV-1a of a name: the stream's label.
fn name_hash(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// The stream of (unit, key) in trial `trial` under `seed`.
pub fn param_rng(seed: u64, trial: u64, unit: &str, key: &str) -> TrialRng {
    use rand_core::SeedableRng;
    let base = mix(seed ^ PARAM_SALT) ^ mix(name_hash(unit)) ^ name_hash(key).rotate_left(29);
    let mut bytes = [0u8; 32];
    for (chunk, word) in bytes.chunks_exact_mut(8).zip(trial_state(base, trial)) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    TrialRng::from_seed(bytes)
}

/// A distribution ready to draw from.
#[derive(Clone, Debug)]
enum Sampler {
    Constant(f64),
    Triangular(Triangular<f64>),
    Pert {
        min: f64,
        width: f64,
        beta: Beta<f64>,
    },
    Uniform(Uniform<f64>),
    Normal {
        normal: Normal<f64>,
        lo: f64,
        hi: f64,
    },
    Lognormal {
        median: f64,
        dispersion: f64,
    },
    Discrete {
        values: Vec<f64>,
        index: WeightedIndex<f64>,
    },
}

impl Sampler {
    /// The sampler of a validated distribution (degenerate ones, such as
    /// min = max, are constants).
    fn new(d: &Dist) -> Sampler {
        let (lo, hi) = d.support();
        if lo == hi {
            return Sampler::Constant(lo);
        }
        let built = match d {
            Dist::Triangular { min, mode, max } => Triangular::new(*min, *max, *mode)
                .ok()
                .map(Sampler::Triangular),
            Dist::Pert { min, mode, max } => {
                let (a, b) = Dist::pert_shapes(*min, *mode, *max);
                Beta::new(a, b).ok().map(|beta| Sampler::Pert {
                    min: *min,
                    width: max - min,
                    beta,
                })
            }
            Dist::Uniform { min, max } => Uniform::new_inclusive(*min, *max)
                .ok()
                .map(Sampler::Uniform),
            Dist::Normal { mean, stdev, .. } => Normal::new(*mean, *stdev)
                .ok()
                .map(|normal| Sampler::Normal { normal, lo, hi }),
            Dist::Lognormal { median, dispersion } => Some(Sampler::Lognormal {
                median: *median,
                dispersion: *dispersion,
            }),
            Dist::Discrete { values, weights } => WeightedIndex::new(weights.iter().copied())
                .ok()
                .map(|index| Sampler::Discrete {
                    values: values.clone(),
                    index,
                }),
        };
        // Validation leaves nothing that fails to build; the mean keeps a
        // run going if it ever did.
        built.unwrap_or_else(|| Sampler::Constant(d.mean()))
    }

    fn sample<R: Rng>(&self, rng: &mut R) -> f64 {
        match self {
            Sampler::Constant(x) => *x,
            Sampler::Triangular(t) => t.sample(rng),
            Sampler::Pert { min, width, beta } => min + width * beta.sample(rng),
            Sampler::Uniform(u) => u.sample(rng),
            Sampler::Normal { normal, lo, hi } => {
                for _ in 0..MAX_REDRAWS {
                    let x = normal.sample(rng);
                    if x >= *lo && x <= *hi {
                        return x;
                    }
                }
                normal.mean().clamp(*lo, *hi)
            }
            Sampler::Lognormal { median, dispersion } => {
                let z: f64 = rng.sample(StandardNormal);
                median * libm::exp(dispersion * z)
            }
            Sampler::Discrete { values, index } => values[index.sample(rng)],
        }
    }
}

/// Draws `n` values of `dist` from one fixed stream: what `check` and the
/// tests use to show a distribution as the engine draws it.
pub fn sample_many(dist: &Dist, seed: u64, n: usize) -> Vec<f64> {
    let s = Sampler::new(dist);
    let mut rng = param_rng(seed, 0, "", dist.name());
    (0..n).map(|_| s.sample(&mut rng)).collect()
}

/// One drawn (unit, key) of a run.
#[derive(Clone, Debug)]
pub struct DrawnPlan {
    pub unit: usize,
    pub param: Param,
    unit_name: String,
    sampler: Sampler,
    also_target: bool,
    /// The distribution's mean and standard deviation: the recorded
    /// value is (x - mean) / stdev (see [`crate::model::Layout::drawn`]).
    mean: f64,
    stdev: f64,
}

/// Correlated assumptions (`[[correlations]]`): a Gaussian copula over
/// their own streams. Each member draws one N(0, 1) score from its (seed,
/// trial, unit, key) stream; the scores are mixed by `factor` (F with F F^T
/// the normal-score correlation matrix) and each mixed score x becomes the
/// member's value through its own quantile function at Phi(x), so every
/// marginal is exactly the distribution written.
#[derive(Clone, Debug)]
struct Copula {
    /// Per member: its index in [`ParamPlan::drawn`].
    members: Vec<usize>,
    /// F, members x members, row-major.
    factor: Vec<f64>,
    /// Per member: its distribution.
    dists: Vec<Dist>,
}

impl Copula {
    fn new(s: &Scenario, drawn: &[DrawnPlan]) -> Option<Copula> {
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
                    .position(|d| d.unit == u && d.param == p)
                    .expect("validation: correlated keys are drawn")
            })
            .collect();
        let dists = keys
            .iter()
            .map(|&(u, p)| s.units[u].drawn(p).cloned().expect("a drawn key"))
            .collect();
        Some(Copula {
            members,
            factor,
            dists,
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
    /// its mixed score.
    fn draw(
        &self,
        pp: &ParamPlan,
        seed: u64,
        trial: u64,
        values: &mut [f64],
        scores: &mut Vec<f64>,
    ) {
        use statrs::distribution::{ContinuousCDF, Normal};
        let n = self.members.len();
        scores.clear();
        for &i in &self.members {
            let d = &pp.drawn[i];
            let mut rng = param_rng(seed, trial, &d.unit_name, d.param.key());
            scores.push(rng.sample(StandardNormal));
        }
        let phi = Normal::standard();
        for (r, (&i, dist)) in self.members.iter().zip(&self.dists).enumerate() {
            let x: f64 = (0..n).map(|k| self.factor[r * n + k] * scores[k]).sum();
            // Kept inside (0, 1), so that unbounded marginals stay finite.
            let u = phi.cdf(x).clamp(1e-15, 1.0 - 1e-15);
            values[i] = dist.quantile(u);
        }
    }
}

/// What a run computes once about its uncertain assumptions and fades.
#[derive(Clone, Debug, Default)]
pub struct ParamPlan {
    /// Every drawn (unit, key), units in file order, keys in
    /// [`Param::ALL`] order (the order of the layout's drawn slots).
    pub drawn: Vec<DrawnPlan>,
    /// Per unit: its growth fade, if any.
    fades: Vec<Option<GrowthFade>>,
    /// Per unit valued by "fade" (v3): its terms, whose schedule fades
    /// the base growth to terminal_growth.
    valued: Vec<Option<Fade>>,
    /// Per unit, the constants the draws override.
    base: Vec<UnitBase>,
    /// The correlated assumptions, if the scenario has any.
    copula: Option<Copula>,
}

/// A unit's keys that may be drawn, as the file states them.
#[derive(Clone, Copy, Debug)]
struct UnitBase {
    revenue: f64,
    growth: f64,
    volatility: f64,
    margin: f64,
    target_margin: f64,
    margin_speed: f64,
    max_uplift: f64,
    half_saturation: f64,
}

impl UnitBase {
    fn set(&mut self, p: Param, x: f64) {
        match p {
            Param::Revenue => self.revenue = x,
            Param::Growth => self.growth = x,
            Param::Volatility => self.volatility = x,
            Param::Margin => self.margin = x,
            Param::TargetMargin => self.target_margin = x,
            Param::MarginSpeed => self.margin_speed = x,
            Param::MaxUplift => self.max_uplift = x,
            Param::HalfSaturation => self.half_saturation = x,
        }
    }
}

impl ParamPlan {
    pub fn new(s: &Scenario) -> ParamPlan {
        let mut drawn = Vec::new();
        for (i, u) in s.units.iter().enumerate() {
            for p in Param::ALL {
                if let Some(x) = u.uncertain.iter().find(|x| x.param == p) {
                    drawn.push(DrawnPlan {
                        unit: i,
                        param: p,
                        unit_name: u.name.clone(),
                        sampler: Sampler::new(&x.dist),
                        also_target: x.also_target,
                        mean: x.dist.mean(),
                        stdev: x.dist.stdev(),
                    });
                }
            }
        }
        let copula = Copula::new(s, &drawn);
        ParamPlan {
            copula,
            drawn,
            fades: s.units.iter().map(|u| u.growth_fade).collect(),
            valued: s
                .units
                .iter()
                .map(|u| match u.valuation {
                    Valuation::Fade(f) => Some(f),
                    Valuation::Multiple => None,
                })
                .collect(),
            base: s
                .units
                .iter()
                .map(|u| UnitBase {
                    revenue: u.revenue,
                    growth: u.growth,
                    volatility: u.volatility,
                    margin: u.margin,
                    target_margin: u.target_margin,
                    margin_speed: u.margin_speed,
                    max_uplift: u.max_uplift,
                    half_saturation: u.half_saturation,
                })
                .collect(),
        }
    }

    /// Trial `trial`'s value of every drawn assumption, in [`Self::drawn`]
    /// order, into `values` (`scores`: scratch for the copula). Each from
    /// its own stream; correlated ones through the copula.
    pub fn draw_values(&self, seed: u64, trial: u64, values: &mut [f64], scores: &mut Vec<f64>) {
        for (i, (d, v)) in self.drawn.iter().zip(values.iter_mut()).enumerate() {
            if self.copula.as_ref().is_some_and(|c| c.members.contains(&i)) {
                continue;
            }
            let mut rng = param_rng(seed, trial, &d.unit_name, d.param.key());
            *v = d.sampler.sample(&mut rng);
        }
        if let Some(c) = &self.copula {
            c.draw(self, seed, trial, values, scores);
        }
    }

    /// Whether unit `i`'s base growth changes with the step (growth_fade,
    /// or the schedule of a unit valued by "fade").
    pub fn fades(&self, i: usize) -> bool {
        self.fades.get(i).is_some_and(Option::is_some)
            || self.valued.get(i).is_some_and(Option::is_some)
    }

    /// Unit `i`'s base growth at step start `t` when its `growth` is
    /// `growth`: the v2 rate (growth_fade's schedule), then, for a unit
    /// valued by "fade", the v3 schedule.
    #[inline]
    pub fn base_growth(&self, i: usize, growth: f64, t: f64) -> f64 {
        unit_growth(growth, self.fades[i].as_ref(), self.valued[i].as_ref(), t)
    }

    /// Whether unit `i` has per-trial constants: a drawn assumption or a
    /// growth that fades.
    pub fn unit_varies(&self, i: usize) -> bool {
        self.fades(i) || self.drawn.iter().any(|d| d.unit == i)
    }

    /// Whether unit `i` draws a key that enters its held value's A (its
    /// growth or a margin key).
    fn draws_held(&self, i: usize) -> bool {
        self.valued[i].is_some()
            && self.drawn.iter().any(|d| {
                d.unit == i
                    && matches!(
                        d.param,
                        Param::Growth | Param::Margin | Param::TargetMargin | Param::MarginSpeed
                    )
            })
    }

    /// Whether trials need their own unit constants (something is
    /// drawn); otherwise the plan's hold for every trial (a growth that
    /// fades with the step is in the plan's [`super::Plan::policies_at`]).
    pub fn varies(&self) -> bool {
        !self.drawn.is_empty()
    }

    /// The policies' terms of every step (`policies` with each fading
    /// unit's growth terms of that step), or nothing when no unit's growth
    /// changes with the step.
    pub(super) fn stepped_policies(
        &self,
        policies: &[PolicyPlan],
        gfn: GrowthFactor,
        steps: usize,
        dt: f64,
        spy: f64,
    ) -> Vec<Vec<PolicyPlan>> {
        if !(0..self.base.len()).any(|i| self.fades(i)) {
            return Vec::new();
        }
        (0..steps)
            .map(|k| {
                let t = k as f64 / spy;
                let mut at = policies.to_vec();
                for (i, u) in self.base.iter().enumerate() {
                    if !self.fades(i) {
                        continue;
                    }
                    let growth = self.base_growth(i, u.growth, t);
                    for pol in at.iter_mut() {
                        pol.units[i].set_growth(growth, u.max_uplift, u.half_saturation, gfn, dt);
                    }
                }
                at
            })
            .collect()
    }
}

/// One trial's unit constants: the plan's, with the drawn values in place
/// and the fading growth of the current step.
#[derive(Clone, Debug)]
pub struct TrialParams {
    /// Per drawn entry of [`ParamPlan::drawn`]: the value drawn.
    pub values: Vec<f64>,
    /// The copula's normal scores (scratch, reused every trial).
    scores: Vec<f64>,
    units: Vec<UnitBase>,
    pub(super) revenue0: Vec<f64>,
    pub(super) draws: Vec<DrawPlan>,
    /// As `Plan::margin`: row k holds each unit's margin during step k.
    pub(super) margin: Vec<f64>,
    pub(super) policies: Vec<PolicyPlan>,
    /// As `Plan::held`: A per horizon and unit, this trial's.
    pub(super) held: Vec<f64>,
}

impl TrialParams {
    pub(super) fn new(plan: &super::Plan) -> TrialParams {
        TrialParams {
            values: vec![0.0; plan.params.drawn.len()],
            scores: Vec::new(),
            units: plan.params.base.clone(),
            revenue0: plan.revenue0.clone(),
            draws: plan.draws.clone(),
            margin: plan.margin.clone(),
            policies: plan.policies.clone(),
            held: plan.held.clone(),
        }
    }

    /// Draws trial `trial`'s assumptions and derives every constant that
    /// depends on them, with the formulas `Plan::new` uses.
    pub(super) fn draw(&mut self, plan: &super::Plan, seed: u64, trial: u64) {
        let pp = &plan.params;
        self.units.copy_from_slice(&pp.base);
        pp.draw_values(seed, trial, &mut self.values, &mut self.scores);
        for (d, &v) in pp.drawn.iter().zip(&self.values) {
            self.units[d.unit].set(d.param, v);
            if d.also_target {
                self.units[d.unit].set(Param::TargetMargin, v);
            }
        }
        let dt = plan.dt;
        for (i, u) in self.units.iter().enumerate() {
            self.revenue0[i] = u.revenue;
            self.draws[i].set_volatility(u.volatility, dt);
        }
        let start: Vec<f64> = self.units.iter().map(|u| u.margin).collect();
        let speed: Vec<f64> = self.units.iter().map(|u| u.margin_speed).collect();
        let target: Vec<f64> = self.units.iter().map(|u| u.target_margin).collect();
        margin_path(&mut self.margin, &start, &speed, &target, dt);
        self.set_growth(plan, 0, true);
        self.set_held(plan);
    }

    /// A of each unit valued by "fade" whose drawn keys enter it, from
    /// this trial's growth and margin path (the plan's formula).
    fn set_held(&mut self, plan: &super::Plan) {
        let pp = &plan.params;
        if !(0..plan.n_units).any(|i| pp.draws_held(i)) {
            return;
        }
        let k0s = &plan.horizon_steps;
        for (i, (u, f)) in self.units.iter().zip(&plan.fade).enumerate() {
            let Some(f) = f.as_ref().filter(|_| pp.draws_held(i)) else {
                continue;
            };
            let speed = (u.target_margin, u.margin_speed);
            let growth = |t| pp.base_growth(i, u.growth, t);
            let n = plan.n_units;
            held_of_unit(&mut self.held, i, n, k0s, f, &self.margin, speed, growth);
        }
    }

    /// The growth terms of step `k` (every unit when `all`, else only the
    /// units whose growth fades).
    pub(super) fn set_growth(&mut self, plan: &super::Plan, k: usize, all: bool) {
        let t = k as f64 / plan.steps_per_year;
        let pp = &plan.params;
        for (i, u) in self.units.iter().enumerate() {
            if !all && !pp.fades(i) {
                continue;
            }
            let growth = pp.base_growth(i, u.growth, t);
            for pol in self.policies.iter_mut() {
                pol.units[i].set_growth(
                    growth,
                    u.max_uplift,
                    u.half_saturation,
                    plan.growth_factor,
                    plan.dt,
                );
            }
        }
    }

    /// Per drawn entry: (x - mean) / stdev of the distribution (0 for a
    /// constant), the value the layout records.
    pub(super) fn standardized<'a>(
        &'a self,
        plan: &'a super::Plan,
    ) -> impl Iterator<Item = f64> + 'a {
        let drawn = &plan.params.drawn;
        drawn.iter().zip(&self.values).map(|(d, &x)| {
            if d.stdev > 0.0 {
                (x - d.mean) / d.stdev
            } else {
                0.0
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_labelled_by_unit_and_key_apart_from_the_path() {
        use rand_core::RngCore;
        let a = param_rng(1, 0, "Cloud", "growth").next_u64();
        assert_ne!(a, param_rng(1, 0, "Cloud", "margin").next_u64());
        assert_ne!(a, param_rng(1, 0, "Quark", "growth").next_u64());
        assert_ne!(a, param_rng(1, 1, "Cloud", "growth").next_u64());
        assert_ne!(a, param_rng(2, 0, "Cloud", "growth").next_u64());
        assert_ne!(a, super::super::rng::trial_rng(1, 0).next_u64());
        assert_eq!(a, param_rng(1, 0, "Cloud", "growth").next_u64());
    }

    /// Adding a distribution to one unit moves none of the other draws:
    /// the other assumptions' values and, with units that do not share a
    /// budget, every other unit's revenue path, trial by trial.
    #[test]
    fn adding_a_distribution_moves_no_other_draw() {
        use crate::kernel::{Plan, TrialState};
        use crate::model::{Role, Uncertain};
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/reset_uncertain.toml");
        let mut a = crate::scenario::load(&path).unwrap();
        // No investment and no exits: units share nothing but the draws.
        for p in a.policies.iter_mut() {
            for t in p.terms.iter_mut() {
                t.role = Role::Core;
                t.intensity = 0.0;
                t.exit = None;
            }
        }
        let mut b = a.clone();
        let cloud = b
            .units
            .iter()
            .position(|u| u.name == "Cloud Intelligence")
            .unwrap();
        assert!(b.units[cloud].uncertain.is_empty());
        b.units[cloud].uncertain.push(Uncertain {
            param: Param::Margin,
            dist: Dist::Uniform { min: 0.0, max: 0.1 },
            also_target: false,
        });
        let (pa, pb) = (Plan::new(&a), Plan::new(&b));
        assert_eq!(pb.params.drawn.len(), pa.params.drawn.len() + 1);
        let (mut sa, mut sb) = (TrialState::new(&pa), TrialState::new(&pb));
        let key = |p: &Plan, i: usize| (p.params.drawn[i].unit, p.params.drawn[i].param);
        for trial in 0..50 {
            let mut ra = Vec::new();
            let mut rb = Vec::new();
            let record = |out: &mut Vec<f64>, st: &TrialState, n: usize| {
                for u in 0..n {
                    out.push(st.unit_revenue(0, u).unwrap_or(f64::NAN));
                }
            };
            let n = a.units.len();
            sa.run_observed(&pa, a.seed, trial, |_, st| record(&mut ra, st, n));
            sb.run_observed(&pb, b.seed, trial, |_, st| record(&mut rb, st, n));
            for (i, x) in sa.drawn().iter().enumerate() {
                let j = (0..pb.params.drawn.len())
                    .find(|&j| key(&pb, j) == key(&pa, i))
                    .unwrap();
                assert_eq!(x.to_bits(), sb.drawn()[j].to_bits(), "trial {trial}");
            }
            for (k, (x, y)) in ra.iter().zip(&rb).enumerate() {
                if k % n != cloud {
                    assert_eq!(x.to_bits(), y.to_bits(), "trial {trial}, unit {}", k % n);
                }
            }
        }
    }

    /// Spearman's rank correlation (midranks for ties).
    fn spearman(x: &[f64], y: &[f64]) -> f64 {
        fn ranks(v: &[f64]) -> Vec<f64> {
            let mut idx: Vec<usize> = (0..v.len()).collect();
            idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
            let mut r = vec![0.0; v.len()];
            let mut i = 0;
            while i < idx.len() {
                let mut j = i;
                while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
                    j += 1;
                }
                let mid = (i + j) as f64 / 2.0;
                for &k in &idx[i..=j] {
                    r[k] = mid;
                }
                i = j + 1;
            }
            r
        }
        let (rx, ry) = (ranks(x), ranks(y));
        let n = x.len() as f64;
        let (mx, my) = (rx.iter().sum::<f64>() / n, ry.iter().sum::<f64>() / n);
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for (a, b) in rx.iter().zip(&ry) {
            sxy += (a - mx) * (b - my);
            sxx += (a - mx) * (a - mx);
            syy += (b - my) * (b - my);
        }
        sxy / (sxx * syy).sqrt()
    }

    fn correlated_scenario(extra: &str) -> Scenario {
        let text = format!(
            r#"[scenario]
name = "correlated"
currency = "x"
trials = 10
seed = 5
steps_per_year = 1
horizons = [1]
discount_rate = 0.09
baseline = "p"

[[units]]
name = "A"
role = "core"
revenue = 10.0
growth = {{ dist = "triangular", min = 0.0, mode = 0.04, max = 0.12 }}
volatility = 0.1
margin = {{ dist = "uniform", min = 0.05, max = 0.25 }}
multiple = {{ median = 1.0, dispersion = 0.1 }}

[[units]]
name = "B"
role = "core"
revenue = {{ dist = "lognormal", median = 50.0, dispersion = 0.3 }}
growth = {{ dist = "pert", min = -0.05, mode = 0.02, max = 0.20 }}
volatility = {{ dist = "uniform", min = 0.05, max = 0.3 }}
margin = {{ dist = "normal", mean = 0.10, stdev = 0.05, min = 0.0, max = 0.3 }}
multiple = {{ median = 1.0, dispersion = 0.1 }}

[[units]]
name = "C"
role = "core"
revenue = 5.0
growth = {{ dist = "discrete", values = [0.0, 0.05, 0.10, 0.15, 0.2], weights = [1, 2, 3, 2, 1] }}
volatility = 0.1
margin = 0.1
multiple = {{ median = 1.0, dispersion = 0.1 }}

[policies.p]
core = {{ intensity = 0.0 }}
reinvest_share = 0.5
{extra}"#
        );
        crate::scenario::parse(std::path::Path::new("c.toml"), &text).unwrap()
    }

    /// Correlated draws meet their rank correlations within 0.01 at
    /// 200,000 trials, for every continuous marginal kind; each marginal's
    /// quantiles are the distribution's; an assumption outside every
    /// pair draws exactly what it drew without correlations. A discrete
    /// marginal's ties weaken the rank correlation it can reach (measured
    /// with midranks): it keeps the sign and most of the size.
    #[test]
    fn correlated_draws_meet_their_targets_with_marginals_intact() {
        let pairs = [
            ("A.growth", "B.growth", 0.7),
            ("A.margin", "B.margin", -0.5),
            ("B.revenue", "A.growth", 0.3),
            ("B.revenue", "C.growth", 0.6),
        ];
        let extra: String = pairs
            .iter()
            .map(|(a, b, r)| {
                format!("[[correlations]]\nbetween = [\"{a}\", \"{b}\"]\nrank = {r}\n")
            })
            .collect();
        let s = correlated_scenario(&extra);
        let plain = ParamPlan::new(&correlated_scenario(""));
        let pp = ParamPlan::new(&s);
        let n = 200_000u64;
        let k = pp.drawn.len();
        let mut cols = vec![Vec::with_capacity(n as usize); k];
        let (mut v, mut w) = (vec![0.0; k], vec![0.0; k]);
        let mut scores = Vec::new();
        let vol = pp
            .drawn
            .iter()
            .position(|d| d.param == Param::Volatility)
            .unwrap();
        for t in 0..n {
            pp.draw_values(s.seed, t, &mut v, &mut scores);
            plain.draw_values(s.seed, t, &mut w, &mut scores);
            // B's volatility is in no pair: the same draw as without.
            assert_eq!(v[vol].to_bits(), w[vol].to_bits());
            for (c, &x) in cols.iter_mut().zip(&v) {
                c.push(x);
            }
        }
        let col = |name: &str| {
            let (u, key) = name.split_once('.').unwrap();
            let i = pp
                .drawn
                .iter()
                .position(|d| s.units[d.unit].name == u && d.param.key() == key)
                .unwrap();
            (i, &cols[i])
        };
        for (a, b, r) in pairs {
            let ((_, x), (_, y)) = (col(a), col(b));
            let got = spearman(x, y);
            assert!((got - r).abs() < 0.01, "{a} ~ {b}: {got} vs {r}");
        }
        // Marginals: P5, P50, P95 of every correlated key as written.
        for (i, c) in cols.iter().enumerate() {
            let d = &pp.drawn[i];
            let dist = s.units[d.unit].drawn(d.param).unwrap();
            let mut sorted = c.clone();
            sorted.sort_by(f64::total_cmp);
            for p in [0.05, 0.5, 0.95] {
                let q = sorted[(p * n as f64) as usize];
                let want = dist.quantile(p);
                // Four standard errors of a sample quantile:
                // sqrt(p (1 - p) / n) dq/dp (a discrete step may add one
                // value's gap).
                let dq = (dist.quantile(p + 1e-4) - dist.quantile(p - 1e-4)) / 2e-4;
                let se = (p * (1.0 - p) / n as f64).sqrt() * dq;
                let tol = 4.0 * se
                    + if matches!(dist, Dist::Discrete { .. }) {
                        0.05
                    } else {
                        1e-12
                    };
                assert!(
                    (q - want).abs() <= tol,
                    "{} {}: P{} {q} vs {want}",
                    s.units[d.unit].name,
                    d.param.key(),
                    p * 100.0
                );
            }
        }
    }

    #[test]
    fn samples_have_the_closed_form_moments() {
        let dists = [
            Dist::Triangular {
                min: 0.0,
                mode: 0.04,
                max: 0.10,
            },
            Dist::Pert {
                min: 0.0,
                mode: 0.04,
                max: 0.10,
            },
            Dist::Uniform {
                min: -0.1,
                max: 0.3,
            },
            Dist::Normal {
                mean: 0.04,
                stdev: 0.05,
                min: Some(0.0),
                max: Some(0.2),
            },
            Dist::Lognormal {
                median: 100.0,
                dispersion: 0.2,
            },
            Dist::Discrete {
                values: vec![0.0, 0.04, 0.10],
                weights: vec![0.2, 0.5, 0.3],
            },
        ];
        let n = 200_000;
        for d in dists {
            let xs = sample_many(&d, 7, n);
            let (lo, hi) = d.support();
            assert!(xs.iter().all(|&x| x >= lo && x <= hi), "{d:?}");
            let mean = xs.iter().sum::<f64>() / n as f64;
            let sd = d.stdev();
            // Five standard errors.
            assert!(
                (mean - d.mean()).abs() < 5.0 * sd / (n as f64).sqrt(),
                "{d:?}: {mean}"
            );
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            assert!(
                (var.sqrt() / sd - 1.0).abs() < 0.02,
                "{d:?}: sd {}",
                var.sqrt()
            );
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            if !matches!(d, Dist::Discrete { .. }) {
                for p in [0.05, 0.5, 0.95] {
                    let q = sorted[(p * n as f64) as usize];
                    assert!((q - d.quantile(p)).abs() < 0.02 * sd, "{d:?} p{p}: {q}");
                }
            }
        }
    }
}
