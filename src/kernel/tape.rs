//! One batch's draws, recorded once and replayed for other plans: how a
//! study runs many scenario variants on one generation of the draws.
//!
//! Variants of a study (sensitivity, sweeps) differ in numbers, not in the
//! draws: trial j draws the same normals and uniforms from its stream
//! under every variant, as long as the variant draws the same *number* of
//! them in the same order ([`same_draws`]: units, factors, steps and each
//! unit's jump count draws alike). Generating them is a good part of a
//! trial's cost, so a worker runs a batch once with
//! [`super::batch::BatchState::run_recording`], which keeps every raw draw
//! on a [`Tape`] (with the recorded plan's multiples and growth shocks),
//! and then runs each other variant with
//! [`super::batch::BatchState::run_replay`], which reads them back instead
//! of drawing. Replay computes from the recorded draws exactly what a
//! fresh run computes from fresh ones, with the same operations in the
//! same order, so a replayed variant's figures are its own run's, bit for
//! bit; where a unit's draw constants equal the recorded plan's
//! ([`Sharing`]), its multiple and shocks are the recorded ones and are
//! copied rather than recomputed.
//!
//! The tape's layout (one [`Lane`] per entry) is `super::shocks`'s, the
//! one source that writes and reads it. A tape holds one batch (a few kB
//! to a few hundred kB), so memory does not grow with the number of
//! trials or variants.

use super::plan::Plan;
use super::simd::{Lane, Vf64, W};
use super::terms::{DrawPlan, JumpDraw};

/// One batch's recorded draws (see the module documentation).
#[derive(Clone, Debug, Default)]
pub struct Tape {
    pub(super) lanes: Vec<Lane>,
    /// Replay position.
    pub(super) pos: usize,
    /// The seed and first trial recorded: a replay draws its plan's
    /// per-trial assumptions (`super::draws`) for the same trials.
    pub(super) seed: u64,
    pub(super) first: u64,
}

impl Tape {
    pub fn new() -> Tape {
        Tape::default()
    }

    #[inline(always)]
    pub(super) fn push_v<V: Vf64<Lane = Lane>>(&mut self, x: V) {
        let mut a = [0.0; W];
        x.store(&mut a);
        self.lanes.push(a);
    }

    #[inline(always)]
    pub(super) fn next(&mut self) -> Lane {
        let x = self.lanes[self.pos];
        self.pos += 1;
        x
    }

    /// Entries recorded (for tests and memory figures).
    pub fn len(&self) -> usize {
        self.lanes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lanes.is_empty()
    }
}

/// How a unit's jump count is drawn, compared bit for bit: whether an
/// inversion's count is positive decides whether a normal follows, so the
/// means must be equal. Counts from the library's sampler (means above
/// 30 a step) take a number of words that depends on its mean, which the
/// sampler does not tell: such units are never shared (`None` inside).
fn jump_draw_bits(d: &DrawPlan) -> Option<Option<u64>> {
    d.jumps.as_ref().map(|(draw, _, _)| match draw {
        JumpDraw::Inversion { lambda, .. } => Some(lambda.to_bits()),
        JumpDraw::Library(_) => None,
    })
}

/// Whether plans `a` and `b` draw the same numbers from every trial's
/// stream, in the same order, and lay out their figures alike: then `b`
/// can replay a tape `a` recorded (and share its kernel state).
pub fn same_draws(a: &Plan, b: &Plan) -> bool {
    a.n_units == b.n_units
        && a.n_factors == b.n_factors
        && a.steps == b.steps
        && a.policies.len() == b.policies.len()
        && a.layout.len() == b.layout.len()
        && a.layout.horizons == b.layout.horizons
        && a.layout.path_steps == b.layout.path_steps
        && a.layout.unit_path_steps == b.layout.unit_path_steps
        && a.layout.tracked.len() == b.layout.tracked.len()
        && a.draws
            .iter()
            .zip(&b.draws)
            .all(|(x, y)| jump_draw_bits(x) == jump_draw_bits(y) && jump_draw_bits(x) != Some(None))
}

/// Per unit, what a replaying plan can take from the recorded one as it
/// is: the multiple (same median and dispersion) and the growth shocks
/// (same drift, diffusion, loadings and jump sizes), compared bit for bit.
#[derive(Clone, Debug, Default)]
pub struct Sharing {
    pub(super) multiple: Vec<bool>,
    pub(super) shock: Vec<bool>,
}

impl Sharing {
    /// What `plan` shares with `recorded` (which it must [`same_draws`]).
    pub fn new(recorded: &Plan, plan: &Plan) -> Sharing {
        let same = |x: f64, y: f64| x.to_bits() == y.to_bits();
        let nf = plan.n_factors;
        Sharing {
            multiple: (0..plan.n_units)
                .map(|i| {
                    same(recorded.multiple_median[i], plan.multiple_median[i])
                        && same(recorded.multiple_dispersion[i], plan.multiple_dispersion[i])
                })
                .collect(),
            shock: (0..plan.n_units)
                .map(|i| {
                    // A unit with per-trial constants (a drawn assumption
                    // or a fading growth, in a plan whose trials have
                    // their own: its volatility may be drawn) has its
                    // shocks recomputed, never taken as recorded. Without
                    // per-trial constants a fading growth does not enter
                    // the shock (`super::shocks::unit_shock` reads the
                    // unit's draw plan), which is compared below.
                    let own = |p: &Plan| p.params.varies() && p.params.unit_varies(i);
                    if own(recorded) || own(plan) {
                        return false;
                    }
                    let (a, b) = (&recorded.draws[i], &plan.draws[i]);
                    let sizes = |d: &DrawPlan| d.jumps.as_ref().map(|&(_, m, s)| (m, s));
                    same(a.drift, b.drift)
                        && same(a.diffusion, b.diffusion)
                        && same(a.idiosyncratic, b.idiosyncratic)
                        && match (sizes(a), sizes(b)) {
                            (None, None) => true,
                            (Some((m1, s1)), Some((m2, s2))) => same(m1, m2) && same(s1, s2),
                            _ => false,
                        }
                        && recorded.loadings[i * nf..(i + 1) * nf]
                            .iter()
                            .zip(&plan.loadings[i * nf..(i + 1) * nf])
                            .all(|(&x, &y)| same(x, y))
                })
                .collect(),
        }
    }

    /// The sharing of the recorded plan itself (everything).
    pub fn all(plan: &Plan) -> Sharing {
        Sharing {
            multiple: vec![true; plan.n_units],
            shock: vec![true; plan.n_units],
        }
    }
}
