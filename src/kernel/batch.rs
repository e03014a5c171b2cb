//! The engine's trial kernel: [`LANES`] consecutive trials in lockstep.
//!
//! It computes exactly what [`super::reference::TrialState`] (the scalar
//! reference) computes, bit for bit: every trial still draws from its own
//! stream, in the order documented in `reference.rs`; only the arithmetic runs
//! across trials, one array slot ("lane") per trial, so that it vectorises.
//! Every lane performs the reference's floating-point operations in the
//! reference's order; where the reference skips a unit (exited) a lane
//! adds zero instead, which leaves every sum unchanged. `tests` check the
//! two against each other on every shipped scenario and fixture.
//!
//! A scenario whose trials run on their own unit constants (uncertain
//! assumptions or a growth fade, `super::draws`) reads them per lane
//! ([`LaneParams`]: each lane's `TrialParams`, transposed) where every
//! other scenario reads the plan's constants, splat across the lanes; the
//! operations and their order are the same either way.

use rand_distr::Distribution;

use super::draws::TrialParams;
use super::math::GrowthFactor;
use super::plan::{inversion_count, DrawPlan, JumpDraw, Plan, PolicyPlan, UnitPlan};
use super::rng::trial_state;
use super::simd::{self, Portable, RngLanes, Vf64, TRUE, W};
use super::tape::{Sharing, Tape};
use crate::model::{Extra, Metric, UnitFigure};

pub use super::simd::Lane;

/// Trials run in lockstep: one per lane of a vector (AVX2's four f64). A
/// divisor of the engine's block size.
pub const LANES: usize = W;

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
    /// Step at whose end the unit exits (infinity: never).
    exit_step: Lane,
    /// Budget units are funded while the step is below this.
    funded_steps: Lane,
    /// Mask: the unit is still held.
    held: Lane,
}

