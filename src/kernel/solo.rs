//! Which units a policy's step computes: every unit (a run), every unit
//! while keeping what a solo replay reads, or one unit alone, the others'
//! figures read back from that keeping.
//!
//! A study's unit variant (one unit's growth, margin, multiple...) is the
//! base scenario with one unit changed. Units are coupled only through
//! their policy's sums (steps 2-3's operating cash and requests, which
//! set the budget's share and so every unit's investment; the investment,
//! exit proceeds and held value summed into the policy's cash): while
//! the budget share of every step is the base run's, every other unit's
//! state is the base run's, step for step. So a worker runs the base plan
//! once per batch keeping, per step and policy, every unit's operating
//! cash and request, every exiting unit's proceeds and the budget's share
//! ([`Keeping`], on a [`Tape`]), and every unit's held value at each
//! horizon; then runs each unit variant computing its own unit only
//! ([`Solo`], which reads its own unit's draws only, passing over the
//! others' on the draws' tape):
//! the sums are taken over the kept figures and the unit's own, in unit
//! order, with the same operations as a run, so the figures are the
//! variant's own run's, bit for bit. Where a step's budget share differs
//! from the base run's in any lane (the change moved the cap), the other
//! units' investment differs too: the solo replay says so
//! ([`Solo::diverged`]) and the batch is run whole instead.
//!
//! A sum is taken in unit order, so the bits of a sum with one unit
//! changed need the others' terms after it, and the running sum before
//! it: the keeping holds both. Its layout, one [`Lane`] each: per step,
//! per policy, a region of `8 n + 1` entries (n units): per unit the
//! running sums of operating cash and requests before it and its own
//! ([`Units::keep_request`]), the budget's share, per unit the running
//! sums of investment and exit proceeds before it and its own
//! ([`Units::keep_grow`]); and after the step of a horizon, per policy,
//! per unit the running sum of held value before it and its own
//! ([`Units::keep_held`]). `super::step` and `super::trial` make the
//! calls, and only [`Solo`] reads it. A solo replay does not follow the
//! held revenue of its policies, nor its policies' revenue and EBITA at a
//! horizon, nor the other units' figures, drawn values and per-trial
//! constants (NaN, or left as they were: no figure a study reads uses
//! them; `super::lane_params` derives its unit's constants alone); it
//! records each policy's value, its deltas, and its own unit's figures.

use super::plan::Plan;
use super::shocks::shock_entries;
use super::simd::{Lane, LaneStore, Vf64, W};
use super::tape::Tape;
use super::terms::DrawPlan;

/// Which units a step computes, and what is kept of them.
pub(super) trait Units<L: LaneStore> {
    /// Whether every unit's step is computed (a run, or a keeping).
    const ALL: bool;
    /// The one unit a solo replay computes.
    fn unit(&self) -> usize {
        0
    }
    /// The one unit computed, if only one is (a solo replay).
    #[inline(always)]
    fn only(&self) -> Option<usize> {
        (!Self::ALL).then(|| self.unit())
    }
    /// A solo replay: how many tape entries a step's draws of the units
    /// before its unit take, and of the units after it (the factors'
    /// not counted; see `super::shocks::shock_entries`).
    fn draws_around(&self) -> (usize, usize) {
        (0, 0)
    }
    /// A unit's operating cash and request, after the running sums of
    /// the units before it.
    fn keep_request<V: Vf64<Lane = L>>(&mut self, _before: (V, V), _own: (V, V)) {}
    /// The step's budget share.
    fn keep_scale<V: Vf64<Lane = L>>(&mut self, _scale: V) {}
    /// A unit's investment and exit proceeds, after the running sums of
    /// the units before it.
    fn keep_grow<V: Vf64<Lane = L>>(&mut self, _before: (V, V), _own: (V, V)) {}
    /// A solo replay: the sums of operating cash and requests, with the
    /// unit's own.
    fn request_sums<V: Vf64<Lane = L>>(&mut self, _t: V::Token, own: (V, V)) -> (V, V) {
        own
    }
    /// A solo replay: the sums of investment and exit proceeds, with
    /// the unit's own.
    fn grow_sums<V: Vf64<Lane = L>>(&mut self, _t: V::Token, own: (V, V)) -> (V, V) {
        own
    }
    /// Whether the run may stop before its last step: a solo replay
    /// whose budget share has diverged (its figures are dropped).
    fn stopped(&self) -> bool {
        false
    }
    /// At a horizon: a unit's held value (0 where sold), after the
    /// running sum of the units before it.
    fn keep_held<V: Vf64<Lane = L>>(&mut self, _before: V, _own: V) {}
    /// A solo replay, at a horizon: the policy's held value, with the
    /// unit's own.
    fn held_sum<V: Vf64<Lane = L>>(&mut self, _t: V::Token, own: V) -> V {
        own
    }
}

/// Every unit computed, nothing kept: a run.
pub(super) struct All;

impl<L: LaneStore> Units<L> for All {
    const ALL: bool = true;
}

/// Every unit computed, and what a [`Solo`] replay reads kept on a tape.
pub(super) struct Keeping<'a>(pub(super) &'a mut Tape);

