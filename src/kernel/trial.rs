//! One trial, or a batch of trials in lockstep, start to end: the state
//! ([`Trial`]), the draws of each step from a [`Source`], the step of
//! every policy (`super::step`) and what is recorded after it.
//!
//! Written once over the lane width: `Trial<f64>` is the scalar
//! reference (`super::reference::TrialState`, one trial, the [`Scalar`]
//! backend), `Trial<Lane>` the engine's batch
//! (`super::batch::BatchState`, four trials, one per lane). Every lane
//! runs the same operations in the same order, so the two give the same
//! bits (`super::batch::tests`).
//!
//! [`Scalar`]: super::simd::Scalar

use super::lane_params::{LaneParams, Margins};
use super::plan::Plan;
use super::shocks::{shock_entries, start_unit, unit_shock, ShockTerms, Source};
use super::simd::{LaneStore, Vf64, TRUE};
use super::solo::Units;
use super::step::{step_policy, PolicyLanes, StepInputs, UnitLanes};
use super::terms::DrawPlan;
use super::valuation::FadePlan;
use crate::model::{Extra, Metric, UnitFigure};

/// The buffers of one trial (`L` = f64) or of a batch of lanes, reused
/// from run to run; a run fills `out`.
#[derive(Clone, Debug)]
pub struct Trial<L: LaneStore> {
    pub(super) multiple: Vec<L>,
    /// Per unit: the exit-time uniform.
    pub(super) uniform: Vec<L>,
    pub(super) factor: Vec<L>,
    pub(super) shock: Vec<L>,
    pub(super) policies: Vec<PolicyLanes<L>>,
    /// The figures: `out[slot]` (a lane per trial), slots laid out by
    /// [`crate::model::Layout`].
    pub out: Vec<L>,
    /// Per-lane unit constants, for plans whose trials have their own
    /// (see `super::lane_params`).
    pub(super) lanes: Option<Box<LaneParams<L>>>,
}

/// What a run's watcher is shown (see [`Trial::run_with`]).
#[derive(Clone, Copy, Debug)]
pub(super) enum Event {
    /// Step k has run, for every policy.
    Stepped(usize),
    /// The figures of horizon `hi`, after step k, are recorded.
    Recorded(usize, usize),
}

/// A step index as the kernel compares it (exactly representable).
fn step_f64(k: usize) -> f64 {
    if k == usize::MAX {
        f64::INFINITY
    } else {
        k as f64
    }
}

/// What a unit's figures at a horizon read besides its state.
struct Horizon<'a, L> {
    plan: &'a Plan,
    lanes: Option<&'a LaneParams<L>>,
    hi: usize,
    /// The discount factor at the horizon.
    df: f64,
}

impl<L: LaneStore> Horizon<'_, L> {
    /// Unit `i`'s value and revenue at the horizon, stored in `slots`;
    /// its held mask and revenue, and its held value (0 where sold),
    /// the term of the policy's held value.
    #[inline(always)]
    fn unit<V: Vf64<Lane = L>>(
        &self,
        t: V::Token,
        (us, mult, fade): (&UnitLanes<L>, &L, &Option<FadePlan>),
        i: usize,
        (uv, ur): (&mut L, &mut L),
    ) -> (V, V, V) {
        let (plan, hi) = (self.plan, self.hi);
        let zero = V::splat(t, 0.0);
        let h = V::load(t, &us.held);
        let r = V::load(t, &us.r);
        let cash = V::load(t, &us.unit_cash);
        let v = match (fade, self.lanes) {
            (None, _) => r.mul(V::load(t, mult)),
            // H = R x A (v3), A the plan's or each lane's own.
            (Some(_), None) => r.mul(V::splat(t, plan.held_multiple(hi, i))),
            (Some(_), Some(l)) => r.mul(V::load(t, &l.held[hi * plan.n_units + i])),
        };
        let value_held = cash.add(v.mul(V::splat(t, self.df)));
        let value_gone = cash.add(V::load(t, &us.proceeds));
        V::select(h, value_held, value_gone).store(uv);
        V::select(h, r, zero).store(ur);
        (h, r, V::select(h, v, zero))
    }
}

