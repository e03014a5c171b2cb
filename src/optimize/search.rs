//! The search: argmin's particle swarm over the levers' box, then
//! Nelder-Mead polish from several origins, then a whole-number
//! neighbourhood.
//!
//! Why these (docs/optimize.md has the comparison): a swarm evaluates a
//! whole generation at once through argmin's `bulk_cost`, which here is
//! one engine run scoring every particle on one generation of the draws;
//! it explores the whole box, so the steps that gates and exits put in
//! the objective do not trap it. Nelder-Mead then converges to the 1e-3
//! the tests ask for, where a swarm alone stalls; it starts from the best
//! so far, from the start policy and from the swarm's other good points
//! (the objective has several basins: an innovation unit funded well for
//! five years, or little for two), each run capped at half the budget left,
//! and ends with a small simplex around the best.
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
use argmin::solver::neldermead::NelderMead;
use argmin::solver::particleswarm::{Particle, ParticleSwarm};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::config::{Bound, Lever, Measure, Problem};
use super::score::{Sample, Scorer};
use crate::error::{Error, Result};

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
    /// A lower limit on candidates for one local run (see [`polish`]).
    cap: std::cell::Cell<Option<usize>>,
    progress: &'a (dyn Fn(usize) + Sync),
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
            cap: std::cell::Cell::new(None),
            progress,
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

    /// Candidates left before the budget or the current cap.
    fn left(&self) -> usize {
        let used = self.used().0;
        let all = self.budget.saturating_sub(used);
        match self.cap.get() {
            Some(c) => all.min(c.saturating_sub(used)),
            None => all,
        }
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
        let xs: Vec<Vec<f64>> = points.iter().map(|u| self.decode(u)).collect();
        let key = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<u64>>();
        let mut fresh: Vec<Vec<f64>> = Vec::new();
        {
            let st = self.state.borrow();
            if let Some(e) = &st.error {
                return Err(clone_error(e));
            }
            for x in &xs {
                let k = key(x);
                if !st.cache.contains_key(&k) && !fresh.iter().any(|f| key(f) == k) {
                    fresh.push(x.clone());
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
            let samples = self.scorer.run(&policies, self.seed, &|_| {});
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
                .map(|(x, s)| self.eval_of(s, x.clone(), phase, batch))
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
    /// argmin's Nelder-Mead alone, from the start point.
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

/// Nelder-Mead from several origins (multi-start): the best so far, the
/// start points, then the swarm's particles best first, skipping any close
/// to an origin already polished; each run may use at most half of what is
/// left. A last small simplex around the best checks that it did not stop
/// on a step.
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
    let mut done: Vec<Vec<f64>> = Vec::new();
    for (k, o) in origins.into_iter().enumerate() {
        if ev.remaining() <= reserve {
            break;
        }
        let close = done
            .iter()
            .any(|p| p.iter().zip(&o).map(|(a, b)| (a - b).powi(2)).sum::<f64>() < 0.15 * 0.15);
        if close {
            continue;
        }
        let share = ((ev.remaining() - reserve) / 2).max(6 * (d + 1));
        ev.cap.set(Some(ev.used().0 + share));
        ev.set_phase(if k == 0 {
            Phase::Polish
        } else {
            Phase::Restart
        });
        let r = finish(nelder_mead(ev, &o, 0.1));
        ev.cap.set(None);
        ev.state.borrow_mut().exhausted = false;
        r?;
        done.push(o);
    }
    if let Some(best) = ev.best() {
        ev.set_phase(Phase::Restart);
        finish(nelder_mead(ev, &ev.encode(&best.x), 0.02))?;
    }
    Ok(())
}

/// argmin's Nelder-Mead from `from`, simplex `step` wide, until its costs
/// agree to 1e-9 or the budget is spent.
fn nelder_mead(ev: &Evaluator, from: &[f64], step: f64) -> std::result::Result<(), Error> {
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
    let iters = ev.remaining() as u64;
    if iters == 0 {
        return Ok(());
    }
    // The first simplex, scored as one batch (one generation of the
    // draws). argmin's Nelder-Mead unwraps the costs of its first simplex,
    // so they must be known before it starts: from here on they come from
    // the cache, and only later calls can fail (and stop the run cleanly).
    ev.costs(&simplex)?;
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(1e-9)
        .map_err(|e| Error::Usage(e.to_string()))?;
    Executor::new(Cost(ev), solver)
        .configure(|s| s.max_iters(iters))
        .run()
        .map(|_| ())
        .map_err(|e| Error::Usage(e.to_string()))
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
