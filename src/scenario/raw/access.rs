//! A raw file's numbers by their key-registry field ([`crate::model::keys`]):
//! what studies, serve and optimized.toml read without naming each key.

use super::*;
use crate::model::keys::{PolicyField, TermField};
use crate::model::{Param, Role};

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

impl RawUnit {
    /// A key that may be a distribution, as given (the response's keys
    /// inside `response`).
    pub fn param(&self, p: Param) -> &O<RawParam> {
        let response = self.response.as_ref();
        match p {
            Param::Revenue => &self.revenue,
            Param::Growth => &self.growth,
            Param::Volatility => &self.volatility,
            Param::Margin => &self.margin,
            Param::TargetMargin => &self.target_margin,
            Param::MarginSpeed => &self.margin_speed,
            Param::MaxUplift => response.map_or(&None, |r| &r.max_uplift),
            Param::HalfSaturation => response.map_or(&None, |r| &r.half_saturation),
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