impl<L: LaneStore> Trial<L> {
    pub fn new(plan: &Plan) -> Self {
        let n = plan.n_units;
        let z = L::splat(0.0);
        Trial {
            multiple: vec![z; n],
            uniform: vec![z; n],
            factor: vec![z; plan.n_factors],
            shock: vec![z; n],
            policies: (0..plan.policies.len())
                .map(|_| PolicyLanes::new(n))
                .collect(),
            out: vec![z; plan.layout.len()],
            lanes: LaneParams::of(plan),
        }
    }

    /// Runs trials `first ..` of `seed` (one a lane) on the draws of
    /// `src`, computing the steps of `units` (see `super::solo`). `watch`
    /// is shown each [`Event`]; the run stops at the first it answers
    /// with something, and returns that.
    #[inline(always)]
    pub(super) fn run_with<V: Vf64<Lane = L>, S: Source<V>, U: Units<L>, B>(
        &mut self,
        t: V::Token,
        plan: &Plan,
        (seed, first): (u64, u64),
        (src, units): (&mut S, &mut U),
        watch: &mut impl FnMut(Event, &Self) -> Option<B>,
    ) -> Option<B> {
        // The lanes' own constants, out of `self` while the run goes on.
        // They come from streams of their own (see `super::draws`), not
        // from `src`: a replay draws its plan's as a run of it does.
        let mut lanes = self.lanes.take();
        // A solo replay derives its one unit's constants only.
        if let Some(l) = lanes.as_deref_mut() {
            l.draw(plan, seed, first, units.only());
        }
        self.start::<V, S, U>(t, plan, lanes.as_deref(), src, units);
        let found = if plan.track {
            self.steps::<V, S, U, true, B>(t, plan, &mut lanes, (src, units), watch)
        } else {
            self.steps::<V, S, U, false, B>(t, plan, &mut lanes, (src, units), watch)
        };
        if let Some(l) = lanes.as_deref() {
            self.record_drawn(plan, l);
        }
        self.lanes = lanes;
        found
    }

    /// The drawn values' slots (see `Layout::drawn`) and their products
    /// with the last horizon's values.
    fn record_drawn(&mut self, plan: &Plan, l: &LaneParams<L>) {
        let layout = &plan.layout;
        let last = layout.horizons.saturating_sub(1);
        for (j, tp) in l.trials.iter().enumerate() {
            for (d, x) in tp.standardized(plan).enumerate() {
                self.out[layout.drawn_index(d)].set(j, x);
                for p in 0..layout.policies {
                    for m in [Metric::Value, Metric::DeltaValue] {
                        let y = self.out[layout.index(p, last, m)].get(j);
                        self.out[layout.cross_index(d, p, m)].set(j, x * y);
                    }
                }
            }
        }
    }

    /// Every step; `TRACK`: follow each unit's investment and gate (a
    /// tracked run).
    #[inline(always)]
    fn steps<V: Vf64<Lane = L>, S: Source<V>, U: Units<L>, const TRACK: bool, B>(
        &mut self,
        t: V::Token,
        plan: &Plan,
        lanes: &mut Option<Box<LaneParams<L>>>,
        (src, units): (&mut S, &mut U),
        watch: &mut impl FnMut(Event, &Self) -> Option<B>,
    ) -> Option<B> {
        for k in 0..plan.steps {
            if k > 0 {
                if let Some(l) = lanes.as_deref_mut() {
                    // Growth that fades: this step's base growth.
                    l.set_growth(plan, k, units.only());
                }
            }
            let lanes = lanes.as_deref();
            self.draw_step::<V, S, U>(t, plan, lanes, src, units);
            for (p, (pp, st)) in plan
                .policies_at(k)
                .iter()
                .zip(self.policies.iter_mut())
                .enumerate()
            {
                let inputs = StepInputs {
                    shock: &self.shock,
                    multiple: &self.multiple,
                    margin: Margins::row(plan, lanes, k),
                    own: lanes.map(|l| &l.growth[p][..]),
                    own_r0: lanes.map(|l| &l.r0[..]),
                };
                step_policy::<V, U, TRACK>(t, plan, pp, st, &inputs, k, units);
            }
            if let Some(b) = watch(Event::Stepped(k), self) {
                return Some(b);
            }
            if units.stopped() {
                // A solo replay that diverged: what follows is dropped.
                return None;
            }
            if let Some(hi) = plan.horizon_at[k] {
                self.record_horizon::<V, U>(t, plan, lanes, (hi, k), units);
                if let Some(b) = watch(Event::Recorded(k, hi), self) {
                    return Some(b);
                }
            }
            if let (true, Some(pi)) = (U::ALL, plan.path_at[k]) {
                // (A solo replay does not follow the held revenue: its
                // path is NaN, set at the start.)
                for (p, st) in self.policies.iter().enumerate() {
                    self.out[plan.layout.path_index(p, pi)] = st.revenue;
                }
            }
            if let Some(ui) = plan.unit_path_at[k] {
                self.record_unit_path::<V>(t, plan, lanes, ui, k);
            }
        }
        None
    }

