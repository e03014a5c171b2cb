//! The screened study (`--sensitivity-top N`): the exact figures of the
//! inputs that rank among the top N, and estimates of the others, for a
//! fraction of the work.
//!
//! Every variant runs on the first blocks of trials, each trial's gain
//! paired with the base run's in the same trial (common random numbers:
//! the difference varies far less than the gain). From those trials each
//! side of each input gets an estimate of its final gain less the base
//! run's, c, and the standard error of the final figure about it; c
//! within [`Z`] standard errors bounds the input's swing (the larger of
//! |c_low| and |c_high|) from below and above. An input whose upper bound
//! is below the N-th largest lower bound, for every policy, cannot reach
//! the top N unless an estimate is off by more than [`Z`] standard
//! errors: it stops, and reports its estimate. The others run on, the
//! trials so far doubling at each stage ([`stages`]), and those left at
//! the end have run every trial: their figures are the exact study's, bit
//! for bit (a block's sums do not depend on the blocks around it, and
//! blocks add up exactly).

/// Standard errors an estimate may be off by before screening errs.
pub const Z: f64 = 3.0;

/// The first stage's share of the trials: 1 in this many blocks, and at
/// least [`FIRST_BLOCKS`] blocks.
const FIRST_STAGE: u64 = 64;

/// The fewest blocks of the first stage (2,048 trials): enough trials
/// that the spread of a variant's moves is known.
const FIRST_BLOCKS: u64 = 2;

/// The ends of the stages (in blocks of trials) of a study over `blocks`
/// blocks: the first a sixty-fourth of them or [`FIRST_BLOCKS`],
/// whichever is more, then each twice the last, the last all of them. A
/// study of at most [`FIRST_BLOCKS`] blocks has one stage (nothing is
/// screened).
pub fn stages(blocks: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut end = blocks.div_ceil(FIRST_STAGE).max(FIRST_BLOCKS);
    while end < blocks {
        out.push(end);
        end *= 2;
    }
    out.push(blocks);
    out
}

/// Where an input's figures are estimates: the trials they come from and,
/// per policy, how far the gain may be from the exact study's ([`Z`]
/// standard errors; NaN for the baseline).
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    pub trials: u64,
    pub margin: Vec<f64>,
}

/// What is known of one side of an input for one policy: its gain less
/// the base run's is within `e` of `c`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Side {
    c: f64,
    e: f64,
}

impl Side {
    /// Nothing is known (a value was not finite, or had no pair).
    pub const UNKNOWN: Side = Side {
        c: 0.0,
        e: f64::INFINITY,
    };

    /// Known exactly.
    pub fn exact(c: f64) -> Side {
        Side { c, e: 0.0 }
    }

    /// Estimated as `mean`, with standard error `se`.
    pub fn early(mean: f64, se: f64) -> Side {
        Side { c: mean, e: Z * se }
    }
}

/// The inputs of a screened study, and which still run.
pub struct Screen {
    top: usize,
    /// Per input and policy, the bounds of its swing (None where no side
    /// ran: the baseline, or both steps skipped).
    bounds: Vec<Vec<Option<(f64, f64)>>>,
    alive: Vec<bool>,
}

impl Screen {
    pub fn new(inputs: usize, policies: usize, top: usize) -> Screen {
        Screen {
            top,
            bounds: vec![vec![None; policies]; inputs],
            alive: vec![true; inputs],
        }
    }

    /// Whether input `k` still runs.
    pub fn alive(&self, k: usize) -> bool {
        self.alive[k]
    }

    /// What is known of input `k`'s sides (low, high; None where skipped)
    /// for policy `q`.
    pub fn set(&mut self, k: usize, q: usize, sides: [Option<Side>; 2]) {
        let ran: Vec<Side> = sides.into_iter().flatten().collect();
        self.bounds[k][q] = (!ran.is_empty()).then(|| {
            let lo = ran.iter().map(|s| s.c.abs() - s.e).fold(0.0, f64::max);
            let hi = ran.iter().map(|s| s.c.abs() + s.e).fold(0.0, f64::max);
            (lo, hi)
        });
    }

