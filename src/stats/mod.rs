//! Streaming statistics: everything a run reports is aggregated as trials
//! are produced, so memory does not grow with the number of trials.
//!
//! Each metric has a [`MetricAcc`]: a quantile [`Sketch`], exact sums of the
//! first two (shifted) moments, and min/max. Within one fixed-size trial block
//! the moments are summed in plain `f64`, in trial order, which is
//! deterministic because the block's trials are; at the end of the block
//! those partial sums go into [`ExactSum`]s. Everything that crosses a block
//! boundary is therefore exact, and merging accumulators in any order or
//! grouping (threads, shards) yields bit-identical results.

mod metric;
pub use metric::*;

pub mod exact;
pub mod histogram;
pub mod sketch;

pub use exact::ExactSum;
pub use sketch::Sketch;

use serde::{Deserialize, Serialize};

/// The quantile levels every summary row reports.
pub const QUANTILES: [f64; 5] = [0.05, 0.25, 0.50, 0.75, 0.95];

/// The aggregate of a set of metrics over trials, plus counts of trials in
/// which given metrics were positive (used for the probability of beating
/// the baseline).
///
/// Moments and extremes are taken as trials arrive. For the sketches,
/// values are buffered metric-major, [`SKETCH_BATCH`] trials at a time,
/// and then counted metric by metric: one histogram stays in cache while
/// a run of its values goes in, instead of every trial touching every
/// histogram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accumulator {
    /// Per metric: the shift moments are taken around (the pilot trial's
    /// value), so that variance is computed without cancellation.
    pub shift: Vec<f64>,
    pub metrics: Vec<MetricAcc>,
    /// Metric indices whose positive outcomes are counted.
    pub counted: Vec<usize>,
    /// Per entry of `counted`: trials with a value > 0.
    pub positive: Vec<u64>,
    pub trials: u64,
    /// First non-finite value seen: (metric index, trial index).
    pub non_finite: Option<(usize, u64)>,
    /// Values not yet counted in the sketches, metric-major (not
    /// serialised), and how many trials they are.
    #[serde(skip)]
    buffer: Vec<f64>,
    #[serde(skip)]
    pending: usize,
    /// Trials of the block under way, and the index of the first of them.
    #[serde(skip)]
    buffered: usize,
    #[serde(skip)]
    first_trial: u64,
    /// Per metric, for the block under way: the plain-float moment sums,
    /// taken as trials arrive, in trial order, and the extremes so far.
    #[serde(skip)]
    running: Vec<Running>,
    /// Per metric: a pending value is not finite.
    #[serde(skip)]
    pending_non_finite: Vec<bool>,
}

/// One metric's running figures for the block under way: moment sums
/// (plain floats, in trial order) and the extremes so far.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Running {
    s1: f64,
    s2: f64,
    lo: f64,
    hi: f64,
}

impl Running {
    /// Nothing added yet.
    const ZERO: Running = Running {
        s1: 0.0,
        s2: 0.0,
        lo: 0.0,
        hi: 0.0,
    };

    /// Adds `xs`, in order, if they are all finite (and returns true);
    /// otherwise changes nothing.
    #[inline(always)]
    fn add(&mut self, xs: &[f64], k: f64) -> bool {
        let mut r = *self;
        let mut finite = true;
        for &x in xs {
            finite &= x.is_finite();
            // `lo.min(x)` and `hi.max(x)` for lo, hi not NaN (they never
            // are), as one instruction each.
            r.lo = if x < r.lo { x } else { r.lo };
            r.hi = if x > r.hi { x } else { r.hi };
            let d = x - k;
            r.s1 += d;
            r.s2 += d * d;
        }
        if finite {
            *self = r;
        }
        finite
    }
}

/// Trials buffered before values are folded in; the engine closes blocks
/// (of this size at most) itself.
pub const BUFFER_TRIALS: usize = 1024;

/// Trials whose values are buffered before they are counted in the
/// sketches (any number gives the same counts). Measured on bench12
/// (208 metrics): 64 to 512 are within a few percent of each other, 512
/// slightly best; a whole block (1024) was slower, its buffer (1.7 MB)
/// being read back from L3.
pub const SKETCH_BATCH: usize = 512;

