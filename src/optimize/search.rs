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

use std::cell::RefCell;
use std::collections::HashMap;

use argmin::core::{CostFunction, Executor};
use argmin::solver::particleswarm::{Particle, ParticleSwarm};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::config::{Bound, Lever, Measure, Problem};
use super::pool::Member;
use super::score::{Sample, Scorer};
use crate::error::{Error, Result};
use crate::model::Policy;

/// Weight of the summed relative constraint violations in the search's
/// cost (the objective is scaled to about 1).
pub const PENALTY: f64 = 1000.0;
/// The swarm's share of the hybrid's budget.
pub const SWARM_SHARE: f64 = 0.2;
/// Cost of a candidate whose figures overflowed.
const UNUSABLE: f64 = 1e30;

/// What a search maximizes, under which limits.
#[derive(Clone, Debug, PartialEq)]
pub struct Goal {
    pub objective: Measure,
    /// True to minimize the objective (the frontier's least-risk end on
    /// standard deviation); false to maximize it.
    pub minimize: bool,
    pub constraints: Vec<(Measure, Bound)>,
    /// Also measured and logged (the frontier's axes).
    pub report: Vec<Measure>,
}

impl Goal {
    /// The problem's own goal.
    pub fn of(problem: &Problem) -> Goal {
        Goal {
            objective: problem.objective,
            minimize: false,
            constraints: problem
                .constraints
                .iter()
                .map(|c| (c.measure, c.bound))
                .collect(),
            report: Vec::new(),
        }
    }
}

/// The phase of the search a candidate was scored in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Start,
    Swarm,
    Polish,
    Restart,
    Integer,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::Swarm => "swarm",
            Phase::Polish => "polish",
            Phase::Restart => "restart",
            Phase::Integer => "whole_numbers",
        }
    }
}

/// One scored candidate.
#[derive(Clone, Debug, PartialEq)]
pub struct Eval {
    pub phase: Phase,
    /// The levers' values (decoded: whole numbers rounded).
    pub x: Vec<f64>,
    pub objective: f64,
    /// Each constraint's measured value, in the goal's order.
    pub constraints: Vec<f64>,
    /// The goal's `report` measures.
    pub report: Vec<f64>,
    /// Summed relative violation of the constraints (0 when feasible).
    pub violation: f64,
    pub feasible: bool,
    /// The search's cost (lower is better).
    pub cost: f64,
    /// The engine run (batch) it was scored in, from 0.
    pub batch: usize,
}

/// Scores candidates for a search: decodes points of the unit box, scores
/// each distinct candidate once (a batch per call), logs it, counts the
/// budget.
pub struct Evaluator<'a> {
    pub problem: &'a Problem,
    scorer: &'a Scorer,
    pub goal: Goal,
    seed: u64,
    /// Scale of the objective in the cost: fixed by the first batch (see
    /// [`scale_for`]).
    scale: std::cell::Cell<Option<f64>>,
    state: RefCell<EvalState>,
    budget: usize,
    progress: &'a (dyn Fn(usize) + Sync),
    /// Where the batches are scored when the search is one of a pool's
    /// (the frontier's points); else by the scorer directly.
    member: Option<&'a Member<'a, 'a>>,
}

#[derive(Default)]
struct EvalState {
    cache: HashMap<Vec<u64>, usize>,
    log: Vec<Eval>,
    batches: usize,
    phase: Option<Phase>,
    /// Why scoring stopped (an interrupt, an engine error).
    error: Option<Error>,
    exhausted: bool,
}