    /// Stops every running input that cannot reach the top of any
    /// policy (its upper bound below the top-th largest lower bound of
    /// that policy, over every input) and returns them.
    pub fn screen(&mut self) -> Vec<usize> {
        let policies = self.bounds.first().map_or(0, Vec::len);
        let thresholds: Vec<f64> = (0..policies)
            .map(|q| {
                let mut lows: Vec<f64> = self
                    .bounds
                    .iter()
                    .filter_map(|b| b[q])
                    .map(|b| b.0)
                    .collect();
                lows.sort_by(|a, b| b.total_cmp(a));
                match lows.get(self.top.max(1) - 1) {
                    Some(&t) => t,
                    None => f64::NEG_INFINITY,
                }
            })
            .collect();
        let mut stopped = Vec::new();
        for (k, (alive, bounds)) in self.alive.iter_mut().zip(&self.bounds).enumerate() {
            let ran = bounds.iter().any(Option::is_some);
            let reaches = bounds
                .iter()
                .zip(&thresholds)
                .any(|(b, &t)| b.is_some_and(|(_, hi)| hi >= t));
            if *alive && ran && !reaches {
                *alive = false;
                stopped.push(k);
            }
        }
        stopped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_double_to_every_block() {
        assert_eq!(stages(1), vec![1]);
        assert_eq!(stages(2), vec![2]);
        assert_eq!(stages(3), vec![2, 3]);
        assert_eq!(stages(98), vec![2, 4, 8, 16, 32, 64, 98]);
        assert_eq!(stages(977), vec![16, 32, 64, 128, 256, 512, 977]);
        for n in 1..300 {
            let s = stages(n);
            assert_eq!(*s.last().unwrap(), n);
            assert!(s.windows(2).all(|w| w[0] < w[1]), "{n}: {s:?}");
        }
    }

    /// An input stops only when its upper bound is below the top-th
    /// largest lower bound of every policy; an unknown side, or too few
    /// inputs, stops nothing.
    #[test]
    fn an_input_stops_only_when_it_cannot_reach_the_top() {
        let mut s = Screen::new(4, 2, 2);
        // Policy 1 (policy 0 is the baseline: no bounds).
        s.set(
            0,
            1,
            [Some(Side::early(10.0, 1.0)), Some(Side::early(-2.0, 1.0))],
        );
        s.set(1, 1, [Some(Side::early(5.0, 0.5)), None]);
        // Upper bound 4 + 3 = 7 >= the second lower bound, 5 - 1.5.
        s.set(2, 1, [Some(Side::early(4.0, 1.0)), None]);
        // Upper bound 1 + 1.5 = 2.5 < 3.5.
        s.set(3, 1, [Some(Side::early(-1.0, 0.5)), Some(Side::exact(0.5))]);
        assert_eq!(s.screen(), vec![3]);
        assert!(s.alive(0) && s.alive(1) && s.alive(2) && !s.alive(3));
        // Once stopped, not again.
        assert_eq!(s.screen(), Vec::<usize>::new());
        let mut s = Screen::new(3, 2, 2);
        s.set(0, 1, [Some(Side::exact(10.0)), None]);
        s.set(1, 1, [Some(Side::exact(9.0)), None]);
        s.set(2, 1, [Some(Side::exact(1.0)), Some(Side::UNKNOWN)]);
        assert!(s.screen().is_empty(), "an unknown side may be anything");
        let mut s = Screen::new(2, 2, 3);
        s.set(0, 1, [Some(Side::exact(10.0)), None]);
        s.set(1, 1, [Some(Side::exact(0.0)), None]);
        assert!(s.screen().is_empty(), "fewer inputs than the top");
        // Two policies: kept by the one it can reach.
        let mut s = Screen::new(3, 3, 1);
        s.set(0, 1, [Some(Side::exact(10.0)), None]);
        s.set(0, 2, [Some(Side::exact(1.0)), None]);
        s.set(1, 1, [Some(Side::exact(1.0)), None]);
        s.set(1, 2, [Some(Side::exact(10.0)), None]);
        s.set(2, 1, [Some(Side::exact(2.0)), None]);
        s.set(2, 2, [Some(Side::exact(2.0)), None]);
        assert_eq!(s.screen(), vec![2]);
    }
}
