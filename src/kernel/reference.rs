//! One trial of the model contract, for every policy at once.
//!
//! The random numbers of a step are drawn once and applied to every policy
//! (common random numbers by construction). Everything that does not depend
//! on the draws is computed once per run in [`Plan`]; [`TrialState`] holds
//! the buffers one worker reuses for all its trials, so the step loop never
//! allocates.
//!
//! [`TrialState`] is the trial of `super::trial` at width 1 (the `Scalar`
//! backend): the same code as the engine's batch, one trial at a time,
//! with the entry points that only one trial needs (observing each step,
//! finding where a figure first overflowed). To read the model in code:
//! `super::shocks` (the draws and shocks), `super::step` (steps 1-7) and
//! `super::trial` (the trial's course and what it records).
//!
//! Draw order (part of the numbers' definition, do not reorder):
//! 1. per unit, in file order: eta_i ~ N(0,1) (exit multiple), U_i ~ U(0,1)
//!    (exit time);
//! 2. per step: each factor F_f ~ N(0,1); then per unit in file order:
//!    eps_i ~ N(0,1), and for units with jumps a uniform that gives the
//!    Poisson count n by inversion, plus one N(0,1) when n > 0 (the sum of n
//!    N(mean, stdev) jumps is drawn as n mean + stdev sqrt(n) z, the same
//!    distribution).
//!
//! Every unit's shocks are drawn every step, held or not, under every policy.
//!
//! Uncertain assumptions (v2) are drawn before all of this, each from a
//! stream of its own (`super::draws`), so they move none of the draws
//! above. Where the draws go and what the kernel makes of them is
//! `super::shocks`, the one place that knows the order.

use super::plan::Plan;
use super::shocks::Live;
use super::simd::{is_set, LaneStore, Scalar};
use super::solo::All;
use super::trial::{Event, Trial};
use crate::model::Metric;

/// Where a trial first produced a figure that is not a finite number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow {
    /// 0-based step after which it happened.
    pub step: usize,
    pub policy: usize,
    /// The unit, when a unit's own figure went first.
    pub unit: Option<usize>,
    pub what: &'static str,
}

/// A worker's reusable buffers for one trial at a time;
/// [`TrialState::run`] fills `out` (the trial's figures, laid out by
/// [`crate::model::Layout`]).
pub type TrialState = Trial<f64>;

impl Trial<f64> {
    /// Runs trial `trial` of `seed` and writes its figures to `self.out`.
    pub fn run(&mut self, plan: &Plan, seed: u64, trial: u64) {
        self.run_watched(plan, seed, trial, |_, _| None::<()>);
    }

    /// The values trial `trial` drew for the plan's uncertain assumptions
    /// (in `ParamPlan::drawn` order), after [`TrialState::run`].
    pub fn drawn(&self) -> &[f64] {
        self.lanes.as_ref().map_or(&[], |p| &p.trials[0].values)
    }

    /// Runs one trial like [`TrialState::run`] (same draws, same figures)
    /// and calls `observe(k, state)` after each step k, when
    /// [`TrialState::unit_revenue`] reads every unit's revenue after it
    /// (`simulate history` records paths with it).
    pub fn run_observed(
        &mut self,
        plan: &Plan,
        seed: u64,
        trial: u64,
        mut observe: impl FnMut(usize, &TrialState),
    ) {
        self.run_watched(plan, seed, trial, |e, st| {
            if let Event::Stepped(k) = e {
                observe(k, st);
            }
            None::<()>
        });
    }

    /// The revenue run-rate R of `unit` under `policy` after the last step
    /// run; `None` once the unit has been sold.
    pub fn unit_revenue(&self, policy: usize, unit: usize) -> Option<f64> {
        let us = self.policies.get(policy)?.units.get(unit)?;
        is_set(us.held).then_some(us.r)
    }

    /// Runs one trial, stopping at the first step after which a revenue,
    /// a cash figure or a reported figure is not finite; says where. Used
    /// to explain an overflow the engine found (never on the hot path).
    pub fn diagnose(&mut self, plan: &Plan, seed: u64, trial: u64) -> Option<Overflow> {
        self.run_watched(plan, seed, trial, |e, st| match e {
            Event::Stepped(k) => st.overflow_after(k),
            Event::Recorded(k, hi) => st.value_overflow(plan, k, hi),
        })
    }

