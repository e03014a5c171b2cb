//! A mergeable quantile sketch with bounded relative error.
//!
//! The sketch is a DDSketch-style log histogram. Bucket boundaries are read
//! straight off the IEEE-754 bits: the bucket of a positive value `x` is
//! `x.to_bits() >> 44`, i.e. its binary exponent and the top 8 bits of its
//! mantissa. That gives 256 buckets per octave, each at most 1/256 wide in
//! relative terms, so any value reported from inside the bucket of the true
//! order statistic is within 0.39% of it, under the 0.5% the model contract
//! allows. No logarithm is computed on the hot path.
//!
//! Counts are integers, so merging two sketches is exact, commutative and
//! associative: results never depend on thread count or shard layout.

use serde::{Deserialize, Serialize};

/// Values with a magnitude below this are counted as zero. Money is in the
/// scenario's currency (CNY billions in the shipped scenarios), so this is a
/// billionth of a unit: far below anything reported.
pub const ZERO_THRESHOLD: f64 = 1e-9;

/// Bits dropped from an `f64` to find its bucket (52 mantissa bits - 8 kept).
const SHIFT: u32 = 44;

/// Buckets per page of a store (a power of two).
const PAGE_BITS: u32 = 6;
const PAGE: usize = 1 << PAGE_BITS;

/// Empty page-table entries added on the side a store grows, so that a
/// slowly widening range does not reallocate the table on every page.
const TABLE_SLACK: i64 = 4;

/// Counts for bucket indices, in pages of [`PAGE`] buckets allocated only
/// where a count lands. A dense array over the occupied range would do,
/// but the range of a metric that crosses zero spans dozens of octaves
/// (magnitudes down to [`ZERO_THRESHOLD`]) while its near-zero octaves hold
/// a value or two each, and that range keeps widening with the number of
/// trials: pages keep memory nearly flat in the number of trials, and
/// never move counts once they are allocated.
///
/// Serialised as the dense counts from the first to the last occupied
/// bucket (`{"offset", "counts"}`), so equal contents serialise
/// identically however the store grew; equality compares contents.
#[derive(Clone, Debug, Default)]
pub struct Store {
    /// Page number (bucket index >> PAGE_BITS) of `pages[0]`.
    first: i64,
    pages: Vec<Option<Box<[u64; PAGE]>>>,
}

/// The serialised form of a [`Store`].
#[derive(Serialize, Deserialize)]
struct DenseStore {
    /// Bucket index of `counts[0]`.
    offset: i64,
    counts: Vec<u64>,
}

impl Serialize for Store {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut dense = DenseStore {
            offset: 0,
            counts: Vec::new(),
        };
        if let (Some((lo, _)), Some((hi, _))) = (self.iter().next(), self.iter().next_back()) {
            dense.offset = lo;
            dense.counts = vec![0; (hi - lo + 1) as usize];
            for (i, c) in self.iter() {
                dense.counts[(i - lo) as usize] = c;
            }
        }
        dense.serialize(s)
    }
}

/// The bucket indices a finite magnitude at or above the zero threshold
/// can have: a stored bucket outside them was not written by a sketch.
fn valid_buckets() -> std::ops::RangeInclusive<i64> {
    bucket_of(ZERO_THRESHOLD)..=bucket_of(f64::MAX)
}

impl<'de> Deserialize<'de> for Store {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let dense = DenseStore::deserialize(d)?;
        // Read from a file (a partial result): buckets outside the range
        // values can reach would make the page table as long as the
        // forger likes, so they are refused, not allocated.
        let range = valid_buckets();
        let last = dense.offset.checked_add(dense.counts.len() as i64 - 1);
        let inside = range.contains(&dense.offset) && last.is_some_and(|l| range.contains(&l));
        if !dense.counts.is_empty() && !inside {
            return Err(serde::de::Error::custom(format!(
                "sketch buckets {}..+{} lie outside the range of finite values",
                dense.offset,
                dense.counts.len()
            )));
        }
        let mut store = Store::default();
        for (k, &c) in dense.counts.iter().enumerate() {
            if c > 0 {
                store.add(dense.offset + k as i64, c);
            }
        }
        Ok(store)
    }
}

