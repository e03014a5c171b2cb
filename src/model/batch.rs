//! The engine's trial kernel: [`LANES`] consecutive trials in lockstep.
//!
//! It computes exactly what [`super::trial::TrialState`] (the scalar
//! reference) computes, bit for bit: every trial still draws from its own
//! stream, in the order documented in `trial.rs`; only the arithmetic runs
//! across trials, one array slot ("lane") per trial, so that it vectorises.
//! Every lane performs the reference's floating-point operations in the
//! reference's order; where the reference skips a unit (exited) a lane
//! adds zero instead, which leaves every sum unchanged. `tests` check the
//! two against each other on every shipped scenario and fixture.

use rand::Rng;
use rand_distr::StandardNormal;

use super::math::{exp_lanes, GrowthFactor};
use super::trial::{Metric, Plan, PolicyPlan, UnitPlan};
use crate::engine::rng::{trial_rng, TrialRng};

/// Trials run in lockstep. A multiple of every SIMD width in use (2 f64
/// with SSE2, 4 with AVX2) and a divisor of the engine's block size.
pub const LANES: usize = 8;

/// One value per lane.
pub type Lane = [f64; LANES];

const ZERO: Lane = [0.0; LANES];

/// One unit's state under one policy, per lane.
#[derive(Clone, Copy, Debug)]
struct UnitLanes {
    r: Lane,
    /// Discounted operating cash minus investment.
    unit_cash: Lane,
    /// Discounted exit proceeds.
    proceeds: Lane,
    /// This step's operating cash and requested investment.
    op: Lane,
    req: Lane,
    /// Step at whose end the unit exits (u32::MAX: never).
    exit_step: [u32; LANES],
    /// Budget units are funded while the step is below this.
    funded_steps: [u32; LANES],
    held: [bool; LANES],
}

impl Default for UnitLanes {
    fn default() -> Self {
        UnitLanes {
            r: ZERO,
            unit_cash: ZERO,
            proceeds: ZERO,
            op: ZERO,
            req: ZERO,
            exit_step: [u32::MAX; LANES],
            funded_steps: [0; LANES],
            held: [true; LANES],
        }
    }
}

#[derive(Clone, Debug)]
struct PolicyLanes {
    units: Vec<UnitLanes>,
    war_chest: Lane,
    distributed: Lane,
    /// Held revenue after the last step.
    revenue: Lane,
}

/// A worker's buffers for [`LANES`] trials at a time; [`BatchState::run`]
/// fills `out`.
#[derive(Clone, Debug)]
pub struct BatchState {
    rngs: [TrialRng; LANES],
    /// Lanes holding a trial in this batch (the rest compute on zeros).
    active: usize,
    multiple: Vec<Lane>,
    /// Per unit: the exit-time uniform, then each step's eps.
    eps: Vec<Lane>,
    factor: Vec<Lane>,
    /// Per unit: the step's jump term, where `jumped`.
    jump: Vec<Lane>,
    jumped: Vec<[bool; LANES]>,
    shock: Vec<Lane>,
    policies: Vec<PolicyLanes>,
    /// The batch's figures: `out[slot][lane]`, slots laid out by
    /// [`super::trial::Layout`].
    pub out: Vec<Lane>,
}

/// Step indices fit in u32 (the scenario's limits keep them far below).
fn step_u32(k: usize) -> u32 {
    u32::try_from(k).unwrap_or(u32::MAX)
}

impl BatchState {
    pub fn new(plan: &Plan) -> Self {
        let n = plan.n_units;
        BatchState {
            rngs: std::array::from_fn(|j| trial_rng(0, j as u64)),
            active: 0,
            multiple: vec![ZERO; n],
            eps: vec![ZERO; n],
            factor: vec![ZERO; plan.n_factors],
            jump: vec![ZERO; n],
            jumped: vec![[false; LANES]; n],
            shock: vec![ZERO; n],
            policies: (0..plan.policies.len())
                .map(|_| PolicyLanes {
                    units: vec![UnitLanes::default(); n],
                    war_chest: ZERO,
                    distributed: ZERO,
                    revenue: ZERO,
                })
                .collect(),
            out: vec![ZERO; plan.layout.len()],
        }
    }

