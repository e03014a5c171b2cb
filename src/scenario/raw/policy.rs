//! A policy's tables as written: its own numbers, its role tables and
//! per-unit overrides, how a variant's merge over its parent's, where each
//! table is, and each number by its key-registry field.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use std::ops::Range;

use super::merge::{first_span, merge_plain_map, merge_table, pick, sp};
use super::set::{put, table, At};
use super::{RawRole, Sp, O};
use crate::model::keys::{PolicyField, TermField};
use crate::model::Role;

/// `[policies.NAME]`: one policy.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// Free text.
    pub description: O<String>,
    /// Share of positive operating cash flow that may be invested, [0, 1].
    pub reinvest_share: O<f64>,
    /// Share of exit proceeds kept to fund investment later, [0, 1] (default 0).
    pub recycle_share: O<f64>,
    pub core: O<RawCore>,
    pub non_core: O<RawNonCore>,
    pub innovation: O<RawInnovation>,
    /// Per-unit overrides of the role's terms, by unit name.
    pub units: Option<IndexMap<String, RawOverride>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCore {
    /// Investment / revenue per year.
    pub intensity: O<f64>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawNonCore {
    /// Investment / revenue per year.
    pub intensity: O<f64>,
    /// Earliest exit, in years (without it the unit is kept).
    pub exit_after: O<f64>,
    /// Exit time is uniform over [exit_after, exit_after + exit_window].
    pub exit_window: O<f64>,
    /// Discount on revenue x multiple at the sale, [0, 1].
    pub exit_discount: O<f64>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInnovation {
    /// Budget per year while funded.
    pub budget: O<f64>,
    /// Years of funding.
    pub years: O<f64>,
    /// Funding stops at the gate unless revenue has grown enough.
    pub gate: O<RawGate>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    /// When the gate is read, in years.
    pub year: O<f64>,
    /// Revenue / initial revenue needed to stay funded.
    pub min_revenue_multiple: O<f64>,
}

/// `[policies.NAME.units."UNIT"]`: per-unit override of the role's terms.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawOverride {
    /// Moves the unit to another role's terms under this policy.
    #[schemars(with = "Option<RawRole>")]
    pub role: O<String>,
    pub intensity: O<f64>,
    pub exit_after: O<f64>,
    pub exit_window: O<f64>,
    pub exit_discount: O<f64>,
    pub budget: O<f64>,
    pub years: O<f64>,
    pub gate: O<RawGate>,
}

impl RawPolicy {
    /// Where the table is, by its first key.
    pub fn anchor(&self) -> Option<Range<usize>> {
        first_span(&[
            sp(&self.description),
            sp(&self.reinvest_share),
            sp(&self.recycle_share),
            sp(&self.core),
            sp(&self.non_core),
            sp(&self.innovation),
        ])
        .or_else(|| {
            self.units
                .as_ref()
                .and_then(|m| m.values().find_map(RawOverride::anchor))
        })
    }
}

impl RawOverride {
    /// Where the table is, by its first key.
    pub fn anchor(&self) -> Option<Range<usize>> {
        first_span(&[
            sp(&self.role),
            sp(&self.intensity),
            sp(&self.exit_after),
            sp(&self.exit_window),
            sp(&self.exit_discount),
            sp(&self.budget),
            sp(&self.years),
            sp(&self.gate),
        ])
    }
}

fn merge_gate(x: &RawGate, y: &RawGate) -> RawGate {
    RawGate {
        year: pick(&x.year, &y.year),
        min_revenue_multiple: pick(&x.min_revenue_multiple, &y.min_revenue_multiple),
    }
}

impl RawPolicy {
    pub(super) fn merge(a: &Self, b: &Self) -> Self {
        RawPolicy {
            description: pick(&a.description, &b.description),
            reinvest_share: pick(&a.reinvest_share, &b.reinvest_share),
            recycle_share: pick(&a.recycle_share, &b.recycle_share),
            core: merge_table(&a.core, &b.core, |x, y| RawCore {
                intensity: pick(&x.intensity, &y.intensity),
            }),
            non_core: merge_table(&a.non_core, &b.non_core, |x, y| RawNonCore {
                intensity: pick(&x.intensity, &y.intensity),
                exit_after: pick(&x.exit_after, &y.exit_after),
                exit_window: pick(&x.exit_window, &y.exit_window),
                exit_discount: pick(&x.exit_discount, &y.exit_discount),
            }),
            innovation: merge_table(&a.innovation, &b.innovation, |x, y| RawInnovation {
                budget: pick(&x.budget, &y.budget),
                years: pick(&x.years, &y.years),
                gate: merge_table(&x.gate, &y.gate, merge_gate),
            }),
            units: match (&a.units, &b.units) {
                (Some(x), Some(y)) => Some(merge_plain_map(x, y, RawOverride::merge)),
                (x, y) => y.clone().or_else(|| x.clone()),
            },
        }
    }
}

impl RawOverride {
    fn merge(a: &Self, b: &Self) -> Self {
        RawOverride {
            role: pick(&a.role, &b.role),
            intensity: pick(&a.intensity, &b.intensity),
            exit_after: pick(&a.exit_after, &b.exit_after),
            exit_window: pick(&a.exit_window, &b.exit_window),
            exit_discount: pick(&a.exit_discount, &b.exit_discount),
            budget: pick(&a.budget, &b.budget),
            years: pick(&a.years, &b.years),
            gate: merge_table(&a.gate, &b.gate, merge_gate),
        }
    }
}

impl RawPolicy {
    /// A number of the policy itself, by its registry field.
    pub fn share(&self, f: PolicyField) -> &O<f64> {
        match f {
            PolicyField::Reinvest => &self.reinvest_share,
            PolicyField::Recycle => &self.recycle_share,
        }
    }

    /// A term as the table of `role` gives it (None: not given, or not a
    /// key of that role's table).
    pub fn role_term(&self, role: Role, f: TermField) -> Option<&Sp<f64>> {
        use TermField::*;
        match (role, f) {
            (Role::Core, Intensity) => self.core.as_ref()?.intensity.as_ref(),
            (Role::NonCore, _) => {
                let t = self.non_core.as_ref()?;
                match f {
                    Intensity => t.intensity.as_ref(),
                    ExitAfter => t.exit_after.as_ref(),
                    ExitWindow => t.exit_window.as_ref(),
                    ExitDiscount => t.exit_discount.as_ref(),
                    _ => None,
                }
            }
            (Role::Innovation, _) => {
                let t = self.innovation.as_ref()?;
                match f {
                    Budget => t.budget.as_ref(),
                    Years => t.years.as_ref(),
                    GateYear | GateMin => t.gate.as_ref()?.term(f),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl RawGate {
    /// The slot of the gate's year or minimum revenue multiple.
    pub fn term_slot(&self, f: TermField) -> &O<f64> {
        match f {
            TermField::GateYear => &self.year,
            _ => &self.min_revenue_multiple,
        }
    }

    /// The gate's year or minimum revenue multiple.
    pub fn term(&self, f: TermField) -> Option<&Sp<f64>> {
        match f {
            TermField::GateYear => self.year.as_ref(),
            TermField::GateMin => self.min_revenue_multiple.as_ref(),
            _ => None,
        }
    }
}

impl RawOverride {
    /// A term as this override gives it.
    pub fn term(&self, f: TermField) -> Option<&Sp<f64>> {
        use TermField::*;
        match f {
            Intensity => self.intensity.as_ref(),
            ExitAfter => self.exit_after.as_ref(),
            ExitWindow => self.exit_window.as_ref(),
            ExitDiscount => self.exit_discount.as_ref(),
            Budget => self.budget.as_ref(),
            Years => self.years.as_ref(),
            GateYear | GateMin => self.gate.as_ref()?.term(f),
        }
    }
}

impl RawPolicy {
    /// The slot of a number of the policy itself (see [`Self::share`]).
    pub(super) fn share_mut(&mut self, f: PolicyField) -> &mut O<f64> {
        match f {
            PolicyField::Reinvest => &mut self.reinvest_share,
            PolicyField::Recycle => &mut self.recycle_share,
        }
    }

    /// The slot of a term on the table of `role` (the table, and a gate
    /// for a gate's key, created at `at` when the policy has none); None
    /// when the role takes no such term.
    pub(super) fn role_term_mut(
        &mut self,
        role: Role,
        f: TermField,
        at: &At,
    ) -> Option<&mut O<f64>> {
        use TermField::*;
        match (role, f) {
            (Role::Core, Intensity) => Some(&mut table(&mut self.core, at).intensity),
            (Role::NonCore, Intensity | ExitAfter | ExitWindow | ExitDiscount) => {
                let t = table(&mut self.non_core, at);
                Some(match f {
                    Intensity => &mut t.intensity,
                    ExitAfter => &mut t.exit_after,
                    ExitWindow => &mut t.exit_window,
                    _ => &mut t.exit_discount,
                })
            }
            (Role::Innovation, Budget | Years | GateYear | GateMin) => {
                let t = table(&mut self.innovation, at);
                Some(match f {
                    Budget => &mut t.budget,
                    Years => &mut t.years,
                    GateYear => &mut table(&mut t.gate, at).year,
                    _ => &mut table(&mut t.gate, at).min_revenue_multiple,
                })
            }
            _ => None,
        }
    }
}

impl RawOverride {
    /// Sets term `f` of this override to `x` (its gate created at `at`
    /// when missing).
    pub(super) fn set_term(&mut self, f: TermField, x: f64, at: &At) {
        use TermField::*;
        let slot = match f {
            Intensity => &mut self.intensity,
            ExitAfter => &mut self.exit_after,
            ExitWindow => &mut self.exit_window,
            ExitDiscount => &mut self.exit_discount,
            Budget => &mut self.budget,
            Years => &mut self.years,
            GateYear => &mut table(&mut self.gate, at).year,
            GateMin => &mut table(&mut self.gate, at).min_revenue_multiple,
        };
        put(slot, x, at);
    }
}