    /// Runs one trial, showing `watch` each event; stops at the first
    /// answer.
    fn run_watched<B>(
        &mut self,
        plan: &Plan,
        seed: u64,
        trial: u64,
        mut watch: impl FnMut(Event, &TrialState) -> Option<B>,
    ) -> Option<B> {
        let mut rng = f64::streams(seed, trial);
        let src = &mut Live::<f64>(&mut rng);
        self.run_with::<Scalar, _, _, B>((), plan, (seed, trial), (src, &mut All), &mut watch)
    }

    /// The first unit figure, or policy cash figure, that is not finite
    /// after step `k`.
    fn overflow_after(&self, k: usize) -> Option<Overflow> {
        for (p, st) in self.policies.iter().enumerate() {
            for (i, us) in st.units.iter().enumerate() {
                let bad = [
                    ("revenue", us.r),
                    ("cash flow", us.unit_cash),
                    ("exit proceeds", us.proceeds),
                ]
                .into_iter()
                .find(|(_, x)| !x.is_finite());
                if let Some((what, _)) = bad {
                    return Some(Overflow {
                        step: k,
                        policy: p,
                        unit: Some(i),
                        what,
                    });
                }
            }
            if !st.distributed.is_finite() || !st.war_chest.is_finite() {
                return Some(Overflow {
                    step: k,
                    policy: p,
                    unit: None,
                    what: "distributions",
                });
            }
        }
        None
    }

    /// The first policy whose value at horizon `hi` (after step `k`) is
    /// not finite.
    fn value_overflow(&self, plan: &Plan, k: usize, hi: usize) -> Option<Overflow> {
        for p in 0..plan.layout.policies {
            let v = self.out[plan.layout.index(p, hi, Metric::Value)];
            if !v.is_finite() {
                return Some(Overflow {
                    step: k,
                    policy: p,
                    unit: None,
                    what: "value",
                });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dist, Param, UnitFigure};

    /// Recording unit paths adds slots after the others and changes none
    /// of them; at a horizon the units' EBITA add up to the group's, and an
    /// exited unit's cumulative cash is its unit value.
    #[test]
    fn unit_paths_add_slots_and_agree_with_the_horizon_figures() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/reset.toml");
        let s = crate::scenario::load(&path).unwrap();
        let plain = Plan::new(&s);
        let plan = Plan::new(&s).with_unit_paths();
        assert!(plain.layout.unit_path_steps.is_empty() && !plan.layout.unit_path_steps.is_empty());
        let years = *s.horizons.last().unwrap() as usize;
        let spy = s.steps_per_year as usize;
        let want: Vec<usize> = (1..=years).map(|y| y * spy - 1).collect();
        assert_eq!(plan.layout.unit_path_steps, want);
        let l = &plan.layout;
        assert_eq!(
            l.len(),
            plain.layout.len() + l.policies * years * l.units * 2
        );
        let mut a = TrialState::new(&plain);
        let mut b = TrialState::new(&plan);
        let mut checked_exit = false;
        for trial in 0..20 {
            a.run(&plain, s.seed, trial);
            b.run(&plan, s.seed, trial);
            for (x, y) in a.out.iter().zip(&b.out) {
                assert_eq!(x.to_bits(), y.to_bits());
            }
            for (h, &years) in s.horizons.iter().enumerate() {
                let point = years as usize - 1;
                for p in 0..l.policies {
                    let mut ebita = 0.0;
                    for u in 0..l.units {
                        let e = b.out[l.unit_path_index(p, point, u, UnitFigure::Ebita)];
                        let cash = b.out[l.unit_path_index(p, point, u, UnitFigure::Cash)];
                        ebita += e;
                        if b.out[l.index(p, h, Metric::UnitRevenue(u))] == 0.0 {
                            assert_eq!(e, 0.0);
                            assert_eq!(cash, b.out[l.index(p, h, Metric::UnitValue(u))]);
                            checked_exit = true;
                        }
                    }
                    assert_eq!(ebita, b.out[l.index(p, h, Metric::Ebita)]);
                }
            }
        }
        assert!(checked_exit, "reset.toml sells units");
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
}