impl<'a> Evaluator<'a> {
    pub fn new(
        problem: &'a Problem,
        scorer: &'a Scorer,
        goal: Goal,
        seed: u64,
        budget: usize,
        progress: &'a (dyn Fn(usize) + Sync),
    ) -> Evaluator<'a> {
        Evaluator {
            problem,
            scorer,
            goal,
            seed,
            scale: std::cell::Cell::new(None),
            state: RefCell::new(EvalState::default()),
            budget,
            progress,
            member: None,
        }
    }

    /// An evaluator whose batches are scored in `member`'s pool, together
    /// with the other searches' (see [`super::pool`]).
    pub fn pooled(mut self, member: &'a Member<'a, 'a>) -> Evaluator<'a> {
        self.member = Some(member);
        self
    }

    /// Runs `policies` on the search's draws.
    fn score(&self, policies: &[Policy]) -> Result<Vec<Sample>> {
        match self.member {
            Some(m) => m.score(policies.to_vec()),
            None => self.scorer.run(policies, self.seed, &|_| {}),
        }
    }

    /// The levers' values a point of the unit box stands for.
    pub fn decode(&self, u: &[f64]) -> Vec<f64> {
        self.problem
            .levers
            .iter()
            .zip(u)
            .map(|(l, &v)| l.decode(v))
            .collect()
    }

    /// The point of the unit box of lever values `x`.
    pub fn encode(&self, x: &[f64]) -> Vec<f64> {
        self.problem
            .levers
            .iter()
            .zip(x)
            .map(|(l, &v)| l.encode(v))
            .collect()
    }

    pub fn set_phase(&self, p: Phase) {
        self.state.borrow_mut().phase = Some(p);
    }

    /// Candidates scored so far, and engine runs.
    pub fn used(&self) -> (usize, usize) {
        let s = self.state.borrow();
        (s.log.len(), s.batches)
    }

    pub fn remaining(&self) -> usize {
        self.budget.saturating_sub(self.used().0)
    }

    /// Candidates left before the budget is spent.
    fn left(&self) -> usize {
        self.remaining()
    }

    /// Every scored candidate, in order.
    pub fn log(&self) -> Vec<Eval> {
        self.state.borrow().log.clone()
    }

    /// Scores `xs` apart from the search (no budget spent, nothing
    /// logged): the optimum's finishing touches, such as rounding.
    /// Each with the standard error of its objective.
    pub fn judge(&self, xs: &[Vec<f64>]) -> Result<Vec<(Eval, f64)>> {
        crate::engine::check_interrupted()?;
        let name = &self.problem.name;
        let policies: Vec<_> = xs.iter().map(|x| self.problem.policy_at(x, name)).collect();
        let samples = self.scorer.run(&policies, self.seed, &|_| {})?;
        let phase = self.state.borrow().phase.unwrap_or(Phase::Start);
        let years = self.scorer.years;
        Ok(xs
            .iter()
            .zip(&samples)
            .map(|(x, s)| {
                let se = s.stderr(self.goal.objective, years);
                (self.eval_of(s, x.clone(), phase, usize::MAX), se)
            })
            .collect())
    }

    fn eval_of(&self, s: &Sample, x: Vec<f64>, phase: Phase, batch: usize) -> Eval {
        let years = self.scorer.years;
        let finite = s.value.iter().all(|v| v.is_finite())
            && s.delta.iter().all(|v| v.is_finite())
            && s.spend.iter().all(|v| v.is_finite());
        let objective = s.measure(self.goal.objective, years);
        let constraints: Vec<f64> = self
            .goal
            .constraints
            .iter()
            .map(|(m, _)| s.measure(*m, years))
            .collect();
        let report = self
            .goal
            .report
            .iter()
            .map(|m| s.measure(*m, years))
            .collect();
        let violation: f64 = self
            .goal
            .constraints
            .iter()
            .zip(&constraints)
            .map(|((_, b), &v)| b.violation(v))
            .sum();
        let usable = finite && objective.is_finite();
        Eval {
            phase,
            x,
            objective,
            constraints,
            report,
            violation: if usable { violation } else { f64::INFINITY },
            feasible: usable && violation == 0.0,
            cost: UNUSABLE,
            batch,
        }
    }

    /// The costs of points of the unit box (outside it: the cost at the
    /// nearest point of the box plus the squared distance, scaled).
    /// Distinct new candidates are scored together, in one engine run.
    pub fn costs(&self, points: &[Vec<f64>]) -> Result<Vec<f64>> {
        self.costs_in(points, None)
    }

    /// [`Evaluator::costs`], each new candidate logged in the phase given
    /// beside its point (the lockstep Nelder-Mead runs of [`polish`]:
    /// the first origin's candidates are the polish, the others' restarts)
    /// instead of the current phase.
    pub fn costs_in(&self, points: &[Vec<f64>], phases: Option<&[Phase]>) -> Result<Vec<f64>> {
        let xs: Vec<Vec<f64>> = points.iter().map(|u| self.decode(u)).collect();
        let key = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<u64>>();
        let mut fresh: Vec<Vec<f64>> = Vec::new();
        let mut fresh_phase: Vec<Option<Phase>> = Vec::new();
        {
            let st = self.state.borrow();
            if let Some(e) = &st.error {
                return Err(clone_error(e));
            }
            for (i, x) in xs.iter().enumerate() {
                let k = key(x);
                if !st.cache.contains_key(&k) && !fresh.iter().any(|f| key(f) == k) {
                    fresh.push(x.clone());
                    fresh_phase.push(phases.map(|p| p[i]));
                }
            }
        }
        if !fresh.is_empty() {
            if self.left() < fresh.len() {
                self.state.borrow_mut().exhausted = true;
                return Err(Error::Usage("evaluation budget spent".into()));
            }
            crate::engine::check_interrupted()?;
            let name = &self.problem.name;
            let policies: Vec<_> = fresh
                .iter()
                .map(|x| self.problem.policy_at(x, name))
                .collect();
            let samples = self.score(&policies);
            let samples = match samples {
                Ok(s) => s,
                Err(e) => {
                    let again = clone_error(&e);
                    self.state.borrow_mut().error = Some(e);
                    return Err(again);
                }
            };
            let mut st = self.state.borrow_mut();
            let batch = st.batches;
            st.batches += 1;
            let phase = st.phase.unwrap_or(Phase::Start);
            let evals: Vec<Eval> = fresh
                .iter()
                .zip(&samples)
                .zip(&fresh_phase)
                .map(|((x, s), p)| self.eval_of(s, x.clone(), p.unwrap_or(phase), batch))
                .collect();
            let scale = match self.scale.get() {
                Some(s) => s,
                None => {
                    let s = scale_for(&self.goal, &evals);
                    self.scale.set(Some(s));
                    s
                }
            };
            for (x, mut e) in fresh.into_iter().zip(evals) {
                if e.violation.is_finite() {
                    let sense = if self.goal.minimize { 1.0 } else { -1.0 };
                    e.cost = sense * e.objective / scale + PENALTY * e.violation;
                }
                let i = st.log.len();
                st.log.push(e);
                st.cache.insert(key(&x), i);
            }
            let n = st.log.len();
            drop(st);
            (self.progress)(n);
        }
        let st = self.state.borrow();
        Ok(points
            .iter()
            .zip(&xs)
            .map(|(u, x)| {
                let c = st.log[st.cache[&key(x)]].cost;
                let out: f64 = u
                    .iter()
                    .map(|&v| {
                        let d = if v < 0.0 {
                            -v
                        } else if v > 1.0 {
                            v - 1.0
                        } else {
                            0.0
                        };
                        d * d
                    })
                    .sum();
                if out > 0.0 {
                    c + PENALTY * out
                } else {
                    c
                }
            })
            .collect())
    }

    /// The best candidate so far, feasibility first (see the module docs).
    pub fn best(&self) -> Option<Eval> {
        best_of(&self.state.borrow().log, self.goal.minimize)
    }

    /// Why the search had to stop early, if it was an error (an
    /// interrupt, an engine failure); a spent budget is not one.
    fn take_error(&self) -> Option<Error> {
        self.state.borrow_mut().error.take()
    }
}

