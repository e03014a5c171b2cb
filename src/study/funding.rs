//! The funding study (`[funding]`): how long to fund each innovation unit.
//!
//! A strategist asks this per unit: 1688's best cycle need not be Quark's.
//! So each listed unit is run with each number of funded years under the
//! study's policy, one unit at a time (every other unit keeps the policy's
//! terms), and 0 years (not funded) is always run as the reference. All
//! variants are policies of ONE run: every trial applies them to the same
//! draws, and the engine records per trial the unit's value minus its value
//! unfunded (and the group's), so the gain is a paired difference whose
//! standard error holds only the decision's effect, not the spread of the
//! group's fortunes. The engine also records, for these runs only, the
//! present value of what was spent on the unit and whether its gate left it
//! funded (`model::Tracked`); a plain run computes none of it.
//!
//! Under the one-future valuation (v3) a horizon h reads "fund for the
//! cycle, then stop": the study picks each unit's best cycle where every
//! cycle has ended ([`read_at`]: the longest cycle studied, or the last
//! horizon if later; added to the study's horizons when the scenario has
//! no such horizon), and a second, small run on the same draws gives the
//! paired probability that the best cycle beats the runner-up.
//!
//! What it found is a [`FundingStudy`] (in `results`, beside the other
//! findings); the terminal table and the report's section are in
//! `report::funding`.

use std::fmt::Write as _;

use crate::error::Result;
use crate::format::{csv_field, num, years};
use crate::kernel::Plan;
use crate::model::{Extra, Metric, Policy, Scenario, Tracked};
use crate::results::funding::{FundingChoice, FundingRow, FundingStudy};
use crate::results::run::check_finite;
use crate::stats::Accumulator;

/// The year at which the study compares cycles: every cycle has ended
/// (the longest studied, rounded up to a whole year), or the scenario's
/// last horizon when that is later.
pub fn read_at(base: &Scenario) -> Option<u32> {
    let f = base.funding.as_ref()?;
    let longest = f.years.iter().copied().fold(0.0, f64::max).ceil() as u32;
    let last = base.horizons.last().copied().unwrap_or(0);
    Some(longest.max(last))
}

/// `policy` with unit `u` funded for `y` years.
fn funded(base: &Scenario, policy: &Policy, u: usize, y: f64) -> Policy {
    let mut p: Policy = policy.clone();
    p.name = format!("{} | {} funded {} y", policy.name, base.units[u].name, y);
    p.terms[u].years = y;
    p
}

/// The study's runs as one scenario: a policy per (unit, funded years),
/// unit by unit, 0 years first, read at the scenario's horizons and at
/// [`read_at`]; and what the engine must track in it.
pub fn variants(base: &Scenario) -> Option<(Scenario, Vec<Tracked>)> {
    let f = base.funding.as_ref()?;
    let policy = &base.policies[f.policy];
    let mut policies = Vec::new();
    let mut tracked = Vec::new();
    for &u in &f.units {
        let reference = policies.len();
        for &y in &f.years {
            tracked.push(Tracked {
                policy: policies.len(),
                unit: u,
                reference,
            });
            policies.push(funded(base, policy, u, y));
        }
    }
    let mut horizons = base.horizons.clone();
    let at = read_at(base)?;
    if !horizons.contains(&at) {
        horizons.push(at);
    }
    let scenario = Scenario {
        name: format!("{} (funding study)", base.name),
        baseline: 0,
        horizons,
        policies,
        funding: None,
        ..base.clone()
    };
    Some((scenario, tracked))
}

