//! One figure's accumulator (moments in trial order, exact sums across
//! blocks, the quantile sketch) and the statistics read from it.

use serde::{Deserialize, Serialize};

use super::*;

/// Aggregate of one metric over many trials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricAcc {
    pub sketch: Sketch,
    /// Sum of (x - shift).
    pub(super) s1: ExactSum,
    /// Sum of (x - shift)^2.
    pub(super) s2: ExactSum,
    #[serde(with = "any_f64")]
    pub(super) min: f64,
    #[serde(with = "any_f64")]
    pub(super) max: f64,
}

/// Serialises any f64, infinities included (an empty accumulator's min and
/// max are +inf and -inf; JSON has no literal for them).
mod any_f64 {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Finite(f64),
        Special(String),
    }

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            Repr::Finite(*x)
        } else {
            Repr::Special(x.to_string())
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Finite(x) => Ok(x),
            Repr::Special(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl Default for MetricAcc {
    fn default() -> Self {
        MetricAcc {
            sketch: Sketch::new(),
            s1: ExactSum::new(),
            s2: ExactSum::new(),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

/// Summary figures of one metric, as reported.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub n: u64,
    pub mean: f64,
    /// Sample standard deviation (n - 1 denominator; 0 when n < 2).
    pub stdev: f64,
    /// Standard error of the mean: stdev / sqrt(n).
    pub stderr: f64,
    /// p5, p25, p50, p75, p95.
    pub quantiles: [f64; 5],
    pub min: f64,
    pub max: f64,
}

/// Mean and sample standard deviation of `n` values from their sums
/// around `shift`: `s1` = sum of (x - shift), `s2` = sum of (x - shift)^2.
/// Every figure a run reports (and the optimizer's exact measures) comes
/// through here, so they agree bit for bit.
pub fn mean_stdev(shift: f64, s1: f64, s2: f64, n: u64) -> (f64, f64) {
    let nf = n as f64;
    let mean = shift + s1 / nf;
    let var = if n > 1 {
        let sq = s1 * s1;
        if sq.is_finite() {
            ((s2 - sq / nf) / (nf - 1.0)).max(0.0)
        } else {
            // s1^2 overflows while s2 (>= s1^2 / n) may not: the same
            // quantity, divided first. (Only here, so every figure that
            // did not overflow keeps its bits.) When s2 itself overflowed,
            // `moments_overflow` says so and the run stops.
            ((s2 - s1 * (s1 / nf)) / (nf - 1.0)).max(0.0)
        }
    } else {
        0.0
    };
    (mean, var.sqrt())
}

impl MetricAcc {
    pub fn merge(&mut self, other: &MetricAcc) {
        self.sketch.merge(&other.sketch);
        self.s1.merge(&other.s1);
        self.s2.merge(&other.s2);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Final figures; `shift` must be the one the sums were taken around.
    pub fn stats(&self, shift: f64) -> Stats {
        let n = self.sketch.count();
        if n == 0 {
            return Stats {
                n,
                mean: f64::NAN,
                stdev: f64::NAN,
                stderr: f64::NAN,
                quantiles: [f64::NAN; 5],
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        let nf = n as f64;
        let (mean, stdev) = mean_stdev(shift, self.s1.value(), self.s2.value(), n);
        let mut quantiles = [0.0; 5];
        for (slot, &q) in quantiles.iter_mut().zip(QUANTILES.iter()) {
            // Clamping to the exact extremes makes degenerate distributions
            // (all trials equal) report that value exactly.
            *slot = self
                .sketch
                .quantile(q)
                .unwrap_or(f64::NAN)
                .clamp(self.min, self.max);
        }
        Stats {
            n,
            mean,
            stdev,
            stderr: stdev / nf.sqrt(),
            quantiles,
            min: self.min,
            max: self.max,
        }
    }

    /// Whether the moment sums passed what an f64 holds (finite values
    /// whose squared deviations sum past ~1.8e308, i.e. values past
    /// ~1e152): the standard deviation cannot then be computed, and would
    /// silently read 0.
    pub fn moments_overflow(&self) -> bool {
        !self.s1.value().is_finite() || !self.s2.value().is_finite()
    }

    /// Quantile at any level, clamped to the exact extremes.
    pub fn quantile(&self, q: f64) -> f64 {
        self.sketch
            .quantile(q)
            .map(|v| v.clamp(self.min, self.max))
            .unwrap_or(f64::NAN)
    }

    /// Mean of the lowest share `q` of the values (see
    /// [`Sketch::lower_tail_mean`]), clamped to the exact extremes.
    pub fn lower_tail_mean(&self, q: f64) -> f64 {
        self.sketch
            .lower_tail_mean(q)
            .map(|v| v.clamp(self.min, self.max))
            .unwrap_or(f64::NAN)
    }

    pub fn min(&self) -> f64 {
        self.min
    }

    pub fn max(&self) -> f64 {
        self.max
    }

    /// Whether this record, read from a file, is one a run of `trials`
    /// trials (all finite) could have produced; the reason if not.
    pub fn check(&self, trials: u64) -> Result<(), String> {
        if !self.sketch.is_consistent() || self.sketch.count() != trials {
            return Err(format!(
                "its quantile sketch counts {} values, not the {trials} trials of its blocks",
                self.sketch.count()
            ));
        }
        if !self.s1.is_valid()
            || !self.s2.is_valid()
            || self.s1.has_non_finite()
            || self.s2.has_non_finite()
        {
            return Err("its moment sums are malformed".into());
        }
        let extremes_ok = if trials == 0 {
            self.min == f64::INFINITY && self.max == f64::NEG_INFINITY
        } else {
            self.min.is_finite() && self.max.is_finite() && self.min <= self.max
        };
        if !extremes_ok {
            return Err(format!(
                "its extremes ({}, {}) do not fit {trials} trials",
                self.min, self.max
            ));
        }
        Ok(())
    }

    /// Heap bytes held besides the struct itself: sketch pages and the
    /// exact sums' chunks.
    pub fn heap_bytes(&self) -> usize {
        self.sketch.heap_bytes() + self.s1.heap_bytes() + self.s2.heap_bytes()
    }

    /// A canonical copy for serialisation (trimmed sketch stores).
    pub fn canonical(&self) -> MetricAcc {
        MetricAcc {
            sketch: self.sketch.canonical(),
            ..self.clone()
        }
    }
}