    /// Runs trials `first .. first + count` (count <= LANES) of `seed`;
    /// trial `first + j`'s figures land in lane j of `out`.
    pub fn run(&mut self, plan: &Plan, seed: u64, first: u64, count: usize) {
        assert!((1..=LANES).contains(&count), "1 to {LANES} trials a batch");
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            unsafe { self.run_avx2(plan, seed, first, count) };
            return;
        }
        self.run_any(plan, seed, first, count);
    }

    /// [`BatchState::run`] compiled for AVX2 (4 lanes an instruction
    /// instead of SSE2's 2). Only the instruction set differs: the
    /// operations, and so the bits, are the same (no FMA; Rust never fuses
    /// a multiply and an add on its own).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(&mut self, plan: &Plan, seed: u64, first: u64, count: usize) {
        self.run_any(plan, seed, first, count);
    }

    #[inline(always)]
    fn run_any(&mut self, plan: &Plan, seed: u64, first: u64, count: usize) {
        self.active = count;
        for (j, rng) in self.rngs.iter_mut().enumerate().take(count) {
            *rng = trial_rng(seed, first + j as u64);
        }
        self.start(plan);
        for k in 0..plan.steps {
            self.draw_step(plan);
            let n = plan.n_units;
            let margin = &plan.margin[k * n..(k + 1) * n];
            for (pp, st) in plan.policies.iter().zip(self.policies.iter_mut()) {
                step_policy(plan, pp, st, &self.shock, &self.multiple, margin, k);
            }
            if let Some(hi) = plan.horizon_at[k] {
                self.record_horizon(plan, hi, k);
            }
            if let Some(pi) = plan.path_at[k] {
                for (p, st) in self.policies.iter().enumerate() {
                    self.out[plan.layout.path_index(p, pi)] = st.revenue;
                }
            }
        }
    }

    /// Draw order 1 (multiples and exit times) and the initial state.
    #[inline(always)]
    fn start(&mut self, plan: &Plan) {
        let active = self.active;
        for (j, rng) in self.rngs.iter_mut().enumerate() {
            for (eta, u) in self.multiple.iter_mut().zip(self.eps.iter_mut()) {
                if j < active {
                    eta[j] = rng.sample(StandardNormal);
                    u[j] = rng.random::<f64>();
                } else {
                    eta[j] = 0.0;
                    u[j] = 0.0;
                }
            }
        }
        for ((mult, &median), &dispersion) in self
            .multiple
            .iter_mut()
            .zip(&plan.multiple_median)
            .zip(&plan.multiple_dispersion)
        {
            let e = exp_lanes(&mult.map(|eta| dispersion * eta));
            for (m, e) in mult.iter_mut().zip(e) {
                *m = median * e;
            }
        }
        for (pp, st) in plan.policies.iter().zip(self.policies.iter_mut()) {
            st.war_chest = ZERO;
            st.distributed = ZERO;
            st.revenue = ZERO;
            for (((us, up), &r0), u) in st
                .units
                .iter_mut()
                .zip(&pp.units)
                .zip(&plan.revenue0)
                .zip(&self.eps)
            {
                *us = UnitLanes {
                    r: [r0; LANES],
                    funded_steps: [step_u32(up.budget_steps); LANES],
                    ..UnitLanes::default()
                };
                if let Some((after, window)) = up.exit {
                    for (e, &u) in us.exit_step.iter_mut().zip(u) {
                        *e = step_u32(plan.exit_step(after + u * window));
                    }
                }
            }
        }
    }

    /// Draw order 2: one step's factors, idiosyncratic shocks and jumps,
    /// then every unit's growth shock exp(log shock) across lanes.
    #[inline(always)]
    fn draw_step(&mut self, plan: &Plan) {
        for (j, rng) in self.rngs.iter_mut().enumerate().take(self.active) {
            for f in self.factor.iter_mut() {
                f[j] = rng.sample(StandardNormal);
            }
            for (((dp, eps), jump), jumped) in plan
                .draws
                .iter()
                .zip(self.eps.iter_mut())
                .zip(self.jump.iter_mut())
                .zip(self.jumped.iter_mut())
            {
                eps[j] = rng.sample(StandardNormal);
                if let Some((draw, mean, stdev)) = &dp.jumps {
                    let count = draw.count(rng);
                    jumped[j] = count > 0.0;
                    if count > 0.0 {
                        let z: f64 = rng.sample(StandardNormal);
                        jump[j] = count * mean + stdev * count.sqrt() * z;
                    }
                }
            }
        }
        if self.active < LANES {
            for j in self.active..LANES {
                for f in self.factor.iter_mut() {
                    f[j] = 0.0;
                }
                for (eps, jumped) in self.eps.iter_mut().zip(self.jumped.iter_mut()) {
                    eps[j] = 0.0;
                    jumped[j] = false;
                }
            }
        }
        let nf = plan.n_factors;
        let factor = &self.factor[..];
        for (i, (((dp, eps), shock), (jump, jumped))) in plan
            .draws
            .iter()
            .zip(&self.eps)
            .zip(self.shock.iter_mut())
            .zip(self.jump.iter().zip(&self.jumped))
            .enumerate()
        {
            let load = &plan.loadings[i * nf..(i + 1) * nf];
            let mut z = eps.map(|e| dp.idiosyncratic * e);
            for (&l, f) in load.iter().zip(factor) {
                for (z, &f) in z.iter_mut().zip(f) {
                    *z += l * f;
                }
            }
            let mut log_shock = z.map(|z| dp.drift + dp.diffusion * z);
            if dp.jumps.is_some() {
                for ((ls, &jt), &jd) in log_shock.iter_mut().zip(jump).zip(jumped) {
                    if jd {
                        *ls += jt;
                    }
                }
            }
            *shock = exp_lanes(&log_shock);
        }
    }

    #[inline(always)]
    fn record_horizon(&mut self, plan: &Plan, hi: usize, k: usize) {
        let layout = &plan.layout;
        let df = plan.discount[k];
        let n = plan.n_units;
        let margin = &plan.margin[(k + 1) * n..(k + 2) * n];
        for (p, st) in self.policies.iter().enumerate() {
            let mut held_value = ZERO;
            let mut revenue = ZERO;
            let mut ebita = ZERO;
            let base = layout.index(p, hi, Metric::Value);
            let (head, units) = self.out[base..base + 4 + 2 * n].split_at_mut(4);
            let (unit_value, unit_revenue) = units.split_at_mut(n);
            for ((((us, mult), &m), uv), ur) in st
                .units
                .iter()
                .zip(&self.multiple)
                .zip(margin)
                .zip(unit_value)
                .zip(unit_revenue)
            {
                for j in 0..LANES {
                    let h = us.held[j];
                    let r = us.r[j];
                    let v = r * mult[j];
                    held_value[j] += if h { v } else { 0.0 };
                    revenue[j] += if h { r } else { 0.0 };
                    ebita[j] += if h { r * m } else { 0.0 };
                    uv[j] = if h {
                        us.unit_cash[j] + v * df
                    } else {
                        us.unit_cash[j] + us.proceeds[j]
                    };
                    ur[j] = if h { r } else { 0.0 };
                }
            }
            for j in 0..LANES {
                head[0][j] = st.distributed[j] + (st.war_chest[j] + held_value[j]) * df;
            }
            head[1] = revenue;
            head[2] = ebita;
        }
        let baseline = self.out[layout.index(plan.baseline, hi, Metric::Value)];
        for p in 0..layout.policies {
            let v = self.out[layout.index(p, hi, Metric::Value)];
            let d = &mut self.out[layout.index(p, hi, Metric::DeltaValue)];
            for j in 0..LANES {
                d[j] = v[j] - baseline[j];
            }
        }
    }
}

