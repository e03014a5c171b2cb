//! One number of the file set by its registry field: what a study's
//! variant or a sweep's point changes, before the validator checks the
//! file again. No TOML text is written or read: the value lands in the
//! raw struct where the file would have held it, spanned where the key
//! was written (or, for a key the file left out, where its owner's table
//! starts) unless the caller gives the value a span of its own (a sweep
//! does: its refusals are then told at the sweep, see `study::path`), so
//! the validator says of it what it would say of the file.

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
    /// `[scenario] steps_per_year` (a whole number; not a registry key:
    /// no study but a sweep varies it).
    StepsPerYear,
    /// A key of the file's `[valuation]` table (every unit without its
    /// own takes it).
    Valuation(UnitField),
    /// A key of the unit the file names so (its valuation keys in its own
    /// `valuation` table, created when the unit takes the file's).
    Unit(String, UnitField),
    /// One number of the distribution a unit's key holds (`mode` of a
    /// PERT, ...).
    Dist(String, UnitField, DistKey),
    /// The unit's loading on a factor (the factor as the path names it).
    Loading(String, String),
    /// A number of the policy itself.
    Policy(String, PolicyField),
    /// A term on the table of a role of the policy (the table created
    /// when the policy has none).
    Role(String, Role, TermField),
    /// A term of the policy's override of a unit (both as the file names
    /// them; the override created when the policy has none).
    Override(String, String, TermField),
}

/// The numbers of a distribution's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DistKey {
    Min,
    Mode,
    Max,
    Mean,
    Stdev,
    Median,
    Dispersion,
}

impl DistKey {
    pub const ALL: [DistKey; 7] = [
        DistKey::Min,
        DistKey::Mode,
        DistKey::Max,
        DistKey::Mean,
        DistKey::Stdev,
        DistKey::Median,
        DistKey::Dispersion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DistKey::Min => "min",
            DistKey::Mode => "mode",
            DistKey::Max => "max",
            DistKey::Mean => "mean",
            DistKey::Stdev => "stdev",
            DistKey::Median => "median",
            DistKey::Dispersion => "dispersion",
        }
    }

    pub(super) fn of(self, d: &mut RawDist) -> &mut Option<f64> {
        match self {
            DistKey::Min => &mut d.min,
            DistKey::Mode => &mut d.mode,
            DistKey::Max => &mut d.max,
            DistKey::Mean => &mut d.mean,
            DistKey::Stdev => &mut d.stdev,
            DistKey::Median => &mut d.median,
            DistKey::Dispersion => &mut d.dispersion,
        }
    }
}

/// Where a value set on the file is spanned: at `value` when the caller
/// gives one, else where the file wrote the key, else at `table` (where a
/// missing table is created too).
#[derive(Clone, Debug)]
pub struct At {
    pub table: Range<usize>,
    pub value: Option<Range<usize>>,
}

impl At {
    /// The span of a value that was spanned at `was` (None: not written).
    pub(super) fn span(&self, was: Option<Range<usize>>) -> Range<usize> {
        self.value
            .clone()
            .or(was)
            .unwrap_or_else(|| self.table.clone())
    }
}

/// `x` in `slot`, spanned as `at` says.
pub(super) fn put(slot: &mut O<f64>, x: f64, at: &At) {
    let span = at.span(slot.as_ref().map(Sp::span));
    *slot = Some(Sp(Spanned::new(span, x)));
}

/// The table in `slot`, created empty at `at` when the file has none.
pub(super) fn table<'a, T: Default>(slot: &'a mut O<T>, at: &At) -> &'a mut T {
    slot.get_or_insert_with(|| Sp(Spanned::new(at.table.clone(), T::default())))
        .0
        .get_mut()
}

impl RawFile {
    /// Sets `slot` to `x`, spanned where the file wrote it; Err names what
    /// the file lacks (a unit or policy it does not have) or why the value
    /// cannot go there (a role that takes no such term, a distribution's
    /// number where the key is one number, a fractional steps_per_year).
    pub fn set(&mut self, slot: &Slot, x: f64) -> std::result::Result<(), String> {
        self.set_spanned(slot, x, None)
    }

