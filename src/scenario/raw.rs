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

mod merge;
mod optimize;
mod policy;
mod set;
mod unit;

use std::ops::{Deref, Range};

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use toml::Spanned;

pub(crate) use merge::pick;
pub use optimize::{RawConstraint, RawFrontier, RawLever, RawMeasure, RawOptimize};
pub use policy::{RawCore, RawGate, RawInnovation, RawNonCore, RawOverride, RawPolicy};
pub use set::{DistKey, Slot};
pub use unit::{RawGrowthFade, RawJumps, RawMultiple, RawResponse, RawUnit};

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