/// Distance between two metrics' rows in the buffer: one cache line more
/// than a row, so that the rows do not all map to the same cache sets
/// (a row of a power of two values is a multiple of the set strides).
const ROW: usize = SKETCH_BATCH + 8;

impl Accumulator {
    pub fn new(shift: Vec<f64>, counted: Vec<usize>) -> Self {
        let n = shift.len();
        Accumulator {
            metrics: vec![MetricAcc::default(); n],
            positive: vec![0; counted.len()],
            counted,
            shift,
            trials: 0,
            non_finite: None,
            buffer: Vec::new(),
            pending: 0,
            buffered: 0,
            first_trial: 0,
            running: Vec::new(),
            pending_non_finite: Vec::new(),
        }
    }

    /// Adds one trial's values (one per metric, in metric order). Trials of
    /// one block must come in order and the block be closed with
    /// [`Accumulator::end_block`].
    #[inline]
    pub fn push_trial(&mut self, trial: u64, values: &[f64]) {
        let (lanes, _) = values.as_chunks::<1>();
        self.push_lanes(trial, lanes, 1);
    }

    /// Adds `count` consecutive trials from `first_trial` on, given
    /// slot-major: `values[metric][lane]` for lanes `0..count` (the lanes
    /// of a batch kernel). The same as `count` calls of
    /// [`Accumulator::push_trial`].
    ///
    /// The moments and extremes are taken here, while the values are in
    /// cache and every metric is an independent chain of additions (so
    /// they overlap); the values are kept, metric-major, only for the
    /// sketches, which [`Accumulator::end_block`] fills.
    #[inline]
    pub fn push_lanes<const L: usize>(
        &mut self,
        first_trial: u64,
        values: &[[f64; L]],
        count: usize,
    ) {
        assert_eq!(values.len(), self.metrics.len());
        assert!(count <= L && count <= SKETCH_BATCH);
        if self.buffered + count > BUFFER_TRIALS {
            self.end_block();
        }
        if self.buffer.is_empty() {
            let n = self.metrics.len();
            self.buffer = vec![0.0; n * ROW];
            self.running = vec![Running::ZERO; n];
            self.pending_non_finite = vec![false; n];
        }
        if self.buffered == 0 {
            self.first_trial = first_trial;
            for (run, acc) in self.running.iter_mut().zip(&self.metrics) {
                *run = Running {
                    s1: 0.0,
                    s2: 0.0,
                    lo: acc.min,
                    hi: acc.max,
                };
            }
        }
        if self.pending + count > SKETCH_BATCH {
            self.flush_sketches();
        }
        let t = self.pending;
        let rows = self.buffer.chunks_exact_mut(ROW);
        let mut all_finite = true;
        if count == L {
            // Fixed length: unrolled; the copy is a few vector moves.
            for ((v, run), (row, &k)) in values
                .iter()
                .zip(self.running.iter_mut())
                .zip(rows.zip(&self.shift))
            {
                row[t..t + L].copy_from_slice(v);
                all_finite &= run.add(v, k);
            }
        } else {
            for ((v, run), (row, &k)) in values
                .iter()
                .zip(self.running.iter_mut())
                .zip(rows.zip(&self.shift))
            {
                row[t..t + count].copy_from_slice(&v[..count]);
                all_finite &= run.add(&v[..count], k);
            }
        }
        if !all_finite {
            // Rare: in the metrics left unchanged above, leave the
            // non-finite values out and note the first.
            for (m, (v, (run, &k))) in values
                .iter()
                .zip(self.running.iter_mut().zip(&self.shift))
                .enumerate()
            {
                if v[..count].iter().all(|x| x.is_finite()) {
                    continue;
                }
                self.pending_non_finite[m] = true;
                for (j, &x) in v[..count].iter().enumerate() {
                    if x.is_finite() {
                        run.add(&[x], k);
                        continue;
                    }
                    let trial = first_trial + j as u64;
                    if self.non_finite.is_none_or(|(_, f)| trial < f) {
                        self.non_finite = Some((m, trial));
                    }
                }
            }
        }
        for (c, &i) in self.positive.iter_mut().zip(self.counted.iter()) {
            *c += values[i][..count].iter().filter(|&&x| x > 0.0).count() as u64;
        }
        self.pending += count;
        self.buffered += count;
        self.trials += count as u64;
    }

