//! The one shock source: where a trial's random numbers come from (each
//! lane's stream, the stream with every draw kept on a [`Tape`], or a
//! tape), and the one definition of what is made of them (a unit's exit
//! multiple and its growth shock), for one trial or a batch of lanes.
//!
//! A [`Source`] hands out the raw draws in the documented order (see
//! `super::reference`); [`start_unit`] and [`unit_shock`] turn them into
//! a multiple and a shock with the same operations whatever the source.
//! Nothing on this path is a closure: closures are not compiled with the
//! AVX2 backend's target features, and an intrinsic in one that is not
//! inlined becomes a call (five times slower, measured).
//! The tape's layout is the order of the calls below, read back by
//! [`Replaying`] through the same calls it was written by
//! ([`Recording`]): per unit the exit multiple's normal, the exit time's
//! uniform and the multiple; then per step the factors, and per unit its
//! normal, (for units with jumps) the jump count and the jumps' normal (0
//! where none was drawn), and its growth shock. Nothing else knows it.

use super::simd::{self, Lane, LaneStore, RngLanes, RngOf, Vf64};
use super::tape::{Sharing, Tape};
use super::terms::{inversion_count, DrawPlan, JumpDraw};
use rand_distr::Distribution;

/// Where the raw draws of a trial (or of a batch's lanes) come from.
pub(super) trait Source<V: Vf64> {
    /// One N(0, 1) per lane: an exit multiple's, a factor's or a unit's.
    fn normal(&mut self, t: V::Token) -> V;
    /// One U(0, 1) per lane: an exit time's.
    fn uniform(&mut self, t: V::Token) -> V;
    /// A unit's jump count this step, and the jumps' N(0, 1) in the lanes
    /// whose count is positive (0 elsewhere, whose streams do not move).
    fn jumps(&mut self, t: V::Token, draw: &JumpDraw) -> (V, V);
    /// The value derived from the draws just taken (a multiple, a
    /// shock) as recorded, when a replayed unit's constants are the
    /// recorded plan's (`shared`); `None` when it must be computed (and
    /// then given to [`Source::keep`]). (No closure here: a closure would
    /// not be compiled for the AVX2 backend's instructions.)
    fn recorded(&mut self, t: V::Token, shared: bool) -> Option<V>;
    /// The derived value computed after [`Source::recorded`] said `None`.
    fn keep(&mut self, x: V);
    /// Whether unit `i`'s multiple, or its shocks, are the recorded plan's.
    fn shares(&self, _i: usize) -> (bool, bool) {
        (false, false)
    }
    /// Passes over `entries` recorded draws unread (a tape's replay; see
    /// [`shock_entries`]).
    fn skip(&mut self, _entries: usize) {}
}

/// Each lane's own stream.
pub(super) struct Live<'a, L: LaneStore>(pub(super) &'a mut L::Rng);

impl<V: Vf64> Source<V> for Live<'_, V::Lane> {
    #[inline(always)]
    fn normal(&mut self, t: V::Token) -> V {
        V::normal(t, self.0)
    }
    #[inline(always)]
    fn uniform(&mut self, t: V::Token) -> V {
        V::uniform(t, self.0)
    }
    #[inline(always)]
    fn jumps(&mut self, t: V::Token, draw: &JumpDraw) -> (V, V) {
        jumps_of::<V>(t, self.0, draw)
    }
    #[inline(always)]
    fn recorded(&mut self, _: V::Token, _: bool) -> Option<V> {
        None
    }
    #[inline(always)]
    fn keep(&mut self, _: V) {}
}

/// A Poisson count per lane from its stream: one uniform by inversion
/// (`JumpDraw::count`), or the library's sampler for large means; then
/// the jumps' normal where the count is positive.
#[inline(always)]
fn jumps_of<V: Vf64>(t: V::Token, rng: &mut RngOf<V>, draw: &JumpDraw) -> (V, V) {
    let zero = V::splat(t, 0.0);
    let count = match *draw {
        JumpDraw::Inversion { lambda, p0 } => {
            let u = V::uniform(t, rng);
            if u.lt(V::splat(t, p0)).all() {
                // No jump in any lane (the usual case).
                zero
            } else {
                let mut us = V::Lane::splat(0.0);
                u.store(&mut us);
                V::load(t, &us.map(|u| inversion_count(u, lambda, p0)))
            }
        }
        JumpDraw::Library(poisson) => V::load(t, &V::Lane::sample(rng, |x| poisson.sample(x))),
    };
    let jumped = zero.lt(count);
    let zj = if jumped.any() {
        V::normal_where(rng, jumped)
    } else {
        zero
    };
    (count, zj)
}

/// Each lane's stream, every draw and derived value also kept on a tape.
pub(super) struct Recording<'a> {
    pub(super) rng: &'a mut RngLanes,
    pub(super) tape: &'a mut Tape,
}

