//! One trial of the model contract, for every policy at once.
//!
//! The random numbers of a step are drawn once and applied to every policy
//! (common random numbers by construction). Everything that does not depend
//! on the draws is computed once per run in [`Plan`]; [`TrialState`] holds
//! the buffers one worker reuses for all its trials, so the step loop never
//! allocates.
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
//! above.

use rand::Rng;
use rand_distr::StandardNormal;

use super::draws::TrialParams;
use super::math;
use super::plan::{uplift_of_spend, DrawPlan, Plan, PolicyPlan};
use super::rng::trial_rng;
use crate::model::{Extra, Metric, UnitFigure};

/// One unit's state under one policy within a trial.
#[derive(Clone, Copy, Debug, Default)]
struct UnitState {
    r: f64,
    /// Discounted operating cash minus investment.
    unit_cash: f64,
    /// Discounted exit proceeds.
    proceeds: f64,
    /// This step's operating cash and requested investment.
    op: f64,
    req: f64,
    /// Step at whose end the unit exits (usize::MAX: never).
    exit_step: usize,
    /// Budget units are funded while the step is below this (the gate
    /// sets it to 0).
    funded_steps: usize,
    held: bool,
    /// Tracked runs only: discounted investment so far, and whether the
    /// gate has left the unit funded.
    spent: f64,
    gate_open: bool,
}

/// One policy's state within a trial.
#[derive(Clone, Debug)]
struct PolicyState {
    units: Vec<UnitState>,
    war_chest: f64,
    /// Sum of discounted distributions so far.
    distributed: f64,
    /// Sum of held revenue after the last step.
    revenue: f64,
}

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

/// The unit constants a trial runs on during one step: the plan's, or
/// the trial's own when it draws assumptions.
#[derive(Clone, Copy)]
struct View<'a> {
    revenue0: &'a [f64],
    draws: &'a [DrawPlan],
    margin: &'a [f64],
    policies: &'a [PolicyPlan],
    /// A per horizon and unit (see `Plan::held`).
    held: &'a [f64],
}

impl<'a> View<'a> {
    /// The constants of step `k`.
    fn of(plan: &'a Plan, params: Option<&'a TrialParams>, k: usize) -> View<'a> {
        match params {
            Some(t) => View {
                revenue0: &t.revenue0,
                draws: &t.draws,
                margin: &t.margin,
                policies: &t.policies,
                held: &t.held,
            },
            None => View {
                revenue0: &plan.revenue0,
                draws: &plan.draws,
                margin: &plan.margin,
                policies: plan.policies_at(k),
                held: &plan.held,
            },
        }
    }
}

/// A worker's reusable buffers; [`TrialState::run`] fills `out`.
#[derive(Clone, Debug)]
pub struct TrialState {
    /// The trial's own unit constants, in scenarios that draw
    /// assumptions or fade growth.
    params: Option<Box<TrialParams>>,
    multiple: Vec<f64>,
    factor: Vec<f64>,
    shock: Vec<f64>,
    policies: Vec<PolicyState>,
    /// The trial's figures, laid out by [`crate::model::Layout`].
    pub out: Vec<f64>,
}

impl TrialState {
    pub fn new(plan: &Plan) -> Self {
        TrialState {
            params: plan
                .params
                .varies()
                .then(|| Box::new(TrialParams::new(plan))),
            multiple: vec![0.0; plan.n_units],
            factor: vec![0.0; plan.n_factors],
            shock: vec![0.0; plan.n_units],
            policies: (0..plan.policies.len())
                .map(|_| PolicyState {
                    units: vec![UnitState::default(); plan.n_units],
                    war_chest: 0.0,
                    distributed: 0.0,
                    revenue: 0.0,
                })
                .collect(),
            out: vec![0.0; plan.layout.len()],
        }
    }

    /// Runs trial `trial` of `seed` and writes its figures to `self.out`.
    pub fn run(&mut self, plan: &Plan, seed: u64, trial: u64) {
        self.run_checked(plan, seed, trial, false, &mut |_, _| {});
    }

