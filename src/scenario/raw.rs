//! The scenario file exactly as written: serde structs that mirror the TOML
//! of the model contract.
//!
//! - Every value is wrapped in [`Sp`] (a spanned value) so that validation
//!   can name the file, line and key of a bad value.
//! - `deny_unknown_fields` everywhere: a typo must never be silently ignored.
//! - Every field is optional *here*: a variant file (`extends = "..."`) or a
//!   sweep point states only what it changes. Files are merged first
//!   ([`RawFile::merge`]), and `validate` then insists on the keys the
//!   contract requires.
//! - The same types generate the JSON Schema of `simulate schema`, so the
//!   schema can never drift from what the parser accepts.
//!
//! These types are never seen by the engine; `validate` turns them into the
//! domain types of `crate::model`.

mod optimize;

use std::ops::{Deref, Range};

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::model::keys::{PolicyField, TermField};
use crate::model::{Param, Role};

pub use optimize::{RawConstraint, RawFrontier, RawLever, RawMeasure, RawOptimize};

/// A value with the byte span it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T>(pub Spanned<T>);

impl<T> Sp<T> {
    pub fn span(&self) -> Range<usize> {
        self.0.span()
    }
    pub fn get_ref(&self) -> &T {
        self.0.get_ref()
    }
}

impl<T> Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.get_ref()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Spanned::<T>::deserialize(d).map(Sp)
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
    fn inline_schema() -> bool {
        T::inline_schema()
    }
}

pub(crate) type O<T> = Option<Sp<T>>;

/// A whole scenario file.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "stratsim scenario",
    description = "A stratsim scenario file (TOML). See docs/model.md."
)]
pub struct RawFile {
    /// Path of a scenario this one is a variant of, relative to this file.
    /// Every key given here overrides the parent's; units, factors,
    /// policies and per-unit overrides are matched by name.
    pub extends: O<String>,
    // Tables that may be created implicitly, by a dotted key or a
    // sub-table header, cannot carry spans in toml, so this one and the
    // policy tables are plain; errors about them point at one of their keys.
    /// Run-wide settings.
    pub scenario: Option<RawHeader>,
    /// Common drivers: one N(0,1) draw per step each.
    #[serde(default)]
    pub factors: Vec<Sp<RawFactor>>,
    /// The business groups.
    #[serde(default)]
    pub units: Vec<Sp<RawUnit>>,
    /// One table per policy; every policy runs on the same draws.
    #[serde(default)]
    pub policies: IndexMap<String, RawPolicy>,
    /// Parameter sweeps: each point of the grid runs on the same draws.
    #[serde(default)]
    pub sweep: Vec<Sp<RawSweep>>,
    /// How units still held at a horizon are valued (default: revenue x
    /// multiple); a unit's own `valuation` overrides any key.
    pub valuation: Option<RawValuation>,
    /// Study: how long to fund each innovation unit.
    pub funding: Option<RawFunding>,
    /// `simulate optimize`: the policy that maximizes a statistic of value
    /// under constraints (docs/optimize.md). A plain run ignores it.
    pub optimize: Option<RawOptimize>,
    /// Rank correlations between drawn assumptions (docs/uncertainty.md).
    #[serde(default)]
    pub correlations: Vec<Sp<RawCorrelation>>,
}

/// `[[correlations]]`: the rank (Spearman) correlation of two assumptions
/// given as distributions, e.g.
/// `{ between = ["Quark.growth", "DingTalk.target_margin"], rank = -0.5 }`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCorrelation {
    /// The two assumptions, each "UNIT.key" where the unit gives `key` as a
    /// distribution.
    pub between: O<Vec<Sp<String>>>,
    /// The rank correlation, in [-1, 1].
    pub rank: O<f64>,
}

