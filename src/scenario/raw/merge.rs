//! Merging a variant over its parent (`extends`): what the child says wins,
//! field by field, names matched as a reader matches them; and the anchors
//! of tables that carry no span of their own.

use std::ops::Range;

use indexmap::IndexMap;
use toml::Spanned;

use super::*;
use crate::model::UnitField;

/// `b` over `a`, field by field.
pub(crate) fn pick<T: Clone>(a: &O<T>, b: &O<T>) -> O<T> {
    b.clone().or_else(|| a.clone())
}

/// Merges two optional spanned tables field by field with `f`.
pub(super) fn merge_table<T: Clone>(a: &O<T>, b: &O<T>, f: impl Fn(&T, &T) -> T) -> O<T> {
    match (a, b) {
        (Some(x), Some(y)) => {
            let merged = f(x.get_ref(), y.get_ref());
            // Keep the child's span: that is where the last word was said.
            Some(Sp(Spanned::new(y.span(), merged)))
        }
        _ => pick(a, b),
    }
}

/// Items matched by name: the child's entry is merged into the parent's
/// entry of the same name, new names are appended in the child's order.
/// Names match as a reader would match them (see `super::names`): a
/// variant's "quark" changes the parent's "Quark", it does not add a unit.
fn merge_named<T: Clone>(
    a: &[Sp<T>],
    b: &[Sp<T>],
    name: impl Fn(&T) -> Option<String>,
    f: impl Fn(&T, &T) -> T,
) -> Vec<Sp<T>> {
    let mut out: Vec<Sp<T>> = a.to_vec();
    let key = |x: &T| name(x).map(|n| crate::scenario::names::key(&n));
    for item in b {
        let n = key(item.get_ref());
        match out
            .iter_mut()
            .find(|x| n.is_some() && key(x.get_ref()) == n)
        {
            Some(slot) => {
                let merged = f(slot.get_ref(), item.get_ref());
                *slot = Sp(Spanned::new(item.span(), merged));
            }
            None => out.push(item.clone()),
        }
    }
    out
}

pub(super) fn merge_map<T: Clone>(
    a: &IndexMap<String, Sp<T>>,
    b: &IndexMap<String, Sp<T>>,
    f: impl Fn(&T, &T) -> T,
) -> IndexMap<String, Sp<T>> {
    let mut out = a.clone();
    for (k, v) in b {
        let (k, merged) = match same_key(&out, k) {
            Some(old) => {
                let merged = Sp(Spanned::new(v.span(), f(out[&old].get_ref(), v.get_ref())));
                (old, merged)
            }
            None => (k.clone(), v.clone()),
        };
        out.insert(k, merged);
    }
    out
}

/// The key of `map` that names the same thing as `k` (see `super::names`).
fn same_key<T>(map: &IndexMap<String, T>, k: &str) -> Option<String> {
    let want = crate::scenario::names::key(k);
    map.keys()
        .find(|x| crate::scenario::names::key(x) == want)
        .cloned()
}

pub(super) fn merge_plain_map<T: Clone>(
    a: &IndexMap<String, T>,
    b: &IndexMap<String, T>,
    f: impl Fn(&T, &T) -> T,
) -> IndexMap<String, T> {
    let mut out = a.clone();
    for (k, v) in b {
        let (k, merged) = match same_key(&out, k) {
            Some(old) => {
                let merged = f(&out[&old], v);
                (old, merged)
            }
            None => (k.clone(), v.clone()),
        };
        out.insert(k, merged);
    }
    out
}

/// The span of the first key given, to anchor messages about a table that
/// carries no span of its own.
pub(super) fn first_span(spans: &[Option<Range<usize>>]) -> Option<Range<usize>> {
    spans.iter().flatten().next().cloned()
}

pub(super) fn sp<T>(x: &O<T>) -> Option<Range<usize>> {
    x.as_ref().map(|v| v.span())
}

impl RawHeader {
    /// Where the table is, by its first key.
    pub fn anchor(&self) -> Option<Range<usize>> {
        first_span(&[
            sp(&self.name),
            sp(&self.currency),
            sp(&self.trials),
            sp(&self.seed),
            sp(&self.steps_per_year),
            sp(&self.horizons),
            sp(&self.discount_rate),
            sp(&self.baseline),
        ])
    }
}

