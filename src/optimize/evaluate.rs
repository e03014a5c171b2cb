//! Scoring a search's candidates: what it maximizes ([`Goal`]), each
//! scored candidate ([`Eval`]), and the [`Evaluator`] that decodes points
//! of the unit box, scores each distinct candidate once (a batch per
//! call, one engine run, or a round of a [`super::pool`]), logs it and
//! counts the budget; the search's cost (objective scaled to about 1 plus
//! an exact penalty on the constraints) and the choice of the best,
//! feasibility first.

use std::cell::RefCell;
use std::collections::HashMap;

use super::config::{Bound, Measure, Problem};
use super::pool::Member;
use super::score::{Sample, Scorer};
use crate::error::{Error, Result};
use crate::model::Policy;

/// Weight of the summed relative constraint violations in the search's
/// cost (the objective is scaled to about 1).
pub const PENALTY: f64 = 1000.0;
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
    pub(super) fn take_error(&self) -> Option<Error> {
        self.state.borrow_mut().error.take()
    }

    /// Whether the last batch asked for more candidates than the budget
    /// had left.
    pub(super) fn exhausted(&self) -> bool {
        self.state.borrow().exhausted
    }

    /// Forgets a spent budget's refusal (a lockstep run that ended on it).
    pub(super) fn clear_exhausted(&self) {
        self.state.borrow_mut().exhausted = false;
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
