//! Where a key's value lands in the validated scenario ([`Field`], its
//! [`Place`] with a typed get and set; the fields' own get and set are
//! beside the structs, in `model`), and the check of every value against
//! its key's rule ([`first_broken`]).

use super::{Key, KEYS};
use crate::model::{PolicyField, Scenario, TermField, UnitField};

/// Where a key's value lands in the validated scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    DiscountRate,
    Unit(UnitField),
    Policy(PolicyField),
    Term(TermField),
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