    /// Counts the values buffered so far in the sketches now rather than
    /// later (the counts are the same either way): for a caller that
    /// fills several accumulators in turn, while this one's buffer is in
    /// cache.
    pub fn flush(&mut self) {
        if self.pending > 0 {
            self.flush_sketches();
        }
    }

    /// Swaps this accumulator's value buffer with `buf` (another
    /// accumulator's of as many metrics, or an empty one), with no values
    /// pending ([`Accumulator::flush`] first): accumulators filled in turn
    /// by one worker pass one buffer around, which stays in cache, instead
    /// of each keeping its own. The figures do not change.
    pub fn swap_buffer(&mut self, buf: &mut Vec<f64>) {
        assert_eq!(self.pending, 0, "swap_buffer with values pending");
        std::mem::swap(&mut self.buffer, buf);
        let n = self.metrics.len();
        if self.buffer.len() != n * ROW {
            self.buffer = vec![0.0; n * ROW];
        }
        if self.running.len() != n {
            self.running = vec![Running::ZERO; n];
            self.pending_non_finite = vec![false; n];
        }
    }

    /// Counts the buffered values in the sketches.
    fn flush_sketches(&mut self) {
        let n = self.pending;
        for (m, ((acc, run), bad)) in self
            .metrics
            .iter_mut()
            .zip(&self.running)
            .zip(self.pending_non_finite.iter_mut())
            .enumerate()
        {
            let xs = &self.buffer[m * ROW..m * ROW + n];
            if *bad {
                for &x in xs.iter().filter(|x| x.is_finite()) {
                    acc.sketch.add(x);
                }
                *bad = false;
            } else {
                // Every value lies in [lo, hi] (the extremes so far, these
                // values included), which tells the sketch their signs.
                acc.sketch.add_slice_within(xs, run.lo, run.hi);
            }
        }
        self.pending = 0;
    }

    /// Closes the current block: its values go into the sketches, and its
    /// moment sums (plain floats, in trial order) become exact.
    pub fn end_block(&mut self) {
        let n = self.buffered;
        if n == 0 {
            return;
        }
        if self.pending > 0 {
            self.flush_sketches();
        }
        for (acc, run) in self.metrics.iter_mut().zip(&self.running) {
            acc.min = run.lo;
            acc.max = run.hi;
            acc.s1.add(run.s1);
            acc.s2.add(run.s2);
        }
        self.buffered = 0;
    }

    /// Merges another accumulator over disjoint whole blocks.
    pub fn merge(&mut self, other: &Accumulator) {
        debug_assert_eq!(other.buffered, 0, "merge of an open block");
        for (a, b) in self.metrics.iter_mut().zip(&other.metrics) {
            a.merge(b);
        }
        for (a, b) in self.positive.iter_mut().zip(&other.positive) {
            *a += b;
        }
        self.trials += other.trials;
        self.non_finite = match (self.non_finite, other.non_finite) {
            (Some(a), Some(b)) => Some(if b.1 < a.1 { b } else { a }),
            (a, b) => a.or(b),
        };
    }

    /// The first metric whose moment sums overflowed, if any (see
    /// [`MetricAcc::moments_overflow`]).
    pub fn moments_overflow(&self) -> Option<usize> {
        self.metrics
            .iter()
            .position(|m| m.sketch.count() > 0 && m.moments_overflow())
    }

    pub fn stats(&self, metric: usize) -> Stats {
        self.metrics[metric].stats(self.shift[metric])
    }