/// Per unit of the study, (unit, best years, runner-up years) at the
/// reading year: the paired run of each best cycle against its runner-up
/// on the base run's draws, read at that year only. Its tracked gain is
/// best minus runner-up, trial by trial.
fn duels(base: &Scenario, pairs: &[(usize, f64, f64)], at: u32) -> (Scenario, Vec<Tracked>) {
    let f = base.funding.as_ref().expect("a funding study");
    let policy = &base.policies[f.policy];
    let mut policies = Vec::new();
    let mut tracked = Vec::new();
    for &(u, best, runner_up) in pairs {
        tracked.push(Tracked {
            policy: policies.len() + 1,
            unit: u,
            reference: policies.len(),
        });
        policies.push(funded(base, policy, u, runner_up));
        policies.push(funded(base, policy, u, best));
    }
    let scenario = Scenario {
        name: format!("{} (funding study, best vs runner-up)", base.name),
        baseline: 0,
        horizons: vec![at],
        policies,
        funding: None,
        ..base.clone()
    };
    (scenario, tracked)
}

/// Runs the study of `base`'s `[funding]` table (None without one) on the
/// base run's seed and trial count: the same draws as the base run.
pub fn run(base: &Scenario, threads: Option<usize>) -> Result<Option<FundingStudy>> {
    run_to(base, threads, None)
}

/// [`run`], its runs' blocks admitted by `sink` (which may stop them:
/// `simulate serve` stops a study a newer request overtakes).
pub fn run_to(
    base: &Scenario,
    threads: Option<usize>,
    sink: Option<&dyn crate::engine::TrialSink>,
) -> Result<Option<FundingStudy>> {
    let Some((scenario, tracked)) = variants(base) else {
        return Ok(None);
    };
    let plan = Plan::with_tracked(&scenario, tracked);
    let (plan, acc) = crate::engine::run_plan(plan, &scenario, threads, &|_| {}, sink)?;
    check_finite(&scenario, &plan, &acc)?;
    let mut study = summarise(base, &scenario, &plan, &acc);
    // How sure each choice is: best vs runner-up, paired.
    let at = study.read_at;
    let pairs: Vec<(usize, f64, f64)> = base
        .funding
        .iter()
        .flat_map(|f| f.units.iter())
        .filter_map(|&u| {
            let c = study.choice(&base.units[u].name)?;
            Some((u, c.best, c.runner_up?))
        })
        .collect();
    if !pairs.is_empty() {
        let (scenario, tracked) = duels(base, &pairs, at);
        let plan = Plan::with_tracked(&scenario, tracked);
        let (plan, acc) = crate::engine::run_plan(plan, &scenario, threads, &|_| {}, sink)?;
        check_finite(&scenario, &plan, &acc)?;
        let counted_base = plan.layout.policies;
        for (t, &(u, _, _)) in pairs.iter().enumerate() {
            let p = acc.positive[counted_base + t * 2] as f64 / acc.trials.max(1) as f64;
            let name = &base.units[u].name;
            if let Some(c) = study.choices.iter_mut().find(|c| &c.unit == name) {
                c.over_runner_up = Some(p);
            }
        }
    }
    Ok(Some(study))
}

