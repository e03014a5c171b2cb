//! Distributions as a chart draws them: histograms and CDFs re-binned from
//! a metric's quantile sketch, and the ranges they are drawn over.
//!
//! The engine keeps no raw trials, so every picture of a distribution is
//! computed from the sketch's buckets (each at most 1/256 of a value wide)
//! and the metric's exact extremes. Computed here, beside the sketch, they
//! can be checked without a plotting backend.

use super::MetricAcc;

/// The range [min of q_lo, max of q_hi] over several metrics.
pub fn quantile_range(metrics: &[&MetricAcc], q_lo: f64, q_hi: f64) -> (f64, f64) {
    let lo = metrics
        .iter()
        .map(|m| m.quantile(q_lo))
        .filter(|x| x.is_finite())
        .fold(f64::INFINITY, f64::min);
    let hi = metrics
        .iter()
        .map(|m| m.quantile(q_hi))
        .filter(|x| x.is_finite())
        .fold(f64::NEG_INFINITY, f64::max);
    if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 0.0)
    }
}

/// The sketch's buckets, clipped to the exact extremes of the metric.
fn clipped_buckets(m: &MetricAcc) -> Vec<(f64, f64, u64)> {
    let (min, max) = (m.min(), m.max());
    m.sketch
        .buckets()
        .into_iter()
        .map(|(a, b, c)| {
            let a = a.clamp(min, max);
            let b = b.clamp(min, max);
            (a, b, c)
        })
        .collect()
}

/// How many histogram bins to draw over [lo, hi] for `trials` trials: about
/// 2 n^(1/3) (Terrell-Scott), so that few trials give fewer, less noisy
/// bins; and no more than the sketch resolves (its buckets are about 1/256
/// of a value wide; a narrower bin would only show the sketch's steps).
pub fn bin_count(lo: f64, hi: f64, trials: u64) -> usize {
    let by_trials = (2.0 * (trials as f64).cbrt()).round() as usize;
    let bucket = lo.abs().max(hi.abs()) / 256.0;
    let by_sketch = if bucket > 0.0 && bucket.is_finite() {
        ((hi - lo) / bucket).floor() as usize
    } else {
        usize::MAX
    };
    by_trials.min(by_sketch).clamp(12, 64)
}

/// Share of all trials (0..1) in each of `bins` equal bins over [lo, hi],
/// re-binned from the sketch: each bucket's count is spread evenly over the
/// bucket. Trials outside [lo, hi] are left out.
pub fn histogram(m: &MetricAcc, lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let mut out = vec![0.0; bins];
    let n = m.sketch.count();
    if n == 0 || bins == 0 || hi.is_nan() || lo.is_nan() || hi <= lo {
        return out;
    }
    let width = (hi - lo) / bins as f64;
    let bin_of =
        |x: f64| (((x - lo) / width).floor() as isize).clamp(0, bins as isize - 1) as usize;
    for (a, b, c) in clipped_buckets(m) {
        let c = c as f64 / n as f64;
        if b <= a {
            if a >= lo && a <= hi {
                out[bin_of(a)] += c;
            }
            continue;
        }
        let (s, e) = (a.max(lo), b.min(hi));
        if e <= s {
            continue;
        }
        let density = c / (b - a);
        let (first, last) = (bin_of(s), bin_of(e));
        for (k, slot) in out.iter_mut().enumerate().take(last + 1).skip(first) {
            let bl = lo + k as f64 * width;
            let overlap = e.min(bl + width) - s.max(bl);
            if overlap > 0.0 {
                *slot += density * overlap;
            }
        }
    }
    out
}

/// `hist` smoothed by a Gaussian kernel of `sigma` bins (a kernel density
/// estimate over the histogram): the sketch's buckets and the bins never
/// line up exactly, and at many trials that aliasing, not the
/// distribution, makes a histogram jagged. Each bin is the kernel-weighted
/// mean of the bins around it within the range (the kernel cut at the ends
/// and scaled back to one), so a flat stretch stays flat up to the ends and
/// the total share stays that of `hist` but for what the ends shift.
/// `sigma` <= 0 returns `hist`.
pub fn smoothed(hist: &[f64], sigma: f64) -> Vec<f64> {
    if sigma <= 0.0 || !sigma.is_finite() || hist.is_empty() {
        return hist.to_vec();
    }
    let n = hist.len() as isize;
    let reach = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f64> = (-reach..=reach)
        .map(|d| (-0.5 * (d as f64 / sigma).powi(2)).exp())
        .collect();
    (0..n)
        .map(|j| {
            let (mut sum, mut weight) = (0.0, 0.0);
            for d in -reach..=reach {
                let i = j + d;
                if (0..n).contains(&i) {
                    let k = kernel[(d + reach) as usize];
                    sum += k * hist[i as usize];
                    weight += k;
                }
            }
            sum / weight
        })
        .collect()
}

