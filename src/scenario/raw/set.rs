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
pub(super) fn put(slot: &mut O<f64>, x: f64, at: Range<usize>) {
    let span = slot.as_ref().map_or(at, Sp::span);
    *slot = Some(Sp(Spanned::new(span, x)));
}

/// The table in `slot`, created empty at `at` when the file has none.
pub(super) fn table<T: Default>(slot: &mut O<T>, at: Range<usize>) -> &mut T {
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
                put(p.share_mut(*f), x, at);
            }
            Slot::Role(name, role, f) => {
                let p = self.policy_mut(name)?;
                let at = p.anchor().unwrap_or(0..0);
                let slot = p
                    .role_term_mut(*role, *f)
                    .ok_or_else(|| format!("policy \"{name}\" has no {} table", role.as_str()))?;
                put(slot, x, at);
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