impl Default for UnitLanes {
    fn default() -> Self {
        UnitLanes {
            r: ZERO,
            unit_cash: ZERO,
            proceeds: ZERO,
            op: ZERO,
            req: ZERO,
            exit_step: [f64::INFINITY; LANES],
            funded_steps: ZERO,
            held: [TRUE; LANES],
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
    /// Tracked runs only, per unit: discounted investment so far, and the
    /// mask of lanes whose gate left the unit funded.
    spent: Vec<Lane>,
    gate_open: Vec<Lane>,
}

/// A worker's buffers for [`LANES`] trials at a time; [`BatchState::run`]
/// fills `out`.
#[derive(Clone, Debug)]
pub struct BatchState {
    /// Each lane's stream. Lanes past the batch's trials run the next
    /// trials' streams; their figures are not used.
    rng: RngLanes,
    multiple: Vec<Lane>,
    /// Per unit: the exit-time uniform.
    uniform: Vec<Lane>,
    factor: Vec<Lane>,
    shock: Vec<Lane>,
    policies: Vec<PolicyLanes>,
    /// The batch's figures: `out[slot][lane]`, slots laid out by
    /// [`crate::model::Layout`].
    pub out: Vec<Lane>,
    /// Per-lane unit constants, for plans whose trials have their own
    /// (see the module's doc).
    lanes: Option<Box<LaneParams>>,
}

/// Step 4's terms of one unit under one policy, per lane (see
/// `UnitPlan`).
#[derive(Clone, Copy, Debug, Default)]
struct GrowthLanes {
    growth: Lane,
    gf_idle: Lane,
    gf_full: Lane,
    max_uplift: Lane,
    half_saturation: Lane,
    /// G / R of a unit valued by "fade" (see `UnitPlan::growth_cost`).
    growth_cost: Lane,
}

/// The unit constants of each lane's trial: the lanes' `TrialParams`, and
/// what the kernel reads of them, lane-major.
#[derive(Clone, Debug)]
struct LaneParams {
    trials: Vec<TrialParams>,
    /// Per unit: revenue at t = 0.
    r0: Vec<Lane>,
    /// Per unit: -volatility^2 dt / 2 and volatility sqrt(dt).
    drift: Vec<Lane>,
    diffusion: Vec<Lane>,
    /// As `Plan::margin`, a lane per entry.
    margin: Vec<Lane>,
    /// Per policy, per unit: this step's growth terms.
    growth: Vec<Vec<GrowthLanes>>,
    /// As `Plan::held`: A per horizon and unit, a lane per entry.
    held: Vec<Lane>,
    /// Whether some unit's growth fades (its terms change per step).
    fading: bool,
}

impl LaneParams {
    fn new(plan: &Plan) -> LaneParams {
        let n = plan.n_units;
        LaneParams {
            trials: (0..LANES).map(|_| TrialParams::new(plan)).collect(),
            r0: vec![ZERO; n],
            drift: vec![ZERO; n],
            diffusion: vec![ZERO; n],
            margin: vec![ZERO; plan.margin.len()],
            growth: vec![vec![GrowthLanes::default(); n]; plan.policies.len()],
            held: vec![ZERO; plan.held.len()],
            fading: (0..n).any(|i| plan.params.fades(i)),
        }
    }

    /// Draws the assumptions of trials `first ..` (one a lane) and lays
    /// out what the kernel reads.
    fn draw(&mut self, plan: &Plan, seed: u64, first: u64) {
        for (j, tp) in self.trials.iter_mut().enumerate() {
            tp.draw(plan, seed, first.wrapping_add(j as u64));
        }
        for (j, tp) in self.trials.iter().enumerate() {
            for (i, &r0) in tp.revenue0.iter().enumerate() {
                self.r0[i][j] = r0;
                self.drift[i][j] = tp.draws[i].drift;
                self.diffusion[i][j] = tp.draws[i].diffusion;
            }
            for (m, &x) in self.margin.iter_mut().zip(&tp.margin) {
                m[j] = x;
            }
            for (a, &x) in self.held.iter_mut().zip(&tp.held) {
                a[j] = x;
            }
        }
        self.lay_out_growth(plan, true);
    }

    /// Step `k`'s growth terms (they change for units whose growth fades).
    fn set_growth(&mut self, plan: &Plan, k: usize) {
        if !self.fading {
            return;
        }
        for tp in self.trials.iter_mut() {
            tp.set_growth(plan, k, false);
        }
        self.lay_out_growth(plan, false);
    }

    /// The growth terms of every unit (`all`), or of those whose growth
    /// fades.
    fn lay_out_growth(&mut self, plan: &Plan, all: bool) {
        for (j, tp) in self.trials.iter().enumerate() {
            for (gp, pp) in self.growth.iter_mut().zip(&tp.policies) {
                for (i, (g, up)) in gp.iter_mut().zip(&pp.units).enumerate() {
                    if !all && !plan.params.fades(i) {
                        continue;
                    }
                    g.growth[j] = up.growth;
                    g.gf_idle[j] = up.gf_idle;
                    g.gf_full[j] = up.gf_full;
                    g.growth_cost[j] = up.growth_cost;
                    g.max_uplift[j] = up.max_uplift;
                    g.half_saturation[j] = up.half_saturation;
                }
            }
        }
    }
}

/// A plan's per-trial constants for a [`BatchState`] made for another
/// plan (see [`BatchState::run_replay`]); empty for plans whose trials
/// share the plan's constants.
#[derive(Clone, Debug)]
pub struct PlanLanes(Option<Box<LaneParams>>);

impl PlanLanes {
    pub fn new(plan: &Plan) -> PlanLanes {
        PlanLanes(
            plan.params
                .varies()
                .then(|| Box::new(LaneParams::new(plan))),
        )
    }
}

/// The margins a step reads: the plan's (the same in every lane) or each
/// lane's own.
#[derive(Clone, Copy)]
enum Margins<'a> {
    Plan(&'a [f64]),
    Lanes(&'a [Lane]),
}

impl Margins<'_> {
    /// Row `row` (a step; `steps` for after the last) of `plan`'s margins
    /// or `lanes`'.
    fn row<'a>(plan: &'a Plan, lanes: Option<&'a LaneParams>, row: usize) -> Margins<'a> {
        let n = plan.n_units;
        match lanes {
            Some(l) => Margins::Lanes(&l.margin[row * n..(row + 1) * n]),
            None => Margins::Plan(&plan.margin[row * n..(row + 1) * n]),
        }
    }

    #[inline(always)]
    fn get<V: Vf64>(self, t: V::Token, i: usize) -> V {
        match self {
            Margins::Plan(m) => V::splat(t, m[i]),
            Margins::Lanes(m) => V::load(t, &m[i]),
        }
    }
}

/// Where a batch's draws come from (see `kernel::tape`): each lane's
/// stream, the stream with every draw kept on a tape, or a tape.
type Mode = u8;
const LIVE: Mode = 0;
const RECORD: Mode = 1;
const REPLAY: Mode = 2;

/// A step index as the kernel compares it (exactly representable).
fn step_f64(k: usize) -> f64 {
    if k == usize::MAX {
        f64::INFINITY
    } else {
        k as f64
    }
}

impl BatchState {
    pub fn new(plan: &Plan) -> Self {
        let n = plan.n_units;
        BatchState {
            rng: RngLanes::new(std::array::from_fn(|j| trial_state(0, j as u64))),
            multiple: vec![ZERO; n],
            uniform: vec![ZERO; n],
            factor: vec![ZERO; plan.n_factors],
            shock: vec![ZERO; n],
            policies: (0..plan.policies.len())
                .map(|_| PolicyLanes {
                    units: vec![UnitLanes::default(); n],
                    war_chest: ZERO,
                    distributed: ZERO,
                    revenue: ZERO,
                    spent: vec![ZERO; n],
                    gate_open: vec![[TRUE; LANES]; n],
                })
                .collect(),
            out: vec![ZERO; plan.layout.len()],
            lanes: plan
                .params
                .varies()
                .then(|| Box::new(LaneParams::new(plan))),
        }
    }

    /// Runs trials `first .. first + count` (count <= LANES) of `seed`;
    /// trial `first + j`'s figures land in lane j of `out`.
    pub fn run(&mut self, plan: &Plan, seed: u64, first: u64, count: usize) {
        assert!((1..=LANES).contains(&count), "1 to {LANES} trials a batch");
        self.dispatch::<LIVE>(plan, seed, first, &mut Tape::new(), None);
    }

    /// [`BatchState::run`], keeping every draw on `tape` (emptied first)
    /// for [`BatchState::run_replay`]; the figures are `run`'s.
    pub fn run_recording(
        &mut self,
        plan: &Plan,
        seed: u64,
        first: u64,
        count: usize,
        tape: &mut Tape,
    ) {
        assert!((1..=LANES).contains(&count), "1 to {LANES} trials a batch");
        tape.lanes.clear();
        (tape.seed, tape.first) = (seed, first);
        self.dispatch::<RECORD>(plan, seed, first, tape, None);
    }

    /// The figures `run` gives for `plan` on the trials a tape was
    /// recorded from (by a plan that [`super::tape::same_draws`] as
    /// `plan`, with `share` what the two have in common), bit for bit,
    /// from the tape's draws instead of the trials' streams.
    /// `lanes` holds `plan`'s per-trial constants ([`PlanLanes::new`] of
    /// `plan`; the state's own belong to the plan it was made for).
    pub fn run_replay(
        &mut self,
        plan: &Plan,
        tape: &mut Tape,
        share: &Sharing,
        lanes: &mut PlanLanes,
    ) {
        tape.pos = 0;
        std::mem::swap(&mut self.lanes, &mut lanes.0);
        self.dispatch::<REPLAY>(plan, tape.seed, tape.first, tape, Some(share));
        std::mem::swap(&mut self.lanes, &mut lanes.0);
    }

    #[inline(always)]
    fn dispatch<const MODE: Mode>(
        &mut self,
        plan: &Plan,
        seed: u64,
        first: u64,
        tape: &mut Tape,
        share: Option<&Sharing>,
    ) {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = simd::Avx2Token::detect() {
            // SAFETY: `run_avx2` needs AVX2, which the token proves the CPU
            // has.
            unsafe { self.run_avx2::<MODE>(t, plan, seed, first, tape, share) };
            return;
        }
        self.run_with::<Portable, MODE>((), plan, seed, first, tape, share);
    }

    /// [`BatchState::run`] compiled for AVX2. Only the instruction set
    /// differs: the operations, and so the bits, are the same (no FMA).
    /// Calling it from code not compiled for AVX2 is `unsafe`; `t` is the
    /// caller's proof that the CPU has it.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn run_avx2<const MODE: Mode>(
        &mut self,
        t: simd::Avx2Token,
        plan: &Plan,
        seed: u64,
        first: u64,
        tape: &mut Tape,
        share: Option<&Sharing>,
    ) {
        self.run_with::<simd::Avx2, MODE>(t, plan, seed, first, tape, share);
    }

    #[inline(always)]
    fn run_with<V: Vf64, const MODE: Mode>(
        &mut self,
        t: V::Token,
        plan: &Plan,
        seed: u64,
        first: u64,
        tape: &mut Tape,
        share: Option<&Sharing>,
    ) {
        if MODE != REPLAY {
            self.rng = RngLanes::new(std::array::from_fn(|j| {
                trial_state(seed, first.wrapping_add(j as u64))
            }));
        }
        let share = share.unwrap_or(&NO_SHARING);
        // The lanes' own constants, out of `self` while the batch runs.
        // They come from streams of their own (see `super::draws`), not
        // from the tape: a replay draws its plan's as a run of it does.
        let mut lanes = self.lanes.take();
        if let Some(l) = lanes.as_deref_mut() {
            l.draw(plan, seed, first);
        }
        self.start::<V, MODE>(t, plan, lanes.as_deref(), tape, share);
        if plan.track {
            self.steps::<V, true, MODE>(t, plan, &mut lanes, tape, share);
        } else {
            self.steps::<V, false, MODE>(t, plan, &mut lanes, tape, share);
        }
        if let Some(l) = lanes.as_deref() {
            self.record_drawn(plan, l);
        }
        self.lanes = lanes;
    }

    /// The drawn values' slots (see `Layout::drawn`), as the reference
    /// writes them.
    fn record_drawn(&mut self, plan: &Plan, l: &LaneParams) {
        let layout = &plan.layout;
        let last = layout.horizons.saturating_sub(1);
        for (j, tp) in l.trials.iter().enumerate() {
            for (d, x) in tp.standardized(plan).enumerate() {
                self.out[layout.drawn_index(d)][j] = x;
                for p in 0..layout.policies {
                    for m in [Metric::Value, Metric::DeltaValue] {
                        let y = self.out[layout.index(p, last, m)][j];
                        self.out[layout.cross_index(d, p, m)][j] = x * y;
                    }
                }
            }
        }
    }

    /// Every step of the batch; `TRACK`: follow each unit's investment and
    /// gate (a tracked run).
    #[inline(always)]
    fn steps<V: Vf64, const TRACK: bool, const MODE: Mode>(
        &mut self,
        t: V::Token,
        plan: &Plan,
        lanes: &mut Option<Box<LaneParams>>,
        tape: &mut Tape,
        share: &Sharing,
    ) {
        for k in 0..plan.steps {
            if k > 0 {
                if let Some(l) = lanes.as_deref_mut() {
                    // Growth that fades: this step's base growth.
                    l.set_growth(plan, k);
                }
            }
            let lanes = lanes.as_deref();
            if MODE == REPLAY {
                self.replay_step::<V>(t, plan, lanes, tape, share);
            } else {
                self.draw_step::<V, MODE>(t, plan, lanes, tape);
            }
            let margin = Margins::row(plan, lanes, k);
            for (p, (pp, st)) in plan
                .policies_at(k)
                .iter()
                .zip(self.policies.iter_mut())
                .enumerate()
            {
                let (shock, multiple) = (&self.shock[..], &self.multiple[..]);
                let own = lanes.map(|l| &l.growth[p][..]);
                let r0 = lanes.map(|l| &l.r0[..]);
                let args = (shock, multiple, margin, own, r0);
                step_policy::<V, TRACK>(t, plan, pp, st, args, k);
            }
            if let Some(hi) = plan.horizon_at[k] {
                self.record_horizon::<V>(t, plan, lanes, hi, k);
            }
            if let Some(pi) = plan.path_at[k] {
                for (p, st) in self.policies.iter().enumerate() {
                    self.out[plan.layout.path_index(p, pi)] = st.revenue;
                }
            }
            if let Some(ui) = plan.unit_path_at[k] {
                self.record_unit_path::<V>(t, plan, lanes, ui, k);
            }
        }
    }

    /// Every unit's EBITA and cumulative cash at a unit path point (see
    /// `TrialState::record_unit_path`).
    #[inline(always)]
    fn record_unit_path<V: Vf64>(
        &mut self,
        t: V::Token,
        plan: &Plan,
        lanes: Option<&LaneParams>,
        point: usize,
        k: usize,
    ) {
        let n = plan.n_units;
        let zero = V::splat(t, 0.0);
        let margin = Margins::row(plan, lanes, k + 1);
        for (p, st) in self.policies.iter().enumerate() {
            let base = plan.layout.unit_path_index(p, point, 0, UnitFigure::Ebita);
            let out = &mut self.out[base..base + 2 * n];
            for (i, (us, slot)) in st.units.iter().zip(out.chunks_exact_mut(2)).enumerate() {
                let m = margin.get::<V>(t, i);
                let r = V::load(t, &us.r);
                V::select(V::load(t, &us.held), r.mul(m), zero).store(&mut slot[0]);
                V::load(t, &us.unit_cash)
                    .add(V::load(t, &us.proceeds))
                    .store(&mut slot[1]);
            }
        }
    }

    /// Draw order 1 (multiples and exit times) and the initial state.
    #[inline(always)]
    fn start<V: Vf64, const MODE: Mode>(
        &mut self,
        t: V::Token,
        plan: &Plan,
        lanes: Option<&LaneParams>,
        tape: &mut Tape,
        share: &Sharing,
    ) {
        for (i, ((mult, u), (&median, &dispersion))) in self
            .multiple
            .iter_mut()
            .zip(self.uniform.iter_mut())
            .zip(plan.multiple_median.iter().zip(&plan.multiple_dispersion))
            .enumerate()
        {
            if MODE == REPLAY {
                let eta = tape.next();
                *u = tape.next();
                let recorded = tape.next();
                if share.multiple[i] {
                    *mult = recorded;
                    continue;
                }
                let e = simd::exp(V::splat(t, dispersion).mul(V::load(t, &eta)));
                V::splat(t, median).mul(e).store(mult);
                continue;
            }
            let eta = V::normal(t, &mut self.rng);
            V::uniform(t, &mut self.rng).store(u);
            let e = simd::exp(V::splat(t, dispersion).mul(eta));
            V::splat(t, median).mul(e).store(mult);
            if MODE == RECORD {
                let mut x = ZERO;
                eta.store(&mut x);
                tape.push(x);
                tape.push(*u);
                tape.push(*mult);
            }
        }
        for (pp, st) in plan.policies.iter().zip(self.policies.iter_mut()) {
            st.war_chest = ZERO;
            st.distributed = ZERO;
            st.revenue = ZERO;
            if plan.track {
                st.spent.fill(ZERO);
                st.gate_open.fill([TRUE; LANES]);
            }
            for (i, (((us, up), &r0), u)) in st
                .units
                .iter_mut()
                .zip(&pp.units)
                .zip(&plan.revenue0)
                .zip(&self.uniform)
                .enumerate()
            {
                *us = UnitLanes {
                    r: lanes.map_or([r0; LANES], |l| l.r0[i]),
                    funded_steps: [step_f64(up.budget_steps); LANES],
                    ..UnitLanes::default()
                };
                if let Some((after, window)) = up.exit {
                    for (e, &u) in us.exit_step.iter_mut().zip(u) {
                        *e = step_f64(plan.exit_step(after + u * window));
                    }
                }
            }
        }
    }

    /// Draw order 2: one step's factors, then each unit's idiosyncratic
    /// shock and jumps, every lane at once (each lane's stream in the
    /// documented order); then every unit's growth shock exp(log shock).
    /// `RECORD`: every draw and shock also goes on `tape`.
    #[inline(always)]
    fn draw_step<V: Vf64, const MODE: Mode>(
        &mut self,
        t: V::Token,
        plan: &Plan,
        lanes: Option<&LaneParams>,
        tape: &mut Tape,
    ) {
        let rng = &mut self.rng;
        for f in self.factor.iter_mut() {
            V::normal(t, rng).store(f);
            if MODE == RECORD {
                tape.push(*f);
            }
        }
        let nf = plan.n_factors;
        let factor = &self.factor[..];
        let zero = V::splat(t, 0.0);
        for (i, (dp, shock)) in plan.draws.iter().zip(self.shock.iter_mut()).enumerate() {
            let eps = V::normal(t, rng);
            if MODE == RECORD {
                let mut x = ZERO;
                eps.store(&mut x);
                tape.push(x);
            }
            let load = &plan.loadings[i * nf..(i + 1) * nf];
            let (drift, diffusion) = drift_diffusion::<V>(t, dp, lanes, i);
            let mut log_shock = log_shock::<V>(t, dp, load, factor, eps, drift, diffusion);
            if let Some((draw, mean, stdev)) = &dp.jumps {
                let count = match *draw {
                    JumpDraw::Inversion { lambda, p0 } => {
                        let u = V::uniform(t, rng);
                        if u.lt(V::splat(t, p0)).all() {
                            // No jump in any lane (the usual case).
                            zero
                        } else {
                            let mut us = ZERO;
                            u.store(&mut us);
                            V::load(t, &us.map(|u| inversion_count(u, lambda, p0)))
                        }
                    }
                    JumpDraw::Library(poisson) => {
                        let mut counts = ZERO;
                        for (j, c) in counts.iter_mut().enumerate() {
                            let mut x = rng.lane(j);
                            *c = poisson.sample(&mut x);
                            rng.set_lane(j, x);
                        }
                        V::load(t, &counts)
                    }
                };
                let jumped = zero.lt(count);
                let mut zj = zero;
                if jumped.any() {
                    zj = V::normal_where(rng, jumped);
                    log_shock = with_jumps(log_shock, jumped, count, zj, *mean, *stdev);
                }
                if MODE == RECORD {
                    let mut x = ZERO;
                    count.store(&mut x);
                    tape.push(x);
                    zj.store(&mut x);
                    tape.push(x);
                }
            }
            simd::exp(log_shock).store(shock);
            if MODE == RECORD {
                tape.push(*shock);
            }
        }
    }

    /// [`BatchState::draw_step`] from a tape: the recorded shock of every
    /// unit whose draw constants are the recorded plan's, and for the
    /// others the same operations on the recorded draws.
    #[inline(always)]
    fn replay_step<V: Vf64>(
        &mut self,
        t: V::Token,
        plan: &Plan,
        lanes: Option<&LaneParams>,
        tape: &mut Tape,
        share: &Sharing,
    ) {
        for f in self.factor.iter_mut() {
            *f = tape.next();
        }
        let nf = plan.n_factors;
        let factor = &self.factor[..];
        let zero = V::splat(t, 0.0);
        for (i, ((dp, shock), &shared)) in plan
            .draws
            .iter()
            .zip(self.shock.iter_mut())
            .zip(&share.shock)
            .enumerate()
        {
            if shared {
                tape.skip(if dp.jumps.is_some() { 3 } else { 1 });
                *shock = tape.next();
                continue;
            }
            let eps = V::load(t, &tape.next());
            let load = &plan.loadings[i * nf..(i + 1) * nf];
            let (drift, diffusion) = drift_diffusion::<V>(t, dp, lanes, i);
            let mut log_shock = log_shock::<V>(t, dp, load, factor, eps, drift, diffusion);
            if let Some((_, mean, stdev)) = &dp.jumps {
                let count = V::load(t, &tape.next());
                let zj = V::load(t, &tape.next());
                let jumped = zero.lt(count);
                if jumped.any() {
                    log_shock = with_jumps(log_shock, jumped, count, zj, *mean, *stdev);
                }
            }
            tape.skip(1);
            simd::exp(log_shock).store(shock);
        }
    }

    #[inline(always)]
    fn record_horizon<V: Vf64>(
        &mut self,
        t: V::Token,
        plan: &Plan,
        lanes: Option<&LaneParams>,
        hi: usize,
        k: usize,
    ) {
        let layout = &plan.layout;
        let df = V::splat(t, plan.discount[k]);
        let zero = V::splat(t, 0.0);
        let margin = Margins::row(plan, lanes, k + 1);
        for (p, st) in self.policies.iter().enumerate() {
            let mut held_value = zero;
            let mut revenue = zero;
            let mut ebita = zero;
            let (head, unit_value, unit_revenue) = layout.horizon_slots(&mut self.out, p, hi);
            for (i, ((((us, mult), uv), ur), fade)) in st
                .units
                .iter()
                .zip(&self.multiple)
                .zip(unit_value)
                .zip(unit_revenue)
                .zip(&plan.fade)
                .enumerate()
            {
                let m = margin.get::<V>(t, i);
                let h = V::load(t, &us.held);
                let r = V::load(t, &us.r);
                let cash = V::load(t, &us.unit_cash);
                let v = match (fade, lanes) {
                    (None, _) => r.mul(V::load(t, mult)),
                    // H = R x A (v3), A the plan's or each lane's own.
                    (Some(_), None) => r.mul(V::splat(t, plan.held_multiple(hi, i))),
                    (Some(_), Some(l)) => r.mul(V::load(t, &l.held[hi * plan.n_units + i])),
                };
                held_value = held_value.add(V::select(h, v, zero));
                revenue = revenue.add(V::select(h, r, zero));
                ebita = ebita.add(V::select(h, r.mul(m), zero));
                let value_held = cash.add(v.mul(df));
                let value_gone = cash.add(V::load(t, &us.proceeds));
                V::select(h, value_held, value_gone).store(uv);
                V::select(h, r, zero).store(ur);
            }
            let war_chest = V::load(t, &st.war_chest);
            V::load(t, &st.distributed)
                .add(war_chest.add(held_value).mul(df))
                .store(&mut head[0]);
            revenue.store(&mut head[1]);
            ebita.store(&mut head[2]);
        }
        let baseline = V::load(t, &self.out[layout.index(plan.baseline, hi, Metric::Value)]);
        for p in 0..layout.policies {
            let v = V::load(t, &self.out[layout.index(p, hi, Metric::Value)]);
            v.sub(baseline)
                .store(&mut self.out[layout.index(p, hi, Metric::DeltaValue)]);
        }
        let one = V::splat(t, 1.0);
        for (entry, tr) in layout.tracked.iter().enumerate() {
            let at = |p: usize, m: Metric| V::load(t, &self.out[layout.index(p, hi, m)]);
            let unit = Metric::UnitValue(tr.unit);
            let unit_gain = at(tr.policy, unit).sub(at(tr.reference, unit));
            let group_gain = at(tr.policy, Metric::Value).sub(at(tr.reference, Metric::Value));
            let st = &self.policies[tr.policy];
            let spent = V::load(t, &st.spent[tr.unit]);
            let open = V::select(V::load(t, &st.gate_open[tr.unit]), one, zero);
            for (extra, x) in [
                (Extra::UnitGain, unit_gain),
                (Extra::GroupGain, group_gain),
                (Extra::SpendPv, spent),
                (Extra::GateOpen, open),
            ] {
                x.store(&mut self.out[layout.extra_index(entry, hi, extra)]);
            }
        }
    }
}

/// Nothing shared: what fresh and recording runs are given.
static NO_SHARING: Sharing = Sharing {
    multiple: Vec::new(),
    shock: Vec::new(),
};

/// A unit's log growth shock before jumps: drift + diffusion z, with
/// z = idiosyncratic eps + its factor loadings times the factors.
#[inline(always)]
fn log_shock<V: Vf64>(
    t: V::Token,
    dp: &DrawPlan,
    load: &[f64],
    factor: &[Lane],
    eps: V,
    drift: V,
    diffusion: V,
) -> V {
    let mut z = V::splat(t, dp.idiosyncratic).mul(eps);
    for (&l, f) in load.iter().zip(factor) {
        z = z.add(V::splat(t, l).mul(V::load(t, f)));
    }
    drift.add(diffusion.mul(z))
}

/// Unit `i`'s drift and diffusion: each lane's own where trials draw
/// their constants, else the plan's.
#[inline(always)]
fn drift_diffusion<V: Vf64>(
    t: V::Token,
    dp: &DrawPlan,
    lanes: Option<&LaneParams>,
    i: usize,
) -> (V, V) {
    match lanes {
        Some(l) => (V::load(t, &l.drift[i]), V::load(t, &l.diffusion[i])),
        None => (V::splat(t, dp.drift), V::splat(t, dp.diffusion)),
    }
}

/// `log_shock` plus the jumps of the lanes that jumped: `count` jumps
/// whose sum is count mean + stdev sqrt(count) zj.
#[inline(always)]
fn with_jumps<V: Vf64>(log_shock: V, jumped: V, count: V, zj: V, mean: f64, stdev: f64) -> V {
    let t = log_shock.token();
    let mut counts = ZERO;
    count.store(&mut counts);
    let root = V::load(t, &counts.map(f64::sqrt));
    let term = count
        .mul(V::splat(t, mean))
        .add(V::splat(t, stdev).mul(root).mul(zj));
    V::select(jumped, log_shock.add(term), log_shock)
}

/// (1 + g)^dt of every lane, the same bits as `GrowthFactor::eval`.
#[inline(always)]
fn growth_factor_v<V: Vf64>(gfn: GrowthFactor, g: V, dt: f64) -> V {
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
            let mut a = ZERO;
            g.store(&mut a);
            for x in a.iter_mut() {
                *x = dt * libm::log1p(*x);
            }
            simd::exp(V::load(t, &a))
        }
    }
}

