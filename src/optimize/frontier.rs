//! The efficient frontier: the best mean value for a range of limits on a
//! risk measure (CVaR or a quantile as a floor, the standard deviation as
//! a cap), each limit its own search under the problem's constraints.
//!
//! Its two ends are the best mean with no risk limit and the least risk
//! (the highest CVaR or quantile, the lowest standard deviation); the
//! points between take evenly spaced limits from the least-risk end to the
//! best-mean end. The searches run as one population ([`super::pool`]):
//! the two ends together, then every point between them together, each
//! round of their batches one engine run. Each point takes the best
//! candidate any of the searches scored under its limit, and a looser
//! limit admits every candidate a tighter one does: so a point's best mean
//! can never fall below the one before (more risk allowed never lowers
//! the best mean), which [`trace`] also checks.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::config::{Bound, Measure, Problem};
use super::pool::Pool;
use super::score::Scorer;
use super::search::{search, Eval, Evaluator, Goal, Method};
use crate::error::{Error, Result};
use crate::model::Policy;

/// One point of the frontier.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// The limit on the risk measure (None at the best-mean end).
    pub limit: Option<f64>,
    /// The optimum's risk measure and mean value.
    pub risk: f64,
    pub mean: f64,
    /// The optimum's lever values.
    pub x: Vec<f64>,
    /// Candidates scored for this point.
    pub evaluations: usize,
}

/// A policy placed on the frontier's axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Placed {
    pub name: String,
    pub risk: f64,
    pub mean: f64,
}

/// The traced frontier.
#[derive(Clone, Debug, PartialEq)]
pub struct Frontier {
    pub risk: Measure,
    /// From the least risk to the best mean.
    pub points: Vec<Point>,
    /// The scenario's own policies, then the optimum.
    pub placed: Vec<Placed>,
}

/// One search of the frontier: what it maximizes, where it starts, the
/// salt of its random numbers.
struct Job {
    goal: Goal,
    starts: Vec<Vec<f64>>,
    salt: u64,
}

/// Runs `jobs` as one population (each on a thread of its own, every
/// round of their batches one engine run, see [`super::pool`]), each
/// within `budget` candidates. Returns each one's best and every candidate
/// it scored.
fn run_pooled(
    problem: &Problem,
    scorer: &Scorer,
    seed: u64,
    budget: usize,
    method: Method,
    jobs: &[Job],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Vec<(Eval, Vec<Eval>)>> {
    let pool = Pool::new(scorer, seed, jobs.len());
    let counts: Vec<AtomicUsize> = jobs.iter().map(|_| AtomicUsize::new(0)).collect();
    let results: Vec<Result<(Eval, Vec<Eval>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .enumerate()
            .map(|(k, job)| {
                let member = pool.member(k);
                let counts = &counts;
                s.spawn(move || -> Result<(Eval, Vec<Eval>)> {
                    let tell = |n: usize| {
                        counts[k].store(n, Ordering::Relaxed);
                        progress(counts.iter().map(|c| c.load(Ordering::Relaxed)).sum());
                    };
                    let ev = Evaluator::new(problem, scorer, job.goal.clone(), seed, budget, &tell)
                        .pooled(&member);
                    let points: Vec<Vec<f64>> = job.starts.iter().map(|x| ev.encode(x)).collect();
                    let best = search(
                        &ev,
                        &points,
                        method,
                        crate::kernel::rng::mix(seed ^ job.salt),
                    )?;
                    Ok((best, ev.log()))
                })
            })
            .collect();
        pool.serve();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Usage(
                        "internal error: a frontier search panicked; please report it".into(),
                    ))
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

/// Candidates a point between the ends may spend on its polish: a third
/// of the frontier's `evaluations` (it starts from the best of a pool
/// that already holds the main search's and the ends' candidates), and
/// never fewer than 6 simplexes' worth of `d` levers.
pub fn polish_budget(evaluations: usize, d: usize) -> usize {
    (evaluations / 3).max(6 * (d + 1)).min(evaluations)
}

/// The best of `pool` under `limit` on the risk measure (and the base
/// constraints): the highest mean (the first on ties).
fn best_under<'e>(
    pool: &'e [Eval],
    base: &[(Measure, Bound)],
    limit: Option<Bound>,
) -> Option<&'e Eval> {
    let meets = |e: &Eval| {
        e.violation.is_finite()
            && base
                .iter()
                .zip(&e.constraints)
                .all(|((_, b), &v)| b.violation(v) == 0.0)
            && limit.is_none_or(|b| b.violation(e.report[0]) == 0.0)
    };
    let mut best: Option<&Eval> = None;
    for e in pool.iter().filter(|e| meets(e)) {
        if best.is_none_or(|b| e.report[1] > b.report[1]) {
            best = Some(e);
        }
    }
    best
}