impl<V: Vf64<Lane = Lane>> Source<V> for Recording<'_> {
    #[inline(always)]
    fn normal(&mut self, t: V::Token) -> V {
        let x = V::normal(t, self.rng);
        self.tape.push_v(x);
        x
    }
    #[inline(always)]
    fn uniform(&mut self, t: V::Token) -> V {
        let x = V::uniform(t, self.rng);
        self.tape.push_v(x);
        x
    }
    #[inline(always)]
    fn jumps(&mut self, t: V::Token, draw: &JumpDraw) -> (V, V) {
        let (count, zj) = jumps_of::<V>(t, self.rng, draw);
        self.tape.push_v(count);
        self.tape.push_v(zj);
        (count, zj)
    }
    #[inline(always)]
    fn recorded(&mut self, _: V::Token, _: bool) -> Option<V> {
        None
    }
    #[inline(always)]
    fn keep(&mut self, x: V) {
        self.tape.push_v(x);
    }
}

/// A tape's draws, in the order they were recorded; the derived values
/// of units the recorded plan shares are copied.
pub(super) struct Replaying<'a> {
    pub(super) tape: &'a mut Tape,
    pub(super) share: &'a Sharing,
}

impl<V: Vf64<Lane = Lane>> Source<V> for Replaying<'_> {
    #[inline(always)]
    fn normal(&mut self, t: V::Token) -> V {
        V::load(t, &self.tape.next())
    }
    #[inline(always)]
    fn uniform(&mut self, t: V::Token) -> V {
        V::load(t, &self.tape.next())
    }
    #[inline(always)]
    fn jumps(&mut self, t: V::Token, _: &JumpDraw) -> (V, V) {
        let count = V::load(t, &self.tape.next());
        (count, V::load(t, &self.tape.next()))
    }
    #[inline(always)]
    fn recorded(&mut self, t: V::Token, shared: bool) -> Option<V> {
        let x = self.tape.next();
        if shared {
            Some(V::load(t, &x))
        } else {
            None
        }
    }
    #[inline(always)]
    fn keep(&mut self, _: V) {}
    #[inline(always)]
    fn shares(&self, i: usize) -> (bool, bool) {
        (self.share.multiple[i], self.share.shock[i])
    }
    #[inline(always)]
    fn skip(&mut self, entries: usize) {
        self.tape.pos += entries;
    }
}

/// Draw order 1 for unit `i`: its exit multiple median exp(dispersion
/// eta) and its exit time's uniform.
#[inline(always)]
pub(super) fn start_unit<V: Vf64, S: Source<V>>(
    t: V::Token,
    src: &mut S,
    i: usize,
    median: f64,
    dispersion: f64,
) -> (V, V) {
    let eta = src.normal(t);
    let u = src.uniform(t);
    let shared = src.shares(i).0;
    if let Some(mult) = src.recorded(t, shared) {
        return (mult, u);
    }
    let mult = V::splat(t, median).mul(simd::exp(V::splat(t, dispersion).mul(eta)));
    src.keep(mult);
    (mult, u)
}

/// A unit's draws and constants for one step's shock.
pub(super) struct ShockTerms<'a, V: Vf64> {
    pub(super) dp: &'a DrawPlan,
    /// The unit's factor loadings and this step's factors.
    pub(super) load: &'a [f64],
    pub(super) factor: &'a [V::Lane],
    /// -volatility^2 dt / 2 and volatility sqrt(dt): the plan's, or each
    /// lane's own.
    pub(super) drift: V,
    pub(super) diffusion: V,
}

/// How many entries of a tape a unit's draws of one step take: what
/// [`unit_shock`] reads (its normal, its jumps' count and normal if it
/// has jumps, its shock). A solo replay (`super::solo`) computes one
/// unit's shock only and passes over the others' entries unread.
pub(super) fn shock_entries(dp: &DrawPlan) -> usize {
    if dp.jumps.is_some() {
        4
    } else {
        2
    }
}

/// Draw order 2 for unit `i` (after the step's factors): its normal and
/// jumps, and its growth shock exp(drift + diffusion z + jumps), with
/// z = idiosyncratic eps + its loadings times the factors, and the jumps
/// `count` mean + stdev sqrt(count) zj in the lanes that jumped.
#[inline(always)]
pub(super) fn unit_shock<V: Vf64, S: Source<V>>(
    t: V::Token,
    src: &mut S,
    i: usize,
    terms: ShockTerms<'_, V>,
) -> V {
    let eps = src.normal(t);
    let dp = terms.dp;
    let jumps = dp
        .jumps
        .as_ref()
        .map(|(draw, mean, stdev)| (src.jumps(t, draw), *mean, *stdev));
    let shared = src.shares(i).1;
    if let Some(shock) = src.recorded(t, shared) {
        return shock;
    }
    let mut z = V::splat(t, dp.idiosyncratic).mul(eps);
    for (&l, f) in terms.load.iter().zip(terms.factor) {
        z = z.add(V::splat(t, l).mul(V::load(t, f)));
    }
    let mut log_shock = terms.drift.add(terms.diffusion.mul(z));
    if let Some(((count, zj), mean, stdev)) = jumps {
        let jumped = V::splat(t, 0.0).lt(count);
        if jumped.any() {
            let mut counts = V::Lane::splat(0.0);
            count.store(&mut counts);
            let root = V::load(t, &counts.map(f64::sqrt));
            let term = count
                .mul(V::splat(t, mean))
                .add(V::splat(t, stdev).mul(root).mul(zj));
            log_shock = V::select(jumped, log_shock.add(term), log_shock);
        }
    }
    let shock = simd::exp(log_shock);
    src.keep(shock);
    shock
}
