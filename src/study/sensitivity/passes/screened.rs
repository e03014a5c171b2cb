//! The screened study's passes (`--sensitivity-top`, see
//! [`crate::study::sensitivity::screen`]): every variant on the first
//! blocks, each trial paired with the base run's, then only the inputs
//! that can still reach the top.

use super::{
    engine, shared_size, Figures, Policy, Records, Result, SharedPass, Tally, Variants,
    LEVERS_PER_RUN,
};
use crate::study::sensitivity::screen::{stages, Estimate, Screen, Side, Z};

/// Trials in which a variant must have moved the gain before the spread
/// of its moves alone gives its standard error. A lever that bites in
/// rare trials (a reinvestment share, where little cash is ever left to
/// reinvest) may not have moved the gain in the first thousands at all,
/// and a standard error of 0 from those would stop it however large its
/// later moves; below this count the variance is taken as at least that
/// of a variant that moves (moved + 3) / m of the trials (the rule of
/// three: 0 moves in m trials bounds the chance of one at about 3 / m) by
/// [`RARE_MOVE`] standard deviations of the base run's gain.
const MOVED_TRIALS: u64 = 30;

/// How far a variant's rare move may take one trial's gain, in standard
/// deviations of the base run's gain (see [`MOVED_TRIALS`]).
const RARE_MOVE: f64 = 3.0;

/// What a variant's records of the first blocks say of column `c` (a
/// policy's gain, paired with the base run's in every trial), for the
/// figure over all `trials`: the mean of d (the variant's gain less the
/// base run's, trial by trial), the standard error of the final mean
/// about it (sd of d times sqrt(1/m - 1/trials), m the trials so far:
/// the trials still to come are what is uncertain), and the share of
/// trials beating the baseline less the base run's share; `spread` is the
/// standard deviation of the base run's gain (see [`MOVED_TRIALS`]).
/// None where a value was not finite, a trial had no pair, or fewer than
/// 2 trials ran.
fn early(tally: &Tally, c: usize, trials: u64, spread: f64) -> Option<(f64, f64, f64)> {
    let t = tally.cols.get(c).filter(|t| t.finite && t.pairs.paired)?;
    let p = &t.pairs;
    let (m, d, d2, moved) = (tally.trials, p.d, p.d2, p.moved);
    let beat = t.positive as i64 - p.pair_positive as i64;
    if m < 2 {
        return None;
    }
    let mf = m as f64;
    let mean = d / mf;
    let mut var = ((d2 - mf * mean * mean) / (mf - 1.0)).max(0.0);
    if moved < MOVED_TRIALS {
        // No spread known (not finite): nothing is bounded.
        let spread = if spread.is_finite() {
            spread
        } else {
            f64::INFINITY
        };
        let rare = (moved + 3) as f64 / mf * (RARE_MOVE * spread).powi(2);
        var = var.max(rare);
    }
    let se = (var * (1.0 / mf - 1.0 / trials as f64).max(0.0)).sqrt();
    mean.is_finite().then_some((mean, se, beat as f64 / mf))
}

