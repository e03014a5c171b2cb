//! The arithmetic of the trial kernel, one value per lane: one trial
//! ([`Scalar`], width 1) or [`W`] trials in lockstep (width 4), so that the
//! step is written once (`super::trial`) for both.
//!
//! [`Vf64`] is the handful of operations the kernel needs; [`LaneStore`]
//! is where a value rests between operations (`f64`, or [`Lane`]) and each
//! lane's random stream. Three backends implement it with the same bits:
//!
//! - [`Scalar`]: one f64, the scalar reference (`super::reference`);
//! - [`Avx2`]: x86-64 AVX2 registers, chosen at run time when the CPU has
//!   AVX2 (made only with an [`Avx2Token`], which only feature detection
//!   creates: see [`Vf64`]);
//! - [`Portable`]: plain arrays of four, everywhere else.
//!
//! Every operation is an IEEE-754 one (correctly rounded add, sub, mul,
//! div, sqrt), a comparison, a bit operation or a table load, so all give
//! the same results on every machine; no FMA is ever used. `max` is
//! x86's `maxpd` (`a > b ? a : b`) in all. Masks are lanes with all bits
//! set (true) or clear (false).

use rand_distr::{Distribution, StandardNormal};

use super::math;
use super::rng::{trial_state, Xoshiro};

/// Lanes per vector.
pub const W: usize = 4;

/// One value per lane.
pub type Lane = [f64; W];

/// True in a mask lane: all bits set.
pub const TRUE: f64 = f64::from_bits(u64::MAX);

/// One xoshiro256++ stream per lane: `s[word][lane]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RngLanes {
    pub s: [[u64; W]; 4],
}

impl RngLanes {
    pub fn new(states: [[u64; 4]; W]) -> Self {
        RngLanes {
            s: std::array::from_fn(|w| std::array::from_fn(|j| states[j][w])),
        }
    }

    pub fn lane(&self, j: usize) -> Xoshiro {
        Xoshiro(std::array::from_fn(|w| self.s[w][j]))
    }

    pub fn set_lane(&mut self, j: usize, x: Xoshiro) {
        for w in 0..4 {
            self.s[w][j] = x.0[w];
        }
    }
}

/// Where one value per lane rests between operations: `f64` (one trial)
/// or [`Lane`] ([`W`] trials), with each lane's random stream.
pub trait LaneStore: Copy + std::fmt::Debug + Send + Sync + 'static {
    /// Lanes (trials) held.
    const N: usize;
    /// Each lane's xoshiro256++ stream.
    type Rng: Clone + std::fmt::Debug;
    fn splat(x: f64) -> Self;
    fn get(&self, j: usize) -> f64;
    fn set(&mut self, j: usize, x: f64);
    /// `f` of every lane.
    fn map(self, f: impl Fn(f64) -> f64) -> Self;
    /// The streams of trials `first ..` of `seed`, one a lane.
    fn streams(seed: u64, first: u64) -> Self::Rng;
    /// `f` of each lane's stream, lane by lane.
    fn sample(rng: &mut Self::Rng, f: impl FnMut(&mut Xoshiro) -> f64) -> Self;
}