fn summarise(base: &Scenario, scenario: &Scenario, plan: &Plan, acc: &Accumulator) -> FundingStudy {
    let f = base.funding.as_ref().expect("a funding study");
    let layout = &plan.layout;
    let n_h = scenario.horizons.len();
    let trials = acc.trials.max(1) as f64;
    // Counted slots: the delta_value slots first, then per tracked entry
    // and horizon its unit gain and group gain (`Layout::counted_indices`).
    let counted_base = layout.policies * n_h;
    let prob = |t: usize, h: usize, which: usize| -> f64 {
        acc.positive[counted_base + (t * n_h + h) * 2 + which] as f64 / trials
    };
    let policy = &base.policies[f.policy];
    let spy = base.steps_per_year as f64;
    let mut rows = Vec::new();
    for (t, tr) in layout.tracked.iter().enumerate() {
        let unit = &base.units[tr.unit];
        let years = scenario.policies[tr.policy].terms[tr.unit].years;
        let gate = policy.terms[tr.unit].gate;
        for (h, &horizon) in scenario.horizons.iter().enumerate() {
            // The gate is read at the end of the first step with
            // t_{k+1} >= gate.year; it has been read by the horizon when
            // that step is one of the horizon's.
            let gate_read =
                gate.is_some_and(|g| (g.year * spy).ceil().max(1.0) <= horizon as f64 * spy);
            rows.push(FundingRow {
                unit: unit.name.clone(),
                years,
                horizon,
                value: acc.stats(layout.index(tr.policy, h, Metric::UnitValue(tr.unit))),
                gain: acc.stats(layout.extra_index(t, h, Extra::UnitGain)),
                prob_gain: prob(t, h, 0),
                spend_pv: acc.stats(layout.extra_index(t, h, Extra::SpendPv)).mean,
                gate_pass: gate_read
                    .then(|| acc.stats(layout.extra_index(t, h, Extra::GateOpen)).mean),
                group_gain: acc.stats(layout.extra_index(t, h, Extra::GroupGain)),
                prob_group_gain: prob(t, h, 1),
                best: false,
            });
        }
    }
    // The best years per unit and horizon: the largest mean gain (the
    // fewest years on a tie).
    for &u in &f.units {
        let name = &base.units[u].name;
        for &horizon in &scenario.horizons {
            let best = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| &r.unit == name && r.horizon == horizon)
                .fold(None::<(usize, f64)>, |acc, (i, r)| match acc {
                    Some((_, g)) if r.gain.mean <= g => acc,
                    _ => Some((i, r.gain.mean)),
                });
            if let Some((i, _)) = best {
                rows[i].best = true;
            }
        }
    }
    let read_at = read_at(base).unwrap_or(0);
    // Per unit at the reading year: the best cycle, the runner-up and how
    // the best does against not funding (its own paired gain).
    let choices = f
        .units
        .iter()
        .filter_map(|&u| {
            let name = &base.units[u].name;
            let mut at: Vec<&FundingRow> = rows
                .iter()
                .filter(|r| &r.unit == name && r.horizon == read_at)
                .collect();
            let best = at.iter().position(|r| r.best)?;
            let best = at.remove(best);
            let runner_up = at
                .iter()
                .max_by(|a, b| {
                    a.gain
                        .mean
                        .total_cmp(&b.gain.mean)
                        .then(b.years.total_cmp(&a.years))
                })
                .map(|r| r.years);
            Some(FundingChoice {
                unit: name.clone(),
                best: best.years,
                runner_up,
                over_runner_up: None,
                over_none: (best.years != 0.0).then_some(best.prob_gain),
            })
        })
        .collect();
    FundingStudy {
        policy: policy.name.clone(),
        units: f
            .units
            .iter()
            .map(|&u| base.units[u].name.clone())
            .collect(),
        years: f.years.clone(),
        horizons: scenario.horizons.clone(),
        read_at,
        choices,
        budgets: f.units.iter().map(|&u| policy.terms[u].budget).collect(),
        gates: f.units.iter().map(|&u| policy.terms[u].gate).collect(),
        trials: acc.trials,
        currency: base.currency.clone(),
        rows,
    }
}

/// `funding.csv`: one row per unit, funded years and horizon.
pub fn csv(study: &FundingStudy) -> String {
    let mut out = String::from(
        "policy,unit,funded_years,horizon,value_mean,value_stderr,value_p5,value_p50,value_p95,gain_mean,gain_stderr,gain_p5,gain_p50,gain_p95,prob_gain_positive,spend_pv_mean,gate_pass_share,group_gain_mean,group_gain_stderr,prob_group_gain_positive,best\n",
    );
    for r in &study.rows {
        let [v5, _, v50, _, v95] = r.value.quantiles;
        let [g5, _, g50, _, g95] = r.gain.quantiles;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&study.policy),
            csv_field(&r.unit),
            years(r.years),
            r.horizon,
            num(r.value.mean),
            num(r.value.stderr),
            num(v5),
            num(v50),
            num(v95),
            num(r.gain.mean),
            num(r.gain.stderr),
            num(g5),
            num(g50),
            num(g95),
            num(r.prob_gain),
            num(r.spend_pv),
            r.gate_pass.map(num).unwrap_or_default(),
            num(r.group_gain.mean),
            num(r.group_gain.stderr),
            num(r.prob_group_gain),
            r.best
        );
    }
    out
}
