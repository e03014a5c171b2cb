//! The terms of one unit and one policy that the step reads, and the
//! formulas that make them (`UnitPlan::set_growth`, [`margin_path`],
//! [`held_of_unit`]): what a run computes once (`super::plan`) and a trial
//! with drawn assumptions computes again for itself
//! (`super::lane_params`).

use rand_distr::Poisson;

use super::math::GrowthFactor;
use super::simd::{LaneStore, Vf64};
use super::valuation::{self, FadePlan};
use crate::model::Param;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum JumpDraw {
    Inversion { lambda: f64, p0: f64 },
    Library(Poisson<f64>),
}

/// The Poisson(lambda) count whose CDF first exceeds `u` (p0 = e^-lambda).
#[inline(always)]
pub(super) fn inversion_count(u: f64, lambda: f64, p0: f64) -> f64 {
    let mut n = 0u32;
    let mut p = p0;
    let mut cdf = p;
    while u >= cdf && n < 10_000 {
        n += 1;
        p *= lambda / n as f64;
        cdf += p;
        if p == 0.0 {
            break;
        }
    }
    n as f64
}

/// The draw-side constants of one unit (shared by every policy).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct DrawPlan {
    /// -volatility^2 dt / 2.
    pub(super) drift: f64,
    /// volatility sqrt(dt).
    pub(super) diffusion: f64,
    /// sqrt(1 - sum of squared loadings).
    pub(super) idiosyncratic: f64,
    /// (how the count is drawn, mean, stdev) for units with jumps.
    pub(super) jumps: Option<(JumpDraw, f64, f64)>,
}

impl DrawPlan {
    /// The drift and diffusion of a unit with volatility `v`.
    pub(super) fn set_volatility(&mut self, v: f64, dt: f64) {
        self.drift = -v * v * dt / 2.0;
        self.diffusion = v * dt.sqrt();
    }
}

/// One unit's terms under one policy (equal: bit for bit, see the
/// `PartialEq` below).
#[derive(Clone, Copy, Debug)]
pub(super) struct UnitPlan {
    /// Intensity units: intensity (investment / revenue per year).
    pub(super) intensity: f64,
    /// Budget units (innovation): budget x dt.
    pub(super) budget_dt: f64,
    /// Budget units: the request is budget x dt while funded and the step
    /// is below this; 0 for intensity units.
    pub(super) budget_steps: usize,
    pub(super) is_budget: bool,
    pub(super) growth: f64,
    pub(super) response: Response<f64>,
    /// (1 + growth)^dt: the growth factor with no investment.
    pub(super) gf_idle: f64,
    /// (1 + g(intensity))^dt: the factor when an intensity request is met.
    pub(super) gf_full: f64,
    /// Units valued by "fade" (v3): sales_to_capital, whose base growth
    /// costs capital in step 1; 0 for units valued by "multiple".
    pub(super) sales_to_capital: f64,
    /// G / R = ((1 + growth)^dt - 1) / sales_to_capital: the growth cost
    /// of step 1 per unit of revenue (0 for units valued by "multiple").
    pub(super) growth_cost: f64,
    /// (exit_after, exit_window) for units that may exit.
    pub(super) exit: Option<(f64, f64)>,
    /// 1 - exit_discount.
    pub(super) exit_keep: f64,
    /// Step at whose end the gate is read (usize::MAX: no gate).
    pub(super) gate_step: usize,
    pub(super) gate_min_multiple: f64,
}

impl PartialEq for UnitPlan {
    /// Bit for bit: a budget unit's `gf_full` is NaN, and a solo replay
    /// (`super::solo`) asks whether two plans' terms give the same bits.
    fn eq(&self, o: &UnitPlan) -> bool {
        // Every field named, so a new one is not forgotten.
        let UnitPlan {
            intensity,
            budget_dt,
            budget_steps,
            is_budget,
            growth,
            response,
            gf_idle,
            gf_full,
            sales_to_capital,
            growth_cost,
            exit,
            exit_keep,
            gate_step,
            gate_min_multiple,
        } = *self;
        let numbers = [
            (intensity, o.intensity),
            (budget_dt, o.budget_dt),
            (growth, o.growth),
            (gf_idle, o.gf_idle),
            (gf_full, o.gf_full),
            (sales_to_capital, o.sales_to_capital),
            (growth_cost, o.growth_cost),
            (exit_keep, o.exit_keep),
            (gate_min_multiple, o.gate_min_multiple),
        ];
        let exit_bits = |e: Option<(f64, f64)>| e.map(|(a, w)| (a.to_bits(), w.to_bits()));
        numbers.iter().all(|(a, b)| a.to_bits() == b.to_bits())
            && exit_bits(exit) == exit_bits(o.exit)
            && (budget_steps, is_budget, gate_step) == (o.budget_steps, o.is_budget, o.gate_step)
            && response == o.response
    }
}