    /// The values trial `trial` drew for the plan's uncertain assumptions
    /// (in `ParamPlan::drawn` order), after [`TrialState::run`].
    pub fn drawn(&self) -> &[f64] {
        self.params.as_ref().map_or(&[], |p| &p.values)
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
        self.run_checked(plan, seed, trial, false, &mut observe);
    }

    /// The revenue run-rate R of `unit` under `policy` after the last step
    /// run; `None` once the unit has been sold.
    pub fn unit_revenue(&self, policy: usize, unit: usize) -> Option<f64> {
        let us = self.policies.get(policy)?.units.get(unit)?;
        us.held.then_some(us.r)
    }

    /// Runs one trial, stopping at the first step after which a revenue,
    /// a cash figure or a reported figure is not finite; says where. Used
    /// to explain an overflow the engine found (never on the hot path).
    pub fn diagnose(&mut self, plan: &Plan, seed: u64, trial: u64) -> Option<Overflow> {
        self.run_checked(plan, seed, trial, true, &mut |_, _| {})
    }

    fn run_checked(
        &mut self,
        plan: &Plan,
        seed: u64,
        trial: u64,
        check: bool,
        observe: &mut impl FnMut(usize, &TrialState),
    ) -> Option<Overflow> {
        // The trial's own constants, out of `self` while the trial runs.
        let mut params = self.params.take();
        if let Some(p) = params.as_deref_mut() {
            p.draw(plan, seed, trial);
        }
        let found = self.run_with(
            plan,
            &mut trial_rng(seed, trial),
            &mut params,
            check,
            observe,
        );
        if let Some(p) = params.as_deref() {
            let l = &plan.layout;
            for (d, x) in p.standardized(plan).enumerate() {
                self.out[l.drawn_index(d)] = x;
            }
            let last = l.horizons.saturating_sub(1);
            for d in 0..l.drawn.len() {
                let x = self.out[l.drawn_index(d)];
                for pol in 0..l.policies {
                    for m in [Metric::Value, Metric::DeltaValue] {
                        let y = self.out[l.index(pol, last, m)];
                        self.out[l.cross_index(d, pol, m)] = x * y;
                    }
                }
            }
        }
        self.params = params;
        found
    }

    fn run_with<R: Rng>(
        &mut self,
        plan: &Plan,
        rng: &mut R,
        params: &mut Option<Box<TrialParams>>,
        check: bool,
        observe: &mut impl FnMut(usize, &TrialState),
    ) -> Option<Overflow> {
        let view = View::of(plan, params.as_deref(), 0);
        // The exit-time uniforms, kept in `shock` until the first step
        // draws over them.
        for ((mult, u), (&median, &dispersion)) in self
            .multiple
            .iter_mut()
            .zip(self.shock.iter_mut())
            .zip(plan.multiple_median.iter().zip(&plan.multiple_dispersion))
        {
            let eta: f64 = rng.sample(StandardNormal);
            *mult = median * math::exp(dispersion * eta);
            *u = rng.random::<f64>();
        }
        for (pp, st) in view.policies.iter().zip(self.policies.iter_mut()) {
            st.war_chest = 0.0;
            st.distributed = 0.0;
            for (((us, up), &r0), &u) in st
                .units
                .iter_mut()
                .zip(&pp.units)
                .zip(view.revenue0)
                .zip(&self.shock)
            {
                *us = UnitState {
                    r: r0,
                    unit_cash: 0.0,
                    proceeds: 0.0,
                    op: 0.0,
                    req: 0.0,
                    exit_step: match up.exit {
                        Some((after, window)) => plan.exit_step(after + u * window),
                        None => usize::MAX,
                    },
                    funded_steps: up.budget_steps,
                    held: true,
                    spent: 0.0,
                    gate_open: true,
                };
            }
        }

        let n = plan.n_units;
        for k in 0..plan.steps {
            if k > 0 {
                if let Some(p) = params.as_deref_mut() {
                    // Growth that fades: this step's base growth.
                    p.set_growth(plan, k, false);
                }
            }
            let view = View::of(plan, params.as_deref(), k);
            self.draw_step(plan, view, rng);
            let margin = &view.margin[k * n..(k + 1) * n];
            for (pp, st) in view.policies.iter().zip(self.policies.iter_mut()) {
                step_policy(
                    plan,
                    pp,
                    st,
                    &self.shock,
                    &self.multiple,
                    margin,
                    view.revenue0,
                    k,
                );
            }
            observe(k, self);
            if check {
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
            }
            if let Some(hi) = plan.horizon_at[k] {
                self.record_horizon(plan, view, hi, k);
                if check {
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
                }
            }
            if let Some(pi) = plan.path_at[k] {
                for (p, st) in self.policies.iter().enumerate() {
                    self.out[plan.layout.path_index(p, pi)] = st.revenue;
                }
            }
            if let Some(ui) = plan.unit_path_at[k] {
                self.record_unit_path(plan, view, ui, k);
            }
        }
        None
    }

