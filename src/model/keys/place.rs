//! Where a key's value lands in the validated scenario ([`Field`]), with a
//! typed get and set, and the check of every value against its key's rule
//! ([`first_broken`]).

use super::{by_field, Key, KEYS};
use crate::model::{Policy, Scenario, Terms, Unit, Valuation};

/// A number of a unit in the validated model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnitField {
    Revenue,
    Growth,
    FadeFrom,
    FadeYears,
    Volatility,
    Margin,
    TargetMargin,
    MarginSpeed,
    MultipleMedian,
    MultipleDispersion,
    MaxUplift,
    HalfSaturation,
    JumpRate,
    JumpMean,
    JumpStdev,
    ValuationYears,
    TerminalGrowth,
    SalesToCapital,
}

/// A number of a policy itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyField {
    Reinvest,
    Recycle,
}

/// A term of one unit under one policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TermField {
    Intensity,
    ExitAfter,
    ExitWindow,
    ExitDiscount,
    Budget,
    Years,
    GateYear,
    GateMin,
}

/// Where a key's value lands in the validated scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    DiscountRate,
    Unit(UnitField),
    Policy(PolicyField),
    Term(TermField),
}

impl UnitField {
    /// The value in `u` (None: the unit has no such table: no jumps, no
    /// growth fade, valued by its multiple).
    pub fn get(self, u: &Unit) -> Option<f64> {
        let fade = match u.valuation {
            Valuation::Fade(f) => Some(f),
            Valuation::Multiple => None,
        };
        Some(match self {
            UnitField::Revenue => u.revenue,
            UnitField::Growth => u.growth,
            UnitField::FadeFrom => u.growth_fade?.from,
            UnitField::FadeYears => u.growth_fade?.years,
            UnitField::Volatility => u.volatility,
            UnitField::Margin => u.margin,
            UnitField::TargetMargin => u.target_margin,
            UnitField::MarginSpeed => u.margin_speed,
            UnitField::MultipleMedian => u.multiple_median,
            UnitField::MultipleDispersion => u.multiple_dispersion,
            UnitField::MaxUplift => u.max_uplift,
            UnitField::HalfSaturation => u.half_saturation,
            UnitField::JumpRate => u.jumps?.rate,
            UnitField::JumpMean => u.jumps?.mean,
            UnitField::JumpStdev => u.jumps?.stdev,
            UnitField::ValuationYears => f64::from(fade?.years),
            UnitField::TerminalGrowth => fade?.terminal_growth,
            UnitField::SalesToCapital => fade?.sales_to_capital,
        })
    }

    /// Sets the value in `u` where the unit has the field (see `get`); a
    /// fade's years are whole (the rule refuses others before).
    pub fn set(self, u: &mut Unit, x: f64) {
        let fade = match &mut u.valuation {
            Valuation::Fade(f) => Some(f),
            Valuation::Multiple => None,
        };
        match self {
            UnitField::Revenue => u.revenue = x,
            UnitField::Growth => u.growth = x,
            UnitField::FadeFrom => u.growth_fade.iter_mut().for_each(|g| g.from = x),
            UnitField::FadeYears => u.growth_fade.iter_mut().for_each(|g| g.years = x),
            UnitField::Volatility => u.volatility = x,
            UnitField::Margin => u.margin = x,
            UnitField::TargetMargin => u.target_margin = x,
            UnitField::MarginSpeed => u.margin_speed = x,
            UnitField::MultipleMedian => u.multiple_median = x,
            UnitField::MultipleDispersion => u.multiple_dispersion = x,
            UnitField::MaxUplift => u.max_uplift = x,
            UnitField::HalfSaturation => u.half_saturation = x,
            UnitField::JumpRate => u.jumps.iter_mut().for_each(|j| j.rate = x),
            UnitField::JumpMean => u.jumps.iter_mut().for_each(|j| j.mean = x),
            UnitField::JumpStdev => u.jumps.iter_mut().for_each(|j| j.stdev = x),
            UnitField::ValuationYears => fade.into_iter().for_each(|f| f.years = x as u32),
            UnitField::TerminalGrowth => fade.into_iter().for_each(|f| f.terminal_growth = x),
            UnitField::SalesToCapital => fade.into_iter().for_each(|f| f.sales_to_capital = x),
        }
    }
}

impl PolicyField {
    pub fn get(self, p: &Policy) -> f64 {
        match self {
            PolicyField::Reinvest => p.reinvest_share,
            PolicyField::Recycle => p.recycle_share,
        }
    }

    pub fn set(self, p: &mut Policy, x: f64) {
        match self {
            PolicyField::Reinvest => p.reinvest_share = x,
            PolicyField::Recycle => p.recycle_share = x,
        }
    }

    /// The key's row.
    pub fn key(self) -> &'static Key {
        by_field(Field::Policy(self))
    }
}

