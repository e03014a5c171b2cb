//! The engine's trial kernel: [`LANES`] consecutive trials in lockstep.
//!
//! A [`BatchState`] is the one trial of `super::trial` at the width of a
//! vector (a `Trial<Lane>`): every trial still draws from its own stream,
//! in the order documented in `reference.rs`; only the arithmetic runs
//! across trials, one array slot ("lane") per trial, so that it
//! vectorises. The scalar reference is the same code at width 1, so the
//! two give the same bits; `tests` check them against each other on every
//! shipped scenario, fixture and fuzz-corpus file, on both SIMD backends.
//!
//! Here: the backend chosen at run time (AVX2 when the CPU has it, the
//! portable arrays else), and the three ways a batch gets its draws
//! (`super::shocks`): each lane's stream, the stream with every draw kept
//! on a tape, or a tape recorded by another plan.

use std::convert::Infallible;

use super::lane_params::LaneParams;
use super::plan::Plan;
use super::shocks::{Live, Recording, Replaying, Source};
use super::simd::{self, LaneStore, Portable, RngLanes, W};
use super::solo::{All, Keeping, Solo, Units};
use super::tape::{Sharing, Tape};
use super::trial::Trial;

pub use super::simd::Lane;

/// Trials run in lockstep: one per lane of a vector (AVX2's four f64). A
/// divisor of the engine's block size.
pub const LANES: usize = W;

/// A worker's buffers for [`LANES`] trials at a time; [`BatchState::run`]
/// fills `out` (`out[slot][lane]`, slots laid out by
/// [`crate::model::Layout`]). Lanes past the batch's trials run the next
/// trials' streams; their figures are not used.
pub type BatchState = Trial<Lane>;

/// A plan's per-trial constants for a [`BatchState`] made for another
/// plan (see [`BatchState::run_replay`]); empty for plans whose trials
/// share the plan's constants.
#[derive(Clone, Debug)]
pub struct PlanLanes(Option<Box<LaneParams<Lane>>>);

impl PlanLanes {
    pub fn new(plan: &Plan) -> PlanLanes {
        PlanLanes(LaneParams::of(plan))
    }
}

impl Trial<Lane> {
    /// Runs trials `first .. first + count` (count <= LANES) of `seed`;
    /// trial `first + j`'s figures land in lane j of `out`.
    pub fn run(&mut self, plan: &Plan, seed: u64, first: u64, count: usize) {
        assert!((1..=LANES).contains(&count), "1 to {LANES} trials a batch");
        let mut rng = Lane::streams(seed, first);
        self.dispatch(plan, (seed, first), &mut Live::<Lane>(&mut rng), &mut All);
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
        self.record(plan, (seed, first), count, tape, &mut All);
    }

    /// [`BatchState::run_recording`], also keeping on `units` (emptied
    /// first) what [`BatchState::run_solo`] reads of every unit.
    pub fn run_keeping(
        &mut self,
        plan: &Plan,
        seed: u64,
        first: u64,
        count: usize,
        tape: &mut Tape,
        units: &mut Tape,
    ) {
        units.lanes.clear();
        self.record(plan, (seed, first), count, tape, &mut Keeping(units));
    }

    fn record<U: Units<Lane>>(
        &mut self,
        plan: &Plan,
        (seed, first): (u64, u64),
        count: usize,
        tape: &mut Tape,
        units: &mut U,
    ) {
        assert!((1..=LANES).contains(&count), "1 to {LANES} trials a batch");
        tape.lanes.clear();
        (tape.seed, tape.first) = (seed, first);
        let mut rng: RngLanes = Lane::streams(seed, first);
        let mut src = Recording {
            rng: &mut rng,
            tape,
        };
        self.dispatch(plan, (seed, first), &mut src, units);
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
        self.replay(plan, (tape, share), lanes, &mut All);
    }

