//! The efficient frontier: the best mean value for a range of limits on a
//! risk measure (CVaR or a quantile as a floor, the standard deviation as
//! a cap), each limit its own search under the problem's constraints.
//!
//! Its two ends are the best mean with no risk limit and the least risk
//! (the highest CVaR or quantile, the lowest standard deviation); the
//! points between take evenly spaced limits from the least-risk end to the
//! best-mean end. Each point's search starts from the point before it,
//! whose optimum meets the looser limit too: so a point's best mean can
//! never fall below the one before (more risk allowed never lowers the
//! best mean), which [`trace`] also checks. The points are independent
//! problems; they run one after the other here so that each can start
//! from the one before.

use super::config::{Bound, Measure, Problem};
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

/// Traces the frontier of `problem` with `spec.points` points, each search
/// with `spec.evaluations` candidates at most. `main` is the problem's own
/// optimum (reused as an end when the objective is that end's), `starts`
/// the points every search tries first. `progress` is told each scored
/// candidate.
#[allow(clippy::too_many_arguments)]
pub fn trace(
    problem: &Problem,
    scorer: &Scorer,
    seed: u64,
    main: &Eval,
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
    let done = std::sync::atomic::AtomicUsize::new(0);
    let tell = |n: usize| progress(done.load(std::sync::atomic::Ordering::Relaxed) + n);
    let run = |goal: Goal, starts: Vec<Vec<f64>>, salt: u64| -> Result<(Eval, usize)> {
        let ev = Evaluator::new(problem, scorer, goal, seed, spec.evaluations, &tell);
        let points: Vec<Vec<f64>> = starts.iter().map(|x| ev.encode(x)).collect();
        let best = search(&ev, &points, method, crate::kernel::rng::mix(seed ^ salt))?;
        let used = ev.used().0;
        done.fetch_add(used, std::sync::atomic::Ordering::Relaxed);
        Ok((best, used))
    };
    let measured = |e: &Eval| -> (f64, f64) { (e.report[0], e.report[1]) };
    let report = vec![risk, Measure::Mean];
    // The best-mean end.
    let (best_mean, used_a) = run(
        Goal {
            objective: Measure::Mean,
            minimize: false,
            constraints: base.clone(),
            report: report.clone(),
        },
        vec![main.x.clone(), start_x.to_vec()],
        0xA11,
    )?;
    if !best_mean.feasible {
        return Ok(None);
    }
    // The least-risk end.
    let (least_risk, used_b) = run(
        Goal {
            objective: risk,
            minimize: !risk.higher_is_better(),
            constraints: base.clone(),
            report: report.clone(),
        },
        vec![main.x.clone(), start_x.to_vec(), best_mean.x.clone()],
        0xB11,
    )?;
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
    let mut points = vec![Point {
        limit: Some(risk_b),
        risk: risk_b,
        mean: measured(&least_risk).1,
        x: least_risk.x.clone(),
        evaluations: used_b,
    }];
    let n = spec.points;
    let mut prev = least_risk.clone();
    for k in 1..n.saturating_sub(1) {
        crate::engine::check_interrupted()?;
        let limit = risk_b + (risk_a - risk_b) * k as f64 / (n - 1) as f64;
        let bound = if risk.higher_is_better() {
            Bound::AtLeast(limit)
        } else {
            Bound::AtMost(limit)
        };
        let mut constraints = base.clone();
        constraints.push((risk, bound));
        let (best, used) = run(
            Goal {
                objective: Measure::Mean,
                minimize: false,
                constraints,
                report: report.clone(),
            },
            vec![prev.x.clone(), best_mean.x.clone()],
            0xC11 + k as u64,
        )?;
        let (r, m) = measured(&best);
        points.push(Point {
            limit: Some(limit),
            risk: r,
            mean: m,
            x: best.x.clone(),
            evaluations: used,
        });
        prev = best;
    }
    if n >= 2 {
        // With no risk limit, the point before is a candidate too: the
        // better of the two ends the frontier.
        let last = if prev.feasible && measured(&prev).1 > mean_a {
            &prev
        } else {
            &best_mean
        };
        let (r, m) = measured(last);
        points.push(Point {
            limit: None,
            risk: r,
            mean: m,
            x: last.x.clone(),
            evaluations: used_a,
        });
    }
    check_monotone(&points)?;
    let placed = place(scorer, seed, policies, risk)?;
    Ok(Some(Frontier {
        risk,
        points,
        placed,
    }))
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
