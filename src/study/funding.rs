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
//! funded (`model::trial::Tracked`); a plain run computes none of it.

use std::fmt::Write as _;

use crate::error::Result;
use crate::model::trial::{Extra, Metric, Plan, Tracked};
use crate::model::{Gate, Policy, Scenario};
use crate::report::document::Block;
use crate::report::summary::{csv_field, num};
use crate::report::table::money;
use crate::stats::{Accumulator, Stats};

/// One unit funded for one number of years, at one horizon.
#[derive(Clone, Debug, PartialEq)]
pub struct FundingRow {
    pub unit: String,
    pub years: f64,
    pub horizon: u32,
    /// The unit's value: its discounted cash flows plus its exit proceeds
    /// or its value while held.
    pub value: Stats,
    /// The unit's value minus its value when not funded, same trial.
    pub gain: Stats,
    /// Share of trials with a gain above 0.
    pub prob_gain: f64,
    /// Mean present value (at t = 0) of what was invested in the unit up
    /// to the horizon.
    pub spend_pv: f64,
    /// Share of trials in which the unit passed its gate; None when it has
    /// no gate under the policy or the gate comes after the horizon.
    pub gate_pass: Option<f64>,
    /// The group's value minus its value with the unit not funded.
    pub group_gain: Stats,
    pub prob_group_gain: f64,
    /// The number of years with the largest mean gain for this unit and
    /// horizon (0 when no funding adds value on average).
    pub best: bool,
}

/// What the funding study found.
#[derive(Clone, Debug, PartialEq)]
pub struct FundingStudy {
    /// The policy whose innovation terms were varied.
    pub policy: String,
    pub units: Vec<String>,
    /// Funded years, ascending, 0 first.
    pub years: Vec<f64>,
    pub horizons: Vec<u32>,
    /// Per unit: its budget per year and gate under the policy.
    pub budgets: Vec<f64>,
    pub gates: Vec<Option<Gate>>,
    pub trials: u64,
    pub currency: String,
    /// Whether a studied unit is valued by the growth-fade DCF while held
    /// (then a unit still funded at a horizon is credited with the growth
    /// its funding buys there).
    pub fade: bool,
    /// Unit by unit, then funded years, then horizon.
    pub rows: Vec<FundingRow>,
}

impl FundingStudy {
    pub fn row(&self, unit: &str, years: f64, horizon: u32) -> Option<&FundingRow> {
        self.rows
            .iter()
            .find(|r| r.unit == unit && r.years == years && r.horizon == horizon)
    }

    /// The best number of years for `unit` at `horizon`.
    pub fn best(&self, unit: &str, horizon: u32) -> Option<&FundingRow> {
        self.rows
            .iter()
            .find(|r| r.unit == unit && r.horizon == horizon && r.best)
    }

    /// The last (longest) horizon.
    pub fn last_horizon(&self) -> u32 {
        self.horizons.last().copied().unwrap_or(0)
    }

    /// Whether every studied cycle has ended by `horizon` (no unit is
    /// still funded in its last step).
    pub fn cycles_over(&self, horizon: u32) -> bool {
        self.years.iter().all(|&y| y < horizon as f64)
    }
}

/// The study's runs as one scenario: a policy per (unit, funded years),
/// unit by unit, 0 years first; and what the engine must track in it.
pub fn variants(base: &Scenario) -> Option<(Scenario, Vec<Tracked>)> {
    let f = base.funding.as_ref()?;
    let policy = &base.policies[f.policy];
    let mut policies = Vec::new();
    let mut tracked = Vec::new();
    for &u in &f.units {
        let reference = policies.len();
        for &y in &f.years {
            let mut p: Policy = policy.clone();
            p.name = format!("{} | {} funded {} y", policy.name, base.units[u].name, y);
            p.terms[u].years = y;
            tracked.push(Tracked {
                policy: policies.len(),
                unit: u,
                reference,
            });
            policies.push(p);
        }
    }
    let scenario = Scenario {
        name: format!("{} (funding study)", base.name),
        baseline: 0,
        policies,
        funding: None,
        ..base.clone()
    };
    Some((scenario, tracked))
}

/// Runs the study of `base`'s `[funding]` table (None without one) on the
/// base run's seed and trial count: the same draws as the base run.
pub fn run(base: &Scenario, threads: Option<usize>) -> Result<Option<FundingStudy>> {
    let Some((scenario, tracked)) = variants(base) else {
        return Ok(None);
    };
    let plan = Plan::with_tracked(&scenario, tracked);
    let (plan, acc) = crate::engine::run_plan(plan, &scenario, threads, &|_| {}, None)?;
    crate::check_finite(&scenario, &plan, &acc)?;
    Ok(Some(summarise(base, &scenario, &plan, &acc)))
}