impl LaneStore for f64 {
    const N: usize = 1;
    type Rng = Xoshiro;
    #[inline(always)]
    fn splat(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn get(&self, _: usize) -> f64 {
        *self
    }
    #[inline(always)]
    fn set(&mut self, _: usize, x: f64) {
        *self = x;
    }
    #[inline(always)]
    fn map(self, f: impl Fn(f64) -> f64) -> Self {
        f(self)
    }
    fn streams(seed: u64, first: u64) -> Xoshiro {
        Xoshiro(trial_state(seed, first))
    }
    #[inline(always)]
    fn sample(rng: &mut Xoshiro, mut f: impl FnMut(&mut Xoshiro) -> f64) -> Self {
        f(rng)
    }
}

impl LaneStore for Lane {
    const N: usize = W;
    type Rng = RngLanes;
    #[inline(always)]
    fn splat(x: f64) -> Self {
        [x; W]
    }
    #[inline(always)]
    fn get(&self, j: usize) -> f64 {
        self[j]
    }
    #[inline(always)]
    fn set(&mut self, j: usize, x: f64) {
        self[j] = x;
    }
    #[inline(always)]
    fn map(self, f: impl Fn(f64) -> f64) -> Self {
        <[f64; W]>::map(self, f)
    }
    fn streams(seed: u64, first: u64) -> RngLanes {
        RngLanes::new(std::array::from_fn(|j| {
            trial_state(seed, first.wrapping_add(j as u64))
        }))
    }
    #[inline(always)]
    fn sample(rng: &mut RngLanes, mut f: impl FnMut(&mut Xoshiro) -> f64) -> Self {
        std::array::from_fn(|j| {
            let mut x = rng.lane(j);
            let y = f(&mut x);
            rng.set_lane(j, x);
            y
        })
    }
}

/// Each lane's stream of a backend.
pub type RngOf<V> = <<V as Vf64>::Lane as LaneStore>::Rng;

/// What `rand_distr::StandardNormal` returns from each lane's stream, by
/// its own code (the scalar path, and the fallback of vector paths).
fn normal_lane(rng: &mut RngLanes, j: usize) -> f64 {
    let mut x = rng.lane(j);
    let z = StandardNormal.sample(&mut x);
    rng.set_lane(j, x);
    z
}

/// `rng.random::<f64>()` (rand 0.9's 53-bit uniform on [0, 1)) of a lane.
fn uniform_lane(rng: &mut RngLanes, j: usize) -> f64 {
    let mut x = rng.lane(j);
    let u = rand::Rng::random::<f64>(&mut x);
    rng.set_lane(j, x);
    u
}

/// The kernel's vector operations.
///
/// A backend may use instructions that not every CPU has (AVX2). So a
/// value is made only with the backend's [`Vf64::Token`], the proof that
/// the CPU running this process has them; once a value exists, its methods
/// need no further proof (and [`Vf64::token`] gives the proof back, to make
/// more values). [`Portable`]'s token is `()`; [`Avx2`]'s is an
/// [`Avx2Token`], which only feature detection creates.
pub trait Vf64: Copy {
    /// What it takes to make a value: proof that this backend's
    /// instructions run on this CPU.
    type Token: Copy;
    /// Where a value rests: `f64` or [`Lane`].
    type Lane: LaneStore;
    /// The proof a value carries (it could not exist without one).
    fn token(self) -> Self::Token;
    fn splat(t: Self::Token, x: f64) -> Self;
    fn load(t: Self::Token, a: &Self::Lane) -> Self;
    fn store(self, a: &mut Self::Lane);
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
    fn sqrt(self) -> Self;
    /// `self > o ? self : o` per lane (x86 `maxpd`; `o` when either is NaN).
    fn max(self, o: Self) -> Self;
    /// Masks of the ordered comparisons (false when either is NaN).
    fn lt(self, o: Self) -> Self;
    fn le(self, o: Self) -> Self;
    fn eq(self, o: Self) -> Self;
    fn and(self, o: Self) -> Self;
    /// `!self & o`.
    fn andnot(self, o: Self) -> Self;
    /// Per lane: `mask ? a : b`.
    fn select(mask: Self, a: Self, b: Self) -> Self;
    fn any(self) -> bool;
    fn all(self) -> bool;
    fn abs(self) -> Self;
    /// `math::exp` for lanes with |x| < `math::FAST_RANGE` (others: any
    /// value; [`exp`] redoes them).
    fn exp_in_range(self) -> Self;
    /// One `rand_distr::StandardNormal` draw from each lane's stream.
    fn normal(t: Self::Token, rng: &mut RngOf<Self>) -> Self;
    /// [`Vf64::normal`] in the lanes of `mask` only (0 elsewhere); the other
    /// lanes' streams do not move.
    fn normal_where(rng: &mut RngOf<Self>, mask: Self) -> Self;
    /// One `rng.random::<f64>()` from each lane's stream.
    fn uniform(t: Self::Token, rng: &mut RngOf<Self>) -> Self;
}

/// `math::exp` of every lane (the same bits).
#[inline(always)]
pub fn exp<V: Vf64>(x: V) -> V {
    let fast = x.exp_in_range();
    if x.abs().lt(V::splat(x.token(), math::FAST_RANGE)).all() {
        fast
    } else {
        let mut xs = V::Lane::splat(0.0);
        x.store(&mut xs);
        V::load(x.token(), &xs.map(math::exp))
    }
}

/// Plain arrays: any target.
#[derive(Clone, Copy, Debug)]
pub struct Portable(Lane);

fn mask(b: bool) -> f64 {
    if b {
        TRUE
    } else {
        0.0
    }
}

/// Whether mask lane `m` is set.
pub fn is_set(m: f64) -> bool {
    m.to_bits() != 0
}

impl Portable {
    #[inline(always)]
    fn map2(self, o: Self, f: impl Fn(f64, f64) -> f64) -> Self {
        Portable(std::array::from_fn(|j| f(self.0[j], o.0[j])))
    }
}

impl Vf64 for Portable {
    /// Plain arrays run anywhere: no proof needed.
    type Token = ();
    type Lane = Lane;

