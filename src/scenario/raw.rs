//! The scenario file exactly as written: serde structs that mirror the TOML
//! of the model contract, with every value wrapped in [`Spanned`] so that
//! validation can name the file, line and key of a bad value.
//!
//! `deny_unknown_fields` everywhere: a typo must never be silently ignored.
//! These types are never seen by the engine; `validate` turns them into the
//! domain types of `crate::model`.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

/// A whole scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub scenario: Spanned<RawHeader>,
    #[serde(default)]
    pub factors: Vec<Spanned<RawFactor>>,
    pub units: Spanned<Vec<Spanned<RawUnit>>>,
    /// Not spanned: `[policies.NAME]` headers create this table implicitly,
    /// and toml can only give spans of tables that are written out.
    pub policies: IndexMap<String, Spanned<RawPolicy>>,
}

/// `[scenario]`: run-wide settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeader {
    pub name: Spanned<String>,
    pub currency: Spanned<String>,
    pub trials: Spanned<i64>,
    pub seed: Spanned<i64>,
    pub steps_per_year: Spanned<i64>,
    pub horizons: Spanned<Vec<Spanned<i64>>>,
    pub discount_rate: Spanned<f64>,
    pub baseline: Spanned<String>,
}

/// `[[factors]]`: a common driver, one N(0,1) draw per step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFactor {
    pub name: Spanned<String>,
}

/// `[[units]]`: one business group or unit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUnit {
    pub name: Spanned<String>,
    pub role: Spanned<String>,
    pub revenue: Spanned<f64>,
    pub growth: Spanned<f64>,
    pub volatility: Spanned<f64>,
    pub margin: Spanned<f64>,
    pub target_margin: Option<Spanned<f64>>,
    pub margin_speed: Option<Spanned<f64>>,
    pub multiple: Spanned<RawMultiple>,
    pub loadings: Option<Spanned<IndexMap<String, Spanned<f64>>>>,
    pub response: Option<Spanned<RawResponse>>,
    pub jumps: Option<Spanned<RawJumps>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMultiple {
    pub median: Spanned<f64>,
    pub dispersion: Spanned<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResponse {
    pub max_uplift: Spanned<f64>,
    pub half_saturation: Spanned<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJumps {
    pub rate: Spanned<f64>,
    pub mean: Spanned<f64>,
    pub stdev: Spanned<f64>,
}

/// `[policies.NAME]`: one policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub description: Option<Spanned<String>>,
    pub reinvest_share: Spanned<f64>,
    pub recycle_share: Option<Spanned<f64>>,
    pub core: Option<Spanned<RawCore>>,
    pub non_core: Option<Spanned<RawNonCore>>,
    pub innovation: Option<Spanned<RawInnovation>>,
    pub units: Option<IndexMap<String, Spanned<RawOverride>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCore {
    pub intensity: Spanned<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNonCore {
    pub intensity: Spanned<f64>,
    pub exit_after: Option<Spanned<f64>>,
    pub exit_window: Option<Spanned<f64>>,
    pub exit_discount: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInnovation {
    pub budget: Spanned<f64>,
    pub years: Spanned<f64>,
    pub gate: Option<Spanned<RawGate>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    pub year: Spanned<f64>,
    pub min_revenue_multiple: Spanned<f64>,
}

/// `[policies.NAME.units."UNIT"]`: per-unit override of the role's terms.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOverride {
    pub role: Option<Spanned<String>>,
    pub intensity: Option<Spanned<f64>>,
    pub exit_after: Option<Spanned<f64>>,
    pub exit_window: Option<Spanned<f64>>,
    pub exit_discount: Option<Spanned<f64>>,
    pub budget: Option<Spanned<f64>>,
    pub years: Option<Spanned<f64>>,
    pub gate: Option<Spanned<RawGate>>,
}
