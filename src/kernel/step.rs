//! Steps 1-7 of the model contract for one policy: the one definition of
//! the step, for one trial (`Scalar`, width 1) and for a batch of lanes
//! alike (`super::simd`).
//!
//! Every lane performs the same floating-point operations in the same
//! order. Where a unit has been sold in a lane, the lane adds zero
//! instead of its figures, which leaves every sum unchanged (sums start
//! at +0, so they are never -0).

use super::lane_params::{GrowthLanes, Margins};
use super::math::GrowthFactor;
use super::plan::Plan;
use super::simd::{self, LaneStore, Vf64, TRUE};
use super::solo::Units;
use super::terms::{PolicyPlan, UnitPlan};

/// One unit's state under one policy, per lane.
#[derive(Clone, Copy, Debug)]
pub(super) struct UnitLanes<L> {
    pub(super) r: L,
    /// Discounted operating cash minus investment.
    pub(super) unit_cash: L,
    /// Discounted exit proceeds.
    pub(super) proceeds: L,
    /// This step's operating cash and requested investment.
    pub(super) op: L,
    pub(super) req: L,
    /// Step at whose end the unit exits (infinity: never).
    pub(super) exit_step: L,
    /// Budget units are funded while the step is below this (the gate
    /// sets it to 0).
    pub(super) funded_steps: L,
    /// Mask: the unit is still held.
    pub(super) held: L,
}

impl<L: LaneStore> Default for UnitLanes<L> {
    fn default() -> Self {
        let z = L::splat(0.0);
        UnitLanes {
            r: z,
            unit_cash: z,
            proceeds: z,
            op: z,
            req: z,
            exit_step: L::splat(f64::INFINITY),
            funded_steps: z,
            held: L::splat(TRUE),
        }
    }
}

/// One policy's state, per lane.
#[derive(Clone, Debug)]
pub(super) struct PolicyLanes<L> {
    pub(super) units: Vec<UnitLanes<L>>,
    pub(super) war_chest: L,
    /// Sum of discounted distributions so far.
    pub(super) distributed: L,
    /// Held revenue after the last step.
    pub(super) revenue: L,
    /// Tracked runs only, per unit: discounted investment so far, and the
    /// mask of lanes whose gate left the unit funded.
    pub(super) spent: Vec<L>,
    pub(super) gate_open: Vec<L>,
}

impl<L: LaneStore> PolicyLanes<L> {
    pub(super) fn new(n_units: usize) -> Self {
        let z = L::splat(0.0);
        PolicyLanes {
            units: vec![UnitLanes::default(); n_units],
            war_chest: z,
            distributed: z,
            revenue: z,
            spent: vec![z; n_units],
            gate_open: vec![L::splat(TRUE); n_units],
        }
    }
}

/// What a policy's step reads besides the plan: every unit's shock and
/// multiple, the step's margins, and, when the lanes have their own unit
/// constants, the policy's growth terms and the units' revenue at t = 0.
pub(super) struct StepInputs<'a, L> {
    pub(super) shock: &'a [L],
    pub(super) multiple: &'a [L],
    pub(super) margin: Margins<'a, L>,
    pub(super) own: Option<&'a [GrowthLanes<L>]>,
    pub(super) own_r0: Option<&'a [L]>,
}

