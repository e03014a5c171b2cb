//! The search: argmin's particle swarm over the levers' box, then
//! Nelder-Mead polish from several origins side by side, then a
//! whole-number neighbourhood.
//!
//! Why these (docs/optimize.md has the comparison): a swarm evaluates a
//! whole generation at once through argmin's `bulk_cost`, which here is
//! one engine run scoring every particle on one generation of the draws;
//! it explores the whole box, so the steps that gates and exits put in
//! the objective do not trap it. Nelder-Mead then converges to the 1e-3
//! the tests ask for, where a swarm alone stalls; it starts from the best
//! so far, from the start policy and from the swarm's other good points
//! (the objective has several basins: an innovation unit funded well for
//! five years, or little for two). The simplexes are written as ask and
//! tell ([`Simplex`]) so that [`LOCKSTEP`] of them run side by side, each
//! round's points scored in one batch (one generation of the draws), a
//! shrink's points together; it ends with a small simplex around the
//! best.
//!
//! The search works in the unit box [0, 1]^d (each lever scaled by its
//! bounds); a whole-number lever is rounded inside the objective, so the
//! search sees a step function in that coordinate, and a last pass tries
//! each whole-number lever one step either way. Constraints enter the
//! search as an exact (L1) penalty, 1000 times the summed relative
//! violations, on an objective scaled to about 1; the optimum reported is
//! chosen feasibility first: the best objective among the candidates that
//! meet every constraint, or, when none does, the one closest to meeting
//! them (and the problem is refused). Every distinct candidate is scored
//! once (a cache) and logged. Random numbers come from xoshiro256++ seeded
//! from the scenario's seed: the same inputs give the same optimum on any
//! number of threads.

use argmin::core::{CostFunction, Executor};
use argmin::solver::particleswarm::{Particle, ParticleSwarm};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::config::Lever;
pub use super::evaluate::{best_of, better, scale_for, Eval, Evaluator, Goal, Phase, PENALTY};
use super::simplex::Simplex;
use crate::error::{Error, Result};

/// The swarm's share of the hybrid's budget.
pub const SWARM_SHARE: f64 = 0.2;

/// argmin's view of an [`Evaluator`].
struct Cost<'e, 'a>(&'e Evaluator<'a>);

impl CostFunction for Cost<'_, '_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, u: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        self.0
            .costs(std::slice::from_ref(u))
            .map(|c| c[0])
            .map_err(|e| argmin::core::Error::msg(e.to_string()))
    }

    fn bulk_cost<P>(&self, params: &[P]) -> std::result::Result<Vec<f64>, argmin::core::Error>
    where
        P: std::borrow::Borrow<Vec<f64>> + argmin::core::SyncAlias,
    {
        let points: Vec<Vec<f64>> = params.iter().map(|p| p.borrow().clone()).collect();
        self.0
            .costs(&points)
            .map_err(|e| argmin::core::Error::msg(e.to_string()))
    }
}

/// How a search runs (the default is the hybrid; the others are kept for
/// the comparison in `examples/optimizer_compare.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Swarm, then Nelder-Mead with restarts, then whole numbers.
    Hybrid,
    /// argmin's particle swarm alone.
    Swarm,
    /// Nelder-Mead alone, from the first start point, until it
    /// converges or the budget is spent.
    NelderMead,
}

/// Particles of the swarm for `d` levers.
pub fn particles(d: usize) -> usize {
    (10 + 2 * d).min(40)
}