impl Keeping<'_> {
    #[inline(always)]
    fn pair<V: Vf64<Lane = Lane>>(&mut self, before: (V, V), own: (V, V)) {
        let mut a = [[0.0; W]; 4];
        for (x, a) in [before.0, own.0, before.1, own.1].into_iter().zip(&mut a) {
            x.store(a);
        }
        self.0.lanes.extend_from_slice(&a);
    }
}

impl Units<Lane> for Keeping<'_> {
    const ALL: bool = true;
    #[inline(always)]
    fn keep_request<V: Vf64<Lane = Lane>>(&mut self, before: (V, V), own: (V, V)) {
        self.pair(before, own);
    }
    #[inline(always)]
    fn keep_scale<V: Vf64<Lane = Lane>>(&mut self, scale: V) {
        self.0.push_v(scale);
    }
    #[inline(always)]
    fn keep_grow<V: Vf64<Lane = Lane>>(&mut self, before: (V, V), own: (V, V)) {
        self.pair(before, own);
    }
    #[inline(always)]
    fn keep_held<V: Vf64<Lane = Lane>>(&mut self, before: V, own: V) {
        self.0.push_v(before);
        self.0.push_v(own);
    }
}

/// Unit `unit` computed, every other unit's figures read from a
/// [`Keeping`] tape of a plan that differs from this one in that unit
/// alone.
pub(super) struct Solo<'a> {
    tape: &'a [Lane],
    /// The current region (see the module documentation).
    pos: usize,
    unit: usize,
    units: usize,
    /// See [`Units::draws_around`].
    around: (usize, usize),
    /// Whether a step's budget share differed from the kept one in some
    /// lane: the figures are then not the plan's.
    pub(super) diverged: bool,
}

impl<'a> Solo<'a> {
    /// Unit `unit` of `plan` on what `tape` kept.
    pub(super) fn new(tape: &'a Tape, unit: usize, plan: &Plan) -> Solo<'a> {
        let entries = |d: &[DrawPlan]| d.iter().map(shock_entries).sum();
        Solo {
            tape: &tape.lanes,
            pos: 0,
            unit,
            units: plan.n_units,
            around: (
                entries(&plan.draws[..unit]),
                entries(&plan.draws[unit + 1..]),
            ),
            diverged: false,
        }
    }
}

impl Units<Lane> for Solo<'_> {
    const ALL: bool = false;
    #[inline(always)]
    fn unit(&self) -> usize {
        self.unit
    }
    #[inline(always)]
    fn draws_around(&self) -> (usize, usize) {
        self.around
    }
    #[inline(always)]
    fn stopped(&self) -> bool {
        self.diverged
    }
    #[inline(always)]
    fn request_sums<V: Vf64<Lane = Lane>>(&mut self, t: V::Token, own: (V, V)) -> (V, V) {
        let (j, n) = (self.unit, self.units);
        let region = &self.tape[self.pos..self.pos + 4 * n];
        let mut op = V::load(t, &region[4 * j]).add(own.0);
        let mut req = V::load(t, &region[4 * j + 2]).add(own.1);
        for e in region[4 * (j + 1)..].chunks_exact(4) {
            op = op.add(V::load(t, &e[1]));
            req = req.add(V::load(t, &e[3]));
        }
        (op, req)
    }
    #[inline(always)]
    fn keep_scale<V: Vf64<Lane = Lane>>(&mut self, scale: V) {
        // A share is 1 or cap / requests with 0 <= cap < requests: never
        // NaN nor -0, so `==` compares its bits.
        let kept = V::load(scale.token(), &self.tape[self.pos + 4 * self.units]);
        if !scale.eq(kept).all() {
            self.diverged = true;
        }
    }
    #[inline(always)]
    fn grow_sums<V: Vf64<Lane = Lane>>(&mut self, t: V::Token, own: (V, V)) -> (V, V) {
        let (j, n) = (self.unit, self.units);
        let start = self.pos + 4 * n + 1;
        let region = &self.tape[start..start + 4 * n];
        self.pos = start + 4 * n;
        let mut inv = V::load(t, &region[4 * j]).add(own.0);
        // Every unit's proceeds are added, +0 for a unit never sold (see
        // `super::step::grow`).
        let mut proceeds = V::load(t, &region[4 * j + 2]).add(own.1);
        for e in region[4 * (j + 1)..].chunks_exact(4) {
            inv = inv.add(V::load(t, &e[1]));
            proceeds = proceeds.add(V::load(t, &e[3]));
        }
        (inv, proceeds)
    }
    #[inline(always)]
    fn held_sum<V: Vf64<Lane = Lane>>(&mut self, t: V::Token, own: V) -> V {
        let (j, n) = (self.unit, self.units);
        let region = &self.tape[self.pos..self.pos + 2 * n];
        self.pos += 2 * n;
        let mut held = V::load(t, &region[2 * j]).add(own);
        for e in region[2 * (j + 1)..].chunks_exact(2) {
            held = held.add(V::load(t, &e[1]));
        }
        held
    }
}