/// Share of trials (0..1) at or below each x, from the sketch (linear within
/// a bucket).
pub fn cdf(m: &MetricAcc, xs: &[f64]) -> Vec<f64> {
    let n = m.sketch.count();
    if n == 0 {
        return vec![0.0; xs.len()];
    }
    let buckets = clipped_buckets(m);
    let mut cum = Vec::with_capacity(buckets.len());
    let mut seen = 0u64;
    for &(_, _, c) in &buckets {
        cum.push(seen);
        seen += c;
    }
    xs.iter()
        .map(|&x| {
            // Buckets are sorted by value: the first bucket not entirely <= x.
            let k = buckets.partition_point(|&(_, b, _)| b <= x);
            let below = if k < buckets.len() { cum[k] } else { seen } as f64;
            let part = match buckets.get(k) {
                Some(&(a, b, c)) if x >= a && b > a => c as f64 * (x - a) / (b - a),
                Some(&(a, b, c)) if x >= a && b <= a => c as f64,
                _ => 0.0,
            };
            (below + part) / n as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_keeps_the_total_and_removes_aliasing() {
        // A flat distribution seen through misaligned buckets: bins
        // alternate 2 and 1.
        let jagged: Vec<f64> = (0..40)
            .map(|i| if i % 2 == 0 { 2.0 } else { 1.0 })
            .collect();
        let s = smoothed(&jagged, 1.5);
        let total: f64 = jagged.iter().sum();
        assert!((s.iter().sum::<f64>() - total).abs() < 0.01 * total);
        for w in s[5..35].windows(2) {
            assert!((w[0] - w[1]).abs() < 0.02, "{s:?}");
        }
        // Ends do not sag.
        assert!(s[0] > 1.3 && s[39] > 1.3, "{s:?}");
        assert_eq!(smoothed(&jagged, 0.0), jagged);
    }
    use crate::stats::Accumulator;

    fn metric(xs: &[f64]) -> MetricAcc {
        let mut acc = Accumulator::new(vec![0.0], vec![]);
        for (t, &x) in xs.iter().enumerate() {
            acc.push_trial(t as u64, &[x]);
        }
        acc.end_block();
        acc.metrics[0].clone()
    }

    #[test]
    fn histogram_keeps_the_mass_inside_the_range() {
        let xs: Vec<f64> = (0..10_000).map(|i| 100.0 + (i % 100) as f64).collect();
        let m = metric(&xs);
        let h = histogram(&m, 90.0, 210.0, 60);
        let total: f64 = h.iter().sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        // Uniform over [100, 199]: bins inside carry about equal shares.
        assert!(h[0] == 0.0 && h[59] == 0.0);
        let inside = &h[10..45];
        let (lo, hi) = inside
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        assert!(hi / lo < 1.5, "{lo} {hi}");
        // Half the range: about half the mass.
        let half: f64 = histogram(&m, 90.0, 150.0, 30).iter().sum();
        assert!((half - 0.5).abs() < 0.02, "{half}");
    }

    #[test]
    fn cdf_is_monotone_and_reaches_one() {
        let xs: Vec<f64> = (0..1000).map(|i| -50.0 + i as f64 * 0.1).collect();
        let m = metric(&xs);
        let grid: Vec<f64> = (0..=100).map(|i| -60.0 + i as f64 * 1.2).collect();
        let f = cdf(&m, &grid);
        assert!(f.windows(2).all(|w| w[0] <= w[1] + 1e-12));
        assert_eq!(f[0], 0.0);
        assert!((f[100] - 1.0).abs() < 1e-12);
        let mid = cdf(&m, &[0.0])[0];
        assert!((mid - 0.5).abs() < 0.01, "{mid}");
    }

    #[test]
    fn bins_follow_the_trials_within_bounds() {
        // 2 n^(1/3): 20 bins for 1,000 trials, never fewer than 12 ...
        assert_eq!(bin_count(0.0, 1000.0, 1000), 20);
        assert_eq!(bin_count(0.0, 1000.0, 10), 12);
        // ... nor more than 64, nor finer than the sketch resolves.
        assert_eq!(bin_count(0.0, 1000.0, 100_000_000), 64);
        assert_eq!(bin_count(1000.0, 1010.0, 100_000_000), 12);
        // A degenerate range: the trial count decides.
        assert_eq!(bin_count(0.0, 0.0, 27_000), 60);
    }

    #[test]
    fn quantile_ranges_span_every_metric() {
        let a = metric(&(0..1000).map(|i| i as f64).collect::<Vec<_>>());
        let b = metric(&(0..1000).map(|i| 500.0 + i as f64).collect::<Vec<_>>());
        let (lo, hi) = quantile_range(&[&a, &b], 0.0, 1.0);
        assert_eq!((lo, hi), (0.0, 1499.0));
        let (lo, hi) = quantile_range(&[&a, &b], 0.25, 0.75);
        assert!(
            (lo - 250.0).abs() < 3.0 && (hi - 1250.0).abs() < 6.0,
            "{lo} {hi}"
        );
        assert_eq!(quantile_range(&[], 0.05, 0.95), (0.0, 0.0));
    }

    #[test]
    fn an_empty_metric_has_no_mass() {
        let m = MetricAcc::default();
        assert_eq!(histogram(&m, 0.0, 1.0, 4), vec![0.0; 4]);
        assert_eq!(cdf(&m, &[0.0, 1.0]), vec![0.0, 0.0]);
        // A single value: all its mass in one bin, the CDF a step.
        let one = metric(&[5.0; 100]);
        let h = histogram(&one, 0.0, 10.0, 10);
        assert!((h[5] - 1.0).abs() < 1e-12 && h.iter().sum::<f64>() <= 1.0 + 1e-12);
        assert_eq!(cdf(&one, &[4.9, 5.0]), vec![0.0, 1.0]);
    }
}
