//! One number of the file set by its registry field: what a study's
//! variant changes, before the validator checks the file again. No TOML
//! text is written or read: the value lands in the raw struct where the
//! file would have held it, spanned where the key was written (or, for a
//! key the file left out, where its owner's table starts), so the
//! validator says of it what it would say of the file.

use std::ops::Range;

use toml::Spanned;

use super::*;
use crate::model::{PolicyField, Role, TermField, UnitField};
use crate::scenario::names;

/// A number of the file, by its registry field and its owner as the file
/// names it.
#[derive(Clone, Debug, PartialEq)]
pub enum Slot {
    /// `[scenario] discount_rate`.
    DiscountRate,
    /// A key of the unit the file names so (its valuation keys in its own
    /// `valuation` table, created when the unit takes the file's).
    Unit(String, UnitField),
    /// A number of the policy itself.
    Policy(String, PolicyField),
    /// A term on the table of a role of the policy.
    Role(String, Role, TermField),
    /// A term of the policy's override of a unit (both as the file names
    /// them).
    Override(String, String, TermField),
}

/// `x` in `slot`, spanned where the slot's value was, else at `at`.
fn put(slot: &mut O<f64>, x: f64, at: Range<usize>) {
    let span = slot.as_ref().map_or(at, Sp::span);
    *slot = Some(Sp(Spanned::new(span, x)));
}

/// The table in `slot`, created empty at `at` when the file has none.
fn table<T: Default>(slot: &mut O<T>, at: Range<usize>) -> &mut T {
    slot.get_or_insert_with(|| Sp(Spanned::new(at, T::default())))
        .0
        .get_mut()
}

impl RawFile {
    /// Sets `slot` to `x`; Err names what the file lacks (a unit, policy,
    /// role table or override it does not have).
    pub fn set(&mut self, slot: &Slot, x: f64) -> std::result::Result<(), String> {
        match slot {
            Slot::DiscountRate => {
                let h = self.scenario.get_or_insert_with(RawHeader::default);
                let at = h.anchor().unwrap_or(0..0);
                put(&mut h.discount_rate, x, at);
            }
            Slot::Unit(name, f) => {
                let unit = self
                    .units
                    .iter_mut()
                    .find(|u| u.get_ref().name.as_ref().is_some_and(|n| **n == *name))
                    .ok_or_else(|| format!("no unit \"{name}\""))?;
                let at = unit.span();
                unit.0.get_mut().set(*f, x, at);
            }
            Slot::Policy(name, f) => {
                let p = self.policy_mut(name)?;
                let at = p.anchor().unwrap_or(0..0);
                let slot = match f {
                    PolicyField::Reinvest => &mut p.reinvest_share,
                    PolicyField::Recycle => &mut p.recycle_share,
                };
                put(slot, x, at);
            }
            Slot::Role(name, role, f) => {
                let p = self.policy_mut(name)?;
                let slot = p
                    .role_term_mut(*role, *f)
                    .ok_or_else(|| format!("policy \"{name}\" has no {} table", role.as_str()))?;
                put(slot, x, 0..0);
            }
            Slot::Override(name, unit, f) => {
                let p = self.policy_mut(name)?;
                let o = p
                    .units
                    .iter_mut()
                    .flatten()
                    .find(|(u, _)| names::same(u, unit))
                    .map(|(_, o)| o)
                    .ok_or_else(|| format!("policy \"{name}\" overrides no unit \"{unit}\""))?;
                let at = o.anchor().unwrap_or(0..0);
                o.set_term(*f, x, at);
            }
        }
        Ok(())
    }

    fn policy_mut(&mut self, name: &str) -> std::result::Result<&mut RawPolicy, String> {
        self.policies
            .get_mut(name)
            .ok_or_else(|| format!("no policy \"{name}\""))
    }
}

impl RawUnit {
    /// Sets key `f` to the number `x` (a distribution it held is
    /// replaced); a table it sits in is created at `at` when missing.
    pub fn set(&mut self, f: UnitField, x: f64, at: Range<usize>) {
        use UnitField::*;
        let number = |slot: &mut O<RawParam>| {
            let span = slot.as_ref().map_or(at.clone(), Sp::span);
            *slot = Some(Sp(Spanned::new(span, RawParam::Number(x))));
        };
        match f {
            Revenue => number(&mut self.revenue),
            Growth => number(&mut self.growth),
            Volatility => number(&mut self.volatility),
            Margin => number(&mut self.margin),
            TargetMargin => number(&mut self.target_margin),
            MarginSpeed => number(&mut self.margin_speed),
            MaxUplift => number(&mut table(&mut self.response, at.clone()).max_uplift),
            HalfSaturation => number(&mut table(&mut self.response, at.clone()).half_saturation),
            FadeFrom => put(&mut table(&mut self.growth_fade, at.clone()).from, x, at),
            FadeYears => put(&mut table(&mut self.growth_fade, at.clone()).years, x, at),
            MultipleMedian => put(&mut table(&mut self.multiple, at.clone()).median, x, at),
            MultipleDispersion => put(&mut table(&mut self.multiple, at.clone()).dispersion, x, at),
            JumpRate => put(&mut table(&mut self.jumps, at.clone()).rate, x, at),
            JumpMean => put(&mut table(&mut self.jumps, at.clone()).mean, x, at),
            JumpStdev => put(&mut table(&mut self.jumps, at.clone()).stdev, x, at),
            ValuationYears => put(
                &mut table(&mut self.valuation, at.clone()).fade_years,
                x,
                at,
            ),
            TerminalGrowth => put(
                &mut table(&mut self.valuation, at.clone()).terminal_growth,
                x,
                at,
            ),
            SalesToCapital => put(
                &mut table(&mut self.valuation, at.clone()).sales_to_capital,
                x,
                at,
            ),
        }
    }
}

impl RawPolicy {
    /// The slot of a term on the table of `role`, when the policy has that
    /// table and the role that term (a gate's key: when it has a gate).
    fn role_term_mut(&mut self, role: Role, f: TermField) -> Option<&mut O<f64>> {
        use TermField::*;
        match (role, f) {
            (Role::Core, Intensity) => Some(&mut self.core.as_mut()?.0.get_mut().intensity),
            (Role::NonCore, _) => {
                let t = self.non_core.as_mut()?.0.get_mut();
                match f {
                    Intensity => Some(&mut t.intensity),
                    ExitAfter => Some(&mut t.exit_after),
                    ExitWindow => Some(&mut t.exit_window),
                    ExitDiscount => Some(&mut t.exit_discount),
                    _ => None,
                }
            }
            (Role::Innovation, _) => {
                let t = self.innovation.as_mut()?.0.get_mut();
                match f {
                    Budget => Some(&mut t.budget),
                    Years => Some(&mut t.years),
                    GateYear => Some(&mut t.gate.as_mut()?.0.get_mut().year),
                    GateMin => Some(&mut t.gate.as_mut()?.0.get_mut().min_revenue_multiple),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl RawOverride {
    /// Sets term `f` of this override to `x` (its gate created at `at`
    /// when missing).
    fn set_term(&mut self, f: TermField, x: f64, at: Range<usize>) {
        use TermField::*;
        let slot = match f {
            Intensity => &mut self.intensity,
            ExitAfter => &mut self.exit_after,
            ExitWindow => &mut self.exit_window,
            ExitDiscount => &mut self.exit_discount,
            Budget => &mut self.budget,
            Years => &mut self.years,
            GateYear => &mut table(&mut self.gate, at.clone()).year,
            GateMin => &mut table(&mut self.gate, at.clone()).min_revenue_multiple,
        };
        put(slot, x, at);
    }
}
