//! `simulate optimize`: the policy that maximizes a statistic of value at
//! a horizon, under constraints, and the efficient frontier
//! (docs/optimize.md).
//!
//! Why it can be trusted: every candidate is scored on the same draws
//! (common random numbers), so the objective is a deterministic function
//! of the levers (a sample-average approximation) and the search is
//! reproducible bit for bit; candidates scored together share one
//! generation of the draws ([`score`]). What it cannot escape, it reports:
//! the optimum is re-scored on an independent seed, and a gap between the
//! two beyond three standard errors is called the optimizer's curse.
//!
//! - [`config`]: the `[optimize]` table, validated;
//! - [`score`]: many candidate policies in one engine run;
//! - [`evaluate`]: a search's goal, its scored candidates and their cost;
//! - [`simplex`]: Nelder-Mead as ask and tell;
//! - [`search`]: swarm (argmin), Nelder-Mead polish in lockstep, whole
//!   numbers;
//! - [`frontier`]: the best mean for a range of risk limits;
//! - [`pool`]: several searches' batches scored as one population;
//! - [`toml_out`]: `optimized.toml`, a runnable scenario;
//! - [`report`]: optimize.csv, frontier.csv, the report section, the
//!   printed summary.

pub mod config;
pub mod evaluate;
pub mod frontier;
pub mod pool;
pub mod report;
pub mod score;
pub mod search;
pub mod simplex;
pub mod toml_out;

use std::time::Instant;

use crate::error::{Error, Result};
use crate::model::{Policy, Scenario};
use crate::scenario::Loaded;
use config::{Measure, Problem};
use score::Scorer;
use search::{search, Eval, Evaluator, Goal, Method};

/// Mixed into the seed to draw the out-of-sample trials.
const OUT_OF_SAMPLE: u64 = 0x4f55_545f_4f46_5f53;
/// Mixed into the seed for the search's own random numbers.
const SEARCH: u64 = 0x5345_4152_4348_0001;

/// The seed the optimum is re-scored on: independent of the run's
/// (SplitMix64's output of the seed xor a constant), and the same for the
/// same seed.
pub fn out_of_sample_seed(seed: u64) -> u64 {
    crate::kernel::rng::mix(seed ^ OUT_OF_SAMPLE)
}

/// An objective's value and its Monte Carlo standard error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub stderr: f64,
}

/// The optimum (and the start policy) scored in and out of sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Honest {
    pub seed: u64,
    pub in_sample: Estimate,
    pub out_of_sample: Estimate,
    pub start_in_sample: Estimate,
    pub start_out_of_sample: Estimate,
    /// The optimum's gain over the start policy on the same draws (a
    /// paired comparison), in and out of sample.
    pub gain_in_sample: Estimate,
    pub gain_out_of_sample: Estimate,
}

impl Honest {
    /// In-sample minus out-of-sample objective.
    pub fn gap(&self) -> f64 {
        self.in_sample.value - self.out_of_sample.value
    }

    /// The standard error of the gap (the two samples are independent).
    pub fn gap_stderr(&self) -> f64 {
        self.in_sample.stderr.hypot(self.out_of_sample.stderr)
    }

    /// Whether the optimum looks better in sample than it is: the gap in
    /// its objective, or in its paired gain over the start policy, is
    /// above three standard errors.
    pub fn cursed(&self) -> bool {
        self.gap() > 3.0 * self.gap_stderr() || self.gain_gap() > 3.0 * self.gain_gap_stderr()
    }

    /// In-sample minus out-of-sample gain over the start policy.
    pub fn gain_gap(&self) -> f64 {
        self.gain_in_sample.value - self.gain_out_of_sample.value
    }

    /// Its standard error.
    pub fn gain_gap_stderr(&self) -> f64 {
        self.gain_in_sample
            .stderr
            .hypot(self.gain_out_of_sample.stderr)
    }
}

/// The optimum's figures in sample, computed as a run's summary computes
/// them (the same bits as `summary.json` of `optimized.toml`).
#[derive(Clone, Debug, PartialEq)]
pub struct InSample {
    pub mean: f64,
    pub stdev: f64,
    pub stderr: f64,
    /// When the baseline was scored with it.
    pub prob_beats_baseline: Option<f64>,
}