/// Steps 1-7 of the model contract for one policy, every lane.
/// `TRACK`: follow each unit's investment and gate. `units`: which units
/// are computed (every one but in a solo replay, see `super::solo`).
#[inline(always)]
pub(super) fn step_policy<V: Vf64, U: Units<V::Lane>, const TRACK: bool>(
    t: V::Token,
    plan: &Plan,
    pp: &PolicyPlan,
    st: &mut PolicyLanes<V::Lane>,
    inputs: &StepInputs<'_, V::Lane>,
    k: usize,
    units: &mut U,
) {
    let zero = V::splat(t, 0.0);
    let (sum_op, sum_req) = if U::ALL {
        request::<V, U>(t, plan, pp, st, inputs, k, units)
    } else {
        // A solo replay: its unit, and the others' sums as recorded.
        let j = units.unit();
        let own = request_unit::<V>(t, plan, &pp.units[j], &mut st.units[j], inputs, k, j);
        units.request_sums(t, own)
    };
    // 3. Budget cap and war chest.
    let war_chest = V::load(t, &st.war_chest);
    let from_cash = V::splat(t, pp.reinvest).mul(sum_op.max(zero));
    let cap = from_cash.add(war_chest);
    let scaled = cap.lt(sum_req);
    let any_scaled = scaled.any();
    let scale = if any_scaled {
        V::select(scaled, cap.div(sum_req), V::splat(t, 1.0))
    } else {
        V::splat(t, 1.0)
    };
    units.keep_scale(scale);
    let budget = Budget { scale, any_scaled };
    let (sum_inv, sum_proceeds) = if U::ALL {
        grow::<V, U, TRACK>(t, plan, pp, st, inputs, budget, k, units)
    } else {
        let j = units.unit();
        let ins = (&inputs.shock[j], &inputs.multiple[j], plan.revenue0[j]);
        let track = (&mut st.spent[j], &mut st.gate_open[j]);
        let us = &mut st.units[j];
        let (inv, proceeds, _) =
            grow_unit::<V, TRACK>(t, plan, &pp.units[j], us, ins, inputs, budget, k, j, track);
        // The held revenue is not followed (see `super::solo`).
        units.grow_sums(t, (inv, proceeds))
    };
    let used = sum_inv.sub(from_cash).max(zero);
    let recycle = V::splat(t, pp.recycle);
    war_chest
        .sub(used)
        .max(zero)
        .add(recycle.mul(sum_proceeds))
        .store(&mut st.war_chest);
    let distribution = sum_op
        .sub(sum_inv)
        .add(used)
        .add(V::splat(t, 1.0 - pp.recycle).mul(sum_proceeds));
    let disc = V::splat(t, plan.discount[k]);
    V::load(t, &st.distributed)
        .add(distribution.mul(disc))
        .store(&mut st.distributed);
}

/// Steps 1-2: every held unit's operating cash and requested investment
/// (kept in its state); their sums.
#[inline(always)]
fn request<V: Vf64, U: Units<V::Lane>>(
    t: V::Token,
    plan: &Plan,
    pp: &PolicyPlan,
    st: &mut PolicyLanes<V::Lane>,
    inputs: &StepInputs<'_, V::Lane>,
    k: usize,
    units: &mut U,
) -> (V, V) {
    let zero = V::splat(t, 0.0);
    let mut sum_op = zero;
    let mut sum_req = zero;
    for (i, (us, up)) in st.units.iter_mut().zip(&pp.units).enumerate() {
        let (op, req) = request_unit::<V>(t, plan, up, us, inputs, k, i);
        units.keep_request((sum_op, sum_req), (op, req));
        sum_op = sum_op.add(op);
        sum_req = sum_req.add(req);
    }
    (sum_op, sum_req)
}

/// Steps 1-2 of unit `i`: its operating cash and requested investment
/// (0 where it is sold), kept in its state.
#[inline(always)]
fn request_unit<V: Vf64>(
    t: V::Token,
    plan: &Plan,
    up: &UnitPlan,
    us: &mut UnitLanes<V::Lane>,
    inputs: &StepInputs<'_, V::Lane>,
    k: usize,
    i: usize,
) -> (V, V) {
    let dt = V::splat(t, plan.dt);
    let zero = V::splat(t, 0.0);
    let r = V::load(t, &us.r);
    let mut op = r.mul(inputs.margin.get::<V>(t, i)).mul(dt);
    if up.sales_to_capital > 0.0 {
        // Valued by "fade": the base growth costs capital (v3).
        let cost = match inputs.own {
            Some(g) => V::load(t, &g[i].growth_cost),
            None => V::splat(t, up.growth_cost),
        };
        op = op.sub(r.mul(cost));
    }
    let mut req = if up.is_budget {
        let funded = V::splat(t, k as f64).lt(V::load(t, &us.funded_steps));
        V::select(funded, V::splat(t, up.budget_dt), zero)
    } else {
        V::splat(t, up.intensity).mul(r).mul(dt)
    };
    if up.exit.is_some() {
        let h = V::load(t, &us.held);
        op = V::select(h, op, zero);
        req = V::select(h, req, zero);
    }
    op.store(&mut us.op);
    req.store(&mut us.req);
    (op, req)
}