impl UnitPlan {
    /// The growth terms of step 4 for base growth `growth`: the rate and
    /// factor when nothing is spent, and when an intensity request is met;
    /// and, for a unit valued by "fade", what that base growth costs.
    pub(super) fn set_growth(
        &mut self,
        growth: f64,
        response: Response<f64>,
        gfn: GrowthFactor,
        dt: f64,
    ) {
        self.growth = growth;
        self.response = response;
        self.gf_idle = gfn.eval(growth, dt);
        if self.sales_to_capital > 0.0 {
            self.growth_cost = valuation::growth_cost(self.gf_idle, self.sales_to_capital);
        }
        if self.is_budget {
            self.gf_full = f64::NAN;
        } else {
            let g_full = growth + response.uplift(self.intensity);
            self.gf_full = gfn.eval(g_full, dt);
        }
    }
}

/// Every unit's margin during each step (row k, units wide) and after the
/// last (row `steps`): step 5, m += margin_speed (target_margin - m) dt.
pub(super) fn margin_path(out: &mut [f64], start: &[f64], speed: &[f64], target: &[f64], dt: f64) {
    let n = start.len();
    let mut m = start.to_vec();
    for row in out.chunks_exact_mut(n.max(1)) {
        row.copy_from_slice(&m);
        for ((mi, &v), &t) in m.iter_mut().zip(speed).zip(target) {
            *mi += v * (t - *mi) * dt;
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(super) struct PolicyPlan {
    pub(super) reinvest: f64,
    pub(super) recycle: f64,
    pub(super) units: Vec<UnitPlan>,
}

/// Step 4's response of growth to investment, the only place its two
/// keys are read: g = growth + max_uplift x / (x + half_saturation) for
/// spend x as a share of revenue a year. `T`: one trial's numbers (`f64`)
/// or each lane's (see `LaneParams`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Response<T> {
    pub(super) max_uplift: T,
    half_saturation: T,
}

impl Response<f64> {
    /// A unit's response, its keys as `get` gives them (the file's or a
    /// trial's draws).
    pub(super) fn of(get: impl Fn(Param) -> f64) -> Response<f64> {
        Response {
            max_uplift: get(Param::MaxUplift),
            half_saturation: get(Param::HalfSaturation),
        }
    }

    /// The uplift of spending `x` of revenue a year (0 when nothing is
    /// spent or nothing can be bought): what an intensity request met in
    /// full adds.
    pub(super) fn uplift(&self, x: f64) -> f64 {
        if x <= 0.0 || self.max_uplift == 0.0 {
            0.0
        } else {
            self.max_uplift * x / (x + self.half_saturation)
        }
    }

    /// Lane `j`'s keys into `lanes`.
    pub(super) fn lay_out<L: LaneStore>(&self, lanes: &mut Response<L>, j: usize) {
        lanes.max_uplift.set(j, self.max_uplift);
        lanes.half_saturation.set(j, self.half_saturation);
    }

    /// The uplift of spending `inv` out of revenue `r_dt` (R dt) in a
    /// step, in every lane: max_uplift inv / (inv + half_saturation R dt),
    /// with one division. `max_uplift`: this response's in each lane (the
    /// caller has it already); `own`: the lanes' own keys, in place of
    /// this one's.
    #[inline(always)]
    pub(super) fn uplift_lanes<V: Vf64>(
        &self,
        own: Option<&Response<V::Lane>>,
        max_uplift: V,
        inv: V,
        r_dt: V,
    ) -> V {
        let half = match own {
            Some(r) => V::load(inv.token(), &r.half_saturation),
            None => V::splat(inv.token(), self.half_saturation),
        };
        max_uplift.mul(inv).div(inv.add(half.mul(r_dt)))
    }
}

impl<L: LaneStore> Response<L> {
    /// Zero in every lane.
    pub(super) fn zero() -> Response<L> {
        Response {
            max_uplift: L::splat(0.0),
            half_saturation: L::splat(0.0),
        }
    }
}

/// A of unit `i` (valued by `f`) at every horizon into `held`
/// (horizon-major, rows of `n` units): the horizons end at steps `k0s`,
/// `margin` is the unit's margin path (rows of `n` units, as
/// `Plan::margin`) and `growth(t)` its base growth.
#[allow(clippy::too_many_arguments)]
pub(super) fn held_of_unit(
    held: &mut [f64],
    i: usize,
    n: usize,
    k0s: &[usize],
    f: &FadePlan,
    margin: &[f64],
    (target, speed): (f64, f64),
    growth: impl Fn(f64) -> f64,
) {
    for (hi, &k0) in k0s.iter().enumerate() {
        held[hi * n + i] = f.held_multiple(k0, margin[k0 * n + i], target, speed, &growth);
    }
}
