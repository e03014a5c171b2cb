//! A finished simulation as one value, and the check that every figure in
//! it is a finite number before anything is reported.
//!
//! What was run (the scenario and its plan) and what it found (the
//! accumulators) always travel together from the engine to the writers, so
//! they travel as a [`Run`]. [`check_finite`] stands between the two: a run
//! in which a figure overflowed is refused with the unit, policy and step
//! where it first happened, found by re-running that trial step by step in
//! the scalar reference.

use crate::error::{Error, Result};
use crate::kernel::{Plan, TrialState};
use crate::model::{Scenario, UnitFigure};
use crate::stats::Accumulator;

/// A finished simulation: the scenario as run (its trial count the one
/// actually run), the plan its trials followed and their accumulated
/// figures.
#[derive(Clone, Debug)]
pub struct Run {
    pub scenario: Scenario,
    pub plan: Plan,
    pub acc: Accumulator,
}

impl Run {
    /// The run, once [`check_finite`] has found every figure finite.
    pub fn checked(scenario: Scenario, plan: Plan, acc: Accumulator) -> Result<Run> {
        check_finite(&scenario, &plan, &acc)?;
        Ok(Run {
            scenario,
            plan,
            acc,
        })
    }
}

/// Refuses to report a run in which a figure overflowed, and says where:
/// the offending trial is re-run step by step to find the first unit,
/// policy and step whose figures stopped being finite numbers.
pub fn check_finite(scenario: &Scenario, plan: &Plan, acc: &Accumulator) -> Result<()> {
    let Some((slot, trial)) = acc.non_finite else {
        if let Some(slot) = acc.moments_overflow() {
            let m = &acc.metrics[slot];
            return Err(Error::Numeric(format!(
                "{} reaches {:.3e}; its values spread too widely for a standard deviation in 64-bit floats (their squared deviations sum past 1.8e308), so stdev and stderr cannot be reported (lower the volatility, growth, jump sizes or the horizon). Nothing was written.",
                describe_slot(scenario, plan, slot),
                m.max().abs().max(m.min().abs())
            )));
        }
        return Ok(());
    };
    let mut state = TrialState::new(plan);
    let found = state.diagnose(plan, scenario.seed, trial);
    let place = match found {
        Some(o) => {
            let year = (o.step + 1) as f64 / scenario.steps_per_year as f64;
            let unit = o
                .unit
                .map(|u| format!(" of unit \"{}\"", scenario.units[u].name))
                .unwrap_or_default();
            format!(
                "the {}{unit} under policy \"{}\" is not a finite number after step {} (year {year}) of trial {trial}",
                o.what,
                scenario.policies[o.policy].name,
                o.step + 1,
            )
        }
        None => format!(
            "{} is not a finite number in trial {trial}",
            describe_slot(scenario, plan, slot)
        ),
    };
    Err(Error::Numeric(format!(
        "{place}; the inputs drive figures past what a 64-bit float holds (lower the volatility, growth, jump sizes or the horizon). Nothing was written."
    )))
}

/// Human description of an output slot.
pub fn describe_slot(scenario: &Scenario, plan: &Plan, slot: usize) -> String {
    let l = &plan.layout;
    for p in 0..l.policies {
        for h in 0..l.horizons {
            for m in l.report_metrics() {
                if l.index(p, h, m) == slot {
                    let unit = m
                        .unit()
                        .map(|u| format!(" of unit \"{}\"", scenario.units[u].name))
                        .unwrap_or_default();
                    return format!(
                        "{}{unit} under policy \"{}\" at year {}",
                        m.name(),
                        scenario.policies[p].name,
                        scenario.horizons[h]
                    );
                }
            }
        }
        for (i, &k) in l.path_steps.iter().enumerate() {
            if l.path_index(p, i) == slot {
                return format!(
                    "group revenue under policy \"{}\" after step {}",
                    scenario.policies[p].name,
                    k + 1
                );
            }
        }
        for (i, &k) in l.unit_path_steps.iter().enumerate() {
            for (u, unit) in scenario.units.iter().enumerate() {
                for (figure, what) in [
                    (UnitFigure::Ebita, "EBITA"),
                    (UnitFigure::Cash, "cumulative cash"),
                ] {
                    if l.unit_path_index(p, i, u, figure) == slot {
                        return format!(
                            "{what} of unit \"{}\" under policy \"{}\" after step {}",
                            unit.name,
                            scenario.policies[p].name,
                            k + 1
                        );
                    }
                }
            }
        }
    }
    format!("output slot {slot}")
}