impl RawCorrelation {
    /// The pair as written, order-free and compared as names are: what a
    /// variant's entry replaces in its parent's list.
    fn pair_key(&self) -> Option<(String, String)> {
        let b = self.between.as_ref()?;
        let mut keys: Vec<String> = b.iter().map(|x| super::names::key(x)).collect();
        keys.sort();
        match keys.as_slice() {
            [x, y] => Some((x.clone(), y.clone())),
            _ => None,
        }
    }
}

/// `[scenario]`: run-wide settings.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHeader {
    /// Free text, shown in the table and on charts.
    pub name: O<String>,
    /// Label of every money figure, e.g. "CNY bn".
    pub currency: O<String>,
    /// Monte Carlo trials (--trials overrides).
    #[schemars(range(min = 1))]
    pub trials: O<i64>,
    /// Random seed (--seed overrides); same seed, same numbers.
    #[schemars(range(min = 0))]
    pub seed: O<i64>,
    /// Time steps per year (4 = quarterly).
    #[schemars(range(min = 1, max = 10000))]
    pub steps_per_year: O<i64>,
    /// Whole years at which outcomes are reported.
    pub horizons: O<Vec<Sp<i64>>>,
    /// Annual rate for present values.
    pub discount_rate: O<f64>,
    /// The policy every other one is compared against.
    pub baseline: O<String>,
}

/// `[[factors]]`: a common driver.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFactor {
    pub name: O<String>,
}

/// The three roles of a reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawRole {
    /// Long-term, high-intensity investment.
    Core,
    /// Capitalised: sold or spun off as fast as value allows.
    NonCore,
    /// Funded for a cycle as an independent subsidiary.
    Innovation,
}

/// `[[units]]`: one business group or unit.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawUnit {
    /// Unique name.
    pub name: O<String>,
    /// "core", "non_core" or "innovation".
    #[schemars(with = "Option<RawRole>")]
    pub role: O<String>,
    /// Annual revenue run-rate at t = 0 (> 0); a number or a distribution.
    pub revenue: O<RawParam>,
    /// Expected annual growth before extra investment (> -1); a number or
    /// a distribution.
    pub growth: O<RawParam>,
    /// Growth that starts at `from` and settles to `growth` over `years`
    /// (optional).
    pub growth_fade: O<RawGrowthFade>,
    /// Annual volatility of log revenue (>= 0); a number or a distribution.
    pub volatility: O<RawParam>,
    /// Operating (EBITA) margin at t = 0 (<= 1); a number or a
    /// distribution.
    pub margin: O<RawParam>,
    /// The margin drifts toward this (default: margin); a number or a
    /// distribution.
    pub target_margin: O<RawParam>,
    /// Speed of the drift per year, in [0, steps_per_year] (default 0); a
    /// number or a distribution.
    pub margin_speed: O<RawParam>,
    /// EV / revenue multiple, lognormal per trial.
    pub multiple: O<RawMultiple>,
    /// Loading on each factor; the squares sum to at most 1.
    pub loadings: O<IndexMap<String, Sp<f64>>>,
    /// How investment raises growth (default: no uplift).
    pub response: O<RawResponse>,
    /// Poisson shocks to log revenue (optional).
    pub jumps: O<RawJumps>,
    /// Overrides any key of the file's `[valuation]` for this unit.
    pub valuation: O<RawValuation>,
}

/// The valuation methods of a held unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawMethod {
    /// Revenue x the trial's EV / revenue multiple (a market price).
    Multiple,
    /// Growth-fade DCF: growth fades to terminal_growth over fade_years,
    /// reinvestment = revenue added / sales_to_capital, Gordon tail.
    Fade,
}