/// Everything a finished optimization found.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub problem: Problem,
    /// The scenario as scored (trials and seed of the run).
    pub scenario: Scenario,
    /// Every candidate the main search scored, in order.
    pub log: Vec<Eval>,
    /// Engine runs of the main search.
    pub batches: usize,
    /// The optimum and the start policy, scored.
    pub best: Eval,
    pub start: Eval,
    pub figures: InSample,
    pub honest: Honest,
    pub frontier: Option<frontier::Frontier>,
    /// Seconds the main search took, and everything.
    pub search_seconds: f64,
    pub seconds: f64,
    pub method: Method,
}

impl Outcome {
    /// The new policy.
    pub fn policy(&self) -> Policy {
        self.problem.policy_at(&self.best.x, &self.problem.name)
    }
}

/// How an optimization runs.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    pub method: Method,
    /// Skip the frontier even if the table asks for one.
    pub no_frontier: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            method: Method::Hybrid,
            no_frontier: false,
        }
    }
}

/// The search of `problem` over `scenario` (its trials and seed are the
/// run's), on the current rayon pool. `progress` is told the candidates
/// scored so far. A problem no candidate could meet is refused with the
/// constraint's file, line and key, and the closest value found.
pub fn optimize(
    loaded: &Loaded,
    scenario: &Scenario,
    problem: &Problem,
    settings: Settings,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Outcome> {
    let began = Instant::now();
    let scorer = Scorer::new(scenario, problem);
    let seed = scenario.seed;
    let mut goal = Goal::of(problem);
    if let Some(spec) = problem.frontier.as_ref().filter(|_| !settings.no_frontier) {
        // The frontier's measures too: its points may take the search's
        // candidates (frontier::trace).
        goal.report = vec![spec.risk, Measure::Mean];
    }
    let ev = Evaluator::new(problem, &scorer, goal, seed, problem.evaluations, progress);
    let start_x: Vec<f64> = problem
        .levers
        .iter()
        .map(|l| l.decode(l.encode(l.start)))
        .collect();
    let starts = vec![ev.encode(&start_x)];
    let best = search(
        &ev,
        &starts,
        settings.method,
        crate::kernel::rng::mix(seed ^ SEARCH),
    )?;
    let log = ev.log();
    let (_, batches) = ev.used();
    let search_seconds = began.elapsed().as_secs_f64();
    if !best.feasible {
        return Err(infeasible(loaded, problem, &best, &log));
    }
    let frontier = if settings.no_frontier {
        None
    } else {
        let used = log.len();
        let tell = |n: usize| progress(used + n);
        let mut placed: Vec<Policy> = scenario.policies.clone();
        placed.push(problem.policy_at(&best.x, &problem.name));
        frontier::trace(
            problem,
            &scorer,
            seed,
            &best,
            &log,
            &start_x,
            &placed,
            settings.method,
            &tell,
        )?
    };
    // The frontier's best-mean end searched again, from the optimum, under
    // the same constraints: when it found more, it is the optimum (the
    // two must agree).
    let best = match frontier.as_ref().and_then(|f| f.points.last()) {
        Some(end)
            if problem.objective == Measure::Mean
                && end.mean > best.objective
                && end.x != best.x =>
        {
            let (found, _) = ev.judge(std::slice::from_ref(&end.x))?.remove(0);
            if found.feasible && found.objective > best.objective {
                found
            } else {
                best
            }
        }
        _ => best,
    };
    // Levers rounded to the precision their effect warrants, the rounded
    // policy scored again: its figures are the ones reported.
    let floor = frontier
        .as_ref()
        .and_then(|f| f.points.iter().rev().nth(1))
        .map(|p| p.mean);
    let best = rounded(&ev, problem, best, floor)?;
    let start = log
        .iter()
        .find(|e| e.x == start_x)
        .cloned()
        .unwrap_or_else(|| log[0].clone());
    let (honest, figures, frontier) = judged(&scorer, problem, seed, &start, &best, frontier)?;
    Ok(Outcome {
        problem: problem.clone(),
        scenario: scenario.clone(),
        log,
        batches,
        best,
        start,
        figures,
        honest,
        frontier,
        search_seconds,
        seconds: began.elapsed().as_secs_f64(),
        method: settings.method,
    })
}

/// The start policy and the optimum scored together, in sample (on
/// `seed`'s draws) and out of sample: the honest figures, the optimum's
/// in-sample figures, and `frontier` with its best-mean end and the
/// optimum's place set to the optimum's in-sample figures.
fn judged(
    scorer: &Scorer,
    problem: &Problem,
    seed: u64,
    start: &Eval,
    best: &Eval,
    frontier: Option<frontier::Frontier>,
) -> Result<(Honest, InSample, Option<frontier::Frontier>)> {
    // In and out of sample: the start policy and the optimum, together.
    let pair = [
        problem.policy_at(&start.x, &problem.start.name),
        problem.policy_at(&best.x, &problem.name),
    ];
    let years = problem.years;
    let m = problem.objective;
    let inside = scorer.run(&pair, seed, &|_| {})?;
    // The frontier's best-mean end is the optimum, as reported (the same
    // draws: the optimum's in-sample figures).
    let frontier = frontier.map(|mut f| {
        let (mean, risk) = (
            inside[1].measure(Measure::Mean, years),
            inside[1].measure(f.risk, years),
        );
        if let Some(end) = f.points.last_mut().filter(|_| m == Measure::Mean) {
            end.x = best.x.clone();
            (end.mean, end.risk) = (mean, risk);
        }
        if let Some(p) = f.placed.last_mut() {
            (p.mean, p.risk) = (mean, risk);
        }
        f
    });
    let oos_seed = out_of_sample_seed(seed);
    let outside = scorer.run(&pair, oos_seed, &|_| {})?;
    let est = |s: &score::Sample| Estimate {
        value: s.measure(m, years),
        stderr: s.stderr(m, years),
    };
    let gain = |s: &[score::Sample]| {
        let (value, stderr) = score::gain(&s[1], &s[0], m, years);
        Estimate { value, stderr }
    };
    let honest = Honest {
        seed: oos_seed,
        in_sample: est(&inside[1]),
        out_of_sample: est(&outside[1]),
        start_in_sample: est(&inside[0]),
        start_out_of_sample: est(&outside[0]),
        gain_in_sample: gain(&inside),
        gain_out_of_sample: gain(&outside),
    };
    let (mean, stdev) = score::moments(&inside[1].value);
    let figures = InSample {
        mean,
        stdev,
        stderr: stdev / (inside[1].n() as f64).sqrt(),
        prob_beats_baseline: scorer
            .has_baseline()
            .then(|| inside[1].prob_beats_baseline()),
    };
    Ok((honest, figures, frontier))
}

/// Digits of a lever's range kept when rounding it, coarsest first: with
/// a range of 0.25, 2 keeps hundredths (0.07), 3 thousandths (0.068).
const ROUNDING_DIGITS: [i32; 5] = [2, 3, 4, 5, 6];

/// `x` rounded to `digits` digits of the range `[min, max]` (a step of
/// 10^(floor(log10(max - min)) - digits + 1)), written as the decimal
/// (the nearest double, so that it prints as written), within the bounds.
fn round_to_range(x: f64, digits: i32, min: f64, max: f64) -> f64 {
    let range = max - min;
    if !x.is_finite() || !range.is_finite() || range <= 0.0 {
        return x;
    }
    let exponent = range.log10().floor() as i32 - digits + 1;
    let decimals = (-exponent).max(0) as usize;
    let step = 10f64.powi(exponent);
    let r: f64 = format!("{:.*}", decimals, (x / step).round() * step)
        .parse()
        .unwrap_or(x);
    r.clamp(min, max)
}

/// The optimum with its levers rounded to the fewest digits of their
/// ranges that cost less than half a standard error of the objective and keep it
/// feasible (and, with a frontier, not below the frontier's point before
/// its best-mean end, `floor`); the unrounded optimum when no rounding
/// does. Every rounding is scored on the search's draws, in one batch.
fn rounded(ev: &Evaluator, problem: &Problem, best: Eval, floor: Option<f64>) -> Result<Eval> {
    let candidates: Vec<Vec<f64>> = ROUNDING_DIGITS
        .iter()
        .map(|&d| {
            problem
                .levers
                .iter()
                .zip(&best.x)
                .map(|(l, &x)| {
                    if l.integer {
                        x
                    } else {
                        round_to_range(x, d, l.min, l.max)
                    }
                })
                .collect()
        })
        .collect();
    if candidates.iter().all(|c| *c == best.x) {
        return Ok(best);
    }
    // The optimum itself first, in the same batch: its standard error.
    let mut batch = vec![best.x.clone()];
    batch.extend(candidates);
    let mut judged = ev.judge(&batch)?.into_iter();
    let se = judged.next().map_or(0.0, |(_, se)| se);
    let tolerance = 0.5 * se.max(0.0);
    for (e, _) in judged {
        let costs = if improves(problem.objective, best.objective, e.objective) {
            (best.objective - e.objective).abs()
        } else {
            0.0
        };
        let above_floor = floor.is_none_or(|f| e.objective >= f);
        if e.feasible && costs <= tolerance && above_floor {
            return Ok(Eval {
                phase: best.phase,
                batch: best.batch,
                cost: best.cost,
                ..e
            });
        }
    }
    Ok(best)
}

/// The refusal of a problem no candidate met: at the first constraint the
/// closest candidate misses, with the closest value any candidate reached.
fn infeasible(loaded: &Loaded, problem: &Problem, best: &Eval, log: &[Eval]) -> Error {
    let base = &problem.start.name;
    let years = problem.years;
    let missed: Vec<usize> = problem
        .constraints
        .iter()
        .enumerate()
        .filter(|(i, c)| c.bound.violation(best.constraints[*i]) > 0.0)
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = missed.first() else {
        return Error::Usage(
            "no candidate could be scored: every one's figures overflowed (lower the levers' bounds)"
                .into(),
        );
    };
    let c = &problem.constraints[first];
    let closest = log
        .iter()
        .map(|e| e.constraints[first])
        .filter(|v| v.is_finite())
        .min_by(|a, b| c.bound.violation(*a).total_cmp(&c.bound.violation(*b)))
        .unwrap_or(f64::NAN);
    let mut m = format!(
        "no candidate of the {} scored meets this constraint: {} {} {}; the closest any came was {}",
        log.len(),
        c.measure.describe(years, base),
        c.bound.symbol(),
        config::trim(c.bound.value()),
        report::num(closest),
    );
    if missed.len() > 1 {
        let others: Vec<String> = missed[1..]
            .iter()
            .map(|&i| problem.constraints[i].key.clone())
            .collect();
        m.push_str(&format!(
            " (the closest candidate also misses {})",
            others.join(", ")
        ));
    }
    m.push_str(". Loosen the limit or widen the levers' bounds.");
    Error::from(loaded.source.error(c.span.clone(), &c.key, m))
}

/// Which measure the report names the objective by.
pub fn objective_words(o: &Outcome) -> String {
    let s = &o.scenario;
    o.problem
        .objective
        .describe(o.problem.years, &s.policies[s.baseline].name)
}

/// Whether `m` is better at `a` than at `b`.
pub fn improves(m: Measure, a: f64, b: f64) -> bool {
    if m.higher_is_better() {
        a > b
    } else {
        a < b
    }
}

#[cfg(test)]
mod rounding_tests {
    use super::round_to_range;

    #[test]
    fn rounded_levers_print_as_written_and_stay_in_bounds() {
        let x = 0.067645123456789;
        assert_eq!(format!("{:?}", round_to_range(x, 2, 0.0, 0.25)), "0.07");
        assert_eq!(format!("{:?}", round_to_range(x, 3, 0.0, 0.25)), "0.068");
        assert_eq!(format!("{:?}", round_to_range(x, 4, 0.0, 0.25)), "0.0676");
        // A value that is noise on the lever's scale rounds to zero.
        assert_eq!(round_to_range(0.000035, 3, 0.0, 0.25), 0.0);
        // A budget in [0, 10]: tenths at 3 digits.
        assert_eq!(format!("{:?}", round_to_range(0.6532, 3, 0.0, 10.0)), "0.7");
        assert_eq!(
            format!("{:?}", round_to_range(0.6532, 4, 0.0, 10.0)),
            "0.65"
        );
        // Never outside the bounds.
        assert_eq!(round_to_range(0.2499, 2, 0.0, 0.25), 0.25);
        assert_eq!(round_to_range(9.96, 2, 0.5, 9.9), 9.9);
    }
}