/// The growth factor of one unit in every lane (step 4).
#[inline(always)]
fn growth_factors(
    gfn: GrowthFactor,
    dt: f64,
    up: &UnitPlan,
    us: &UnitLanes,
    inv: &Lane,
    scale: &Lane,
    any_scaled: bool,
) -> Lane {
    if up.max_uplift == 0.0 {
        return [up.gf_idle; LANES];
    }
    if !up.is_budget && !any_scaled {
        // Every lane's request is met in full.
        return inv.map(|inv| if inv <= 0.0 { up.gf_idle } else { up.gf_full });
    }
    let mut g = ZERO;
    for j in 0..LANES {
        let x = inv[j] / (us.r[j] * dt);
        let uplift = up.max_uplift * x / (x + up.half_saturation);
        g[j] = up.growth + if x <= 0.0 { 0.0 } else { uplift };
    }
    let general = gfn.eval_lanes(&g, dt);
    let mut gf = ZERO;
    for j in 0..LANES {
        gf[j] = if inv[j] <= 0.0 {
            up.gf_idle
        } else if scale[j] == 1.0 && !up.is_budget {
            up.gf_full
        } else {
            general[j]
        };
    }
    gf
}

/// Steps 1-7 of the model contract for one policy, every lane.
#[inline(always)]
fn step_policy(
    plan: &Plan,
    pp: &PolicyPlan,
    st: &mut PolicyLanes,
    shock: &[Lane],
    multiple: &[Lane],
    margin: &[f64],
    k: usize,
) {
    let dt = plan.dt;
    let k32 = step_u32(k);
    // 1-2. Operating cash and requested investment.
    let mut sum_op = ZERO;
    let mut sum_req = ZERO;
    for ((us, up), &m) in st.units.iter_mut().zip(&pp.units).zip(margin) {
        if up.is_budget {
            for j in 0..LANES {
                let op = us.r[j] * m * dt;
                let req = if k32 < us.funded_steps[j] {
                    up.budget_dt
                } else {
                    0.0
                };
                us.op[j] = op;
                us.req[j] = req;
                sum_op[j] += op;
                sum_req[j] += req;
            }
        } else if up.exit.is_none() {
            for j in 0..LANES {
                let r = us.r[j];
                let op = r * m * dt;
                let req = up.intensity * r * dt;
                us.op[j] = op;
                us.req[j] = req;
                sum_op[j] += op;
                sum_req[j] += req;
            }
        } else {
            for j in 0..LANES {
                let r = us.r[j];
                let h = us.held[j];
                let op = if h { r * m * dt } else { 0.0 };
                let req = if h { up.intensity * r * dt } else { 0.0 };
                us.op[j] = op;
                us.req[j] = req;
                sum_op[j] += op;
                sum_req[j] += req;
            }
        }
    }
    // 3. Budget cap and war chest.
    let mut from_cash = ZERO;
    let mut scale = ZERO;
    let mut any_scaled = false;
    for j in 0..LANES {
        from_cash[j] = pp.reinvest * sum_op[j].max(0.0);
        let cap = from_cash[j] + st.war_chest[j];
        scale[j] = if sum_req[j] > cap {
            cap / sum_req[j]
        } else {
            1.0
        };
        any_scaled |= scale[j] != 1.0;
    }
    let disc = plan.discount[k];
    let mut sum_inv = ZERO;
    let mut sum_proceeds = ZERO;
    let mut revenue = ZERO;
    for (((us, up), shock), (mult, &r0)) in st
        .units
        .iter_mut()
        .zip(&pp.units)
        .zip(shock)
        .zip(multiple.iter().zip(&plan.revenue0))
    {
        let mut inv = ZERO;
        for j in 0..LANES {
            inv[j] = us.req[j] * scale[j];
            sum_inv[j] += inv[j];
        }
        // 4. Growth.
        let gf = growth_factors(plan.growth_factor, dt, up, us, &inv, &scale, any_scaled);
        // 5. Margin: see `Plan::margin`.
        if up.exit.is_none() {
            for j in 0..LANES {
                us.unit_cash[j] += (us.op[j] - inv[j]) * disc;
                us.r[j] *= gf[j] * shock[j];
                revenue[j] += us.r[j];
            }
            // 7. Gate.
            if k == up.gate_step {
                for j in 0..LANES {
                    if us.r[j] / r0 < up.gate_min_multiple {
                        us.funded_steps[j] = 0;
                    }
                }
            }
        } else {
            // 6. Exit.
            for j in 0..LANES {
                let h = us.held[j];
                let cash = us.unit_cash[j] + (us.op[j] - inv[j]) * disc;
                let r = us.r[j] * (gf[j] * shock[j]);
                let exits = h && k32 == us.exit_step[j];
                let proceeds = r * mult[j] * up.exit_keep;
                if h {
                    us.unit_cash[j] = cash;
                    us.r[j] = r;
                }
                if exits {
                    us.proceeds[j] = proceeds * disc;
                }
                sum_proceeds[j] += if exits { proceeds } else { 0.0 };
                us.held[j] = h && !exits;
                revenue[j] += if h && !exits { r } else { 0.0 };
            }
        }
    }
    for j in 0..LANES {
        let used = (sum_inv[j] - from_cash[j]).max(0.0);
        st.war_chest[j] = (st.war_chest[j] - used).max(0.0) + pp.recycle * sum_proceeds[j];
        let distribution = sum_op[j] - sum_inv[j] + used + (1.0 - pp.recycle) * sum_proceeds[j];
        st.distributed[j] += distribution * disc;
        st.revenue[j] = revenue[j];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::trial::TrialState;
    use std::path::Path;

    /// The batch kernel's figures equal the scalar reference's, bit for
    /// bit, trial by trial (full and partial batches).
    fn check(path: &Path) {
        let s = crate::scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        let plan = Plan::new(&s);
        let mut batch = BatchState::new(&plan);
        let mut scalar = TrialState::new(&plan);
        let seed = s.seed;
        let mut first = 0u64;
        for count in [LANES, 3, LANES, 1, LANES, 5] {
            batch.run(&plan, seed, first, count);
            for j in 0..count {
                scalar.run(&plan, &mut trial_rng(seed, first + j as u64));
                for (slot, (b, &r)) in batch.out.iter().zip(&scalar.out).enumerate() {
                    assert!(
                        b[j].to_bits() == r.to_bits() || (b[j].is_nan() && r.is_nan()),
                        "{}: trial {} slot {slot}: batch {} vs reference {r}",
                        path.display(),
                        first + j as u64,
                        b[j]
                    );
                }
            }
            first += count as u64;
        }
    }

    #[test]
    fn batch_matches_the_scalar_reference() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut n = 0;
        for dir in [
            "scenarios",
            "tests/fixtures",
            "tests/fuzz-corpus",
            "benches",
        ] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            let mut files: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            for f in files {
                check(&f);
                n += 1;
            }
        }
        assert!(n >= 5, "found {n} scenarios");
    }
}