/// `[valuation]`, or a unit's `valuation = { ... }`: how a unit still held
/// at a horizon is valued.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawValuation {
    /// "multiple" (default) or "fade".
    #[schemars(with = "Option<RawMethod>")]
    pub method: O<String>,
    /// Years over which growth fades to terminal_growth: a whole number in
    /// [0, 50] (default 10).
    #[schemars(with = "Option<u32>", range(min = 0, max = 50))]
    pub fade_years: O<f64>,
    /// Growth after the fade, forever: > -1 and below the discount rate
    /// (default 0.03).
    pub terminal_growth: O<f64>,
    /// Revenue added per unit of capital invested, > 0 (default 2.0).
    pub sales_to_capital: O<f64>,
}

/// `[funding]`: how long to fund each innovation unit. Each listed unit is
/// run with each number of funded years under `policy`, one unit at a
/// time, every run on the same draws; gains are paired against 0 years.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFunding {
    /// The policy whose innovation terms vary.
    pub policy: O<String>,
    /// Units studied (default: every innovation unit under the policy).
    pub units: O<Vec<Sp<String>>>,
    /// Funded years to try; 0 (not funded) is always run as the reference.
    pub years: O<Vec<Sp<f64>>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMultiple {
    /// Median EV / revenue (> 0).
    pub median: O<f64>,
    /// Log-standard deviation across trials (>= 0).
    pub dispersion: O<f64>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawResponse {
    /// Most growth investment can add (>= 0); a number or a distribution.
    pub max_uplift: O<RawParam>,
    /// Intensity at which half of it is reached (>= 0); a number or a
    /// distribution.
    pub half_saturation: O<RawParam>,
}

/// `growth_fade = { from = 0.53, years = 3 }`: base growth at step start
/// t is growth + (from - growth) x max(0, 1 - t / years).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGrowthFade {
    /// Growth at t = 0 (> -1).
    pub from: O<f64>,
    /// Years until growth has settled to `growth` (> 0).
    pub years: O<f64>,
}

/// What a key that may be a distribution expects (serde's "expected ..."
/// text, which `plain` words for the reader).
pub const NUMBER_OR_DIST: &str = "a number or a distribution";

/// A unit key that is a number, or a distribution drawn once per trial
/// (`{ dist = "pert", min = 0.0, mode = 0.04, max = 0.10 }`).
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(untagged)]
pub enum RawParam {
    Number(f64),
    Dist(RawDist),
}

impl RawParam {
    /// The number, when the key is one.
    pub fn number(&self) -> Option<f64> {
        match self {
            RawParam::Number(x) => Some(*x),
            RawParam::Dist(_) => None,
        }
    }
}