    /// Bytes held, heap and structs (what memory estimates are checked
    /// against).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.metrics.capacity() * size_of::<MetricAcc>()
            + self
                .metrics
                .iter()
                .map(MetricAcc::heap_bytes)
                .sum::<usize>()
            + self.shift.capacity() * size_of::<f64>()
            + self.buffer.capacity() * size_of::<f64>()
            + self.running.capacity() * size_of::<Running>()
            + self.pending_non_finite.capacity()
            + (self.counted.capacity() + self.positive.capacity()) * 8
    }

    /// Ready for use after deserialisation (buffers are not serialised).
    pub fn ready(self) -> Self {
        self
    }

    /// A canonical copy for serialisation (trimmed sketch stores, no
    /// buffer).
    pub fn canonical(&self) -> Accumulator {
        Accumulator {
            metrics: self.metrics.iter().map(MetricAcc::canonical).collect(),
            buffer: Vec::new(),
            running: Vec::new(),
            pending_non_finite: Vec::new(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accumulators that take turns with one value buffer, flushed at
    /// any point, end in the state of one filled alone.
    #[test]
    fn swapped_buffers_and_early_flushes_change_nothing() {
        let lanes = |b: u64, m: usize| -> Vec<[f64; 4]> {
            (0..m)
                .map(|k| {
                    std::array::from_fn(|j| ((b * 4 + j as u64) as f64 * 0.37 + k as f64).sin())
                })
                .collect()
        };
        let fresh = || Accumulator::new(vec![0.1, -0.2, 0.0], vec![1]);
        let mut alone = fresh();
        let (mut a, mut other) = (fresh(), fresh());
        let mut buf = Vec::new();
        for block in 0..3u64 {
            for b in 0..300u64 {
                let batch = block * 300 + b;
                alone.push_lanes(batch * 4, &lanes(batch, 3), 4);
            }
            alone.end_block();
            for half in [0..150u64, 150..300] {
                a.swap_buffer(&mut buf);
                other.swap_buffer(&mut buf);
                other.flush();
                other.swap_buffer(&mut buf);
                for b in half {
                    let batch = block * 300 + b;
                    a.push_lanes(batch * 4, &lanes(batch, 3), 4);
                }
                a.flush();
                a.swap_buffer(&mut buf);
            }
            a.swap_buffer(&mut buf);
            a.end_block();
            a.swap_buffer(&mut buf);
        }
        assert_eq!(a.canonical(), alone.canonical());
    }

    #[test]
    fn moments_match_direct_computation() {
        let xs: Vec<f64> = (0..1000).map(|i| 100.0 + (i as f64 * 0.7).cos()).collect();
        let mut acc = Accumulator::new(vec![xs[0]], vec![0]);
        for (t, &x) in xs.iter().enumerate() {
            acc.push_trial(t as u64, &[x]);
            if t % 64 == 63 {
                acc.end_block();
            }
        }
        acc.end_block();
        let s = acc.stats(0);
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
        assert!((s.mean - mean).abs() < 1e-12);
        assert!((s.stdev - var.sqrt()).abs() < 1e-10);
        assert_eq!(acc.positive[0], 1000);
        assert!(s.quantiles.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn huge_values_overflow_visibly_not_to_zero() {
        let mut acc = Accumulator::new(vec![0.0], vec![]);
        for t in 0..100 {
            acc.push_trial(t, &[if t % 2 == 0 { 1e160 } else { -1e160 }]);
        }
        acc.end_block();
        assert_eq!(acc.moments_overflow(), Some(0));
        // Large but representable: right, not zero.
        let mut acc = Accumulator::new(vec![0.0], vec![]);
        for t in 0..100 {
            acc.push_trial(t, &[if t % 2 == 0 { 1e150 } else { -1e150 }]);
        }
        acc.end_block();
        assert_eq!(acc.moments_overflow(), None);
        let s = acc.stats(0);
        assert!(
            (s.stdev / 1e150 - (100.0f64 / 99.0).sqrt()).abs() < 1e-12,
            "{}",
            s.stdev
        );
    }

    #[test]
    fn constant_values_give_exact_figures() {
        let mut acc = Accumulator::new(vec![3.25], vec![]);
        for t in 0..100 {
            acc.push_trial(t, &[3.25]);
        }
        acc.end_block();
        let s = acc.stats(0);
        assert_eq!(s.mean, 3.25);
        assert_eq!(s.stdev, 0.0);
        assert!(s.quantiles.iter().all(|&q| q == 3.25));
        assert_eq!(acc.metrics[0].lower_tail_mean(0.05), 3.25);
    }
}
