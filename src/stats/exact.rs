//! Exact, order-independent summation of `f64` values.
//!
//! Results must be bit-identical whatever the thread count and however a run
//! is sharded. Quantile sketches merge exactly (integer counts), but floating
//! point addition is not associative, so sums of moments would depend on the
//! order in which partial results meet. [`ExactSum`] removes that dependence:
//! it keeps the exact value of the sum as a fixed-point integer wide enough
//! for the whole `f64` range (a "small superaccumulator" in Radford Neal's
//! sense), so adding the same values in any order, or merging partial sums in
//! any grouping, yields the same state and therefore the same rounded result.

use serde::{Deserialize, Serialize};

/// Bits per chunk. Each chunk is an `i64` holding a signed multiple of
/// 2^(CHUNK_BITS * i - 1074); carries are propagated lazily.
const CHUNK_BITS: u32 = 32;
/// Enough chunks to hold any finite f64 shifted by up to 31 bits, plus carry.
const CHUNKS: usize = 67;
/// Adds allowed between two carry propagations (each add moves a chunk by
/// less than 2^32, so 2^30 adds keep every chunk far from overflow).
const ADDS_BEFORE_NORMALIZE: u32 = 1 << 30;

/// The exact sum of a multiset of finite `f64` values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactSum {
    chunks: Vec<i64>,
    pending: u32,
    /// Set when a non-finite value was added; the sum is then meaningless.
    non_finite: bool,
}

impl Default for ExactSum {
    fn default() -> Self {
        Self::new()
    }
}

impl ExactSum {
    pub fn new() -> Self {
        ExactSum {
            chunks: vec![0; CHUNKS],
            pending: 0,
            non_finite: false,
        }
    }

    /// Heap bytes held (the chunks).
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<i64>()
    }

    /// Adds `x` exactly.
    #[inline]
    pub fn add(&mut self, x: f64) {
        if x == 0.0 {
            return;
        }
        if !x.is_finite() {
            self.non_finite = true;
            return;
        }
        let bits = x.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as u32;
        let frac = bits & ((1u64 << 52) - 1);
        // x = mant * 2^(pos - 1074) with pos >= 0.
        let (mant, pos) = if biased == 0 {
            (frac, 0u32)
        } else {
            (frac | (1u64 << 52), biased - 1)
        };
        let chunk = (pos / CHUNK_BITS) as usize;
        let shifted = (mant as u128) << (pos % CHUNK_BITS);
        let lo = (shifted & 0xffff_ffff) as i64;
        let mid = ((shifted >> 32) & 0xffff_ffff) as i64;
        let hi = (shifted >> 64) as i64;
        if x < 0.0 {
            self.chunks[chunk] -= lo;
            self.chunks[chunk + 1] -= mid;
            self.chunks[chunk + 2] -= hi;
        } else {
            self.chunks[chunk] += lo;
            self.chunks[chunk + 1] += mid;
            self.chunks[chunk + 2] += hi;
        }
        self.pending += 1;
        if self.pending >= ADDS_BEFORE_NORMALIZE {
            self.normalize();
        }
    }

    /// Adds another exact sum (exact, so grouping never matters).
    pub fn merge(&mut self, other: &ExactSum) {
        let mut o = other.clone();
        o.normalize();
        self.normalize();
        for (a, b) in self.chunks.iter_mut().zip(&o.chunks) {
            *a += b;
        }
        self.non_finite |= o.non_finite;
        self.normalize();
    }

    /// Propagates carries so every chunk but the last lies in [0, 2^32).
    /// The representation is then unique for a given exact value.
    fn normalize(&mut self) {
        let mut carry = 0i64;
        for c in self.chunks.iter_mut() {
            let v = *c + carry;
            carry = v >> CHUNK_BITS;
            *c = v - (carry << CHUNK_BITS);
        }
        // The top chunk keeps the sign: fold the final carry back into it.
        let last = self.chunks.len() - 1;
        self.chunks[last] += carry << CHUNK_BITS;
        self.pending = 0;
    }

    /// The sum rounded to `f64`. Deterministic: equal exact sums give equal
    /// results. `NaN` when a non-finite value was added.
    pub fn value(&self) -> f64 {
        if self.non_finite {
            return f64::NAN;
        }
        let mut n = self.clone();
        n.normalize();
        let negative = n.chunks[CHUNKS - 1] < 0;
        if negative {
            for c in n.chunks.iter_mut() {
                *c = -*c;
            }
            n.normalize();
        }
        // Sum the magnitude from the most significant chunk down; every
        // chunk is now in [0, 2^32).
        let mut acc = 0.0f64;
        for (i, &c) in n.chunks.iter().enumerate().rev() {
            if c != 0 {
                let scale = (CHUNK_BITS as i32) * (i as i32) - 1074;
                acc += (c as f64) * pow2(scale);
            }
        }
        if negative {
            -acc
        } else {
            acc
        }
    }

    pub fn has_non_finite(&self) -> bool {
        self.non_finite
    }

    /// Whether a sum read from a file (a partial result) is one this
    /// program could have built: the right number of chunks, chunks and
    /// pending count within what adds can reach, and a value within the
    /// range of finite sums. Only such sums are merged: a forged one could
    /// otherwise overflow a chunk (a panic) or index past the chunks.
    pub fn is_valid(&self) -> bool {
        if self.chunks.len() != CHUNKS || self.pending >= ADDS_BEFORE_NORMALIZE {
            return false;
        }
        // Each add moves a chunk by less than 2^32.
        let limit = ((self.pending as u64 + 1) << 33).min(1 << 61);
        if self.chunks.iter().any(|c| c.unsigned_abs() > limit) {
            return false;
        }
        let mut n = self.clone();
        n.normalize();
        // Sums of up to 10^10 finite values stay far below 2^40 in the
        // top chunk (it holds 2^1038 and up).
        n.chunks[CHUNKS - 1].unsigned_abs() < 1 << 40
    }
}