/// Step 3's outcome: the share of every request met, and whether any
/// lane's is below 1.
#[derive(Clone, Copy)]
struct Budget<V> {
    scale: V,
    any_scaled: bool,
}

/// Steps 4-7 of every unit: investment, growth, exit and gate; the sums
/// of investment and of exit proceeds (the policy's held revenue is kept
/// in its state).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn grow<V: Vf64, U: Units<V::Lane>, const TRACK: bool>(
    t: V::Token,
    plan: &Plan,
    pp: &PolicyPlan,
    st: &mut PolicyLanes<V::Lane>,
    inputs: &StepInputs<'_, V::Lane>,
    budget: Budget<V>,
    k: usize,
    units: &mut U,
) -> (V, V) {
    let zero = V::splat(t, 0.0);
    let mut sum_inv = zero;
    let mut sum_proceeds = zero;
    let mut revenue = zero;
    for (i, ((((us, up), shock), (mult, &r0)), track)) in st
        .units
        .iter_mut()
        .zip(&pp.units)
        .zip(inputs.shock)
        .zip(inputs.multiple.iter().zip(&plan.revenue0))
        .zip(st.spent.iter_mut().zip(st.gate_open.iter_mut()))
        .enumerate()
    {
        let ins = (shock, mult, r0);
        let (inv, proceeds, held_revenue) =
            grow_unit::<V, TRACK>(t, plan, up, us, ins, inputs, budget, k, i, track);
        units.keep_grow((sum_inv, sum_proceeds), (inv, proceeds));
        sum_inv = sum_inv.add(inv);
        // A unit never sold has +0 proceeds: adding them leaves the sum
        // (never -0, see the module documentation) as it is, and saves
        // a branch per unit whose pattern a replay of another plan
        // would have to learn again.
        sum_proceeds = sum_proceeds.add(proceeds);
        revenue = revenue.add(held_revenue);
    }
    revenue.store(&mut st.revenue);
    (sum_inv, sum_proceeds)
}

/// Steps 4-7 of unit `i` (its shock, exit multiple and revenue at t = 0
/// in `ins`; `track`: its discounted investment so far and gate mask, in
/// a tracked run): its investment, its exit proceeds this step (0 where
/// none, and for a unit never sold) and its revenue if still held.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn grow_unit<V: Vf64, const TRACK: bool>(
    t: V::Token,
    plan: &Plan,
    up: &UnitPlan,
    us: &mut UnitLanes<V::Lane>,
    (shock, mult, r0): (&V::Lane, &V::Lane, f64),
    inputs: &StepInputs<'_, V::Lane>,
    budget: Budget<V>,
    k: usize,
    i: usize,
    (spent, gate_open): (&mut V::Lane, &mut V::Lane),
) -> (V, V, V) {
    let zero = V::splat(t, 0.0);
    let disc = V::splat(t, plan.discount[k]);
    let r = V::load(t, &us.r);
    let inv = V::load(t, &us.req).mul(budget.scale);
    // 4. Growth.
    let own = inputs.own.map(|g| &g[i]);
    let gf = growth(plan, up, own, r, inv, budget);
    if TRACK {
        V::load(t, spent).add(inv.mul(disc)).store(spent);
    }
    // 5. Margin: see `Plan::margin`.
    let cash = V::load(t, &us.unit_cash);
    let new_cash = cash.add(V::load(t, &us.op).sub(inv).mul(disc));
    let new_r = r.mul(gf.mul(V::load(t, shock)));
    if up.exit.is_none() {
        new_cash.store(&mut us.unit_cash);
        new_r.store(&mut us.r);
        // 7. Gate.
        if k == up.gate_step {
            let r0 = inputs.own_r0.map_or(V::splat(t, r0), |l| V::load(t, &l[i]));
            let failed = new_r.div(r0).lt(V::splat(t, up.gate_min_multiple));
            // select(failed, 0, funded) as a bit mask (not a masked
            // store).
            failed
                .andnot(V::load(t, &us.funded_steps))
                .store(&mut us.funded_steps);
            if TRACK {
                failed
                    .andnot(V::load(t, &V::Lane::splat(TRUE)))
                    .store(gate_open);
            }
        }
        (inv, zero, new_r)
    } else {
        // 6. Exit.
        let h = V::load(t, &us.held);
        let exits = h.and(V::splat(t, k as f64).eq(V::load(t, &us.exit_step)));
        let proceeds = new_r.mul(V::load(t, mult)).mul(V::splat(t, up.exit_keep));
        V::select(h, new_cash, cash).store(&mut us.unit_cash);
        V::select(h, new_r, r).store(&mut us.r);
        // proceeds is 0 until the (single) exit, so adding is the
        // same as selecting, and compiles to a plain store (a masked
        // store is slow on some cores).
        V::load(t, &us.proceeds)
            .add(V::select(exits, proceeds.mul(disc), zero))
            .store(&mut us.proceeds);
        let still = exits.andnot(h);
        still.store(&mut us.held);
        (
            inv,
            V::select(exits, proceeds, zero),
            V::select(still, new_r, zero),
        )
    }
}

