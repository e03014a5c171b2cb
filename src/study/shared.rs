//! Study variants on one generation of the draws: [`super::simulate_many`].
//!
//! Variants are grouped by how they draw (`kernel::tape::same_draws`: the
//! same units, factors, steps and jump count draws, and the same seed and
//! trials); each group runs on one generation of the draws
//! (`engine::shared::run_group`), a variant alone in its group runs as it
//! would by itself. A group's accumulators live until its last block, one
//! per variant and worker thread, so groups are split into chunks whose
//! accumulators fit [`MEMORY_BUDGET`] (or a quarter of the memory
//! available, if less); each chunk pays for the draws once.

use crate::engine::{self, shared::run_group};
use crate::error::Result;
use crate::kernel::tape::same_draws;
use crate::kernel::Plan;
use crate::model::Scenario;
use crate::resources;
use crate::results::{check_finite, Summary};

/// Most bytes the accumulators of one chunk of variants may take, all
/// worker threads together.
pub const MEMORY_BUDGET: u64 = 512 << 20;

/// The variants' indices, grouped by how they draw (in order of first
/// appearance, each group in the variants' order).
pub fn groups(scenarios: &[Scenario], plans: &[Plan]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, (s, p)) in scenarios.iter().zip(plans).enumerate() {
        let fits = |g: &&mut Vec<usize>| {
            let j = g[0];
            scenarios[j].seed == s.seed
                && scenarios[j].trials == s.trials
                && same_draws(&plans[j], p)
        };
        match groups.iter_mut().find(fits) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

/// Variants a chunk of a group of `s` may hold on `threads` workers.
fn chunk_len(s: &Scenario, threads: usize) -> usize {
    // One accumulator more, as `resources::estimate` counts them (the
    // workers share their value buffers, see `engine::shared`).
    let acc =
        resources::estimate(s, 1, s.trials, 1).bytes - resources::estimate(s, 1, s.trials, 0).bytes;
    let room = resources::available_memory().map_or(MEMORY_BUDGET, |(b, _)| b / 4);
    let budget = MEMORY_BUDGET.min(room);
    (budget / (acc.max(1) * threads.max(1) as u64)).max(1) as usize
}

/// See [`super::simulate_many`].
pub fn simulate_many(scenarios: &[Scenario], threads: Option<usize>) -> Result<Vec<Summary>> {
    let plans: Vec<Plan> = scenarios.iter().map(Plan::new).collect();
    let groups = groups(scenarios, &plans);
    let mut found: Vec<Option<Result<Summary>>> = (0..scenarios.len()).map(|_| None).collect();
    engine::with_threads(threads, || -> Result<()> {
        let workers = rayon::current_num_threads();
        for group in &groups {
            let first = group[0];
            let len = chunk_len(&scenarios[first], workers);
            for chunk in group.chunks(len) {
                engine::check_interrupted()?;
                let s = &scenarios[first];
                let accs = if let [only] = chunk {
                    // Alone: a plain run, without a tape.
                    let blocks = 0..engine::block_count(s.trials);
                    vec![engine::run_blocks(
                        &plans[*only],
                        s.seed,
                        s.trials,
                        blocks,
                        &|_| {},
                    )?]
                } else {
                    let ps: Vec<&Plan> = chunk.iter().map(|&i| &plans[i]).collect();
                    run_group(&ps, s.seed, s.trials)?
                };
                for (&i, acc) in chunk.iter().zip(accs) {
                    let (sc, plan) = (&scenarios[i], &plans[i]);
                    found[i] =
                        Some(check_finite(sc, plan, &acc).map(|()| Summary::new(sc, plan, &acc)));
                }
            }
        }
        Ok(())
    })??;
    // The first variant's error, in the variants' order, as separate runs
    // would report it.
    found
        .into_iter()
        .map(|r| r.expect("every variant ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dist, Param};
    use crate::scenario::{load_raw, Loaded};
    use crate::study::{path, simulate};
    use std::path::Path;

    fn loaded(name: &str) -> Loaded {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        load_raw(&root.join("scenarios").join(name)).unwrap()
    }

    /// The scenario with each (path, value) applied as a sweep applies it,
    /// with `trials` trials (a partial block and a partial batch).
    fn variant(base: &Loaded, patches: &[(&str, f64)], trials: u64) -> Scenario {
        let mut l = base.clone();
        for &(path, v) in patches {
            l = path::apply(&l, path, v).unwrap();
        }
        let mut s = l.scenario().unwrap();
        s.trials = trials;
        s
    }

    /// Every variant's summary equals its own run's, bit for bit (JSON
    /// with round-trip floats), on 1 and 3 threads.
    fn check(variants: &[Scenario]) {
        let alone: Vec<String> = variants
            .iter()
            .map(|s| serde_json::to_string(&simulate(s, Some(2)).unwrap()).unwrap())
            .collect();
        for threads in [1, 3] {
            let many = simulate_many(variants, Some(threads)).unwrap();
            assert_eq!(many.len(), variants.len());
            for (i, (m, a)) in many.iter().zip(&alone).enumerate() {
                let m = serde_json::to_string(m).unwrap();
                assert!(
                    m == *a,
                    "variant {i} on {threads} threads differs from its own run"
                );
            }
        }
    }

    #[test]
    fn reset_variants_equal_separate_runs() {
        let base = loaded("reset.toml");
        let t = 2 * 1024 + 333;
        let variants = [
            variant(&base, &[], t),
            variant(&base, &[("units.\"Taobao & Tmall\".growth", 0.05)], t),
            variant(
                &base,
                &[("units.\"Cloud Intelligence\".volatility", 0.2)],
                t,
            ),
            variant(&base, &[("units.Quark.margin", -0.3)], t),
            variant(
                &base,
                &[("units.\"Cloud Intelligence\".multiple.median", 3.5)],
                t,
            ),
            variant(
                &base,
                &[("units.\"Cloud Intelligence\".multiple.dispersion", 0.2)],
                t,
            ),
            variant(&base, &[("units.\"Taobao & Tmall\".jumps.mean", -0.2)], t),
            variant(
                &base,
                &[("units.\"Taobao & Tmall\".response.max_uplift", 0.08)],
                t,
            ),
            variant(
                &base,
                &[("units.\"Taobao & Tmall\".valuation.terminal_growth", 0.01)],
                t,
            ),
            variant(&base, &[("policies.reset.reinvest_share", 0.8)], t),
            variant(&base, &[("policies.reset.core.intensity", 0.12)], t),
            variant(&base, &[("policies.reset.units.Quark.budget", 9.0)], t),
            variant(&base, &[("scenario.discount_rate", 0.11)], t),
            // Another jump rate: drawn differently, so run on its own.
            variant(&base, &[("units.\"Taobao & Tmall\".jumps.rate", 0.3)], t),
            // Other trials: likewise.
            variant(&base, &[], 1500),
        ];
        let plans: Vec<Plan> = variants.iter().map(Plan::new).collect();
        let g = groups(&variants, &plans);
        assert_eq!(g.len(), 3, "{g:?}");
        assert_eq!(g[0].len(), 13);
        check(&variants);
    }

    /// The scenario with unit `unit`'s distribution of `param` changed
    /// by `f` (which must change it).
    fn drawn(base: &Loaded, unit: &str, param: Param, trials: u64, f: fn(&mut Dist)) -> Scenario {
        let mut s = variant(base, &[], trials);
        let u = s.units.iter_mut().find(|u| u.name == unit).unwrap();
        let x = u.uncertain.iter_mut().find(|x| x.param == param).unwrap();
        let before = x.dist.clone();
        f(&mut x.dist);
        assert_ne!(before, x.dist, "{unit} {param:?}");
        s
    }

    /// Drawn assumptions: variants that change a drawn key's
    /// distribution, a growth fade, or a plain key of a unit with drawn
    /// keys share the path draws but never a drawn unit's shocks.
    #[test]
    fn reset_uncertain_variants_equal_separate_runs() {
        let base = loaded("reset_uncertain.toml");
        let t = 1024 + 333;
        let variants = [
            variant(&base, &[], t),
            drawn(&base, "Xianyu", Param::Growth, t, |d| {
                if let Dist::Triangular { max, .. } = d {
                    *max = 0.45
                }
            }),
            drawn(&base, "Quark", Param::Revenue, t, |d| {
                if let Dist::Lognormal { dispersion, .. } = d {
                    *dispersion = 0.6
                }
            }),
            variant(
                &base,
                &[(
                    "units.\"International Digital Commerce\".growth_fade.years",
                    5.0,
                )],
                t,
            ),
            variant(
                &base,
                &[(
                    "units.\"International Digital Commerce\".growth_fade.from",
                    0.4,
                )],
                t,
            ),
            variant(&base, &[("units.DingTalk.volatility", 0.5)], t),
            variant(&base, &[("units.\"Taobao & Tmall\".growth", 0.05)], t),
            variant(&base, &[("policies.reset.reinvest_share", 0.8)], t),
        ];
        let plans: Vec<Plan> = variants.iter().map(Plan::new).collect();
        let g = groups(&variants, &plans);
        assert_eq!(g.len(), 1, "{g:?}");
        check(&variants);
    }

    #[test]
    fn cloud_spinoff_sweep_points_equal_separate_runs() {
        let base = loaded("cloud_spinoff.toml");
        let t = 1024 + 7;
        let mut variants = Vec::new();
        let recycle = format!(
            "policies.spin_off.{}",
            crate::model::PolicyField::Recycle.key().path
        );
        for v in [0.0, 0.5, 1.0] {
            for r in [0.07, 0.09] {
                variants.push(variant(
                    &base,
                    &[(recycle.as_str(), v), ("scenario.discount_rate", r)],
                    t,
                ));
            }
        }
        variants.push(variant(
            &base,
            &[("units.\"Cloud Intelligence\".growth", 0.3)],
            t,
        ));
        check(&variants);
    }
}