    fn record_unit_path(&mut self, plan: &Plan, view: View, point: usize, k: usize) {
        let n = plan.n_units;
        let margin = &view.margin[(k + 1) * n..(k + 2) * n];
        for (p, st) in self.policies.iter().enumerate() {
            let base = plan.layout.unit_path_index(p, point, 0, UnitFigure::Ebita);
            let out = &mut self.out[base..base + 2 * n];
            for ((us, &m), slot) in st.units.iter().zip(margin).zip(out.chunks_exact_mut(2)) {
                slot[0] = if us.held { us.r * m } else { 0.0 };
                slot[1] = us.unit_cash + us.proceeds;
            }
        }
    }

    fn draw_step<R: Rng>(&mut self, plan: &Plan, view: View, rng: &mut R) {
        for f in self.factor.iter_mut() {
            *f = rng.sample(StandardNormal);
        }
        let nf = plan.n_factors;
        let factor = &self.factor[..];
        for ((shock, dp), load) in self.shock.iter_mut().zip(view.draws).zip(
            plan.loadings
                .chunks_exact(nf.max(1))
                .chain(std::iter::repeat(&[][..])),
        ) {
            let eps: f64 = rng.sample(StandardNormal);
            let mut z = dp.idiosyncratic * eps;
            for (l, f) in load.iter().zip(factor) {
                z += l * f;
            }
            let mut log_shock = dp.drift + dp.diffusion * z;
            if let Some((draw, mean, stdev)) = &dp.jumps {
                let count = draw.count(rng);
                if count > 0.0 {
                    let z: f64 = rng.sample(StandardNormal);
                    log_shock += count * mean + stdev * count.sqrt() * z;
                }
            }
            *shock = math::exp(log_shock);
        }
    }

    fn record_horizon(&mut self, plan: &Plan, view: View, hi: usize, k: usize) {
        let layout = &plan.layout;
        let df = plan.discount[k];
        let n = plan.n_units;
        let margin = &view.margin[(k + 1) * n..(k + 2) * n];
        for (p, st) in self.policies.iter().enumerate() {
            let mut held_value = 0.0;
            let mut revenue = 0.0;
            let mut ebita = 0.0;
            let (head, unit_value, unit_revenue) = layout.horizon_slots(&mut self.out, p, hi);
            for (i, us) in st.units.iter().enumerate() {
                if us.held {
                    let v = match &plan.fade[i] {
                        None => us.r * self.multiple[i],
                        Some(_) => us.r * view.held[hi * n + i],
                    };
                    held_value += v;
                    revenue += us.r;
                    ebita += us.r * margin[i];
                    unit_value[i] = us.unit_cash + v * df;
                    unit_revenue[i] = us.r;
                } else {
                    unit_value[i] = us.unit_cash + us.proceeds;
                    unit_revenue[i] = 0.0;
                }
            }
            head[0] = st.distributed + (st.war_chest + held_value) * df;
            head[1] = revenue;
            head[2] = ebita;
        }
        let baseline = self.out[layout.index(plan.baseline, hi, Metric::Value)];
        for p in 0..layout.policies {
            let v = self.out[layout.index(p, hi, Metric::Value)];
            self.out[layout.index(p, hi, Metric::DeltaValue)] = v - baseline;
        }
        for (t, tr) in layout.tracked.iter().enumerate() {
            let at = |p: usize, m: Metric| self.out[layout.index(p, hi, m)];
            let unit = Metric::UnitValue(tr.unit);
            let unit_gain = at(tr.policy, unit) - at(tr.reference, unit);
            let group_gain = at(tr.policy, Metric::Value) - at(tr.reference, Metric::Value);
            let us = &self.policies[tr.policy].units[tr.unit];
            for (extra, x) in [
                (Extra::UnitGain, unit_gain),
                (Extra::GroupGain, group_gain),
                (Extra::SpendPv, us.spent),
                (Extra::GateOpen, if us.gate_open { 1.0 } else { 0.0 }),
            ] {
                self.out[layout.extra_index(t, hi, extra)] = x;
            }
        }
    }
}