/// Runs a search from `starts` (points of the unit box tried first: the
/// start policy, warm starts) within the evaluator's budget. Returns the
/// best candidate (feasibility first).
pub fn search(ev: &Evaluator, starts: &[Vec<f64>], method: Method, seed: u64) -> Result<Eval> {
    let d = ev.problem.levers.len();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let finish = |r: std::result::Result<(), Error>| -> Result<()> {
        match r {
            Ok(()) => Ok(()),
            Err(_) if ev.exhausted() => Ok(()),
            Err(e) => Err(ev.take_error().unwrap_or(e)),
        }
    };
    match method {
        Method::NelderMead => {
            ev.set_phase(Phase::Start);
            let start = starts.first().cloned().unwrap_or_else(|| vec![0.5; d]);
            ev.costs(std::slice::from_ref(&start))?;
            ev.set_phase(Phase::Polish);
            finish(nelder_mead(ev, &start, 0.1))?;
        }
        Method::Swarm | Method::Hybrid => {
            // The swarm's share of the budget in the hybrid (the rest goes
            // to the polish; examples/optimizer_compare.rs measured 0.1 to
            // 0.5 on reset.toml's eight levers).
            let swarm_share = if method == Method::Swarm {
                1.0
            } else {
                SWARM_SHARE
            };
            let pop = particles(d).min(ev.remaining()).max(1);
            let mut init: Vec<Vec<f64>> = starts.iter().take(pop).cloned().collect();
            while init.len() < pop {
                init.push((0..d).map(|_| rng.random::<f64>()).collect());
            }
            ev.set_phase(Phase::Start);
            let costs = ev.costs(&init)?;
            let velocities: Vec<Vec<f64>> = (0..pop)
                .map(|_| (0..d).map(|_| 0.2 * (rng.random::<f64>() - 0.5)).collect())
                .collect();
            let population: Vec<Particle<Vec<f64>, f64>> = init
                .into_iter()
                .zip(costs)
                .zip(velocities)
                .map(|((p, c), v)| Particle::new(p, c, v))
                .collect();
            let budget = (swarm_share * ev.remaining() as f64) as usize;
            let generations = (budget / pop).max(1) as u64;
            ev.set_phase(Phase::Swarm);
            let solver = ParticleSwarm::new((vec![0.0; d], vec![1.0; d]), pop)
                .with_rng_generator(Xoshiro256PlusPlus::seed_from_u64(rng.random()));
            let run = Executor::new(Cost(ev), solver)
                .configure(|s| s.population(population).max_iters(generations))
                .run();
            let swarm_best: Vec<(Vec<f64>, f64)> = match &run {
                Ok(r) => r
                    .state()
                    .get_population()
                    .map(|ps| ps.iter().map(|p| (p.position.clone(), p.cost)).collect())
                    .unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            finish(run.map(|_| ()).map_err(|e| Error::Usage(e.to_string())))?;
            if method == Method::Hybrid {
                polish(ev, starts, &swarm_best, &finish)?;
            }
        }
    }
    if method == Method::Hybrid {
        ev.set_phase(Phase::Integer);
        finish(whole_numbers(ev))?;
    }
    ev.best()
        .ok_or_else(|| Error::Usage("the search scored no candidate".into()))
}

/// Simplexes of the polish that run side by side, their asks scored as
/// one batch (one generation of the draws for all of them).
pub const LOCKSTEP: usize = 4;

/// Nelder-Mead from several origins (multi-start): the best so far, the
/// start points, then the swarm's particles best first, skipping any close
/// to an origin already taken. [`LOCKSTEP`] simplexes run side by side,
/// each round's asks scored in one batch; when one converges the next
/// origin takes its place, until only a reserve of the budget is left. A
/// last small simplex around the best checks that it did not stop on a
/// step.
fn polish(
    ev: &Evaluator,
    starts: &[Vec<f64>],
    swarm: &[(Vec<f64>, f64)],
    finish: &dyn Fn(std::result::Result<(), Error>) -> Result<()>,
) -> Result<()> {
    let d = ev.problem.levers.len();
    let Some(best) = ev.best() else {
        return Ok(());
    };
    let mut origins = vec![ev.encode(&best.x)];
    origins.extend(starts.iter().cloned());
    let mut by_cost: Vec<&(Vec<f64>, f64)> = swarm.iter().collect();
    by_cost.sort_by(|a, b| a.1.total_cmp(&b.1));
    origins.extend(by_cost.into_iter().map(|(p, _)| p.clone()));
    let reserve = 4 * (d + 1);
    let limit = ev.used().0 + ev.remaining().saturating_sub(reserve);
    finish(lockstep(
        ev,
        origins,
        0.1,
        LOCKSTEP,
        limit,
        0.15,
        Phase::Polish,
    ))?;
    if let Some(best) = ev.best() {
        let all = ev.used().0 + ev.remaining();
        let o = vec![ev.encode(&best.x)];
        finish(lockstep(ev, o, 0.02, 1, all, 0.0, Phase::Restart))?;
    }
    Ok(())
}

/// Nelder-Mead runs from `origins` (in order, skipping one within
/// `apart` of an origin already taken), at most `width` at a time, until
/// `limit` candidates have been scored in all or every run has converged
/// (its simplex's costs agree to 1e-9). Each round scores the asks of
/// every running simplex in one batch; the first origin's candidates are
/// logged as the polish, the others' as restarts.
fn lockstep(
    ev: &Evaluator,
    origins: Vec<Vec<f64>>,
    step: f64,
    width: usize,
    limit: usize,
    apart: f64,
    first: Phase,
) -> std::result::Result<(), Error> {
    let mut queue = origins.into_iter().enumerate();
    let mut taken: Vec<Vec<f64>> = Vec::new();
    let mut running: Vec<(Phase, Simplex)> = Vec::new();
    loop {
        // Fill the free places from the queue.
        while running.len() < width {
            let Some((k, o)) = queue.find(|(_, o)| {
                !taken.iter().any(|p| {
                    p.iter().zip(o).map(|(a, b)| (a - b).powi(2)).sum::<f64>() < apart * apart
                })
            }) else {
                break;
            };
            taken.push(o.clone());
            let phase = if k == 0 { first } else { Phase::Restart };
            running.push((phase, Simplex::new(first_simplex(ev, &o, step))));
        }
        if running.is_empty() {
            return Ok(());
        }
        // This round's asks, as many simplexes as the budget holds.
        let room = limit.saturating_sub(ev.used().0);
        let mut points: Vec<Vec<f64>> = Vec::new();
        let mut phases: Vec<Phase> = Vec::new();
        let mut counts: Vec<usize> = Vec::new();
        for (phase, s) in &running {
            let ask = s.ask();
            if points.len() + ask.len() > room && !points.is_empty() {
                break;
            }
            phases.extend(std::iter::repeat_n(*phase, ask.len()));
            counts.push(ask.len());
            points.extend_from_slice(ask);
        }
        if points.len() > room {
            return Ok(());
        }
        running.truncate(counts.len());
        let costs = match ev.costs_in(&points, Some(&phases)) {
            Ok(c) => c,
            Err(e) => {
                // A spent budget ends the runs; anything else is an error.
                if ev.exhausted() {
                    ev.clear_exhausted();
                    return Ok(());
                }
                return Err(e);
            }
        };
        let mut at = 0;
        for ((_, s), n) in running.iter_mut().zip(&counts) {
            s.tell(&costs[at..at + n]);
            at += n;
        }
        running.retain(|(_, s)| !s.converged());
        if ev.used().0 >= limit {
            return Ok(());
        }
    }
}

/// The first simplex of a run from `from`: the point and one vertex
/// `step` away along each lever (inward at the box's edge).
fn first_simplex(ev: &Evaluator, from: &[f64], step: f64) -> Vec<Vec<f64>> {
    let d = from.len();
    let mut simplex = vec![from.to_vec()];
    for (i, l) in ev.problem.levers.iter().enumerate().take(d) {
        // A whole-number lever's edge spans at least one and a half
        // steps, so that the simplex always reaches its neighbours.
        let step = if l.integer {
            step.max(1.5 / (l.max - l.min)).min(0.5)
        } else {
            step
        };
        let mut v = from.to_vec();
        v[i] = if v[i] + step <= 1.0 {
            v[i] + step
        } else {
            v[i] - step
        };
        simplex.push(v);
    }
    simplex
}

/// Nelder-Mead from `from` alone (the comparison's method), simplex
/// `step` wide, until its costs agree to 1e-9 or the budget is spent.
fn nelder_mead(ev: &Evaluator, from: &[f64], step: f64) -> std::result::Result<(), Error> {
    let all = ev.used().0 + ev.remaining();
    lockstep(ev, vec![from.to_vec()], step, 1, all, 0.0, Phase::Polish)
}

/// Each whole-number lever one step down and up from the best, all in one
/// batch, while that improves.
fn whole_numbers(ev: &Evaluator) -> std::result::Result<(), Error> {
    let levers: &[Lever] = &ev.problem.levers;
    if !levers.iter().any(|l| l.integer) {
        return Ok(());
    }
    for _ in 0..20 {
        let Some(best) = ev.best() else {
            return Ok(());
        };
        let mut points = Vec::new();
        for (i, l) in levers.iter().enumerate().filter(|(_, l)| l.integer) {
            for delta in [-1.0, 1.0] {
                let v = best.x[i] + delta;
                if v >= l.min.ceil() && v <= l.max.floor() {
                    let mut x = best.x.clone();
                    x[i] = v;
                    points.push(ev.encode(&x));
                }
            }
        }
        if points.is_empty() {
            return Ok(());
        }
        ev.costs(&points)?;
        let after = ev.best();
        if after.as_ref().map(|a| a.x == best.x).unwrap_or(true) {
            return Ok(());
        }
    }
    Ok(())
}