    /// [`BatchState::run_replay`] of a plan that differs from the one
    /// that recorded `tape` and kept `units` ([`BatchState::run_keeping`])
    /// in unit `unit` alone ([`Plan::solo_unit`]), computing that unit's
    /// steps only (see `super::solo`). False where a step's budget share
    /// differs from the recorded one in some lane: the figures are then
    /// not the plan's (run the batch with `run_replay`). In a solo
    /// replay the held revenue (the revenue path's figures) is NaN.
    /// `lanes` holds `plan`'s per-trial constants, as for `run_replay`.
    pub fn run_solo(
        &mut self,
        plan: &Plan,
        tape: &mut Tape,
        share: &Sharing,
        lanes: &mut PlanLanes,
        (units, unit): (&Tape, usize),
    ) -> bool {
        let mut solo = Solo::new(units, unit, plan);
        self.replay(plan, (tape, share), lanes, &mut solo);
        !solo.diverged
    }

    /// `plan` on the draws of `tape` (from its start), computing the
    /// steps of `units`, on `plan`'s per-trial constants `lanes`.
    fn replay<U: Units<Lane>>(
        &mut self,
        plan: &Plan,
        (tape, share): (&mut Tape, &Sharing),
        lanes: &mut PlanLanes,
        units: &mut U,
    ) {
        tape.pos = 0;
        let trials = (tape.seed, tape.first);
        std::mem::swap(&mut self.lanes, &mut lanes.0);
        self.dispatch(plan, trials, &mut Replaying { tape, share }, units);
        std::mem::swap(&mut self.lanes, &mut lanes.0);
    }

    #[inline(always)]
    fn dispatch<S: Backends, U: Units<Lane>>(
        &mut self,
        plan: &Plan,
        trials: (u64, u64),
        src: &mut S,
        units: &mut U,
    ) {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = simd::Avx2Token::detect() {
            // SAFETY: `run_avx2` needs AVX2, which the token proves the CPU
            // has.
            unsafe { self.run_avx2(t, plan, trials, src, units) };
            return;
        }
        self.run_with::<Portable, S, U, Infallible>((), plan, trials, (src, units), &mut |_, _| {
            None
        });
    }

    /// [`BatchState::run`] compiled for AVX2. Only the instruction set
    /// differs: the operations, and so the bits, are the same (no FMA).
    /// Calling it from code not compiled for AVX2 is `unsafe`; `t` is the
    /// caller's proof that the CPU has it.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn run_avx2<S: Backends, U: Units<Lane>>(
        &mut self,
        t: simd::Avx2Token,
        plan: &Plan,
        trials: (u64, u64),
        src: &mut S,
        units: &mut U,
    ) {
        self.run_with::<simd::Avx2, S, U, Infallible>(
            t,
            plan,
            trials,
            (src, units),
            &mut |_, _| None,
        );
    }
}

/// A source for every backend a batch may run on.
#[cfg(target_arch = "x86_64")]
pub(super) trait Backends: Source<Portable> + Source<simd::Avx2> {}
#[cfg(target_arch = "x86_64")]
impl<S: Source<Portable> + Source<simd::Avx2>> Backends for S {}
#[cfg(not(target_arch = "x86_64"))]
pub(super) trait Backends: Source<Portable> {}
#[cfg(not(target_arch = "x86_64"))]
impl<S: Source<Portable>> Backends for S {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::math::GrowthFactor;
    use crate::kernel::simd::Vf64;
    use crate::kernel::step::growth_factor_v;
    use crate::kernel::TrialState;
    use crate::model::Metric;
    use crate::model::Tracked;
    use std::path::Path;

    const ZERO: Lane = [0.0; LANES];

    impl BatchState {
        /// [`BatchState::run`] on the portable backend, whatever the CPU
        /// (the same bits).
        fn run_portable(&mut self, plan: &Plan, seed: u64, first: u64, count: usize) {
            assert!((1..=LANES).contains(&count), "1 to {LANES} trials a batch");
            let mut rng = Lane::streams(seed, first);
            let src = &mut Live::<Lane>(&mut rng);
            self.run_with::<Portable, _, _, Infallible>(
                (),
                plan,
                (seed, first),
                (src, &mut All),
                &mut |_, _| None,
            );
        }
    }