    #[inline(always)]
    fn token(self) {}
    #[inline(always)]
    fn splat(_: (), x: f64) -> Self {
        Portable([x; W])
    }
    #[inline(always)]
    fn load(_: (), a: &Lane) -> Self {
        Portable(*a)
    }
    #[inline(always)]
    fn store(self, a: &mut Lane) {
        *a = self.0;
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.map2(o, |a, b| a + b)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self.map2(o, |a, b| a - b)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self.map2(o, |a, b| a * b)
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self.map2(o, |a, b| a / b)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Portable(self.0.map(f64::sqrt))
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        self.map2(o, |a, b| if a > b { a } else { b })
    }
    #[inline(always)]
    fn lt(self, o: Self) -> Self {
        self.map2(o, |a, b| mask(a < b))
    }
    #[inline(always)]
    fn le(self, o: Self) -> Self {
        self.map2(o, |a, b| mask(a <= b))
    }
    #[inline(always)]
    fn eq(self, o: Self) -> Self {
        self.map2(o, |a, b| mask(a == b))
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        self.map2(o, |a, b| f64::from_bits(a.to_bits() & b.to_bits()))
    }
    #[inline(always)]
    fn andnot(self, o: Self) -> Self {
        self.map2(o, |a, b| f64::from_bits(!a.to_bits() & b.to_bits()))
    }
    #[inline(always)]
    fn select(mask: Self, a: Self, b: Self) -> Self {
        Portable(std::array::from_fn(|j| {
            if is_set(mask.0[j]) {
                a.0[j]
            } else {
                b.0[j]
            }
        }))
    }
    #[inline(always)]
    fn any(self) -> bool {
        self.0.iter().any(|&m| is_set(m))
    }
    #[inline(always)]
    fn all(self) -> bool {
        self.0.iter().all(|&m| is_set(m))
    }
    #[inline(always)]
    fn abs(self) -> Self {
        Portable(self.0.map(f64::abs))
    }
    #[inline(always)]
    fn exp_in_range(self) -> Self {
        Portable(
            self.0
                .map(|x| math::exp_in_range(if x.abs() < math::FAST_RANGE { x } else { 0.0 })),
        )
    }
    #[inline(always)]
    fn normal(_: (), rng: &mut RngLanes) -> Self {
        Portable(std::array::from_fn(|j| normal_lane(rng, j)))
    }
    #[inline(always)]
    fn normal_where(rng: &mut RngLanes, mask: Self) -> Self {
        Portable(std::array::from_fn(|j| {
            if is_set(mask.0[j]) {
                normal_lane(rng, j)
            } else {
                0.0
            }
        }))
    }
    #[inline(always)]
    fn uniform(_: (), rng: &mut RngLanes) -> Self {
        Portable(std::array::from_fn(|j| uniform_lane(rng, j)))
    }
}

/// One f64: one trial, the scalar reference (width 1). Masks and
/// operations as the other backends', lane 0 only.
#[derive(Clone, Copy, Debug)]
pub struct Scalar(f64);

impl Vf64 for Scalar {
    type Token = ();
    type Lane = f64;

    #[inline(always)]
    fn token(self) {}
    #[inline(always)]
    fn splat(_: (), x: f64) -> Self {
        Scalar(x)
    }
    #[inline(always)]
    fn load(_: (), a: &f64) -> Self {
        Scalar(*a)
    }
    #[inline(always)]
    fn store(self, a: &mut f64) {
        *a = self.0;
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Scalar(self.0 + o.0)
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Scalar(self.0 - o.0)
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Scalar(self.0 * o.0)
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        Scalar(self.0 / o.0)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        Scalar(self.0.sqrt())
    }
    #[inline(always)]
    fn max(self, o: Self) -> Self {
        Scalar(if self.0 > o.0 { self.0 } else { o.0 })
    }
    #[inline(always)]
    fn lt(self, o: Self) -> Self {
        Scalar(mask(self.0 < o.0))
    }
    #[inline(always)]
    fn le(self, o: Self) -> Self {
        Scalar(mask(self.0 <= o.0))
    }
    #[inline(always)]
    fn eq(self, o: Self) -> Self {
        Scalar(mask(self.0 == o.0))
    }
    #[inline(always)]
    fn and(self, o: Self) -> Self {
        Scalar(f64::from_bits(self.0.to_bits() & o.0.to_bits()))
    }
    #[inline(always)]
    fn andnot(self, o: Self) -> Self {
        Scalar(f64::from_bits(!self.0.to_bits() & o.0.to_bits()))
    }
    #[inline(always)]
    fn select(mask: Self, a: Self, b: Self) -> Self {
        if is_set(mask.0) {
            a
        } else {
            b
        }
    }
    #[inline(always)]
    fn any(self) -> bool {
        is_set(self.0)
    }
    #[inline(always)]
    fn all(self) -> bool {
        is_set(self.0)
    }
    #[inline(always)]
    fn abs(self) -> Self {
        Scalar(self.0.abs())
    }
    #[inline(always)]
    fn exp_in_range(self) -> Self {
        let x = self.0;
        Scalar(math::exp_in_range(if x.abs() < math::FAST_RANGE {
            x
        } else {
            0.0
        }))
    }
    #[inline(always)]
    fn normal(_: (), rng: &mut Xoshiro) -> Self {
        Scalar(StandardNormal.sample(rng))
    }
    #[inline(always)]
    fn normal_where(rng: &mut Xoshiro, mask: Self) -> Self {
        Scalar(if is_set(mask.0) {
            StandardNormal.sample(rng)
        } else {
            0.0
        })
    }
    #[inline(always)]
    fn uniform(_: (), rng: &mut Xoshiro) -> Self {
        Scalar(rand::Rng::random::<f64>(rng))
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
pub use avx2::{Avx2, Avx2Token};

#[cfg(test)]
mod tests;