impl<'de> Deserialize<'de> for RawParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawParam;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(NUMBER_OR_DIST)
            }
            fn visit_f64<E: serde::de::Error>(self, x: f64) -> Result<RawParam, E> {
                Ok(RawParam::Number(x))
            }
            fn visit_i64<E: serde::de::Error>(self, x: i64) -> Result<RawParam, E> {
                Ok(RawParam::Number(x as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, x: u64) -> Result<RawParam, E> {
                Ok(RawParam::Number(x as f64))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawParam, A::Error> {
                RawDist::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawParam::Dist)
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The distributions a key may follow (for the JSON Schema; the parser
/// reads the name as text and `validate` names a wrong one).
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum RawDistName {
    Triangular,
    Pert,
    Uniform,
    Normal,
    Lognormal,
    Discrete,
}

/// A distribution (model contract, "Uncertain assumptions (v2)"); which
/// keys it needs depends on `dist`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDist {
    /// "triangular", "pert", "uniform", "normal", "lognormal" or
    /// "discrete".
    #[schemars(with = "Option<RawDistName>")]
    pub dist: Option<String>,
    /// Lower end (triangular, pert, uniform; optional truncation of normal).
    pub min: Option<f64>,
    /// Most likely value (triangular, pert).
    pub mode: Option<f64>,
    /// Upper end (triangular, pert, uniform; optional truncation of normal).
    pub max: Option<f64>,
    /// Mean (normal).
    pub mean: Option<f64>,
    /// Standard deviation (normal, >= 0).
    pub stdev: Option<f64>,
    /// Median (lognormal).
    pub median: Option<f64>,
    /// Standard deviation of the log (lognormal, >= 0).
    pub dispersion: Option<f64>,
    /// The values a discrete distribution takes.
    pub values: Option<Vec<f64>>,
    /// Their weights (positive; normalised to sum to 1).
    pub weights: Option<Vec<f64>>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawJumps {
    /// Jumps per year.
    pub rate: O<f64>,
    /// Mean of one jump in log revenue.
    pub mean: O<f64>,
    /// Standard deviation of one jump.
    pub stdev: O<f64>,
}

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

/// `[[sweep]]`: one swept parameter.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    /// Dotted path of the parameter, e.g. "policies.reset.innovation.years"
    /// or "units.Quark.growth".
    pub path: O<String>,
    /// The values it takes.
    pub values: O<Vec<Sp<f64>>>,
}

/// `b` over `a`, field by field.
pub(crate) fn pick<T: Clone>(a: &O<T>, b: &O<T>) -> O<T> {
    b.clone().or_else(|| a.clone())
}

/// Merges two optional spanned tables field by field with `f`.
fn merge_table<T: Clone>(a: &O<T>, b: &O<T>, f: impl Fn(&T, &T) -> T) -> O<T> {
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
    let key = |x: &T| name(x).map(|n| super::names::key(&n));
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

fn merge_map<T: Clone>(
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
    let want = super::names::key(k);
    map.keys().find(|x| super::names::key(x) == want).cloned()
}

fn merge_plain_map<T: Clone>(
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
fn first_span(spans: &[Option<Range<usize>>]) -> Option<Range<usize>> {
    spans.iter().flatten().next().cloned()
}

fn sp<T>(x: &O<T>) -> Option<Range<usize>> {
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
    fn merge(a: &Self, b: &Self) -> Self {
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

impl RawUnit {
    fn merge(a: &Self, b: &Self) -> Self {
        RawUnit {
            name: pick(&a.name, &b.name),
            role: pick(&a.role, &b.role),
            revenue: pick(&a.revenue, &b.revenue),
            growth: pick(&a.growth, &b.growth),
            growth_fade: merge_table(&a.growth_fade, &b.growth_fade, |x, y| RawGrowthFade {
                from: pick(&x.from, &y.from),
                years: pick(&x.years, &y.years),
            }),
            volatility: pick(&a.volatility, &b.volatility),
            margin: pick(&a.margin, &b.margin),
            target_margin: pick(&a.target_margin, &b.target_margin),
            margin_speed: pick(&a.margin_speed, &b.margin_speed),
            multiple: merge_table(&a.multiple, &b.multiple, |x, y| RawMultiple {
                median: pick(&x.median, &y.median),
                dispersion: pick(&x.dispersion, &y.dispersion),
            }),
            loadings: merge_table(&a.loadings, &b.loadings, |x, y| merge_map(x, y, |_, v| *v)),
            response: merge_table(&a.response, &b.response, |x, y| RawResponse {
                max_uplift: pick(&x.max_uplift, &y.max_uplift),
                half_saturation: pick(&x.half_saturation, &y.half_saturation),
            }),
            jumps: merge_table(&a.jumps, &b.jumps, |x, y| RawJumps {
                rate: pick(&x.rate, &y.rate),
                mean: pick(&x.mean, &y.mean),
                stdev: pick(&x.stdev, &y.stdev),
            }),
            valuation: merge_table(&a.valuation, &b.valuation, RawValuation::merge),
        }
    }
}

fn merge_gate(x: &RawGate, y: &RawGate) -> RawGate {
    RawGate {
        year: pick(&x.year, &y.year),
        min_revenue_multiple: pick(&x.min_revenue_multiple, &y.min_revenue_multiple),
    }
}

impl RawPolicy {
    fn merge(a: &Self, b: &Self) -> Self {
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