    /// The batch kernel's figures (the trial at width 4, on both
    /// backends) equal the scalar reference's (the same trial at width 1),
    /// bit for bit, trial by trial (full and partial batches).
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

    /// A unit variant replayed alone on the base plan's keeping
    /// (`run_solo`) gives the variant's own figures, bit for bit (but the
    /// revenue path, the policies' revenue and EBITA and the other units'
    /// figures and drawn values, NaN there), in every batch it says it
    /// did; a change
    /// that moves the budget cap says it did not. Returns (batches
    /// replayed alone, batches that diverged).
    fn check_solo(path: &Path) -> (usize, usize) {
        let s = crate::scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
        let base = Plan::new(&s);
        let layout = &base.layout;
        let paths: Vec<usize> = layout.path_slots().collect();
        // The slots a solo replay of unit j leaves NaN.
        let nan_slots = |j: usize| -> Vec<usize> {
            let mut at = paths.clone();
            for p in 0..layout.policies {
                for hi in 0..layout.horizons {
                    let others = (0..layout.units).filter(|&i| i != j);
                    let metrics = [Metric::Revenue, Metric::Ebita]
                        .into_iter()
                        .chain(others.flat_map(|i| [Metric::UnitValue(i), Metric::UnitRevenue(i)]));
                    at.extend(metrics.map(|m| layout.index(p, hi, m)));
                }
            }
            // The other units' drawn values and their products.
            for (d, &(unit, _)) in layout.drawn.iter().enumerate() {
                if unit == j {
                    continue;
                }
                at.push(layout.drawn_index(d));
                for p in 0..layout.policies {
                    for m in [Metric::Value, Metric::DeltaValue] {
                        at.push(layout.cross_index(d, p, m));
                    }
                }
            }
            at
        };
        let (mut alone, mut diverged) = (0, 0);
        for j in 0..s.units.len() {
            let nan = nan_slots(j);
            for crush in [false, true] {
                let mut v = s.clone();
                let u = &mut v.units[j];
                if crush {
                    // A unit that loses fifty times its revenue: the
                    // budget share moves.
                    u.margin = -50.0;
                    u.target_margin = -50.0;
                } else {
                    u.growth += 0.01;
                    u.volatility *= 1.25;
                    u.margin -= 0.02;
                    u.multiple_median *= 0.9;
                }
                let plan = Plan::new(&v);
                let found = base.solo_unit(&plan);
                assert_eq!(found, Some(j), "{}: unit {j}", path.display());
                let mut lanes = PlanLanes::new(&plan);
                let share = Sharing::new(&base, &plan);
                let mut rec = BatchState::new(&base);
                let mut live = BatchState::new(&plan);
                let (mut tape, mut kept) = (Tape::new(), Tape::new());
                let mut first = 0u64;
                for count in [LANES, 3, LANES, 1, LANES, LANES, LANES, LANES] {
                    rec.run_keeping(&base, s.seed, first, count, &mut tape, &mut kept);
                    let ok = rec.run_solo(&plan, &mut tape, &share, &mut lanes, (&kept, j));
                    live.run(&plan, s.seed, first, count);
                    // Every slot the same bits as the live run's (NaN as
                    // NaN), but `nan`'s, which must be NaN.
                    let same = |rec: &BatchState, what: &str, nan: &[usize]| {
                        for (slot, (a, b)) in rec.out.iter().zip(&live.out).enumerate() {
                            if nan.contains(&slot) {
                                assert!(a[..count].iter().all(|x| x.is_nan()), "slot {slot}");
                                continue;
                            }
                            for k in 0..count {
                                assert!(
                                    a[k].to_bits() == b[k].to_bits()
                                        || (a[k].is_nan() && b[k].is_nan()),
                                    "{}: unit {j} trial {} slot {slot}: {what} {} vs live {}",
                                    path.display(),
                                    first + k as u64,
                                    a[k],
                                    b[k]
                                );
                            }
                        }
                    };
                    if ok {
                        alone += 1;
                        same(&rec, "solo", &nan);
                    } else {
                        // As a worker does then: the batch replayed whole,
                        // on the per-trial constants the solo replay left.
                        rec.run_replay(&plan, &mut tape, &share, &mut lanes);
                        same(&rec, "replay", &[]);
                        diverged += 1;
                    }
                    first += count as u64;
                }
            }
        }
        (alone, diverged)
    }