impl PartialEq for Store {
    fn eq(&self, other: &Store) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Store {}

impl Store {
    /// The count of bucket `index`, allocated if need be.
    #[inline(always)]
    fn slot(&mut self, index: i64) -> &mut u64 {
        let p = (index >> PAGE_BITS).wrapping_sub(self.first) as u64 as usize;
        if p < self.pages.len() && self.pages[p].is_some() {
            let page = self.pages[p].as_mut().expect("checked just above");
            return &mut page[index as usize & (PAGE - 1)];
        }
        self.slot_slow(index)
    }

    #[cold]
    fn slot_slow(&mut self, index: i64) -> &mut u64 {
        let page = index >> PAGE_BITS;
        if self.pages.is_empty() {
            self.first = page - TABLE_SLACK;
            self.pages
                .resize_with((2 * TABLE_SLACK + 1) as usize, || None);
        } else if page < self.first {
            let first = page - TABLE_SLACK;
            let mut pages = Vec::with_capacity(self.pages.len() + (self.first - first) as usize);
            pages.resize_with((self.first - first) as usize, || None);
            pages.append(&mut self.pages);
            self.pages = pages;
            self.first = first;
        } else if page >= self.first + self.pages.len() as i64 {
            let len = (page - self.first + 1 + TABLE_SLACK) as usize;
            self.pages.resize_with(len, || None);
        }
        let entry = &mut self.pages[(page - self.first) as usize];
        let counts = entry.get_or_insert_with(|| Box::new([0; PAGE]));
        &mut counts[index as usize & (PAGE - 1)]
    }

    #[inline]
    fn add(&mut self, index: i64, n: u64) {
        *self.slot(index) += n;
    }

    /// Counts one value in bucket `index`.
    #[inline(always)]
    fn count(&mut self, index: i64) {
        let p = (index >> PAGE_BITS).wrapping_sub(self.first) as u64 as usize;
        match self.pages.get_mut(p) {
            Some(Some(page)) => page[index as usize & (PAGE - 1)] += 1,
            _ => *self.slot_slow(index) += 1,
        }
    }

    /// Counts each value of `xs` (all of this store's sign).
    fn count_each(&mut self, xs: &[f64]) {
        for &x in xs {
            self.count(bucket_of(x.abs()));
        }
    }

    /// Counts one value in each bucket listed (indices as u32).
    fn count_all(&mut self, at: &[u32]) {
        for &b in at {
            self.count(b as i64);
        }
    }

    fn merge(&mut self, other: &Store) {
        for (index, c) in other.iter() {
            *self.slot(index) += c;
        }
    }

    /// Occupied buckets, lowest index first.
    fn iter(&self) -> impl DoubleEndedIterator<Item = (i64, u64)> + '_ {
        self.pages.iter().enumerate().flat_map(move |(p, page)| {
            let base = (self.first + p as i64) << PAGE_BITS;
            page.iter().flat_map(move |counts| {
                counts
                    .iter()
                    .enumerate()
                    .filter(|(_, &c)| c > 0)
                    .map(move |(k, &c)| (base + k as i64, c))
            })
        })
    }

    /// Walking the buckets upwards (downwards if `down`) with `seen`
    /// values counted before them, the first bucket where `seen + count`
    /// passes `whole`, as (index, count), `seen` then being the values
    /// before it; None (and `seen` past every bucket) if there is none.
    /// Whole pages are skipped by their sums.
    fn locate(&self, whole: u64, seen: &mut u64, down: bool) -> Option<(i64, u64)> {
        let pages: Box<dyn Iterator<Item = (usize, &[u64; PAGE])>> = {
            let it = self
                .pages
                .iter()
                .enumerate()
                .filter_map(|(p, page)| page.as_deref().map(|c| (p, c)));
            if down {
                Box::new(it.rev())
            } else {
                Box::new(it)
            }
        };
        for (p, counts) in pages {
            let total: u64 = counts.iter().sum();
            if *seen + total <= whole {
                *seen += total;
                continue;
            }
            let base = (self.first + p as i64) << PAGE_BITS;
            let mut slots: Box<dyn Iterator<Item = (usize, &u64)>> = if down {
                Box::new(counts.iter().enumerate().rev())
            } else {
                Box::new(counts.iter().enumerate())
            };
            for (k, &c) in &mut slots {
                if c > 0 && *seen + c > whole {
                    return Some((base + k as i64, c));
                }
                *seen += c;
            }
        }
        None
    }