impl Variants<'_> {
    /// The screened study ([`crate::study::sensitivity::screen`]): the
    /// variants of `sides` (each input's low and high variant, by place in
    /// `todo`) run on the trials in stages of blocks, each trial's gain
    /// paired with the base run's; after each stage but the last, an input
    /// that can no longer reach the top `top` of any policy ([`Screen`])
    /// stops and keeps its estimate. `base` is the base run's gain and
    /// P(beat) per policy, `spread` the standard deviation of its gain.
    /// Returns every variant's figures (exact, as [`Variants::figures`]
    /// gives them, for the inputs run to the end) and, per variant, where
    /// its figures are estimates, the trials they come from and their
    /// margin per policy; `progress` is told of the variants whose figures
    /// are final.
    pub fn screened(
        &self,
        sides: &[[Option<usize>; 2]],
        top: usize,
        base: &[(f64, f64)],
        spread: &[f64],
        progress: &dyn Fn(usize, usize),
    ) -> Result<(Vec<Figures>, Vec<Option<Estimate>>)> {
        let (total, n, b) = (self.todo.len(), self.base.trials, self.base.baseline);
        let all = engine::block_count(n);
        let (levers, whole) = self.split();
        let (jobs, like_base) = self.inert_split(&whole);
        let mut records: Records = vec![Tally::default(); total];
        // The variants that are the base scenario: its figures, exact.
        let mut known: Vec<Option<Figures>> = vec![None; total];
        for &i in &like_base {
            known[i] = Some(base.to_vec());
        }
        let mut screen = Screen::new(sides.len(), base.len(), top);
        let mut estimates: Vec<Option<Estimate>> = vec![None; total];
        let mut finished = like_base.len();
        let mut told = finished;
        let mut from = 0;
        for to in stages(all) {
            self.check()?;
            let mut alive: Vec<usize> = (0..sides.len())
                .filter(|&k| screen.alive(k))
                .flat_map(|k| sides[k].into_iter().flatten())
                .filter(|&i| known[i].is_none())
                .collect();
            alive.sort_unstable();
            let runs = |i: usize| alive.binary_search(&i).is_ok();
            let mine: Vec<(usize, usize, Policy)> =
                levers.iter().filter(|l| runs(l.0)).cloned().collect();
            for chunk in mine.chunks(LEVERS_PER_RUN) {
                self.lever_pass(chunk, from..to, true, &mut records)?;
            }
            let mine: Vec<Option<usize>> = jobs
                .iter()
                .filter(|&&i| runs(i))
                .map(|&i| Some(i))
                .collect();
            for chunk in mine.chunks(shared_size(self.base)) {
                let pass = SharedPass {
                    jobs: chunk,
                    blocks: from..to,
                    ranges: 1,
                    paired: true,
                };
                self.shared_pass(&pass, &mut records, &mut Tally::default(), &|_| {})?;
            }
            from = to;
            if to == all {
                break;
            }
            // What the trials so far say of every input still running.
            let trials = (to * engine::BLOCK_TRIALS).min(n);
            for (k, pair) in sides.iter().enumerate() {
                if !screen.alive(k) {
                    continue;
                }
                for q in (0..base.len()).filter(|&q| q != b) {
                    let side = |i: Option<usize>| {
                        let i = i?;
                        Some(match &known[i] {
                            Some(f) => Side::exact(f[q].0 - base[q].0),
                            None => early(&records[i], q, n, spread[q])
                                .map_or(Side::UNKNOWN, |e| Side::early(e.0, e.1)),
                        })
                    };
                    screen.set(k, q, [side(pair[0]), side(pair[1])]);
                }
            }
            for k in screen.screen() {
                for i in sides[k].into_iter().flatten() {
                    if known[i].is_some() {
                        continue;
                    }
                    let mut figures = Vec::new();
                    let mut margin = Vec::new();
                    for q in 0..base.len() {
                        let e = (q != b)
                            .then(|| early(&records[i], q, n, spread[q]))
                            .flatten();
                        let (gain, beat, se) = e.map_or((f64::NAN, f64::NAN, f64::NAN), |e| {
                            (base[q].0 + e.0, base[q].1 + e.2, e.1)
                        });
                        figures.push((gain, beat));
                        margin.push(Z * se);
                    }
                    known[i] = Some(figures);
                    estimates[i] = Some(Estimate { trials, margin });
                    records[i] = Tally::default();
                    finished += 1;
                }
            }
            if finished > told {
                told = finished;
                progress(finished.min(total), total);
            }
        }
        progress(total, total);
        records
            .iter()
            .enumerate()
            .map(|(i, r)| match known[i].take() {
                Some(f) => Ok(f),
                None => match self.read(r) {
                    Some(f) => Ok(f),
                    None => self.whole_run(i),
                },
            })
            .collect::<Result<Vec<Figures>>>()
            .map(|f| (f, estimates))
    }
}