/// The best of `log`: the highest objective among feasible candidates
/// (the first on ties), else the smallest violation.
pub fn best_of(log: &[Eval], minimize: bool) -> Option<Eval> {
    let mut best: Option<&Eval> = None;
    for e in log {
        best = Some(match best {
            None => e,
            Some(b) => {
                if better(e, b, minimize) {
                    e
                } else {
                    b
                }
            }
        });
    }
    best.cloned()
}

/// Whether `a` beats `b` (feasibility first).
pub fn better(a: &Eval, b: &Eval, minimize: bool) -> bool {
    match (a.feasible, b.feasible) {
        (true, false) => true,
        (false, true) => false,
        (true, true) if minimize => a.objective < b.objective,
        (true, true) => a.objective > b.objective,
        (false, false) => a.violation < b.violation,
    }
}

fn clone_error(e: &Error) -> Error {
    match e {
        Error::Interrupted => Error::Interrupted,
        Error::ClosedPipe => Error::ClosedPipe,
        other => Error::Usage(other.to_string()),
    }
}

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
            Err(_) if ev.state.borrow().exhausted => Ok(()),
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
    finish(lockstep(ev, origins, 0.1, LOCKSTEP, limit, 0.15, Phase::Polish))?;
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
                if ev.state.borrow().exhausted {
                    ev.state.borrow_mut().exhausted = false;
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

/// What a simplex waits for.
#[derive(Clone, Debug)]
enum Wait {
    /// The costs of its first vertices.
    Start,
    Reflect,
    /// The expansion, after a reflection better than the best vertex.
    Expand { xr: Vec<f64>, fr: f64 },
    /// The outside contraction, after a reflection between the second
    /// worst and the worst.
    Outside { fr: f64 },
    /// The inside contraction, after a reflection no better than the
    /// worst.
    Inside,
    /// Every vertex but the best, moved halfway to it.
    Shrink,
}

/// Nelder-Mead (reflection 1, expansion 2, contraction 1/2, shrink 1/2)
/// as ask and tell: [`Simplex::ask`] gives the points it needs scored
/// next (one, or the shrink's d at once), [`Simplex::tell`] takes their
/// costs. Vertices are kept sorted by cost, best first (stable: earlier
/// vertices first on ties).
#[derive(Clone, Debug)]
pub struct Simplex {
    points: Vec<Vec<f64>>,
    costs: Vec<f64>,
    wait: Wait,
    asked: Vec<Vec<f64>>,
}

/// Tolerance on the standard deviation of a simplex's costs.
const SD_TOLERANCE: f64 = 1e-9;

impl Simplex {
    /// A simplex of the vertices `points` (d + 1 of them).
    pub fn new(points: Vec<Vec<f64>>) -> Simplex {
        Simplex {
            asked: points.clone(),
            costs: vec![f64::INFINITY; points.len()],
            points,
            wait: Wait::Start,
        }
    }

    /// The points to score next.
    pub fn ask(&self) -> &[Vec<f64>] {
        &self.asked
    }

    /// Whether the costs of the vertices agree to [`SD_TOLERANCE`].
    pub fn converged(&self) -> bool {
        if matches!(self.wait, Wait::Start) {
            return false;
        }
        let n = self.costs.len() as f64;
        let mean = self.costs.iter().sum::<f64>() / n;
        let var = self.costs.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / n;
        var.sqrt() < SD_TOLERANCE || !mean.is_finite()
    }

    /// The best vertex and its cost.
    pub fn best(&self) -> (&[f64], f64) {
        (&self.points[0], self.costs[0])
    }

    fn sort(&mut self) {
        let mut order: Vec<usize> = (0..self.points.len()).collect();
        order.sort_by(|&a, &b| self.costs[a].total_cmp(&self.costs[b]));
        self.points = order.iter().map(|&i| self.points[i].clone()).collect();
        self.costs = order.iter().map(|&i| self.costs[i]).collect();
    }

    /// The centroid of every vertex but the worst.
    fn centroid(&self) -> Vec<f64> {
        let n = self.points.len() - 1;
        let mut c = vec![0.0; self.points[0].len()];
        for p in &self.points[..n] {
            for (ci, pi) in c.iter_mut().zip(p) {
                *ci += pi;
            }
        }
        c.iter_mut().for_each(|v| *v /= n as f64);
        c
    }

    /// c + t (x - c).
    fn toward(c: &[f64], x: &[f64], t: f64) -> Vec<f64> {
        c.iter().zip(x).map(|(c, x)| c + t * (x - c)).collect()
    }

    fn replace_worst(&mut self, x: Vec<f64>, f: f64) {
        let w = self.points.len() - 1;
        self.points[w] = x;
        self.costs[w] = f;
        self.reflect();
    }

    /// Sorts, then asks for the reflection of the worst vertex.
    fn reflect(&mut self) {
        self.sort();
        let c = self.centroid();
        let worst = &self.points[self.points.len() - 1];
        self.asked = vec![Self::toward(&c, worst, -1.0)];
        self.wait = Wait::Reflect;
    }

    fn shrink(&mut self) {
        let best = self.points[0].clone();
        self.asked = self.points[1..]
            .iter()
            .map(|p| Self::toward(&best, p, 0.5))
            .collect();
        self.wait = Wait::Shrink;
    }

    /// Takes the costs of the points of [`Simplex::ask`], in order.
    pub fn tell(&mut self, f: &[f64]) {
        let n = self.points.len();
        let wait = std::mem::replace(&mut self.wait, Wait::Reflect);
        match wait {
            Wait::Start => {
                self.costs = f.to_vec();
                self.reflect();
            }
            Wait::Shrink => {
                let moved = std::mem::take(&mut self.asked);
                for (i, (x, c)) in moved.into_iter().zip(f).enumerate() {
                    self.points[i + 1] = x;
                    self.costs[i + 1] = *c;
                }
                self.reflect();
            }
            Wait::Reflect => {
                let xr = self.asked.remove(0);
                let fr = f[0];
                let c = self.centroid();
                if fr < self.costs[0] {
                    self.asked = vec![Self::toward(&c, &xr, 2.0)];
                    self.wait = Wait::Expand { xr, fr };
                } else if fr < self.costs[n - 2] {
                    self.replace_worst(xr, fr);
                } else if fr < self.costs[n - 1] {
                    self.asked = vec![Self::toward(&c, &xr, 0.5)];
                    self.wait = Wait::Outside { fr };
                } else {
                    self.asked = vec![Self::toward(&c, &self.points[n - 1], 0.5)];
                    self.wait = Wait::Inside;
                }
            }
            Wait::Expand { xr, fr } => {
                let xe = self.asked.remove(0);
                if f[0] < fr {
                    self.replace_worst(xe, f[0]);
                } else {
                    self.replace_worst(xr, fr);
                }
            }
            Wait::Outside { fr, .. } => {
                let xc = self.asked.remove(0);
                if f[0] <= fr {
                    self.replace_worst(xc, f[0]);
                } else {
                    self.shrink();
                }
            }
            Wait::Inside => {
                let xc = self.asked.remove(0);
                if f[0] < self.costs[n - 1] {
                    self.replace_worst(xc, f[0]);
                } else {
                    self.shrink();
                }
            }
        }
    }
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

/// The objective's scale: the largest magnitude among the starting
/// points' objectives (1 for a probability, or when all are 0).
pub fn scale_for(goal: &Goal, evals: &[Eval]) -> f64 {
    if goal.objective == Measure::ProbBeatsBaseline {
        return 1.0;
    }
    let m = evals
        .iter()
        .filter(|e| e.objective.is_finite())
        .map(|e| e.objective.abs())
        .fold(0.0, f64::max);
    if m > 0.0 {
        m
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asks and tells until converged; returns the best vertex and the
    /// costs scored.
    fn minimize(f: impl Fn(&[f64]) -> f64, start: Vec<Vec<f64>>) -> (Vec<f64>, usize) {
        let mut s = Simplex::new(start);
        let mut scored = 0;
        while !s.converged() && scored < 5000 {
            let costs: Vec<f64> = s.ask().iter().map(|x| f(x)).collect();
            scored += costs.len();
            s.tell(&costs);
        }
        (s.best().0.to_vec(), scored)
    }

    #[test]
    fn the_simplex_finds_a_quadratics_minimum() {
        let f = |x: &[f64]| (x[0] - 0.3).powi(2) + 2.0 * (x[1] - 0.7).powi(2) + 0.5;
        let (x, scored) = minimize(f, vec![vec![0.5, 0.5], vec![0.6, 0.5], vec![0.5, 0.6]]);
        assert!((x[0] - 0.3).abs() < 1e-3 && (x[1] - 0.7).abs() < 1e-3, "{x:?}");
        assert!(scored < 500, "{scored}");
    }

    /// A shrink asks for every vertex but the best at once.
    #[test]
    fn a_shrink_is_one_ask() {
        // Every new point costs more than the worst vertex, so the
        // reflection and the inside contraction fail: a shrink.
        let f = |x: &[f64]| {
            if x == [0.0, 0.0] {
                0.0
            } else if x == [1.0, 0.0] || x == [0.0, 1.0] {
                1.0
            } else {
                5.0
            }
        };
        let mut s = Simplex::new(vec![vec![0.0, 0.0], vec![1.0, 0.0], vec![0.0, 1.0]]);
        let mut asks = Vec::new();
        for _ in 0..3 {
            let costs: Vec<f64> = s.ask().iter().map(|x| f(x)).collect();
            asks.push(costs.len());
            s.tell(&costs);
        }
        assert_eq!(asks, [3, 1, 1]);
        assert_eq!(s.ask().len(), 2);
    }
}
