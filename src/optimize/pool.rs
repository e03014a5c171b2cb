//! Several searches scored as one population: the frontier's points.
//!
//! Each search runs on a thread of its own and asks for its candidates as
//! it always does ([`super::search::Evaluator`]); instead of running the
//! engine itself, it hands its batch to the [`Pool`] and waits. The pool's
//! server (the thread that called [`Pool::serve`], inside the run's rayon
//! pool) waits until every search still running has asked, then scores all
//! the asks together in one engine run ([`Scorer::run`]: one generation of
//! the draws for every search's candidates) and hands each search its
//! samples back.
//!
//! Determinism: a search's asks depend only on the figures it was given,
//! and a policy's figures do not depend on the policies scored beside it
//! (the engine's policies never interact), so every search takes the same
//! path, and finds the same optimum, as it would alone, on any number of
//! threads; a round holds the next ask of every search still running, in
//! the searches' order.

use std::sync::{Condvar, Mutex, MutexGuard};

use super::score::{Sample, Scorer};
use crate::error::{Error, Result};
use crate::model::Policy;

/// The searches' asks and the server's answers.
struct State {
    /// Per search: the batch it waits on.
    asks: Vec<Option<Vec<Policy>>>,
    /// Per search: the samples of its last batch, not yet taken.
    answers: Vec<Option<Result<Vec<Sample>>>>,
    /// Per search: still running.
    live: Vec<bool>,
    /// Engine runs served.
    runs: usize,
}

/// Scores the batches of several searches together (see the module docs).
pub struct Pool<'a> {
    scorer: &'a Scorer,
    seed: u64,
    state: Mutex<State>,
    changed: Condvar,
}

/// Leaves the pool when dropped: a search that ends, returns an error or
/// panics never keeps the server waiting.
pub struct Member<'p, 'a> {
    pool: &'p Pool<'a>,
    index: usize,
}

impl Drop for Member<'_, '_> {
    fn drop(&mut self) {
        let mut st = self.pool.lock();
        st.live[self.index] = false;
        st.asks[self.index] = None;
        drop(st);
        self.pool.changed.notify_all();
    }
}

impl Member<'_, '_> {
    /// Scores `policies` in the pool's next round; blocks until it is run.
    pub fn score(&self, policies: Vec<Policy>) -> Result<Vec<Sample>> {
        let mut st = self.pool.lock();
        st.asks[self.index] = Some(policies);
        self.pool.changed.notify_all();
        loop {
            if let Some(answer) = st.answers[self.index].take() {
                return answer;
            }
            st = self
                .pool
                .changed
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl<'a> Pool<'a> {
    /// A pool of `searches` searches scored by `scorer` on the draws of
    /// `seed`.
    pub fn new(scorer: &'a Scorer, seed: u64, searches: usize) -> Pool<'a> {
        Pool {
            scorer,
            seed,
            state: Mutex::new(State {
                asks: (0..searches).map(|_| None).collect(),
                answers: (0..searches).map(|_| None).collect(),
                live: vec![true; searches],
                runs: 0,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Search `index`'s handle (one per search, moved to its thread).
    pub fn member(&self, index: usize) -> Member<'_, 'a> {
        Member { pool: self, index }
    }

    /// Engine runs served so far.
    pub fn runs(&self) -> usize {
        self.lock().runs
    }

    /// Serves rounds until every search has left. Run on the thread that
    /// owns the engine's rayon pool.
    pub fn serve(&self) {
        let mut st = self.lock();
        loop {
            let waiting = st
                .live
                .iter()
                .zip(&st.asks)
                .any(|(&live, ask)| live && ask.is_none());
            if waiting {
                st = self.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            if !st.live.iter().any(|&l| l) {
                return;
            }
            // Every running search has asked: one round.
            let mut all: Vec<Policy> = Vec::new();
            let mut who: Vec<(usize, usize)> = Vec::new();
            for k in 0..st.asks.len() {
                if let Some(ps) = st.asks[k].take() {
                    who.push((k, ps.len()));
                    all.extend(ps);
                }
            }
            st.runs += 1;
            drop(st);
            let found = crate::engine::check_interrupted()
                .and_then(|()| self.scorer.run(&all, self.seed, &|_| {}));
            st = self.lock();
            match found {
                Ok(samples) => {
                    let mut samples = samples.into_iter();
                    for (k, n) in who {
                        st.answers[k] = Some(Ok(samples.by_ref().take(n).collect()));
                    }
                }
                Err(e) => {
                    for (k, _) in who {
                        st.answers[k] = Some(Err(copy(&e)));
                    }
                }
            }
            self.changed.notify_all();
        }
    }
}

/// An error handed to every search of a failed round.
pub fn copy(e: &Error) -> Error {
    match e {
        Error::Interrupted => Error::Interrupted,
        Error::ClosedPipe => Error::ClosedPipe,
        other => Error::Usage(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::score::Scorer;
    use crate::scenario::load_raw;
    use std::path::Path;

    /// Three searches asking in rounds of different lengths get exactly
    /// the samples of their own runs.
    #[test]
    fn rounds_equal_separate_runs() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sc = load_raw(&root.join("scenarios/reset.toml"))
            .unwrap()
            .scenario()
            .unwrap();
        sc.trials = 1500;
        let scorer = Scorer::with_needs(&sc, 0, true, true);
        let base = sc.policies[1].clone();
        let variant = |r: f64| {
            let mut p = base.clone();
            p.reinvest_share = r;
            p
        };
        let asks: Vec<Vec<Vec<Policy>>> = vec![
            vec![vec![variant(0.1), variant(0.2)], vec![variant(0.3)]],
            vec![vec![variant(0.4)]],
            vec![
                vec![variant(0.5)],
                vec![variant(0.6), variant(0.7)],
                vec![variant(0.8)],
            ],
        ];
        let pool = Pool::new(&scorer, sc.seed, asks.len());
        let got: Vec<Vec<Vec<Sample>>> = std::thread::scope(|s| {
            let handles: Vec<_> = asks
                .iter()
                .enumerate()
                .map(|(k, rounds)| {
                    let m = pool.member(k);
                    s.spawn(move || {
                        rounds
                            .iter()
                            .map(|ps| m.score(ps.clone()).unwrap())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            pool.serve();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(pool.runs(), 3);
        for (rounds, mine) in asks.iter().zip(&got) {
            for (ps, samples) in rounds.iter().zip(mine) {
                assert_eq!(*samples, scorer.run(ps, sc.seed, &|_| {}).unwrap());
            }
        }
    }
}