    /// Draw order 1 (multiples and exit times) and the initial state (in
    /// a solo replay, of its one unit: the others' is read at a horizon,
    /// see `super::solo`).
    #[inline(always)]
    fn start<V: Vf64<Lane = L>, S: Source<V>, U: Units<L>>(
        &mut self,
        t: V::Token,
        plan: &Plan,
        lanes: Option<&LaneParams<L>>,
        src: &mut S,
        units: &U,
    ) {
        for (i, ((mult, u), (&median, &dispersion))) in self
            .multiple
            .iter_mut()
            .zip(self.uniform.iter_mut())
            .zip(plan.multiple_median.iter().zip(&plan.multiple_dispersion))
            .enumerate()
        {
            let (m, x) = start_unit::<V, S>(t, src, i, median, dispersion);
            m.store(mult);
            x.store(u);
        }
        if !U::ALL {
            // The held revenue is not followed (see `super::solo`).
            self.out[plan.layout.path_slots()].fill(L::splat(f64::NAN));
        }
        let z = L::splat(0.0);
        for (pp, st) in plan.policies.iter().zip(self.policies.iter_mut()) {
            st.war_chest = z;
            st.distributed = z;
            st.revenue = z;
            if plan.track {
                st.spent.fill(z);
                st.gate_open.fill(L::splat(TRUE));
            }
            for (i, (((us, up), &r0), u)) in st
                .units
                .iter_mut()
                .zip(&pp.units)
                .zip(&plan.revenue0)
                .zip(&self.uniform)
                .enumerate()
            {
                if !U::ALL && i != units.unit() {
                    continue;
                }
                *us = UnitLanes {
                    r: lanes.map_or(L::splat(r0), |l| l.r0[i]),
                    funded_steps: L::splat(step_f64(up.budget_steps)),
                    ..UnitLanes::default()
                };
                if let Some((after, window)) = up.exit {
                    for j in 0..L::N {
                        let k = plan.exit_step(after + u.get(j) * window);
                        us.exit_step.set(j, step_f64(k));
                    }
                }
            }
        }
    }

    /// Draw order 2: one step's factors, then each unit's normal and
    /// jumps, and its growth shock (`super::shocks`); in a solo replay,
    /// its one unit's only (the others' are not read).
    #[inline(always)]
    fn draw_step<V: Vf64<Lane = L>, S: Source<V>, U: Units<L>>(
        &mut self,
        t: V::Token,
        plan: &Plan,
        lanes: Option<&LaneParams<L>>,
        src: &mut S,
        units: &U,
    ) {
        if !U::ALL {
            // A solo replay: straight to its unit's draws (to its
            // recorded shock when the shock is the recorded plan's: then
            // neither the factors nor its normals are read), then past
            // the units after it.
            let j = units.unit();
            let (before, after) = units.draws_around();
            if src.shares(j).1 {
                // The recorded shock is the last of its unit's entries.
                src.skip(plan.n_factors + before + shock_entries(&plan.draws[j]) - 1);
                if let Some(shock) = src.recorded(t, true) {
                    shock.store(&mut self.shock[j]);
                }
            } else {
                self.draw_factors::<V, S>(t, src);
                src.skip(before);
                let unit = (j, &plan.draws[j], &self.factor[..]);
                Self::unit_shock::<V, S>(t, plan, lanes, src, unit).store(&mut self.shock[j]);
            }
            src.skip(after);
            return;
        }
        self.draw_factors::<V, S>(t, src);
        for (i, (dp, shock)) in plan.draws.iter().zip(self.shock.iter_mut()).enumerate() {
            let unit = (i, dp, &self.factor[..]);
            Self::unit_shock::<V, S>(t, plan, lanes, src, unit).store(shock);
        }
    }

    #[inline(always)]
    fn draw_factors<V: Vf64<Lane = L>, S: Source<V>>(&mut self, t: V::Token, src: &mut S) {
        for f in self.factor.iter_mut() {
            src.normal(t).store(f);
        }
    }