fn summarise(base: &Scenario, scenario: &Scenario, plan: &Plan, acc: &Accumulator) -> FundingStudy {
    let f = base.funding.as_ref().expect("a funding study");
    let layout = &plan.layout;
    let n_h = base.horizons.len();
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
        for (h, &horizon) in base.horizons.iter().enumerate() {
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
        for &horizon in &base.horizons {
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
    FundingStudy {
        policy: policy.name.clone(),
        units: f
            .units
            .iter()
            .map(|&u| base.units[u].name.clone())
            .collect(),
        years: f.years.clone(),
        horizons: base.horizons.clone(),
        budgets: f.units.iter().map(|&u| policy.terms[u].budget).collect(),
        gates: f.units.iter().map(|&u| policy.terms[u].gate).collect(),
        trials: acc.trials,
        currency: base.currency.clone(),
        fade: f
            .units
            .iter()
            .any(|&u| matches!(base.units[u].valuation, crate::model::Valuation::Fade(_))),
        rows,
    }
}

/// A number of years as written: "3", "2.5".
pub fn years(y: f64) -> String {
    format!("{y}")
}

/// "1 year", "3 years".
fn for_years(y: f64) -> String {
    if y == 1.0 {
        "1 year".into()
    } else {
        format!("{} years", years(y))
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

/// A signed amount with its standard error: "+1.23 ±0.05".
fn gain_text(s: &Stats) -> String {
    let sign = if s.mean > 0.0 && money(s.mean) != money(0.0) {
        "+"
    } else {
        ""
    };
    format!("{sign}{} ±{}", money(s.mean), money(s.stderr))
}

/// The short table printed after a run.
pub fn table(study: &FundingStudy) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nHow long to fund each innovation unit (policy {}, one unit at a time, same draws): gain in the unit's own value vs not funding it, {} (mean ±se, P(gain > 0)); * best",
        study.policy, study.currency
    );
    let funded: Vec<f64> = study.years.iter().copied().filter(|&y| y != 0.0).collect();
    let uw = study
        .units
        .iter()
        .map(|u| u.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let cw = 21;
    let mut header = format!("{:<uw$}  {:>4}", "unit", "year");
    for y in &funded {
        let _ = write!(header, "  {:>cw$}", format!("{} y funded", years(*y)));
    }
    let _ = write!(header, "  {:>5}", "best");
    let _ = writeln!(out, "{header}");
    let _ = writeln!(out, "{}", "-".repeat(header.chars().count()));
    for unit in &study.units {
        for &h in &study.horizons {
            let mut line = format!("{unit:<uw$}  {h:>4}");
            for &y in &funded {
                let cell = study
                    .row(unit, y, h)
                    .map(|r| {
                        format!(
                            "{} {:>3.0}%{}",
                            gain_text(&r.gain),
                            100.0 * r.prob_gain,
                            if r.best { "*" } else { " " }
                        )
                    })
                    .unwrap_or_default();
                let _ = write!(line, "  {cell:>cw$}");
            }
            let best = study
                .best(unit, h)
                .map(|r| format!("{} y", years(r.years)))
                .unwrap_or_default();
            let _ = writeln!(line, "  {best:>5}");
            out.push_str(&line);
        }
    }
    out
}

/// One sentence per unit, at the last horizon, for the report.
pub fn sentences(study: &FundingStudy) -> Vec<String> {
    let h = study.last_horizon();
    let c = &study.currency;
    let mut out = Vec::new();
    for (i, unit) in study.units.iter().enumerate() {
        let Some(best) = study.best(unit, h) else {
            continue;
        };
        let by_horizon: Vec<String> = study
            .horizons
            .iter()
            .filter_map(|&hh| study.best(unit, hh).map(|r| (hh, r.years)))
            .map(|(hh, y)| format!("year {hh}: {} y", years(y)))
            .collect();
        let same_everywhere = study
            .horizons
            .iter()
            .all(|&hh| study.best(unit, hh).map(|r| r.years) == Some(best.years));
        // The row the sentence speaks of: the best cycle, or when not
        // funding is best, the least bad funded cycle (what funding costs).
        let shown = if best.years == 0.0 {
            study
                .rows
                .iter()
                .filter(|r| &r.unit == unit && r.horizon == h && r.years != 0.0)
                .max_by(|a, b| a.gain.mean.total_cmp(&b.gain.mean))
        } else {
            Some(best)
        };
        let Some(r) = shown else {
            continue;
        };
        let mut s = if best.years == 0.0 {
            format!(
                "{unit}: not funding it is best at year {h}; even its best cycle, {}, changes its own value by {} {c} (P(gain > 0) = {:.0}%) for {} {c} spent on it (present value), and the group's by {} {c}.",
                for_years(r.years),
                gain_text(&r.gain),
                100.0 * r.prob_gain,
                money(r.spend_pv),
                gain_text(&r.group_gain),
            )
        } else {
            let noise = r.gain.mean - 1.96 * r.gain.stderr <= 0.0;
            format!(
                "{unit}: funding it for {} is best at year {h}: {} {c} to its own value{} (P(gain > 0) = {:.0}%) for {} {c} spent on it (present value); the group gains {} {c}.",
                for_years(r.years),
                gain_text(&r.gain),
                if noise { ", within Monte Carlo noise of nothing" } else { "" },
                100.0 * r.prob_gain,
                money(r.spend_pv),
                gain_text(&r.group_gain),
            )
        };
        if !same_everywhere {
            let _ = write!(s, " Best by horizon: {}.", by_horizon.join(", "));
        }
        if let (Some(g), Some(pass)) = (study.gates[i], r.gate_pass) {
            let _ = write!(
                s,
                " Funded for {}, it passes its gate ({}x revenue by year {}) in {:.0}% of trials.",
                for_years(r.years),
                g.min_revenue_multiple,
                g.year,
                100.0 * pass
            );
        }
        out.push(s);
    }
    out
}

/// The report's section: what was run, one sentence per unit, and the
/// gains at every horizon.
pub fn report_blocks(study: &FundingStudy) -> Vec<Block> {
    let funded: Vec<f64> = study.years.iter().copied().filter(|&y| y != 0.0).collect();
    let listed: Vec<String> = study.years.iter().map(|&y| years(y)).collect();
    let mut blocks = vec![
        Block::Heading(2, "How long to fund each innovation unit".into()),
        Block::Para(format!(
            "Under policy {}, each unit below was funded for {} years, one unit at a time (the others on the policy's terms), every variant on the same random draws. Gain: the unit's own value (its discounted cash plus its value at the horizon) minus its value when not funded, in the same trial, in {}; P(gain > 0): share of trials in which funding added value; spend: present value of what was invested in the unit. Every figure per horizon is in funding.csv, with the group's gain beside the unit's.",
            study.policy,
            listed.join(", "),
            study.currency
        )),
    ];
    if study.fade {
        let over: Vec<String> = study
            .horizons
            .iter()
            .filter(|&&h| study.cycles_over(h))
            .map(|h| format!("year {h}"))
            .collect();
        blocks.push(Block::Para(format!(
            "Read the horizons with care: a unit valued by the growth-fade DCF that is still funded at a horizon is credited with the growth its funding buys there, faded over the following years, while only the fade's reinvestment is charged for it, not the budget; so within the cycle the longest funding tends to look best at each horizon. {}",
            if over.is_empty() {
                "No horizon here comes after every cycle has ended; add one to compare the cycles on what they built.".to_string()
            } else {
                format!(
                    "At {}, every cycle has ended and the cycles compare on what they built: the sentences below use the last horizon.",
                    over.join(", ")
                )
            }
        )));
    }
    blocks.push(Block::List(sentences(study)));
    let mut header = vec!["unit".to_string(), "year".to_string()];
    header.extend(funded.iter().map(|&y| format!("{} y funded", years(y))));
    header.push("best".into());
    let mut rows = Vec::new();
    for unit in &study.units {
        for &h in &study.horizons {
            let mut row = vec![unit.clone(), h.to_string()];
            for &y in &funded {
                row.push(
                    study
                        .row(unit, y, h)
                        .map(|r| {
                            format!(
                                "{} ({:.0}%){}",
                                gain_text(&r.gain),
                                100.0 * r.prob_gain,
                                if r.best { " best" } else { "" }
                            )
                        })
                        .unwrap_or_default(),
                );
            }
            row.push(
                study
                    .best(unit, h)
                    .map(|r| format!("{} y", years(r.years)))
                    .unwrap_or_default(),
            );
            rows.push(row);
        }
    }
    blocks.push(Block::Table {
        header,
        numeric_from: 1,
        rows,
    });
    blocks
}
