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
//! rand_distr's distributions; correlated keys through `super::copula`);
//! `super::lane_params::TrialParams` is one trial's copy of the plan's
//! unit constants with the drawn values in place.

use rand::distr::weighted::WeightedIndex;
use rand::distr::Uniform;
use rand::Rng;
use rand_distr::{Beta, Distribution, Normal, StandardNormal, Triangular};

use super::copula::Copula;
use super::math::GrowthFactor;
pub use super::rng::param_rng;
use super::terms::{PolicyPlan, Response};
use super::valuation::unit_growth;
use crate::model::{keys, Dist, Fade, GrowthFade, Param, Scenario, Unit, Valuation};

/// Most redraws of a truncated normal (validation refuses a truncation
/// that keeps less than 0.1% of the mass, so this is never reached in
/// practice; past it the draw is clamped into the interval).
const MAX_REDRAWS: usize = 1_000_000;

/// A distribution ready to draw from.
#[derive(Clone, Debug, PartialEq)]
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
#[derive(Clone, Debug, PartialEq)]
pub struct DrawnPlan {
    pub unit: usize,
    pub param: Param,
    unit_name: String,
    sampler: Sampler,
    pub(super) also_target: bool,
    /// The distribution's mean and standard deviation: the recorded
    /// value is (x - mean) / stdev (see [`crate::model::Layout::drawn`]).
    pub(super) mean: f64,
    pub(super) stdev: f64,
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
    pub(super) base: Vec<UnitBase>,
    /// Per unit: whether it draws a key (else its trials' constants are
    /// the plan's).
    drawn_units: Vec<bool>,
    /// The correlated assumptions, if the scenario has any.
    copula: Option<Copula>,
}

/// A unit's keys that may be drawn, as the file states them (or, in a
/// trial, as drawn), by [`Param`].
#[derive(Clone, Copy, Debug)]
pub(super) struct UnitBase([f64; Param::ALL.len()]);

impl UnitBase {
    /// The keys of `u` as the file states them.
    pub(super) fn of(u: &Unit) -> UnitBase {
        UnitBase(Param::ALL.map(|p| match keys::of_param(p).field {
            // A drawn key's row holds its unit field (the registry's test).
            keys::Field::Unit(f) => f.get(u).unwrap_or(0.0),
            _ => 0.0,
        }))
    }

    pub(super) fn get(&self, p: Param) -> f64 {
        self.0[p as usize]
    }

    pub(super) fn set(&mut self, p: Param, x: f64) {
        self.0[p as usize] = x;
    }

    /// Step 4's response of growth to investment.
    pub(super) fn response(&self) -> Response<f64> {
        Response::of(|p| self.get(p))
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
        let keys: Vec<(usize, Param)> = drawn.iter().map(|d| (d.unit, d.param)).collect();
        let copula = Copula::new(s, &keys);
        let drawn_units = (0..s.units.len())
            .map(|i| drawn.iter().any(|d| d.unit == i))
            .collect();
        ParamPlan {
            drawn_units,
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
            base: s.units.iter().map(UnitBase::of).collect(),
        }
    }

    /// Trial `trial`'s value of every drawn assumption, in [`Self::drawn`]
    /// order, into `values` (`scores`: scratch for the copula). Each from
    /// its own stream; correlated ones through the copula. With `only`,
    /// unit `only`'s values alone (the same values), every other NaN: a
    /// solo replay of that unit reads no other unit's (`super::solo`).
    pub fn draw_values(
        &self,
        seed: u64,
        trial: u64,
        (values, scores): (&mut [f64], &mut Vec<f64>),
        only: Option<usize>,
    ) {
        for (i, (d, v)) in self.drawn.iter().zip(values.iter_mut()).enumerate() {
            if only.is_some_and(|j| j != d.unit) {
                *v = f64::NAN;
                continue;
            }
            if self.copula.as_ref().is_some_and(|c| c.members.contains(&i)) {
                continue;
            }
            let mut rng = param_rng(seed, trial, &d.unit_name, d.param.key());
            *v = d.sampler.sample(&mut rng);
        }
        if let Some(c) = &self.copula {
            c.draw(seed, trial, (values, scores), only);
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

    /// Whether unit `i` draws a key: else every trial's constants of it
    /// are the plan's (its terms of step k: `Plan::policies_at(k)`).
    pub(super) fn draws_unit(&self, i: usize) -> bool {
        self.drawn_units.get(i).copied().unwrap_or(false)
    }

    /// Whether unit `i` has per-trial constants: a drawn assumption or a
    /// growth that fades.
    pub fn unit_varies(&self, i: usize) -> bool {
        self.fades(i) || self.draws_unit(i)
    }

    /// Whether unit `i` draws a key that enters its held value's A (its
    /// growth or a margin key).
    pub(super) fn draws_held(&self, i: usize) -> bool {
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

    /// Whether `other` draws as this plan does and gives every unit but
    /// unit `j` the same constants: the same drawn keys from the same
    /// distributions (so the same values, each from its own stream) and
    /// correlations, and every other unit's stated keys (bit for bit),
    /// growth fade and fade valuation equal. Then only unit `j`'s
    /// per-trial constants differ between the two plans' trials.
    pub(super) fn same_but(&self, other: &ParamPlan, j: usize) -> bool {
        let bits = |a: &UnitBase, b: &UnitBase| a.0.map(f64::to_bits) == b.0.map(f64::to_bits);
        let n = self.base.len();
        let shape = |p: &ParamPlan| (p.base.len(), p.fades.len(), p.valued.len());
        shape(self) == (n, n, n)
            && shape(other) == (n, n, n)
            && self.drawn == other.drawn
            && self.copula == other.copula
            && (0..n).filter(|&i| i != j).all(|i| {
                bits(&self.base[i], &other.base[i])
                    && self.fades[i] == other.fades[i]
                    && self.valued[i] == other.valued[i]
            })
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
                    let growth = self.base_growth(i, u.get(Param::Growth), t);
                    for pol in at.iter_mut() {
                        pol.units[i].set_growth(growth, u.response(), gfn, dt);
                    }
                }
                at
            })
            .collect()
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
            pp.draw_values(s.seed, t, (&mut v, &mut scores), None);
            plain.draw_values(s.seed, t, (&mut w, &mut scores), None);
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