    /// Heap bytes held: the page table and the pages.
    fn heap_bytes(&self) -> usize {
        self.pages.capacity() * std::mem::size_of::<Option<Box<[u64; PAGE]>>>()
            + self.pages.iter().flatten().count() * std::mem::size_of::<[u64; PAGE]>()
    }

    /// The same contents in as few pages as they need.
    fn trimmed(&self) -> Store {
        let mut store = Store::default();
        for (index, c) in self.iter() {
            store.add(index, c);
        }
        store
    }
}

/// Lower bound of bucket `index` (a positive magnitude).
fn bucket_lower(index: i64) -> f64 {
    f64::from_bits((index as u64) << SHIFT)
}

/// The value reported for bucket `index`: the harmonic mean of its bounds,
/// which minimises the worst relative error over the bucket.
fn bucket_value(index: i64) -> f64 {
    let lo = bucket_lower(index);
    let hi = bucket_lower(index + 1);
    2.0 * lo * hi / (lo + hi)
}

#[inline]
fn bucket_of(magnitude: f64) -> i64 {
    (magnitude.to_bits() >> SHIFT) as i64
}

/// A quantile sketch over all of `f64` (negative values, zero and positive
/// values each have their own store).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sketch {
    positive: Store,
    negative: Store,
    zero: u64,
    count: u64,
}

