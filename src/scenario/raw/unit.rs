//! A unit's table as written: its assumptions (numbers or distributions),
//! multiple, loadings, response, jumps and growth fade, how a variant's
//! merges over its parent's, and a drawn key by its [`Param`].

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use toml::Spanned;

use super::merge::{merge_map, merge_table, pick};
use super::set::{put, table, At, DistKey};
use super::{RawParam, RawRole, RawValuation, Sp, O};
use crate::model::{keys, Param, UnitField};

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

impl RawUnit {
    pub(super) fn merge(a: &Self, b: &Self) -> Self {
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

impl RawUnit {
    /// Sets key `f` to the number `x` (a distribution it held is
    /// replaced); a table it sits in is created at `at` when missing.
    pub fn set(&mut self, f: UnitField, x: f64, at: &At) {
        use UnitField::*;
        let number = |slot: &mut O<RawParam>| {
            let span = at.span(slot.as_ref().map(Sp::span));
            *slot = Some(Sp(Spanned::new(span, RawParam::Number(x))));
        };
        match f {
            Revenue => number(&mut self.revenue),
            Growth => number(&mut self.growth),
            Volatility => number(&mut self.volatility),
            Margin => number(&mut self.margin),
            TargetMargin => number(&mut self.target_margin),
            MarginSpeed => number(&mut self.margin_speed),
            MaxUplift => number(&mut table(&mut self.response, at).max_uplift),
            HalfSaturation => number(&mut table(&mut self.response, at).half_saturation),
            FadeFrom => put(&mut table(&mut self.growth_fade, at).from, x, at),
            FadeYears => put(&mut table(&mut self.growth_fade, at).years, x, at),
            MultipleMedian => put(&mut table(&mut self.multiple, at).median, x, at),
            MultipleDispersion => put(&mut table(&mut self.multiple, at).dispersion, x, at),
            JumpRate => put(&mut table(&mut self.jumps, at).rate, x, at),
            JumpMean => put(&mut table(&mut self.jumps, at).mean, x, at),
            JumpStdev => put(&mut table(&mut self.jumps, at).stdev, x, at),
            ValuationYears | TerminalGrowth | SalesToCapital => {
                // Always a valuation key: the match above holds the rest.
                let _ = table(&mut self.valuation, at).set(f, x, at);
            }
        }
    }

    /// Sets number `k` of the distribution key `f` holds; Err when it
    /// holds a plain number (or nothing) instead.
    pub fn set_dist(
        &mut self,
        f: UnitField,
        k: DistKey,
        x: f64,
        at: &At,
    ) -> std::result::Result<(), String> {
        let p = Param::ALL
            .into_iter()
            .find(|&p| keys::of_param(p).field == keys::Field::Unit(f));
        let slot = p.and_then(|p| self.param_mut(p));
        let Some(Some(param)) = slot else {
            return Err(format!(
                "`{}` is not a distribution here: it is one number, set the key itself",
                keys::by_field(keys::Field::Unit(f)).path
            ));
        };
        let span = at.span(Some(param.span()));
        let mut value = param.get_ref().clone();
        let RawParam::Dist(d) = &mut value else {
            return Err(format!(
                "`{}` is one number here, not a distribution: set the key itself",
                keys::by_field(keys::Field::Unit(f)).path
            ));
        };
        *k.of(d) = Some(x);
        *param = Sp(Spanned::new(span, value));
        Ok(())
    }

    fn param_mut(&mut self, p: Param) -> Option<&mut O<RawParam>> {
        Some(match p {
            Param::Revenue => &mut self.revenue,
            Param::Growth => &mut self.growth,
            Param::Volatility => &mut self.volatility,
            Param::Margin => &mut self.margin,
            Param::TargetMargin => &mut self.target_margin,
            Param::MarginSpeed => &mut self.margin_speed,
            Param::MaxUplift => &mut self.response.as_mut()?.0.get_mut().max_uplift,
            Param::HalfSaturation => &mut self.response.as_mut()?.0.get_mut().half_saturation,
        })
    }
}
