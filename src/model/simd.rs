//! Four f64 lanes at a time, for the batch kernel (`super::batch`).
//!
//! [`Vf64`] is the handful of operations the kernel needs. Two backends
//! implement it with the same bits:
//!
//! - [`Avx2`]: x86-64 AVX2 registers, chosen at run time when the CPU has
//!   AVX2;
//! - [`Portable`]: plain arrays, everywhere else.
//!
//! Every operation is an IEEE-754 one (correctly rounded add, sub, mul,
//! div, sqrt), a comparison, a bit operation or a table load, so both give
//! the same results on every machine; no FMA is ever used. `max` is
//! x86's `maxpd` (`a > b ? a : b`) in both. Masks are lanes with all bits
//! set (true) or clear (false).

use super::math;

/// Lanes per vector.
pub const W: usize = 4;

/// One value per lane.
pub type Lane = [f64; W];

/// True in a mask lane: all bits set.
pub const TRUE: f64 = f64::from_bits(u64::MAX);

/// The kernel's vector operations.
pub trait Vf64: Copy {
    fn splat(x: f64) -> Self;
    fn load(a: &Lane) -> Self;
    fn store(self, a: &mut Lane);
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
}

/// `math::exp` of every lane (the same bits).
#[inline(always)]
pub fn exp<V: Vf64>(x: V) -> V {
    let fast = x.exp_in_range();
    if x.abs().lt(V::splat(math::FAST_RANGE)).all() {
        fast
    } else {
        let (mut xs, mut ys) = ([0.0; W], [0.0; W]);
        x.store(&mut xs);
        fast.store(&mut ys);
        for (y, &x) in ys.iter_mut().zip(&xs) {
            *y = math::exp(x);
        }
        V::load(&ys)
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

fn is_set(m: f64) -> bool {
    m.to_bits() != 0
}

impl Portable {
    #[inline(always)]
    fn map2(self, o: Self, f: impl Fn(f64, f64) -> f64) -> Self {
        Portable(std::array::from_fn(|j| f(self.0[j], o.0[j])))
    }
}

impl Vf64 for Portable {
    #[inline(always)]
    fn splat(x: f64) -> Self {
        Portable([x; W])
    }
    #[inline(always)]
    fn load(a: &Lane) -> Self {
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
}

#[cfg(target_arch = "x86_64")]
pub use avx2::Avx2;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{math, Lane, Vf64};
    use std::arch::x86_64::*;

    /// Four lanes in an AVX register.
    ///
    /// Only `super::super::batch` creates values of this type, and only on
    /// the code path it takes after `is_x86_feature_detected!("avx2")`
    /// (inside a `#[target_feature(enable = "avx2")]` function, where these
    /// methods are inlined). That check is what makes the intrinsics below
    /// sound.
    #[derive(Clone, Copy, Debug)]
    pub struct Avx2(__m256d);

    impl Vf64 for Avx2 {
        #[inline(always)]
        fn splat(x: f64) -> Self {
            unsafe { Avx2(_mm256_set1_pd(x)) }
        }
        #[inline(always)]
        fn load(a: &Lane) -> Self {
            unsafe { Avx2(_mm256_loadu_pd(a.as_ptr())) }
        }
        #[inline(always)]
        fn store(self, a: &mut Lane) {
            unsafe { _mm256_storeu_pd(a.as_mut_ptr(), self.0) }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            unsafe { Avx2(_mm256_add_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            unsafe { Avx2(_mm256_sub_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            unsafe { Avx2(_mm256_mul_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn div(self, o: Self) -> Self {
            unsafe { Avx2(_mm256_div_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn sqrt(self) -> Self {
            unsafe { Avx2(_mm256_sqrt_pd(self.0)) }
        }
        #[inline(always)]
        fn max(self, o: Self) -> Self {
            unsafe { Avx2(_mm256_max_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn lt(self, o: Self) -> Self {
            unsafe { Avx2(_mm256_cmp_pd::<_CMP_LT_OQ>(self.0, o.0)) }
        }
        #[inline(always)]
        fn le(self, o: Self) -> Self {
            unsafe { Avx2(_mm256_cmp_pd::<_CMP_LE_OQ>(self.0, o.0)) }
        }
        #[inline(always)]
        fn eq(self, o: Self) -> Self {
            unsafe { Avx2(_mm256_cmp_pd::<_CMP_EQ_OQ>(self.0, o.0)) }
        }
        #[inline(always)]
        fn and(self, o: Self) -> Self {
            unsafe { Avx2(_mm256_and_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn andnot(self, o: Self) -> Self {
            unsafe { Avx2(_mm256_andnot_pd(self.0, o.0)) }
        }
        #[inline(always)]
        fn select(mask: Self, a: Self, b: Self) -> Self {
            unsafe { Avx2(_mm256_blendv_pd(b.0, a.0, mask.0)) }
        }
        #[inline(always)]
        fn any(self) -> bool {
            unsafe { _mm256_movemask_pd(self.0) != 0 }
        }
        #[inline(always)]
        fn all(self) -> bool {
            unsafe { _mm256_movemask_pd(self.0) == 0b1111 }
        }
        #[inline(always)]
        fn abs(self) -> Self {
            unsafe {
                let m = _mm256_castsi256_pd(_mm256_set1_epi64x(i64::MAX));
                Avx2(_mm256_and_pd(self.0, m))
            }
        }
        /// `math::exp_in_range`, operation for operation.
        #[inline(always)]
        fn exp_in_range(self) -> Self {
            unsafe {
                let sp = |x: f64| _mm256_set1_pd(x);
                let x = self.0;
                let z = _mm256_mul_pd(sp(math::INV_LN2_N), x);
                let kd = _mm256_add_pd(z, sp(math::SHIFT));
                let ki = _mm256_castpd_si256(kd);
                let kd = _mm256_sub_pd(kd, sp(math::SHIFT));
                let r = _mm256_add_pd(
                    _mm256_add_pd(x, _mm256_mul_pd(kd, sp(math::NEG_LN2_HI_N))),
                    _mm256_mul_pd(kd, sp(math::NEG_LN2_LO_N)),
                );
                // Table entries (tail, bits) of each lane, as one 16-byte
                // load per lane: cheaper than two gathers on AMD cores.
                let idx = _mm256_slli_epi64::<1>(_mm256_and_si256(ki, _mm256_set1_epi64x(127)));
                let table = math::TABLE.as_ptr() as *const f64;
                let at = |i: i64| _mm_loadu_pd(table.add(i as usize));
                let (lo, hi) = (
                    _mm256_castsi256_si128(idx),
                    _mm256_extracti128_si256::<1>(idx),
                );
                let e0 = at(_mm_cvtsi128_si64(lo));
                let e1 = at(_mm_extract_epi64::<1>(lo));
                let e2 = at(_mm_cvtsi128_si64(hi));
                let e3 = at(_mm_extract_epi64::<1>(hi));
                let x02 = _mm256_set_m128d(e2, e0);
                let x13 = _mm256_set_m128d(e3, e1);
                let tail = _mm256_unpacklo_pd(x02, x13);
                let sbits = _mm256_castpd_si256(_mm256_unpackhi_pd(x02, x13));
                let sbits = _mm256_add_epi64(sbits, _mm256_slli_epi64::<45>(ki));
                let r2 = _mm256_mul_pd(r, r);
                let p1 = _mm256_mul_pd(
                    r2,
                    _mm256_add_pd(sp(math::C2), _mm256_mul_pd(r, sp(math::C3))),
                );
                let p2 = _mm256_mul_pd(
                    _mm256_mul_pd(r2, r2),
                    _mm256_add_pd(sp(math::C4), _mm256_mul_pd(r, sp(math::C5))),
                );
                let tmp = _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(tail, r), p1), p2);
                let scale = _mm256_castsi256_pd(sbits);
                Avx2(_mm256_add_pd(scale, _mm256_mul_pd(scale, tmp)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(n: usize, lo: f64, hi: f64) -> Vec<f64> {
        let mut s = 7u64;
        (0..n)
            .map(|_| {
                s = crate::engine::rng::mix(s);
                lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect()
    }

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// Every operation of a backend, lane by lane, against scalar f64.
    fn check_backend<V: Vf64>() {
        let mut xs = args(4000, -30.0, 30.0);
        xs.extend([
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            600.0,
            -800.0,
            1e-310,
        ]);
        let ys = args(xs.len(), -3.0, 3.0);
        for (xc, yc) in xs.chunks_exact(W).zip(ys.chunks_exact(W)) {
            let (x, y): (Lane, Lane) = (xc.try_into().unwrap(), yc.try_into().unwrap());
            let (vx, vy) = (V::load(&x), V::load(&y));
            let out = |v: V| {
                let mut a = [0.0; W];
                v.store(&mut a);
                a
            };
            for j in 0..W {
                let (a, b) = (x[j], y[j]);
                assert!(same(out(vx.add(vy))[j], a + b));
                assert!(same(out(vx.sub(vy))[j], a - b));
                assert!(same(out(vx.mul(vy))[j], a * b));
                assert!(same(out(vx.div(vy))[j], a / b));
                assert!(same(out(vx.sqrt())[j], a.sqrt()));
                assert!(same(out(vx.max(vy))[j], if a > b { a } else { b }));
                assert!(same(out(vx.abs())[j], a.abs()));
                assert!(same(out(exp(vx))[j], math::exp(a)), "exp({a})");
                assert_eq!(is_set(out(vx.lt(vy))[j]), a < b);
                assert_eq!(is_set(out(vx.le(vy))[j]), a <= b);
                assert_eq!(is_set(out(vx.eq(vy))[j]), a == b);
                let m = vx.lt(vy);
                assert!(same(
                    out(V::select(m, vx, vy))[j],
                    if a < b { a } else { b }
                ));
                let n = vx.le(V::splat(0.0));
                assert_eq!(is_set(out(m.and(n))[j]), a < b && a <= 0.0);
                assert_eq!(
                    is_set(out(m.andnot(n))[j]),
                    (a >= b || a.is_nan() || b.is_nan()) && a <= 0.0
                );
            }
            let m = vx.lt(vy);
            assert_eq!(m.any(), (0..W).any(|j| x[j] < y[j]));
            assert_eq!(m.all(), (0..W).all(|j| x[j] < y[j]));
        }
    }

    #[test]
    fn portable_matches_scalar() {
        check_backend::<Portable>();
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_matches_scalar() {
        if std::arch::is_x86_feature_detected!("avx2") {
            check_backend::<Avx2>();
        }
    }
}