/// Traces the frontier of `problem` with `spec.points` points, each search
/// with `spec.evaluations` candidates at most. `main` is the problem's own
/// optimum and `main_log` every candidate its search scored (each with
/// the frontier's measures in `report`: risk, then mean), `start_x` the
/// start policy's levers: the ends' searches start from both. `progress`
/// is told the candidates scored.
///
/// Every candidate scored, by the main search or the frontier's, is one
/// pool: each point takes the best of the pool that meets its limit (and
/// the problem's constraints). As a looser limit admits every candidate a
/// tighter one does, more risk allowed never lowers the best mean
/// ([`check_monotone`] checks it). The searches run as one population
/// ([`super::pool`]): first the ends together, then every point between
/// them together, each a Nelder-Mead polish (with the hybrid method) of
/// the best of the pool under its limit, within [`polish_budget`].
/// When the problem maximizes the mean, the main search is the best-mean
/// end's search: its optimum and log stand for it.
#[allow(clippy::too_many_arguments)]
pub fn trace(
    problem: &Problem,
    scorer: &Scorer,
    seed: u64,
    main: &Eval,
    main_log: &[Eval],
    start_x: &[f64],
    policies: &[Policy],
    method: Method,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Option<Frontier>> {
    let Some(spec) = &problem.frontier else {
        return Ok(None);
    };
    let risk = spec.risk;
    let base: Vec<(Measure, Bound)> = problem
        .constraints
        .iter()
        .map(|c| (c.measure, c.bound))
        .collect();
    let done = AtomicUsize::new(0);
    let tell = |n: usize| progress(done.load(Ordering::Relaxed) + n);
    // The main search's candidates join the pool when they carry the
    // frontier's measures; it is the best-mean end's search when it
    // maximizes the mean under the same constraints.
    let reported = main_log.iter().all(|e| e.report.len() == 2);
    let mut all: Vec<Eval> = if reported {
        main_log.to_vec()
    } else {
        Vec::new()
    };
    let main_is_end = reported && problem.objective == Measure::Mean;
    let ends = end_jobs(main, start_x, &base, risk, main_is_end);
    let found = run_pooled(
        problem,
        scorer,
        seed,
        spec.evaluations,
        method,
        &ends,
        &tell,
    )?;
    let used_a = if main_is_end {
        main_log.len()
    } else {
        found[0].1.len()
    };
    let used_b = found[found.len() - 1].1.len();
    done.fetch_add(found.iter().map(|f| f.1.len()).sum(), Ordering::Relaxed);
    all.extend(found.iter().flat_map(|(_, log)| log.iter().cloned()));
    let least_risk = found[found.len() - 1].0.clone();
    let Some(best_mean) = best_under(&all, &base, None).cloned() else {
        return Ok(None);
    };
    let measured = |e: &Eval| -> (f64, f64) { (e.report[0], e.report[1]) };
    let (risk_a, mean_a) = measured(&best_mean);
    let (risk_b, _) = measured(&least_risk);
    if (risk_a - risk_b).abs() <= 1e-9 * risk_a.abs().max(1e-12) || !least_risk.feasible {
        // The best mean is also the least risk: the frontier is one point.
        let placed = place(scorer, seed, policies, risk)?;
        return Ok(Some(Frontier {
            risk,
            points: vec![Point {
                limit: None,
                risk: risk_a,
                mean: mean_a,
                x: best_mean.x.clone(),
                evaluations: used_a + used_b,
            }],
            placed,
        }));
    }
    let n = spec.points;
    let bound_at = |k: usize| {
        let limit = risk_b + (risk_a - risk_b) * k as f64 / (n - 1) as f64;
        let bound = if risk.higher_is_better() {
            Bound::AtLeast(limit)
        } else {
            Bound::AtMost(limit)
        };
        (limit, bound)
    };
    let middle = middle_jobs(&all, &base, risk, n, &bound_at, &least_risk, &best_mean);
    crate::engine::check_interrupted()?;
    // The pool already holds candidates near every point (the main
    // search's, the least-risk end's): a point's search polishes the best
    // of them under its limit, until its simplex converges.
    let polish = match method {
        Method::Hybrid => Method::NelderMead,
        other => other,
    };
    let d = problem.levers.len();
    let budget = polish_budget(spec.evaluations, d);
    let found_middle = run_pooled(problem, scorer, seed, budget, polish, &middle, &tell)?;
    all.extend(found_middle.iter().flat_map(|(_, log)| log.iter().cloned()));
    let middle_used: Vec<usize> = found_middle.iter().map(|(_, log)| log.len()).collect();
    let points = points_of(
        &all,
        &base,
        &least_risk,
        &best_mean,
        used_a,
        used_b,
        &middle_used,
        &bound_at,
        n,
    );
    check_monotone(&points)?;
    let placed = place(scorer, seed, policies, risk)?;
    Ok(Some(Frontier {
        risk,
        points,
        placed,
    }))
}

/// The frontier's two ends' searches: the best mean (unless the main
/// search stands for it) and the least risk, both from the main optimum
/// and the start policy, under the problem's constraints `base`.
fn end_jobs(
    main: &Eval,
    start_x: &[f64],
    base: &[(Measure, Bound)],
    risk: Measure,
    main_is_end: bool,
) -> Vec<Job> {
    let report = vec![risk, Measure::Mean];
    let mut ends = vec![
        Job {
            goal: Goal {
                objective: Measure::Mean,
                minimize: false,
                constraints: base.to_vec(),
                report: report.clone(),
            },
            starts: vec![main.x.clone(), start_x.to_vec()],
            salt: 0xA11,
        },
        Job {
            goal: Goal {
                objective: risk,
                minimize: !risk.higher_is_better(),
                constraints: base.to_vec(),
                report,
            },
            starts: vec![main.x.clone(), start_x.to_vec()],
            salt: 0xB11,
        },
    ];
    if main_is_end {
        ends.remove(0);
    }
    ends
}

/// The searches of the `n - 2` points between the ends: the best mean
/// under the point's limit (`bound_at(k)`), from the best of the pool
/// `all` under it, the least-risk end and the best-mean end.
fn middle_jobs(
    all: &[Eval],
    base: &[(Measure, Bound)],
    risk: Measure,
    n: usize,
    bound_at: &dyn Fn(usize) -> (f64, Bound),
    least_risk: &Eval,
    best_mean: &Eval,
) -> Vec<Job> {
    (1..n.saturating_sub(1))
        .map(|k| {
            let mut constraints = base.to_vec();
            constraints.push((risk, bound_at(k).1));
            Job {
                goal: Goal {
                    objective: Measure::Mean,
                    minimize: false,
                    constraints,
                    report: vec![risk, Measure::Mean],
                },
                starts: best_under(all, base, Some(bound_at(k).1))
                    .map(|e| e.x.clone())
                    .into_iter()
                    .chain([least_risk.x.clone(), best_mean.x.clone()])
                    .collect(),
                salt: 0xC11 + k as u64,
            }
        })
        .collect()
}

/// The frontier's points, from the least risk to the best mean: the
/// least-risk end, each point between (the best of the pool `all` under
/// its limit; `middle_used` its search's candidates), and the best of the
/// pool with no limit.
#[allow(clippy::too_many_arguments)]
fn points_of(
    all: &[Eval],
    base: &[(Measure, Bound)],
    least_risk: &Eval,
    best_mean: &Eval,
    used_a: usize,
    used_b: usize,
    middle_used: &[usize],
    bound_at: &dyn Fn(usize) -> (f64, Bound),
    n: usize,
) -> Vec<Point> {
    let measured = |e: &Eval| -> (f64, f64) { (e.report[0], e.report[1]) };
    let mut points = vec![Point {
        limit: Some(least_risk.report[0]),
        risk: least_risk.report[0],
        mean: measured(least_risk).1,
        x: least_risk.x.clone(),
        evaluations: used_b,
    }];
    for (k, &used) in (1..).zip(middle_used) {
        let (limit, bound) = bound_at(k);
        let Some(best) = best_under(all, base, Some(bound)) else {
            continue;
        };
        let (r, m) = measured(best);
        points.push(Point {
            limit: Some(limit),
            risk: r,
            mean: m,
            x: best.x.clone(),
            evaluations: used,
        });
    }
    if n >= 2 {
        // With no risk limit: the best of every candidate.
        let last = best_under(all, base, None).unwrap_or(best_mean);
        let (r, m) = measured(last);
        points.push(Point {
            limit: None,
            risk: r,
            mean: m,
            x: last.x.clone(),
            evaluations: used_a,
        });
    }
    points
}

/// The scenario's own policies and the optimum, on the frontier's axes
/// and the same draws.
fn place(scorer: &Scorer, seed: u64, policies: &[Policy], risk: Measure) -> Result<Vec<Placed>> {
    let years = scorer.years;
    let samples = scorer.run(policies, seed, &|_| {})?;
    Ok(policies
        .iter()
        .zip(&samples)
        .map(|(p, s)| Placed {
            name: p.name.clone(),
            risk: s.measure(risk, years),
            mean: s.measure(Measure::Mean, years),
        })
        .collect())
}

/// More risk allowed never lowers the best mean: each point's mean is at
/// least the one before it.
pub fn check_monotone(points: &[Point]) -> Result<()> {
    for w in points.windows(2) {
        if w[1].mean < w[0].mean {
            return Err(Error::Usage(format!(
                "internal error: the frontier is not monotone (mean {} after {}); please report it",
                w[1].mean, w[0].mean
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::search::Phase;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// A candidate of the pool with risk (a CVaR: higher is less risk)
    /// and mean, feasible under the base constraint when `spend` <= 1.
    fn eval(risk: f64, mean: f64, spend: f64) -> Eval {
        Eval {
            phase: Phase::Polish,
            x: vec![risk, mean],
            objective: mean,
            constraints: vec![spend],
            report: vec![risk, mean],
            violation: 0.0,
            feasible: spend <= 1.0,
            cost: -mean,
            batch: 0,
        }
    }

    /// Every point takes the best of the pool under its limit, so the
    /// means never fall as the limit loosens, whatever the pool holds;
    /// candidates that break the base constraints are never chosen.
    #[test]
    fn points_of_a_pool_rise_with_the_risk_allowed() {
        let base = [(Measure::InvestmentPv, Bound::AtMost(1.0))];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        for _ in 0..50 {
            let pool: Vec<Eval> = (0..40)
                .map(|_| {
                    eval(
                        rng.random::<f64>() * 10.0,
                        rng.random::<f64>() * 100.0,
                        rng.random::<f64>() * 1.5,
                    )
                })
                .collect();
            let ok: Vec<&Eval> = pool.iter().filter(|e| e.feasible).collect();
            let least_risk = (*ok
                .iter()
                .max_by(|a, b| a.report[0].total_cmp(&b.report[0]))
                .unwrap())
            .clone();
            let best_mean = (*ok
                .iter()
                .max_by(|a, b| a.report[1].total_cmp(&b.report[1]))
                .unwrap())
            .clone();
            let (ra, rb) = (best_mean.report[0], least_risk.report[0]);
            let n = 6;
            let bound_at = |k: usize| {
                let limit = rb + (ra - rb) * k as f64 / (n - 1) as f64;
                (limit, Bound::AtLeast(limit))
            };
            let points = points_of(
                &pool,
                &base,
                &least_risk,
                &best_mean,
                1,
                1,
                &[1; 4],
                &bound_at,
                n,
            );
            assert_eq!(points.len(), n);
            check_monotone(&points).unwrap();
            for w in points.windows(2) {
                assert!(w[1].mean >= w[0].mean, "{points:?}");
            }
            assert_eq!(points[n - 1].mean, best_mean.report[1]);
            for p in &points {
                let e = pool.iter().find(|e| e.x == p.x).unwrap();
                assert!(e.feasible, "{p:?}");
                if let Some(l) = p.limit {
                    assert!(p.risk >= l, "{p:?}");
                }
            }
        }
    }

    /// A frontier whose mean falls as the risk allowed grows is refused.
    #[test]
    fn a_falling_frontier_is_refused() {
        let point = |mean: f64| Point {
            limit: None,
            risk: 0.0,
            mean,
            x: vec![],
            evaluations: 0,
        };
        assert!(check_monotone(&[point(1.0), point(2.0), point(2.0)]).is_ok());
        assert!(check_monotone(&[point(1.0), point(3.0), point(2.0)]).is_err());
    }
}