impl TermField {
    /// The term's value (None: the unit has no exit or gate).
    pub fn get(self, t: &Terms) -> Option<f64> {
        match self {
            TermField::Intensity => Some(t.intensity),
            TermField::Budget => Some(t.budget),
            TermField::Years => Some(t.years),
            TermField::ExitAfter => t.exit.map(|e| e.after),
            TermField::ExitWindow => t.exit.map(|e| e.window),
            TermField::ExitDiscount => t.exit.map(|e| e.discount),
            TermField::GateYear => t.gate.map(|g| g.year),
            TermField::GateMin => t.gate.map(|g| g.min_revenue_multiple),
        }
    }

    /// Sets the term (an exit or gate term only where the unit has one).
    pub fn set(self, t: &mut Terms, x: f64) {
        match self {
            TermField::Intensity => t.intensity = x,
            TermField::Budget => t.budget = x,
            TermField::Years => t.years = x,
            TermField::ExitAfter => t.exit.iter_mut().for_each(|e| e.after = x),
            TermField::ExitWindow => t.exit.iter_mut().for_each(|e| e.window = x),
            TermField::ExitDiscount => t.exit.iter_mut().for_each(|e| e.discount = x),
            TermField::GateYear => t.gate.iter_mut().for_each(|g| g.year = x),
            TermField::GateMin => t.gate.iter_mut().for_each(|g| g.min_revenue_multiple = x),
        }
    }

    /// The key's row.
    pub fn key(self) -> &'static Key {
        by_field(Field::Term(self))
    }
}

/// Where a value sits in a scenario: the field, and the unit and policy it
/// belongs to where the field needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub field: Field,
    pub unit: usize,
    pub policy: usize,
}

impl Place {
    /// The place of `field` in the first unit and policy (the scenario's
    /// own fields need neither).
    pub fn new(field: Field) -> Place {
        Place {
            field,
            unit: 0,
            policy: 0,
        }
    }

    /// The value at this place (None: absent, e.g. a unit without jumps,
    /// or an index out of range).
    pub fn get(self, s: &Scenario) -> Option<f64> {
        match self.field {
            Field::DiscountRate => Some(s.discount_rate),
            Field::Unit(f) => f.get(s.units.get(self.unit)?),
            Field::Policy(f) => Some(f.get(s.policies.get(self.policy)?)),
            Field::Term(f) => f.get(s.policies.get(self.policy)?.terms.get(self.unit)?),
        }
    }

    /// Sets the value at this place, where it exists (see `get`).
    pub fn set(self, s: &mut Scenario, x: f64) {
        match self.field {
            Field::DiscountRate => s.discount_rate = x,
            Field::Unit(f) => s
                .units
                .get_mut(self.unit)
                .into_iter()
                .for_each(|u| f.set(u, x)),
            Field::Policy(f) => s
                .policies
                .get_mut(self.policy)
                .into_iter()
                .for_each(|p| f.set(p, x)),
            Field::Term(f) => s
                .policies
                .get_mut(self.policy)
                .and_then(|p| p.terms.get_mut(self.unit))
                .into_iter()
                .for_each(|t| f.set(t, x)),
        }
    }
}

/// The first value of a validated scenario outside its key's rule (or not
/// finite), as "KEY of OWNER: RULE, got X": the per-key part of the
/// validator, for a scenario that was not read from a file (a shard's
/// header, a study's variant).
pub fn first_broken(s: &Scenario) -> Option<String> {
    let spy = s.steps_per_year;
    let check = |k: &Key, x: f64, whose: &str| -> Option<String> {
        if !x.is_finite() {
            return Some(format!(
                "{}{whose}: must be a finite number, got {x}",
                k.path
            ));
        }
        (!k.rule.allows(x, spy))
            .then(|| format!("{}{whose}: {}, got {x}", k.path, k.rule.text(spy)))
    };
    for k in KEYS {
        let at = |unit, policy| Place {
            field: k.field,
            unit,
            policy,
        };
        let broken = match k.field {
            Field::DiscountRate => check(k, s.discount_rate, ""),
            Field::Unit(_) => (0..s.units.len()).find_map(|u| {
                let x = at(u, 0).get(s)?;
                check(k, x, &format!(" of unit \"{}\"", s.units[u].name))
            }),
            Field::Policy(_) => (0..s.policies.len()).find_map(|p| {
                let x = at(0, p).get(s)?;
                check(k, x, &format!(" of policy \"{}\"", s.policies[p].name))
            }),
            Field::Term(_) => (0..s.policies.len()).find_map(|p| {
                (0..s.units.len()).find_map(|u| {
                    let x = at(u, p).get(s)?;
                    let whose = format!(
                        " of unit \"{}\" under policy \"{}\"",
                        s.units[u].name, s.policies[p].name
                    );
                    check(k, x, &whose)
                })
            }),
        };
        if broken.is_some() {
            return broken;
        }
    }
    None
}