    /// Unit `i`'s normal and jumps, and its growth shock (`dp` its draw
    /// plan, `factor` the step's factors).
    #[inline(always)]
    fn unit_shock<V: Vf64<Lane = L>, S: Source<V>>(
        t: V::Token,
        plan: &Plan,
        lanes: Option<&LaneParams<L>>,
        src: &mut S,
        (i, dp, factor): (usize, &DrawPlan, &[L]),
    ) -> V {
        let nf = plan.n_factors;
        let (drift, diffusion) = match lanes {
            Some(l) => (V::load(t, &l.drift[i]), V::load(t, &l.diffusion[i])),
            None => (V::splat(t, dp.drift), V::splat(t, dp.diffusion)),
        };
        let terms = ShockTerms {
            dp,
            load: &plan.loadings[i * nf..(i + 1) * nf],
            factor,
            drift,
            diffusion,
        };
        unit_shock::<V, S>(t, src, i, terms)
    }

    /// Every unit's EBITA and cumulative cash at a unit path point.
    #[inline(always)]
    fn record_unit_path<V: Vf64<Lane = L>>(
        &mut self,
        t: V::Token,
        plan: &Plan,
        lanes: Option<&LaneParams<L>>,
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

    /// The figures of horizon `hi`, after step `k`: each policy's value,
    /// revenue and EBITA, each unit's value and revenue; the deltas to the
    /// baseline; the tracked units' paired figures. A solo replay records
    /// each policy's value (its held value summed with the kept terms of
    /// the other units, see `super::solo`) and its unit's figures; the
    /// policies' revenue and EBITA and the other units' figures are NaN.
    #[inline(always)]
    fn record_horizon<V: Vf64<Lane = L>, U: Units<L>>(
        &mut self,
        t: V::Token,
        plan: &Plan,
        lanes: Option<&LaneParams<L>>,
        (hi, k): (usize, usize),
        units: &mut U,
    ) {
        let layout = &plan.layout;
        let zero = V::splat(t, 0.0);
        let margin = Margins::row(plan, lanes, k + 1);
        let horizon = Horizon {
            plan,
            lanes,
            hi,
            df: plan.discount[k],
        };
        let df = V::splat(t, horizon.df);
        for (p, st) in self.policies.iter().enumerate() {
            let (head, unit_value, unit_revenue) = layout.horizon_slots(&mut self.out, p, hi);
            let held_value = if U::ALL {
                let mut held_value = zero;
                let mut revenue = zero;
                let mut ebita = zero;
                for (i, ((((us, mult), fade), uv), ur)) in st
                    .units
                    .iter()
                    .zip(&self.multiple)
                    .zip(&plan.fade)
                    .zip(unit_value)
                    .zip(unit_revenue)
                    .enumerate()
                {
                    let (h, r, held) = horizon.unit::<V>(t, (us, mult, fade), i, (uv, ur));
                    units.keep_held(held_value, held);
                    held_value = held_value.add(held);
                    revenue = revenue.add(V::select(h, r, zero));
                    ebita = ebita.add(V::select(h, r.mul(margin.get::<V>(t, i)), zero));
                }
                revenue.store(&mut head[1]);
                ebita.store(&mut head[2]);
                held_value
            } else {
                let j = units.unit();
                let nan = L::splat(f64::NAN);
                unit_value.fill(nan);
                unit_revenue.fill(nan);
                let slots = (&mut unit_value[j], &mut unit_revenue[j]);
                let unit = (&st.units[j], &self.multiple[j], &plan.fade[j]);
                let (_, _, held) = horizon.unit::<V>(t, unit, j, slots);
                head[1] = nan;
                head[2] = nan;
                units.held_sum(t, held)
            };
            let war_chest = V::load(t, &st.war_chest);
            V::load(t, &st.distributed)
                .add(war_chest.add(held_value).mul(df))
                .store(&mut head[0]);
        }
        self.record_deltas::<V>(t, plan, hi);
    }

    /// Each policy's value less the baseline's, and the tracked units'
    /// paired figures, at horizon `hi`.
    #[inline(always)]
    fn record_deltas<V: Vf64<Lane = L>>(&mut self, t: V::Token, plan: &Plan, hi: usize) {
        let layout = &plan.layout;
        let zero = V::splat(t, 0.0);
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