impl RawFile {
    /// `child` over `self` (its parent): what the child says wins.
    pub fn merge(&self, child: &RawFile) -> RawFile {
        RawFile {
            extends: None,
            scenario: match (&self.scenario, &child.scenario) {
                (Some(a), Some(b)) => Some(RawHeader::merge(a, b)),
                (a, b) => b.clone().or_else(|| a.clone()),
            },
            factors: merge_named(
                &self.factors,
                &child.factors,
                |f| f.name.as_deref().cloned(),
                |_, b| b.clone(),
            ),
            units: merge_named(
                &self.units,
                &child.units,
                |u| u.name.as_deref().cloned(),
                RawUnit::merge,
            ),
            policies: merge_plain_map(&self.policies, &child.policies, RawPolicy::merge),
            sweep: if child.sweep.is_empty() {
                self.sweep.clone()
            } else {
                child.sweep.clone()
            },
            valuation: match (&self.valuation, &child.valuation) {
                (Some(a), Some(b)) => Some(RawValuation::merge(a, b)),
                (a, b) => b.clone().or_else(|| a.clone()),
            },
            funding: match (&self.funding, &child.funding) {
                (Some(a), Some(b)) => Some(RawFunding {
                    policy: pick(&a.policy, &b.policy),
                    units: pick(&a.units, &b.units),
                    years: pick(&a.years, &b.years),
                }),
                (a, b) => b.clone().or_else(|| a.clone()),
            },
            optimize: match (&self.optimize, &child.optimize) {
                (Some(a), Some(b)) => Some(RawOptimize::merge(a, b)),
                (a, b) => b.clone().or_else(|| a.clone()),
            },
            // The parent's pairs, a pair the child gives again replaced by
            // the child's entry, then the child's new pairs.
            correlations: {
                let mut out: Vec<Sp<RawCorrelation>> = self
                    .correlations
                    .iter()
                    .filter(|p| {
                        let k = p.pair_key();
                        k.is_none() || !child.correlations.iter().any(|c| c.pair_key() == k)
                    })
                    .cloned()
                    .collect();
                out.extend(child.correlations.iter().cloned());
                out
            },
        }
    }
}

impl RawValuation {
    /// Where the table is, by its first key.
    pub fn anchor(&self) -> Option<Range<usize>> {
        first_span(&[
            sp(&self.method),
            sp(&self.fade_years),
            sp(&self.terminal_growth),
            sp(&self.sales_to_capital),
        ])
    }

    /// Sets valuation key `f` to `x`; Err when `f` is not one.
    pub(super) fn set(
        &mut self,
        f: UnitField,
        x: f64,
        at: &super::set::At,
    ) -> std::result::Result<(), String> {
        let slot = match f {
            UnitField::ValuationYears => &mut self.fade_years,
            UnitField::TerminalGrowth => &mut self.terminal_growth,
            UnitField::SalesToCapital => &mut self.sales_to_capital,
            _ => return Err("not a key of a valuation table".into()),
        };
        super::set::put(slot, x, at);
        Ok(())
    }

    pub(super) fn merge(a: &Self, b: &Self) -> Self {
        RawValuation {
            method: pick(&a.method, &b.method),
            fade_years: pick(&a.fade_years, &b.fade_years),
            terminal_growth: pick(&a.terminal_growth, &b.terminal_growth),
            sales_to_capital: pick(&a.sales_to_capital, &b.sales_to_capital),
        }
    }
}

impl RawFunding {
    /// Where the table is, by its first key.
    pub fn anchor(&self) -> Option<Range<usize>> {
        first_span(&[sp(&self.policy), sp(&self.units), sp(&self.years)])
    }
}

impl RawHeader {
    fn merge(a: &Self, b: &Self) -> Self {
        RawHeader {
            name: pick(&a.name, &b.name),
            currency: pick(&a.currency, &b.currency),
            trials: pick(&a.trials, &b.trials),
            seed: pick(&a.seed, &b.seed),
            steps_per_year: pick(&a.steps_per_year, &b.steps_per_year),
            horizons: pick(&a.horizons, &b.horizons),
            discount_rate: pick(&a.discount_rate, &b.discount_rate),
            baseline: pick(&a.baseline, &b.baseline),
        }
    }
}