    #[test]
    fn solo_replays_give_the_plans_own_figures() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let (mut alone, mut diverged, mut drawn) = (0, 0, 0);
        for f in toml_files(root, &["scenarios", "tests/fixtures", "benches"]) {
            let (a, d) = check_solo(&f);
            alone += a;
            diverged += d;
            let s = crate::scenario::load(&f).unwrap();
            if s.units.iter().any(|u| !u.uncertain.is_empty()) {
                drawn += a;
            }
        }
        assert!(
            alone > 100 && diverged > 10 && drawn > 50,
            "{alone} alone ({drawn} with drawn assumptions), {diverged} diverged"
        );
    }

    #[test]
    fn a_solo_unit_is_the_one_unit_that_differs() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let s = crate::scenario::load(&root.join("scenarios/reset.toml")).unwrap();
        let base = Plan::new(&s);
        assert_eq!(base.solo_unit(&base.clone()), None, "equal plans");
        let with = |f: &dyn Fn(&mut crate::model::Scenario)| {
            let mut v = s.clone();
            f(&mut v);
            base.solo_unit(&Plan::new(&v))
        };
        assert_eq!(with(&|v| v.units[3].growth += 0.01), Some(3));
        assert_eq!(with(&|v| v.units[12].multiple_median *= 2.0), Some(12));
        assert_eq!(
            with(&|v| {
                v.units[1].growth += 0.01;
                v.units[2].growth += 0.01;
            }),
            None,
            "two units"
        );
        assert_eq!(with(&|v| v.discount_rate += 0.01), None, "discount rate");
        assert_eq!(
            with(&|v| v.policies[1].reinvest_share *= 0.5),
            None,
            "a policy"
        );
        let tracked = Plan::with_tracked(
            &s,
            vec![Tracked {
                policy: 1,
                unit: 0,
                reference: 0,
            }],
        );
        let mut v = s.clone();
        v.units[0].growth += 0.01;
        let tracked_v = Plan::with_tracked(
            &v,
            vec![Tracked {
                policy: 1,
                unit: 0,
                reference: 0,
            }],
        );
        assert_eq!(tracked.solo_unit(&tracked_v), None, "tracked units");

        // Drawn and correlated assumptions: a unit's stated key may move
        // (its trials' constants are its plan's own), a draw may not.
        let s = crate::scenario::load(&root.join("scenarios/reset_correlated.toml")).unwrap();
        let base = Plan::new(&s);
        let with = |f: &dyn Fn(&mut crate::model::Scenario)| {
            let mut v = s.clone();
            f(&mut v);
            base.solo_unit(&Plan::new(&v))
        };
        let drawn = |i: usize| !s.units[i].uncertain.is_empty();
        let j = (0..s.units.len()).find(|&i| drawn(i)).unwrap();
        assert_eq!(
            with(&|v| v.units[j].margin -= 0.01),
            Some(j),
            "a drawn unit's margin"
        );
        assert_eq!(with(&|v| v.units[0].volatility *= 1.1), Some(0));
        assert_eq!(
            with(&|v| v.units[j].uncertain[0].dist =
                crate::model::Dist::Uniform { min: 1.0, max: 2.0 }),
            None,
            "a distribution"
        );
        assert!(!s.correlations.is_empty());
        assert_eq!(
            with(&|v| {
                v.units[0].volatility *= 1.1;
                v.correlations[0].rank *= 0.5;
            }),
            None,
            "a correlation"
        );
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
        fn check<V: Vf64<Lane = Lane>>(t: V::Token) {
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