/// 2^e for any e in the range the chunks span, exact.
fn pow2(e: i32) -> f64 {
    if e >= -1022 {
        if e > 1023 {
            f64::INFINITY
        } else {
            f64::from_bits(((e + 1023) as u64) << 52)
        }
    } else {
        // Subnormal powers of two.
        f64::from_bits(1u64 << (e + 1074))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_exactly_where_floats_do_not() {
        let mut s = ExactSum::new();
        for x in [1e20, 1.0, -1e20] {
            s.add(x);
        }
        assert_eq!(s.value(), 1.0);
        assert_eq!(1e20 + 1.0 - 1e20, 0.0, "plain floats lose the 1");
    }

    #[test]
    fn order_and_grouping_do_not_matter() {
        let xs: Vec<f64> = (0..2000)
            .map(|i| ((i * 7919) % 1013) as f64 * 1.37e-3 - 0.5 + (i as f64).sin() * 1e6)
            .collect();
        let mut a = ExactSum::new();
        xs.iter().for_each(|&x| a.add(x));
        let mut b = ExactSum::new();
        xs.iter().rev().for_each(|&x| b.add(x));
        let mut c1 = ExactSum::new();
        let mut c2 = ExactSum::new();
        for (i, &x) in xs.iter().enumerate() {
            if i % 3 == 0 {
                c1.add(x)
            } else {
                c2.add(x)
            }
        }
        c2.merge(&c1);
        assert_eq!(a.value().to_bits(), b.value().to_bits());
        assert_eq!(a.value().to_bits(), c2.value().to_bits());
        let mut an = a.clone();
        an.normalize();
        let mut cn = c2.clone();
        cn.normalize();
        assert_eq!(an, cn);
    }

    #[test]
    fn extremes_and_negatives() {
        let mut s = ExactSum::new();
        s.add(f64::MIN_POSITIVE / 4.0);
        s.add(-3.5);
        s.add(1e300);
        s.add(-1e300);
        assert_eq!(s.value(), -3.5);
        let mut t = ExactSum::new();
        t.add(-0.1);
        t.add(-0.2);
        assert!((t.value() + 0.3).abs() < 1e-16);
        let mut u = ExactSum::new();
        u.add(f64::NAN);
        assert!(u.value().is_nan());
    }
}