/// The growth factor (1 + g)^dt of one unit in every lane (step 4),
/// chosen as the scalar reference chooses it, with its operations. `own`:
/// the lanes' own growth terms, in place of `up`'s (see [`LaneParams`]).
#[inline(always)]
fn growth<V: Vf64>(
    plan: &Plan,
    up: &UnitPlan,
    own: Option<&GrowthLanes>,
    r: V,
    inv: V,
    scale: V,
    any_scaled: bool,
) -> V {
    let t = r.token();
    let zero = V::splat(t, 0.0);
    let of = |x: f64, lanes: fn(&GrowthLanes) -> &Lane| match own {
        Some(g) => V::load(t, lanes(g)),
        None => V::splat(t, x),
    };
    let (idle, full) = (
        of(up.gf_idle, |g| &g.gf_idle),
        of(up.gf_full, |g| &g.gf_full),
    );
    let max_uplift = of(up.max_uplift, |g| &g.max_uplift);
    // Lanes with no uplift take `idle`, as when they invest nothing.
    let no_investment = match own {
        None if up.max_uplift == 0.0 => return idle,
        None => inv.le(zero),
        Some(_) => {
            let no_uplift = max_uplift.eq(zero);
            if no_uplift.all() {
                return idle;
            }
            V::select(no_uplift, no_uplift, inv.le(zero))
        }
    };
    if !up.is_budget && !any_scaled {
        // Every lane's request is met in full.
        return V::select(no_investment, idle, full);
    }
    if no_investment.all() {
        // An unfunded (or gated) budget unit in every lane.
        return idle;
    }
    // `uplift_of_spend`, operation for operation.
    let r_dt = r.mul(V::splat(t, plan.dt));
    let uplift = max_uplift
        .mul(inv)
        .div(inv.add(of(up.half_saturation, |g| &g.half_saturation).mul(r_dt)));
    // Lanes that invest nothing take `idle` below; 0 keeps g sane there.
    let g = of(up.growth, |g| &g.growth).add(V::select(no_investment, zero, uplift));
    let general = growth_factor_v(plan.growth_factor, g, plan.dt);
    let met = if up.is_budget {
        zero
    } else {
        scale.eq(V::splat(t, 1.0))
    };
    V::select(no_investment, idle, V::select(met, full, general))
}