/// Steps 1-7 of the model contract for one policy.
#[inline]
#[allow(clippy::too_many_arguments)]
fn step_policy(
    plan: &Plan,
    pp: &PolicyPlan,
    st: &mut PolicyState,
    shock: &[f64],
    multiple: &[f64],
    margin: &[f64],
    revenue0: &[f64],
    k: usize,
) {
    let dt = plan.dt;
    // 1-2. Operating cash and requested investment.
    let mut sum_op = 0.0;
    let mut sum_req = 0.0;
    for ((us, up), &m) in st.units.iter_mut().zip(&pp.units).zip(margin) {
        if !us.held {
            continue;
        }
        let r = us.r;
        let op = if up.sales_to_capital > 0.0 {
            // Valued by "fade": the base growth costs capital (v3).
            r * m * dt - r * up.growth_cost
        } else {
            r * m * dt
        };
        us.op = op;
        sum_op += op;
        let req = if !up.is_budget {
            up.intensity * r * dt
        } else if k < us.funded_steps {
            up.budget_dt
        } else {
            0.0
        };
        us.req = req;
        sum_req += req;
    }
    // 3. Budget cap and war chest.
    let from_cash = pp.reinvest * sum_op.max(0.0);
    let cap = from_cash + st.war_chest;
    let scale = if sum_req > cap { cap / sum_req } else { 1.0 };
    let disc = plan.discount[k];
    let mut sum_inv = 0.0;
    let mut sum_proceeds = 0.0;
    let mut revenue = 0.0;
    for (((us, up), &shock), (&mult, &r0)) in st
        .units
        .iter_mut()
        .zip(&pp.units)
        .zip(shock)
        .zip(multiple.iter().zip(revenue0))
    {
        if !us.held {
            continue;
        }
        let inv = us.req * scale;
        sum_inv += inv;
        // 4. Growth.
        let gf = if inv <= 0.0 || up.max_uplift == 0.0 {
            up.gf_idle
        } else if scale == 1.0 && !up.is_budget {
            up.gf_full
        } else {
            let u = uplift_of_spend(up.max_uplift, up.half_saturation, inv, us.r * dt);
            plan.growth_factor.eval(up.growth + u, dt)
        };
        if plan.track {
            us.spent += inv * disc;
        }
        us.unit_cash += (us.op - inv) * disc;
        us.r *= gf * shock;
        // 5. Margin: see `Plan::margin`.
        // 6. Exit.
        if k == us.exit_step {
            let proceeds = us.r * mult * up.exit_keep;
            us.held = false;
            us.proceeds = proceeds * disc;
            sum_proceeds += proceeds;
            continue;
        }
        // 7. Gate.
        if k == up.gate_step && us.r / r0 < up.gate_min_multiple {
            us.funded_steps = 0;
            us.gate_open = false;
        }
        revenue += us.r;
    }
    let used = (sum_inv - from_cash).max(0.0);
    st.war_chest = (st.war_chest - used).max(0.0) + pp.recycle * sum_proceeds;
    let distribution = sum_op - sum_inv + used + (1.0 - pp.recycle) * sum_proceeds;
    st.distributed += distribution * disc;
    st.revenue = revenue;
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