    /// Sets `slot` to `x`, the value spanned at `span` when given; a table
    /// the slot sits in (a role's, an override, a unit's valuation, a
    /// gate) is created when the file has none.
    pub fn set_spanned(
        &mut self,
        slot: &Slot,
        x: f64,
        span: Option<Range<usize>>,
    ) -> std::result::Result<(), String> {
        // A table the slot creates is the caller's doing too: spanned at
        // its span when it gives one.
        let at = |table: Option<Range<usize>>| At {
            table: span.clone().or(table).unwrap_or(0..0),
            value: span.clone(),
        };
        match slot {
            Slot::DiscountRate => {
                let h = self.scenario.get_or_insert_with(RawHeader::default);
                let at = at(h.anchor());
                put(&mut h.discount_rate, x, &at);
            }
            Slot::StepsPerYear => {
                if x.fract() != 0.0 || x.abs() > 1e15 {
                    return Err(format!("steps_per_year must be a whole number, not {x}"));
                }
                let h = self.scenario.get_or_insert_with(RawHeader::default);
                let at = at(h.anchor());
                let span = at.span(h.steps_per_year.as_ref().map(Sp::span));
                h.steps_per_year = Some(Sp(Spanned::new(span, x as i64)));
            }
            Slot::Valuation(f) => {
                let v = self.valuation.get_or_insert_with(RawValuation::default);
                let at = at(v.anchor());
                v.set(*f, x, &at)?;
            }
            Slot::Unit(name, f) => {
                let unit = self.unit_mut(name)?;
                let at = at(Some(unit.span()));
                unit.0.get_mut().set(*f, x, &at);
            }
            Slot::Dist(name, f, k) => {
                let unit = self.unit_mut(name)?;
                let at = at(Some(unit.span()));
                unit.0.get_mut().set_dist(*f, *k, x, &at)?;
            }
            Slot::Loading(name, factor) => {
                let unit = self.unit_mut(name)?;
                let at = at(Some(unit.span()));
                let map = table(&mut unit.0.get_mut().loadings, &at);
                let key = map
                    .keys()
                    .find(|k| names::same(k, factor))
                    .cloned()
                    .unwrap_or_else(|| factor.clone());
                let span = at.span(map.get(&key).map(Sp::span));
                map.insert(key, Sp(Spanned::new(span, x)));
            }
            Slot::Policy(name, f) => {
                let p = self.policy_mut(name)?;
                let at = at(p.anchor());
                put(p.share_mut(*f), x, &at);
            }
            Slot::Role(name, role, f) => {
                let p = self.policy_mut(name)?;
                let at = at(p.anchor());
                let slot = p.role_term_mut(*role, *f, &at).ok_or_else(|| {
                    format!("the {} table takes no {}", role.as_str(), f.key().path)
                })?;
                put(slot, x, &at);
            }
            Slot::Override(name, unit, f) => {
                let p = self.policy_mut(name)?;
                let anchor = p.anchor();
                let units = p.units.get_or_insert_with(Default::default);
                let key = units
                    .keys()
                    .find(|u| names::same(u, unit))
                    .cloned()
                    .unwrap_or_else(|| unit.clone());
                let o = units.entry(key).or_default();
                let at = at(o.anchor().or(anchor));
                o.set_term(*f, x, &at);
            }
        }
        Ok(())
    }

    fn unit_mut(&mut self, name: &str) -> std::result::Result<&mut Sp<RawUnit>, String> {
        self.units
            .iter_mut()
            .find(|u| u.get_ref().name.as_ref().is_some_and(|n| **n == *name))
            .ok_or_else(|| format!("no unit \"{name}\""))
    }

    fn policy_mut(&mut self, name: &str) -> std::result::Result<&mut RawPolicy, String> {
        self.policies
            .get_mut(name)
            .ok_or_else(|| format!("no policy \"{name}\""))
    }
}