impl Sketch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one finite value (non-finite values must be caught upstream).
    #[inline]
    pub fn add(&mut self, x: f64) {
        self.count += 1;
        if x >= ZERO_THRESHOLD {
            self.positive.add(bucket_of(x), 1);
        } else if x <= -ZERO_THRESHOLD {
            self.negative.add(bucket_of(-x), 1);
        } else {
            self.zero += 1;
        }
    }

    /// Adds every value of `xs` (all finite): the same counts as
    /// [`Sketch::add`] on each, faster. Each chunk is done in three tight
    /// passes: list each sign's bucket indices (branch-free), grow the
    /// stores once to the chunk's range, then count.
    pub fn add_slice(&mut self, xs: &[f64]) {
        self.add_slice_within(xs, f64::NEG_INFINITY, f64::INFINITY)
    }

    /// [`Sketch::add_slice`] for values known to lie in [lo, hi]: when
    /// that range has one sign, every value goes straight to its store.
    pub fn add_slice_within(&mut self, xs: &[f64], lo: f64, hi: f64) {
        if lo >= ZERO_THRESHOLD {
            self.positive.count_each(xs);
            self.count += xs.len() as u64;
            return;
        }
        if hi <= -ZERO_THRESHOLD {
            self.negative.count_each(xs);
            self.count += xs.len() as u64;
            return;
        }
        const CHUNK: usize = 255;
        let mut pos_at = [0u32; CHUNK + 1];
        let mut neg_at = [0u32; CHUNK + 1];
        let mut signed = 0usize;
        for chunk in xs.chunks(CHUNK) {
            let (mut np, mut nn) = (0usize, 0usize);
            for &x in chunk {
                // The bucket index of |x| fits in 19 bits.
                let b = bucket_of(x.abs()) as u32;
                // (np, nn <= CHUNK: the masks only spare bounds checks.)
                pos_at[np & CHUNK] = b;
                np += (x >= ZERO_THRESHOLD) as usize;
                neg_at[nn & CHUNK] = b;
                nn += (x <= -ZERO_THRESHOLD) as usize;
            }
            self.positive.count_all(&pos_at[..np]);
            self.negative.count_all(&neg_at[..nn]);
            signed += np + nn;
        }
        self.zero += (xs.len() - signed) as u64;
        self.count += xs.len() as u64;
    }

    pub fn merge(&mut self, other: &Sketch) {
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
        self.zero += other.zero;
        self.count += other.count;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether the counts add up (checked, never overflowing): the total
    /// is the zero count plus every bucket's. A sketch read from a file
    /// must pass before it is merged or read.
    pub fn is_consistent(&self) -> bool {
        let sum = |s: &Store| s.iter().try_fold(0u64, |a, (_, c)| a.checked_add(c));
        match (sum(&self.positive), sum(&self.negative)) {
            (Some(p), Some(n)) => p
                .checked_add(n)
                .and_then(|t| t.checked_add(self.zero))
                .is_some_and(|t| t == self.count),
            _ => false,
        }
    }

    /// Heap bytes held by the stores (what memory estimates are checked
    /// against).
    pub fn heap_bytes(&self) -> usize {
        self.positive.heap_bytes() + self.negative.heap_bytes()
    }

    /// The value of (fractional) rank `q * (count - 1)` (0-based). Within
    /// its bucket the value is interpolated linearly by rank, as if the
    /// bucket's values were evenly spread over it: the result stays inside
    /// the bucket (so within 1/256 = 0.39% of the true order statistic, under
    /// the contract's 0.5%), and a small shift of the distribution moves it
    /// smoothly rather than in steps of a whole bucket, which is what paired
    /// comparisons (sweeps, sensitivity) need. `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let q = q.clamp(0.0, 1.0);
        Some(self.value_at_rank(q * (self.count - 1) as f64))
    }

    fn value_at_rank(&self, rank: f64) -> f64 {
        let whole = rank.floor() as u64;
        // Where rank falls within a bucket of `c` values starting at `seen`:
        // 0 at its low edge, 1 at its high edge.
        let position = |seen: u64, c: u64| ((rank - seen as f64 + 0.5) / c as f64).clamp(0.0, 1.0);
        let mut seen = 0u64;
        // Negative values, most negative (largest magnitude) first.
        if let Some((index, c)) = self.negative.locate(whole, &mut seen, true) {
            let (lo, hi) = (bucket_lower(index), bucket_lower(index + 1));
            return -hi + (hi - lo) * position(seen, c);
        }
        seen += self.zero;
        if seen > whole {
            return 0.0;
        }
        if let Some((index, c)) = self.positive.locate(whole, &mut seen, false) {
            let (lo, hi) = (bucket_lower(index), bucket_lower(index + 1));
            return lo + (hi - lo) * position(seen, c);
        }
        // Unreachable when counts are consistent; return the top bucket.
        self.positive
            .iter()
            .next_back()
            .map(|(i, _)| bucket_value(i))
            .unwrap_or(0.0)
    }

    /// Mean of the lowest share `q` of the values (expected shortfall, or
    /// CVaR, of level `q` as a level, not a loss): the mean over the first
    /// `q x count` values in increasing order, a fractional count taking
    /// that fraction of the next value. Inside a bucket the values are
    /// taken as evenly spread over it, as [`Sketch::quantile`] does.
    ///
    /// Error: every value the mean is taken over is replaced by a point of
    /// its own bucket, at most 1/256 of its magnitude away, so the result
    /// is within 0.4% of the mean magnitude of the tail (plus the 1e-9 of
    /// values counted as zero) of the exact figure. `None` when empty or
    /// `q` is not in (0, 1].
    pub fn lower_tail_mean(&self, q: f64) -> Option<f64> {
        if self.count == 0 || !(q > 0.0 && q <= 1.0) {
            return None;
        }
        let mass = q * self.count as f64;
        let mut left = mass;
        let mut sum = 0.0;
        for (a, b, c) in self.buckets() {
            let c = c as f64;
            let t = left.min(c);
            // The lowest t of c values spread evenly over [a, b].
            sum += t * a + (b - a) * t * t / (2.0 * c);
            left -= t;
            if left <= 0.0 {
                break;
            }
        }
        Some(sum / mass)
    }

    /// Occupied buckets in increasing order of value, as
    /// `(lower bound, upper bound, count)`; zero is the degenerate bucket
    /// `(0, 0, n)`. Charts draw histograms and CDFs from this.
    pub fn buckets(&self) -> Vec<(f64, f64, u64)> {
        let mut out = Vec::new();
        for (index, c) in self.negative.iter().rev() {
            out.push((-bucket_lower(index + 1), -bucket_lower(index), c));
        }
        if self.zero > 0 {
            out.push((0.0, 0.0, self.zero));
        }
        for (index, c) in self.positive.iter() {
            out.push((bucket_lower(index), bucket_lower(index + 1), c));
        }
        out
    }

    /// A canonical copy (trimmed stores) for serialisation.
    pub fn canonical(&self) -> Sketch {
        Sketch {
            positive: self.positive.trimmed(),
            negative: self.negative.trimmed(),
            zero: self.zero,
            count: self.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
        let rank = (q * (sorted.len() - 1) as f64).round() as usize;
        sorted[rank]
    }

    #[test]
    fn relative_error_is_bounded() {
        // A spread of magnitudes and signs.
        let mut xs: Vec<f64> = (0..20_000)
            .map(|i| {
                let t = i as f64 / 20_000.0;
                (t * 30.0 - 12.0).exp() * if i % 3 == 0 { -1.0 } else { 1.0 }
            })
            .collect();
        let mut s = Sketch::new();
        xs.iter().for_each(|&x| s.add(x));
        xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for q in [0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0] {
            let want = exact_quantile(&xs, q);
            let got = s.quantile(q).unwrap();
            if want.abs() < ZERO_THRESHOLD {
                assert_eq!(got, 0.0);
            } else {
                let rel = (got - want).abs() / want.abs();
                assert!(rel < 0.004, "q={q} want={want} got={got} rel={rel}");
            }
        }
    }

    #[test]
    fn every_value_in_a_bucket_is_within_bound() {
        for index in [bucket_of(1.0), bucket_of(1.0) + 255, bucket_of(123.456)] {
            let lo = bucket_lower(index);
            let hi = bucket_lower(index + 1);
            let v = bucket_value(index);
            assert!((v - lo) / lo < 0.002 && (hi - v) / hi < 0.002);
        }
    }

    #[test]
    fn a_small_shift_moves_quantiles_smoothly() {
        // 0.1% is a quarter of a bucket: a bucket-valued median would not
        // move at all, or jump by a whole bucket.
        let xs: Vec<f64> = (0..10_001).map(|i| 1000.0 + i as f64 * 0.05).collect();
        let mut a = Sketch::new();
        let mut b = Sketch::new();
        for &x in &xs {
            a.add(x);
            b.add(x * 1.001);
        }
        let (ma, mb) = (a.quantile(0.5).unwrap(), b.quantile(0.5).unwrap());
        let shift = mb / ma - 1.0;
        assert!((shift - 0.001).abs() < 0.0003, "median moved by {shift}");
    }

    #[test]
    fn add_slice_counts_like_add() {
        let xs: Vec<f64> = (0..3000)
            .map(|i| match i % 7 {
                0 => 0.0,
                1 => 1e-12,
                2 => -(i as f64).powf(1.7),
                _ => (i as f64 * 0.37).sin() * 10f64.powi(i % 5),
            })
            .collect();
        let mut one = Sketch::new();
        xs.iter().for_each(|&x| one.add(x));
        let mut slice = Sketch::new();
        for chunk in xs.chunks(500) {
            slice.add_slice(chunk);
        }
        slice.add_slice(&[]);
        assert_eq!(one.canonical(), slice.canonical());
    }

    #[test]
    fn stores_serialise_densely_from_first_to_last_count() {
        // Bucket indices of magnitudes around 1 (valid ones: see below).
        const B: i64 = 0x3ff00 - 1024;
        let mut s = Store::default();
        for (i, n) in [(1000, 2), (1003, 1), (5000, 7), (999, 1)] {
            s.add(B + i, n);
        }
        let json = serde_json::to_string(&s).unwrap();
        let dense: DenseStore = serde_json::from_str(&json).unwrap();
        assert_eq!(dense.offset, B + 999);
        assert_eq!(dense.counts.len(), 5000 - 999 + 1);
        assert_eq!(dense.counts[..5], [1, 2, 0, 0, 1]);
        let back: Store = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
        assert_eq!(
            serde_json::to_string(&Store::default()).unwrap(),
            r#"{"offset":0,"counts":[]}"#
        );
        // Far apart counts take two pages, not the range between them.
        assert_eq!(s.pages.iter().filter(|p| p.is_some()).count(), 2);
    }

    #[test]
    fn stores_from_files_stay_in_the_range_of_values() {
        // A forged offset would make the page table as long as it says.
        for json in [
            r#"{"offset":9223372036854775000,"counts":[1]}"#,
            r#"{"offset":-5,"counts":[1]}"#,
            r#"{"offset":524031,"counts":[1,1]}"#,
        ] {
            assert!(serde_json::from_str::<Store>(json).is_err(), "{json}");
        }
        assert!(serde_json::from_str::<Store>(r#"{"offset":524031,"counts":[1]}"#).is_ok());
        let mut sk = Sketch::new();
        sk.add(1.0);
        assert!(sk.is_consistent());
        sk.count = 5;
        assert!(!sk.is_consistent());
    }

    #[test]
    fn merge_is_exact_and_order_free() {
        let xs: Vec<f64> = (0..5000).map(|i| (i as f64 * 0.37).sin() * 100.0).collect();
        let mut all = Sketch::new();
        xs.iter().for_each(|&x| all.add(x));
        let mut a = Sketch::new();
        let mut b = Sketch::new();
        for (i, &x) in xs.iter().enumerate() {
            if i % 2 == 0 {
                a.add(x)
            } else {
                b.add(x)
            }
        }
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab.canonical(), all.canonical());
        assert_eq!(ba.canonical(), all.canonical());
    }

    /// The exact expected shortfall of sorted values: the mean of the
    /// first q n, a fractional count taking that share of the next value.
    fn exact_tail_mean(sorted: &[f64], q: f64) -> f64 {
        let k = q * sorted.len() as f64;
        let whole = k.floor() as usize;
        let mut sum: f64 = sorted[..whole].iter().sum();
        if whole < sorted.len() {
            sum += (k - whole as f64) * sorted[whole];
        }
        sum / k
    }

    #[test]
    fn lower_tail_mean_is_within_its_bound() {
        let cases: Vec<Vec<f64>> = vec![
            // Positive, skewed (lognormal-like).
            (0..20_000)
                .map(|i| (((i as f64 * 0.6180339887).fract() - 0.5) * 3.0).exp() * 100.0)
                .collect(),
            // Crossing zero, heavy left tail.
            (0..10_007)
                .map(|i| {
                    let u = (i as f64 * 0.7548776662).fract();
                    if u < 0.03 {
                        -500.0 * (1.0 - u)
                    } else {
                        (u - 0.4) * 80.0
                    }
                })
                .collect(),
            // Tiny counts, zeros included.
            vec![0.0, 0.0, 3.0, -2.0, 7.5],
            vec![42.0],
        ];
        for xs in cases {
            let mut s = Sketch::new();
            xs.iter().for_each(|&x| s.add(x));
            let mut sorted = xs.clone();
            sorted.sort_by(f64::total_cmp);
            for q in [0.001, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0] {
                let want = exact_tail_mean(&sorted, q);
                let got = s.lower_tail_mean(q).unwrap();
                let k = q * sorted.len() as f64;
                let n = (k.ceil() as usize).min(sorted.len());
                let magnitude = sorted[..n].iter().map(|x| x.abs()).sum::<f64>() / n as f64;
                assert!(
                    (got - want).abs() <= magnitude * 0.004 + 1e-9,
                    "q={q} n={} want={want} got={got}",
                    xs.len()
                );
                // Never above the quantile of the same level.
                assert!(got <= s.quantile(q).unwrap() + magnitude * 0.004);
            }
        }
        assert_eq!(Sketch::new().lower_tail_mean(0.05), None);
        let mut one = Sketch::new();
        one.add(1.0);
        assert_eq!(one.lower_tail_mean(0.0), None);
        assert_eq!(one.lower_tail_mean(1.5), None);
    }

    #[test]
    fn quantiles_are_monotone_and_zero_is_kept() {
        let mut s = Sketch::new();
        for x in [0.0, 0.0, 0.0, 5.0, -5.0] {
            s.add(x);
        }
        assert_eq!(s.quantile(0.5), Some(0.0));
        let qs: Vec<f64> = [0.0, 0.25, 0.5, 0.75, 1.0]
            .iter()
            .map(|&q| s.quantile(q).unwrap())
            .collect();
        assert!(qs.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(Sketch::new().quantile(0.5), None);
    }
}