/// What a policy's step reads besides the plan: every unit's shock and
/// multiple, the step's margins, and, when the lanes have their own unit
/// constants, the policy's growth terms and the units' revenue at t = 0.
type StepInputs<'a> = (
    &'a [Lane],
    &'a [Lane],
    Margins<'a>,
    Option<&'a [GrowthLanes]>,
    Option<&'a [Lane]>,
);

/// Steps 1-7 of the model contract for one policy, every lane.
/// `TRACK`: follow each unit's investment and gate.
#[inline(always)]
fn step_policy<V: Vf64, const TRACK: bool>(
    t: V::Token,
    plan: &Plan,
    pp: &PolicyPlan,
    st: &mut PolicyLanes,
    (shock, multiple, margin, own, own_r0): StepInputs,
    k: usize,
) {
    let dt = V::splat(t, plan.dt);
    let kf = V::splat(t, k as f64);
    let zero = V::splat(t, 0.0);
    // 1-2. Operating cash and requested investment.
    let mut sum_op = zero;
    let mut sum_req = zero;
    for (i, (us, up)) in st.units.iter_mut().zip(&pp.units).enumerate() {
        let r = V::load(t, &us.r);
        let mut op = r.mul(margin.get::<V>(t, i)).mul(dt);
        if up.sales_to_capital > 0.0 {
            // Valued by "fade": the base growth costs capital (v3).
            let cost = match own {
                Some(g) => V::load(t, &g[i].growth_cost),
                None => V::splat(t, up.growth_cost),
            };
            op = op.sub(r.mul(cost));
        }
        let mut req = if up.is_budget {
            let funded = kf.lt(V::load(t, &us.funded_steps));
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
        sum_op = sum_op.add(op);
        sum_req = sum_req.add(req);
    }
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
    let disc = V::splat(t, plan.discount[k]);
    let mut sum_inv = zero;
    let mut sum_proceeds = zero;
    let mut revenue = zero;
    for (i, (((us, up), shock), (mult, &r0))) in st
        .units
        .iter_mut()
        .zip(&pp.units)
        .zip(shock)
        .zip(multiple.iter().zip(&plan.revenue0))
        .enumerate()
    {
        let r = V::load(t, &us.r);
        let inv = V::load(t, &us.req).mul(scale);
        sum_inv = sum_inv.add(inv);
        // 4. Growth.
        let own = own.map(|g| &g[i]);
        let gf = growth(plan, up, own, r, inv, scale, any_scaled);
        if TRACK {
            V::load(t, &st.spent[i])
                .add(inv.mul(disc))
                .store(&mut st.spent[i]);
        }
        // 5. Margin: see `Plan::margin`.
        let cash = V::load(t, &us.unit_cash);
        let new_cash = cash.add(V::load(t, &us.op).sub(inv).mul(disc));
        let new_r = r.mul(gf.mul(V::load(t, shock)));
        if up.exit.is_none() {
            new_cash.store(&mut us.unit_cash);
            new_r.store(&mut us.r);
            revenue = revenue.add(new_r);
            // 7. Gate.
            if k == up.gate_step {
                let r0 = own_r0.map_or(V::splat(t, r0), |l| V::load(t, &l[i]));
                let failed = new_r.div(r0).lt(V::splat(t, up.gate_min_multiple));
                // select(failed, 0, funded) as a bit mask (not a masked
                // store).
                failed
                    .andnot(V::load(t, &us.funded_steps))
                    .store(&mut us.funded_steps);
                if TRACK {
                    failed
                        .andnot(V::load(t, &[TRUE; LANES]))
                        .store(&mut st.gate_open[i]);
                }
            }
        } else {
            // 6. Exit.
            let h = V::load(t, &us.held);
            let exits = h.and(kf.eq(V::load(t, &us.exit_step)));
            let proceeds = new_r.mul(V::load(t, mult)).mul(V::splat(t, up.exit_keep));
            V::select(h, new_cash, cash).store(&mut us.unit_cash);
            V::select(h, new_r, r).store(&mut us.r);
            // proceeds is 0 until the (single) exit, so adding is the
            // same as selecting, and compiles to a plain store (a masked
            // store is slow on some cores).
            V::load(t, &us.proceeds)
                .add(V::select(exits, proceeds.mul(disc), zero))
                .store(&mut us.proceeds);
            sum_proceeds = sum_proceeds.add(V::select(exits, proceeds, zero));
            let still = exits.andnot(h);
            still.store(&mut us.held);
            revenue = revenue.add(V::select(still, new_r, zero));
        }
    }
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
    V::load(t, &st.distributed)
        .add(distribution.mul(disc))
        .store(&mut st.distributed);
    revenue.store(&mut st.revenue);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::TrialState;
    use crate::model::Tracked;
    use std::path::Path;

    impl BatchState {
        /// [`BatchState::run`] on the portable backend, whatever the CPU
        /// (the same bits).
        fn run_portable(&mut self, plan: &Plan, seed: u64, first: u64, count: usize) {
            assert!((1..=LANES).contains(&count), "1 to {LANES} trials a batch");
            self.run_with::<Portable, LIVE>((), plan, seed, first, &mut Tape::new(), None);
        }
    }

    /// The batch kernel's figures equal the scalar reference's, bit for
    /// bit, trial by trial (full and partial batches).
    fn check(path: &Path) {
        let s = crate::scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        // With unit paths: every slot, the added ones included.
        check_plan(path, &s, &Plan::new(&s).with_unit_paths());
        // The tracked figures of a study: every unit under every policy,
        // paired against policy 0.
        let tracked = (0..s.policies.len())
            .flat_map(|policy| {
                (0..s.units.len()).map(move |unit| Tracked {
                    policy,
                    unit,
                    reference: 0,
                })
            })
            .collect();
        check_plan(path, &s, &Plan::with_tracked(&s, tracked));
    }

    fn check_plan(path: &Path, s: &crate::model::Scenario, plan: &Plan) {
        let plan = plan.clone();
        let mut batch = BatchState::new(&plan);
        let mut scalar = TrialState::new(&plan);
        let seed = s.seed;
        let mut first = 0u64;
        let mut portable = BatchState::new(&plan);
        for count in [LANES, 3, LANES, 1, LANES, 2, LANES, LANES] {
            batch.run(&plan, seed, first, count);
            portable.run_portable(&plan, seed, first, count);
            for j in 0..count {
                scalar.run(&plan, seed, first + j as u64);
                for (slot, ((b, p), &r)) in batch
                    .out
                    .iter()
                    .zip(&portable.out)
                    .zip(&scalar.out)
                    .enumerate()
                {
                    assert_eq!(b[j].to_bits(), p[j].to_bits(), "portable backend");
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

    /// A plan's figures replayed from a tape recorded by another plan that
    /// draws alike are its own run's, bit for bit: the recorded plan
    /// itself, and variants with other draw constants (volatility,
    /// loadings' unit, multiples) and other policy and discount terms.
    fn check_replay(path: &Path) {
        let s = crate::scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        let recorded = Plan::new(&s);
        let mut v = s.clone();
        for (i, u) in v.units.iter_mut().enumerate() {
            if i % 2 == 0 {
                u.volatility *= 1.25;
                u.multiple_median *= 0.9;
            } else {
                u.growth += 0.01;
            }
        }
        v.discount_rate += 0.01;
        for p in &mut v.policies {
            p.reinvest_share *= 0.5;
        }
        // Drawn assumptions: every distribution wider or moved, every
        // growth fade longer (or a fade where there was none), the same
        // units and keys drawn.
        let mut d = s.clone();
        for (i, u) in d.units.iter_mut().enumerate() {
            for x in &mut u.uncertain {
                use crate::model::Dist;
                match &mut x.dist {
                    Dist::Triangular { min, max, .. }
                    | Dist::Pert { min, max, .. }
                    | Dist::Uniform { min, max } => *min -= 0.1 * (*max - *min),
                    Dist::Normal { stdev, .. } => *stdev *= 1.1,
                    Dist::Lognormal { dispersion, .. } => *dispersion *= 1.1,
                    Dist::Discrete { weights, .. } => weights[0] *= 2.0,
                }
            }
            match &mut u.growth_fade {
                Some(f) => f.years += 1.0,
                None if i == 0 => {
                    u.growth_fade = Some(crate::model::GrowthFade {
                        from: u.growth + 0.1,
                        years: 3.0,
                    })
                }
                None => {}
            }
        }
        // And the other way round: the variant records, the scenario
        // replays.
        let pairs = [
            (recorded.clone(), Plan::new(&s)),
            (recorded.clone(), Plan::new(&v)),
            (recorded.clone(), Plan::new(&d)),
            (Plan::new(&d), recorded.clone()),
        ];
        let mut checked = 0;
        for (recorded, plan) in pairs {
            if !super::super::tape::same_draws(&recorded, &plan) {
                continue;
            }
            let share = Sharing::new(&recorded, &plan);
            let mut rec = BatchState::new(&recorded);
            let mut replay = BatchState::new(&recorded);
            let mut live = BatchState::new(&plan);
            let mut lanes = PlanLanes::new(&plan);
            let mut tape = Tape::new();
            let mut first = 0u64;
            for count in [LANES, 3, LANES, 1, LANES] {
                rec.run_recording(&recorded, s.seed, first, count, &mut tape);
                replay.run_replay(&plan, &mut tape, &share, &mut lanes);
                live.run(&plan, s.seed, first, count);
                for (slot, (a, b)) in replay.out.iter().zip(&live.out).enumerate() {
                    for j in 0..count {
                        assert!(
                            a[j].to_bits() == b[j].to_bits() || (a[j].is_nan() && b[j].is_nan()),
                            "{}: trial {} slot {slot}: replay {} vs live {}",
                            path.display(),
                            first + j as u64,
                            a[j],
                            b[j]
                        );
                    }
                }
                first += count as u64;
            }
            checked += 1;
        }
        assert!(checked >= 1, "{}: nothing replayed", path.display());
        let varies = s
            .units
            .iter()
            .any(|u| !u.uncertain.is_empty() || u.growth_fade.is_some());
        if varies {
            assert!(checked == 4, "{}: {checked} of 4 replayed", path.display());
        }
    }

    /// The scenario files in `dirs` under `root`, sorted within each.
    fn toml_files(root: &Path, dirs: &[&str]) -> Vec<std::path::PathBuf> {
        let mut all = Vec::new();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            let mut files: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            all.extend(files);
        }
        all
    }

    #[test]
    fn replayed_draws_give_the_plans_own_figures() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = toml_files(root, &["scenarios", "tests/fixtures", "benches"]);
        // Drawn assumptions and fading growth among them.
        let mut seen = vec!["uncertain_all.toml", "reset_uncertain.toml"];
        for f in &files {
            check_replay(f);
            seen.retain(|x| !f.ends_with(x));
        }
        assert!(files.len() >= 5, "found {} scenarios", files.len());
        assert!(seen.is_empty(), "not found: {seen:?}");
    }

    #[test]
    fn batch_matches_the_scalar_reference() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let files = toml_files(
            root,
            &[
                "scenarios",
                "tests/fixtures",
                "tests/fuzz-corpus",
                "benches",
            ],
        );
        for f in &files {
            check(f);
        }
        assert!(files.len() >= 5, "found {} scenarios", files.len());
    }

    /// The kernel's growth factor of every lane is the scalar's, bit for
    /// bit, on each backend the CPU runs (both formulas: roots for 1 and 4
    /// steps a year, exp(dt log1p g) for 12).
    #[test]
    fn growth_factor_lanes_match_the_scalar() {
        fn check<V: Vf64>(t: V::Token) {
            let mut s = 0x9E37_79B9_7F4A_7C15u64;
            let g: Vec<f64> = (0..256)
                .map(|_| {
                    s = crate::kernel::rng::mix(s);
                    -0.5 + 2.5 * ((s >> 11) as f64 / (1u64 << 53) as f64)
                })
                .collect();
            for spy in [1u32, 4, 12] {
                let gf = GrowthFactor::new(spy);
                let dt = 1.0 / spy as f64;
                for chunk in g.chunks_exact(LANES) {
                    let lanes: Lane = chunk.try_into().unwrap();
                    let mut y = ZERO;
                    growth_factor_v(gf, V::load(t, &lanes), dt).store(&mut y);
                    for (a, &g) in y.iter().zip(&lanes) {
                        assert_eq!(a.to_bits(), gf.eval(g, dt).to_bits(), "spy {spy} g {g}");
                    }
                }
            }
        }
        check::<Portable>(());
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = simd::Avx2Token::detect() {
            check::<simd::Avx2>(t);
        }
    }
}
