//! The unit constants of trials that run on their own (uncertain
//! assumptions or a growth fade, `super::draws`): one trial's
//! ([`TrialParams`], the plan's with the drawn values in place, rebuilt
//! per trial and, for units whose growth fades, per step), laid out per
//! lane ([`LaneParams`]: each lane's `TrialParams`, transposed), and the
//! margins a step reads ([`Margins`]: the plan's, the same in every lane,
//! or each lane's own).

use super::draws::UnitBase;
use super::plan::Plan;
use super::simd::{LaneStore, Vf64};
use super::terms::{held_of_unit, margin_path, DrawPlan, PolicyPlan, Response, UnitPlan};
use crate::model::Param;

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
    pub(super) fn new(plan: &Plan) -> TrialParams {
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
    /// depends on them, with the formulas `Plan::new` uses; the drawn
    /// values, growth terms and held values of unit `only` alone when
    /// given (a solo replay reads no other unit's: see
    /// [`LaneParams::draw`]).
    pub(super) fn draw(&mut self, plan: &Plan, seed: u64, trial: u64, only: Option<usize>) {
        let pp = &plan.params;
        self.units.copy_from_slice(&pp.base);
        pp.draw_values(seed, trial, (&mut self.values, &mut self.scores), only);
        for (d, &v) in pp.drawn.iter().zip(&self.values) {
            self.units[d.unit].set(d.param, v);
            if d.also_target {
                self.units[d.unit].set(Param::TargetMargin, v);
            }
        }
        let dt = plan.dt;
        for (i, u) in self.units.iter().enumerate() {
            self.revenue0[i] = u.get(Param::Revenue);
            self.draws[i].set_volatility(u.get(Param::Volatility), dt);
        }
        let of = |p: Param| -> Vec<f64> { self.units.iter().map(|u| u.get(p)).collect() };
        let (start, speed, target) = (
            of(Param::Margin),
            of(Param::MarginSpeed),
            of(Param::TargetMargin),
        );
        margin_path(&mut self.margin, &start, &speed, &target, dt);
        self.set_growth(plan, 0, true, only);
        self.set_held(plan, only);
    }

    /// A of each unit valued by "fade" whose drawn keys enter it, from
    /// this trial's growth and margin path (the plan's formula).
    fn set_held(&mut self, plan: &Plan, only: Option<usize>) {
        let pp = &plan.params;
        if !(0..plan.n_units).any(|i| pp.draws_held(i)) {
            return;
        }
        let k0s = &plan.horizon_steps;
        for (i, (u, f)) in self.units.iter().zip(&plan.fade).enumerate() {
            let Some(f) = f.as_ref().filter(|_| pp.draws_held(i) && is(only, i)) else {
                continue;
            };
            let speed = (u.get(Param::TargetMargin), u.get(Param::MarginSpeed));
            let growth = |t| pp.base_growth(i, u.get(Param::Growth), t);
            let n = plan.n_units;
            held_of_unit(&mut self.held, i, n, k0s, f, &self.margin, speed, growth);
        }
    }

    /// The growth terms of step `k` (every unit when `all`, else only the
    /// units whose growth fades; of those, unit `only` alone when given)
    /// of the units that draw a key: a unit that draws none has the
    /// plan's terms, which [`LaneParams`] lays out from the plan.
    pub(super) fn set_growth(&mut self, plan: &Plan, k: usize, all: bool, only: Option<usize>) {
        let t = k as f64 / plan.steps_per_year;
        let pp = &plan.params;
        for (i, u) in self.units.iter().enumerate() {
            if (!all && !pp.fades(i)) || !is(only, i) || !pp.draws_unit(i) {
                continue;
            }
            let growth = pp.base_growth(i, u.get(Param::Growth), t);
            for pol in self.policies.iter_mut() {
                pol.units[i].set_growth(growth, u.response(), plan.growth_factor, plan.dt);
            }
        }
    }

    /// Per drawn entry: (x - mean) / stdev of the distribution (0 for a
    /// constant), the value the layout records.
    pub(super) fn standardized<'a>(&'a self, plan: &'a Plan) -> impl Iterator<Item = f64> + 'a {
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

/// Step 4's terms of one unit under one policy, per lane (see
/// `UnitPlan`).
#[derive(Clone, Copy, Debug)]
pub(super) struct GrowthLanes<L> {
    pub(super) growth: L,
    pub(super) gf_idle: L,
    pub(super) gf_full: L,
    pub(super) response: Response<L>,
    /// G / R of a unit valued by "fade" (see `UnitPlan::growth_cost`).
    pub(super) growth_cost: L,
}

impl<L: LaneStore> GrowthLanes<L> {
    /// Lane `j` from `up`'s terms.
    #[inline]
    fn set(&mut self, j: usize, up: &UnitPlan) {
        self.growth.set(j, up.growth);
        self.gf_idle.set(j, up.gf_idle);
        self.gf_full.set(j, up.gf_full);
        self.growth_cost.set(j, up.growth_cost);
        up.response.lay_out(&mut self.response, j);
    }

    /// Every lane from `up`'s terms.
    fn set_all(&mut self, up: &UnitPlan) {
        for j in 0..L::N {
            self.set(j, up);
        }
    }
}

impl<L: LaneStore> Default for GrowthLanes<L> {
    fn default() -> Self {
        let z = L::splat(0.0);
        GrowthLanes {
            growth: z,
            gf_idle: z,
            gf_full: z,
            response: Response::zero(),
            growth_cost: z,
        }
    }
}

/// The unit constants of each lane's trial: the lanes' `TrialParams`, and
/// what the kernel reads of them, lane-major.
#[derive(Clone, Debug)]
pub(super) struct LaneParams<L> {
    pub(super) trials: Vec<TrialParams>,
    /// Per unit: revenue at t = 0.
    pub(super) r0: Vec<L>,
    /// Per unit: -volatility^2 dt / 2 and volatility sqrt(dt).
    pub(super) drift: Vec<L>,
    pub(super) diffusion: Vec<L>,
    /// As `Plan::margin`, a lane per entry.
    pub(super) margin: Vec<L>,
    /// Per policy, per unit: this step's growth terms.
    pub(super) growth: Vec<Vec<GrowthLanes<L>>>,
    /// As `Plan::held`: A per horizon and unit, a lane per entry.
    pub(super) held: Vec<L>,
    /// Whether some unit's growth fades (its terms change per step).
    fading: bool,
}

impl<L: LaneStore> LaneParams<L> {
    /// The lanes' constants of `plan`, when its trials have their own.
    pub(super) fn of(plan: &Plan) -> Option<Box<LaneParams<L>>> {
        plan.params
            .varies()
            .then(|| Box::new(LaneParams::new(plan)))
    }

    fn new(plan: &Plan) -> LaneParams<L> {
        let n = plan.n_units;
        let z = L::splat(0.0);
        let mut lanes = LaneParams {
            trials: (0..L::N).map(|_| TrialParams::new(plan)).collect(),
            r0: vec![z; n],
            drift: vec![z; n],
            diffusion: vec![z; n],
            margin: vec![z; plan.margin.len()],
            growth: vec![vec![GrowthLanes::default(); n]; plan.policies.len()],
            held: vec![z; plan.held.len()],
            fading: (0..n).any(|i| plan.params.fades(i)),
        };
        // A unit that draws no key and whose growth does not fade has the
        // plan's growth terms in every trial and step: laid out once.
        let pp = &plan.params;
        for (gp, pol) in lanes.growth.iter_mut().zip(&plan.policies) {
            for (i, (g, up)) in gp.iter_mut().zip(&pol.units).enumerate() {
                if !pp.draws_unit(i) && !pp.fades(i) {
                    g.set_all(up);
                }
            }
        }
        lanes
    }

    /// Draws the assumptions of trials `first ..` (one a lane) and lays
    /// out what the kernel reads. With `only`, for a solo replay of that
    /// unit (`super::solo`), which reads no other unit's constants: its
    /// drawn values alone (the others NaN, and so the constants derived
    /// from them), its growth terms and held values alone (per step the
    /// costliest constants; the others left as they were). Its tests
    /// compare every figure a solo replay gives with a whole run's.
    pub(super) fn draw(&mut self, plan: &Plan, seed: u64, first: u64, only: Option<usize>) {
        for (j, tp) in self.trials.iter_mut().enumerate() {
            tp.draw(plan, seed, first.wrapping_add(j as u64), only);
        }
        for (j, tp) in self.trials.iter().enumerate() {
            for (i, &r0) in tp.revenue0.iter().enumerate() {
                self.r0[i].set(j, r0);
                self.drift[i].set(j, tp.draws[i].drift);
                self.diffusion[i].set(j, tp.draws[i].diffusion);
            }
            for (m, &x) in self.margin.iter_mut().zip(&tp.margin) {
                m.set(j, x);
            }
            for (a, &x) in self.held.iter_mut().zip(&tp.held) {
                a.set(j, x);
            }
        }
        self.lay_out_growth(plan, 0, true, only);
    }

    /// Step `k`'s growth terms (they change for units whose growth
    /// fades), of unit `only` alone when given (see [`LaneParams::draw`]).
    pub(super) fn set_growth(&mut self, plan: &Plan, k: usize, only: Option<usize>) {
        if !self.fading || only.is_some_and(|j| !plan.params.fades(j)) {
            return;
        }
        for tp in self.trials.iter_mut() {
            tp.set_growth(plan, k, false, only);
        }
        self.lay_out_growth(plan, k, false, only);
    }

    /// Step `k`'s growth terms of every unit (`all`), or of those whose
    /// growth fades; of unit `only` alone when given. A unit that draws a
    /// key has each lane's trial's; one that draws none, the plan's of
    /// the step in every lane (the same numbers: `Plan::new` derives them
    /// with the formulas a trial does, from the same keys), or nothing to
    /// do when its growth does not fade either (laid out once, by `new`).
    fn lay_out_growth(&mut self, plan: &Plan, k: usize, all: bool, only: Option<usize>) {
        let pp = &plan.params;
        let at = plan.policies_at(k);
        for (p, gp) in self.growth.iter_mut().enumerate() {
            for (i, g) in gp.iter_mut().enumerate() {
                if (!all && !pp.fades(i)) || !is(only, i) {
                    continue;
                }
                if !pp.draws_unit(i) {
                    if pp.fades(i) {
                        g.set_all(&at[p].units[i]);
                    }
                    continue;
                }
                for (j, tp) in self.trials.iter().enumerate() {
                    g.set(j, &tp.policies[p].units[i]);
                }
            }
        }
    }
}

/// The margins a step reads: the plan's (the same in every lane) or each
/// lane's own.
#[derive(Clone, Copy)]
pub(super) enum Margins<'a, L> {
    Plan(&'a [f64]),
    Lanes(&'a [L]),
}

impl<L: LaneStore> Margins<'_, L> {
    /// Row `row` (a step; `steps` for after the last) of `plan`'s margins
    /// or `lanes`'.
    pub(super) fn row<'a>(
        plan: &'a Plan,
        lanes: Option<&'a LaneParams<L>>,
        row: usize,
    ) -> Margins<'a, L> {
        let n = plan.n_units;
        match lanes {
            Some(l) => Margins::Lanes(&l.margin[row * n..(row + 1) * n]),
            None => Margins::Plan(&plan.margin[row * n..(row + 1) * n]),
        }
    }

    #[inline(always)]
    pub(super) fn get<V: Vf64<Lane = L>>(self, t: V::Token, i: usize) -> V {
        match self {
            Margins::Plan(m) => V::splat(t, m[i]),
            Margins::Lanes(m) => V::load(t, &m[i]),
        }
    }
}

/// Whether unit `i` is computed when `only` is the one unit computed
/// (None: every unit).
#[inline]
fn is(only: Option<usize>, i: usize) -> bool {
    only.is_none_or(|j| j == i)
}