/// (1 + g)^dt of every lane, the same bits as `GrowthFactor::eval`.
#[inline(always)]
pub(super) fn growth_factor_v<V: Vf64>(gfn: GrowthFactor, g: V, dt: f64) -> V {
    let t = g.token();
    match gfn {
        GrowthFactor::Roots(j) => {
            let mut y = V::splat(t, 1.0).add(g);
            for _ in 0..j {
                y = y.sqrt();
            }
            y
        }
        GrowthFactor::ExpLog1p => {
            let mut a = V::Lane::splat(0.0);
            g.store(&mut a);
            simd::exp(V::load(t, &a.map(|x| dt * libm::log1p(x))))
        }
    }
}

/// The growth factor (1 + g)^dt of one unit in every lane (step 4): idle
/// when nothing is invested (or there is no uplift), the precomputed
/// factor when an intensity request is met in full, else
/// growth plus the uplift of the spend (`Response::uplift_lanes`).
/// `own`: the lanes' own growth terms, in place of `up`'s (see
/// `LaneParams`).
#[inline(always)]
fn growth<V: Vf64>(
    plan: &Plan,
    up: &UnitPlan,
    own: Option<&GrowthLanes<V::Lane>>,
    r: V,
    inv: V,
    budget: Budget<V>,
) -> V {
    let t = r.token();
    let zero = V::splat(t, 0.0);
    let of = |x: f64, lanes: fn(&GrowthLanes<V::Lane>) -> &V::Lane| match own {
        Some(g) => V::load(t, lanes(g)),
        None => V::splat(t, x),
    };
    let (idle, full) = (
        of(up.gf_idle, |g| &g.gf_idle),
        of(up.gf_full, |g| &g.gf_full),
    );
    let max_uplift = of(up.response.max_uplift, |g| &g.response.max_uplift);
    // Lanes with no uplift take `idle`, as when they invest nothing.
    let no_investment = match own {
        None if up.response.max_uplift == 0.0 => return idle,
        None => inv.le(zero),
        Some(_) => {
            let no_uplift = max_uplift.eq(zero);
            if no_uplift.all() {
                return idle;
            }
            V::select(no_uplift, no_uplift, inv.le(zero))
        }
    };
    if !up.is_budget && !budget.any_scaled {
        // Every lane's request is met in full.
        return V::select(no_investment, idle, full);
    }
    if no_investment.all() {
        // An unfunded (or gated) budget unit in every lane.
        return idle;
    }
    let r_dt = r.mul(V::splat(t, plan.dt));
    let uplift = up
        .response
        .uplift_lanes(own.map(|g| &g.response), max_uplift, inv, r_dt);
    // Lanes that invest nothing take `idle` below; 0 keeps g sane there.
    let g = of(up.growth, |g| &g.growth).add(V::select(no_investment, zero, uplift));
    let general = growth_factor_v(plan.growth_factor, g, plan.dt);
    let met = if up.is_budget {
        zero
    } else {
        budget.scale.eq(V::splat(t, 1.0))
    };
    V::select(no_investment, idle, V::select(met, full, general))
}
